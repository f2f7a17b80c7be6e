"""How wide text is in the report's typeface, without a font file: Arial's advance widths (Liberation Sans, which
LibreOffice uses for Arial, has the same metrics by design), so that column widths and page breaks can be planned
where the report is built, on any machine.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from image_analysis.wording import NO_BREAK

FONT = "Arial"
"""The report's typeface: on every Windows and Mac, and metric-compatible Liberation Sans on Linux."""

_FIRST = 32
_REGULAR = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556,
    556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667,
    556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556,
    556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722,
    500, 500, 500, 334, 260, 334, 584,
)  # fmt: skip
_BOLD_DIFFERENT = {
    "!": 333,
    '"': 474,
    "&": 722,
    "'": 238,
    ":": 333,
    ";": 333,
    "?": 611,
    "@": 975,
    "A": 722,
    "B": 722,
    "J": 556,
    "K": 722,
    "L": 611,
    "[": 333,
    "]": 333,
    "^": 584,
    "b": 611,
    "c": 556,
    "d": 611,
    "f": 333,
    "g": 611,
    "h": 611,
    "i": 278,
    "j": 278,
    "k": 556,
    "l": 278,
    "m": 889,
    "n": 611,
    "o": 611,
    "p": 611,
    "q": 611,
    "r": 389,
    "s": 556,
    "t": 333,
    "u": 611,
    "v": 556,
    "w": 778,
    "x": 556,
    "y": 556,
    "{": 389,
    "|": 280,
    "}": 389,
}
"""Where Arial Bold differs from Arial (every other character is as wide)."""
_BOLD = tuple(_BOLD_DIFFERENT.get(chr(code), width) for code, width in enumerate(_REGULAR, start=_FIRST))
_OTHER = 1000
"""A character outside the table (CJK, symbols): as wide as the em, which is never narrower than it is."""


@lru_cache(maxsize=4096)
def _width(char: str, bold: bool) -> int:
    table = _BOLD if bold else _REGULAR
    code = ord(char)
    if _FIRST <= code < _FIRST + len(table):
        return table[code - _FIRST]
    if char == NO_BREAK:
        return table[0]
    base = unicodedata.normalize("NFKD", char)[:1]  # é as e, the accent adds no width
    if base and _FIRST <= ord(base) < _FIRST + len(table):
        return table[ord(base) - _FIRST]
    return _OTHER


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of ``text`` on one line, in points, at ``size`` points."""
    return sum(_width(char, bold) for char in text) * size / 1000


def words(text: str) -> list[str]:
    """What a line may not be broken inside: runs between spaces (a no-break space joins)."""
    return [word for word in re.split(r"[ \t\n\r]+", text) if word]


def longest_word(text: str, size: float, bold: bool = False) -> float:
    return max((text_width(word, size, bold) for word in words(text)), default=0.0)


def line_count(text: str, width: float, size: float, bold: bool = False) -> int:
    """The lines ``text`` takes in a column ``width`` points wide, broken at spaces as a word processor does (a word
    wider than the column counts the lines it is cut into)."""
    total = 0
    for paragraph in text.split("\n") or [""]:
        lines, used = 1, 0.0
        space = text_width(" ", size, bold)
        for word in words(paragraph):
            needed = text_width(word, size, bold)
            if used and used + space + needed > width:
                lines, used = lines + 1, 0.0
            if needed > width:
                extra = int(needed // width)
                lines, used = lines + extra, needed - extra * width
                continue
            used += (space if used else 0) + needed
        total += lines
    return total
