"""The findings workbook: its layout, shared with the writer (``reports.workbook``), and its reading back
after the inspector reviewed it in Excel or LibreOffice Calc.

    Findings   one row per finding: the review columns first (AI finding, photo, origin, note), then the finding;
               validation lists for origin, defect, condition score and urgency
    Photos     one row per photo: what the AI said of the photo as a whole, when and where it was taken, a
               thumbnail of what was sent (protected: the AI's words are not edited here)
    Sign-off   who signs for what, for whom
    AI record  hidden and protected: what the AI said, with a digest of it, so that every row read back is exactly
               one of AI unchanged, AI confirmed, edited, added or deleted, whatever a spreadsheet did to the order
               or the formatting of the rows

Reading is strict and names the cell: a value off a list, an unknown ref or photo, a changed AI record or a changed
AI text is a ``ReviewError`` with the sheet, row and column as the spreadsheet heads them, and nothing is taken.
Cells are read as text whatever type a spreadsheet gave them; nothing is read from view settings (frozen panes,
hidden columns, filters), which LibreOffice does not keep. A workbook is refused before it is opened when it is
larger than a findings workbook can be (its compressed and its unpacked size, and its rows, are bounded).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from image_analysis.analysis import Analysis
from image_analysis.findings import InspectionFindings
from image_analysis.review import (
    DELETED,
    EDITABLE,
    FINDING_FIELDS,
    SIGNOFF_LABELS,
    ReviewError,
    SignOff,
    ai_findings,
    parse_ref,
    photo_number,
)
from image_analysis.safe_text import clean

FINDINGS = "Findings"
PHOTOS = "Photos"
SIGNOFF_SHEET = "Sign-off"
AI_RECORD = "AI record"
LISTS = "Lists"
"""Hidden: the values of the Findings sheet's validation lists (a value such as "AI, not reviewed" holds a comma,
which an inline list cannot)."""
FORMAT = "image_analysis findings workbook 1"

FINDING_HEADINGS = {item.name: item.label for item in FINDING_FIELDS}
"""The Findings sheet's columns, in order, by ``Finding`` field: the review table's, and the CSV's order."""
REQUIRED = tuple(name for name in FINDING_HEADINGS if name != "file")

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
AI_COLUMNS = ("kind", "photo", "file", "record", "ref", *EDITABLE, *AI_TEXTS, "error")
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
            if model is None or any(ai[name] != getattr(model, name) for name in EDITABLE):
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


def digest(scale: str, rows: Sequence[Mapping[str, str]]) -> str:
    """What the AI record says, in one value: a changed record no longer matches it."""
    counted = AiRecordDigest(scale)
    for row in rows:
        counted.add(row)
    return counted.hexdigest()


class AiRecordDigest:
    """``digest`` taken one row at a time (a campaign's workbook is written without holding its record): the
    SHA-256 of ``json.dumps([FORMAT, scale, [[cell, ...], ...]])``, fed piece by piece."""

    def __init__(self, scale: str) -> None:
        self.scale = scale
        self._hash = hashlib.sha256(json.dumps([FORMAT, scale])[:-1].encode("utf-8") + b", [")
        self._rows = 0

    def add(self, row: Mapping[str, str]) -> None:
        cells = json.dumps([row.get(name, "") for name in AI_COLUMNS])
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
            values = {name: getattr(finding, name) for name in EDITABLE}
            rows.append({"kind": "finding", "photo": str(result.number), "ref": finding.ref, **values})
    return [{name: _folded(row.get(name, "")) for name in AI_COLUMNS} for row in rows]


def photo_texts(result: Analysis) -> dict[str, str]:
    """What the AI said of a photo as a whole, as the Photos sheet shows it."""
    findings = result.parsed.findings
    if not isinstance(findings, InspectionFindings):
        return {name: "" for name in AI_TEXTS}
    values = {name: getattr(findings, name) for name in AI_TEXTS}
    return {name: "; ".join(value) if isinstance(value, list) else str(value or "") for name, value in values.items()}


def read_review_workbook(data: bytes) -> ReviewWorkbook:
    """Read and check an edited findings workbook; ``ReviewError`` naming the cell when it cannot be taken."""
    import openpyxl  # imported when a workbook is read: the app's views never need it

    _check_size(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
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
    scale, ai = _ai_record(_rows(sheets[AI_RECORD], MAX_ROWS + 4 * MAX_PHOTOS))
    photos = tuple(
        WorkbookPhoto(int(row["photo"]), row["file"], row["record"], row["error"])
        for row in ai
        if row["kind"] == "photo"
    )
    findings = [row for row in ai if row["kind"] == "finding"]
    if PHOTOS in sheets:
        _check_texts(_rows(sheets[PHOTOS]), {row["photo"]: row for row in ai if row["kind"] == "photo"})
    rows = _findings(_rows(sheets[FINDINGS]))
    signoff = _signoff(_rows(sheets[SIGNOFF_SHEET]))
    present = {parse_ref(row.get("ref", "")) for row in rows}
    gone = [
        {**{name: row.get(name, "") for name in FINDING_HEADINGS}, "status": DELETED, "_row": ""}
        for row in findings
        if row["ref"] not in present and row["defect_type"]
    ]
    return ReviewWorkbook(tuple(rows + gone), photos, scale, signoff, tuple(findings))


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


def _ai_record(rows: Iterator[tuple[int, list[str]]]) -> tuple[str, list[dict[str, str]]]:
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
    if head.get("format") != FORMAT or columns[: len(AI_COLUMNS)] != list(AI_COLUMNS):
        raise ReviewError(1, "A", "this is not a findings workbook of this app: download it again", AI_RECORD)
    values = [{name: row.get(name, "") for name in AI_COLUMNS} for row in record]
    if digest(head.get("scale", ""), values) != head.get("digest"):
        message = "the AI record was changed (it is what the AI said, kept to tell your edits from its findings)"
        raise ReviewError(1, "A", f"{message}: download the workbook again", AI_RECORD)
    for row in record:
        if photo_number(row["photo"]) is None:
            raise ReviewError(int(row["_row"]), "photo", "not a photo number", AI_RECORD)
    return head["scale"], record


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
    """The Findings rows by field; checked by ``review.record``, whose errors ``named`` words as this sheet."""
    where = _header(rows, FINDING_HEADINGS, REQUIRED, FINDINGS)
    return [
        {
            **{name: cells[index] if index < len(cells) else "" for name, index in where.items()},
            "file": "",
            "_row": str(number),
        }
        for number, cells in rows  # the file is the photo number's: the column is there to read, not to be read
    ]


def _check_texts(rows: Iterator[tuple[int, list[str]]], record: Mapping[str, Mapping[str, str]]) -> None:
    """The AI's words on the Photos sheet are as it said them (an inspector writes in the Inspector's note)."""
    where = _header(rows, PHOTO_HEADINGS, ("photo",), PHOTOS)
    for number, cells in rows:
        photo = cells[where["photo"]] if where["photo"] < len(cells) else ""
        ai = record.get(str(photo_number(photo) or ""))
        if ai is None:
            continue  # a row the inspector typed below: the Photos sheet is not read for anything else
        for name, label in AI_TEXTS.items():
            given = _folded(cells[where[name]]) if name in where and where[name] < len(cells) else ai[name]
            if given != ai[name]:
                message = (
                    "this is what the AI said and is not changed here: put back its words, and write yours in the "
                    "Inspector's note on the Findings sheet"
                )
                raise ReviewError(number, label, message, PHOTOS)


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
