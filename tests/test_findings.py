"""Structured findings: the prompt asks for them, the parser validates them, and a bad reply is never an error."""

from __future__ import annotations

import json

import pytest

from image_analysis.findings import (
    CANNOT_TELL,
    DEFECT_TYPES,
    STATE_FIELDS,
    Defect,
    DrawingFindings,
    InspectionFindings,
    TitleBlock,
    inspection_template,
    parse_reply,
)
from image_analysis.presets import AnalysisRequest, ConditionScale, Language, Preset
from image_analysis.prompts import DRAWING_TEMPLATE, build_prompt

INSPECTION_REPLY = {
    "element": "reinforced concrete column",
    "material": "concrete",
    "defects": [
        {"type": "Crack", "location": "centre, running top to bottom", "extent": "about 1.5 m", "description": ""},
        {"type": "exposed rebar", "location": "lower right", "extent": "two bars, 20 cm"},
        {"type": "graffiti", "location": "left edge", "extent": "small"},
    ],
    "condition_score": 5,
    "condition_rationale": "corroding exposed reinforcement",
    "recommended_action": "repair concrete cover",
    "urgency": "within months",
    "confidence": "Medium",
    "cannot_tell": ["the depth of the crack"],
    "summary": "Cracked column with exposed, corroding reinforcement.",
}


def test_the_prompt_templates_have_exactly_the_models_fields():
    for scale in ConditionScale:
        template = inspection_template(scale)
        assert set(template) == set(InspectionFindings.model_fields)
        asked = set(Defect.model_fields) - (set() if scale.definition.states else set(STATE_FIELDS))
        assert set(template["defects"][0]) == asked, "a defect's condition state only where the scale has them"
    assert set(DRAWING_TEMPLATE) == set(DrawingFindings.model_fields)
    assert set(DRAWING_TEMPLATE["title_block"]) == set(TitleBlock.model_fields)


@pytest.mark.parametrize("scale", list(ConditionScale))
def test_the_inspection_prompt_names_the_scale_the_vocabulary_and_cannot_tell(scale):
    prompt = build_prompt(AnalysisRequest(preset=Preset.INSPECTION, scale=scale)).user
    assert scale.definition.name in prompt
    assert all(code in prompt for code in scale.definition.codes)
    assert all(kind in prompt for kind in DEFECT_TYPES)
    assert CANNOT_TELL in prompt and "JSON" in prompt


@pytest.mark.parametrize("language", [Language.NL, Language.DE, Language.FR])
def test_the_output_language_is_asked_for(language):
    for preset in Preset:
        prompt = build_prompt(AnalysisRequest(preset=preset, language=language)).user
        assert f"Write all free text in {language.english_name}" in prompt
    assert "Write all free text" not in build_prompt(AnalysisRequest(language=Language.EN)).user


def test_a_question_goes_with_any_preset():
    for preset in Preset:
        assert (
            "Is the crack structural?"
            in build_prompt(AnalysisRequest(preset, question="Is the crack structural?")).user
        )


def test_an_inspection_reply_is_validated_and_normalised():
    parsed = parse_reply(Preset.INSPECTION, "```json\n" + json.dumps(INSPECTION_REPLY) + "\n```")
    findings = parsed.findings
    assert parsed.problem is None
    assert findings.condition_score == "5"
    assert [defect.type for defect in findings.defects] == ["crack", "exposed rebar", "other"]
    assert findings.defects[2].description.startswith("graffiti")
    assert findings.confidence == "medium"


@pytest.mark.parametrize(
    ("scale", "given", "kept"),
    [
        (ConditionScale.NEN2767, "3", "3"),
        (ConditionScale.NEN2767, "7", CANNOT_TELL),
        (ConditionScale.NBI, 0, "0"),
        (ConditionScale.LMH, "high", "High"),
        (ConditionScale.LMH, "4", CANNOT_TELL),
        (ConditionScale.NBI, "Cannot tell from this photo.", CANNOT_TELL),
    ],
)
def test_a_score_must_be_on_the_named_scale(scale, given, kept):
    parsed = parse_reply(Preset.INSPECTION, json.dumps({**INSPECTION_REPLY, "condition_score": given}), scale)
    assert parsed.findings.condition_score == kept
    if kept == CANNOT_TELL and not str(given).lower().startswith("cannot"):
        assert f"'{given}'" in parsed.findings.condition_rationale


def test_a_drawing_reply_is_validated():
    reply = {
        "drawing_kind": "floor plan",
        "title_block": {"drawing_number": "S-101", "revision": "C", "scale": "1:100", "sheet": 1},
        "notes": ["1. ALL DIMENSIONS IN MILLIMETRES UNLESS NOTED OTHERWISE."],
        "dimensions": [5000, "overall 21000"],
        "grid_lines": ["A-E", "1-4"],
        "questions": ["Overall dimension 21000 does not equal 4 x 5000."],
        "summary": "Ground floor plan.",
    }
    findings = parse_reply(Preset.DRAWING, json.dumps(reply)).findings
    assert findings.title_block.drawing_number == "S-101" and findings.title_block.sheet == "1"
    assert findings.dimensions == ["5000", "overall 21000"]
    assert findings.title_block.approver is None


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("The photo shows a wall.", "no JSON object"),
        ('{"answer": "a wall", "ok": true}', "none of the findings' fields"),
        ("[1, 2, 3]", "no JSON object"),
        ('[{"a": 1}, {"b": 2}]', "none of the findings' fields"),
    ],
)
def test_a_reply_without_findings_says_why_instead_of_failing(reply, problem):
    parsed = parse_reply(Preset.INSPECTION, reply)
    assert parsed.findings is None and problem in parsed.problem


def test_a_field_that_does_not_fit_costs_no_other():
    reply = {**INSPECTION_REPLY, "confidence": {"level": "?"}, "defects": [{"type": ["crack"]}, 42]}
    parsed = parse_reply(Preset.INSPECTION, json.dumps(reply))
    findings = parsed.findings
    assert findings.element == INSPECTION_REPLY["element"] and findings.condition_score == "5"
    assert findings.confidence is None and any("confidence" in repair for repair in parsed.repairs)
    assert [defect.type for defect in findings.defects] == ["crack"]


def test_a_general_description_has_no_findings():
    assert parse_reply(Preset.GENERAL, '{"element": "wall"}').findings is None
    assert parse_reply(Preset.GENERAL, '{"element": "wall"}').problem is None
