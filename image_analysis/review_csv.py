"""The findings CSV read back after the inspector edited it in Excel or LibreOffice.

Excel writes UTF-8 with a byte-order mark (or the Windows code page), ``;`` as separator where the decimal comma is
used, and CRLF line ends; all are read. A cell the app wrote with a leading quote (so that a spreadsheet does not run
it as a formula) is read without it. A missing column or an unreadable file is a ``ReviewError`` naming it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from image_analysis.review import ReviewError
from image_analysis.spreadsheet import from_cell

FINDING_COLUMNS = {
    "element": "element",
    "defect_type": "defect_type",
    "location": "defect_location",
    "extent": "defect_extent",
    "condition_score": "condition_score",
    "recommended_action": "recommended_action",
    "urgency": "urgency",
    "inspector_note": "inspector_note",
    "status": "status",
    "ref": "ref",
}
"""Where each field of a reviewed finding is in the findings CSV (``report.findings_csv`` writes the same)."""
REQUIRED = ("photo", "record", "condition_scale", *FINDING_COLUMNS.values())
MAX_BYTES = 20_000_000


@dataclass(frozen=True)
class ReviewTable:
    """The rows of an edited findings CSV as dicts by ``review.Finding`` field (plus ``record``,
    ``condition_scale`` and ``_row``, its line in the file; line 1 is the header)."""

    rows: tuple[dict[str, str], ...]
    separator: str


def read_review_csv(data: bytes) -> ReviewTable:
    """Decode and parse an edited findings CSV; ``ReviewError`` when it cannot be taken."""
    if len(data) > MAX_BYTES:
        raise ReviewError(1, "photo", f"the file is {len(data):,} bytes; a findings CSV is at most {MAX_BYTES:,}")
    text = _decoded(data)
    header = text.split("\n", 1)[0]
    separator = max((";", ",", "\t"), key=header.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=separator)
    columns = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ReviewError(1, missing[0], "the column is missing (export the CSV from this app and edit that)")
    reader.fieldnames = columns
    rows = []
    for row in reader:
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue  # an empty line a spreadsheet left at the end
        cells = {key: from_cell(value) for key, value in row.items() if isinstance(key, str)}
        fields = {name: cells[column] for name, column in FINDING_COLUMNS.items()}
        extra = {name: cells[name] for name in ("photo", "record", "condition_scale", "file") if name in cells}
        rows.append({**extra, **fields, "_row": str(reader.line_num)})
    return ReviewTable(tuple(rows), separator)


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows writes the code page
