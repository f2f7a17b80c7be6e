"""The changes since the previous inspection, as people read them: elements that became worse first, each with the
previous and the current photo side by side, both conditions and what became of each previous defect (the model's
suggestion and the inspector's decision apart); elements not inspected this time listed as such, never as repaired.
And the CSV in which the inspector decides the changes (``CHANGE_COLUMNS``), read back by ``compare --decisions``.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis.analysis import Analysis
from image_analysis.comparison import ChangeAnswer
from image_analysis.imaging.encode import thumbnail
from image_analysis.inspection.history import NOT_INSPECTED, ElementChange, years_between
from image_analysis.reinspection import ChangeDecision, Reinspection, day
from image_analysis.reports.html import render_template
from image_analysis.safe_text import clean
from image_analysis.spreadsheet import csv_text, from_cell
from image_analysis.vocabulary import CHANGES, read_change

PHOTO_SIDE = 640
"""Long side of each photo of a pair on the page: two fit side by side at 1280 px, one above the other on a phone."""
CHANGE_COLUMNS = ("element", "photo", "previous_photo", "ref", "previous_defect", "suggested", "decided", "note")
"""The changes CSV: one row per previous defect seen again; the inspector fills ``decided`` (and a ``note``)."""
NOT_DECIDED = "not decided"
NOT_COMPARABLE = "not comparable"


class ChangesFileError(ValueError):
    """A changes CSV that cannot be read: its row and column, and what to do."""


@dataclass(frozen=True)
class DefectLine:
    ref: str
    previous: str
    suggested: str
    decided: str
    by: str
    notes: str


@dataclass(frozen=True)
class PairCard:
    """One photo of this inspection beside the previous photo of its element, with the answer."""

    element: str
    previous_picture: str
    current_picture: str
    previous_caption: str
    current_caption: str
    comparable: str
    lines: tuple[DefectLine, ...]
    new_defects: tuple[str, ...]
    problem: str


@dataclass(frozen=True)
class ElementCard:
    change: ElementChange
    heading: str
    summary: str
    pairs: tuple[PairCard, ...]


def changes_page(record: Reinspection) -> str:
    """The page of the changes since the previous inspection."""
    previous_day = day(record.previous) if record.previous else ""
    cards = [_element_card(change, record) for change in record.changes if change.trend != NOT_INSPECTED]
    missing = [change for change in record.changes if change.trend == NOT_INSPECTED and change.previous is not None]
    years = years_between(previous_day, day(record.current)) if previous_day else None
    return render_template(
        "changes.html.j2",
        title=f"Changes since the inspection of {previous_day}" if previous_day else "No previous inspection",
        record=record,
        object_name=record.elements.name or record.elements.object_id,
        previous_day=previous_day,
        current_day=day(record.current),
        years=years,
        cards=cards,
        missing=missing,
        unassigned=[photo for photo in record.current.photos if not photo.element_id],
    )


def changes_csv(record: Reinspection) -> str:
    """One row per previous defect each answer speaks of (and per photo not comparable), to decide in a spreadsheet."""
    rows = []
    for answer in record.answers:
        request, found = answer.request, answer.findings
        said = {item.ref: item for item in (found.previous_defects if found else [])}
        for defect in request.defects:
            suggestion = said.get(defect["ref"])
            decided = record.decisions.get((request.current.number, defect["ref"]))
            suggested = _suggested(answer, suggestion.change if suggestion else None)
            rows.append(
                (
                    request.element_id,
                    request.current.number,
                    f"{request.previous.number} ({request.dates[0]})",
                    defect["ref"],
                    f"{defect['type']}, {defect['where']}".strip(", "),
                    suggested,
                    decided[0] if decided else "",
                    decided[1] if decided else "",
                )
            )
    return csv_text(CHANGE_COLUMNS, rows)


def read_changes_csv(text: str, source: str) -> list[ChangeDecision]:
    """The decisions a changes CSV holds (rows with ``decided`` left empty decide nothing)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [name for name in ("photo", "ref", "decided") if name not in (reader.fieldnames or [])]
    if missing:
        raise ChangesFileError(f"{source}: no column '{missing[0]}' (write it with compare --csv)")
    decisions = []
    for number, row in enumerate(reader, start=2):
        given = from_cell(row.get("decided") or "").strip()
        if not given:
            continue
        reading = read_change(given)
        if reading.value is None:
            raise ChangesFileError(
                f"{source}, row {number}, column 'decided': '{clean(given)[:40]}' is not one of {', '.join(CHANGES)}"
            )
        try:
            photo = int(str(row.get("photo") or "").strip())
        except ValueError:
            raise ChangesFileError(f"{source}, row {number}, column 'photo': not a photo number") from None
        ref = clean(from_cell(row.get("ref") or "").strip())
        decisions.append(ChangeDecision(photo, ref, reading.value, clean(from_cell(row.get("note") or "").strip())))
    return decisions


