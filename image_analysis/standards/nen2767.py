"""NEN 2767 (the Dutch condition assessment of buildings, civil structures and installations): a defect's condition
from the inspector's three observations, and a component's condition from its defects.

Sources (``../shared/docs/condition-standards.md`` gives them in full):

- **The three observations** of a defect (nen.nl, "Achtergrond conditiemeting"): *ernst* (seriousness) 1 minor,
  2 serious, 3 critical; *intensiteit* (intensity) 1 initial, 2 advanced, 3 final stage; *omvang* (extent, the share
  of the component affected) 1 < 2 %, 2 2-10 %, 3 10-30 %, 4 30-70 %, 5 >= 70 %.
- **A defect's condition** (``DEFECT_CONDITION``): the standard's table, seriousness by intensity by extent, as three
  open-source implementations give it cell by cell (snirp/pressie ``onderhoud/nenhelp.py``;
  sjaajke/MijnRapportageApp ``nen2767_scoring_service.dart``; fomosman-cyber/fieldops-api ``nen2767_scoring.py``);
  all 45 cells equal ``max(1, seriousness + intensity + extent - 5)``.
- **Several defects, or parts, combined** (``combined``): each part's condition gives a correction factor (1.00,
  1.02, 1.10, 1.30, 1.70, 2.00 for conditions 1 to 6); their mean weighted by each part's share is turned back into a
  condition by the thresholds <= 1.01, 1.04, 1.15, 1.40, 1.78 (above: 6). Confirmed by the standard's rapporteur's
  worked example (kennispleinconditiemeten.nl): (300x1.3 + 150x1.7 + 250x1.02 + 120x1.1 + 90x1.02 + 10x1.02) / 920
  = 1.2326, condition 4.
- **A component's defects** (``component_condition``): each defect weighs its extent's share, the defect-free rest of
  the component weighs in at condition 1 (factor 1.00), as the public implementations do. A share within a class is
  not observed: the class's middle stands for it (``EXTENT_SHARE``, this project's choice: 1, 6, 20, 50 and 85 %;
  snirp/pressie takes 90 % for the last class). "Worst defect wins" is not the NEN method.

A defect any of whose three observations is "cannot tell" has no condition, and a component with such a defect has
none either: it is incomplete, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

SOURCE = "NEN 2767-1:2019 condition assessment: defect condition table and correction factors"


class Seriousness(IntEnum):
    """*Ernst*: how much the defect matters to the component's function and structure."""

    MINOR = 1
    SERIOUS = 2
    CRITICAL = 3


class Intensity(IntEnum):
    """*Intensiteit*: how far the defect has progressed."""

    INITIAL = 1
    ADVANCED = 2
    FINAL = 3


class Extent(IntEnum):
    """*Omvang*: the share of the component affected, as a class."""

    UNDER_2 = 1
    FROM_2_TO_10 = 2
    FROM_10_TO_30 = 3
    FROM_30_TO_70 = 4
    FROM_70 = 5


EXTENT_BOUNDS = {
    Extent.UNDER_2: (0.0, 2.0),
    Extent.FROM_2_TO_10: (2.0, 10.0),
    Extent.FROM_10_TO_30: (10.0, 30.0),
    Extent.FROM_30_TO_70: (30.0, 70.0),
    Extent.FROM_70: (70.0, 100.0),
}
"""Each extent class's share of the component, in per cent (from, up to; the last class includes 100)."""
EXTENT_SHARE = {
    Extent.UNDER_2: 1.0,
    Extent.FROM_2_TO_10: 6.0,
    Extent.FROM_10_TO_30: 20.0,
    Extent.FROM_30_TO_70: 50.0,
    Extent.FROM_70: 85.0,
}
"""The share that stands for an extent class when a component's defects are combined (the class's middle)."""

