"""The findings workbook: its layout, its writing (for review in Excel or LibreOffice Calc, openpyxl) and its reading
back after the inspector reviewed it, in one module, so that a column or a sheet is changed in one place.

    Findings   one row per finding: the review columns first (AI finding, photo, origin, note), then the finding;
               validation lists for origin, defect, condition score and urgency
    Photos     one row per photo: what the AI said of the photo as a whole, when and where it was taken, a
               thumbnail of what was sent (protected: the AI's words are not edited here)
    Sign-off   who signs for what, for whom
    AI record  hidden and protected: what the AI said, with a digest of it, so that every row read back is exactly
               one of AI unchanged, AI confirmed, edited, added or deleted, whatever a spreadsheet did to the order
               or the formatting of the rows

Writing (``WorkbookWriter``, ``findings_workbook``): one photo at a time (openpyxl's write-only mode, each sheet's
rows going to a temporary file as they come), so that a campaign of ten thousand photos takes the memory of one.
Every value is a text cell (``@`` format, string type): a ref, a photo number or a score cannot be made a number, a
date or a formula by any spreadsheet. The list columns get validation lists (the scale's scores with their meanings
in the input message); urgency's list is a suggestion, as the inspector's own words are kept.

Reading (``read_review_workbook``) is strict and names the cell: a value off a list, an unknown ref or photo, a
changed AI record or a changed AI text is a ``ReviewError`` with the sheet, row and column as the spreadsheet heads
them, and nothing is taken. Cells are read as text whatever type a spreadsheet gave them; nothing is read from view
settings (frozen panes, hidden columns, filters), which LibreOffice does not keep. A workbook is refused before it is
opened when it is larger than a findings workbook can be (its compressed and its unpacked size, and its rows).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import IO, TYPE_CHECKING, Any

from image_analysis import fields
from image_analysis.analysis import Analysis
from image_analysis.condition import defect_score
from image_analysis.fields import Choices
from image_analysis.findings import InspectionFindings
from image_analysis.imaging.encode import thumbnail
from image_analysis.observations import DEFINITIONS, INTENSITIES, SERIOUSNESS, SHARES
from image_analysis.presets import ConditionStandard
from image_analysis.review import (
    AI_CONFIRMED,
    AI_NOT_REVIEWED,
    DELETED,
    ORIGINS,
    SIGNOFF_LABELS,
    Finding,
    Review,
    ReviewError,
    SignOff,
    ai_findings,
    observed,
    parse_ref,
    photo_number,
)
from image_analysis.safe_text import clean
from image_analysis.vocabulary import CANNOT_TELL, DEFECT_TYPES, URGENCIES
from image_analysis.wording import photo_facts

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FINDINGS = "Findings"
PHOTOS = "Photos"
SIGNOFF_SHEET = "Sign-off"
AI_RECORD = "AI record"
LISTS = "Lists"
ELEMENTS_WRITTEN = "Elements as written"
"""Very hidden: each photo's element as the workbook was made with it, so that a cell left as it was is told from
one the inspector chose (an old workbook read again undoes no element chosen since)."""
"""Hidden: the values of the Findings sheet's validation lists (a value such as "AI, not reviewed" holds a comma,
which an inline list cannot)."""
FORMAT = "image_analysis findings workbook 3"
FORMAT_2 = "image_analysis findings workbook 2"
"""Before a defect's score was derived from its observations: a score is the model's overall one, a text cell."""
FORMAT_1 = "image_analysis findings workbook 1"
"""Before a defect's observations were fields of a finding: its AI record has no columns for them."""


def finding_headings() -> dict[str, str]:
    """The Findings sheet's columns, in order, by ``Finding`` field (``fields.FINDING_FIELDS``): the review table's,
    and the CSV's order."""
    return fields.headings()


def _required() -> tuple[str, ...]:
    """The Findings sheet's columns a workbook must have: all but the file's and those added since workbooks were
    first made (``FindingField.optional``: a workbook without them leaves them as they were)."""
    return tuple(field.name for field in fields.FINDING_FIELDS if field.name != "file" and not field.optional)


