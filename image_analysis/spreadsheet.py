"""CSV as spreadsheets read and write it: UTF-8 with a byte-order mark (so Excel reads UTF-8), CRLF line ends, and
cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR at the start) defused with a leading
quote, which ``from_cell`` takes off again when an edited file is read back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import IO

FORMULA_START = "=+-@\t\r"


def cell(value: object) -> str:
    """Text for a CSV cell; text that a spreadsheet would read as a formula is prefixed with a quote."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if isinstance(value, str) and text[:1] and text[0] in FORMULA_START else text


def from_cell(value: object) -> str:
    """A cell as the app wrote it, without the quote that defused a formula."""
    text = value if isinstance(value, str) else ""
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_START else text


def decoded(data: bytes) -> str:
    """A CSV file's text as a spreadsheet saved it: UTF-8 (with or without its byte-order mark), else the Windows
    code page Excel's plain "CSV" writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def separator(text: str) -> str:
    """The separator a CSV file's header uses: a comma, or the semicolon (or tab) where the decimal comma is."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    return max((",", ";", "\t"), key=header.count)


def dict_rows(text: str) -> csv.DictReader:
    """A CSV file's rows by column, whichever separator it uses (``separator``)."""
    text = text.lstrip("\ufeff")
    return csv.DictReader(io.StringIO(text, newline=""), delimiter=separator(text))


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV file: the header, then each row's cells."""
    buffer = io.StringIO()
    CsvWriter(buffer, columns).rows(rows)
    return buffer.getvalue()


class CsvWriter:
    """The file of ``csv_text`` written to ``file`` (opened with ``newline=""``) row by row, as the rows come."""

    def __init__(self, file: IO[str], columns: Sequence[str]) -> None:
        file.write("\ufeff")
        self._writer = csv.writer(file, lineterminator="\r\n")
        self._writer.writerow(columns)

    def rows(self, rows: Iterable[Sequence[object]]) -> None:
        self._writer.writerows([cell(value) for value in row] for row in rows)
