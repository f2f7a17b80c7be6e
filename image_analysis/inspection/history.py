"""An element over inspections: its condition in each, and what changed between the previous and this one.

- **An element's condition in one inspection**: with NEN 2767 each of its photos a part of equal weight, its defects
  combined at their shares by the correction factors (``review.photo_derivation``), the photos' mean factor turned
  back into a condition: a defect seen in two photos is not counted twice. On a scale without a rule, the worst.
- **The object's condition** with NEN 2767: the elements' conditions weighted by quantity × replacement value where
  every element inspected has both (the standard's weighting of parts into a whole); otherwise the worst element's.
- **A change** is counted in steps of the scale (positive: worse). One step is within inspectors' spread, two or more
  beyond it (FHWA-RD-01-020: 68 % of 49 inspectors' ratings within one step of their average); a better condition
  with no repair recorded is flagged (a known sign of an inconsistent rating); an element not photographed this time
  is *not inspected*, never repaired. No curve is fitted through two points: the history is listed, with the years
  between (``../shared/docs/quality-and-reinspection.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from image_analysis.inspection.elements import Element
from image_analysis.inspection.record import Inspection
from image_analysis.presets import CANNOT_TELL, ConditionStandard
from image_analysis.review import Finding, photo_condition, photo_derivation
from image_analysis.standards import nen2767

SPREAD_STEPS = 1
"""A change of at most this many steps is within inspectors' spread (FHWA-RD-01-020)."""
WITHIN_SPREAD = "within inspectors' spread"
BEYOND_SPREAD = "beyond inspectors' spread"
WORSE, BETTER, UNCHANGED, NOT_INSPECTED, FIRST_TIME, NOT_COMPARED = (
    "worse",
    "better",
    "unchanged",
    "not inspected",
    "first inspected",
    "not compared",
)
NO_REPAIR = "better with no repair recorded: check the rating"


@dataclass(frozen=True)
class ElementCondition:
    """An element in one inspection: its condition, its photos (numbers) and the findings they hold."""

    element_id: str
    condition: str
    photos: tuple[int, ...]
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class ElementChange:
    """One element between the previous inspection and this one."""

    element: Element
    previous: ElementCondition | None
    current: ElementCondition | None
    steps: int | None
    """How many steps worse (negative: better); ``None`` when either condition is missing or cannot be told."""
    trend: str
    spread: str = ""
    flag: str = ""

    @property
    def order(self) -> tuple[int, int, str]:
        """Worse first (the most steps first), then the rest; elements not inspected last."""
        group = {WORSE: 0, BETTER: 1, UNCHANGED: 2, NOT_COMPARED: 3, FIRST_TIME: 4, NOT_INSPECTED: 5}[self.trend]
        return (group, -(self.steps or 0), self.element.id)


def element_conditions(
    inspection: Inspection, findings: Sequence[Finding], scale: ConditionStandard
) -> dict[str, ElementCondition]:
    """Each element's condition in ``inspection`` from the record's ``findings`` (the effective rows: reviewed
    where reviewed, the model's elsewhere), for the photos assigned to an element (``element_condition``)."""
    photos_of: dict[str, list[int]] = {}
    for photo in inspection.photos:
        if photo.element_id and not photo.error:
            photos_of.setdefault(photo.element_id, []).append(photo.number)
    conditions = {}
    for element_id, numbers in photos_of.items():
        rows = tuple(row for row in findings if row.photo in numbers)
        per_photo = [[row for row in rows if row.photo == number] for number in numbers]
        conditions[element_id] = ElementCondition(element_id, element_condition(per_photo, scale), tuple(numbers), rows)
    return conditions


def element_condition(photos: Sequence[Sequence[Finding]], scale: ConditionStandard) -> str:
    """An element's condition from its photos' findings. With a rule (NEN 2767) each photo is a part of the element
    of equal weight: the mean of the photos' correction factors (each photo's defects combined at their shares),
    turned back into a condition, so that a defect seen in two photos is not counted twice. Without a rule, or when
    a photo's condition is not derived, the worst photo's."""
    shown = [rows for rows in photos if rows]
    if not shown:
        return CANNOT_TELL
    factors = []
    for rows in shown:
        derivation = photo_derivation(rows, scale, "") if any(row.defect_type for row in rows) else None
        if derivation is not None and derivation.combination is not None and derivation.condition is not None:
            factors.append(derivation.combination.factor)
        elif scale.derive is not None and photo_condition(rows, scale) == scale.codes[0]:
            factors.append(nen2767.CORRECTION_FACTORS[1])  # a sound photo: the best condition, factor 1.00
        else:
            factors = []
            break
    if factors and scale.derive is not None:
        return str(nen2767.condition_of_factor(sum(factors) / len(factors)))
    return scale.worst(photo_condition(rows, scale) for rows in shown) or CANNOT_TELL