DEFECT_CONDITION: dict[Seriousness, dict[Intensity, tuple[int, int, int, int, int]]] = {
    Seriousness.CRITICAL: {
        Intensity.INITIAL: (1, 1, 2, 3, 4),
        Intensity.ADVANCED: (1, 2, 3, 4, 5),
        Intensity.FINAL: (2, 3, 4, 5, 6),
    },
    Seriousness.SERIOUS: {
        Intensity.INITIAL: (1, 1, 1, 2, 3),
        Intensity.ADVANCED: (1, 1, 2, 3, 4),
        Intensity.FINAL: (1, 2, 3, 4, 5),
    },
    Seriousness.MINOR: {
        Intensity.INITIAL: (1, 1, 1, 1, 2),
        Intensity.ADVANCED: (1, 1, 1, 2, 3),
        Intensity.FINAL: (1, 1, 2, 3, 4),
    },
}
"""The standard's table of a defect's condition: by seriousness and intensity, one condition per extent class."""

CORRECTION_FACTORS = {1: 1.00, 2: 1.02, 3: 1.10, 4: 1.30, 5: 1.70, 6: 2.00}
"""A part's condition as the factor its share is weighted with."""
THRESHOLDS = ((1.01, 1), (1.04, 2), (1.15, 3), (1.40, 4), (1.78, 5))
"""The weighted mean factor up to which each condition holds; above the last, 6."""
WORST = 6


@dataclass(frozen=True)
class Observation:
    """One defect as the inspector (or the model) observed it; ``None``: cannot tell from the photo."""

    seriousness: Seriousness | None
    intensity: Intensity | None
    extent: Extent | None

    @property
    def complete(self) -> bool:
        return None not in (self.seriousness, self.intensity, self.extent)


@dataclass(frozen=True)
class Combination:
    """A condition combined from parts: the weighted mean of their correction factors, and the condition it gives."""

    factor: float
    condition: int


def defect_condition(observation: Observation) -> int | None:
    """The condition (1-6) of one defect by the standard's table; ``None`` when an observation cannot be told."""
    if observation.seriousness is None or observation.intensity is None or observation.extent is None:
        return None
    return DEFECT_CONDITION[observation.seriousness][observation.intensity][observation.extent - 1]


def condition_of_factor(factor: float) -> int:
    """The condition a weighted mean correction factor gives (``THRESHOLDS``)."""
    for most, condition in THRESHOLDS:
        if factor <= most + 1e-9:  # the threshold itself belongs to the better condition
            return condition
    return WORST


def combined(parts: Sequence[tuple[float, int]]) -> Combination:
    """The condition of a whole from its parts, each ``(weight, condition)``: the weighted mean of their correction
    factors (``ValueError`` for no weight at all, a negative weight or a condition off 1-6)."""
    total = 0.0
    weighted = 0.0
    for weight, condition in parts:
        if weight < 0 or condition not in CORRECTION_FACTORS:
            raise ValueError(f"not a part: weight {weight}, condition {condition}")
        total += weight
        weighted += weight * CORRECTION_FACTORS[condition]
    if total <= 0:
        raise ValueError("the parts weigh nothing")
    factor = weighted / total
    return Combination(factor, condition_of_factor(factor))


def component_condition(observations: Sequence[Observation], given: Sequence[int | None] = ()) -> Combination | None:
    """A component's condition from its defects: each at its extent's share (``EXTENT_SHARE``), the defect-free rest
    at condition 1; a component without defects is condition 1. ``None`` when a defect's condition cannot be told
    (the component's is incomplete). When the defects' shares add up to more than the whole (overlapping defects),
    they are the whole, with no rest. ``given``: a defect's condition as the inspector set it over the table's
    (``None``: the table's); it counts only where the table gives one (its extent is known)."""
    parts: list[tuple[float, int]] = []
    for index, observation in enumerate(observations):
        condition = defect_condition(observation)
        if condition is None or observation.extent is None:
            return None
        own = given[index] if index < len(given) else None
        if own is not None and own in CORRECTION_FACTORS:
            condition = own
        parts.append((EXTENT_SHARE[observation.extent], condition))
    affected = sum(weight for weight, _ in parts)
    if affected < 100.0:
        parts.append((100.0 - affected, 1))
    return combined(parts)


def extent_of_share(percent: float) -> Extent:
    """The extent class of a share of the component, in per cent (``ValueError`` outside 0-100)."""
    if not 0.0 <= percent <= 100.0:
        raise ValueError(f"{percent} % is not a share of a component")
    for extent, (_, below) in EXTENT_BOUNDS.items():
        if percent < below:
            return extent
    return Extent.FROM_70
