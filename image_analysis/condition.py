"""A photo's condition derived by its standard from what was observed of each defect, beside the score the model
gave: explainable ("serious · advanced · 10-30 % → 3"), and incomplete rather than guessed where the photo cannot
tell.

The rule is the scale's (``ConditionStandard.derive``: NEN 2767's table and correction factors, in ``standards``);
a scale without one (NBI, Low/Medium/High) keeps the score given. A reply from before observations were asked for
(a direct score only) is "the model's score, not derived". When the model's overall score is two or more steps from
the derived one, the reviewer is told (``cross_check``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis.findings import InspectionFindings
from image_analysis.observations import extent_of, intensity_of, seriousness_of
from image_analysis.presets import CANNOT_TELL, ConditionStandard
from image_analysis.standards import nen2767

DERIVED = "derived"
INCOMPLETE = "incomplete"
NOT_OBSERVED = "not observed"
"""A derivation's state: a condition derived; an observation that cannot be told (no condition, never a guess);
no observations given (the model's score only)."""
ARROW, DOT, TIMES, NO_BREAK = "\u2192", "\u00b7", "\u00d7", "\u00a0"


@dataclass(frozen=True)
class DefectDerivation:
    """One defect's observations and the condition the standard gives them (``None``: one cannot be told)."""

    seriousness: str | None
    intensity: str | None
    share: str | None
    condition: int | None
    own: int | None = None
    """The condition the inspector gave the defect over the table's (with a reason), if any."""

    @property
    def observed(self) -> bool:
        return any(value is not None for value in (self.seriousness, self.intensity, self.share))

    @property
    def held(self) -> int | None:
        """The defect's condition as the record holds it: the inspector's over the table's."""
        return self.own if self.own is not None and self.condition is not None else self.condition

    def text(self) -> str:
        """``serious · advanced · 10-30 % → 3``; an observation not given or that cannot be told says so; the
        inspector's own condition follows the table's (``→ 3; the inspector's: 4``)."""
        parts = [_said(value) for value in (self.seriousness, self.intensity, self.share)]
        result = str(self.condition) if self.condition is not None else f"no{NO_BREAK}condition"
        if self.held != self.condition:
            result += f"; the inspector's: {self.held}"
        return f" {DOT} ".join(parts) + f"{NO_BREAK}{ARROW}{NO_BREAK}{result}"


@dataclass(frozen=True)
class Derivation:
    """A photo's condition as its standard derives it from its defects."""

    standard: ConditionStandard
    defects: tuple[DefectDerivation, ...]
    combination: nen2767.Combination | None
    state: str

    @property
    def condition(self) -> str | None:
        """The derived condition as a code of the scale, ``None`` when there is none."""
        return str(self.combination.condition) if self.combination and self.state == DERIVED else None

    def how(self) -> str:
        """How the photo's condition was combined, or why there is none, in one sentence."""
        if self.state == NOT_OBSERVED and not self.defects:
            return "not derived: no defects listed, and the photo cannot tell the condition"
        if self.state == NOT_OBSERVED:
            return "not derived: the score is the model's, whose reply gives no observations of the defects"
        if self.state == INCOMPLETE:
            unknown = [str(number) for number, defect in enumerate(self.defects, start=1) if defect.condition is None]
            which = "defect " + unknown[0] if len(unknown) == 1 else "defects " + ", ".join(unknown)
            return f"incomplete: the photo cannot tell every observation of {which}"
        assert self.combination is not None
        if not self.defects:
            return "no visible defects: condition 1"
        shares: dict[int, float] = {}
        for defect in self.defects:  # the shares at each condition, worst first; the rest is condition 1
            condition = defect.held or 1
            shares[condition] = shares.get(condition, 0.0) + nen2767.EXTENT_SHARE[_extent(defect)]
        total = max(100.0, sum(shares.values()))
        shares[1] = shares.get(1, 0.0) + total - sum(shares.values())
        terms = [
            f"{share:g}{TIMES}{nen2767.CORRECTION_FACTORS[condition]:.2f}"
            for condition, share in sorted(shares.items(), reverse=True)
            if share > 0
        ]
        return f"({' + '.join(terms)}) / {total:g} = {self.combination.factor:.4f}"


Observed = tuple[str | None, str | None, str | None]
"""A defect's (seriousness, intensity, share), each ``None`` when not given."""


def derive(findings: InspectionFindings, standard: ConditionStandard) -> Derivation | None:
    """The photo's condition derived from the observations of the reply's defects by ``standard``; ``None`` when the
    standard gives no rule."""
    observed = [(defect.seriousness, defect.intensity, defect.share) for defect in findings.defects]
    return derive_observed(observed, findings.condition_score, standard)


def derive_observed(
    observed: Sequence[Observed], score: str, standard: ConditionStandard, held: Sequence[str] = ()
) -> Derivation | None:
    """The photo's condition derived from its defects' observations (as reviewed, or as the model gave them) by
    ``standard``; ``score``, the one given, tells a photo without defects that can be judged from one that cannot.
    ``held``, each defect's score as the record holds it, puts the inspector's own condition of a defect (one its
    observations derive otherwise) in its place."""
    rule = standard.derive
    if rule is None:
        return None
    defects = tuple(
        dataclasses.replace(defect_derivation(*values), own=_own(held[index] if index < len(held) else ""))
        for index, values in enumerate(observed)
    )
    if defects and not any(defect.observed for defect in defects):
        return Derivation(standard, defects, None, NOT_OBSERVED)
    if not defects and score not in standard.codes:
        return Derivation(standard, defects, None, NOT_OBSERVED)  # no defects, and nothing the photo can judge
    combination = rule([_observation(defect) for defect in defects], [defect.held for defect in defects])
    return Derivation(standard, defects, combination, DERIVED if combination is not None else INCOMPLETE)


def defect_score(observed: Observed, standard: ConditionStandard) -> str | None:
    """The condition ``standard`` derives for one defect from its observations, as a code of its scale; ``None``
    when it has no rule, or an observation is not given or cannot be told."""
    if standard.derive is None:
        return None
    condition = defect_derivation(*observed).condition
    return str(condition) if condition is not None else None


MODELS_SCORE = "model's score, not derived"
INSPECTORS_SCORE = "inspector's score, not derived"


def score_text(score: str, observed: Observed, standard: ConditionStandard, own: bool) -> str:
    """A defect's score as a report shows it: ``3 (fair, sufficient)`` when derived (or on a scale without a rule),
    ``4 (inspector; derived 3)`` over the derived one, ``4 (model's score, not derived)`` (``own``: the inspector's)
    when its observations derive none."""
    if standard.derive is None or score not in standard.codes:
        return standard.shown(score)
    derived = defect_score(observed, standard)
    if derived == score:
        return standard.shown(score)
    if derived is not None:
        return f"{score}{NO_BREAK}(inspector; derived {derived})"
    return f"{score}{NO_BREAK}({INSPECTORS_SCORE if own else MODELS_SCORE})"


def defect_derivation(seriousness: str | None, intensity: str | None, share: str | None) -> DefectDerivation:
    """One defect's observations and the condition NEN 2767's table gives them (an empty one counts as not given)."""
    values = DefectDerivation(seriousness or None, intensity or None, share or None, None)
    return dataclasses.replace(values, condition=nen2767.defect_condition(_observation(values)))


def cross_check(findings: InspectionFindings, derivation: Derivation | None) -> str | None:
    """One sentence when the model's overall score is two or more steps from the derived condition."""
    if derivation is None or derivation.condition is None or not derivation.defects:
        return None  # no defects, nothing observed: the score alone is checked (``consistency``)
    codes = derivation.standard.codes
    given = findings.condition_score
    if given not in codes or abs(codes.index(given) - codes.index(derivation.condition)) < 2:
        return None
    shown = derivation.standard.shown
    return (
        f"Check: the model gave {shown(given)} overall, but its own observations of the defects give "
        f"{shown(derivation.condition)} by the standard."
    )


def _observation(defect: DefectDerivation) -> nen2767.Observation:
    return nen2767.Observation(
        seriousness_of(defect.seriousness), intensity_of(defect.intensity), extent_of(defect.share)
    )


def _own(score: str) -> int | None:
    return int(score) if score.isdigit() else None


def _extent(defect: DefectDerivation) -> nen2767.Extent:
    extent = extent_of(defect.share)
    assert extent is not None
    return extent


def _said(value: str | None) -> str:
    if value is None:
        return "not given"
    return "cannot tell" if value == CANNOT_TELL else value
