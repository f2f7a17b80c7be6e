"""Reports to hand over: a Word document (python-docx) and the findings as CSV.

The self-contained HTML report is ``render.render_report``. Everything from the model is written as plain text:
Word runs and CSV cells carry no markup, and CSV cells that a spreadsheet would run as a formula are defused.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from docx import Document
from docx.document import Document as DocumentType
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt

from image_analysis import docx_layout as layout
from image_analysis import register
from image_analysis.analysis import Analysis
from image_analysis.findings import (
    DEFECT_COLUMNS,
    Defect,
    DrawingFindings,
    InspectionFindings,
    defect_cells,
    summary_rows,
    text_lists,
    title_block_rows,
)
from image_analysis.presets import Preset
from image_analysis.review import AI_NOT_REVIEWED, Review, ai_findings, element_summary, finding_ref
from image_analysis.review_csv import FINDING_COLUMNS
from image_analysis.safe_text import clean
from image_analysis.spreadsheet import csv_text

PROVENANCE = "AI-generated description — to be reviewed by the inspector"
_MAX_WIDTH = Cm(15.5)
_MAX_HEIGHT = Cm(11)
MAX_WORD_TABLE_ROWS = 300
"""Rows of a table in the model's reply built as a Word table; the rest follow as text."""
MAX_WORD_TABLE_COLUMNS = 12
"""Columns that fit a portrait page (Word itself allows 63)."""
_STYLE_IDS: dict[str, str] = {}
"""Style ids of python-docx's default template, by name, looked up once."""
_md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def word_report(analyses: Sequence[Analysis], title: str | None = None, review: Review | None = None) -> bytes:
    """A .docx a client accepts: the title, the sign-off block and (for inspections) the summary per element first;
    then one numbered entry per image, kept together on a page: the image as sent, its caption, the findings (the
    reviewed ones when there are any, each with its origin), the provenance line with the model id. The footer holds
    the project and reference and "Page n of m"."""
    review = review or Review()
    document = Document()
    layout.page_setup(document)
    preset = analyses[0].request.preset if analyses else Preset.GENERAL
    document.add_heading(clean(title or _title(preset)), level=0)
    if preset is Preset.INSPECTION or not review.signoff.empty:
        _fields(document, review.signoff.rows())
    _paragraph(document, f"Report date: {datetime.now(UTC):%Y-%m-%d}. {len(analyses)} image(s). {PROVENANCE}.")
    if preset is Preset.INSPECTION:
        _element_summary(document, analyses, review)
    if preset is Preset.DRAWING:
        _register(document, analyses)
    signoff = review.signoff
    layout.footer(document, " · ".join(part for part in (signoff.project, signoff.reference) if part))
    for analysis in analyses:
        _entry(document, analysis, review)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _register(document: DocumentType, analyses: Sequence[Analysis]) -> None:
    rows = register.build_register(analyses)
    if not rows:
        return
    document.add_heading("Drawing register", level=1)
    columns = ("Page", "Drawing number", "Title", "Rev.", "Date", "Scale", "Source", "Problems")
    table = layout.styled_table(document, columns, (1.0, 2.3, 3.0, 1.0, 1.8, 1.4, 2.2, 3.8))
    for row in rows:
        cells = (row.page, row.drawing_number, row.title, row.revision, row.date, row.scale, row.source)
        values = [clean(str(cell)) if cell is not None else "—" for cell in cells]
        layout.add_row(table, [*values, clean("; ".join(row.problems)) or "—"])


def _element_summary(document: DocumentType, analyses: Sequence[Analysis], review: Review) -> None:
    scale = analyses[0].request.scale.definition if analyses else None
    rows = review.effective(ai_findings(analyses))
    if scale is None or not rows:
        return
    document.add_heading("Summary per element", level=1)
    table = layout.styled_table(document, ("Element", f"Worst {scale.name}", "Defects", "Photos"), (6, 5.5, 2, 3))
    for line in element_summary(rows, scale):
        meaning = scale.meaning(line.worst_score)
        score = line.worst_score + (f" ({meaning})" if meaning else "")
        photos = ", ".join(str(number) for number in line.photos)
        layout.add_row(table, [clean(line.element), clean(score), str(line.defects), photos])


def _title(preset: Preset) -> str:
    return {Preset.INSPECTION: "Site inspection report", Preset.DRAWING: "Drawing check report"}.get(
        preset, "Image analysis report"
    )


