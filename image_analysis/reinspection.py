"""The same element, next time: an object's element list kept in the store, each photo of an inspection assigned
to an element, the previous inspection of the object found, each element's condition in both, the change requests
made, and the inspector's decisions on what the model suggested.

    object:<id>                 the object's elements (``inspection.elements``)
    inspection:<id>             an inspection names its object (``object_id``); each photo its element, and who said
    change-decisions:<id>       the inspector's decisions on the changes, in the order made

Nothing the model says becomes a change without the inspector: ``Change.decided`` is empty until a decision says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from image_analysis import comparison, store_keys
from image_analysis.analysis import Analysis
from image_analysis.comparison import ChangeAnswer, ChangeRequest
from image_analysis.errors import StoreError
from image_analysis.inspection.assignment import BY_INSPECTOR, PlacedPhoto, distance_m, suggest
from image_analysis.inspection.elements import ObjectElements
from image_analysis.inspection.history import ElementChange, ElementCondition, Visit, changes, element_conditions
from image_analysis.inspection.record import Inspection
from image_analysis.inspection_store import InspectionStore
from image_analysis.presets import Language
from image_analysis.review import Finding, SignOff, ai_findings
from image_analysis.safe_text import clean
from image_analysis.vocabulary import CHANGES

REPAIRED = "repaired"


# -- the element list


def keep_elements(inspections: InspectionStore, elements: ObjectElements) -> None:
    inspections.store.put(store_keys.object_elements(elements.object_id), elements.to_json())


def elements_of(inspections: InspectionStore, object_id: str) -> ObjectElements | None:
    """The object's element list as kept; ``StoreError`` when it cannot be read."""
    value = inspections.store.get(store_keys.object_elements(object_id)) if object_id else None
    if value is None:
        return None
    try:
        return ObjectElements.from_json(value)
    except (KeyError, TypeError, ValueError) as error:
        raise StoreError(f"The element list of '{object_id}' cannot be read ({error}).") from None


# -- the previous inspection


def earlier_inspections(
    inspections: InspectionStore, inspection: Inspection, also_itself: str = ""
) -> list[Inspection]:
    """The inspections of the same object before ``inspection``, oldest first (``also_itself``: another id it is
    kept under, such as an editor's copy shared with the workspace)."""
    if not inspection.object_id:
        return []
    itself = {inspection.id, also_itself}
    earlier = [
        item
        for item in inspections.all()
        if item.object_id == inspection.object_id and item.id not in itself and item.day < inspection.day
    ]
    return sorted(earlier, key=lambda item: (item.day, item.created))


def previous_inspection(
    inspections: InspectionStore, inspection: Inspection, also_itself: str = ""
) -> Inspection | None:
    """The latest inspection of the same object before ``inspection`` (``earlier_inspections``)."""
    earlier = earlier_inspections(inspections, inspection, also_itself)
    return earlier[-1] if earlier else None


def record_findings(inspections: InspectionStore, inspection: Inspection, results: Sequence[Analysis]) -> list[Finding]:
    """The inspection's findings as its record stands: reviewed where reviewed, the model's elsewhere."""
    review = inspections.review(inspection, results, SignOff())
    return review.effective(ai_findings(results))


def of_elements(inspection: Inspection) -> Inspection:
    """``inspection`` with only its photos of an element: what comparing it needs read."""
    return dataclasses.replace(inspection, photos=tuple(photo for photo in inspection.photos if photo.element_id))


def placed_photos(inspection: Inspection, results: Sequence[Analysis]) -> list[PlacedPhoto]:
    """The inspection's photos with an element and a GPS position: what a new photo at the same place is matched
    against."""
    by_number = {result.number: result for result in results}
    placed = []
    for photo in inspection.photos:
        result = by_number.get(photo.number)
        gps = result.preparation.metadata.gps if result and result.preparation else None
        if photo.element_id and gps is not None:
            placed.append(PlacedPhoto(photo.element_id, gps, f"photo {photo.number} of {inspection.day}"))
    return placed


# -- assignment