def object_condition(
    conditions: Mapping[str, ElementCondition], elements: Sequence[Element], scale: ConditionStandard
) -> tuple[str, str]:
    """The object's condition from its elements' and how it was reached, in words."""
    known = [(element, conditions[element.id].condition) for element in elements if element.id in conditions]
    scored = [(element, code) for element, code in known if code in scale.codes]
    if not scored:
        return CANNOT_TELL, "no element has a condition"
    weights = [element.weight for element, _ in scored]
    if scale.derive is not None and all(weight for weight in weights):
        parts = [(float(weight or 0), int(code)) for (_, code), weight in zip(scored, weights, strict=True)]
        combination = nen2767.combined(parts)
        return (
            str(combination.condition),
            f"{len(parts)} elements weighted by quantity × replacement value: mean factor {combination.factor:.4f}",
        )
    worst = scale.worst(code for _, code in scored) or CANNOT_TELL
    return worst, f"the worst of {len(scored)} elements (weights need a quantity and replacement value for each)"


def changes(
    elements: Sequence[Element],
    previous: Mapping[str, ElementCondition],
    current: Mapping[str, ElementCondition],
    scale: ConditionStandard,
    repaired: frozenset[str] = frozenset(),
) -> list[ElementChange]:
    """Every element of the list (and any assigned that the list no longer has) between the two inspections, worse
    first. ``repaired``: the elements with a repair recorded (a previous defect decided repaired)."""
    listed = {element.id: element for element in elements}
    for element_id in (*previous, *current):
        listed.setdefault(element_id, Element(element_id, f"{element_id} (not in the element list)"))
    found = [
        _change(element, previous.get(key), current.get(key), scale, key in repaired) for key, element in listed.items()
    ]
    return sorted(found, key=lambda change: change.order)


def years_between(earlier: str, later: str) -> float | None:
    """Years between two inspection days (``YYYY-MM-DD``), to one decimal; ``None`` when either is not a date."""
    try:
        days = (date.fromisoformat(later[:10]) - date.fromisoformat(earlier[:10])).days
    except ValueError:
        return None
    return round(days / 365.25, 1)


def _change(
    element: Element,
    before: ElementCondition | None,
    now: ElementCondition | None,
    scale: ConditionStandard,
    repaired: bool,
) -> ElementChange:
    if now is None:
        return ElementChange(element, before, None, None, NOT_INSPECTED)
    if before is None:
        return ElementChange(element, None, now, None, FIRST_TIME)
    if before.condition not in scale.codes or now.condition not in scale.codes:
        return ElementChange(element, before, now, None, NOT_COMPARED)
    steps = scale.rank(now.condition) - scale.rank(before.condition)
    trend = WORSE if steps > 0 else BETTER if steps < 0 else UNCHANGED
    spread = "" if steps == 0 else WITHIN_SPREAD if abs(steps) <= SPREAD_STEPS else BEYOND_SPREAD
    flag = NO_REPAIR if steps < 0 and not repaired else ""
    return ElementChange(element, before, now, steps, trend, spread, flag)


@dataclass(frozen=True)
class Visit:
    """An element at one inspection: the day, its condition, who inspected and the photos that show it."""

    day: str
    condition: str
    inspector: str = ""
    photos: tuple[str, ...] = ()


def history_line(visits: Sequence[Visit], scale: ConditionStandard) -> str:
    """An element's history in one line, oldest first, with the years between inspections; no trend is fitted
    through two or three points (``../shared/docs/quality-and-reinspection.md``)."""
    parts: list[str] = []
    ordered = sorted(visits, key=lambda item: item.day)
    for earlier, visit in zip([None, *ordered], ordered, strict=False):
        if earlier is not None:
            years = years_between(earlier.day, visit.day)
            parts.append(f"{years:g} year{'s' * (years != 1)} later" if years is not None else "later")
        by = f", {visit.inspector}" if visit.inspector else ""
        parts.append(f"{visit.day or 'not dated'}: {scale.shown(visit.condition)}{by}")
    return " · ".join(parts)
