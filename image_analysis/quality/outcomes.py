"""What became of each AI finding once an inspector reviewed it: the labels an inspection firm already has.

An inspection's review (``inspection.decisions.review_of``) says of every finding of the model's whether the
inspector confirmed it, edited it (its values after), deleted it or left it unreviewed, and which findings the
inspector added (the model's misses). Matching is by finding id: a reviewed row names the AI finding it came from
(``P3-F2``), so no guessing by location is needed. Pure: the store is read by ``gather``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis.analysis import Analysis
from image_analysis.inspection import Inspection
from image_analysis.review import ADDED, AI_CONFIRMED, EDITED, Finding, Review, ai_findings

CONFIRMED, EDIT, DELETED, ADD, UNREVIEWED = "confirmed", "edited", "deleted", "added", "not reviewed"
DECISIONS = (CONFIRMED, EDIT, DELETED, ADD, UNREVIEWED)
"""What became of a finding: the model's kept as it was, kept changed, taken out, not decided on; or the
inspector's own (a miss of the model's)."""
Observed = tuple[str, str, str]


@dataclass(frozen=True)
class Outcome:
    """One AI finding as the model gave it and as the inspector left it (or one the inspector added)."""

    inspection: str
    photo: int
    file: str
    ref: str
    decision: str
    ai_type: str
    type: str
    element: str
    ai_score: str
    score: str
    ai_observed: Observed
    observed: Observed
    model: str
    prompt: str
    month: str
    inspector: str

    @property
    def kept(self) -> bool:
        """The model's finding stands (confirmed, or edited)."""
        return self.decision in (CONFIRMED, EDIT)

    @property
    def decided(self) -> bool:
        return self.decision in (CONFIRMED, EDIT, DELETED)


def outcomes(inspection: Inspection, analyses: Sequence[Analysis], review: Review) -> list[Outcome]:
    """Every AI finding of ``analyses`` with what the inspector decided on it, and each finding the inspector added."""
    month = inspection.day[:7]
    inspector = inspection.inspector or "not named"
    reviewed = review.reviewed_photos
    rows = {finding.ref: finding for finding in review.findings if finding.ref}
    deleted = {finding.ref for finding in review.deleted}
    found: list[Outcome] = []
    for result in analyses:
        description = result.description
        base = {
            "inspection": inspection.id,
            "photo": result.number,
            "file": result.name,
            "model": description.model if description else "",
            "prompt": (description.prompt_version if description else "") or "before prompt versions",
            "month": month,
            "inspector": inspector,
        }
        for model in ai_findings([result]):
            if not model.defect_type:
                continue
            row = rows.get(model.ref)
            if result.number not in reviewed:
                decision, final = UNREVIEWED, model
            elif model.ref in deleted:
                decision, final = DELETED, model
            elif row is None:
                decision, final = UNREVIEWED, model
            else:
                decision = {AI_CONFIRMED: CONFIRMED, EDITED: EDIT}.get(row.status, UNREVIEWED)
                final = row
            found.append(_outcome(base, model.ref, decision, model, final))
        for row in review.for_photo(result.number):
            if row.status == ADDED and row.defect_type:
                found.append(_outcome(base, row.ref, ADD, None, row))
    return found


def _outcome(base: dict, ref: str, decision: str, model: Finding | None, final: Finding) -> Outcome:
    return Outcome(
        **base,
        ref=ref,
        decision=decision,
        ai_type=model.defect_type if model else "",
        type=final.defect_type,
        element=(final.element or (model.element if model else "")).lower(),
        ai_score=model.condition_score if model else "",
        score=final.condition_score,
        ai_observed=_observed(model) if model else ("", "", ""),
        observed=_observed(final),
    )


def _observed(finding: Finding) -> Observed:
    return (finding.seriousness, finding.intensity, finding.share)
