"""Title-block fields read from the PDF's own text layer, and checked against the model's reading.

A checker trusts what the file says over what a model read from pixels. Title blocks label their fields ("DRAWING
NO.", "REV", "SCALE", ...): each label found in the page's text layer takes as its value the text beside it on the
same line (or in the same run, "REV: C"), else the text just below it. Where the text layer gives a field, it is the
value shown ("PDF text", or "both agree" when the model read the same); a model reading that differs is kept beside
it as a problem. A scanned sheet has no text layer and keeps the model's reading, and says so.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis.findings import TitleBlock
from image_analysis.imaging.pdf import TextSegment

LABELS: dict[str, tuple[str, ...]] = {
    "drawing_number": ("drawing no", "drawing number", "dwg no", "drawing nr", "document no", "document number"),
    "title": ("title", "drawing title"),
    "revision": ("rev", "revision"),
    "date_of_issue": ("date", "date of issue", "issue date", "issued"),
    "scale": ("scale",),
    "status": ("status",),
    "sheet": ("sheet", "sheet no"),
    "creator": ("drawn", "drawn by", "created by", "author"),
    "approver": ("approved", "approved by", "checked", "checked by"),
    "owner": ("owner", "client", "legal owner"),
    "document_type": ("document type", "doc type"),
}
_BY_LABEL = {label: field for field, labels in LABELS.items() for label in labels}
TITLE_BLOCK_REGION = (0.45, 0.55)
"""Where ISO 7200 puts the title block: right of this fraction of the width, below this fraction of the height."""


@dataclass(frozen=True)
class CheckedField:
    """One title-block field: the value shown, where it comes from, and the model's reading when it differs."""

    name: str
    value: str | None
    source: str
    """"PDF text", "both agree", "model" (no text for it) or "model (scanned sheet)"."""
    model_reading: str | None = None


MAX_LABELS = 200
"""Labelled fields taken from one title block (a real one has a few dozen): the search stays bounded whatever a
page holds (a sheet with 20,000 "REV" labels)."""
TABLE_HEADERS = ("rev", "revision", "date", "description", "by", "chk", "checked", "app", "appd", "approved")
"""Column headings of a revision table: a line of three or more of them is a table's header, not three fields."""
_GRID = 6


def title_block(segments: Sequence[TextSegment]) -> tuple[TextSegment, ...]:
    """The text of the title block: where the labelled fields cluster (the densest part of a coarse grid over the
    sheet, the lower right on a tie, as ISO 7200 places it), with the values beside and below its labels. A label
    elsewhere on the sheet (a detail's "SCALE 1:20") is not the title block's."""
    labels = [segment for segment in segments if _label(segment) is not None]
    if not labels:
        return ()
    cells = Counter(_cell(segment) for segment in labels)
    windows = {
        (column, row): sum(cells[(column + dx, row + dy)] for dx in (0, 1) for dy in (0, 1))
        for column in range(_GRID - 1)
        for row in range(_GRID - 1)
    }
    column, row = max(windows, key=lambda window: (windows[window], window[0] + window[1]))
    inside = [
        segment
        for segment in labels
        if column <= _cell(segment)[0] <= column + 1 and row <= _cell(segment)[1] <= row + 1
    ]
    x0 = min(segment.x0 for segment in inside) - 0.01
    y0 = min(segment.y0 for segment in inside) - 0.01
    x1 = max(segment.x1 for segment in inside) + 0.15
    y1 = max(segment.y1 for segment in inside) + 0.06
    return tuple(segment for segment in segments if x0 <= _middle_x(segment) <= x1 and y0 <= _middle_y(segment) <= y1)


def fields_from_text(segments: Sequence[TextSegment]) -> dict[str, str]:
    """The title-block fields whose labels appear in the title block (``title_block``), with the text beside or
    below each label; a revision table gives the revision and date of its latest row where the title block has no
    field of its own for them."""
    block = sorted(title_block(segments), key=lambda segment: (round(segment.y0, 3), segment.x0))
    rows = _Rows(block)
    headers = _table_headers(block, rows)
    found: dict[str, str] = {}
    for segment in [segment for segment in block if _label(segment) is not None][:MAX_LABELS]:
        if segment in headers:
            continue
        label, _, rest = segment.text.partition(":")
        field = _BY_LABEL[_normal(label)]
        if field in found:
            continue
        value = rest.strip() or _beside(segment, rows) or _below(segment, rows)
        if value:
            found[field] = value
    latest = _latest_revision(headers, rows)
    for field, value in latest.items():
        found.setdefault(field, value)
    return found


def region_text(segments: Sequence[TextSegment]) -> str:
    """Context for the model: the labelled fields found, then the text of the title block line by line."""
    block = sorted(title_block(segments), key=lambda segment: (round(segment.y0, 2), segment.x0))
    labelled = [f"{name.replace('_', ' ')}: {value}" for name, value in fields_from_text(segments).items()]
    return "\n".join([*labelled, *(segment.text for segment in block)])


def revision_order(text: str) -> tuple[int, str]:
    """How revisions sort: by their number when they have one (2 < 10), else by their letters (A < B < C)."""
    digits = re.sub(r"\D", "", text)
    return (int(digits), "") if digits else (0, text.strip().upper())


