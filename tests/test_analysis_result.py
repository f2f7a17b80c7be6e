"""A failed and a successful analysis cannot be confused: exactly one of a description and an error, and a failure
says where it happened."""

from __future__ import annotations

import pytest

from image_analysis.analysis import INPUT, SERVICE, Analysis
from image_analysis.model import Description
from image_analysis.presets import AnalysisRequest

REQUEST = AnalysisRequest()
SAID = Description(text="A crack.", model="m")


def test_a_result_is_a_description_or_an_error():
    assert Analysis(1, "a.jpg", REQUEST, description=SAID).succeeded
    failed = Analysis(1, "a.jpg", REQUEST, error="The service is unreachable.", failed_at=SERVICE)
    assert not failed.succeeded
    assert Analysis.from_json(failed.to_json()) == failed


@pytest.mark.parametrize(
    "fields",
    [
        {},  # neither
        {"description": SAID, "error": "late", "failed_at": SERVICE},  # both
        {"error": "no place"},  # a failure that does not say where
        {"description": SAID, "failed_at": INPUT},  # a success that says it failed
        {"error": "bad", "failed_at": "somewhere"},
    ],
)
def test_a_confused_result_cannot_be_made(fields):
    with pytest.raises(ValueError, match="analysis"):
        Analysis(1, "a.jpg", REQUEST, **fields)
