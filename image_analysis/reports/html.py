"""The report document as HTML, from Jinja2 templates with autoescaping: the page a user sees for one image, and
the self-contained report for handing over (and the batch and drawing-set views).

The model's reply is untrusted: Markdown is rendered with raw HTML disabled, unsafe link schemes refused, and
images turned into plain text (a remote image would leak a request); the page's Content-Security-Policy allows no
script and no network request at all, as a second line of defence. Like the Word writer, this module decides
nothing about content: it lays out the ``ReportDocument``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from image_analysis.imaging.prepared import Preparation
from image_analysis.reports.document import NOT_FOR_SIGNATURE, Entry, ReportDocument
from image_analysis.safe_text import clean


def _finalize(value: Any) -> Any:
    """Every value a template prints passes ``safe_text.clean`` (the writer's guard); HTML already made safe by
    the Markdown renderer passes as it is."""
    return clean(value) if isinstance(value, str) and not isinstance(value, Markup) else value


_environment = Environment(
    loader=PackageLoader("image_analysis.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_finalize,
)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])

    def image_as_text(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        token = tokens[index]
        alt = renderer.renderInlineAsText(token.children or [], options, env)
        return str(escape(f"[image: {alt}]" if alt else "[image]"))

    def link_open(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        tokens[index].attrSet("rel", "noopener noreferrer nofollow")
        tokens[index].attrSet("target", "_blank")
        return renderer.renderToken(tokens, index, options, env)

    def table_open(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        region = '<div class="table-scroll" role="region" aria-label="Table from the description" tabindex="0">'
        return region + renderer.renderToken(tokens, index, options, env)

    def table_close(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        return renderer.renderToken(tokens, index, options, env) + "</div>"

    md.add_render_rule("table_open", table_open)  # a table wider than the panel scrolls inside it
    md.add_render_rule("table_close", table_close)
    md.add_render_rule("image", image_as_text)
    md.add_render_rule("link_open", link_open)
    return md


_md = _markdown()


def markdown_to_html(text: str) -> Markup:
    """Safe HTML for untrusted Markdown: raw HTML is shown as text, ``javascript:`` links are not links."""
    return Markup(_md.render(clean(text)))  # noqa: S704 - markdown-it escapes raw HTML (html=False)


def tile_outlines(preparation: Preparation) -> list[dict[str, str]]:
    """Where each tile lies on the overview, as CSS percentages (numbers computed here, never user text)."""
    return [
        {
            "number": str(number),
            "style": "left:{:.3f}%;top:{:.3f}%;width:{:.3f}%;height:{:.3f}%".format(*(v * 100 for v in image.region)),
        }
        for number, image in enumerate(preparation.images[1:], start=1)
        if image.region
    ]


_environment.globals.update(
    markdown_to_html=markdown_to_html, tile_outlines=tile_outlines, not_for_signature=NOT_FOR_SIGNATURE
)


def render_page(report: ReportDocument, entry: Entry | None = None) -> str:
    """The page for one image: the image as sent and its facts beside the findings or the description."""
    entry = entry or report.entries[0]
    return _environment.get_template("page.html.j2").render(
        title=f"Image analysis: {entry.file_name}", report=report, entry=entry
    )


def render_report(report: ReportDocument) -> str:
    """One self-contained HTML file with the cover, the summary or register, every entry and the appendix."""
    return _environment.get_template("report.html.j2").render(title=report.cover.title, report=report)


def render_template(name: str, **values: Any) -> str:
    """Any of the reports' templates (``quality.html.j2``, say), with the same escaping and cleaning."""
    return _environment.get_template(name).render(**values)


def render_empty_page(what: str = "a site photo or an engineering drawing in the Image field") -> str:
    """The page shown before anything is uploaded."""
    return _environment.get_template("empty.html.j2").render(title="Image analysis", what=what)
