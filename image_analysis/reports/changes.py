"""The changes since the previous inspection, as people read them: elements that became worse first, each with the
previous and the current photo side by side, both conditions and what became of each previous defect (the model's
suggestion and the inspector's decision apart); elements not inspected this time listed as such, never as repaired.
And the CSV in which the inspector decides the changes (``CHANGE_COLUMNS``), read back by ``compare --decisions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from image_analysis.analysis import Analysis
from image_analysis.comparison import ChangeAnswer
from image_analysis.formats.findings_workbook import ElementColumns, PhotoElement
from image_analysis.imaging.encode import thumbnail
from image_analysis.inspection.history import NOT_INSPECTED, WORSE, ElementChange, history_line, years_between
from image_analysis.reinspection import ChangeDecision, Reinspection
from image_analysis.reports.document import ChangedElement, ChangesSection, Column, PhotoPair, Table
from image_analysis.reports.html import render_template
from image_analysis.safe_text import clean
from image_analysis.spreadsheet import csv_text, decoded, dict_rows, from_cell
from image_analysis.vocabulary import CHANGES

PHOTO_SIDE = 640
"""Long side of each photo of a pair on the page: two fit side by side at 1280 px, one above the other on a phone."""
CHANGE_COLUMNS = (
    "element",
    "photo",
    "file",
    "previous_photo",
    "ref",
    "previous_defect",
    "suggested",
    "decided",
    "note",
)
"""The changes CSV: one row per previous defect seen again; the inspector fills ``decided`` (and a ``note``)."""
NOT_DECIDED = "not decided"
NOT_COMPARABLE = "not comparable"


class ChangesFileError(ValueError):
    """A changes CSV that cannot be read: its row and column, and what to do."""


YARDSTICK = (
    "An element's change is the difference between its condition at the two inspections, each as its record holds "
    "it. A change of one step is within the spread between inspectors (FHWA-RD-01-020, 49 bridge inspectors rating "
    "the same elements: 68 % of ratings within one step of their average); two or more are beyond it. What the model "
    "suggests became of each previous defect is only a suggestion until the inspector decides it."
)
DEFECT_COLUMNS = (
    Column("Previous defect", unbroken=True),
    Column("What it was"),
    Column("The model suggests"),
    Column("The inspector decided"),
    Column("The model's reasons (not checked)"),
)


def changes_section(record: Reinspection) -> ChangesSection:
    """The section every report of the comparison shows, worded once: the page, the Word report."""
    scale = record.current.scale.definition
    previous_day = record.previous.day if record.previous else ""
    years = years_between(previous_day, record.current.day) if previous_day else None
    between = f", {years:g} year{'s' * (years != 1)} before" if years is not None else ""
    counts = f"{record.elements.name or record.elements.object_id} · this inspection {record.current.day}"
    if previous_day:
        counts += f" · the previous {previous_day}{between}"
    columns = (
        Column("Element"),
        Column(f"Previous ({previous_day})" if previous_day else "Previous"),
        Column(f"Now ({record.current.day})"),
        Column("Change"),
        Column("Note"),
    )
    rows = tuple(
        (
            change.element.label,
            scale.shown(change.previous.condition) if change.previous else "not inspected",
            scale.shown(change.current.condition) if change.current else "not inspected",
            _trend(change),
            "; ".join(part for part in (change.spread, change.flag) if part),
        )
        for change in record.changes
    )
    marks = tuple("worse" if change.trend == WORSE else "" for change in record.changes)
    missing = tuple(
        f"{change.element.label} (condition {scale.shown(change.previous.condition)} on {previous_day})"
        for change in record.changes
        if change.trend == NOT_INSPECTED and change.previous is not None
    )
    return ChangesSection(
        title=f"Changes since the inspection of {previous_day}" if previous_day else "No previous inspection",
        counts=counts,
        yardstick=YARDSTICK,
        elements=Table(columns, rows, "elements", marks),
        changed=tuple(_changed(change, record) for change in record.changes if change.trend != NOT_INSPECTED),
        not_inspected_title="Not inspected this time",
        not_inspected=missing,
        unassigned=tuple(
            f"Photo {photo.number}: {photo.name}" for photo in record.current.photos if not photo.element_id
        ),
    )


def element_columns(record: Reinspection) -> ElementColumns:
    """The findings workbook's element columns: each photo's element, the element's condition at the previous
    inspection and its change since (as the elements' table says them), and the object's elements to choose from."""
    scale = record.current.scale.definition
    by_element = {change.element.id: change for change in record.changes}
    photos = {}
    for photo in record.current.photos:
        change = by_element.get(photo.element_id)
        previous = change.previous if change else None
        photos[photo.number] = PhotoElement(
            photo.element_id,
            f"{scale.shown(previous.condition)} on {record.previous.day}" if previous and record.previous else "",
            "; ".join(part for part in (_trend(change), change.spread, change.flag) if part) if change else "",
        )
    return ElementColumns(record.elements.object_id, tuple(item.id for item in record.elements.elements), photos)


def changes_page(record: Reinspection | ChangesSection) -> str:
    """The page of the changes since the previous inspection (of its section, when it is made already)."""
    section = record if isinstance(record, ChangesSection) else changes_section(record)
    return render_template("changes.html.j2", title=section.title, section=section)


def change_rows(record: Reinspection) -> list[dict[str, Any]]:
    """One row per previous defect each answer speaks of (``CHANGE_COLUMNS``): the model's suggestion and the
    inspector's decision so far; the changes CSV's rows and the app's table of changes to decide."""
    rows = []
    for answer in record.answers:
        request, found = answer.request, answer.findings
        said = {item.ref: item for item in (found.previous_defects if found else [])}
        for defect in request.defects:
            suggestion = said.get(defect["ref"])
            decided = record.decisions.get((request.current.number, defect["ref"]))
            values = (
                request.element_id,
                request.current.number,
                request.current.name,
                f"{request.previous.number} ({request.dates[0]})",
                defect["ref"],
                f"{defect['type']}, {defect['where']}".strip(", "),
                _suggested(answer, suggestion.change if suggestion else None),
                decided[0] if decided else "",
                decided[1] if decided else "",
            )
            rows.append(dict(zip(CHANGE_COLUMNS, values, strict=True)))
    return rows


def changes_csv(record: Reinspection) -> str:
    """The changes to decide in a spreadsheet (``change_rows``); read back by ``read_changes_csv``."""
    return csv_text(CHANGE_COLUMNS, [[row[name] for name in CHANGE_COLUMNS] for row in change_rows(record)])


def read_changes_csv(data: bytes, source: str) -> list[ChangeDecision]:
    """The decisions a changes CSV holds, as a spreadsheet saved it (``spreadsheet.decoded``, ``separator``); rows
    with ``decided`` left empty decide nothing."""
    reader = dict_rows(decoded(data))
    missing = [name for name in ("photo", "ref", "decided") if name not in (reader.fieldnames or [])]
    if missing:
        raise ChangesFileError(f"{source}: no column '{missing[0]}' (write it with compare --csv)")
    rows = ({name: from_cell(value or "") for name, value in row.items() if name} for row in reader)
    return decisions_from_rows(rows, source, first=2)


def decisions_from_rows(rows: Iterable[Mapping[str, Any]], source: str, first: int = 1) -> list[ChangeDecision]:
    """The decisions rows of ``CHANGE_COLUMNS`` make (a row whose ``decided`` is empty decides nothing);
    ``ChangesFileError`` naming ``source``, the row (the first numbered ``first``) and the column."""
    decisions = []
    for number, row in enumerate(rows, start=first):
        given = str(row.get("decided") or "").strip()
        if not given:
            continue
        reading = " ".join(given.lower().split())  # the inspector's word as written: "not repaired" is no repair
        if reading not in CHANGES:
            raise ChangesFileError(
                f"{source}, row {number}, column 'decided': '{clean(given)[:40]}' is not one of {', '.join(CHANGES)}"
            )
        try:
            photo = int(str(row.get("photo") or "").strip())
        except ValueError:
            raise ChangesFileError(f"{source}, row {number}, column 'photo': not a photo number") from None
        ref = clean(str(row.get("ref") or "").strip())
        note, file = (clean(str(row.get(name) or "").strip()) for name in ("note", "file"))
        decisions.append(ChangeDecision(photo, ref, reading, note, file=file))
    return decisions


def _changed(change: ElementChange, record: Reinspection) -> ChangedElement:
    scale = record.current.scale.definition
    before = scale.shown(change.previous.condition) if change.previous else "not inspected"
    now = scale.shown(change.current.condition) if change.current else "not inspected"
    summary = f"{before} → {now}: {_trend(change)}"
    if change.spread:
        summary += f", {change.spread}"
    if change.flag:
        summary += f"; {change.flag}"
    pairs = tuple(_pair(answer, record) for answer in record.answers if answer.request.element_id == change.element.id)
    no_pair = ""
    if not pairs:
        no_pair = "No photo pair: " + (
            "the element was not photographed before." if change.previous is None else "no change request was made."
        )
    visits = record.history.get(change.element.id, ())
    history = f"History: {history_line(visits, scale)}" if len(visits) > 2 else ""
    return ChangedElement(change.element.label, summary, change.trend == WORSE, pairs, no_pair, history)


def _pair(answer: ChangeAnswer, record: Reinspection) -> PhotoPair:
    request, found = answer.request, answer.findings
    said = {item.ref: item for item in (found.previous_defects if found else [])}
    rows = []
    for defect in request.defects:
        suggestion = said.get(defect["ref"])
        decided = record.decisions.get((request.current.number, defect["ref"]))
        rows.append(
            (
                f"{defect['ref']} of {request.dates[0]}",
                f"{defect['type']}, {defect['where']}; condition {defect['condition']}".strip(", "),
                _suggested(answer, suggestion.change if suggestion else None) or "not answered",
                _decided(decided),
                suggestion.notes if suggestion else "",
            )
        )
    comparable = {True: "yes", False: "no, not comparable", None: "not said"}[answer.comparable]
    if found and answer.comparable is False and found.not_comparable_because:
        comparable += f": {found.not_comparable_because}"
    new = [f"{defect.type}, {defect.location}".strip(", ") for defect in (found.new_defects if found else [])]
    return PhotoPair(
        previous=_picture(request.previous),
        current=_picture(request.current),
        previous_caption=f"Previous, {request.dates[0]}: photo {request.previous.number}, {request.previous.name}",
        current_caption=f"This inspection, {request.dates[1]}: photo {request.current.number}, {request.current.name}",
        comparable=f"Comparable: {comparable}",
        defects=Table(DEFECT_COLUMNS, tuple(rows), "previous-defects") if rows else None,
        new_defects=f"New defects the model suggests: {'; '.join(new)}" if new else "",
        problem=f"No answer read: {answer.error or answer.parsed.problem}"
        if answer.error or answer.parsed.problem
        else "",
    )


def _trend(change: ElementChange) -> str:
    """ "worse by 2 steps", "unchanged", "not inspected"."""
    if not change.steps:
        return change.trend
    count = abs(change.steps)
    return f"{change.trend} by {count} step{'s' * (count != 1)}"


def _decided(decided: tuple[str, str, str] | None) -> str:
    """The inspector's decision on a defect, who made it and why ("not decided" until then)."""
    if decided is None:
        return NOT_DECIDED
    change, note, by = decided
    return change + (f" ({by})" if by else "") + (f": {note}" if note else "")


def _suggested(answer: ChangeAnswer, change: str | None) -> str:
    """What the model suggests for a previous defect: "not comparable" for every defect of photos it could not
    compare (whatever it said of them after), else the change it named (empty for none)."""
    if answer.comparable is False:
        return NOT_COMPARABLE
    return change or ""


def _picture(result: Analysis) -> bytes:
    if result.preparation is None or not result.preparation.display.data:
        return b""
    return thumbnail(result.preparation.display.data, PHOTO_SIDE)
