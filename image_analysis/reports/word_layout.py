"""Page layout for the Word report that python-docx has no call for: the paper, one typeface and type scale,
tables whose column widths come from their content with a shaded header row that repeats on every page, rows that
never split, blocks kept on one page, landscape sections, and a footer with "Page n of m".

Each helper writes the WordprocessingML element Word itself writes for that setting (``w:shd``, ``w:tblHeader``,
``w:cantSplit``, ``w:keepNext``, ``PAGE``/``NUMPAGES`` fields), so Word and LibreOffice lay the report out alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape

from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.table import CT_Tbl
from docx.section import Section
from docx.shared import Emu, Length, Mm, Pt, RGBColor
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph

from image_analysis.reports import measure

HEADER_FILL = "DCE6F2"
"""The header row's shade: a light blue that prints well in grey too."""


TABLE_SIZE = 9.0
"""Points: the type in tables (the body is ``BODY_SIZE``)."""
TABLE_FONT = Pt(TABLE_SIZE)
BODY_SIZE = 10.0
CELL_PADDING = 2 * 5.4 + 2.0
"""Points a column needs beside its text: Word's default cell margins (0.19 cm each side) and a little slack."""
LINE = 1.2
"""Line height as a multiple of the type size (single spacing in Arial)."""


def column_widths(
    header: Sequence[str], rows: Sequence[Sequence[str]], unbroken: Sequence[bool], available: float
) -> list[float]:
    """Column widths in points that fill ``available``: each column at least as wide as its longest word (the whole
    text where it may not break, the header in bold), the room left shared in proportion to how much more each
    column's longest line would like. When even the longest words do not fit, the columns shrink alike."""
    least, most = [], []
    for index, label in enumerate(header):
        texts = [row[index] for row in rows]
        whole = max((measure.text_width(text, TABLE_SIZE) for text in texts), default=0.0)
        words = max((measure.longest_word(text, TABLE_SIZE) for text in texts), default=0.0)
        label_width = measure.longest_word(label, TABLE_SIZE, bold=True)
        low = max(whole if unbroken[index] else words, label_width) + CELL_PADDING
        least.append(low)
        most.append(max(low, whole + CELL_PADDING, measure.text_width(label, TABLE_SIZE, True) + CELL_PADDING))
    if sum(least) >= available and any(unbroken):  # rather a score over two lines than words cut
        return column_widths(header, rows, [False] * len(header), available)
    if sum(least) >= available:
        return [width * available / sum(least) for width in least]
    if sum(most) <= available:
        return [width * available / sum(most) for width in most]
    room, wish = available - sum(least), sum(high - low for low, high in zip(least, most, strict=True))
    return [low + room * (high - low) / wish for low, high in zip(least, most, strict=True)]


def row_height(values: Sequence[str], widths: Sequence[float], size: float = TABLE_SIZE) -> float:
    """Points a table row takes, as its tallest cell wraps."""
    lines = max(
        (measure.line_count(value, width - CELL_PADDING, size) for value, width in zip(values, widths, strict=True)),
        default=1,
    )
    return lines * size * LINE + 2.5


def styled_table(document: DocumentType, header: Sequence[str] | None, widths: Sequence[float]) -> Table:
    """A grid table with columns ``widths`` (points) whose first row (when ``header`` is given) is shaded, bold and
    repeated on each page; no row of it is ever split across pages. The widths are fixed: Word and LibreOffice
    lay it out alike."""
    table = add_table(document, len(widths))
    table._tbl.tblStyle_val = style_id(document, "Table Grid")
    table.autofit = False
    properties = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    properties.append(layout)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Pt(width)
    if header:
        cells = add_row(table, header, bold=True)
        _row_property(table.rows[0]._tr, "w:tblHeader")
        for cell in cells:
            shade(cell._tc, HEADER_FILL)
    return table


_STYLE_IDS: dict[str, str] = {}
"""Style ids of python-docx's default template, by name, looked up once."""


def style_id(document: DocumentType, name: str) -> str:
    """The id of the style ``name``: python-docx's lookup by name scans every style each time it is asked (seconds
    for a reply with thousands of list items, or a campaign with a thousand entries)."""
    if name not in _STYLE_IDS:
        _STYLE_IDS[name] = document.styles[name].style_id
    return _STYLE_IDS[name]


