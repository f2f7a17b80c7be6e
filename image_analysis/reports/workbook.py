"""The findings workbook for review in Excel or LibreOffice Calc (openpyxl), laid out as ``review_workbook`` reads
it back: Findings, Photos, Sign-off and the hidden AI record.

Every value is written as a text cell (``@`` format, string type): a ref, a photo number or a score cannot be made a
number, a date or a formula by any spreadsheet. The list columns get data validation lists (the scale's scores with
their meanings in the input message); urgency's list is a suggestion, as the inspector's own words are kept.
"""

from __future__ import annotations

import io
import weakref
from collections.abc import Sequence
from copy import copy

from openpyxl import Workbook
from openpyxl.drawing.image import Image as SheetImage
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image

from image_analysis.analysis import Analysis
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
    ai_record,
    digest,
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
THUMBNAIL = 150
"""Long side, in pixels, of a photo's thumbnail on the Photos sheet."""
VALIDATED_ROWS = 2_000
"""Rows down to which the lists apply, so that rows the inspector adds get them too."""
HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
UNREVIEWED_FILL = PatternFill("solid", fgColor="FFF4D6")
TOP = Alignment(vertical="top", wrap_text=True)
FONT = Font(name="Arial", size=10)
"""Arial, as the reports use (LibreOffice substitutes the metric-compatible Liberation Sans)."""


def findings_workbook(analyses: Sequence[Analysis], review: Review | None = None, status: str = "") -> bytes:
    """The workbook of the inspection ``analyses`` with the ``review`` so far; ``status`` is the report's (as the
    cover says it), shown on the Sign-off sheet."""
    review = review or Review()
    scale = analyses[0].request.scale.definition if analyses else None
    book = Workbook()
    book.add_named_style(TEXT)
    book.add_named_style(UNREVIEWED)
    findings = book.active
    assert findings is not None
    findings.title = FINDINGS
    _findings(findings, _rows(analyses, review), scale)
    _photos(book.create_sheet(PHOTOS), analyses)
    _signoff(book.create_sheet(SIGNOFF_SHEET), review, status)
    _ai_record(book.create_sheet(AI_RECORD), analyses, scale.name if scale else "")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rows(analyses: Sequence[Analysis], review: Review) -> list[Finding]:
    """Each photo's rows as the record stands: the reviewed ones (and those deleted, marked so) where reviewed, the
    AI's otherwise."""
    reviewed = review.reviewed_photos
    rows: list[Finding] = []
    for result in analyses:
        if result.number in reviewed:
            rows += [*review.for_photo(result.number), *review.deleted_from(result.number)]
        else:
            rows += ai_findings([result])
    return rows


TEXT = NamedStyle("Text", font=FONT, alignment=TOP, number_format="@")
"""Every cell's style: text, Arial, wrapped at the top (one named style: set once a cell, not four times)."""
UNREVIEWED = NamedStyle("AI, not reviewed", font=FONT, alignment=TOP, number_format="@", fill=UNREVIEWED_FILL)


_STYLES: weakref.WeakKeyDictionary[Workbook, dict[str, StyleArray]] = weakref.WeakKeyDictionary()
"""Each workbook's cell style per named style: copied into a cell, several times faster than naming the style."""


def _text(sheet: Worksheet, row: int, column: int, value: object, style: str | None = TEXT.name) -> None:
    """A text cell: never a number, a date or a formula, whatever the text is (``style`` ``None``: unstyled, for
    the hidden sheets)."""
    cell = sheet.cell(row=row, column=column)
    cell.value = "" if value is None else clean(str(value))  # no control character: a workbook cannot hold them
    cell.data_type = "s"
    if style is None:
        return
    styles = _STYLES.setdefault(sheet.parent, {})
    if style not in styles:
        cell.style = style
        styles[style] = copy(cell._style)
    else:
        cell._style = copy(styles[style])


def _header(sheet: Worksheet, headings: Sequence[str], widths: Sequence[int]) -> None:
    for column, (heading, width) in enumerate(zip(headings, widths, strict=True), start=1):
        _text(sheet, 1, column, heading)
        sheet.cell(row=1, column=column).font = Font(name=FONT.name, size=FONT.size, bold=True)
        sheet.cell(row=1, column=column).fill = HEADER_FILL
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    # printed: landscape, as wide as the page, the header on every page
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.print_title_rows = "1:1"


