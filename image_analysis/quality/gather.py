"""The reviewed inspections of a store and what became of their AI findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis.errors import StoreError
from image_analysis.inspection import Inspection
from image_analysis.inspection_store import InspectionStore
from image_analysis.presets import ConditionScale, ConditionStandard
from image_analysis.progress import Progress
from image_analysis.quality.outcomes import Outcome, outcomes
from image_analysis.review import SignOff


@dataclass(frozen=True)
class Gathered:
    """The outcomes of the inspections evaluated, the scale they were scored on, and how many inspections."""

    outcomes: list[Outcome]
    scale: ConditionStandard
    inspections: int
    skipped: int
    """Inspections left out: never reviewed, or on another scale than the first."""
    unreadable: tuple[str, ...] = ()
    """Inspections left out because their photos' results are not in the store (expired, or forgotten): each says
    which and why."""


def gather(
    inspections: InspectionStore, wanted: Sequence[str] = (), since: str = "", progress: Progress | None = None
) -> Gathered:
    """The outcomes of every reviewed inspection of the store (``wanted``: those ids or names only; ``since``: those
    dated from then, ``YYYY-MM-DD``); one scale at a time, the first's (a score on one is no score on another).
    ``progress`` hears of each inspection read."""
    progress = progress or Progress()
    everything = inspections.all()
    if wanted:
        found_ids = {item.id for name in dict.fromkeys(wanted) if (item := inspections.find(name)) is not None}
        chosen: list[Inspection | None] = [item for item in everything if item.id in found_ids]
    else:
        chosen = list(everything)
    found: list[Outcome] = []
    scale: ConditionStandard | None = None
    counted = skipped = 0
    unreadable: list[str] = []
    for done, inspection in enumerate(chosen):
        progress.file(done, len(chosen))
        if inspection is None or (since and inspection.day < since):
            continue
        try:
            results = inspections.results(inspection)
            review = inspections.review(inspection, results, SignOff())
        except StoreError as error:
            unreadable.append(f"{inspection.label}: {error}")
            continue
        if not review.reviewed_photos or not results:
            skipped += 1
            continue
        standard = results[0].request.scale.definition
        if scale is None:
            scale = standard
        elif standard != scale:
            skipped += 1
            continue
        found += outcomes(inspection, results, review)
        counted += 1
    progress.file(len(chosen), len(chosen))
    return Gathered(found, scale or ConditionScale.NEN2767.definition, counted, skipped, tuple(unreadable))
