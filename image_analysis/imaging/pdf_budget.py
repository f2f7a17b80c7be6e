"""What a PDF page would cost to load, estimated from the file's own bytes before PDFium sees it.

PDFium parses a page's whole content, nested forms included, when the page is loaded: a few kB can draw one form a
billion times or inflate to gigabytes. In a child process (``isolation``) the kernel bounds that; where no child can
be started, ``check`` bounds it here first, in linear time and constant memory:

- every Flate stream is inflated a chunk at a time and only counted (at most ``MAX_INFLATED_BYTES`` in all);
- each stream's operators are counted, and its ``Do`` operators by resource name; a form's names are resolved through
  the ``/XObject`` dictionary in its own stream dictionary, and the cost of a form is its operators plus the cost of
  every form it draws (memoized, so each form is costed once). A name that cannot be resolved costs as much as the
  costliest form; a page's content streams draw from any form. More than ``MAX_OPERATIONS`` refuses the file.

The estimate errs on the side of refusing: an in-process render is the fallback, never the rule.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field

MAX_INFLATED_BYTES = 128 * 2**20
MAX_OPERATIONS = 20_000_000
_CHUNK = 1 << 16
_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_OBJECT = re.compile(rb"(\d+)\s+\d+\s+obj\b")
_DO = re.compile(rb"/([^\s/<>\[\]()]+)\s*Do\b")
_XOBJECTS = re.compile(rb"/XObject\s*<<(.*?)>>", re.S)
_REFERENCE = re.compile(rb"/([^\s/<>\[\]()]+)\s+(\d+)\s+\d+\s+R")


class TooCostly(Exception):
    """The page would cost more than the in-process budget: ``what`` is ``"memory"`` or ``"time"``."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass
class _Stream:
    number: int | None
    is_form: bool
    names: dict[bytes, int]
    operations: int = 0
    draws: Counter[bytes] = field(default_factory=Counter)


def check(data: bytes) -> None:
    """Raise ``TooCostly`` when loading a page of ``data`` could pass the in-process budget."""
    streams = list(_streams(data))
    forms = {stream.number: stream for stream in streams if stream.is_form and stream.number is not None}
    costs: dict[int, int] = {}

    def cost(number: int, depth: int = 0) -> int:
        if number in costs:
            return costs[number]
        if depth > 32:
            raise TooCostly("time")  # forms nested past any real drawing, or drawing themselves
        stream = forms[number]
        costs[number] = MAX_OPERATIONS + 1  # a form that draws itself is refused
        total = stream.operations
        for name, times in stream.draws.items():
            target = stream.names.get(name)
            total += times * (cost(target, depth + 1) if target in forms else worst)
            if total > MAX_OPERATIONS:
                break
        costs[number] = total
        return total

    worst = 1
    for number in forms:
        worst = max(worst, cost(number))
        if worst > MAX_OPERATIONS:
            raise TooCostly("time")
    page = sum(stream.operations + sum(stream.draws.values()) * worst for stream in streams if not stream.is_form)
    if page > MAX_OPERATIONS:
        raise TooCostly("time")


def _streams(data: bytes):
    inflated = 0
    for match in _STREAM.finditer(data):
        head = data[max(0, match.start() - 4096) : match.start()]
        dictionary = head[head.rfind(b"obj") + 3 :] if b"obj" in head else head
        objects = list(_OBJECT.finditer(head))
        number = int(objects[-1].group(1)) if objects else None
        is_form = b"/Form" in dictionary
        names = {}
        for block in _XOBJECTS.findall(dictionary):
            names.update({name: int(target) for name, target in _REFERENCE.findall(block)})
        stream = _Stream(number, is_form, names)
        chunks = _inflate(data, match.end()) if b"/Filter" in dictionary else _raw(data, match.end())
        for chunk in chunks:
            inflated += len(chunk)
            if inflated > MAX_INFLATED_BYTES:
                raise TooCostly("memory")
            stream.operations += (chunk.count(b"\n") + chunk.count(b" ")) // 2
            stream.draws.update(_DO.findall(chunk))
        yield stream


def _raw(data: bytes, start: int):
    """An unfiltered stream's bytes, a chunk at a time, up to its ``endstream``."""
    end = data.find(b"endstream", start)
    end = len(data) if end < 0 else end
    for position in range(start, end, _CHUNK):
        yield data[position : min(end, position + _CHUNK)]


def _inflate(data: bytes, start: int):
    """The stream at ``start`` inflated a chunk at a time (nothing for a stream that is not Flate data)."""
    decompressor = zlib.decompressobj()
    position = start
    try:
        while position < len(data) and not decompressor.eof:
            pending = data[position : position + _CHUNK]
            position += _CHUNK
            while pending:
                out = decompressor.decompress(pending, _CHUNK * 16)
                if out:
                    yield out
                pending = decompressor.unconsumed_tail
            if decompressor.eof:
                return
    except zlib.error:
        return