def _element_card(change: ElementChange, record: Reinspection) -> ElementCard:
    scale = record.current.scale.definition
    before = scale.shown(change.previous.condition) if change.previous else "not inspected"
    now = scale.shown(change.current.condition) if change.current else "not inspected"
    steps = "" if change.steps is None else f" ({change.steps:+d} step{'s' * (abs(change.steps) != 1)})"
    summary = f"{before} → {now}: {change.trend}{steps}"
    if change.spread:
        summary += f", {change.spread}"
    if change.flag:
        summary += f"; {change.flag}"
    pairs = tuple(_pair(answer, record) for answer in record.answers if answer.request.element_id == change.element.id)
    return ElementCard(change, change.element.label, summary, pairs)


def _pair(answer: ChangeAnswer, record: Reinspection) -> PairCard:
    request, found = answer.request, answer.findings
    said = {item.ref: item for item in (found.previous_defects if found else [])}
    lines = []
    for defect in request.defects:
        suggestion = said.get(defect["ref"])
        decided = record.decisions.get((request.current.number, defect["ref"]))
        lines.append(
            DefectLine(
                ref=defect["ref"],
                previous=f"{defect['type']}, {defect['where']}; condition {defect['condition']}".strip(", "),
                suggested=_suggested(answer, suggestion.change if suggestion else None) or "not answered",
                decided=decided[0] if decided else NOT_DECIDED,
                by=decided[2] if decided else "",
                notes=suggestion.notes if suggestion else "",
            )
        )
    comparable = {True: "yes", False: "no, not comparable", None: "not said"}[answer.comparable]
    if found and answer.comparable is False and found.not_comparable_because:
        comparable += f": {found.not_comparable_because}"
    return PairCard(
        element=request.element,
        previous_picture=_picture(request.previous),
        current_picture=_picture(request.current),
        previous_caption=f"Photo {request.previous.number} of {request.dates[0]}: {request.previous.name}",
        current_caption=f"Photo {request.current.number} of {request.dates[1]}: {request.current.name}",
        comparable=comparable,
        lines=tuple(lines),
        new_defects=tuple(
            f"{defect.type}, {defect.location}".strip(", ") for defect in (found.new_defects if found else [])
        ),
        problem=answer.error or (answer.parsed.problem or ""),
    )


def _suggested(answer: ChangeAnswer, change: str | None) -> str:
    """What the model suggests for a previous defect: "not comparable" for every defect of photos it could not
    compare (whatever it said of them after), else the change it named (empty for none)."""
    if answer.comparable is False:
        return NOT_COMPARABLE
    return change or ""


def _picture(result: Analysis) -> str:
    if result.preparation is None or not result.preparation.display.data:
        return ""
    data = thumbnail(result.preparation.display.data, PHOTO_SIDE)
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def decided_lines(record: Reinspection) -> Sequence[tuple[int, str, str]]:
    """(photo, ref, change) of every decision, for ``--json``."""
    return [(photo, ref, change) for (photo, ref), (change, _, _) in record.decisions.items()]