def _findings(sheet: Worksheet, rows: Sequence[Finding], scale: ScaleDefinition | None) -> None:
    names = list(FINDING_HEADINGS)
    _header(sheet, list(FINDING_HEADINGS.values()), [WIDTHS[name] for name in names])
    for number, finding in enumerate(rows, start=2):
        style = UNREVIEWED.name if finding.status == AI_NOT_REVIEWED else TEXT.name
        values = [getattr(finding, name) for name in names]
        for column, value in enumerate(values, start=1):
            _text(sheet, number, column, value, style)
        sheet.row_dimensions[number].height = _height(values, [WIDTHS[name] for name in names])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{max(len(rows) + 1, 2)}"
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
    choices = sheet.parent.create_sheet(LISTS)
    for index, (name, (values, prompt, style)) in enumerate(lists.items(), start=1):
        letter, source = get_column_letter(names.index(name) + 1), get_column_letter(index)
        _text(choices, 1, index, FINDING_HEADINGS[name])
        for row, value in enumerate(values, start=2):
            _text(choices, row, index, value)
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
        check.add(f"{letter}2:{letter}{VALIDATED_ROWS}")
        sheet.add_data_validation(check)
    choices.sheet_state = "hidden"
    choices.protection.sheet = True


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


def _photos(sheet: Worksheet, analyses: Sequence[Analysis]) -> None:
    names = list(PHOTO_HEADINGS)
    _header(sheet, list(PHOTO_HEADINGS.values()), [PHOTO_WIDTHS.get(name, 16) for name in names])
    for number, result in enumerate(analyses, start=2):
        facts = (
            {fact.label: fact.value for fact in photo_facts(result.preparation.metadata)} if result.preparation else {}
        )
        values = {
            "photo": result.number,
            "file": result.name,
            **photo_texts(result),
            "taken_at": facts.get("Taken", ""),
            "gps": facts.get("Position", ""),
            "camera": facts.get("Camera", ""),
            "error": result.error or "",
        }
        for column, name in enumerate(names, start=1):
            _text(sheet, number, column, values.get(name, ""))
        text = _height([values.get(name, "") for name in names], [PHOTO_WIDTHS.get(name, 16) for name in names])
        thumbnail = _thumbnail(result)
        if thumbnail is not None:
            sheet.add_image(thumbnail, f"{get_column_letter(names.index('image') + 1)}{number}")
        picture = thumbnail.height * 0.75 + 6 if thumbnail is not None else 0  # points, from pixels
        sheet.row_dimensions[number].height = max(text, picture)
    sheet.protection.sheet = True  # the AI's words: an inspector writes in the Inspector's note


def _thumbnail(result: Analysis) -> SheetImage | None:
    if result.preparation is None:
        return None
    with Image.open(io.BytesIO(result.preparation.display.data)) as image:
        image.thumbnail((THUMBNAIL, THUMBNAIL))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=80)
    picture = SheetImage(io.BytesIO(buffer.getvalue()))
    return picture


def _signoff(sheet: Worksheet, review: Review, status: str) -> None:
    _header(sheet, ["Sign-off", "Value"], [22, 50])
    signoff = review.signoff
    rows = [(label, getattr(signoff, name)) for name, label in SIGNOFF_LABELS.items()]
    rows += [(FINAL, YES if signoff.final else NO), (STATUS, status)]
    for number, (label, value) in enumerate(rows, start=2):
        _text(sheet, number, 1, label)
        _text(sheet, number, 2, value)
    check = DataValidation(type="list", formula1=f'"{YES},{NO}"', allow_blank=True, showErrorMessage=True)
    check.add(f"B{len(rows)}")
    sheet.add_data_validation(check)
    _text(sheet, len(rows) + 2, 1, "The status is the report's when the workbook was made; it is not read back.")


def _ai_record(sheet: Worksheet, analyses: Sequence[Analysis], scale: str) -> None:
    rows = ai_record(analyses)
    head = [("format", FORMAT), ("scale", scale), ("digest", digest(scale, rows))]
    for number, (name, value) in enumerate(head, start=1):
        _text(sheet, number, 1, name)
        _text(sheet, number, 2, value)
    for column, name in enumerate(AI_COLUMNS, start=1):
        _text(sheet, len(head) + 1, column, name)
    for number, row in enumerate(rows, start=len(head) + 2):
        for column, name in enumerate(AI_COLUMNS, start=1):
            if row[name]:  # an empty cell reads back as ""
                _text(sheet, number, column, row[name], style=None)
    sheet.sheet_state = "veryHidden"
    sheet.protection.sheet = True
