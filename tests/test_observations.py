"""A defect's observations read field by field from the shapes real models write them in
(``tests/observation_corpus.py``), and the condition NEN 2767 derives from them. The suite prints how many fields
were recovered (see ``pytest_terminal_summary`` in conftest.py)."""

from __future__ import annotations

import json
from html import unescape

import pytest

from image_analysis.condition import NOT_OBSERVED, derive
from image_analysis.consistency import inspection_flags
from image_analysis.findings import InspectionFindings, parse_reply, response_schema
from image_analysis.observations import INTENSITIES, SERIOUSNESS, SHARES, read_share
from image_analysis.presets import CANNOT_TELL, ConditionScale, Preset
from tests.conftest import shared_image_path
from tests.helpers import cli, excel_rows, save_as_excel
from tests.observation_corpus import CASES, NOT_DERIVED, Case, _obs, _reply

NEN = ConditionScale.NEN2767
FIELDS: dict[str, tuple[int, int]] = {}
"""Per case: observation fields recovered, of those expected (read by conftest's terminal summary)."""


def _findings(case: Case) -> InspectionFindings:
    parsed = parse_reply(Preset.INSPECTION, case.reply, NEN)
    assert isinstance(parsed.findings, InspectionFindings), parsed.problem
    return parsed.findings


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30 and len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_defects_observations_are_read_field_by_field(case):
    findings = _findings(case)
    read = [(defect.seriousness, defect.intensity, defect.share) for defect in findings.defects]
    expected = [value for observed in case.observed for value in observed]
    got = [value for observed in read for value in observed]
    FIELDS[case.id] = (sum(a == b for a, b in zip(got, expected, strict=False)), len(expected))
    assert read == list(case.observed)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_photos_condition_is_derived_by_the_standard_or_said_to_be_incomplete(case):
    derivation = derive(_findings(case), NEN.definition)
    assert derivation is not None
    if case.condition == NOT_DERIVED:
        assert derivation.state == NOT_OBSERVED and "not derived" in derivation.how()
    else:
        assert derivation.condition == case.condition, derivation.how()


def test_a_repair_is_said_and_words_that_name_nothing_are_kept_in_the_defects_notes():
    parsed = parse_reply(Preset.INSPECTION, _reply(_obs("moderate to severe", "early stage", "20 %")), NEN)
    assert any("intensity 'early stage' read as initial" in repair for repair in parsed.repairs)
    assert any("'moderate to severe' is not one of the listed values" in repair for repair in parsed.repairs)
    [defect] = parsed.findings.defects
    assert defect.seriousness == CANNOT_TELL and "seriousness: moderate to severe" in defect.description
    nested = parse_reply(Preset.INSPECTION, _reply({"nen2767": {"ernst": 2, "conditie": 4}}), NEN)
    assert any("came inside 'nen2767'" in repair for repair in nested.repairs)
    assert any("'nen2767'" in repair and "not part of the findings" in repair for repair in nested.repairs)


def test_the_schema_and_the_prompt_ask_for_each_observation_with_cannot_tell():
    defect = response_schema(Preset.INSPECTION, NEN)["properties"]["defects"]["items"]["properties"]
    for name, words in (("seriousness", SERIOUSNESS), ("intensity", INTENSITIES), ("share", SHARES)):
        assert defect[name]["enum"] == [*words, CANNOT_TELL] and defect[name]["description"]


def test_the_model_two_steps_from_the_derived_condition_is_flagged_one_step_is_not():
    far = parse_reply(Preset.INSPECTION, _reply(_obs("critical", "final", ">= 70 %"), score="3"), NEN).findings
    near = parse_reply(Preset.INSPECTION, _reply(_obs("critical", "final", ">= 70 %"), score="5"), NEN).findings
    assert any("its own observations of the defects give 6" in flag for flag in inspection_flags(far, NEN.definition))
    assert not any("observations" in flag for flag in inspection_flags(near, NEN.definition))


def test_other_scales_keep_the_score_given():
    findings = parse_reply(
        Preset.INSPECTION, _reply(_obs("critical", "final", ">= 70 %"), score="4"), ConditionScale.NBI
    )
    assert derive(findings.findings, ConditionScale.NBI.definition) is None


@pytest.mark.parametrize("share", [-5, 101, "150 %", "lots"])
def test_a_share_that_is_no_share_is_not_read(share):
    assert read_share(share).value is None


def test_an_exact_reply_with_observations_needs_no_repair():
    exact = json.loads(_reply(_obs("serious", "advanced", "10-30 %")))
    parsed = parse_reply(Preset.INSPECTION, json.dumps(exact), NEN)
    assert parsed.repairs == ()