AI_TEXTS = {
    "summary": "Summary",
    "material": "Material",
    "condition_rationale": "Rationale",
    "confidence": "Confidence",
    "cannot_tell": "Cannot tell from the photo",
}
"""What the AI said of a photo as a whole: on the Photos sheet, and checked against the AI record when read."""
PHOTO_HEADINGS = {
    "photo": "Photo",
    "file": "Photo file",
    "image": "As sent to the model",
    **AI_TEXTS,
    "taken_at": "Date taken",
    "gps": "GPS",
    "camera": "Camera",
    "error": "Without a description",
}
ELEMENT_HEADINGS = {"element": "Element", "previous_condition": "Previous condition", "change": "Change"}
"""The Photos sheet's columns when the inspection names its object: the photo's element (chosen from the object's
list; the only cell of the sheet an inspector edits) and that element's condition at the previous inspection and its
change since, as the comparison has them (``PhotoElement``)."""
AI_COLUMNS = ("kind", "photo", "file", "record", "ref", *fields.EDITABLE, *AI_TEXTS, "error")
AI_COLUMNS_1 = tuple(name for name in AI_COLUMNS if not (name in fields.FIELDS and fields.FIELDS[name].optional))
"""The AI record's columns in a workbook of ``FORMAT_1``."""
"""The AI record's columns: a ``photo`` row per photo (its file, stored result and texts), a ``finding`` row per AI
finding (its ref and fields as the model gave them)."""

FINAL = "Issue as final"
STATUS = "Status"
YES, NO = "yes", "no"

MAX_BYTES = 20_000_000
MAX_UNPACKED = 50_000_000
"""Bytes a workbook may unpack to: a findings workbook of 10,000 rows with thumbnails is a few MB; a zip bomb is
refused before a byte of it is parsed."""
MAX_ROWS = 10_000
MAX_COLUMNS = 64
MAX_PHOTOS = 1_000
"""Photos a workbook's AI record may name (a report holds at most 50; a few such reports merged, say)."""
MAX_GAP = 1_000
"""Empty rows after which a sheet is read no further (a spreadsheet writes formatted empty rows far down)."""


@dataclass(frozen=True)
class WorkbookPhoto:
    """A photo the workbook was made for, as its AI record names it."""

    number: int
    file: str
    record: str
    error: str


@dataclass(frozen=True)
class PhotoElement:
    """A photo's element on the Photos sheet, with the element's previous condition and its change, in words."""

    element: str = ""
    previous_condition: str = ""
    change: str = ""


@dataclass(frozen=True)
class ElementColumns:
    """What the Photos sheet's element columns hold: the object's element ids (the list an inspector chooses from)
    and each photo's element (by photo number)."""

    object_id: str
    choices: tuple[str, ...]
    photos: Mapping[int, PhotoElement]


@dataclass(frozen=True)
class ReviewWorkbook:
    """An edited findings workbook, read and checked: the rows by ``Finding`` field (with ``_row``, the row as the
    spreadsheet numbers it), one ``DELETED`` row for each AI finding whose row is gone, the photos it was made for,
    the scale, and the sign-off."""

    rows: tuple[dict[str, str], ...]
    photos: tuple[WorkbookPhoto, ...]
    scale: str
    signoff: SignOff
    ai: tuple[dict[str, str], ...]
    """The AI record's finding rows."""
    format: str = FORMAT
    elements: Mapping[int, str] = dataclasses.field(default_factory=dict)
    """Each photo's element as the Photos sheet's Element column says (photo number → element id, empty: none);
    empty when the workbook has no such column."""
    elements_written: Mapping[int, str] = dataclasses.field(default_factory=dict)
    """Each photo's element as the workbook was made with it (``ELEMENTS_WRITTEN``)."""

    @property
    def elements_chosen(self) -> dict[int, str]:
        """The photos whose Element cell the inspector changed (all of them in a workbook that does not say what it
        was made with)."""
        return {
            number: element
            for number, element in self.elements.items()
            if number not in self.elements_written or self.elements_written[number] != element
        }

    def mismatch(self, analyses: Sequence[Analysis]) -> ReviewError | None:
        """Why the workbook was not made from ``analyses`` (numbered as in the reports), or ``None``: each photo must
        be the same file with the same AI findings (described again since, it has others)."""
        photos = {result.number: result for result in analyses}
        theirs = {finding.ref: finding for finding in ai_findings(analyses)}
        for row, photo in enumerate(self.photos, start=2):
            result = photos.get(photo.number)
            if result is None or clean(" ".join(result.name.split())) != photo.file:
                now = f"'{result.name}'" if result else "not uploaded"
                message = f"the workbook's photo {photo.number} is '{photo.file}', but photo {photo.number} is {now}"
                return ReviewError(row, PHOTO_HEADINGS["file"], f"{message}: download the workbook again", PHOTOS)
        for ai in self.ai:
            model = theirs.get(ai["ref"])
            compared = [name for name in fields.EDITABLE if name in ai]
            if self.format != FORMAT:  # its score was the model's overall one, its seriousness given no default
                compared = [name for name in compared if name not in ("condition_score", "seriousness")]
            if model is None or any(ai[name] != getattr(model, name) for name in compared):
                return ReviewError(
                    int(ai["_row"]),
                    "ref",
                    f"AI finding {ai['ref']} is not what the model now says of photo {ai['photo']} (it was described "
                    "again since the workbook was made): download the workbook again and make the edits there",
                    AI_RECORD,
                )
        return None


