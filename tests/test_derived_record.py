"""The record follows the observations: each finding's score is the condition NEN 2767 derives for its defect, a
photo's is its defects combined, the inspector's own score stands only with a reason, and every count (the cover's
chart, the summary, the map) is by the derived condition. Pure: no model, no process."""

from __future__ import annotations

import pytest

from image_analysis.analysis import Analysis
from image_analysis.errors import ReviewError
from image_analysis.model import Description
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from image_analysis.reports import document
from image_analysis.review import (
    EDITED,
    Review,
    SignOff,
    ai_findings,
    photo_condition,
    shown_score,
)
from tests.observation_corpus import _obs, _reply

NEN = ConditionScale.NEN2767
SCALE = NEN.definition


def _photo(number: int, reply: str, scale: ConditionScale = NEN) -> Analysis:
    request = AnalysisRequest(preset=Preset.INSPECTION, scale=scale)
    return Analysis(number, f"photo-{number}.jpg", request, None, Description(reply, "test-model"))


CRITICAL_SPREAD = _obs("critical", "final", ">= 70 %")
"""3 + 3 + 5 - 5: condition 6."""
SERIOUS_FIFTH = _obs("serious", "advanced", "10-30 %")
"""2 + 2 + 3 - 5: condition 2."""
MINOR_SPOT = _obs("minor", "initial", "< 2 %")
"""condition 1."""


def test_each_ai_finding_carries_its_defects_derived_condition_not_the_models_overall_score():
    rows = ai_findings([_photo(1, _reply(CRITICAL_SPREAD, SERIOUS_FIFTH, _obs("serious", "cannot tell"), score="4"))])
    assert [row.condition_score for row in rows] == ["6", "2", "4"], "the third cannot be told: the model's 4"
    assert [shown_score(row, SCALE, {1: "4"}) for row in rows] == [
        "6\u00a0(very poor)",
        "2\u00a0(good)",
        "4\u00a0(model's score, not derived)",
    ]
    assert photo_condition(rows, SCALE) == "6", "incomplete: the worst score of its findings, never a combination"
    [nbi] = ai_findings([_photo(1, _reply(CRITICAL_SPREAD, score="5"), ConditionScale.NBI)])
    assert nbi.condition_score == "5", "NBI: the rating stays the judgement given"


def test_a_photo_counts_at_its_combined_condition_on_the_cover_and_in_the_summary():
    # one serious defect over a fifth of the component, the rest sound: (20 x 1.02 + 80 x 1.00) / 100 = 1.004 -> 1
    fifth = _photo(1, _reply(SERIOUS_FIFTH, score="4"))
    # the worked case of the issue: one critical, final, >= 70 % and two minor: (85 x 2.00 + 2 x 1.00 + 13) -> 6
    worst = _photo(2, _reply(CRITICAL_SPREAD, MINOR_SPOT, MINOR_SPOT, score="5"))
    legacy = _photo(3, _reply({}, score="3"))
    report = document.build([fifth, worst, legacy])
    assert report.summary is not None
    counted = {label.split("\u00a0")[0]: count for label, count, _ in report.summary.counts}
    assert counted == {"1": 1, "6": 1, "3": 1}, "the model said 4 and 5; the standard says 1 and 6"
    assert report.summary.lines[0] == (
        "Each photo counts once, at its condition: its defects' conditions combined by NEN 2767's correction factors "
        "(each entry shows how); for 1 photo the condition is not derived (an observation of a defect not given, or "
        "one the photo cannot tell), and it counts at the worst score of its findings."
    )
    field = next(f.value for f in report.entries[0].fields if f.label == "NEN 2767 condition score")
    assert field == (
        "1\u00a0(excellent); derived by the standard: (20\u00d71.02 + 80\u00d71.00) / 100 = 1.0040; "
        "the model's overall score: 4\u00a0(mediocre)"
    )
    assert report.summary.table is not None
    assert [row[3] for row in report.summary.table.rows] == [
        "6\u00a0(very poor)",
        "3\u00a0(model's score, not derived)",
        "2\u00a0(good)",
        "1\u00a0(excellent)",
        "1\u00a0(excellent)",
    ]


