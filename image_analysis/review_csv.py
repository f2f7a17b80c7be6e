"""The findings CSV read back after the inspector edited it in Excel or LibreOffice.

Excel writes UTF-8 with a byte-order mark (or the Windows code page), ``;`` as separator where the decimal comma is
used, and CRLF line ends; all are read. A cell the app wrote with a leading quote (so that a spreadsheet does not run
it as a formula) is read without it. A missing column or an unreadable file is a ``ReviewError`` naming it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from image_analysis.review import FINDING_FIELDS, ReviewError
from image_analysis.spreadsheet import from_cell

FINDING_COLUMNS = {item.name: item.csv for item in FINDING_FIELDS if item.name not in ("photo", "file")}
"""Where each field of a reviewed finding is in the findings CSV (``reports.findings_csv`` writes the same)."""
REQUIRED = ("photo", "record", "condition_scale", *FINDING_COLUMNS.values())
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
    text = _decoded(data)
    header = text.split("\n", 1)[0]
    separator = max((";", ",", "\t"), key=header.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    columns = [name.strip() for name in next(reader, [])]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ReviewError(1, missing[0], "the column is missing (export the CSV from this app and edit that)")
    rows: list[dict[str, str]] = []
    for number, record in enumerate(reader, start=2):  # a record is one spreadsheet row, whatever its line breaks
        if not any(value.strip() for value in record):
            continue  # an empty row a spreadsheet left at the end
        if len(rows) >= MAX_ROWS:
            raise ReviewError(number, "photo", f"more than {MAX_ROWS:,} findings rows: this is not a findings CSV")
        cells = {column: from_cell(value) for column, value in zip(columns, record, strict=False)}
        fields = {name: cells.get(column, "") for name, column in FINDING_COLUMNS.items()}
        names = ("photo", "record", "condition_scale", "file", "error")
        extra = {name: cells[name] for name in names if name in cells}
        rows.append({**extra, **fields, "_row": str(number)})
    return ReviewTable(tuple(rows), separator)


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows writes the code page