def is_workbook(data: bytes) -> bool:
    """Whether ``data`` is an Office Open XML file (a zip), as an ``.xlsx`` is."""
    return data[:4] == b"PK\x03\x04"


def digest(scale: str, rows: Sequence[Mapping[str, str]], format: str = FORMAT) -> str:
    """What the AI record says, in one value: a changed record no longer matches it."""
    counted = AiRecordDigest(scale, format)
    for row in rows:
        counted.add(row)
    return counted.hexdigest()


class AiRecordDigest:
    """``digest`` taken one row at a time (a campaign's workbook is written without holding its record): the
    SHA-256 of ``json.dumps([FORMAT, scale, [[cell, ...], ...]])``, fed piece by piece."""

    def __init__(self, scale: str, format: str = FORMAT) -> None:
        self.scale = scale
        self.columns = AI_COLUMNS_1 if format == FORMAT_1 else AI_COLUMNS
        self._hash = hashlib.sha256(json.dumps([format, scale])[:-1].encode("utf-8") + b", [")
        self._rows = 0

    def add(self, row: Mapping[str, str]) -> None:
        cells = json.dumps([row.get(name, "") for name in self.columns])
        self._hash.update(((", " if self._rows else "") + cells).encode("utf-8"))
        self._rows += 1

    def hexdigest(self) -> str:
        whole = self._hash.copy()
        whole.update(b"]]")
        return whole.hexdigest()


def ai_record(analyses: Sequence[Analysis]) -> list[dict[str, str]]:
    """The AI record's rows for ``analyses``: what the model said, before any review."""
    rows: list[dict[str, str]] = []
    for result in analyses:
        texts = photo_texts(result)
        rows.append(
            {
                "kind": "photo",
                "photo": str(result.number),
                "file": result.name,
                "record": result.record or "",
                **texts,
                "error": result.error or "",
            }
        )
        for finding in ai_findings([result]):
            values = {name: getattr(finding, name) for name in fields.EDITABLE}
            rows.append({"kind": "finding", "photo": str(result.number), "ref": finding.ref, **values})
    return [{name: _folded(row.get(name, "")) for name in AI_COLUMNS} for row in rows]


def photo_texts(result: Analysis) -> dict[str, str]:
    """What the AI said of a photo as a whole, as the Photos sheet shows it."""
    findings = result.parsed.findings
    if not isinstance(findings, InspectionFindings):
        return {name: "" for name in AI_TEXTS}
    values = {name: getattr(findings, name) for name in AI_TEXTS}
    return {name: "; ".join(value) if isinstance(value, list) else str(value or "") for name, value in values.items()}


# -- writing

PHOTO_WIDTHS = {"photo": 7, "file": 26, "image": 22, "summary": 50, "condition_rationale": 40, "cannot_tell": 30}
VALIDATED_ROWS = 2_000
"""Rows down to which the lists apply, so that rows the inspector adds get them too."""
CELL_CHARACTERS = 32_767
"""The most a spreadsheet cell holds (Excel's limit, which openpyxl keeps)."""
TEXT, UNREVIEWED, HEADING, CHOSEN = "Text", "AI, not reviewed", "Heading", "Yours to choose"
"""The named styles: every cell's (text, Arial, wrapped at the top: one named style, set once a cell, not four
times), an AI finding not reviewed yet (shaded), a heading (bold, shaded)."""