def assign(
    inspection: Inspection,
    results: Sequence[Analysis],
    elements: ObjectElements,
    previous: Sequence[PlacedPhoto] = (),
    given: Mapping[int, str] = {},
) -> Inspection:
    """Each photo's element: ``given`` by the inspector (photo number → element id), else kept when the inspector
    said so before, else suggested (``assignment.suggest``); ``StoreError``-free, pure."""
    by_number = {result.number: result for result in results}
    photos = []
    for photo in inspection.photos:
        result = by_number.get(photo.number)
        if photo.number in given:
            element = elements.get(given[photo.number])
            photo = dataclasses.replace(
                photo, element_id=element.id if element else "", element_source=BY_INSPECTOR, element_why=""
            )
        elif photo.element_source != BY_INSPECTOR and result is not None and result.preparation is not None:
            found = result.parsed.findings  # none yet for a photo not described: its name and place still tell
            model_element = str(getattr(found, "element", "") or "")
            gps = result.preparation.metadata.gps if result.preparation else None
            made = suggest(photo.names, gps, model_element, elements.elements, previous)
            photo = dataclasses.replace(
                photo,
                element_id=made.element_id if made else "",
                element_source=made.source if made else "",
                element_why=made.why if made else "",
            )
        photos.append(photo)
    return dataclasses.replace(inspection, object_id=elements.object_id, photos=tuple(photos))


ASSIGNMENT_COLUMNS = ("photo", "file", "element", "assigned_by")
"""The app's table of photos and their elements: the inspector types over ``element``; ``assigned_by`` says who."""


def assignment_rows(inspection: Inspection) -> list[dict[str, Any]]:
    """The table of photos and their elements, as the inspection holds them."""
    return [
        {
            "photo": photo.number,
            "file": photo.name,
            "element": photo.element_id,
            "assigned_by": ": ".join(part for part in (photo.element_source, photo.element_why) if part),
        }
        for photo in inspection.photos
    ]


class NotAnElement(ValueError):
    """An element id that is not on the object's list: where it was said (a table's row, a photo), and of which
    photo."""

    def __init__(self, where: str, photo: int, message: str) -> None:
        self.where, self.photo, self.message = where, photo, message
        super().__init__(f"{where}: {message}")


def from_rows(inspection: Inspection, rows: Sequence[Mapping[str, Any]], elements: ObjectElements) -> Inspection:
    """``inspection`` with each photo's element as the table's rows say: a row still carrying the suggestion it was
    filled with stays that suggestion, a row whose element was typed over (or cleared) is the inspector's, a row
    nobody filled leaves the photo as it is; ``ValueError`` naming the row whose element is not on the list."""
    said = []
    for index, row in enumerate(rows, start=1):
        try:
            number = int(row.get("photo") or 0)
        except (TypeError, ValueError):
            continue
        said.append((f"row {index}", number, str(row.get("element") or ""), str(row.get("assigned_by") or "")))
    return _assigned(inspection, said, elements)


def from_workbook(inspection: Inspection, typed: Mapping[int, str], elements: ObjectElements) -> Inspection:
    """``inspection`` with each photo's element as the findings workbook's Element column says (photo number →
    element id): one left as it was keeps who said it, one chosen or cleared there is the inspector's;
    ``ValueError`` naming the photo whose element is not on the list."""
    by_number = {photo.number: photo for photo in inspection.photos}
    said = [
        (
            f"photo {number}",
            number,
            element,
            by_number[number].element_source if element == by_number[number].element_id else BY_INSPECTOR,
        )
        for number, element in typed.items()
        if number in by_number
    ]
    return _assigned(inspection, said, elements)


def _assigned(
    inspection: Inspection, said: Sequence[tuple[str, int, str, str]], elements: ObjectElements
) -> Inspection:
    """``inspection`` with the elements ``said`` (where it was said, photo number, element id, by whom)."""
    by_number = {photo.number: photo for photo in inspection.photos}
    photos = dict(by_number)
    for where, number, given, by in said:
        photo = by_number.get(number)
        if photo is None:
            continue
        typed = clean(given.strip())
        element = elements.get(typed) if typed else None
        if typed and element is None:
            raise NotAnElement(where, number, f"'{typed[:40]}' is not an element of {elements.object_id}")
        if not typed and not by:
            continue  # nobody has said: a suggestion may still come
        kept = element is not None and element.id == photo.element_id and by.startswith(photo.element_source or "-")
        photos[number] = (
            photo
            if kept
            else dataclasses.replace(
                photo, element_id=element.id if element else "", element_source=BY_INSPECTOR, element_why=""
            )
        )
    return dataclasses.replace(inspection, object_id=elements.object_id, photos=tuple(photos.values()))


# -- the change requests


