"""The report document as Word (python-docx): A4 portrait by default, one typeface and type scale, a cover that is
a summary, one entry per photo that starts on a fresh page or fits whole below the previous one, the sheets of a
drawing set on landscape pages, and the appendix. It decides nothing about content: every word comes from the
``ReportDocument``; this module only lays it out (column widths from the content, what stays on one page).

Everything from the model is written as plain text runs; Markdown from the model becomes Word headings, lists and
tables with raw HTML never interpreted.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Sequence
from typing import Any

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.table import WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.image import Image as DocxImage
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.parts.image import ImagePart
from docx.shared import Pt, RGBColor
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt
from PIL import Image, ImageDraw, ImageFont

from image_analysis.reports import measure
from image_analysis.reports import word_layout as layout
from image_analysis.reports.document import (
    NOT_FOR_SIGNATURE,
    Entry,
    Listing,
    Note,
    PhotoPair,
    ReportDocument,
    Table,
)
from image_analysis.safe_text import clean
from image_analysis.wording import Field

MAX_WORD_TABLE_ROWS = 300
"""Rows of a table in the model's reply built as a Word table; the rest follow as text."""
MAX_WORD_TABLE_COLUMNS = 12
"""Columns that fit a portrait page (Word itself allows 63)."""
PHOTO_HEIGHT = 95 * layout.MM
PAIR_HEIGHT = 62 * layout.MM
"""The tallest a photo of a pair may be: a pair with its defects' table fits under an element's heading."""
"""The tallest a photo is shown (points): with its heading, caption, fields and the first findings on one page."""
SMALLEST_PHOTO = 60 * layout.MM
"""A photo is made smaller, down to this, before its entry takes a second page."""
SHEET_HEIGHT = 135 * layout.MM
"""The tallest a drawing sheet is shown, on a landscape page: large enough to read its lettering."""
FIT = 0.95
"""The share of a page an estimate may fill (estimates are estimates)."""
ESTIMATE_MARGIN = 1.03
"""What an estimated height is multiplied by, to err on the side of a page break."""
MUTED = RGBColor(0x5B, 0x67, 0x75)
ERROR = RGBColor(0xA4, 0x26, 0x2C)
_md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render(report: ReportDocument, paper: str = layout.DEFAULT_PAPER) -> bytes:
    """The .docx of ``report`` on ``paper`` (``layout.Paper``)."""
    document = Document()
    layout.page_setup(document, paper)
    layout.typography(document)
    layout.footer(document, report.cover.footer)
    writer = _Writer(document)
    writer.cover(report)
    writer.changes(report)
    writer.entries(report)
    writer.appendix(report)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