def _entry(document: DocumentType, analysis: Analysis, review: Review) -> None:
    noun = "Drawing" if analysis.request.preset is Preset.DRAWING else "Photo"
    start = layout.body_length(document)
    heading = document.add_heading(clean(f"{noun} {analysis.number}: {analysis.name}"), level=1)
    kept = [heading]
    preparation = analysis.preparation
    if preparation:
        shown = preparation.display
        width = min(_MAX_WIDTH, int(_MAX_HEIGHT * shown.width / shown.height))
        document.add_picture(io.BytesIO(shown.data), width=width)
        kept.append(document.paragraphs[-1])
        kept.append(_paragraph(document, f"{noun} {analysis.number}. {_caption(analysis)}", "Caption"))
    layout.keep_with_next(kept)
    if analysis.error:
        _paragraph(document, f"No description: {analysis.error}")
        return
    description = analysis.description
    findings = analysis.parsed.findings
    if isinstance(findings, InspectionFindings) and review.for_photo(analysis.number):
        _reviewed(document, analysis, review)
    elif isinstance(findings, InspectionFindings):
        _inspection(document, analysis, findings)
        _paragraph(document, review.state(analysis.number)).runs[0].italic = True
    elif isinstance(findings, DrawingFindings):
        _drawing(document, analysis, findings)
    else:
        if analysis.parsed.problem:
            _paragraph(
                document,
                f"The reply did not come in the findings format ({analysis.parsed.problem}); it is shown as it came.",
            )
        _markdown(document, description.text)
    for flag in analysis.parsed.flags:
        _paragraph(document, flag).runs[0].bold = True
    if findings is not None and analysis.parsed.repairs:
        _repairs(document, analysis.parsed.repairs)
    if description.truncated:
        _paragraph(document, "This description is incomplete: the model stopped at its length limit.")
    if description.clipped:
        _paragraph(document, "The reply was very long; only its first 100,000 characters are kept.")
    _paragraph(document).add_run(clean(f"{PROVENANCE} ({description.model}).")).italic = True
    layout.keep_together_from(document, start)


def _caption(analysis: Analysis) -> str:
    preparation = analysis.preparation
    metadata = preparation.metadata
    parts = [f"{preparation.source.width} x {preparation.source.height} px original"]
    if len(preparation.images) > 1:
        parts.append(f"overview of {len(preparation.images) - 1} tiles sent")
    parts.append(f"taken {metadata.taken_at.replace('T', ' ')}" if metadata.taken_at else "date taken unknown")
    if metadata.gps:
        parts.append(f"GPS {metadata.gps.lat:.6f}, {metadata.gps.lon:.6f}")
    if metadata.camera:
        parts.append(metadata.camera)
    return "; ".join(parts)


def _inspection(document: DocumentType, analysis: Analysis, findings: InspectionFindings) -> None:
    if findings.summary:
        _paragraph(document, findings.summary)
    _fields(document, summary_rows(findings, analysis.request.scale.definition))
    document.add_heading("Defects", level=2)
    if not findings.defects:
        _paragraph(document, "No visible defects reported.")
    else:
        table = layout.styled_table(document, DEFECT_COLUMNS, (0.8, 2.8, 5.0, 3.0, 4.9))
        for number, defect in enumerate(findings.defects, start=1):
            layout.add_row(table, [clean(value) for value in defect_cells(number, defect)])
    _lists(document, findings)


_REVIEWED_COLUMNS = ("#", "Type", "Where in the photo", "Extent", "Score", "Action, urgency", "Note", "Origin")


def _reviewed(document: DocumentType, analysis: Analysis, review: Review) -> None:
    """The inspector's reviewed findings for one photo, each with its origin."""
    rows = review.for_photo(analysis.number)
    scale = analysis.request.scale.definition
    elements = ", ".join(dict.fromkeys(row.element for row in rows if row.element)) or "—"
    _fields(document, [("Element", elements), ("Review", review.state(analysis.number))])
    document.add_heading("Findings (reviewed)", level=2)
    table = layout.styled_table(document, _REVIEWED_COLUMNS, (0.8, 2.0, 2.8, 1.6, 2.1, 2.7, 2.0, 2.5))
    for number, row in enumerate(rows, start=1):
        meaning = scale.meaning(row.condition_score)
        score = row.condition_score + (f" ({meaning})" if meaning else "")
        action = ", ".join(part for part in (row.recommended_action, row.urgency) if part)
        cells = (str(number), row.defect_type or "—", row.location, row.extent, score, action, row.inspector_note)
        layout.add_row(table, [clean(cell) for cell in (*cells, row.status)])