def change_requests(
    elements: ObjectElements,
    previous: Before,
    current: Inspection,
    current_results: Sequence[Analysis],
    language: Language = Language.EN,
) -> list[ChangeRequest]:
    """One request per photo of this inspection whose element the previous inspection photographed: with the
    previous photo of that element taken nearest to it (the first, without GPS), and that photo's defects. A photo
    is compared by its pixels: one the model has not described (or failed on) is compared all the same."""
    previous_findings = previous.findings
    previous_results = previous.results
    before = {result.number: result for result in previous_results if result.preparation is not None}
    now = {result.number: result for result in current_results if result.preparation is not None}
    requests = []
    for photo in current.photos:
        result = now.get(photo.number)
        if result is None or not photo.element_id:
            continue
        candidates = [
            before[item.number]
            for item in previous.inspection.photos
            if item.element_id == photo.element_id and item.number in before
        ]
        if not candidates:
            continue
        chosen = _nearest(result, candidates)
        defects = tuple(
            (
                ("ref", row.ref),
                ("type", row.defect_type),
                ("where", row.location),
                ("extent", row.extent),
                ("condition", row.condition_score),
            )
            for row in previous_findings
            if row.photo == chosen.number and row.defect_type
        )
        element = elements.get(photo.element_id)
        requests.append(
            ChangeRequest(
                element_id=photo.element_id,
                element=element.label if element else photo.element_id,
                previous=chosen,
                current=result,
                previous_defects=defects,
                dates=(previous.inspection.day, current.day),
                scale=current.scale,
                language=language,
            )
        )
    return requests


def _nearest(result: Analysis, candidates: Sequence[Analysis]) -> Analysis:
    here = result.preparation.metadata.gps if result.preparation else None
    placed = [(item, item.preparation.metadata.gps if item.preparation else None) for item in candidates]
    if here is None or not any(gps for _, gps in placed):
        return candidates[0]
    return min(placed, key=lambda pair: distance_m(here, pair[1]) if pair[1] else float("inf"))[0]


# -- the inspector's decisions on the changes


@dataclass(frozen=True)
class ChangeDecision:
    """The inspector's word on one previous defect seen again in a photo of this inspection."""

    photo: int
    ref: str
    change: str
    note: str = ""
    by: str = ""
    at: str = ""
    photo_key: str = ""
    """The photo's identity (its bytes): what the decision follows when the photos are numbered anew."""
    file: str = ""
    """The photo's file as the row that said it names it (a CSV, the app's table): which photo ``photo`` meant when
    it was written; not kept."""

    def to_json(self) -> dict[str, Any]:
        return {name: value for name, value in dataclasses.asdict(self).items() if name != "file"}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChangeDecision:
        change = str(data["change"])
        if change not in CHANGES:
            raise ValueError(f"not a change: {change!r}")
        return cls(
            photo=int(data["photo"]),
            ref=clean(str(data["ref"])),
            change=change,
            note=clean(str(data.get("note") or "")),
            by=clean(str(data.get("by") or "")),
            at=str(data.get("at") or ""),
            photo_key=str(data.get("photo_key") or ""),
        )


def change_decisions(inspections: InspectionStore, inspection_id: str) -> list[ChangeDecision]:
    value = inspections.store.get(store_keys.change_decisions(inspection_id)) or {}
    try:
        return [ChangeDecision.from_json(item) for item in value.get("decisions") or ()]
    except (KeyError, TypeError, ValueError) as error:
        raise StoreError(f"The change decisions of '{inspection_id}' cannot be read ({error}).") from None


def decide(
    inspections: InspectionStore, inspection: Inspection, given: Sequence[ChangeDecision], by: str, source: str = ""
) -> list[ChangeDecision]:
    """Keep the decisions ``given`` (photo numbers as ``inspection`` has them, each row's photo found by its file
    when the photos were numbered anew since, and left out when it is no longer there) that say something new:
    what ``source`` (the changes CSV, the app's table) did not say of that row when last read, and the record does
    not say already. The same file read twice decides nothing, and a file or table left as it was does not undo
    what another said since. The decisions made now, each with its photo's identity."""
    value = inspections.store.get(store_keys.change_decisions(inspection.id)) or {}
    kept = change_decisions(inspections, inspection.id)
    state = decided(kept, inspection)
    keys = {photo.number: photo.key for photo in inspection.photos}
    read: dict[str, Any] = value["read"] if isinstance(value.get("read"), dict) else {}
    said_before = {
        (str(item[0]), str(item[1])): (str(item[2]), str(item[3]))
        for item in read.get(source) or ()
        if isinstance(item, list) and len(item) == 4
    }
    located = [item for item in (_located(item, inspection) for item in given) if item is not None]
    now_said = {(keys[item.photo], item.ref): (item.change, item.note) for item in located}
    at = datetime.now(UTC).isoformat(timespec="seconds")
    made = [
        dataclasses.replace(item, by=by or item.by, at=at, photo_key=keys[item.photo], file="")
        for item in located
        if (state.get((item.photo, item.ref)) or (None, None))[:2] != (item.change, item.note)
        and said_before.get((keys[item.photo], item.ref)) != (item.change, item.note)
    ]
    merged = {**said_before, **now_said}  # what each row of the source said when last read
    if made or merged != said_before:
        decisions = [item.to_json() for item in [*kept, *made]]
        snapshot = [[*row, *said] for row, said in merged.items()]
        inspections.store.put(
            store_keys.change_decisions(inspection.id), {"decisions": decisions, "read": {**read, source: snapshot}}
        )
    return made


