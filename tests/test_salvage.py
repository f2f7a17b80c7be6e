"""The salvage parser against a corpus of replies shaped like what real vision models write (tests/reply_corpus.py):
each comes out as the findings it was meant to give, every repair is said, and a reply without JSON keeps its text.
The suite prints the recovery rate (see ``pytest_terminal_summary`` in conftest.py)."""

from __future__ import annotations

import csv
import io

import pytest

from image_analysis import analysis, reports
from image_analysis.findings import DrawingFindings, InspectionFindings, parse_reply
from image_analysis.json_salvage import salvage_json
from image_analysis.model import ServiceSettings
from image_analysis.presets import AnalysisRequest, Preset
from image_analysis.reports import html_page as render_page
from tests.conftest import shared_image_path
from tests.reply_corpus import CASES, ISSUE_CASES, Case

RECOVERY: dict[str, bool] = {}
"""Outcome per corpus case, read by conftest's terminal summary."""


def actual(findings: InspectionFindings | DrawingFindings, key: str):
    """The value an expectation names: a field, a title block field, or a summary of the defects or lists."""
    if isinstance(findings, InspectionFindings):
        defects = findings.defects
        derived = {
            "defect_types": [defect.type for defect in defects],
            "defect_locations": [defect.location for defect in defects],
            "defect_extents": [defect.extent for defect in defects],
            "defect_notes_start": [defect.description.split(":")[0] for defect in defects],
        }
        if key in derived:
            return derived[key]
    else:
        derived = {
            "questions_count": len(findings.questions),
            "notes_count": len(findings.notes),
            "summary_contains": findings.summary,
        }
        if key in derived:
            return derived[key]
        if key in type(findings.title_block).model_fields:
            return getattr(findings.title_block, key)
    return getattr(findings, key)


def check(case: Case) -> list[str]:
    """What differs between the parsed reply and what the case expects (empty when recovered)."""
    parsed = parse_reply(case.preset, case.reply, case.scale)
    if not case.findings:
        return [] if parsed.findings is None and parsed.problem else [f"expected no findings, got {parsed}"]
    if parsed.findings is None:
        return [f"no findings: {parsed.problem}"]
    wrong = []
    for key, expected in case.expected.items():
        value = actual(parsed.findings, key)
        ok = expected in value if key == "summary_contains" else value == expected
        if not ok:
            wrong.append(f"{key}: expected {expected!r}, got {value!r}")
    if case.repair and not any(case.repair in repair for repair in parsed.repairs):
        wrong.append(f"no repair says {case.repair!r}: {parsed.repairs}")
    return wrong


def test_the_corpus_is_large_enough_and_covers_the_issue():
    assert len(CASES) >= 60
    assert len(ISSUE_CASES) == 26
    assert {case.preset for case in CASES} == {Preset.INSPECTION, Preset.DRAWING}
    assert len({case.id for case in CASES}) == len(CASES), "case ids are unique"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_reply_comes_out_as_the_findings_it_meant(case):
    wrong = check(case)
    RECOVERY[case.id] = not wrong
    assert not wrong, "; ".join(wrong)


def test_a_repaired_reply_says_what_was_repaired_and_loses_no_words():
    parsed = parse_reply(
        Preset.INSPECTION, next(c for c in CASES if c.id == "'Delamination' is other, the word kept").reply
    )
    assert parsed.findings.defects[0].type == "other"
    assert parsed.findings.defects[0].description.startswith("Delamination")
    assert any("'Delamination' is not on the list" in repair for repair in parsed.repairs)


def test_an_exact_reply_needs_no_repair():
    case = next(c for c in CASES if c.id == "exactly as asked")
    assert parse_reply(case.preset, case.reply).repairs == ()


def test_a_reply_nested_too_deep_is_refused_without_recursion():
    parsed = parse_reply(Preset.INSPECTION, '{"a": [' * 50_000 + "]}" * 50_000)
    assert parsed.findings is None and "levels deep" in parsed.problem


def test_salvage_keeps_every_complete_field_of_a_cut_off_reply():
    salvaged = salvage_json('{"element": "beam", "material": "steel", "summary": "The beam is corr')
    assert salvaged.value == {"element": "beam", "material": "steel"}
    assert salvaged.cut_off


def test_a_long_broken_reply_is_salvaged_quickly():
    """json-repair is pure Python: a 100,000-character reply with a syntax fault must still be read."""
    defects = ", ".join(f'{{"type": "crack", "location": "bay {n}", "extent": "1 m",}}' for n in range(1200))
    text = '{"element": "wall", "defects": [' + defects + '], "condition_score": "3"}'
    parsed = parse_reply(Preset.INSPECTION, text[:100_000])
    assert parsed.findings is not None and len(parsed.findings.defects) > 1000


@pytest.mark.process
def test_the_26_shapes_of_the_issue_come_out_in_the_csv(model_service):
    """As a user would see them: through the real client, the pipeline and the findings CSV."""
    upload = analysis.Upload("photo.webp", shared_image_path("webp_photo_flower.webp").read_bytes())
    request = AnalysisRequest(preset=Preset.INSPECTION)
    recovered = []
    for case in ISSUE_CASES:
        model_service.server.clear()
        model_service.reply(case.reply)
        result = analysis.analyse(upload, request, ServiceSettings.from_environment())
        rows = list(csv.DictReader(io.StringIO(reports.findings_csv([result]).lstrip("\ufeff"))))
        expected = case.expected
        got = (rows[0]["element"], rows[0]["condition_score"], [row["defect_type"] for row in rows if row["defect"]])
        if got == (expected["element"], expected["condition_score"], expected["defect_types"]):
            recovered.append(case.id)
    assert len(recovered) >= 24, (
        f"recovered {len(recovered)} of 26: missing {set(c.id for c in ISSUE_CASES) - set(recovered)}"
    )


def test_a_reply_without_json_still_shows_its_text(preparation_for_page):
    from tests.conftest import make_analysis

    page = render_page(
        make_analysis(preparation_for_page, "A column with a vertical crack <b>here</b>.", preset="inspection")
    )
    assert "A column with a vertical crack &lt;b&gt;here&lt;/b&gt;." in page
    assert "did not come in the findings format" in page


def test_the_page_lists_the_repairs_and_keeps_the_raw_reply_one_click_away(preparation_for_page):
    from tests.conftest import make_analysis

    text = next(c for c in CASES if c.id == "score '3 (moderate)'").reply
    page = render_page(make_analysis(preparation_for_page, text, preset="inspection"))
    assert "score &#39;3 (moderate)&#39; read as 3" in page
    assert '<details class="raw-reply">' in page and "3 (moderate)" in page.split('<details class="raw-reply">')[1]


def test_the_word_report_shows_the_repair_note_not_the_raw_reply(preparation_for_page):
    from docx import Document

    from tests.conftest import make_analysis

    text = "Sure! Here it is:\n" + next(c for c in CASES if c.id == "confidence 'Moderate'").reply
    document = Document(
        io.BytesIO(reports.word_report([make_analysis(preparation_for_page, text, preset="inspection")]))
    )
    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    appendix = paragraphs[paragraphs.index("How the model's replies were read") :]
    assert "•\tconfidence 'Moderate' read as medium" in appendix, "the repair is said in the appendix"
    assert not any("Moderate" in paragraph for paragraph in paragraphs[: paragraphs.index("Appendix")])
    assert not any("Sure! Here it is" in paragraph for paragraph in paragraphs)
