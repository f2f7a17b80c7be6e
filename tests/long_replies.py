"""Inspection replies as long as a real vision model writes them for a site photo (1.5-3 kB of JSON: several defects,
each with its own notes, a rationale of two or three sentences, a list of what cannot be told), one per shared photo:
the report layout is judged with these, not with one-line replies."""

from __future__ import annotations

import json
from typing import Any


def _defect(kind: str, where: str, extent: str, notes: str) -> dict[str, str]:
    return {"type": kind, "location": where, "extent": extent, "description": notes}


LONG_REPLIES: dict[str, dict[str, Any]] = {
    "crack_concrete_ozgenel_a.png": {
        "element": "concrete retaining wall, exposed face",
        "material": "cast-in-place reinforced concrete",
        "defects": [
            _defect(
                "crack",
                "lower left, running diagonally towards the centre",
                "about 0.8 m long, up to 0.3 mm",
                "A single continuous crack with slightly rounded edges; no offset between the faces is visible.",
            ),
            _defect("crack", "upper right, branching from the main crack", "0.2 m", "Hairline branch, dry."),
            _defect(
                "efflorescence",
                "along the lower half of the main crack",
                "narrow band, 2-3 cm wide",
                "White deposits suggest water has passed through the crack at some time.",
            ),
            _defect(
                "spalling",
                "bottom edge near the left corner",
                "0.1 x 0.05 m",
                "Small loss of cover; no reinforcement is exposed in this photo.",
            ),
        ],
        "condition_score": "4",
        "condition_rationale": "Several cracks with traces of water passing through them and a small spall. The "
        "defects are local but their extent and the signs of moisture make the condition mediocre; the cause and "
        "the depth of the cracking cannot be judged from the surface alone.",
        "recommended_action": "Measure the crack widths with a crack gauge, inject the main crack and repair the "
        "spalled edge within the maintenance programme.",
        "urgency": "within months",
        "confidence": "medium",
        "cannot_tell": [
            "the depth of the cracks",
            "whether the reinforcement is corroding",
            "whether the crack is still moving",
        ],
        "summary": "The exposed face of a concrete retaining wall with a diagonal crack, a branching hairline crack, "
        "white efflorescence along the crack and a small spall at the bottom edge.",
    },
    "crack_concrete_ozgenel_b.png": {
        "element": "concrete retaining wall, exposed face",
        "material": "reinforced concrete",
        "defects": [
            _defect(
                "crack",
                "centre of the photo, vertical",
                "about 0.5 m, hairline to 0.2 mm",
                "Straight vertical crack typical of shrinkage; clean edges, no deposits.",
            ),
            _defect(
                "crack",
                "right third, short horizontal crack",
                "0.15 m",
                "Meets the vertical crack at a right angle; may follow a construction joint.",
            ),
            _defect(
                "honeycombing",
                "lower right corner",
                "0.2 x 0.1 m",
                "Voids in the surface where the concrete was not fully compacted.",
            ),
        ],
        "condition_score": "3",
        "condition_rationale": "Fine cracking and local honeycombing without signs of water or corrosion. The "
        "condition is fair and sufficient for now.",
        "recommended_action": "Record the crack widths and check again at the next inspection; fill the "
        "honeycombing when the wall is next maintained.",
        "urgency": "next inspection",
        "confidence": "medium",
        "cannot_tell": ["the crack widths to a tenth of a millimetre", "the concrete cover"],
        "summary": "A vertical hairline crack with a short horizontal branch and a small area of honeycombing in the "
        "lower right corner of the wall.",
    },
    "corrosion_rusty_metal_05_polyhaven_1k.jpg": {
        "element": "steel railing post and base plate",
        "material": "painted structural steel",
        "defects": [
            _defect(
                "corrosion",
                "whole visible surface",
                "100 % of the surface, pitting in places",
                "The coating has failed over the whole surface; flaking rust with pitting, thickest near the top.",
            ),
            _defect(
                "missing or damaged fixing",
                "lower edge, where a bolt head would be",
                "one fixing",
                "A round mark with rust streaks where a bolt or rivet appears to be missing.",
            ),
            _defect(
                "water ingress/staining",
                "streaks running down from the top edge",
                "0.3 m",
                "Rust-coloured streaks show water running over the surface and collecting at the bottom.",
            ),
        ],
        "condition_score": "5",
        "condition_rationale": "Corrosion over the whole surface with pitting and a missing fixing. Section loss "
        "is likely and maintenance is overdue; whether the post still carries its design load cannot be judged "
        "from the photo.",
        "recommended_action": "Measure the remaining steel thickness, replace the missing fixing, blast-clean and "
        "recoat; replace the post if the section loss exceeds 10 %.",
        "urgency": "within weeks",
        "confidence": "high",
        "cannot_tell": ["the remaining thickness of the steel", "whether the post is loose"],
        "summary": "Heavily corroded steel with failed coating, pitting, rust streaks and a missing fixing at the "
        "lower edge.",
    },
    "infrastructure_metro_vault_ustreet.jpg": {
        "element": "metro station vault and platform ceiling",
        "material": "precast concrete coffers",
        "defects": [
            _defect(
                "water ingress/staining",
                "crown of the vault above the platform",
                "about 2 m2",
                "Dark staining between coffers, consistent with water entering at the joints.",
            ),
            _defect(
                "efflorescence",
                "coffer joints left of the centre line",
                "several joints, 0.5 m each",
                "White deposits along the joints.",
            ),
            _defect(
                "debris",
                "on top of the light fittings",
                "small",
                "Dust and loose material collected on the fittings; not a structural defect but worth removing.",
            ),
        ],
        "condition_score": "3",
        "condition_rationale": "Local water staining and efflorescence at the joints; the coffers themselves show "
        "no cracking or spalling at this distance. Fair, sufficient condition.",
        "recommended_action": "Inspect the joints at close range from a platform lift and reseal those that leak.",
        "urgency": "within months",
        "confidence": "low",
        "cannot_tell": [
            "whether the joints are actively leaking",
            "the condition above the coffers",
            "fine cracks, at this distance and in this light",
        ],
        "summary": "The coffered concrete vault of a metro station with water staining and efflorescence at several "
        "joints near the crown.",
    },
    "building_arena_stage_highsmith.jpg": {
        "element": "arena roof truss and stage rigging",
        "material": "steel",
        "defects": [
            _defect(
                "debris",
                "lower right, on the stage floor",
                "small",
                "Loose items and cables on the floor near the stage edge.",
            ),
            _defect(
                "deformation",
                "one diagonal member of the truss, upper left",
                "cannot be measured",
                "The member appears slightly bowed in the photo; this may be the lens.",
            ),
        ],
        "condition_score": "cannot tell from this photo",
        "condition_rationale": "The truss is too far away and too dark to judge its condition; the apparent bow in "
        "one member may be lens distortion.",
        "recommended_action": "Inspect the truss at close range; check the straightness of the diagonal member.",
        "urgency": "next inspection",
        "confidence": "low",
        "cannot_tell": ["the condition of the truss connections", "whether the member is really bowed"],
        "summary": "The interior of an arena with a steel roof truss over the stage; the structure is too far away to "
        "judge.",
    },
    "site_aerial_construction_caliterra_IMG_9402.jpg": {
        "element": "construction site, ground works and temporary roads",
        "material": "soil, gravel and concrete",
        "defects": [
            _defect(
                "water ingress/staining",
                "standing water in the excavation, centre left",
                "about 15 m2",
                "Ponding water at the bottom of the excavation; the drainage may not be working.",
            ),
            _defect(
                "debris",
                "along the site boundary, right side",
                "several heaps",
                "Stockpiled material and waste close to the boundary fence.",
            ),
            _defect(
                "vegetation",
                "slope at the top of the photo",
                "large area",
                "Grass and shrubs on the slope; not a defect in itself.",
            ),
        ],
        "condition_score": "3",
        "condition_rationale": "Ponding water and stockpiles are common on a site at this stage; nothing in the "
        "photo shows a failing slope or structure.",
        "recommended_action": "Check the site drainage and the pumps; keep the stockpiles away from the edge of the "
        "excavation.",
        "urgency": "within weeks",
        "confidence": "low",
        "cannot_tell": ["the stability of the slopes", "the depth of the water"],
        "summary": "An aerial view of a construction site with an excavation holding standing water, stockpiled "
        "material and temporary roads.",
    },
    "exif_orientation_6_landscape.jpg": {
        "element": "test chart",
        "material": "printed paper",
        "defects": [],
        "condition_score": "cannot tell from this photo",
        "condition_rationale": "The photo shows a test pattern, not a structure.",
        "recommended_action": "none",
        "urgency": "none",
        "confidence": "high",
        "cannot_tell": ["anything about a structure"],
        "summary": "A test image without a structure in it.",
    },
    "heic_iphone13pro_gps_pug.heic": {
        "element": "No structure: the photo shows a dog lying on a floor",
        "material": "",
        "defects": [],
        "condition_score": "cannot tell from this photo",
        "condition_rationale": "There is no structure in the photo to judge.",
        "recommended_action": "Take a photo of the element to be inspected.",
        "urgency": "none",
        "confidence": "high",
        "cannot_tell": ["anything about a structure"],
        "summary": "A photo of a pug on a wooden floor; no structure is shown.",
    },
}
"""Per shared photo, the reply a real model gives (in the order the tests upload them)."""