def _located(item: ChangeDecision, inspection: Inspection) -> ChangeDecision | None:
    """``item`` with the number its photo has now: by its file when the row names one that is not the photo under
    that number any more; ``None`` when the photo is not in the inspection."""
    by_number = {photo.number: photo for photo in inspection.photos}
    photo = by_number.get(item.photo)
    if not item.file or (photo is not None and item.file in photo.names):
        return item if photo is not None else None
    named = [photo for photo in inspection.photos if item.file in photo.names]
    return dataclasses.replace(item, photo=named[0].number) if len(named) == 1 else None


def decided(decisions: Sequence[ChangeDecision], inspection: Inspection) -> dict[tuple[int, str], tuple[str, str, str]]:
    """The latest decision per (photo number as ``inspection`` has it now, previous ref): its change, note and who
    decided. A decision follows its photo's identity; one about a photo no longer in the inspection is left out."""
    numbers = {photo.key: photo.number for photo in inspection.photos}
    state: dict[tuple[int, str], tuple[str, str, str]] = {}
    for item in decisions:
        number = numbers.get(item.photo_key) if item.photo_key else item.photo
        if number is not None:
            state[(number, item.ref)] = (item.change, item.note, item.by)
    return state


# -- an earlier inspection brought from another store


def import_inspection(source: InspectionStore, target: InspectionStore, inspection: Inspection) -> int:
    """Copy ``inspection`` from ``source`` into ``target`` with what it needs to be compared with: its photos'
    results, its decisions, its change decisions and its object's element list (one ``target`` already has is kept);
    how many values were copied. ``StoreError`` when either store fails, or a photo's result is missing."""
    values = [(photo.result, source.store.get(photo.result)) for photo in inspection.photos if photo.result]
    missing = [key for key, value in values if value is None]
    if missing:
        raise StoreError(f"the inspection {inspection.label} lacks a photo's result in its store ({missing[0]})")
    keys = [store_keys.decisions(inspection.id), store_keys.change_decisions(inspection.id)]
    if inspection.object_id and target.store.get(store_keys.object_elements(inspection.object_id)) is None:
        keys.append(store_keys.object_elements(inspection.object_id))
    values += [(key, value) for key in keys if (value := source.store.get(key)) is not None]
    for key, value in values:
        target.store.put(key, value)  # type: ignore[arg-type]
    target.save(inspection)
    return len(values) + 1


# -- the previous inspection and the object's history, read once


@dataclass(frozen=True)
class Before:
    """What the store keeps of the object before an inspection: the previous inspection with its element photos'
    results and their findings as its record stands, and each element's visits in every earlier inspection, oldest
    first."""

    inspection: Inspection
    results: tuple[Analysis, ...]
    findings: tuple[Finding, ...]
    earlier: dict[str, list[Visit]]
    unreadable: tuple[str, ...] = ()
    """Earlier inspections left out of the history: their results cannot be read (each with why)."""


