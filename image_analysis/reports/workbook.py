"""The findings workbook for review in Excel or LibreOffice Calc (openpyxl), laid out as ``review_workbook`` reads
it back: Findings, Photos, Sign-off and the hidden AI record.

The workbook is written one photo at a time (``WorkbookWriter``; openpyxl's write-only mode, each sheet's rows
going to a temporary file as they come), so that a campaign of ten thousand photos takes the memory of one.

Every value is written as a text cell (``@`` format, string type): a ref, a photo number or a score cannot be made a
number, a date or a formula by any spreadsheet. The list columns get data validation lists (the scale's scores with
their meanings in the input message); urgency's list is a suggestion, as the inspector's own words are kept.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Sequence
from copy import copy
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from image_analysis.analysis import Analysis
from image_analysis.imaging.encode import thumbnail
from image_analysis.presets import ScaleDefinition
from image_analysis.reports.document import photo_facts
from image_analysis.review import (
    AI_CONFIRMED,
    AI_NOT_REVIEWED,
    DELETED,
    ORIGINS,
    SIGNOFF_LABELS,
    Finding,
    Review,
    ai_findings,
)
from image_analysis.review_workbook import (
    AI_COLUMNS,
    AI_RECORD,
    FINAL,
    FINDING_HEADINGS,
    FINDINGS,
    FORMAT,
    LISTS,
    NO,
    PHOTO_HEADINGS,
    PHOTOS,
    SIGNOFF_SHEET,
    STATUS,
    YES,
    AiRecordDigest,
    ai_record,
    photo_texts,
)
from image_analysis.safe_text import clean
from image_analysis.vocabulary import CANNOT_TELL, DEFECT_TYPES, URGENCIES

WIDTHS = {
    "ref": 11,
    "photo": 7,
    "status": 22,
    "inspector_note": 34,
    "element": 26,
    "defect_type": 16,
    "location": 30,
    "extent": 18,
    "condition_score": 13,
    "recommended_action": 34,
    "urgency": 15,
    "file": 26,
}
"""Column widths in characters of the Findings sheet."""
PHOTO_WIDTHS = {"photo": 7, "file": 26, "image": 22, "summary": 50, "condition_rationale": 40, "cannot_tell": 30}
VALIDATED_ROWS = 2_000
"""Rows down to which the lists apply, so that rows the inspector adds get them too."""
CELL_CHARACTERS = 32_767
"""The most a spreadsheet cell holds (Excel's limit, which openpyxl keeps)."""
HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
UNREVIEWED_FILL = PatternFill("solid", fgColor="FFF4D6")
TOP = Alignment(vertical="top", wrap_text=True)
FONT = Font(name="Arial", size=10)
"""Arial, as the reports use (LibreOffice substitutes the metric-compatible Liberation Sans)."""


def findings_workbook(analyses: Sequence[Analysis], review: Review | None = None, status: str = "") -> bytes:
    """The workbook of the inspection ``analyses`` with the ``review`` so far; ``status`` is the report's (as the
    cover says it), shown on the Sign-off sheet."""
    writer = WorkbookWriter(analyses[0].request.scale.definition if analyses else None, review)
    for result in analyses:
        writer.add(result)
    buffer = io.BytesIO()
    writer.save(buffer, status)
    return buffer.getvalue()


TEXT = NamedStyle("Text", font=FONT, alignment=TOP, number_format="@")
"""Every cell's style: text, Arial, wrapped at the top (one named style: set once a cell, not four times)."""
UNREVIEWED = NamedStyle("AI, not reviewed", font=FONT, alignment=TOP, number_format="@", fill=UNREVIEWED_FILL)
HEADING = NamedStyle(
    "Heading", font=Font(name=FONT.name, size=FONT.size, bold=True), alignment=TOP, fill=HEADER_FILL, number_format="@"
)


class WorkbookWriter:
    """The findings workbook, one photo at a time: ``add`` writes a photo's rows (its findings as the record
    stands, its Photos row with a thumbnail, its AI record), ``save`` finishes the sheets (the Sign-off sheet with the
    report's status, known once every photo is counted) and writes the file.
    Memory stays that of one photo (and the thumbnails, a few kB each), whatever the number of photos."""

    def __init__(self, scale: ScaleDefinition | None, review: Review | None = None) -> None:
        self.scale, self.review = scale, review or Review()
        self.reviewed = self.review.reviewed_photos
        self.book = Workbook(write_only=True)
        for style in (TEXT, UNREVIEWED, HEADING):
            self.book.add_named_style(style)
        self._styles: dict[str, Any] = {}
        self.findings = self._sheet(FINDINGS)
        self.lists = self._sheet(LISTS)
        self.photos = self._sheet(PHOTOS)
        self.signoff = self._sheet(SIGNOFF_SHEET)
        self.record = self._sheet(AI_RECORD)
        self.rows = {FINDINGS: 1, PHOTOS: 1}
        self.names = list(FINDING_HEADINGS)
        self.photo_names = list(PHOTO_HEADINGS)
        self._header(self.findings, list(FINDING_HEADINGS.values()), [WIDTHS[name] for name in self.names])
        widths = [PHOTO_WIDTHS.get(name, 16) for name in self.photo_names]
        self._header(self.photos, list(PHOTO_HEADINGS.values()), widths)
        self.ai_rows: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # the AI record follows its digest
        self.digest = AiRecordDigest(scale.name if scale else "")

    def add(self, result: Analysis, picture: bytes | None = None) -> None:
        """Write one photo's rows: the reviewed ones (and those deleted, marked so) where reviewed, the AI's
        otherwise; its Photos row with its thumbnail (``picture``, a JPEG, when made already; else made from the
        result's image); its AI record (kept aside until ``save``, below the record's digest)."""
        if result.number in self.reviewed:
            rows = [*self.review.for_photo(result.number), *self.review.deleted_from(result.number)]
        else:
            rows = ai_findings([result])
        for finding in rows:
            self._finding(finding)
        self._photo(result, picture if picture is not None else _thumbnail(result))
        for row in ai_record([result]):
            self.digest.add(row)
            self.ai_rows.write(json.dumps(row) + "\n")

    def save(self, target: IO[bytes], status: str = "") -> None:
        self._finish_findings()
        self._finish_photos()
        self._signoff(status)
        self._ai_record()
        self.book.save(target)
        self.ai_rows.close()

    # -- sheets and cells

    def _sheet(self, title: str) -> WriteOnlyWorksheet:
        sheet = self.book.create_sheet(title)
        sheet.sheet_state = "visible"  # a write-only sheet has no state until given one
        return sheet

    def _cell(self, sheet: WriteOnlyWorksheet, value: object, style: str | None = TEXT.name) -> WriteOnlyCell:
        """A text cell: never a number, a date or a formula, whatever the text is (``style`` ``None``: unstyled,
        for the hidden sheets). A named style is looked up once and copied into each cell, several times faster."""
        cell = WriteOnlyCell(sheet)
        # the text set as the string it is, not through openpyxl's guessing (a formula from "=...", an error from
        # "#N/A"): no control character (``clean``), at most a cell's 32,767 characters, as ``check_string`` keeps
        cell._value = "" if value is None else clean(str(value))[:CELL_CHARACTERS]
        cell.data_type = "s"
        if style is not None:
            if style not in self._styles:
                cell.style = style
                self._styles[style] = copy(cell._style)
            else:
                cell._style = copy(self._styles[style])
        return cell

    def _append(self, sheet: WriteOnlyWorksheet, values: Sequence[object], style: str | None = TEXT.name) -> None:
        sheet.append([self._cell(sheet, value, style) for value in values])

    def _header(self, sheet: WriteOnlyWorksheet, headings: Sequence[str], widths: Sequence[int]) -> None:
        """Set before the first row: a write-only sheet writes its columns, panes and page fit as it starts."""
        for column, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(column)].width = width
        sheet.freeze_panes = "A2"
        # printed: landscape, as wide as the page, the header on every page
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.print_title_rows = "1:1"
        self._append(sheet, headings, HEADING.name)

    def _finding(self, finding: Finding) -> None:
        style = UNREVIEWED.name if finding.status == AI_NOT_REVIEWED else TEXT.name
        values = [getattr(finding, name) for name in self.names]
        self.rows[FINDINGS] += 1
        height = _height(values, [WIDTHS[name] for name in self.names])
        self.findings.row_dimensions[self.rows[FINDINGS]].height = height
        self._append(self.findings, values, style)

    def _finish_findings(self) -> None:
        sheet, names, scale, last = self.findings, self.names, self.scale, self.rows[FINDINGS]
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{max(last, 2)}"
        scores = [*(scale.codes if scale else ()), CANNOT_TELL]
        meanings = "; ".join(f"{code} {scale.meaning(code)}" for code in scale.codes) if scale else ""
        lists = {
            "status": (
                [*ORIGINS, DELETED],
                f"Set {AI_CONFIRMED} once checked, or {DELETED} to take the finding out. Edited and added are "
                "decided by the app when the workbook is read.",
                "stop",
            ),
            "defect_type": (list(DEFECT_TYPES), "The kind of defect.", "stop"),
            "condition_score": (scores, f"{scale.name if scale else 'Condition score'}: {meanings}."[:255], "stop"),
            "urgency": (list(URGENCIES), "Choose from the list, or write your own words.", "warning"),
        }
        validated = max(VALIDATED_ROWS, last + VALIDATED_ROWS // 2)  # rows the inspector adds get the lists too
        columns = list(lists.items())
        self._append(self.lists, [FINDING_HEADINGS[name] for name, _ in columns])
        for row in range(max(len(values) for _, (values, _, _) in columns)):
            self._append(self.lists, [values[row] if row < len(values) else None for _, (values, _, _) in columns])
        for index, (name, (values, prompt, style)) in enumerate(columns, start=1):
            letter, source = get_column_letter(names.index(name) + 1), get_column_letter(index)
            check = DataValidation(
                type="list",
                formula1=f"'{LISTS}'!${source}$2:${source}${len(values) + 1}",  # a list's values may hold commas
                allow_blank=True,
                showInputMessage=True,
                showErrorMessage=True,
                errorStyle=style,
                promptTitle=FINDING_HEADINGS[name][:32],
                prompt=prompt[:255],
                errorTitle="Not on the list",
                error=f"Choose one of: {', '.join(values)}"[:255],
            )
            check.add(f"{letter}2:{letter}{validated}")
            sheet.data_validations.append(check)
        self.lists.sheet_state = "hidden"
        self.lists.protection.sheet = True

    def _photo(self, result: Analysis, picture: bytes | None) -> None:
        names = self.photo_names
        metadata = result.preparation.metadata if result.preparation else None
        facts = {fact.label: fact.value for fact in photo_facts(metadata)} if metadata else {}
        values = {
            "photo": result.number,
            "file": result.name,
            **photo_texts(result),
            "taken_at": facts.get("Taken", ""),
            "gps": facts.get("Position", ""),
            "camera": facts.get("Camera", ""),
            "error": result.error or "",
        }
        self.rows[PHOTOS] += 1
        row = self.rows[PHOTOS]
        text = _height([values.get(name, "") for name in names], [PHOTO_WIDTHS.get(name, 16) for name in names])
        height = 0.0
        if picture is not None:
            image = SheetImage(io.BytesIO(picture))
            self.photos.add_image(image, f"{get_column_letter(names.index('image') + 1)}{row}")
            height = image.height * 0.75 + 6  # points, from pixels
        self.photos.row_dimensions[row].height = max(text, height)
        self._append(self.photos, [values.get(name, "") for name in names])

    def _finish_photos(self) -> None:
        self.photos.protection.sheet = True  # the AI's words: an inspector writes in the Inspector's note

    def _signoff(self, status: str) -> None:
        sheet, signoff = self.signoff, self.review.signoff
        self._header(sheet, ["Sign-off", "Value"], [22, 50])
        rows = [(label, getattr(signoff, name)) for name, label in SIGNOFF_LABELS.items()]
        rows += [(FINAL, YES if signoff.final else NO), (STATUS, status)]
        for label, value in rows:
            self._append(sheet, [label, value])
        check = DataValidation(type="list", formula1=f'"{YES},{NO}"', allow_blank=True, showErrorMessage=True)
        check.add(f"B{len(rows)}")
        sheet.data_validations.append(check)
        self._append(sheet, [])
        self._append(sheet, ["The status is the report's when the workbook was made; it is not read back."])

    def _ai_record(self) -> None:
        sheet = self.record
        head = [("format", FORMAT), ("scale", self.digest.scale), ("digest", self.digest.hexdigest())]
        for name, value in head:
            self._append(sheet, [name, value], style=None)
        self._append(sheet, list(AI_COLUMNS), style=None)
        self.ai_rows.seek(0)
        for line in self.ai_rows:
            row = json.loads(line)
            sheet.append([self._cell(sheet, row[name], None) if row[name] else None for name in AI_COLUMNS])
        sheet.sheet_state = "veryHidden"
        sheet.protection.sheet = True


LINE_POINTS = 12.75
"""The height of a line of 10 pt Arial in a spreadsheet row."""


def _height(values: Sequence[object], widths: Sequence[int]) -> float:
    """A row's height in points, for its longest wrapped cell: spreadsheets do not fit rows to wrapped text on
    opening a file (LibreOffice converting it never does), so each row is given the height its text needs."""
    lines = 1
    for value, width in zip(values, widths, strict=True):
        text = str(value or "")
        per_line = max(width * 13 // 10, 1)  # a column is `width` digits of the default font: 1.3 Arial letters each
        lines = max(lines, sum(max(1, -(-len(part) // per_line)) for part in text.split("\n")))
    return lines * LINE_POINTS + 2


def _thumbnail(result: Analysis) -> bytes | None:
    if result.preparation is None or not result.preparation.display.data:
        return None
    return thumbnail(result.preparation.display.data)