class _Writer:
    def __init__(self, document: DocumentType) -> None:
        self.document = document
        self.used = 0.0
        """Points used of the current page's text height, as far as the writer can tell."""
        self.tallest = PHOTO_HEIGHT
        """How tall the current entry's picture may be (points)."""
        self.shape_id: int | None = None
        """The id the next picture of an entry takes."""
        self.images: dict[str, ImagePart] = {}
        """The entries' image parts by the SHA-1 of their bytes."""

    # -- the cover, the summary, the register ---------------------------------------------------------------

    def cover(self, report: ReportDocument) -> None:
        cover = report.cover
        self.document.add_heading(cover.title, level=0)
        status = self.paragraph(f"Status: {cover.status}")
        status.runs[0].bold = True
        self.fields(cover.fields)
        if cover.signable:
            self.signature(cover.signatory)
        else:
            self.paragraph(NOT_FOR_SIGNATURE).runs[0].italic = True
        self.paragraph(cover.counts)
        disclaimer = self.paragraph(cover.disclaimer)
        disclaimer.runs[0].italic = True
        for note in cover.notes:
            self.note(note)
        width = layout.text_width(self.document)
        lines = sum(_line_count(text, width, 10) for text in (cover.counts, cover.disclaimer))
        lines += sum(_line_count(note.text, width, 10) for note in cover.notes)
        self.used = 60.0 + 14 * len(cover.fields) + 60 + 13 * lines
        summary = report.summary
        if summary is not None:
            self.heading(summary.title, 1)
            if summary.counts:
                self.paragraph(f"{summary.chart_title}:")
                self.chart(summary.counts)
            if summary.table is not None:
                self.table(summary.table)
            else:
                self.paragraph(summary.empty)
            for line in summary.lines:
                self.paragraph(line)
            self.used = layout.text_height(self.document)  # the entries start on a page of their own
        if report.register is not None:
            self.heading(report.register_title, 1)
            self.table(report.register)
            self.used = layout.text_height(self.document)

    def signature(self, name: str) -> None:
        """Signature, name and date, each above a line to sign on."""
        width = layout.text_width(self.document)
        table = layout.styled_table(self.document, None, (width * 0.45, width * 0.3, width * 0.25))
        layout.add_row(table, ["Signature", "Name", "Date"], bold=True)
        layout.add_row(table, ["", name or "", ""])
        table.rows[-1].height, table.rows[-1].height_rule = Pt(40), WD_ROW_HEIGHT_RULE.AT_LEAST  # room to sign
        layout.keep_table_together(table)

    def chart(self, counts: Sequence[tuple[str, int, tuple[int, int, int]]]) -> None:
        """Photos per condition score as bars, worst first."""
        scale = 3
        font = _font(11 * scale)
        label_width = max(int(font.getlength(label)) for label, _, _ in counts) + 16 * scale
        bar_room, row = 260 * scale, 22 * scale
        image = Image.new("RGB", (label_width + bar_room + 40 * scale, row * len(counts) + 8 * scale), "white")
        draw = ImageDraw.Draw(image)
        most = max(count for _, count, _ in counts)
        for index, (label, count, colour) in enumerate(counts):
            top = 4 * scale + index * row
            draw.text((4 * scale, top + 3 * scale), label, fill=(29, 39, 51), font=font)
            length = max(2, round(bar_room * count / most))
            draw.rectangle((label_width, top + 3 * scale, label_width + length, top + row - 5 * scale), fill=colour)
            draw.text((label_width + length + 6 * scale, top + 3 * scale), str(count), fill=(29, 39, 51), font=font)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        width = image.width / scale * 0.75  # pixels at 96 dpi as points
        self.document.add_picture(io.BytesIO(buffer.getvalue()), width=Pt(min(width, layout.text_width(self.document))))

    # -- changes since the previous inspection ------------------------------------------------------------

    def changes(self, report: ReportDocument) -> None:
        """The changes since the previous inspection, from a page of their own: the elements' table, then each
        element, worse first, with its photo pairs side by side (a pair, its captions and its table on one page:
        a page break before one that would not fit, estimated as the entries are); the elements not inspected."""
        section = report.changes
        if section is None:
            return
        width, room = layout.text_width(self.document), layout.text_height(self.document) * FIT
        heading = self.heading(section.title, 1)
        if self.used > 0:
            layout.page_break_before(heading)
        _muted(self.paragraph(section.counts), 9)
        self.paragraph(section.yardstick).runs[0].italic = True
        self.table(section.elements)
        self.used = 46.0 + 12 + _line_count(section.yardstick, width, 10) * 13 + self._table_height(section.elements)
        for element in section.changed:
            top = 34.0 + sum(_line_count(text, width, 10) * 13 for text in (element.summary, element.history))
            first = self._pair_height(element.pairs[0]) if element.pairs else 14.0
            heading = self.heading(element.heading, 2)
            if self.used + top + first > room:  # a pair kept together: a short estimate costs no orphan, only a move
                layout.page_break_before(heading)
                self.used = 0.0
            self.used += top
            summary = self.paragraph(element.summary)
            summary.runs[0].bold = True
            if element.worse:
                summary.runs[0].font.color.rgb = ERROR
            if element.history:
                self.paragraph(element.history)
            for index, pair in enumerate(element.pairs):
                height = self._pair_height(pair)
                if index and self.used + height > room:
                    self.used = 0.0
                    self.pair(pair, new_page=True)
                else:
                    self.pair(pair)
                self.used += height
            if element.no_pair:
                self.paragraph(element.no_pair)
                self.used += 14
        if section.not_inspected:
            self.heading(section.not_inspected_title, 2)
            for line in section.not_inspected:
                self.item(line, "•")
        if section.unassigned:
            self.heading("Photos without an element", 2)
            for line in section.unassigned:
                self.item(line, "•")
        self.used = layout.text_height(self.document)  # the entries start on a page of their own

    def pair(self, pair: PhotoPair, new_page: bool = False) -> None:
        """The previous photo and the current one side by side, captioned, then what became of each defect."""
        width = layout.text_width(self.document)
        start = layout.body_length(self.document)
        spacer = self.paragraph()  # two tables that touch are one table to Word and LibreOffice
        spacer.paragraph_format.space_after = Pt(2)
        if new_page:
            layout.page_break_before(spacer)
        table = layout.styled_table(self.document, None, (width / 2, width / 2))
        cells = layout.add_row(table, ["", ""])
        for cell, data, caption in zip(
            cells, (pair.previous, pair.current), (pair.previous_caption, pair.current_caption), strict=True
        ):
            if data:
                picture_width, _ = self._pair_picture(data)
                cell.paragraphs[0].add_run().add_picture(io.BytesIO(data), width=Pt(picture_width))
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            words = cell.add_paragraph().add_run(clean(caption))
            words.font.size = Pt(8)
        self.paragraph(pair.comparable)
        if pair.problem:
            self.note(Note(pair.problem, "error"))
        if pair.defects is not None:
            self.table(pair.defects)
        if pair.new_defects:
            self.paragraph(pair.new_defects)
        layout.keep_together_from(self.document, start)
        last = self.document.element.body[-2]  # before the section properties
        if last.tag == qn("w:tbl"):  # LibreOffice keeps a table with what follows when its last row keeps with next
            for paragraph in last.findall(f"{qn('w:tr')}[last()]//{qn('w:p')}"):
                properties = paragraph.pPr
                keep = properties.find(qn("w:keepNext")) if properties is not None else None
                if keep is not None:
                    properties.remove(keep)

    def _pair_picture(self, data: bytes) -> tuple[float, float]:
        """The width and height (points) of one photo of a pair: half the text width, at most ``PAIR_HEIGHT``."""
        half = (layout.text_width(self.document) - 12) / 2 - 8
        with Image.open(io.BytesIO(data)) as image:
            ratio = image.height / image.width
        scale = min(1.0, PAIR_HEIGHT / (half * ratio))
        return half * scale, half * ratio * scale

    def _pair_height(self, pair: PhotoPair) -> float:
        width = layout.text_width(self.document)
        pictures = max((self._pair_picture(data)[1] for data in (pair.previous, pair.current) if data), default=0.0)
        captions = max(_line_count(text, width / 2 - 8, 8) for text in (pair.previous_caption, pair.current_caption))
        height = pictures + 8 + captions * 10 + 14 + _line_count(pair.comparable, width, 10) * 13
        if pair.defects is not None:
            height += self._table_height(pair.defects)
        if pair.problem:
            height += _line_count(pair.problem, width, 10) * 13
        if pair.new_defects:
            height += _line_count(pair.new_defects, width, 10) * 13
        return height

    def _table_height(self, table: Table) -> float:
        widths = self.widths(table)
        rows = [[column.label for column in table.columns], *table.rows]
        return sum(layout.row_height(row, widths) for row in rows) + 6

    # -- entries --------------------------------------------------------------------------------------------

    def entries(self, report: ReportDocument) -> None:
        landscape = False
        for entry in report.entries:
            sheet = entry.noun == "Sheet" and entry.preparation is not None
            if sheet != landscape:  # sheets on landscape pages, everything else in portrait
                layout.new_section(self.document, landscape=sheet)
                landscape, self.used = sheet, 0.0
            self.entry(entry, sheet)
        if landscape:
            layout.new_section(self.document, landscape=False)
            self.used = 0.0

    def entry(self, entry: Entry, sheet: bool) -> None:
        """One entry: on the page it fits on whole, or from the top of a new one; heading, picture, caption and the
        first findings rows always together; findings longer than the page continue under "(continued)". A sheet
        has a page of its own, and what was read from it follows on the next."""
        room = layout.text_height(self.document) * FIT
        top, rest = self.estimate(entry)  # what precedes the findings and what follows, without the picture
        self.tallest = SHEET_HEIGHT if sheet else PHOTO_HEIGHT
        if not sheet and entry.preparation is not None and self._height(entry, top, rest) > room - self.used:
            for space in (room - self.used, room):  # a smaller photo rather than a page more
                tallest = space / ESTIMATE_MARGIN - top - rest - 8
                if tallest >= SMALLEST_PHOTO:
                    self.tallest = min(tallest, PHOTO_HEIGHT)
                    break
        height = self._height(entry, top, rest)
        start = layout.body_length(self.document)
        heading = self.heading(entry.heading, 1)
        if (sheet or self.used + height > room) and self.used > 0:
            layout.page_break_before(heading)
            self.used = 0.0
        _muted(self.paragraph(entry.file_name), 8)
        self.picture(entry)
        if entry.caption:
            self.paragraph(entry.caption, "Caption")
        if sheet:
            layout.keep_together_from(self.document, start)
            layout.page_break_before(self.heading(f"{entry.heading} (continued)", 2))
            start, height, self.used = layout.body_length(self.document), (top + rest) * ESTIMATE_MARGIN, 0.0
        if entry.question:
            self.paragraph(f"Question: {entry.question}").runs[0].bold = True
        for note in entry.notes:
            self.note(note)
        if entry.summary:
            self.paragraph(entry.summary)
        if entry.fields:
            if entry.fields_title:
                self.heading(entry.fields_title, 2)
            self.fields(entry.fields)
        whole = height <= room
        first_rows = None
        if not (whole or sheet):  # the start of the entry stays together; what follows may flow
            layout.keep_together_from(self.document, start)
            start = layout.body_length(self.document)
            first_rows = room - min(self.used + top + self.picture_size(entry)[1], room)
        if entry.findings is not None:
            self.heading(entry.findings_title, 2)
            self.findings(entry, first_rows)
        elif entry.no_findings:
            self.paragraph(entry.no_findings)
        for listing in entry.lists:
            self.listing(listing)
        if entry.answer is not None:
            self.markdown(entry.answer)
        if entry.raw is not None:
            self.monospace(entry.raw)
        if entry.review_state:
            state = self.paragraph(entry.review_state)
            _muted(state, 9)
            state.runs[0].italic = True
        if whole:
            layout.keep_together_from(self.document, start)
            self.used += height
        else:
            self.used = (self.used + height) % layout.text_height(self.document)

    def _height(self, entry: Entry, top: float, rest: float) -> float:
        picture = self.picture_size(entry)[1] + 6 if entry.preparation is not None else 0.0
        return (top + picture + rest) * ESTIMATE_MARGIN

    def findings(self, entry: Entry, room: float | None) -> None:
        """The findings table; when ``room`` (points left on the entry's first page) is given and the rows need
        more, the rest continue under "Photo n (continued)" on the next page."""
        table = entry.findings
        assert table is not None
        widths = self.widths(table)
        if room is None:
            self.table(table, widths)
            return
        header = layout.row_height([column.label for column in table.columns], widths)
        used, split = header, len(table.rows)
        for index, row in enumerate(table.rows):
            used += layout.row_height(row, widths)
            if used > room and index > 0:
                split = index
                break
        self.table(Table(table.columns, table.rows[:split], table.name, table.marks[:split]), widths, keep_first=2)
        if split < len(table.rows):
            continued = self.heading(f"{entry.label} (continued)", 2)
            layout.page_break_before(continued)
            rest = Table(table.columns, table.rows[split:], table.name, table.marks[split:])
            self.table(rest, widths, keep_first=1)

    def picture(self, entry: Entry) -> None:
        preparation = entry.preparation
        if preparation is None:
            return
        shown = preparation.display
        width, height = self.picture_size(entry)
        paragraph = layout.add_paragraph(self.document)  # as add_picture makes it, without listing every paragraph
        part = self.document.part
        relation, image = self.image(shown.data)
        cx, cy = image.scaled_dimensions(Pt(width), Pt(height))
        if self.shape_id is None:
            self.shape_id = part.next_id  # python-docx scans the whole document for it: once, not once a picture
        inline = CT_Inline.new_pic_inline(self.shape_id, relation, image.filename, cx, cy)
        self.shape_id += 1
        paragraph.add_run()._r.add_drawing(inline)
        paragraph.paragraph_format.keep_with_next = True

    def image(self, data: bytes) -> tuple[str, DocxImage]:
        """The relation to the document's part for image ``data`` (one part for the same bytes), as
        ``part.get_or_add_image`` gives it, but found by its hash in a map: python-docx hashes every image part
        again for each picture added, which a thousand photos make an hour's work."""
        image = DocxImage.from_blob(data)
        image_part = self.images.get(image.sha1)
        if image_part is None:
            parts = self.document.part.package.image_parts
            image_part = ImagePart.from_image(image, parts._next_image_partname(image.ext))
            parts.append(image_part)
            self.images[image.sha1] = image_part
        return self.document.part.relate_to(image_part, RT.IMAGE), image

    def picture_size(self, entry: Entry) -> tuple[float, float]:
        shown = entry.preparation.display  # type: ignore[union-attr]
        widest = layout.text_width(self.document)
        scale = min(widest / shown.width, self.tallest / shown.height)
        return shown.width * scale, shown.height * scale

    # -- estimates ------------------------------------------------------------------------------------------

    def estimate(self, entry: Entry) -> tuple[float, float]:
        """Points the entry takes, as far as can be told before LibreOffice or Word lay it out, without its picture:
        from its heading to the end of its fields, and what follows (findings, lists, the description). Measured
        once per entry: a reply of 100,000 characters is not measured again for each picture size tried."""
        width = layout.text_width(self.document)
        top = 34.0 + 12.0
        top += _line_count(entry.caption, width, 8.5) * 8.5 * layout.LINE + 8
        top += _line_count(entry.question, width, 10) * 12 + 4 if entry.question else 0
        top += sum(_line_count(note.text, width, 10) * 12 + 4 for note in entry.notes)
        top += _line_count(entry.summary, width, 10) * 12 + 4 if entry.summary else 0
        if entry.fields:
            top += 24 if entry.fields_title else 0
            widths = self._field_widths(entry.fields)
            sourced = len(widths) == 3
            cells = [[field.label, field.value, *([field.source] if sourced else [])] for field in entry.fields]
            top += sum(layout.row_height(row, widths) for row in cells) + 6
        rest = 16.0 if entry.review_state else 0.0
        if entry.findings is not None:
            widths = self.widths(entry.findings)
            rest += 24 + layout.row_height([column.label for column in entry.findings.columns], widths)
            rest += sum(layout.row_height(row, widths) for row in entry.findings.rows) + 6
        elif entry.no_findings:
            rest += 16
        for listing in entry.lists:
            rest += 24 + sum(_line_count(item, width - 20, 10) * 12 + 4 for item in listing.items)
        if entry.answer is not None:
            rest += _line_count(entry.answer, width, 10) * 12 * 1.3 + 40
        if entry.raw is not None:
            rest += _line_count(entry.raw, width, 9) * 11
        return top, rest

    # -- building blocks ------------------------------------------------------------------------------------

    def widths(self, table: Table) -> list[float]:
        """Column widths from the content, measured once per table and page width (the estimate, a split table
        and the table itself use the same)."""
        return _widths(table, layout.text_width(self.document))

    def table(self, table: Table, widths: Sequence[float] | None = None, keep_first: int = 0) -> None:
        """A table with widths from its content, its header repeated on each page; with ``keep_first`` its header
        and first rows stay with what comes before them."""
        widths = widths or self.widths(table)
        word = layout.styled_table(self.document, [column.label for column in table.columns], widths)
        for index, values in enumerate(table.rows):
            cells = layout.add_row(word, [clean(cell) for cell in values])
            if index < len(table.marks) and table.marks[index] == "unreviewed":
                for cell in cells:
                    layout.shade(cell._tc, UNREVIEWED_FILL)
        if keep_first:
            for row in list(word.rows)[:keep_first]:
                for cell in layout.row_cells(word, row):
                    layout.keep_with_next(cell.paragraphs)

    def _field_widths(self, fields: Sequence[Field]) -> list[float]:
        width = layout.text_width(self.document)
        label = max(measure.text_width(field.label, layout.TABLE_SIZE, True) for field in fields) + layout.CELL_PADDING
        label = min(label, width * 0.35)
        if any(field.source for field in fields):
            source = max(measure.text_width(field.source, layout.TABLE_SIZE) for field in fields)
            source = max(source, measure.text_width("Source", layout.TABLE_SIZE, True)) + layout.CELL_PADDING
            return [label, width - label - source, source]
        return [label, width - label]

    def fields(self, fields: Sequence[Field]) -> None:
        """Label and value rows, the labels shaded; a title block's third column says where each value is from."""
        widths = self._field_widths(fields)
        sourced = len(widths) == 3
        table = layout.styled_table(self.document, ["Field", "Value", "Source"] if sourced else None, widths)
        for field in fields:
            cells = layout.add_row(
                table, [clean(field.label), clean(field.value or "—"), *([field.source] if sourced else [])]
            )
            layout.shade(cells[0]._tc, layout.HEADER_FILL)
        layout.keep_table_together(table)

    def heading(self, text: str, level: int) -> Paragraph:
        """A heading as ``add_heading`` makes it (``Title`` at level 0), its style set by its id."""
        return _paragraph(self.document, text, "Title" if level == 0 else f"Heading {level}")

    def listing(self, listing: Listing) -> None:
        if not listing.items:
            return
        self.heading(listing.title, 2)
        for number, item in enumerate(listing.items, start=1):
            self.item(item, f"{number}." if listing.numbered else "•")

    def note(self, note: Note) -> None:
        paragraph = self.paragraph(note.text)
        run = paragraph.runs[0]
        if note.kind == "check":
            run.bold = True
        elif note.kind == "error":
            run.font.color.rgb = ERROR
        else:
            run.italic = True

    def paragraph(self, text: str = "", style: str | None = None) -> Paragraph:
        return _paragraph(self.document, text, style)

    def monospace(self, text: str) -> None:
        _monospace(self.document, text)

    def markdown(self, text: str) -> None:
        _markdown(self.document, text)

    # -- the appendix ---------------------------------------------------------------------------------------

    def appendix(self, report: ReportDocument) -> None:
        appendix = report.appendix
        if not (appendix.repairs or appendix.removed or appendix.sent or appendix.derivation):
            return
        first = self.heading(appendix.title, 1)
        rows = len(appendix.removed) + sum(len(repairs) + 1 for _, repairs in appendix.repairs)
        rows += 2 * len(appendix.sent.rows) if appendix.sent else 0
        rows += sum(len(table.rows) + 3 for _, table in appendix.derivation) + 3 * len(appendix.derivation_intro)
        if self.used + 80 + 16 * rows > layout.text_height(self.document) * FIT:
            layout.page_break_before(first)
        if appendix.removed:
            self.heading(appendix.removed_title, 2)
            for line in appendix.removed:
                self.paragraph(line)
        if appendix.repairs:
            self.heading(appendix.repairs_title, 2)
            self.paragraph(appendix.repairs_intro)
            for heading, repairs in appendix.repairs:
                self.paragraph(heading).runs[0].bold = True
                for repair in repairs:
                    self.item(repair, "•")
        if appendix.derivation:
            self.heading(appendix.derivation_title, 2)
            for text in appendix.derivation_intro:
                self.paragraph(text)
            for caption, table in appendix.derivation:
                self.paragraph(caption)
                self.table(table)
        if appendix.sent is not None:
            self.heading(appendix.sent_title, 2)
            self.table(appendix.sent)

    def item(self, text: str, marker: str) -> None:
        """One item of a list, its marker (a bullet, or its number) hanging in the margin."""
        paragraph = self.paragraph(f"{marker}\t{text}")
        fmt = paragraph.paragraph_format
        fmt.left_indent, fmt.first_line_indent = Pt(18), Pt(-18)
        fmt.tab_stops.add_tab_stop(Pt(18))
        fmt.space_after = Pt(2)