def before(
    inspections: InspectionStore, current: Inspection, also_itself: str = "", previous: Inspection | None = None
) -> Before | None:
    """The previous inspection of ``current``'s object (``previous`` when given, else the latest earlier one) and
    the object's history, each inspection read once; ``None`` when there is none. ``StoreError`` when the previous
    inspection cannot be read; an older one that cannot be read is left out of the history and named."""
    earlier = earlier_inspections(inspections, current, also_itself)
    previous = previous or (earlier[-1] if earlier else None)
    if previous is None:
        return None
    scale = current.scale.definition
    visits: dict[str, list[Visit]] = {}
    unreadable: list[str] = []
    kept: tuple[tuple[Analysis, ...], tuple[Finding, ...]] = ((), ())
    chosen = {item.id: item for item in [*earlier, previous] if item.day < current.day or item.id == previous.id}
    for inspection in sorted(chosen.values(), key=lambda item: (item.day, item.created)):
        try:  # only the photos of an element: an earlier campaign of thousands of photos is not read whole
            results = tuple(inspections.results(of_elements(inspection)))
            findings = tuple(record_findings(inspections, of_elements(inspection), results))
        except StoreError as error:
            if inspection.id == previous.id:
                raise
            unreadable.append(f"{inspection.label}: {error}")
            continue
        if inspection.id == previous.id:
            kept = (results, findings)
        for element_id, condition in element_conditions(inspection, findings, scale).items():
            visits.setdefault(element_id, []).append(_visit(inspection, condition))
    return Before(previous, *kept, visits, tuple(unreadable))


def _visit(inspection: Inspection, condition: ElementCondition) -> Visit:
    names = {photo.number: photo.name for photo in inspection.photos}
    return Visit(inspection.day, condition.condition, inspection.inspector, tuple(names[n] for n in condition.photos))


# -- the whole comparison


@dataclass(frozen=True)
class Reinspection:
    """An inspection beside the previous one of its object: each element's condition in both and the change."""

    elements: ObjectElements
    current: Inspection
    previous: Inspection | None
    current_conditions: dict[str, ElementCondition]
    previous_conditions: dict[str, ElementCondition]
    changes: tuple[ElementChange, ...]
    answers: tuple[ChangeAnswer, ...]
    decisions: dict[tuple[int, str], tuple[str, str, str]]
    current_results: tuple[Analysis, ...]
    previous_results: tuple[Analysis, ...]
    history: dict[str, tuple[Visit, ...]] = dataclasses.field(default_factory=dict)
    """Each element's visits over every inspection of the object kept, oldest first (``histories``)."""


def reinspection(
    elements: ObjectElements,
    current: Inspection,
    current_results: Sequence[Analysis],
    current_findings: Sequence[Finding],
    previous: Before | None,
    answers: Sequence[ChangeAnswer] = (),
    decisions: Sequence[ChangeDecision] = (),
) -> Reinspection:
    """The comparison as the reports show it: the conditions and changes, the answers with their decisions, and each
    element's history (the earlier visits of ``previous`` and this one)."""
    scale = current.scale.definition
    now = element_conditions(current, current_findings, scale)
    then = element_conditions(previous.inspection, previous.findings, scale) if previous is not None else {}
    state = decided(decisions, current)
    repaired = frozenset(
        photo.element_id
        for photo in current.photos
        for (number, _), (change, _, _) in state.items()
        if number == photo.number and change == REPAIRED
    )
    earlier = previous.earlier if previous is not None else {}
    return Reinspection(
        elements=elements,
        current=current,
        previous=previous.inspection if previous is not None else None,
        current_conditions=now,
        previous_conditions=then,
        changes=tuple(changes(elements.elements, then, now, scale, repaired)),
        answers=tuple(answers),
        decisions=state,
        current_results=tuple(current_results),
        previous_results=previous.results if previous is not None else (),
        history={
            key: tuple(sorted((*earlier.get(key, ()), *([_visit(current, now[key])] if key in now else [])), key=_day))
            for key in {*earlier, *now}
        },
    )


def as_kept(
    inspections: InspectionStore,
    current: Inspection,
    current_results: Sequence[Analysis],
    current_findings: Sequence[Finding],
    model_name: str,
    previous_id: str = "",
) -> Reinspection | None:
    """The comparison of ``current`` with the previous inspection of its object as the store keeps it: the answers
    ``model_name`` gave (in any language) and the decisions kept, nothing sent (without an earlier inspection: each
    element inspected the first time). The previous inspection is ``previous_id`` when the store has it, else the
    latest earlier one. ``None`` when the inspection names no object or its element list is not kept.
    ``StoreError`` when what is kept cannot be read."""
    elements = elements_of(inspections, current.object_id)
    if elements is None:
        return None
    chosen = inspections.get(previous_id) if previous_id else None
    previous = before(inspections, current, previous=chosen)
    requests = change_requests(elements, previous, current, current_results) if previous else []
    found = (comparison.kept(request, model_name, inspections.store, any_language=True) for request in requests)
    answers = [answer for answer in found if answer is not None]
    decisions = change_decisions(inspections, current.id)
    return reinspection(elements, current, current_results, current_findings, previous, answers, decisions)


def _day(visit: Visit) -> str:
    return visit.day
