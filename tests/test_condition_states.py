"""NBI / AASHTO: each defect's condition state by its definition where the photo shows what the definition measures
(a width read against a gauge in view), the model's estimate marked so otherwise, and the 0-9 rating shown as the
judgement it is, beside the states."""

from __future__ import annotations

import json

import pytest

from image_analysis.findings import parse_reply, response_schema
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from image_analysis.prompts import build_prompt
from image_analysis.reports import document
from image_analysis.standards.aashto import ConditionState, defect_state
from tests.observation_corpus import _reply
from tests.test_derived_record import _photo

GAUGE = "the crack gauge held to the wall"


@pytest.mark.parametrize(
    ("width", "element", "state", "defect"),
    [
        (0.2, "reinforced concrete pier", ConditionState.GOOD, "1130"),
        (0.8, "reinforced concrete pier", ConditionState.FAIR, "1130"),
        (1.5, "reinforced concrete pier", ConditionState.POOR, "1130"),
        (0.05, "prestressed concrete girder", ConditionState.GOOD, "1110"),
        (0.2, "prestressed concrete girder", ConditionState.FAIR, "1110"),
        (0.3, "prestressed concrete girder", ConditionState.POOR, "1110"),
    ],
)
def test_a_measured_crack_gets_its_state_by_the_definition(width, element, state, defect):
    found = defect_state("crack", element, width, GAUGE, ConditionState.SEVERE)
    assert (found.state, found.measured, found.defect) == (state, True, defect), "the measure wins over the estimate"


def test_without_anything_in_view_to_measure_against_the_state_is_the_models_estimate():
    assert defect_state("crack", "pier", 1.5, "", ConditionState.FAIR).text() == "CS2, the model's estimate"
    assert defect_state("spalling", "deck", 100, "ruler", None).text() == (
        "CS2, from 100 mm read against ruler (AASHTO 1080)"
    )
    assert defect_state("spalling", "deck", 200, "ruler", None).state is ConditionState.POOR
    assert defect_state("efflorescence", "deck", 5, "ruler", None) is None, "no definition measured, no estimate"


def test_the_nbi_prompt_and_schema_ask_for_states_and_measures_and_nen_does_not():
    nbi = response_schema(Preset.INSPECTION, ConditionScale.NBI)["properties"]["defects"]["items"]
    nen = response_schema(Preset.INSPECTION, ConditionScale.NEN2767)["properties"]["defects"]["items"]
    assert {"condition_state", "measured_mm", "measured_against"} <= set(nbi["required"])
    assert not {"condition_state", "measured_mm", "measured_against"} & set(nen["properties"])
    asked = build_prompt(AnalysisRequest(preset=Preset.INSPECTION, scale=ConditionScale.NBI)).user
    assert "never estimate a measure without one" in asked and '"measured_against"' in asked
    assert "condition_state" not in build_prompt(AnalysisRequest(preset=Preset.INSPECTION)).user


def test_states_as_models_write_them_are_read_and_shown_beside_the_judged_rating():
    reply = _reply(
        {"condition_state": "CS2", "crack_width_mm": "0.8 mm", "reference": GAUGE},
        {"type": "spalling", "state": "poor", "measured_mm": None, "measured_against": ""},
        {"type": "crack", "condition_state": "fair", "measured_mm": 2.0, "measured_against": ""},
        score="5",
        element="reinforced concrete pier",
    )
    parsed = parse_reply(Preset.INSPECTION, reply, ConditionScale.NBI)
    assert [defect.condition_state for defect in parsed.findings.defects] == ["CS2", "CS3", "CS2"]
    assert "condition state 'poor' read as CS3" in parsed.repairs
    report = document.build([_photo(1, reply, ConditionScale.NBI)])
    entry = report.entries[0]
    rating = next(field.value for field in entry.fields if field.label.startswith("NBI"))
    assert rating == (
        "5\u00a0(fair); a judgement (the AASHTO manual gives no formula from condition states to the rating); "
        "condition states: CS3 \u00d71, CS2 \u00d72 (1 measured, 2 the model's estimates)"
    )
    descriptions = [row[4] for row in entry.findings.rows]
    assert descriptions[0].endswith(f"Condition state: CS2, from 0.8\u00a0mm read against {GAUGE} (AASHTO 1130).")
    assert descriptions[1].endswith("Condition state: CS3, the model's estimate.")
    assert descriptions[2].endswith("Condition state: CS2, the model's estimate."), "2 mm, but against nothing"
    assert report.appendix.derivation_title == "How the condition states were found"
    [(_, table)] = report.appendix.derivation
    assert [cell.replace("\u00a0", " ") for cell in table.rows[0]] == [
        "1130",
        "crack in reinforced concrete",
        "narrower than 0.30 mm",
        "0.30-1.27 mm wide",
        "wider than 1.27 mm",
    ]

    nen = document.build([_photo(1, reply)])
    assert "Condition state" not in json.dumps([row for row in nen.entries[0].findings.rows])


@pytest.mark.parametrize(
    ("said", "mm"),
    [
        (0.8, 0.8),
        ("0,8 mm", 0.8),
        ("8 cm", 80.0),
        ("about 2 metres", 2000.0),
        ("0.3 mm wide", 0.3),
        ("0.05 in", None),
        ('1/16"', None),
        ("-1", None),
        ("wide", None),
    ],
)
def test_a_measure_is_read_in_millimetres_and_never_guessed_from_another_unit(said, mm):
    from image_analysis.observations import read_measure

    assert read_measure(said) == mm
