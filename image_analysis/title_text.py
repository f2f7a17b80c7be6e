"""Title-block fields read from the PDF's own text layer, and checked against the model's reading.

A checker trusts what the file says over what a model read from pixels. Title blocks label their fields ("DRAWING
NO.", "REV", "SCALE", ...): each label found in the page's text layer takes as its value the text beside it on the
same line (or in the same run, "REV: C"), else the text just below it. Where the text layer gives a field, it is the
value shown ("PDF text", or "both agree" when the model read the same); a model reading that differs is kept beside
it as a problem. A scanned sheet has no text layer and keeps the model's reading, and says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis.findings import TitleBlock
from image_analysis.pdf import TextSegment

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


def fields_from_text(segments: Sequence[TextSegment]) -> dict[str, str]:
    """The title-block fields whose labels appear in the text layer, with the text beside or below each label."""
    found: dict[str, str] = {}
    for segment in segments:
        label, _, rest = segment.text.partition(":")
        field = _BY_LABEL.get(_normal(label))
        if field is None or field in found:
            continue
        value = rest.strip() or _beside(segment, segments) or _below(segment, segments)
        if value:
            found[field] = value
    return found


def region_text(segments: Sequence[TextSegment]) -> str:
    """Context for the model: the labelled fields found, then the text of the title-block region line by line."""
    left, top = TITLE_BLOCK_REGION
    inside = sorted((s for s in segments if s.x0 >= left and s.y0 >= top), key=lambda s: (round(s.y0, 2), s.x0))
    labelled = [f"{name.replace('_', ' ')}: {value}" for name, value in fields_from_text(segments).items()]
    return "\n".join([*labelled, *(segment.text for segment in inside)])


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


def _beside(label: TextSegment, segments: Sequence[TextSegment]) -> str | None:
    height = max(label.y1 - label.y0, 1e-6)
    middle = (label.y0 + label.y1) / 2
    right = [
        s
        for s in segments
        if s.x0 >= label.x1 - height * 0.2 and abs((s.y0 + s.y1) / 2 - middle) < height * 0.6 and s is not label
    ]
    nearest = min(right, key=lambda s: s.x0, default=None)
    if nearest is None or nearest.x0 - label.x1 > 12 * height or _normal(nearest.text.rstrip(":")) in _BY_LABEL:
        return None
    return nearest.text


def _below(label: TextSegment, segments: Sequence[TextSegment]) -> str | None:
    height = max(label.y1 - label.y0, 1e-6)
    under = [
        s
        for s in segments
        if s.y0 >= label.y1 - height * 0.2 and s.y0 - label.y1 < 3 * height and s.x0 < label.x1 and s.x1 > label.x0
    ]
    nearest = min(under, key=lambda s: s.y0, default=None)
    if nearest is None or _normal(nearest.text.rstrip(":")) in _BY_LABEL:
        return None
    return nearest.text


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[.:#]", " ", text).split()).lower()


def squeezed(text: str) -> str:
    """Text compared as a checker reads it: case, spaces and ``.:_-`` do not count ("S-101" is "s 101")."""
    return re.sub(r"[\s.:_-]", "", text).casefold()


def _same(first: str, second: str) -> bool:
    return squeezed(first) == squeezed(second)
