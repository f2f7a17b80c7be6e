"""Page layout for the Word report that python-docx has no call for: a shaded header row that repeats on every
page, rows that never split, blocks kept on one page, and a footer with "Page n of m".

Each helper writes the WordprocessingML element Word itself writes for that setting (``w:shd``, ``w:tblHeader``,
``w:cantSplit``, ``w:keepNext``, ``PAGE``/``NUMPAGES`` fields), so Word and LibreOffice lay the report out alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from docx.document import Document as DocumentType
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

HEADER_FILL = "DCE6F2"
"""The header row's shade: a light blue that prints well in grey too."""


TABLE_FONT = Pt(9)


def styled_table(document: DocumentType, header: Sequence[str] | None, widths: Sequence[float]) -> Table:
    """A grid table with columns ``widths`` (cm) whose first row (when ``header`` is given) is shaded, bold and
    repeated on each page; no row of it is ever split across pages."""
    table = document.add_table(rows=0, cols=len(widths))
    table.style = "Table Grid"
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
    if header:
        add_row(table, header)
        row = table.rows[0]
        _row_property(row._tr, "w:tblHeader")
        for cell in row.cells:
            shade(cell._tc, HEADER_FILL)
            for run in cell.paragraphs[0].runs:
                run.bold = True
    return table


def add_row(table: Table, values: Sequence[str]) -> None:
    """A row that stays whole on one page, in the table's font size and column widths."""
    row = table.add_row()
    _row_property(row._tr, "w:cantSplit")
    for cell, column, value in zip(row.cells, table.columns, values, strict=True):
        cell.width = column.width
        run = cell.paragraphs[0].add_run(value)
        run.font.size = TABLE_FONT


def keep_together_from(document: DocumentType, start: int) -> None:
    """Everything added to the body since its ``start``-th element stays on one page where it fits: every
    paragraph, also inside tables, keeps with the next, except the last."""
    paragraphs = []
    for element in list(document.element.body)[start:]:
        paragraphs += [Paragraph(p, document) for p in element.iter(qn("w:p"))]
    keep_with_next(paragraphs[:-1])


def body_length(document: DocumentType) -> int:
    return len(document.element.body)


def shade(cell_element: object, fill: str) -> None:
    properties = cell_element.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    properties.append(shading)


def keep_with_next(paragraphs: Sequence[Paragraph]) -> None:
    """Each paragraph stays on the page of the one after it (a heading, its photo, its caption, its table)."""
    for paragraph in paragraphs:
        paragraph.paragraph_format.keep_with_next = True
        paragraph.paragraph_format.keep_together = True


def keep_table_together(table: Table) -> None:
    """Every paragraph in the table keeps with the next, so a short table moves to the next page whole."""
    rows = table.rows
    for index, row in enumerate(rows):
        _row_property(row._tr, "w:cantSplit")
        if index < len(rows) - 1:
            for cell in row.cells:
                keep_with_next(cell.paragraphs)


PAGE_SIZE_MM = (210, 297)
"""A4 portrait: the paper of the Dutch and European clients the report goes to."""
MARGIN_MM = 20


def page_setup(document: DocumentType) -> None:
    """A4 portrait with 20 mm margins on every side (python-docx's template is US Letter with 1.25" margins)."""
    for section in document.sections:
        section.page_width, section.page_height = Mm(PAGE_SIZE_MM[0]), Mm(PAGE_SIZE_MM[1])
        section.left_margin = section.right_margin = Mm(MARGIN_MM)
        section.top_margin = section.bottom_margin = Mm(MARGIN_MM)
        section.header_distance = section.footer_distance = Mm(10)


def footer(document: DocumentType, left: str) -> None:
    """The footer of every page: ``left`` (project and reference), then "Page n of m", all in one size (the footer
    style's, which the page fields take too)."""
    style = document.styles["Footer"]
    style.font.size = FOOTER_FONT
    style.font.color.rgb = FOOTER_COLOUR
    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.text = ""
    if left:
        run = paragraph.add_run(left + "    ")
        _small(run)
    for text, field in (("Page ", None), (None, "PAGE"), (" of ", None), (None, "NUMPAGES")):
        run = paragraph.add_run(text or "")
        _small(run)
        if field:
            _field(run, field)


FOOTER_FONT = Pt(8)
FOOTER_COLOUR = RGBColor(0x5B, 0x67, 0x75)


def _small(run: object) -> None:
    run.font.size = FOOTER_FONT
    run.font.color.rgb = FOOTER_COLOUR


def _field(run: object, instruction: str) -> None:
    begin, code, separate, value, end = (
        OxmlElement(tag) for tag in ("w:fldChar", "w:instrText", "w:fldChar", "w:t", "w:fldChar")
    )
    begin.set(qn("w:fldCharType"), "begin")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    separate.set(qn("w:fldCharType"), "separate")
    value.text = "1"
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, code, separate, value, end):
        run._r.append(element)


def _row_property(row_element: object, tag: str) -> None:
    properties = row_element.get_or_add_trPr()
    element = OxmlElement(tag)
    element.set(qn("w:val"), "true")
    properties.append(element)