def add_row(table: Table, values: Sequence[str], bold: bool = False) -> list[_Cell]:
    """A row that stays whole on one page, in the table's font size and column widths; returns its cells.

    Written as the XML python-docx writes for it (``w:cantSplit``, each cell's width, no space after, the run's
    size and weight, hyphens inside words unbreakable: ``unbroken_text``) but parsed in one go: python-docx's
    element-by-element calls cost milliseconds a row, and a campaign's report has tens of thousands of rows."""
    widths = [Length(column.w or 0).twips for column in table._tbl.tblGrid.gridCol_lst]
    size = f'<w:sz w:val="{int(TABLE_FONT.pt * 2)}"/>'
    weight = "<w:b/>" if bold else ""
    cells = "".join(
        f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{width}"/></w:tcPr><w:p><w:pPr><w:spacing w:after="0"/></w:pPr>'
        f"<w:r><w:rPr>{weight}{size}</w:rPr>{_unbroken_xml(value)}</w:r></w:p></w:tc>"
        for width, value in zip(widths, values, strict=True)
    )
    row = parse_xml(f'<w:tr {nsdecls("w")}><w:trPr><w:cantSplit w:val="true"/></w:trPr>{cells}</w:tr>')
    table._tbl.append(row)
    return [_Cell(tc, table) for tc in row.tc_lst]


def _unbroken_xml(text: str) -> str:
    """``unbroken_text``'s runs as XML: ``w:t`` parts with a ``w:noBreakHyphen`` between them."""
    parts = []
    for index, part in enumerate(_HYPHEN.split(text)):
        if index:
            parts.append("<w:noBreakHyphen/>")
        if part:
            space = ' xml:space="preserve"' if part.strip() != part else ""
            parts.append(f"<w:t{space}>{escape(part)}</w:t>")
    return "".join(parts)


def row_cells(table: Table, row: _Row) -> list[_Cell]:
    """The cells of ``row``, from its own elements: python-docx's ``row.cells`` lays out the whole table's grid
    each time it is asked, which makes a long table (a campaign's summary) quadratic."""
    return [_Cell(tc, table) for tc in row._tr.tc_lst]


_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")


def unbroken_text(run: object, text: str) -> None:
    """``text`` in ``run`` with every hyphen inside a word a non-breaking one (``w:noBreakHyphen``): a column is
    as wide as its longest word, so no word need break, not even at its hyphen ("blast-clean")."""
    for index, part in enumerate(_HYPHEN.split(text)):
        if index:
            run._r.append(OxmlElement("w:noBreakHyphen"))  # type: ignore[attr-defined]
        if part:
            run.add_text(part)  # type: ignore[attr-defined]


def keep_together_from(document: DocumentType, start: int) -> None:
    """Everything added to the body since its ``start``-th element stays on one page where it fits: every
    paragraph, also inside tables, keeps with the next, except the last."""
    paragraphs = []
    for element in document.element.body[start:]:  # the tail alone (a proxy for every element is slow)
        paragraphs += [Paragraph(p, document) for p in element.iter(qn("w:p"))]
    keep_with_next(paragraphs[:-1])


def body_length(document: DocumentType) -> int:
    return len(document.element.body)


def shade(cell_element: Any, fill: str) -> None:
    properties = cell_element.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    properties.append(shading)


def keep_with_next(paragraphs: Sequence[Paragraph]) -> None:
    """Each paragraph stays on the page of the one after it (a heading, its photo, its caption, its table)."""
    for paragraph in paragraphs:
        # w:keepNext and w:keepLines as python-docx's paragraph_format writes them (in the schema's order: after
        # the style), set directly: its generic element insertion costs a millisecond a paragraph
        properties = paragraph._p.get_or_add_pPr()
        keep = properties.find(_KEEP_NEXT)
        if keep is None:
            keep = OxmlElement("w:keepNext")
            properties.insert(1 if len(properties) and properties[0].tag == _STYLE else 0, keep)
        keep.attrib.pop(_VALUE, None)
        if properties.find(_KEEP_LINES) is None:
            keep.addnext(OxmlElement("w:keepLines"))


_KEEP_NEXT, _KEEP_LINES, _STYLE, _VALUE = qn("w:keepNext"), qn("w:keepLines"), qn("w:pStyle"), qn("w:val")


def keep_table_together(table: Table) -> None:
    """Every paragraph in the table keeps with the next, so a short table moves to the next page whole."""
    rows = list(table.rows)
    for index, row in enumerate(rows):
        _row_property(row._tr, "w:cantSplit")
        if index < len(rows) - 1:
            for cell in row_cells(table, row):
                keep_with_next(cell.paragraphs)


class Paper(StrEnum):
    """The paper a Word (and PDF) report is laid out on; the app's and the command line's choices."""

    A4 = "A4"
    LETTER = "Letter"


DEFAULT_PAPER = Paper.A4
"""A4, for the Dutch and European clients the report goes to; US Letter is the option."""
PAPERS = {Paper.A4: (210.0, 297.0), Paper.LETTER: (215.9, 279.4)}
"""Portrait sizes in mm."""
PAGE_SIZE_MM = PAPERS[DEFAULT_PAPER]
MARGIN_MM = 20
MM = 72 / 25.4
"""Points per millimetre."""


