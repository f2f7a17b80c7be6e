"""A reply that contradicts itself, found by code and shown to the reviewer as a flag on the photo, never silently.

A model may list exposed rebar and give the best condition score, or list no defects and a poor score. Nothing is
changed: each contradiction becomes one sentence ("Check: ...") beside the findings on the page, in the Word report
and on the command line, so that the inspector settles it before signing.
"""

from __future__ import annotations

from image_analysis.condition import cross_check, derive
from image_analysis.findings import InspectionFindings
from image_analysis.presets import ConditionStandard

SERIOUS_DEFECTS = ("exposed rebar", "deformation", "spalling", "corrosion")
"""Defect types that are never compatible with the best condition on any scale."""


def inspection_flags(findings: InspectionFindings, scale: ConditionStandard) -> tuple[str, ...]:
    """The contradictions between a reply's defects, condition score and urgency, each as one sentence."""
    codes = scale.codes
    score = findings.condition_score
    derived = cross_check(findings, derive(findings, scale))
    if score not in codes:
        return (derived,) if derived else ()
    rank = codes.index(score)
    best, poor = rank == 0, rank >= (len(codes) + 1) // 2
    named = f"{score} ({scale.meaning(score)})"
    serious = sorted({defect.type for defect in findings.defects if defect.type in SERIOUS_DEFECTS})
    flags = []
    if best and serious:
        flags.append(f"{' and '.join(serious)} listed, yet the condition score is the best one, {named}.")
    if not findings.defects and poor:
        flags.append(f"no defects listed, yet the condition score is {named}.")
    if best and findings.urgency == "immediate":
        flags.append(f"urgency 'immediate' with the best condition score, {named}.")
    if rank == len(codes) - 1 and findings.urgency in ("none", "next inspection"):
        flags.append(f"urgency '{findings.urgency}' with the worst condition score, {named}.")
    return (*(f"Check: {flag}" for flag in flags), *((derived,) if derived else ()))