def _drawing(document: DocumentType, analysis: Analysis, findings: DrawingFindings) -> None:
    if findings.summary:
        _paragraph(document, findings.summary)
    document.add_heading("Title block", level=2)
    _fields(
        document, summary_rows(findings, analysis.request.scale.definition) + title_block_rows(findings.title_block)
    )
    _lists(document, findings)


def _lists(document: DocumentType, findings: InspectionFindings | DrawingFindings) -> None:
    for name, title, items in text_lists(findings):
        _listing(document, title, items, style="List Number" if name == "notes" else "List Bullet")


def _repairs(document: DocumentType, repairs: Sequence[str]) -> None:
    """What it took to read the findings: the note, not the raw reply (that is on the page and in the HTML)."""
    count = len(repairs)
    _paragraph(document, f"The findings were read from the model's reply with {count} repair{'s' * (count > 1)}:")
    for repair in repairs:
        _paragraph(document, repair, "List Bullet")


def _paragraph(document: DocumentType, text: str = "", style: str | None = None) -> Paragraph:
    """A paragraph of clean text; the style is set by its id, because python-docx's lookup by name scans every
    style each time (seconds for a reply with thousands of list items)."""
    paragraph = document.add_paragraph()
    if style:
        if style not in _STYLE_IDS:
            _STYLE_IDS[style] = document.styles[style].style_id
        paragraph._p.style = _STYLE_IDS[style]
    if text:
        paragraph.add_run(clean(text))
    return paragraph


def _fields(document: DocumentType, pairs: list[tuple[str, str | None]]) -> None:
    """Label and value rows, the labels shaded; kept on one page."""
    table = layout.styled_table(document, None, (5, 11.5))
    for label, value in pairs:
        layout.add_row(table, [clean(label), clean(value or "—")])
        layout.shade(table.rows[-1].cells[0]._tc, layout.HEADER_FILL)
    layout.keep_table_together(table)


def _listing(document: DocumentType, title: str, items: list[str], style: str = "List Bullet") -> None:
    if items:
        document.add_heading(clean(title), level=2)
        for item in items:
            _paragraph(document, item, style)


def _markdown(document: DocumentType, text: str) -> None:
    """Markdown from the model as Word headings, lists, tables and paragraphs, with bold and italic kept.

    A table wider than Word can show, or the rows of one past ``MAX_WORD_TABLE_ROWS``, go in as their Markdown
    source in a monospaced paragraph, with a note: nothing is lost, and a runaway reply stays quick to build."""
    tokens = _md.parse(text)
    lines = text.splitlines()
    style, table, row, column = None, None, None, 0
    rows, overflow, skipping = 0, [], False
    for index, token in enumerate(tokens):
        if skipping:  # a table too wide for Word, up to its end
            if token.type == "table_close":
                _source(document, "The table is wider than a page; it is given as the model wrote it.", overflow)
                skipping, overflow = False, []
            continue
        if token.type == "heading_open":
            style = "Heading 2" if token.tag in ("h1", "h2") else "Heading 3"
        elif token.type == "bullet_list_open":
            style = "List Bullet"
        elif token.type == "ordered_list_open":
            style = "List Number"
        elif token.type in ("bullet_list_close", "ordered_list_close", "heading_close"):
            style = None
        elif token.type == "table_open":
            columns = _columns(tokens, index)
            if columns > MAX_WORD_TABLE_COLUMNS:
                overflow, skipping = _lines(lines, token), True
                continue
            table, rows = document.add_table(rows=0, cols=columns), 0
            table.style = "Table Grid"
        elif token.type == "table_close":
            if overflow:
                note = f"The table continues for {len(overflow)} more rows, as the model wrote them:"
                _source(document, note, overflow)
            table, row, overflow = None, None, []
        elif token.type == "tr_open" and table is not None:
            rows += 1
            if rows > MAX_WORD_TABLE_ROWS:
                overflow += _lines(lines, token)
                row = None
            else:
                row, column = table.add_row().cells, 0
        elif token.type == "inline" and table is not None:
            if row is not None and column < len(row):
                _runs(row[column].paragraphs[0], token)
            column += 1
        elif token.type == "inline":
            _runs(_paragraph(document, style=style), token)
        elif token.type in ("fence", "code_block"):
            _monospace(document, token.content.rstrip())


def _lines(lines: list[str], token: Any) -> list[str]:
    """The source lines of a block token (markdown-it records them in ``map``)."""
    return lines[token.map[0] : token.map[1]] if token.map else []


