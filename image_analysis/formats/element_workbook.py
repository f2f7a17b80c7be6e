"""An element list as uploaded (``read_element_list``: a CSV, or a workbook known by its bytes), and in a workbook
(.xlsx): its first sheet, the header in the first row, one row an element, read with the same rules as a CSV list
(``inspection.elements``). Cells are values, never formulas run: a formula's cached value is what the owner's
spreadsheet showed."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import openpyxl

from image_analysis.inspection.elements import (
    MAX_ELEMENTS,
    Element,
    ElementListError,
    read_element_csv,
    read_element_rows,
)
from image_analysis.spreadsheet import decoded

MAX_COLUMNS = 40
MAX_UNPACKED = 200_000_000
"""Bytes a workbook may unpack to: a list of thousands of elements is a few MB, a zip bomb is not read."""


def read_element_list(data: bytes, source: str) -> tuple[Element, ...]:
    """The elements of a list file as uploaded: a workbook (``.xlsx``, known by its bytes) or a CSV (as a
    spreadsheet saves it: ``spreadsheet.decoded``); ``ElementListError`` naming the file, row and column."""
    if data[:4] == b"PK\x03\x04":
        return read_element_workbook(data, source)
    return read_element_csv(decoded(data), source)


def read_element_workbook(data: bytes, source: str) -> tuple[Element, ...]:
    """The elements of a workbook's first sheet; ``ElementListError`` naming the file, row and column."""
    if _unpacked(data) > MAX_UNPACKED:
        raise ElementListError(f"{source}: the workbook unpacks to over {MAX_UNPACKED:,} bytes: not an element list")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise ElementListError(
            f"{source}: not a workbook Excel or LibreOffice can open ({type(error).__name__}); save it as .xlsx or CSV"
        ) from None
    try:
        return read_element_rows(_rows(book.worksheets[0]), f"{source}, sheet '{book.worksheets[0].title}'")
    finally:
        book.close()


def _rows(sheet: object) -> Iterator[dict[str, object]]:
    lines = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)  # type: ignore[attr-defined]
    header = [str(value).strip() if value is not None else "" for value in next(lines, ())]
    for count, line in enumerate(lines):
        if count > MAX_ELEMENTS + 1_000:  # blank rows between are skipped, an endless sheet is not read to its end
            break
        yield {name: _text(value) for name, value in zip(header, line, strict=False) if name}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unpacked(data: bytes) -> int:
    """What the workbook's parts add up to unpacked (0 for a file that is not a zip: openpyxl then says so)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return 0