def page_setup(document: DocumentType, paper: str = DEFAULT_PAPER) -> None:
    """The paper in portrait with 20 mm margins on every side (python-docx's template is US Letter with 1.25"
    margins)."""
    width, height = PAPERS[Paper(paper)]
    for section in document.sections:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(width), Mm(height)
        section.left_margin = section.right_margin = Mm(MARGIN_MM)
        section.top_margin = section.bottom_margin = Mm(MARGIN_MM)
        section.header_distance = section.footer_distance = Mm(10)


def new_section(document: DocumentType, landscape: bool) -> None:
    """Start a new page in the other orientation (the footer carries on)."""
    previous = current_section(document)
    width, height = _length(previous.page_width), _length(previous.page_height)
    section = document.add_section(WD_SECTION.NEW_PAGE)
    short, long = (Emu(side) for side in sorted((width, height)))
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (long, short) if landscape else (short, long)


def text_width(document: DocumentType) -> float:
    """Points between the margins of the current section."""
    return _text_width(document) / 12700


def _text_width(document: DocumentType) -> int:
    section = current_section(document)
    return _length(section.page_width) - _length(section.left_margin) - _length(section.right_margin)


def text_height(document: DocumentType) -> float:
    section = current_section(document)
    return (_length(section.page_height) - _length(section.top_margin) - _length(section.bottom_margin)) / 12700


def current_section(document: DocumentType) -> Section:
    """The section being written: the body's closing ``w:sectPr``, taken as its last element (python-docx's
    ``sections[-1]`` searches the whole document for every section each time)."""
    return Section(_closing_section(document), document.part)


def _closing_section(document: DocumentType) -> Any:
    last = document.element.body[-1]
    return last if last.tag == _SECTION else document.element.body.get_or_add_sectPr()


def add_paragraph(document: DocumentType) -> Paragraph:
    """An empty paragraph at the end of the body, as ``document.add_paragraph()`` adds it but without python-docx's
    search for the body's closing section, which grows with the document (a campaign's thousand entries)."""
    paragraph = OxmlElement("w:p")
    _closing_section(document).addprevious(paragraph)
    return Paragraph(paragraph, document._body)


def add_table(document: DocumentType, columns: int) -> Table:
    """A table of no rows and ``columns`` equal columns across the text width, as ``document.add_table`` adds it
    (Word's grid, no style), at the end of the body without a search for its closing section."""
    table = CT_Tbl.new_tbl(0, columns, Emu(_text_width(document)))
    _closing_section(document).addprevious(table)
    return Table(table, document._body)


_SECTION = qn("w:sectPr")


def _length(value: int | None) -> int:
    """A section's dimension in EMU (python-docx gives ``None`` where the document does not say)."""
    return int(value or 0)


STYLE_SIZES = {"Normal": 10, "Title": 20, "Heading 1": 14, "Heading 2": 11, "Heading 3": 10, "Caption": 8.5}
"""One type scale (points) for the whole report."""
STYLE_SPACING = {"Normal": (0, 4), "Title": (0, 6), "Heading 1": (12, 4), "Heading 2": (8, 3), "Caption": (2, 6)}
"""Points before and after each style's paragraphs."""
INK = RGBColor(0x1D, 0x27, 0x33)


def typography(document: DocumentType) -> None:
    """Arial everywhere (the theme fonts of python-docx's template removed: they win over a named font), in one
    type scale, headings in ink rather than the template's blue."""
    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        for fonts in defaults.iter(qn("w:rFonts")):
            _one_font(fonts)
    for style in document.styles:
        if style.type != 1:  # paragraph and character styles only
            continue
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        _one_font(fonts)
        if style.name in STYLE_SIZES:
            style.font.size = Pt(STYLE_SIZES[style.name])
        if style.name.startswith(("Heading", "Title")):
            style.font.color.rgb = INK
        if style.name in STYLE_SPACING:
            before, after = STYLE_SPACING[style.name]
            style.paragraph_format.space_before, style.paragraph_format.space_after = Pt(before), Pt(after)
            style.paragraph_format.line_spacing = 1.0
    title = document.styles["Title"].element.pPr
    if title is not None:  # the template's Title has a rule under it; the cover has its own layout
        for border in title.findall(qn("w:pBdr")):
            title.remove(border)


def _one_font(fonts: object) -> None:
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)  # type: ignore[attr-defined]
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), measure.FONT)  # type: ignore[attr-defined]


def page_break_before(paragraph: Paragraph) -> None:
    paragraph.paragraph_format.page_break_before = True


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


def _small(run: Any) -> None:
    run.font.size = FOOTER_FONT
    run.font.color.rgb = FOOTER_COLOUR


def _field(run: Any, instruction: str) -> None:
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


def _row_property(row_element: Any, tag: str) -> None:
    properties = row_element.get_or_add_trPr()
    element = OxmlElement(tag)
    element.set(qn("w:val"), "true")
    properties.append(element)