@functools.cache
def _openpyxl() -> SimpleNamespace:
    """openpyxl and the workbook's named styles, loaded when the first workbook is written (a view of the app never
    needs them). Arial, as the reports use (LibreOffice substitutes the metric-compatible Liberation Sans)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

    font, top = Font(name="Arial", size=10), Alignment(vertical="top", wrap_text=True)
    shaded, heading = PatternFill("solid", fgColor="FFF4D6"), PatternFill("solid", fgColor="DDE3EA")
    styles = (
        NamedStyle(TEXT, font=font, alignment=top, number_format="@"),
        NamedStyle(UNREVIEWED, font=font, alignment=top, number_format="@", fill=shaded),
        NamedStyle(CHOSEN, font=font, alignment=top, number_format="@", protection=Protection(locked=False)),
        NamedStyle(
            HEADING, font=Font(name="Arial", size=10, bold=True), alignment=top, fill=heading, number_format="@"
        ),
    )
    return SimpleNamespace(
        Workbook=Workbook,
        WriteOnlyCell=WriteOnlyCell,
        Image=Image,
        DataValidation=DataValidation,
        letter=get_column_letter,
        A4=Worksheet.PAPERSIZE_A4,
        styles=styles,
    )


def findings_workbook(
    analyses: Sequence[Analysis], review: Review | None = None, status: str = "", elements: ElementColumns | None = None
) -> bytes:
    """The workbook of the inspection ``analyses`` with the ``review`` so far; ``status`` is the report's (as the
    cover says it), shown on the Sign-off sheet; ``elements``: the photos' elements, when it names its object."""
    writer = WorkbookWriter(analyses[0].request.scale.definition if analyses else None, review, elements)
    for result in analyses:
        writer.add(result)
    buffer = io.BytesIO()
    writer.save(buffer, status)
    return buffer.getvalue()


