"""The inspection as a record of its own: an inspection and its photos with identities (``record``, ``identity``),
its findings with ids, and the inspector's review as decisions (``decisions``). Pure values: where they are kept is
``inspection_store``'s business."""

from image_analysis.inspection.decisions import Decision, review_of
from image_analysis.inspection.identity import photo_of
from image_analysis.inspection.record import DESCRIBED, REVIEWED, SIGNED, InspectedPhoto, Inspection

__all__ = [
    "DESCRIBED",
    "REVIEWED",
    "SIGNED",
    "Decision",
    "InspectedPhoto",
    "Inspection",
    "photo_of",
    "review_of",
]