def check(model: TitleBlock, segments: Sequence[TextSegment] | None) -> list[CheckedField]:
    """Each title-block field, taken from the text layer where it has it; ``segments`` ``None`` is not a PDF."""
    from_text = fields_from_text(segments) if segments else {}
    checked = []
    for name in TitleBlock.model_fields:
        read = getattr(model, name)
        text = from_text.get(name)
        if text is None:
            scanned = segments is not None and not segments
            checked.append(CheckedField(name, read, "model (scanned sheet)" if scanned else "model"))
        elif read is not None and _same(read, text):
            checked.append(CheckedField(name, text, "both agree"))
        else:
            checked.append(CheckedField(name, text, "PDF text", read))
    return checked


class _Rows:
    """Segments sorted by their top edge, so that what lies beside or below a label is found by bisection, not by
    looking at every segment again."""

    def __init__(self, segments: Sequence[TextSegment]) -> None:
        self.segments = sorted(segments, key=lambda segment: segment.y0)
        self.tops = [segment.y0 for segment in self.segments]

    def between(self, top: float, bottom: float) -> list[TextSegment]:
        return self.segments[bisect.bisect_left(self.tops, top) : bisect.bisect_right(self.tops, bottom)]


def _beside(label: TextSegment, rows: _Rows) -> str | None:
    height = max(label.y1 - label.y0, 1e-6)
    middle = (label.y0 + label.y1) / 2
    right = [
        s
        for s in rows.between(label.y0 - height, label.y1)
        if s.x0 >= label.x1 - height * 0.2 and abs(_middle_y(s) - middle) < height * 0.6 and s is not label
    ]
    nearest = min(right, key=lambda s: s.x0, default=None)
    if nearest is None or nearest.x0 - label.x1 > 12 * height or _label(nearest.text.rstrip(":")) is not None:
        return None
    return nearest.text


def _below(label: TextSegment, rows: _Rows) -> str | None:
    height = max(label.y1 - label.y0, 1e-6)
    under = [
        s
        for s in rows.between(label.y1 - height * 0.2, label.y1 + 3 * height)
        if s.x0 < label.x1 and s.x1 > label.x0 and s is not label
    ]
    nearest = min(under, key=lambda s: s.y0, default=None)
    if nearest is None or _label(nearest.text.rstrip(":")) is not None:
        return None
    return nearest.text


def _table_headers(block: Sequence[TextSegment], rows: _Rows) -> set[TextSegment]:
    """The headings of a revision table: three or more table headings on one line, one of them REV."""
    headers: set[TextSegment] = set()
    for segment in block:
        if _normal(segment.text) not in ("rev", "revision") or segment in headers:
            continue
        height = max(segment.y1 - segment.y0, 1e-6)
        line = [
            s
            for s in rows.between(segment.y0 - height, segment.y1)
            if abs(_middle_y(s) - _middle_y(segment)) < height * 0.6 and _normal(s.text) in TABLE_HEADERS
        ]
        if len(line) >= 3:
            headers.update(line)
    return headers


def _latest_revision(headers: set[TextSegment], rows: _Rows) -> dict[str, str]:
    """The revision and date of a revision table's latest row (its highest revision)."""
    rev = next((s for s in headers if _normal(s.text) in ("rev", "revision")), None)
    if rev is None:
        return {}
    when = next((s for s in headers if _normal(s.text) == "date" and abs(_middle_y(s) - _middle_y(rev)) < 0.01), None)
    height = max(rev.y1 - rev.y0, 1e-6)
    column = [s for s in rows.between(rev.y0 - 40 * height, rev.y1 + 40 * height) if s not in headers]
    entries = [s for s in column if s.x0 < rev.x1 + height and s.x1 > rev.x0 - height and _label(s) is None]
    entries = [s for s in entries if re.fullmatch(r"[A-Z]{1,2}|\d{1,3}|[A-Z]?\d{1,3}", s.text.strip(), re.IGNORECASE)]
    if not entries:
        return {}
    latest = max(entries, key=lambda s: revision_order(s.text))
    found = {"revision": latest.text.strip()}
    if when is not None:
        dates = [
            s
            for s in column
            if abs(_middle_y(s) - _middle_y(latest)) < height * 0.6
            and s.x0 < when.x1 + height
            and s.x1 > when.x0 - height
        ]
        if dates:
            found["date_of_issue"] = dates[0].text.strip()
    return found


def _label(segment: TextSegment | str) -> str | None:
    """The field a segment labels ("REV", "SCALE:", "DRAWING NO. S-101" up to its colon), or ``None``."""
    text = segment if isinstance(segment, str) else segment.text
    return _BY_LABEL.get(_normal(text.partition(":")[0]))


def _cell(segment: TextSegment) -> tuple[int, int]:
    return min(_GRID - 1, int(_middle_x(segment) * _GRID)), min(_GRID - 1, int(_middle_y(segment) * _GRID))


def _middle_x(segment: TextSegment) -> float:
    return (segment.x0 + segment.x1) / 2


def _middle_y(segment: TextSegment) -> float:
    return (segment.y0 + segment.y1) / 2


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[.:#]", " ", text).split()).lower()


def squeezed(text: str) -> str:
    """Text compared as a checker reads it: case, spaces and ``.:_-`` do not count ("S-101" is "s 101")."""
    return re.sub(r"[\s.:_-]", "", text).casefold()


def _same(first: str, second: str) -> bool:
    return squeezed(first) == squeezed(second)