def _rows(analyses: list[Analysis], **changes: str) -> list[dict[str, str]]:
    rows = [row.to_row() for row in ai_findings(analyses)]
    rows[0].update(changes)
    return rows


def test_a_score_left_as_it_was_follows_a_changed_observation():
    photos = [_photo(1, _reply(SERIOUS_FIFTH, score="4"))]
    review = Review.from_rows(SignOff(), _rows(photos, share=">= 70 %"), photos, SCALE)
    [row] = review.findings
    assert (row.condition_score, row.status) == ("4", EDITED), "2 + 2 + 5 - 5"
    cleared = Review.from_rows(SignOff(), _rows(photos, share="30-70 %", condition_score=""), photos, SCALE)
    assert cleared.findings[0].condition_score == "3", "an empty score (a workbook's formula) takes the derived one"


def test_the_inspectors_own_score_needs_a_reason_and_is_kept_over_the_derived_one():
    photos = [_photo(1, _reply(SERIOUS_FIFTH, score="4"))]
    with pytest.raises(ReviewError) as refused:
        Review.from_rows(SignOff(), _rows(photos, condition_score="5"), photos, SCALE)
    assert refused.value.column == "condition_score"
    assert "5 is not the condition NEN 2767 derives from what was observed (serious · advanced · 10-30 %: 2)" in str(
        refused.value
    )
    reason = "spalling behind the crack, found by hammer test"
    own = Review.from_rows(SignOff(), _rows(photos, condition_score="5", inspector_note=reason), photos, SCALE)
    [row] = own.findings
    assert row.condition_score == "5" and shown_score(row, SCALE, {1: "4"}) == "5\u00a0(inspector; derived 2)"
    assert photo_condition(own.findings, SCALE) == "3", "(20 x 1.70 + 80 x 1.00) / 100 = 1.14: the inspector's 5 counts"

    # the file read again as it was written from the record: the inspector's score is kept, not followed away
    again = Review.from_rows(SignOff(), [row.to_row()], photos, SCALE, before=own)
    assert again.findings[0].condition_score == "5"


def test_a_stale_score_follows_when_the_record_says_it_was_the_derived_one():
    photos = [_photo(1, _reply(SERIOUS_FIFTH, score="2"))]  # the model's overall 2: a 4 in a file is no carry-over
    first = Review.from_rows(SignOff(), _rows(photos, share=">= 70 %"), photos, SCALE)  # now 4, kept
    rows = [first.findings[0].to_row()]
    rows[0].update(share="30-70 %")  # the score cell still says 4
    with pytest.raises(ReviewError):
        Review.from_rows(SignOff(), rows, photos, SCALE)  # without the record: 4 looks typed, and differs from 3
    followed = Review.from_rows(SignOff(), rows, photos, SCALE, before=first)
    assert followed.findings[0].condition_score == "3", "2 + 2 + 4 - 5: the record knew 4 was derived"


def test_a_review_from_before_scores_were_derived_reads_with_the_derived_scores():
    """A CSV (or a kept decision) from before: every finding of a photo carried the model's overall score; confirmed
    as it was, it is no score of the inspector's: it reads as the derived one, not refused, not "inspector's"."""
    photos = [_photo(1, _reply(SERIOUS_FIFTH, MINOR_SPOT, score="4"))]
    rows = [{**row.to_row(), "condition_score": "4", "status": "AI, confirmed"} for row in ai_findings(photos)]
    review = Review.from_rows(SignOff(), rows, photos, SCALE)
    assert [row.condition_score for row in review.findings] == ["2", "1"]
    assert {row.status for row in review.findings} == {"AI, confirmed"}
    rows[0]["inspector_note"] = "spalling behind it"  # a reason: the 4 is the inspector's own
    assert Review.from_rows(SignOff(), rows, photos, SCALE).findings[0].condition_score == "4"
    added = {**rows[1], "ref": "", "status": "", "condition_score": "", "seriousness": "cannot tell from this photo"}
    [own] = [row for row in Review.from_rows(SignOff(), [*rows, added], photos, SCALE).findings if not row.ref]
    assert own.condition_score == "cannot tell from this photo", "an added defect is given no score of the model's"