@functools.lru_cache(maxsize=64)
def _widths(table: Table, available: float) -> list[float]:
    columns = table.columns
    return layout.column_widths(
        [column.label for column in columns], table.rows, [column.unbroken for column in columns], available
    )


UNREVIEWED_FILL = "FFF5E0"
"""A row still the AI's, not reviewed: a light amber that prints as a light grey."""


def _line_count(text: str, width: float, size: float) -> int:
    return measure.line_count(text, width, size) if text else 0


def _font(size: int) -> Any:
    for path in ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _muted(paragraph: Paragraph, size: float) -> None:
    for run in paragraph.runs:
        run.font.size = Pt(size)
        run.font.color.rgb = MUTED


def _paragraph(document: DocumentType, text: str = "", style: str | None = None) -> Paragraph:
    """A paragraph of clean text; the style is set by its id (``layout.style_id``)."""
    paragraph = layout.add_paragraph(document)
    if style:
        paragraph._p.style = layout.style_id(document, style)
    if text:
        text = clean(text)
        if _BREAKS.search(text):
            paragraph.add_run(text)  # python-docx makes a break of each newline and a tab of each tab
        else:
            paragraph.add_run()._r.add_t(text)  # the same run, without its character-by-character walk
    return paragraph


_BREAKS = re.compile(r"[\t\n\r]")


def _markdown(document: DocumentType, text: str) -> None:
    """Markdown from the model as Word headings, lists, tables and paragraphs, with bold and italic kept.

    A table wider than Word can show, or the rows of one past ``MAX_WORD_TABLE_ROWS``, go in as their Markdown
    source in a monospaced paragraph, with a note: nothing is lost, and a runaway reply stays quick to build."""
    tokens = _md.parse(text)
    lines = text.splitlines()
    style, table, row, column, header = None, None, None, 0, False
    rows, skipping = 0, False
    overflow: list[str] = []
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
            header = True
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
                if header:  # the model's header row shaded, as every other table's
                    for cell in row:
                        layout.shade(cell._tc, layout.HEADER_FILL)
                    header = False
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
