"""The page a user sees: the image as sent and its description, from a Jinja2 template with autoescaping.

The model's reply is untrusted: Markdown is rendered with raw HTML disabled, unsafe link schemes refused,
and images turned into plain text (a remote image would leak a request); the page's Content-Security-Policy
allows no script and no network request at all, as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from image_analysis import findings, register
from image_analysis.analysis import Analysis
from image_analysis.metadata import PhotoMetadata
from image_analysis.prepare import Preparation
from image_analysis.presets import Preset
from image_analysis.review import Review, ai_findings, element_summary
from image_analysis.safe_text import clean


def _finalize(value: Any) -> Any:
    """Every value a template prints passes ``safe_text.clean`` (the writer's guard); HTML already made safe by
    the Markdown renderer passes as it is."""
    return clean(value) if isinstance(value, str) and not isinstance(value, Markup) else value


_environment = Environment(
    loader=PackageLoader("image_analysis", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_finalize,
)
_environment.globals.update(
    summary_rows=findings.summary_rows,
    title_block_rows=findings.title_block_rows,
    text_lists=findings.text_lists,
    defect_cells=findings.defect_cells,
    defect_columns=findings.DEFECT_COLUMNS,
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
        return '<div class="table-scroll">' + renderer.renderToken(tokens, index, options, env)

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


@dataclass(frozen=True)
class Fact:
    """One labelled line under the image."""

    label: str
    value: str
    link: str | None = None
    """An address the value links to (a GPS position to the map)."""


def image_facts(preparation: Preparation, model: str | None) -> list[Fact]:
    """The facts shown under the image: file, sizes, bytes and tokens sent, model, and photo metadata."""
    source = preparation.source
    first, others = preparation.images[0], preparation.images[1:]
    sent = f"{first.width} x {first.height} px"
    if others:
        sent += f" overview + {len(others)} tiles"
    mimes = ", ".join(sorted({image.mime for image in preparation.images}))
    facts = [
        Fact("File", clean(source.name)),
        Fact("Original", f"{source.width} x {source.height} px, {source.format}, {_bytes(source.bytes)}"),
        Fact("Sent", f"{sent} ({mimes})"),
        Fact("Bytes sent", _bytes(sum(image.sent_bytes for image in preparation.images))),
        Fact("Image tokens", f"{preparation.image_tokens:,}"),
    ]
    if model:
        facts.append(Fact("Model", model))
    facts += _metadata_facts(preparation.metadata)
    return facts


def _metadata_facts(metadata: PhotoMetadata) -> list[Fact]:
    facts = []
    if metadata.taken_at:
        facts.append(Fact("Taken", metadata.taken_at.replace("T", " ")))
    if metadata.gps:
        lat, lon = f"{metadata.gps.lat:.6f}", f"{metadata.gps.lon:.6f}"
        place = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"
        facts.append(Fact("GPS", f"{lat}, {lon}", place))
    if metadata.camera:
        facts.append(Fact("Camera", metadata.camera))
    if metadata.orientation_applied:
        facts.append(Fact("Orientation", f"{metadata.orientation_applied} (EXIF), applied before sending"))
    return facts


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


def entry_context(analysis: Analysis, review: Review | None = None) -> dict[str, Any]:
    """What the template shows for one analysis: the image and its facts beside the findings or description."""
    preparation, description = analysis.preparation, analysis.description
    parsed = analysis.parsed
    model = description.model if description else None
    raw = description is not None and parsed.problem is not None
    return {
        "number": analysis.number,
        "name": clean(analysis.name),
        "preset": analysis.request.preset,
        "preparation": preparation,
        "facts": image_facts(preparation, model) if preparation else [],
        "outlines": tile_outlines(preparation) if preparation else [],
        "findings": parsed.findings,
        "scale": analysis.request.scale.definition,
        "raw_text": description.text if raw else None,
        "problem": parsed.problem,
        "repairs": parsed.repairs if parsed.findings is not None else (),
        "flags": parsed.flags,
        "reply_text": description.text if description and parsed.findings is not None else None,
        "description_html": (
            markdown_to_html(description.text) if description and not raw and parsed.findings is None else None
        ),
        "truncated": bool(description and description.truncated),
        "clipped": bool(description and description.clipped),
        "question": clean(" ".join(analysis.request.question.split())),
        "model": model,
        "error": analysis.error,
        "not_kept": analysis.not_kept,
        "reviewed": review.for_photo(analysis.number) if review else [],
        "review_state": review.state(analysis.number) if review else None,
    }


def render_page(analysis: Analysis, review: Review | None = None) -> str:
    """The page for one image: the image as sent and its facts beside the findings (the reviewed ones when there
    are any) or the description."""
    return _environment.get_template("page.html.j2").render(
        title=f"Image analysis: {clean(analysis.name)}", entry=entry_context(analysis, review)
    )


def render_report(
    analyses: Sequence[Analysis], title: str = "Image analysis report", review: Review | None = None
) -> str:
    """One self-contained HTML file with every analysis, numbered, for handing over (and the batch view): the
    sign-off and, for inspections, the summary per element first."""
    failed = sum(1 for analysis in analyses if analysis.error)
    review = review or Review()
    preset = analyses[0].request.preset if analyses else None
    scale = analyses[0].request.scale.definition if analyses else None
    summary = []
    if preset is Preset.INSPECTION and scale is not None:
        summary = element_summary(review.effective(ai_findings(analyses)), scale)
    drawings = register.build_register(analyses) if preset is Preset.DRAWING else []
    return _environment.get_template("report.html.j2").render(
        title=title,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        entries=[entry_context(analysis, review) for analysis in analyses],
        failed=failed,
        preset=preset,
        signoff=review.signoff if preset is Preset.INSPECTION or not review.signoff.empty else None,
        summary=summary,
        scale=scale,
        register=drawings,
    )


def render_empty_page(what: str = "a site photo or an engineering drawing in the Image field") -> str:
    """The page shown before anything is uploaded."""
    return _environment.get_template("empty.html.j2").render(title="Image analysis", what=what)


def _bytes(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.2f} MB ({count:,} bytes)"
    if count >= 1_000:
        return f"{count / 1_000:.1f} kB ({count:,} bytes)"
    return f"{count} bytes"
