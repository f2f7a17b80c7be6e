"""The scenarios several test modules share: the eight-photo inspection with replies as long as a real model writes
and the inspector's review of it, a four-sheet drawing set and the model's readings of it, the photos of a store."""

from __future__ import annotations

import json
from dataclasses import replace

from image_analysis.presets import ConditionScale
from image_analysis.review import ADDED, AI_CONFIRMED, EDITED, Review, SignOff, ai_findings
from scripts.make_drawing_set import Sheet
from tests.long_replies import LONG_REPLIES

STORE_PHOTOS = [
    "webp_photo_flower.webp",
    "crack_concrete_ozgenel_a.png",
    "crack_concrete_ozgenel_b.png",
    "png_rgba_transparent.png",
    "animated_iss634.webp",
    "corrosion_rusty_metal_05_polyhaven_1k.jpg",
]


MODEL = "mistral.ministral-3-14b-instruct"
SIGNOFF = SignOff(
    "Kade Noord quay wall", "Delft, Kade Noord 12", "J. de Vries", "2026-11-20", "INS-2026-014", "Gemeente Delft"
)
REMOVED = 6
"""The photo the inspector deletes from the reviewed report (all its rows deleted)."""
EDITED_LOCATION = "lower left, 0.3 mm wide at the base"
REPAIRED = 2
"""The photo whose reply needed a repair (its confidence was written 'Moderate')."""


def inspection_reply(name: str, number: int) -> str:
    data = dict(LONG_REPLIES[name])
    if number == REPAIRED:
        data["confidence"] = "Moderate"
    return json.dumps(data, indent=2)


def deleted_ref(analyses) -> str:
    """The AI finding the inspector deletes: the last of the first photo after photo 1 with two or more."""
    findings = ai_findings(analyses)
    photo = next(f.photo for f in findings if f.photo > 1 and sum(o.photo == f.photo for o in findings) > 1)
    return [finding.ref for finding in findings if finding.photo == photo][-1]


def inspector_review(analyses) -> Review:
    """The inspector's record: every finding confirmed, one edited, one added, one deleted, photo 6 removed."""
    rows = [{**finding.to_row(), "status": AI_CONFIRMED} for finding in ai_findings(analyses)]
    rows[0].update(location=EDITED_LOCATION, condition_score="5", inspector_note="gauge fitted")
    rows.append({**rows[1], "ref": "", "defect_type": "corrosion", "location": "rebar at the spall", "extent": "0.1 m"})
    rows = [row for row in rows if row["photo"] != REMOVED and row["ref"] != deleted_ref(analyses)]
    kept = [result for result in analyses if result.number != REMOVED]
    review = Review.from_rows(replace(SIGNOFF, final=True), rows, kept, ConditionScale.NEN2767.definition)
    assert {EDITED, ADDED} <= {finding.status for finding in review.findings} and len(review.deleted) == 1
    return review


SHEETS = [
    Sheet("S-101", "Ground floor plan", sheet="1 of 4"),
    Sheet("S-102", "First floor plan", revision=None, sheet="2 of 4"),
    Sheet("S-101", "Roof plan", sheet="3 of 4"),
    Sheet("S-104", "Sections", scanned=True, sheet="4 of 4"),
]
READINGS = {
    "Ground floor plan": {"drawing_number": "S-1O1", "title": "Ground floor plan", "revision": "A"},  # misread
    "First floor plan": {"drawing_number": "S-102", "title": "First floor plan", "revision": None},
    "Roof plan": {"drawing_number": "S-101", "title": "Roof plan", "revision": "A"},
    None: {"drawing_number": "S-104", "title": "Sections", "revision": "B"},  # the scan: no text to go by
}


def reading(title_block: dict) -> str:
    block = {"date_of_issue": "2026-03-14", "scale": "1:100", "sheet": None, **title_block}
    return json.dumps({"drawing_kind": "floor plan", "title_block": block, "notes": [], "summary": "A plan."})