OBSERVED = {
    "crack_concrete_ozgenel_a.png": [
        ("critical", "advanced", "10-30 %"),
        ("minor", "initial", "< 2 %"),
        ("serious", "advanced", "2-10 %"),
        ("serious", "initial", "< 2 %"),
    ],
    "crack_concrete_ozgenel_b.png": [
        ("serious", "initial", "2-10 %"),
        ("minor", "initial", "< 2 %"),
        ("serious", "advanced", "< 2 %"),
    ],
    "corrosion_rusty_metal_05_polyhaven_1k.jpg": [
        ("critical", "advanced", ">= 70 %"),
        ("serious", "final", "< 2 %"),
        ("minor", "advanced", "10-30 %"),
    ],
    "infrastructure_metro_vault_ustreet.jpg": [
        ("serious", "advanced", "10-30 %"),
        ("minor", "advanced", "10-30 %"),
        ("minor", "initial", "< 2 %"),
    ],
    "building_arena_stage_highsmith.jpg": [
        ("minor", "initial", "< 2 %"),
        ("serious", "cannot tell from this photo", "cannot tell from this photo"),
    ],
    "site_aerial_construction_caliterra_IMG_9402.jpg": [
        ("serious", "advanced", "10-30 %"),
        ("minor", "initial", "2-10 %"),
        ("minor", "advanced", "30-70 %"),
    ],
}
"""What the model observed of each defect (seriousness, intensity, share affected), as it is asked to since issue 30;
the condition NEN 2767 derives from them may differ from the model's own overall score, which the reports then flag."""
for _name, _observed in OBSERVED.items():
    for _defect_reply, (_seriousness, _intensity, _share) in zip(
        LONG_REPLIES[_name]["defects"], _observed, strict=True
    ):
        _defect_reply.update(seriousness=_seriousness, intensity=_intensity, share=_share)


def long_reply(name: str, indent: int | None = 2) -> str:
    return json.dumps(LONG_REPLIES[name], indent=indent, ensure_ascii=False)


_STEP = {"minor": 1, "serious": 2, "critical": 3, "initial": 1, "advanced": 2, "final": 3}
_EXTENT = {"< 2 %": 1, "2-10 %": 2, "10-30 %": 3, "30-70 %": 4, ">= 70 %": 5}


def defect_scores(name: str) -> list[str]:
    """Each defect's NEN 2767 condition as the published table gives it (every cell is ``max(1, S + I + E - 5)``),
    written out here apart from the code under test; the reply's overall score for a defect it cannot tell."""
    reply = LONG_REPLIES[name]
    return [
        str(max(1, _STEP[seriousness] + _STEP[intensity] + _EXTENT[share] - 5))
        if {seriousness, intensity, share} <= {*_STEP, *_EXTENT}
        else str(reply["condition_score"])
        for seriousness, intensity, share in OBSERVED.get(name, [])
    ]
