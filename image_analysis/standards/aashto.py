"""The AASHTO Manual for Bridge Element Inspection (United States): a defect's condition state, CS1 good to CS4
severe, by the defect's definition, where the photo shows what the definition measures.

Source: the thresholds of the 2019 manual as state DOT handouts quote them (``../shared/docs/condition-
standards.md``; not checked against the manual itself). Defect 1130, a crack in reinforced concrete: CS1 narrower
than 0.30 mm (or spaced over 0.9 m), CS2 0.30-1.27 mm wide (or spaced 0.3-0.9 m), CS3 wider than 1.27 mm (or spaced
under 0.3 m). CS4 always warrants a structural review and is the inspector's to give. The manual gives no formula
from condition states to the NBI 0-9 component rating: that stays a judgement, shown beside the states.

A width a photo cannot show (no gauge or known object in view) has no state here: the model's estimate is kept,
marked as an estimate, never taken for a measurement.
"""

from __future__ import annotations

from enum import IntEnum

SOURCE = "AASHTO Manual for Bridge Element Inspection (2019), defect 1130: cracking in reinforced concrete"


class ConditionState(IntEnum):
    GOOD = 1
    FAIR = 2
    POOR = 3
    SEVERE = 4


RC_CRACK_WIDTH_MM = ((0.30, ConditionState.GOOD), (1.27, ConditionState.FAIR))
"""Defect 1130: a crack narrower than the first width is CS1, up to and including the second CS2, wider CS3."""
RC_CRACK_SPACING_M = ((0.3, ConditionState.POOR), (0.9, ConditionState.FAIR))
"""Defect 1130: cracks spaced closer than the first spacing are CS3, up to and including the second CS2, wider CS1."""


def rc_crack_state(width_mm: float | None = None, spacing_m: float | None = None) -> ConditionState | None:
    """The condition state of cracking in reinforced concrete from its width (mm) and/or spacing (m), the worse of
    the two where both are known; ``None`` when neither is (``ValueError`` for a negative measure)."""
    states = []
    if width_mm is not None:
        if width_mm < 0:
            raise ValueError(f"a crack {width_mm} mm wide")
        narrow, fair = RC_CRACK_WIDTH_MM
        states.append(narrow[1] if width_mm < narrow[0] else fair[1] if width_mm <= fair[0] else ConditionState.POOR)
    if spacing_m is not None:
        if spacing_m < 0:
            raise ValueError(f"cracks {spacing_m} m apart")
        close, fair = RC_CRACK_SPACING_M
        states.append(close[1] if spacing_m < close[0] else fair[1] if spacing_m <= fair[0] else ConditionState.GOOD)
    return max(states) if states else None
