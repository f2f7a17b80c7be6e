"""The findings CSV: one row per finding (one for a photo without defects), written for a spreadsheet and for the
round trip, and read back after the inspector edited it in Excel or LibreOffice. The columns are decided here, once,
for both directions.

Writing: every value is text; a cell a spreadsheet would run as a formula is defused (``spreadsheet.csv_text``).
Reading: Excel writes UTF-8 with a byte-order mark (or the Windows code page), ``;`` as separator where the decimal
comma is used, and CRLF line ends; all are read. A cell the app wrote with a leading quote is read without it. A
missing column or an unreadable file is a ``ReviewError`` naming it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis import fields
from image_analysis.analysis import Analysis
from image_analysis.fields import FindingField
from image_analysis.findings import Defect, DrawingFindings, InspectionFindings
from image_analysis.formats.drawing_csv import drawing_csv
from image_analysis.presets import Preset
from image_analysis.review import AI_NOT_REVIEWED, Review, ReviewError, ai_findings, finding_ref
from image_analysis.spreadsheet import csv_text, decoded, from_cell, separator

_FINDINGS_COLUMNS = tuple(name for name in InspectionFindings.model_fields if name not in ("defects", "summary"))
_DEFECT_COLUMNS = tuple(f"defect_{name}" for name in Defect.model_fields)


def csv_columns() -> tuple[str, ...]:
    """One row per defect: first what the inspector reviews, in the findings workbook's order
    (``fields.FINDING_FIELDS``: which AI finding, photo, origin, note, then the finding), then the photo's facts, the
    rest of the inspection's fields (from the findings model), the defect's description, and which stored result it
    is (``record``)."""
    review = tuple(field.csv for field in fields.FINDING_FIELDS)
    carried = {field.name for field in fields.FINDING_FIELDS} | set(review)
    return (
        *review,
        "taken_at",
        "lat",
        "lon",
        "camera",
        *(name for name in _FINDINGS_COLUMNS if name not in carried),
        "condition_scale",
        "defect",
        *(name for name in _DEFECT_COLUMNS if name not in carried and name.removeprefix("defect_") not in carried),
        "summary",
        "record",
        "repairs",
        "model",
        "error",
    )


def _reviewed() -> tuple[FindingField, ...]:
    return tuple(field for field in fields.FINDING_FIELDS if field.name not in ("photo", "file"))


def findings_csv(analyses: Sequence[Analysis], review: Review | None = None) -> str:
    """The findings of all images, one row per defect (one row for an image without defects), as CSV; the
    reviewed findings of a photo replace the model's when there are any. A drawing set gets ``drawing_csv``."""
    if analyses and analyses[0].request.preset is Preset.DRAWING:
        return drawing_csv(analyses)
    columns = csv_columns()
    return csv_text(columns, (line for analysis in analyses for line in findings_lines(analysis, review, columns)))


def findings_lines(
    analysis: Analysis, review: Review | None = None, columns: Sequence[str] | None = None
) -> list[list[object]]:
    """One image's rows of the findings CSV (``csv_columns()``): a campaign writes them one image at a time."""
    columns = columns or csv_columns()
    rows = _rows(analysis)
    reviewed = [*review.for_photo(analysis.number), *review.deleted_from(analysis.number)] if review else []
    for row, finding in zip(rows, [] if reviewed else ai_findings([analysis]), strict=False):
        row.update({item.csv: getattr(finding, item.name) for item in _reviewed()})  # as the record names them
    if reviewed:
        base = {key: value for key, value in rows[0].items() if not key.startswith("defect")}
        rows = [
            {
                **base,
                "defect": number if finding.defect_type else None,
                **{item.csv: getattr(finding, item.name) for item in _reviewed()},
            }
            for number, finding in enumerate(reviewed, start=1)
        ]
    return [[row.get(column) for column in columns] for row in rows]


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


# -- reading back


def finding_columns() -> dict[str, str]:
    """Where each field of a reviewed finding is in the findings CSV (as ``csv_columns`` writes it)."""
    return {field.name: field.csv for field in _reviewed()}


MAX_BYTES = 20_000_000
MAX_ROWS = 10_000
"""Findings rows taken from one file: 50 photos with 200 findings each, far more than any report holds; above it the
file is refused at once, before the rows are read (a CSV of a million one-cell rows)."""


@dataclass(frozen=True)
class ReviewTable:
    """The rows of an edited findings CSV as dicts by ``review.Finding`` field (plus ``record``,
    ``condition_scale``, ``error`` and ``_row``, its row as a spreadsheet numbers it; row 1 is the header)."""

    rows: tuple[dict[str, str], ...]
    separator: str


def read_review_csv(data: bytes) -> ReviewTable:
    """Decode and parse an edited findings CSV; ``ReviewError`` when it cannot be taken."""
    if len(data) > MAX_BYTES:
        raise ReviewError(1, "photo", f"the file is {len(data):,} bytes; a findings CSV is at most {MAX_BYTES:,}")
    text = decoded(data)
    delimiter = separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = [name.strip() for name in next(reader, [])]
    where = finding_columns()
    optional = {fields.FIELDS[name].csv for name in where if fields.FIELDS[name].optional}
    needed = [name for name in ("photo", "record", "condition_scale", *where.values()) if name not in optional]
    missing = [name for name in needed if name not in columns]
    if missing:
        raise ReviewError(1, missing[0], "the column is missing (export the CSV from this app and edit that)")
    rows: list[dict[str, str]] = []
    for number, record in enumerate(reader, start=2):  # a record is one spreadsheet row, whatever its line breaks
        if not any(value.strip() for value in record):
            continue  # an empty row a spreadsheet left at the end
        if len(rows) >= MAX_ROWS:
            raise ReviewError(number, "photo", f"more than {MAX_ROWS:,} findings rows: this is not a findings CSV")
        cells = {column: from_cell(value) for column, value in zip(columns, record, strict=False)}
        values = {name: cells.get(column, "") for name, column in where.items() if column in cells}
        names = ("photo", "record", "condition_scale", "file", "error")
        extra = {name: cells[name] for name in names if name in cells}
        rows.append({**extra, **values, "_row": str(number)})
    return ReviewTable(tuple(rows), delimiter)
