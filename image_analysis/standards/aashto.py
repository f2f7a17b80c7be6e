"""The AASHTO Manual for Bridge Element Inspection (United States): a defect's condition state, CS1 good to CS4
severe, by the defect's definition, where the photo shows what the definition measures.

Source: the thresholds of the 2019 manual as state DOT handouts quote them (``../shared/docs/condition-
standards.md``; not checked against the manual itself). Defect 1130, a crack in reinforced concrete: CS1 narrower
than 0.30 mm (or spaced over 0.9 m), CS2 0.30-1.27 mm wide (or spaced 0.3-0.9 m), CS3 wider than 1.27 mm (or spaced
under 0.3 m). CS4 always warrants a structural review and is the inspector's to give. The manual gives no formula
from condition states to the NBI 0-9 component rating: that stays a judgement, shown beside the states.

A width a photo cannot show (no gauge or known object in view) has no state here: the model's estimate is kept,
marked as an estimate, never taken for a measurement (``defect_state``). Defect 1110, a crack in prestressed
concrete: CS1 narrower than 0.10 mm, CS2 0.10-0.23 mm, CS3 wider. Defect 1080, a spall: CS2 up to 25 mm deep or
150 mm across, CS3 deeper or wider; a photo shows its size across, rarely its depth.
"""

from __future__ import annotations

from dataclasses import dataclass
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


PS_CRACK_WIDTH_MM = ((0.10, ConditionState.GOOD), (0.23, ConditionState.FAIR))
"""Defect 1110, a crack in prestressed concrete: narrower than the first width CS1, up to the second CS2, wider CS3."""
SPALL_ACROSS_MM = 150.0
"""Defect 1080, a spall: up to 150 mm across (and 25 mm deep) CS2; wider CS3 (its depth a photo rarely shows)."""
DEFINITIONS = (
    ("1130", "crack in reinforced concrete", "narrower than 0.30 mm", "0.30-1.27 mm wide", "wider than 1.27 mm"),
    ("1110", "crack in prestressed concrete", "narrower than 0.10 mm", "0.10-0.23 mm wide", "wider than 0.23 mm"),
    ("1080", "spall or delamination", "none", "up to 25 mm deep or 150 mm across", "deeper or wider"),
)
"""The definitions a state is found from here, as (defect number, defect, CS1, CS2, CS3); CS4 is the inspector's."""


@dataclass(frozen=True)
class StateFinding:
    """A defect's condition state and how it was found: ``measured`` from a width read against something in view
    by the definition of ``defect`` (its AASHTO number), else the model's estimate (``measured`` false)."""

    state: ConditionState
    measured: bool
    defect: str = ""
    width_mm: float | None = None
    against: str = ""

    def text(self) -> str:
        """``CS2, from 0.8 mm read against the crack gauge (AASHTO 1130)`` or ``CS3, the model's estimate``."""
        if not self.measured:
            return f"CS{self.state.value}, the model's estimate"
        return f"CS{self.state.value}, from {self.width_mm:g} mm read against {self.against} (AASHTO {self.defect})"


def defect_state(
    defect_type: str, element: str, width_mm: float | None, against: str, estimate: ConditionState | None
) -> StateFinding | None:
    """A defect's condition state by its definition where the photo shows what it measures (a width read against a
    gauge, ruler or known object in view), else the model's ``estimate`` marked so; ``None`` with neither."""
    if width_mm is not None and width_mm >= 0 and against:
        prestressed = "prestress" in element.lower()
        if defect_type == "crack":
            narrow, fair = PS_CRACK_WIDTH_MM if prestressed else RC_CRACK_WIDTH_MM
            state = narrow[1] if width_mm < narrow[0] else fair[1] if width_mm <= fair[0] else ConditionState.POOR
            return StateFinding(state, True, "1110" if prestressed else "1130", width_mm, against)
        if defect_type == "spalling":
            state = ConditionState.FAIR if width_mm <= SPALL_ACROSS_MM else ConditionState.POOR
            return StateFinding(state, True, "1080", width_mm, against)
    return StateFinding(estimate, False) if estimate is not None else None