class WorkbookWriter:
    """The findings workbook, one photo at a time: ``add`` writes a photo's rows (its findings as the record
    stands, its Photos row with a thumbnail, its AI record), ``save`` finishes the sheets (the Sign-off sheet with the
    report's status, known once every photo is counted) and writes the file.
    Memory stays that of one photo (and the thumbnails, a few kB each), whatever the number of photos."""

    def __init__(
        self, scale: ConditionStandard | None, review: Review | None = None, elements: ElementColumns | None = None
    ) -> None:
        self.scale, self.review, self.elements = scale, review or Review(), elements
        self.reviewed = self.review.reviewed_photos
        self.xl = _openpyxl()
        self.book = self.xl.Workbook(write_only=True)
        for style in self.xl.styles:
            self.book.add_named_style(style)
        self._styles: dict[str, Any] = {}
        self.findings = self._sheet(FINDINGS)
        self.lists = self._sheet(LISTS)
        self.photos = self._sheet(PHOTOS)
        self.signoff = self._sheet(SIGNOFF_SHEET)
        self.record = self._sheet(AI_RECORD)
        self.rows = {FINDINGS: 1, PHOTOS: 1}
        self.columns = fields.FINDING_FIELDS
        self.names = [field.name for field in self.columns]
        self.widths = [field.width for field in self.columns]
        self.photo_headings = dict(PHOTO_HEADINGS)
        if elements is not None:  # after the file: the element is the photo's first fact
            names = list(PHOTO_HEADINGS)
            at = names.index("file") + 1
            self.photo_headings = {
                name: {**PHOTO_HEADINGS, **ELEMENT_HEADINGS}[name]
                for name in [*names[:at], *ELEMENT_HEADINGS, *names[at:]]
            }
        self.photo_names = list(self.photo_headings)
        self._header(self.findings, [field.heading for field in self.columns], self.widths)
        widths = [PHOTO_WIDTHS.get(name, 16) for name in self.photo_names]
        self._header(self.photos, list(self.photo_headings.values()), widths)
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
        self._elements_written()
        self._signoff(status)
        self._ai_record()
        self.book.save(target)
        self.ai_rows.close()

    # -- sheets and cells

    def _sheet(self, title: str) -> WriteOnlyWorksheet:
        sheet = self.book.create_sheet(title)
        sheet.sheet_state = "visible"  # a write-only sheet has no state until given one
        return sheet

    def _cell(self, sheet: WriteOnlyWorksheet, value: object, style: str | None = TEXT) -> WriteOnlyCell:
        """A text cell: never a number, a date or a formula, whatever the text is (``style`` ``None``: unstyled,
        for the hidden sheets). A named style is looked up once and copied into each cell, several times faster."""
        cell = self.xl.WriteOnlyCell(sheet)
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

    def _append(self, sheet: WriteOnlyWorksheet, values: Sequence[object], style: str | None = TEXT) -> None:
        sheet.append([self._cell(sheet, value, style) for value in values])

    def _header(self, sheet: WriteOnlyWorksheet, headings: Sequence[str], widths: Sequence[int]) -> None:
        """Set before the first row: a write-only sheet writes its columns, panes and page fit as it starts."""
        for column, width in enumerate(widths, start=1):
            sheet.column_dimensions[self.xl.letter(column)].width = width
        sheet.freeze_panes = "A2"
        # printed: landscape, as wide as the page, the header on every page
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = self.xl.A4
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.print_title_rows = "1:1"
        self._append(sheet, headings, HEADING)

    def _finding(self, finding: Finding) -> None:
        style = UNREVIEWED if finding.status == AI_NOT_REVIEWED else TEXT
        values = [getattr(finding, name) for name in self.names]
        self.rows[FINDINGS] += 1
        row = self.rows[FINDINGS]
        height = _height(values, self.widths)
        self.findings.row_dimensions[row].height = height
        cells = [self._cell(self.findings, value, style) for value in values]
        if self.scale is not None and finding.status != DELETED and _derived(finding, self.scale):
            letters = {
                name: self.xl.letter(self.names.index(name) + 1) for name in ("seriousness", "intensity", "share")
            }
            formula = derived_score_formula(*(f"{letter}{row}" for letter in letters.values()))
            cell = cells[self.names.index("condition_score")]
            cell._value, cell.data_type = formula, "f"
        self.findings.append(cells)

    def _finish_findings(self) -> None:
        sheet, names, scale, last = self.findings, self.names, self.scale, self.rows[FINDINGS]
        sheet.auto_filter.ref = f"A1:{self.xl.letter(len(names))}{max(last, 2)}"
        scores = list(scale.scores if scale else (CANNOT_TELL,))
        meanings = "; ".join(f"{code} {scale.meaning(code)}" for code in scale.codes) if scale else ""
        choices = {
            Choices.ORIGINS: (
                [*ORIGINS, DELETED],
                f"Set {AI_CONFIRMED} once checked, or {DELETED} to take the finding out. Edited and added are "
                "decided by the app when the workbook is read.",
                "stop",
            ),
            Choices.DEFECT_TYPES: (list(DEFECT_TYPES), "The kind of defect.", "stop"),
            Choices.SCORES: (scores, f"{scale.name if scale else 'Condition score'}: {meanings}."[:255], "stop"),
            Choices.URGENCIES: (list(URGENCIES), "Choose from the list, or write your own words.", "warning"),
            **{
                choice: ([*words, CANNOT_TELL], DEFINITIONS[name][:255], "stop")
                for choice, name, words in (
                    (Choices.SERIOUSNESS, "seriousness", SERIOUSNESS),
                    (Choices.INTENSITY, "intensity", INTENSITIES),
                    (Choices.SHARE, "share", SHARES),
                )
            },
        }
        lists = {field.name: choices[field.choices] for field in self.columns if field.choices in choices}
        headings = {field.name: field.heading for field in self.columns}
        validated = max(VALIDATED_ROWS, last + VALIDATED_ROWS // 2)  # rows the inspector adds get the lists too
        columns = list(lists.items())
        if self.elements is not None and self.elements.choices:
            prompt = f"The element of {self.elements.object_id} this photo shows; empty: none."
            columns.append(("element", (list(self.elements.choices), prompt[:255], "stop")))
            headings = {**headings, "element": ELEMENT_HEADINGS["element"]}
        self._append(self.lists, [headings[name] for name, _ in columns])
        for row in range(max(len(values) for _, (values, _, _) in columns)):
            self._append(self.lists, [values[row] if row < len(values) else None for _, (values, _, _) in columns])
        for index, (name, (values, prompt, style)) in enumerate(columns, start=1):
            on = self.photos if name == "element" else sheet
            at = (self.photo_names if name == "element" else names).index(name) + 1
            letter, source = self.xl.letter(at), self.xl.letter(index)
            check = self.xl.DataValidation(
                type="list",
                formula1=f"'{LISTS}'!${source}$2:${source}${len(values) + 1}",  # a list's values may hold commas
                allow_blank=True,
                showInputMessage=True,
                showErrorMessage=True,
                errorStyle=style,
                promptTitle=headings[name][:32],
                prompt=prompt[:255],
                errorTitle="Not on the list",
                error=f"Choose one of: {', '.join(values)}"[:255],
            )
            check.add(f"{letter}2:{letter}{validated}")
            on.data_validations.append(check)
        self.lists.sheet_state = "hidden"
        self.lists.protection.sheet = True

    def _photo(self, result: Analysis, picture: bytes | None) -> None:
        names = self.photo_names
        metadata = result.preparation.metadata if result.preparation else None
        facts = {fact.label: fact.value for fact in photo_facts(metadata)} if metadata else {}
        element = self.elements.photos.get(result.number, PhotoElement()) if self.elements else PhotoElement()
        values = {
            "photo": result.number,
            "file": result.name,
            **dataclasses.asdict(element),
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
            image = self.xl.Image(io.BytesIO(picture))
            self.photos.add_image(image, f"{self.xl.letter(names.index('image') + 1)}{row}")
            height = image.height * 0.75 + 6  # points, from pixels
        self.photos.row_dimensions[row].height = max(text, height)
        self.photos.append(
            [self._cell(self.photos, values.get(name, ""), CHOSEN if name == "element" else TEXT) for name in names]
        )

    def _finish_photos(self) -> None:
        self.photos.protection.sheet = True  # the AI's words: an inspector writes in the Inspector's note

    def _elements_written(self) -> None:
        if self.elements is None:
            return
        sheet = self._sheet(ELEMENTS_WRITTEN)
        self._append(sheet, ["photo", "element"], style=None)
        for number, element in sorted(self.elements.photos.items()):
            self._append(sheet, [str(number), element.element], style=None)
        sheet.sheet_state = "veryHidden"
        sheet.protection.sheet = True

    def _signoff(self, status: str) -> None:
        sheet, signoff = self.signoff, self.review.signoff
        self._header(sheet, ["Sign-off", "Value"], [22, 50])
        rows = [(label, getattr(signoff, name)) for name, label in SIGNOFF_LABELS.items()]
        rows += [(FINAL, YES if signoff.final else NO), (STATUS, status)]
        for label, value in rows:
            self._append(sheet, [label, value])
        check = self.xl.DataValidation(type="list", formula1=f'"{YES},{NO}"', allow_blank=True, showErrorMessage=True)
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


def derived_score_formula(seriousness: str, intensity: str, share: str) -> str:
    """The score cell's live formula: NEN 2767's defect condition from the cells of its seriousness, intensity and
    share (every cell of the standard's table is ``max(1, S + I + E - 5)``, each the place of its word on its list),
    empty while one is "cannot tell" or not on its list; as text, as the scale's codes are. Excel and LibreOffice
    recompute it as the inspector types; reading back derives again from the three cells."""
    positions = [
        f"MATCH({cell},{{{','.join(json.dumps(word) for word in words)}}},0)"
        for cell, words in ((seriousness, SERIOUSNESS), (intensity, INTENSITIES), (share, SHARES))
    ]
    return f'=IFERROR(TEXT(MAX(1,{"+".join(positions)}-5),"0"),"")'


def _derived(finding: Finding, scale: ConditionStandard) -> bool:
    """Whether a finding's score is the one its observations derive (then the cell is the live formula)."""
    return bool(finding.defect_type) and defect_score(observed(finding), scale) == finding.condition_score


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


# -- reading back


def read_review_workbook(data: bytes) -> ReviewWorkbook:
    """Read and check an edited findings workbook; ``ReviewError`` naming the cell when it cannot be taken."""
    import openpyxl  # imported when a workbook is read: the app's views never need it

    _check_size(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)  # a formula, not its value
        try:
            return _read(book)
        finally:
            book.close()
    except ReviewError:
        raise
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        message = f"the file is not a workbook Excel or LibreOffice can open ({type(error).__name__}: {error})"
        raise ReviewError(1, "A", message) from None


def _read(book: Any) -> ReviewWorkbook:
    sheets = {sheet.title: sheet for sheet in book.worksheets}
    for name in (FINDINGS, SIGNOFF_SHEET, AI_RECORD):
        if name not in sheets:
            message = f"the workbook has no sheet '{name}': download the findings workbook from this app"
            raise ReviewError(1, "A", message, name)
    scale, made, ai = _ai_record(_rows(sheets[AI_RECORD], MAX_ROWS + 4 * MAX_PHOTOS))
    photos = tuple(
        WorkbookPhoto(int(row["photo"]), row["file"], row["record"], row["error"])
        for row in ai
        if row["kind"] == "photo"
    )
    findings = [row for row in ai if row["kind"] == "finding"]
    elements: dict[int, str] = {}
    if PHOTOS in sheets:
        elements = _photo_sheet(_rows(sheets[PHOTOS]), {row["photo"]: row for row in ai if row["kind"] == "photo"})
    rows = _findings(_rows(sheets[FINDINGS]))
    if made != FORMAT:  # a score as the model gave it, left so, follows the observations as a formula would
        said = {row["ref"]: row.get("condition_score", "") for row in findings}
        rows = [{**row, "condition_score": ""} if _as_said(row, said) else row for row in rows]
    signoff = _signoff(_rows(sheets[SIGNOFF_SHEET]))
    present = {parse_ref(row.get("ref", "")) for row in rows}
    gone = [
        {**{name: row[name] for name in finding_headings() if name in row}, "status": DELETED, "_row": ""}
        for row in findings
        if row["ref"] not in present and row["defect_type"]
    ]
    written = (
        {
            int(cells[0]): cells[1] if len(cells) > 1 else ""
            for number, cells in _rows(sheets[ELEMENTS_WRITTEN])
            if number > 1 and cells[0].isdigit()
        }
        if ELEMENTS_WRITTEN in sheets
        else {}
    )
    return ReviewWorkbook(tuple(rows + gone), photos, scale, signoff, tuple(findings), made, elements, written)


def _as_said(row: Mapping[str, str], said: Mapping[str, str]) -> bool:
    """Whether a row of an older workbook has its AI finding's score as the model gave it."""
    ref = parse_ref(row.get("ref", ""))
    return ref in said and row.get("condition_score", "") == said[ref]


def _check_size(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise ReviewError(1, "A", f"the file is {len(data):,} bytes; a findings workbook is at most {MAX_BYTES:,}")
    if not is_workbook(data):
        raise ReviewError(1, "A", "the file is not an Excel workbook (.xlsx): save it as one, or give the CSV")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as error:
        raise ReviewError(1, "A", f"the workbook is damaged ({error}): save it again") from None
    if unpacked > MAX_UNPACKED:
        raise ReviewError(1, "A", f"the workbook unpacks to {unpacked:,} bytes: this is not a findings workbook")


def _rows(sheet: Any, limit: int = MAX_ROWS + 1) -> Iterator[tuple[int, list[str]]]:
    """A sheet's non-empty rows as text, with their row numbers, at most ``limit`` of them (``MAX_ROWS`` findings
    and a header; the AI record has a row per photo and its head besides)."""
    count = gap = 0
    for number, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
        cells = [_text(value) for value in values]
        if not any(cells):
            gap += 1
            if gap > MAX_GAP:
                return  # the rest is formatting (or a row a billion down): a findings sheet has no such gap
            continue
        gap = 0
        count += 1
        if count > limit:
            raise ReviewError(
                number, "A", f"more than {MAX_ROWS:,} findings: this is not a findings workbook", sheet.title
            )
        yield number, cells


def _text(value: object) -> str:
    """A cell as text, whatever a spreadsheet made of it: ``3.0`` is ``3``, a date is ``2026-11-20``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return clean(str(value))


def _folded(text: str) -> str:
    return " ".join(clean(text).split())


def _ai_record(rows: Iterator[tuple[int, list[str]]]) -> tuple[str, str, list[dict[str, str]]]:
    """The AI record's scale, format and rows, checked against its digest."""
    head: dict[str, str] = {}
    columns: list[str] = []
    record: list[dict[str, str]] = []
    for number, cells in rows:
        if not columns and cells[0] in ("format", "scale", "digest"):
            head[cells[0]] = cells[1] if len(cells) > 1 else ""
        elif not columns:
            columns = cells
        else:
            record.append({**dict(zip(columns, cells, strict=False)), "_row": str(number)})
    made = head.get("format", "")
    expected = {FORMAT: AI_COLUMNS, FORMAT_2: AI_COLUMNS, FORMAT_1: AI_COLUMNS_1}.get(made)
    if expected is None or columns[: len(expected)] != list(expected):
        raise ReviewError(1, "A", "this is not a findings workbook of this app: download it again", AI_RECORD)
    values = [{name: row.get(name, "") for name in expected} for row in record]
    if digest(head.get("scale", ""), values, made) != head.get("digest"):
        message = "the AI record was changed (it is what the AI said, kept to tell your edits from its findings)"
        raise ReviewError(1, "A", f"{message}: download the workbook again", AI_RECORD)
    for row in record:
        if photo_number(row["photo"]) is None:
            raise ReviewError(int(row["_row"]), "photo", "not a photo number", AI_RECORD)
    kept = [{name: row[name] for name in (*expected, "_row") if name in row} for row in record]
    return head["scale"], made, kept


def _header(
    rows: Iterator[tuple[int, list[str]]], wanted: Mapping[str, str], required: Sequence[str], sheet: str
) -> dict[str, int]:
    """The header row's columns by field (matched by heading, in any order); a missing one is a ``ReviewError``."""
    first = next(rows, None)
    headings = [" ".join(cell.split()).lower() for cell in (first[1] if first else [])]
    where = {name: headings.index(label.lower()) for name, label in wanted.items() if label.lower() in headings}
    missing = [name for name in required if name not in where]
    if missing:
        message = "the column is missing (unhide or restore it, or download the workbook again)"
        raise ReviewError(first[0] if first else 1, wanted[missing[0]], message, sheet)
    return where


def _findings(rows: Iterator[tuple[int, list[str]]]) -> list[dict[str, str]]:
    """The Findings rows by field; checked by ``Review.from_rows``, whose errors ``named`` words as this sheet."""
    where = _header(rows, finding_headings(), _required(), FINDINGS)
    return [
        {
            **{name: _value(name, cells[index] if index < len(cells) else "") for name, index in where.items()},
            "file": "",
            "_row": str(number),
        }
        for number, cells in rows  # the file is the photo number's: the column is there to read, not to be read
    ]


def _value(name: str, cell: str) -> str:
    """A Findings cell as the review reads it: the score's live formula (``derived_score_formula``) is no score of
    the inspector's, and the score follows the observations; its cached value never decides."""
    return "" if name == "condition_score" and cell.startswith("=") else cell


def _photo_sheet(rows: Iterator[tuple[int, list[str]]], record: Mapping[str, Mapping[str, str]]) -> dict[int, str]:
    """Each photo's element as the Photos sheet's Element column says (none without that column), once the AI's
    words there are found as it said them (an inspector writes in the Inspector's note)."""
    where = _header(rows, {**PHOTO_HEADINGS, **ELEMENT_HEADINGS}, ("photo",), PHOTOS)
    elements: dict[int, str] = {}
    for number, cells in rows:
        photo = cells[where["photo"]] if where["photo"] < len(cells) else ""
        ai = record.get(str(photo_number(photo) or ""))
        if ai is None:
            continue  # a row the inspector typed below: the Photos sheet is not read for anything else
        if "element" in where:
            typed = cells[where["element"]] if where["element"] < len(cells) else ""
            elements[int(ai["photo"])] = clean(typed.strip())[:80]
        for name, label in AI_TEXTS.items():
            given = _folded(cells[where[name]]) if name in where and where[name] < len(cells) else ai[name]
            if given != ai[name]:
                message = (
                    "this is what the AI said and is not changed here: put back its words, and write yours in the "
                    "Inspector's note on the Findings sheet"
                )
                raise ReviewError(number, label, message, PHOTOS)
    return elements


def _signoff(rows: Iterator[tuple[int, list[str]]]) -> SignOff:
    labels = {label.lower(): name for name, label in SIGNOFF_LABELS.items()}
    values: dict[str, str] = {}
    final = False
    for number, cells in rows:
        label, value = cells[0].strip().lower(), (cells[1] if len(cells) > 1 else "").strip()
        if label == FINAL.lower():
            if value.lower() not in (YES, NO, ""):
                raise ReviewError(number, "B", f"'{value}' is not yes or no", SIGNOFF_SHEET)
            final = value.lower() == YES
        elif label in labels:
            values[labels[label]] = value
    return SignOff(**values, final=final)