def _source(document: DocumentType, note: str, lines: list[str]) -> None:
    _paragraph(document, note)
    _monospace(document, "\n".join(lines))


def _monospace(document: DocumentType, text: str) -> None:
    run = _paragraph(document).add_run(clean(text))
    run.font.name, run.font.size = "Courier New", Pt(9)


def _columns(tokens: list, start: int) -> int:
    count = 0
    for token in tokens[start:]:
        if token.type in ("th_open", "td_open"):
            count += 1
        elif token.type == "tr_close":
            return max(count, 1)
    return 1


def _runs(paragraph, inline) -> None:
    bold = italic = False
    for child in inline.children or []:
        if child.type == "strong_open":
            bold = True
        elif child.type == "strong_close":
            bold = False
        elif child.type == "em_open":
            italic = True
        elif child.type == "em_close":
            italic = False
        elif child.type in ("text", "code_inline"):
            run = paragraph.add_run(clean(child.content))
            if bold:  # set only when on: an explicit "off" costs an XML element per run
                run.bold = True
            if italic:
                run.italic = True
        elif child.type in ("softbreak", "hardbreak"):
            paragraph.add_run(" ")
        elif child.type == "image":
            paragraph.add_run(clean(f"[image: {child.content}]"))


_FINDINGS_COLUMNS = tuple(name for name in InspectionFindings.model_fields if name not in ("defects", "summary"))
_DEFECT_COLUMNS = tuple(f"defect_{name}" for name in Defect.model_fields)
CSV_COLUMNS = (
    "photo",
    "file",
    "taken_at",
    "lat",
    "lon",
    "camera",
    *_FINDINGS_COLUMNS,
    "condition_scale",
    "defect",
    *_DEFECT_COLUMNS,
    "summary",
    "status",
    "inspector_note",
    "ref",
    "record",
    "repairs",
    "model",
    "error",
)
"""One row per defect: the photo's facts, the inspection's fields (from the findings model), the defect's, and
for the round trip (``review_csv``) its review status, the inspector's note, and which finding and stored result it
is (``ref``, ``record``)."""


def findings_csv(analyses: Sequence[Analysis], review: Review | None = None) -> str:
    """The findings of all images, one row per defect (one row for an image without defects), as CSV; the
    reviewed findings of a photo replace the model's when there are any."""
    lines: list[list[object]] = []
    for analysis in analyses:
        rows = _rows(analysis)
        reviewed = review.for_photo(analysis.number) if review else []
        if reviewed:
            base = {key: value for key, value in rows[0].items() if not key.startswith("defect")}
            rows = [
                {
                    **base,
                    "defect": number if finding.defect_type else None,
                    **{column: getattr(finding, name) for name, column in FINDING_COLUMNS.items()},
                }
                for number, finding in enumerate(reviewed, start=1)
            ]
        lines += [[row.get(column) for column in CSV_COLUMNS] for row in rows]
    return csv_text(CSV_COLUMNS, lines)


def _rows(analysis: Analysis) -> list[dict[str, object]]:
    base: dict[str, object] = {
        "photo": analysis.number,
        "file": analysis.name,
        "error": analysis.error,
        "record": analysis.record,
    }
    if analysis.preparation:
        metadata = analysis.preparation.metadata
        base.update(taken_at=metadata.taken_at, camera=metadata.camera)
        if metadata.gps:
            base.update(lat=metadata.gps.lat, lon=metadata.gps.lon)
    if analysis.description:
        base["model"] = analysis.description.model
    findings = analysis.parsed.findings
    if findings is not None:
        base["repairs"] = "; ".join(analysis.parsed.repairs)
    if isinstance(findings, InspectionFindings):
        base.update({name: _joined(getattr(findings, name)) for name in _FINDINGS_COLUMNS})
        base.update(
            condition_scale=analysis.request.scale.definition.name,
            summary=findings.summary,
            status=AI_NOT_REVIEWED,
            ref=finding_ref(analysis.number, 0),
        )
        return [
            {
                **base,
                "defect": number,
                "ref": finding_ref(analysis.number, number),
                **{f"defect_{name}": value for name, value in defect.model_dump().items()},
            }
            for number, defect in enumerate(findings.defects, start=1)
        ] or [base]
    if isinstance(findings, DrawingFindings):
        base.update(element=findings.drawing_kind, summary=findings.summary)
    elif analysis.description:
        base["summary"] = analysis.description.text
    return [base]


def _joined(value: object) -> object:
    return "; ".join(value) if isinstance(value, list) else value
