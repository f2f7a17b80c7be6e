"""The JSON value inside a model's reply, found and repaired: prose, code fences, broken syntax, a cut-off end.

A real model deviates from any format it is asked for. This module finds where the JSON starts, bounds how deep it
may nest (one linear scan, so a hostile reply cannot make a parser recurse), repairs its syntax with the maintained
``json-repair`` library (trailing commas, single quotes, comments, Python literals, missing brackets), and when the
reply stops inside a value it drops that unfinished value, so that every complete one is kept. What was repaired is
said in plain words; nothing here knows what the JSON should hold.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

import json_repair

MAX_NESTING = 32
"""Deepest nesting of arrays and objects read from a reply (the findings need four levels)."""

_SYNTAX_FAULTS = (
    ("trailing commas", re.compile(r",\s*[}\]]")),
    ("single quotes", re.compile(r"[{\[,:]\s*'")),
    ("comments", re.compile(r"(^|\s)(//|/\*|#)", re.MULTILINE)),
    ("Python's True/False/None", re.compile(r"[:\[,]\s*(True|False|None)\b")),
    ("unquoted keys", re.compile(r"[{,]\s*[A-Za-z_][\w ]*\s*:")),
    ("missing commas", re.compile(r"[\"\d}\]]\s*\n\s*\"")),
)
"""Faults a model's JSON often has, named in the repair note when the text shows them (a hint, not a parser)."""
_THINKING = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL | re.IGNORECASE)
_MARKDOWN_ESCAPE = re.compile(r"(?<!\\)\\_")
"""``\\_``: not a JSON escape, but what a model writes when it thinks in Markdown (``condition\\_score``)."""
_FENCE = re.compile(r"```[a-zA-Z]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Salvaged:
    """The JSON value found in a reply (``None`` when there is none) and what it took to read it."""

    value: Any
    repairs: tuple[str, ...] = ()
    cut_off: bool = False
    """The reply ended before the JSON was complete: its unfinished last value was dropped."""
    problem: str | None = None
    """Why no value could be read (then ``value`` is ``None``)."""


@dataclass(frozen=True)
class _Scan:
    deepest: int
    depth_at_end: int
    in_string_at_end: bool
    last_boundary: int
    """Index just past the last ``{``, ``[`` or ``,`` outside a string (where an unfinished value starts)."""
    end: int
    """Index just past the value's closing bracket (the length of the text when it never closes)."""


def salvage_json(text: str) -> Salvaged:
    """The first JSON object or array in ``text``, repaired where needed."""
    repairs: list[str] = []
    if _THINKING.search(text):
        text = _THINKING.sub("", text)
        repairs.append("the model's reasoning (<think>) was skipped")
    candidate = _candidate(text)
    if candidate is None:
        return Salvaged(None, problem="the reply holds no JSON object")
    scan = _scan(candidate)
    if scan.deepest > MAX_NESTING:
        return Salvaged(None, problem=f"the reply nests arrays or objects more than {MAX_NESTING} levels deep")
    candidate = candidate[: scan.end]  # prose after the value is not part of it
    if _MARKDOWN_ESCAPE.search(candidate):
        candidate = _MARKDOWN_ESCAPE.sub("_", candidate)
        repairs.append("Markdown escapes (\\_) read as underscores")
    cut_off = scan.depth_at_end > 0
    if cut_off and scan.in_string_at_end:
        candidate = candidate[: scan.last_boundary].rstrip().rstrip(",")
        repairs.append("the reply was cut off inside a value; that unfinished value was left out")
    elif cut_off:
        repairs.append("the reply was cut off before the JSON was complete; its open brackets were closed")
    try:
        value = json.loads(candidate, strict=False)  # strict=False: a raw newline inside a string is accepted
    except json.JSONDecodeError as error:
        value = json_repair.loads(candidate)
        if value in ("", None) or not isinstance(value, dict | list):
            return Salvaged(None, problem=f"the reply is not valid JSON ({error.msg}) and could not be repaired")
        if not cut_off:
            found = [name for name, pattern in _SYNTAX_FAULTS if pattern.search(candidate)]
            where = ", ".join(found) or f"{error.msg.lower()} at line {error.lineno}, column {error.colno}"
            repairs.append(f"JSON syntax repaired ({where})")
    return Salvaged(value, tuple(repairs), cut_off)


def _candidate(text: str) -> str | None:
    """The text from the first ``{`` or ``[`` on: inside the first code fence that holds one, else anywhere."""
    for fenced in _FENCE.findall(text):
        start = _first_bracket(fenced)
        if start is not None:
            return fenced[start:].strip()
    start = _first_bracket(text)
    if start is None:
        return None
    return text[start:].strip()


def _first_bracket(text: str) -> int | None:
    """Where the JSON starts: the first ``{``, or a ``[`` directly holding an object (a list of findings)."""
    brace = text.find("{")
    bracket = re.search(r"\[\s*\{", text)
    starts = [index for index in (brace, bracket.start() if bracket else -1) if index >= 0]
    return min(starts) if starts else None


def _scan(text: str) -> _Scan:
    """One linear pass over ``text``: nesting, and where it ends (inside a string? how deep?)."""
    depth = deepest = 0
    in_string = escaped = False
    boundary = 0
    for index, character in zip(itertools.count(), text, strict=False):
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
            boundary = index + 1
        elif character in "]}":
            depth -= 1
            if depth == 0:
                return _Scan(deepest, 0, False, index + 1, index + 1)
        elif character == ",":
            boundary = index + 1
    return _Scan(deepest, depth, in_string, boundary, len(text))
