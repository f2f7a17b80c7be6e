"""The review as decisions: what the inspector decided on each finding, by whom, when and through what.

The spreadsheets and the app's table are editors of the record; what is kept is the list of decisions, each on one
finding (``identity.finding_id``): **confirmed** (the model's finding as it stands, maybe with a note), **edited**
(its values after), **added** (a finding of the inspector's own), **deleted** (taken out; an added one leaves the
record), **restored** (back to the model's, not reviewed). The latest decision on a finding is its state; reading a
review the record already holds decides nothing (``changes`` is empty), so the same workbook read twice changes
nothing.

``review_of`` makes the ``Review`` every report takes from the decisions, each photo's findings in a fixed order (the
model's by their number, then the inspector's): a spreadsheet's sorting does not reorder a report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from image_analysis.analysis import Analysis
from image_analysis.inspection.identity import AI, OWN, finding_id, split_finding_id
from image_analysis.inspection.record import DESCRIBED, REVIEWED, SIGNED, Inspection
from image_analysis.review import (
    ADDED,
    AI_CONFIRMED,
    AI_NOT_REVIEWED,
    DELETED,
    EDITED,
    Finding,
    Review,
    SignOff,
    ai_findings,
    carried_over,
    defect_number,
    finding_ref,
    model_scores,
)
from image_analysis.safe_text import clean

CONFIRMED, EDIT, ADD, DELETE, RESTORED = "confirmed", "edited", "added", "deleted", "restored"
ACTIONS = (CONFIRMED, EDIT, ADD, DELETE, RESTORED)
VIA_WORKBOOK, VIA_CSV, VIA_TABLE = "findings workbook", "findings CSV", "app review table"
VIA_OPTIONS = "command line"
"""Through what a decision, or a sign-off, was given."""

VALUES = tuple(name for name in Finding.__dataclass_fields__ if name not in ("photo", "file", "status", "ref"))
"""What a decision keeps of a finding: every field the inspector may set (the photo is the finding id's)."""
_ORIGIN = {CONFIRMED: AI_CONFIRMED, EDIT: EDITED, ADD: ADDED}


@dataclass(frozen=True)
class Decision:
    """One decision on one finding."""

    finding: str
    action: str
    values: tuple[tuple[str, str], ...] = ()
    by: str = ""
    at: str = ""
    via: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "values": dict(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        action = str(data["action"])
        if action not in ACTIONS:
            raise ValueError(f"not a decision: {action!r}")
        split_finding_id(str(data["finding"]))
        values = data.get("values") or {}
        return cls(
            finding=str(data["finding"]),
            action=action,
            values=tuple((name, clean(str(values.get(name) or ""))) for name in VALUES),
            by=clean(str(data.get("by") or "")),
            at=str(data.get("at") or ""),
            via=clean(str(data.get("via") or "")),
        )


State = dict[str, tuple[str, tuple[tuple[str, str], ...]]]
"""Each finding's latest decision (its action and values), by finding id."""


def replay(decisions: Iterable[Decision]) -> State:
    """The state the decisions leave, in order: the latest per finding (a finding restored to the model's has none;
    one of the inspector's own that was deleted stays deleted, so that its number is not given again)."""
    state: State = {}
    for decision in decisions:
        state[decision.finding] = (decision.action, decision.values)
    return {key: value for key, value in state.items() if value[0] != RESTORED}


def _gone(key: str, value: tuple[str, tuple[tuple[str, str], ...]]) -> bool:
    """Whether a finding has left the record: one of the inspector's own, deleted."""
    return value[0] == DELETE and _own(key)


def state_of(review: Review, inspection: Inspection, before: State) -> State:
    """The state a ``Review`` (read from a spreadsheet or the app's table) stands for: a decision per finding the
    inspector confirmed, edited, added or deleted. An added finding keeps its id when its row says which (``P3-A1``)
    or when the record holds one of the photo's with the same values; else it gets the photo's next number."""
    state: State = {}
    taken: dict[str, int] = {}
    for photo in inspection.photos:
        numbers = [split_finding_id(key)[2] for key in before if _photo(key) == photo.key and _own(key)]
        taken[photo.key] = max(numbers, default=0)
    unclaimed = {key: value for key, value in before.items() if _own(key) and value[0] == ADD}
    pending: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for finding in (*review.findings, *review.deleted):
        numbered = inspection.numbered(finding.photo)
        if numbered is None or finding.status == AI_NOT_REVIEWED:
            continue
        values = _values(finding)
        if finding.status == ADDED:
            named = _own_number(finding.ref)
            key = finding_id(numbered.key, OWN, named) if named else ""
            if key and (key in unclaimed or (key not in before and key not in state)):
                unclaimed.pop(key, None)  # the one the row names: kept, or (a number never given) taken
                taken[numbered.key] = max(taken[numbered.key], named or 0)
                state[key] = (ADD, values)
            else:
                pending.append((numbered.key, values))
            continue
        number = defect_number(finding.ref)
        if number is None:
            continue
        action = {AI_CONFIRMED: CONFIRMED, EDITED: EDIT, DELETED: DELETE}[finding.status]
        state[finding_id(numbered.key, AI, number)] = (action, values)
    for photo_key, values in pending:  # a row of the inspector's own without its ref: the same values, the same one
        same = next((key for key, kept in unclaimed.items() if _photo(key) == photo_key and kept[1] == values), None)
        if same is None:
            taken[photo_key] += 1
            same = finding_id(photo_key, OWN, taken[photo_key])
        unclaimed.pop(same, None)
        state[same] = (ADD, values)
    return state


def changes(
    before: State, after: State, photos: Iterable[str], by: str, via: str, at: str | None = None
) -> list[Decision]:
    """The decisions that take the record from ``before`` to ``after`` for the findings of ``photos`` (the photos
    the review covered): none when nothing changed."""
    at = at or datetime.now(UTC).isoformat(timespec="seconds")
    covered = set(photos)
    made = [
        Decision(key, action, values, by, at, via)
        for key, (action, values) in after.items()
        if before.get(key) != (action, values)
    ]
    for key, (action, values) in before.items():
        if key not in after and _photo(key) in covered and not _gone(key, (action, values)):
            made.append(Decision(key, DELETE if _own(key) else RESTORED, values, by, at, via))
    return made


def review_of(
    inspection: Inspection, analyses: Sequence[Analysis], decisions: Iterable[Decision], signoff: SignOff | None = None
) -> Review:
    """The review the decisions make of ``analyses`` (the inspection's photos, numbered as it numbers them): each
    photo with a decision has its findings as decided, the model's first by their number, then the inspector's own;
    the others keep the model's, which, once the inspection has been reviewed (a spreadsheet or the app's table read
    into it), are rows of the review too: "AI, not reviewed", each said so in the reports."""
    state = replay(decisions)
    overall = model_scores(analyses)
    scale = inspection.scale.definition
    findings: list[Finding] = []
    deleted: list[Finding] = []
    for result in analyses:
        photo = inspection.numbered(result.number)
        if photo is None:
            continue
        mine = {key: value for key, value in state.items() if _photo(key) == photo.key and not _gone(key, value)}
        if not mine and inspection.stage == DESCRIBED:
            continue
        for model in ai_findings([result]):
            number = defect_number(model.ref)
            decided = mine.get(finding_id(photo.key, AI, number or 0))
            if decided is None:
                findings.append(model)
            elif decided[0] == DELETE:
                deleted.append(
                    dataclasses.replace(
                        model, status=DELETED, inspector_note=dict(decided[1]).get("inspector_note", "")
                    )
                )
            else:
                values: dict[str, Any] = dict(decided[1])
                decided_finding = dataclasses.replace(model, **values, status=_ORIGIN[decided[0]])
                findings.append(carried_over(decided_finding, overall.get(result.number, ""), scale))
        own = sorted((split_finding_id(key)[2], value) for key, value in mine.items() if _own(key))
        for number, (_, kept) in own:
            findings.append(
                Finding(
                    photo=result.number,
                    file=result.name,
                    **dict(kept),
                    status=ADDED,
                    ref=own_ref(result.number, number),
                )
            )
    return Review(signoff or inspection.signoff, tuple(findings), tuple(deleted))


def stage(review: Review, analyses: Sequence[Analysis]) -> str:
    """How far a reviewed record has come: signed (asked to be final, no finding left unreviewed), or reviewed."""
    effective = review.effective(ai_findings(analyses))
    if review.signoff.final and all(finding.status != AI_NOT_REVIEWED for finding in effective):
        return SIGNED
    return REVIEWED


def own_ref(photo: int, number: int) -> str:
    """The ref people see for the inspector's own finding ``number`` of photo ``photo``: ``P3-A1``."""
    return finding_ref(photo, number, OWN)


def _own_number(ref: str) -> int | None:
    head, _, tail = ref.strip().upper().rpartition(f"-{OWN}")
    return int(tail) if head.startswith("P") and tail.isdigit() else None


def _values(finding: Finding) -> tuple[tuple[str, str], ...]:
    return tuple((name, str(getattr(finding, name) or "")) for name in VALUES)


def _photo(key: str) -> str:
    return key.rpartition("/")[0]


def _own(key: str) -> bool:
    return key.rpartition("/")[2].startswith(OWN)
