"""Text from outside (model replies, findings, EXIF values, file names, model ids) made safe for every output.

``clean`` is applied once where such text enters the program, and again by each writer (page, Word, CSV, terminal)
as a last guard; it is idempotent, so applying it twice changes nothing. What it does:

- characters that XML 1.0 forbids (C0 controls other than tab, newline and carriage return; lone surrogates;
  U+FFFE and U+FFFF), DEL and the C1 controls are shown as their code points, ``⟨U+001B⟩``: python-docx refuses
  them, a terminal runs them as commands, a spreadsheet hides them. Nothing is silently dropped;
- direction controls (U+202E and its kin, which can make 'gpj.exe' read as 'exe.jpg') are shown the same way.

``for_terminal`` also shows carriage returns, which would let a line overwrite what came before it.
"""

from __future__ import annotations

import re

_XML_FORBIDDEN = [
    *(code for code in range(0x20) if code not in (0x09, 0x0A, 0x0D)),
    *range(0x7F, 0xA0),  # DEL and the C1 controls (allowed by XML, but escape sequences on a terminal)
    *range(0xD800, 0xE000),  # lone surrogates (a str can hold them; UTF-8 cannot encode them)
    0xFFFE,
    0xFFFF,
]
DIRECTION_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))


def _visible(code: int) -> str:
    return f"⟨U+{code:04X}⟩"


_TABLE = {code: _visible(code) for code in (*_XML_FORBIDDEN, *DIRECTION_CONTROLS)}
_TERMINAL_TABLE = {**_TABLE, 0x0D: _visible(0x0D)}
_NEEDS_CLEANING = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean(text: str) -> str:
    """``text`` with every character that a writer cannot hold, or that would act instead of being read, shown
    as its code point. Idempotent."""
    if text.isprintable() or not _NEEDS_CLEANING.search(text):  # both at C speed: a data URI costs ~10 ms per MB
        return text
    return text.translate(_TABLE)


def for_terminal(text: str) -> str:
    """Text that prints as itself on a terminal: no escape sequence, no carriage return, only newlines and tabs."""
    return text.replace("\r\n", "\n").translate(_TERMINAL_TABLE)
