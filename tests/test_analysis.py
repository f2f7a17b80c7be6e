"""Batches against a local model service: bounded concurrency, upload order, failures in their place."""

from __future__ import annotations

import json
import threading
import time

import pytest
from werkzeug import Response

from image_analysis import analysis, model
from image_analysis.presets import AnalysisRequest, Preset
from tests.conftest import completion_body, shared_image_path

PHOTOS = [
    "webp_photo_flower.webp",
    "crack_concrete_ozgenel_a.png",
    "corrupt_truncated_jpeg.jpg",
    "crack_concrete_ozgenel_b.png",
    "png_rgba_transparent.png",
    "animated_iss634.webp",
]


def uploads(names=PHOTOS) -> list[analysis.Upload]:
    return [analysis.Upload(name, shared_image_path(name).read_bytes()) for name in names]


class Recorder:
    """A handler that answers with the image's own request number after a delay, and counts requests in flight."""

    def __init__(self, delay: float = 0.2, fail_on: str | None = None) -> None:
        self.delay, self.fail_on = delay, fail_on
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0

    def __call__(self, request):
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            body = request.get_json()
            url = next(part["image_url"]["url"] for part in body["messages"][1]["content"] if "image_url" in part)
            time.sleep(self.delay)
            if self.fail_on and self.fail_on in url[:40]:
                return Response(
                    json.dumps({"error": {"message": "limit"}}), status=429, content_type="application/json"
                )
            return Response(json.dumps(completion_body(f"bytes={len(url)}")), content_type="application/json")
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.mark.slow
def test_a_batch_keeps_upload_order_and_puts_each_failure_in_its_place(threaded_model_service):
    recorder = Recorder()
    threaded_model_service.handle(recorder)
    progress = []
    results = analysis.analyse_batch(
        uploads(),
        AnalysisRequest(),
        model.ServiceSettings.from_environment(),
        concurrency=3,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert [result.number for result in results] == [1, 2, 3, 4, 5, 6]
    assert [result.name for result in results] == PHOTOS
    broken = results[2]
    assert broken.error and "truncated" in broken.error and broken.failed_at == analysis.INPUT
    for result in results[:2] + results[3:]:
        assert result.error is None
        assert result.description.text == f"bytes={len(result.preparation.images[0].data_uri)}", "its own reply"
    assert progress == [(done, 6) for done in range(1, 7)]
    assert 1 < recorder.most_in_flight <= 3, "requests overlap, but never more than the bound"


def test_a_photo_the_service_refuses_says_so_and_the_others_still_get_theirs(threaded_model_service):
    threaded_model_service.handle(Recorder(delay=0.05, fail_on="image/png"))
    results = analysis.analyse_batch(
        uploads(["webp_photo_flower.webp", "floorplan_mlstruct_f23ccf_flattened_2400w.png"]),
        AnalysisRequest(preset=Preset.GENERAL),
        model.ServiceSettings.from_environment(),
    )
    assert results[0].description is not None and results[0].error is None
    assert results[1].error == "Fair usage limit reached. Please try again later."
    assert results[1].failed_at == analysis.SERVICE and results[1].preparation is not None


def test_without_a_service_every_photo_is_prepared_and_says_why_it_has_no_description():
    results = analysis.analyse_batch(uploads(PHOTOS[:2]), AnalysisRequest(), None, unavailable="No service.")
    assert all(result.preparation and result.error == "No service." for result in results)


def test_more_than_fifty_photos_are_refused_up_front():
    import pytest

    from image_analysis.errors import AnalysisError

    with pytest.raises(AnalysisError, match="at most 50"):
        analysis.analyse_batch([analysis.Upload("x.jpg", b"")] * 51, AnalysisRequest(), None)


@pytest.mark.slow
def test_an_analysis_survives_the_memoize_round_trip(threaded_model_service):
    threaded_model_service.reply(json.dumps({"element": "wall", "condition_score": "2"}))
    request = AnalysisRequest(preset=Preset.INSPECTION, question="ok?")
    result = analysis.analyse(uploads(PHOTOS[:1])[0], request, model.ServiceSettings.from_environment())
    restored = analysis.Analysis.from_json(json.loads(json.dumps(result.to_json())))
    assert restored == result
    assert restored.parsed.findings.condition_score == "2"


def test_a_file_that_cannot_be_read_keeps_its_place_in_the_batch(tmp_path):
    uploads = [
        analysis.Upload.from_path(shared_image_path("webp_photo_flower.webp")),
        analysis.Upload.from_path(tmp_path / "gone.jpg"),
    ]
    results = analysis.analyse_batch(uploads, AnalysisRequest(), None, unavailable="No service.")
    assert results[0].preparation is not None and results[0].error == "No service."
    assert results[1].failed_at == analysis.INPUT and results[1].error.startswith("Cannot read")
    assert "gone.jpg" in results[1].error and results[1].preparation is None