def test_an_observation_the_inspector_changes_is_kept_and_the_derived_condition_follows(model_service, tmp_path):
    reply = _reply(_obs("critical", "advanced", "10-30 %"), _obs("minor", "initial", "< 2 %"), score="3")
    model_service.reply(reply)
    store, exported = tmp_path / "results.sqlite", tmp_path / "findings.csv"
    photo = str(shared_image_path("crack_concrete_ozgenel_a.png"))
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0"}
    done = cli(
        "describe", photo, "--preset", "inspection", "--store", str(store), "--csv", str(exported), env_extra=env
    )
    assert done.returncode == 0, done.stderr
    rows = excel_rows(exported)
    assert (rows[0]["defect_seriousness"], rows[0]["defect_intensity"], rows[0]["defect_share"]) == (
        "critical",
        "advanced",
        "10-30 %",
    ), "the model's observations, in the CSV's review columns"
    rows[0]["defect_share"] = ">= 70 %"  # the inspector measured it: most of the wall
    edited = tmp_path / "edited.csv"
    save_as_excel(rows, edited)
    again, page = tmp_path / "again.csv", tmp_path / "report.html"
    done = cli("report", str(edited), "--store", str(store), "--csv", str(again), "--out", str(page))
    assert done.returncode == 0, done.stderr
    assert "1 decision kept in the store" in done.stderr
    first = excel_rows(again)[0]
    assert first["status"] == "edited by the inspector" and first["defect_share"] == ">= 70 %"
    assert (rows[0]["condition_score"], first["condition_score"]) == ("3", "5"), "the score left as it was follows"
    html = page.read_text(encoding="utf-8")
    assert "critical · advanced · &gt;= 70\u00a0%\u00a0→\u00a05" in html, "the units kept with their numbers"
    html = unescape(html)
    field = "5\u00a0(poor, maintenance overdue); derived by the standard: (85×1.70 + 15×1.00) / 100 = 1.5950"
    assert field + "; the model's overall score: 3\u00a0(fair, sufficient)" in html, "the photo's, combined"

    own = [dict(row) for row in excel_rows(again)]
    own[0]["condition_score"] = "6"  # the inspector's own score over the derived 5
    save_as_excel(own, edited)
    refused = cli("report", str(edited), "--store", str(store))
    assert (
        refused.returncode == 2 and "6 is not the condition NEN 2767 derives from what was observed" in refused.stderr
    )
    assert "give your reason for your own score in the inspector's note" in refused.stderr
    own[0]["inspector_note"] = "reinforcement exposed behind the spall: structural"
    save_as_excel(own, edited)
    done = cli("report", str(edited), "--store", str(store), "--csv", str(again), "--out", str(page))
    assert done.returncode == 0, done.stderr
    assert excel_rows(again)[0]["condition_score"] == "6", "the inspector's score, with a reason, is kept"
    html = unescape(page.read_text(encoding="utf-8"))
    assert "6\u00a0(inspector; derived 5)" in html
    assert "→\u00a05; the inspector's: 6" in html and "(85×2.00 + 15×1.00) / 100 = 1.8500" in html
    done = cli("report", "--store", str(store), "--csv", str(again))
    assert done.returncode == 0 and excel_rows(again)[0]["condition_score"] == "6", "kept as a decision"

    typo = [dict(row) for row in rows]
    typo[0]["defect_share"] = "lots"
    save_as_excel(typo, edited)
    refused = cli("report", str(edited), "--store", str(store))
    assert refused.returncode == 2 and "'lots' is not one of: < 2 %, 2-10 %" in refused.stderr


def test_the_appendix_gives_the_standards_tables_when_a_condition_was_derived_and_not_otherwise():
    from image_analysis.analysis import Analysis
    from image_analysis.model import Description
    from image_analysis.presets import AnalysisRequest
    from image_analysis.reports import document

    request = AnalysisRequest(preset=Preset.INSPECTION, scale=NEN)
    observed = Analysis(1, "a.jpg", request, None, Description(_reply(_obs("serious", "advanced", "10-30 %")), "m"))
    direct = Analysis(1, "b.jpg", request, None, Description(_reply({}), "m"))
    appendix = document.build([observed]).appendix
    (_, cells), (_, factors) = appendix.derivation  # every seriousness given: no defaults to show
    assert cells.rows[0] == ("critical", "initial", "1", "1", "2", "3", "4")
    assert cells.rows[-1] == ("minor", "final", "1", "1", "2", "3", "4")
    published = {"1": "1.00", "2": "1.02", "3": "1.10", "4": "1.30", "5": "1.70", "6": "2.00"}
    assert {row[0]: row[1] for row in factors.rows} == published
    assert any("kennispleinconditiemeten.nl" in text for text in appendix.derivation_intro), "its sources named"
    assert document.build([direct]).appendix.derivation == (), "no condition derived: no tables"
