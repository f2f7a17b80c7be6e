"""The API key never appears in a page, a report, a log line or an error message."""

from __future__ import annotations

import io
import json
import logging

from docx import Document

from image_analysis import analysis, model, reports
from image_analysis.presets import AnalysisRequest, Preset
from tests.conftest import TEST_API_KEY, shared_image_path
from tests.helpers import describe_to_every_output


def test_the_key_is_in_no_output_of_a_run_that_succeeds_and_fails(model_service, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    model_service.fail(503, {"error": {"message": f"upstream said {TEST_API_KEY}"}}, once=True)
    model_service.reply_once(json.dumps({"element": "wall", "condition_score": "2", "summary": TEST_API_KEY[:6]}))
    model_service.fail(401, {"error": {"message": f"Invalid key {TEST_API_KEY}"}}, once=True)
    settings = model.ServiceSettings.from_environment()
    settings = model.ServiceSettings(**{**settings.__dict__, "max_retries": 1, "retry_after_cap": 0.1})
    uploads = [
        analysis.Upload(name, shared_image_path(name).read_bytes())
        for name in ("webp_photo_flower.webp", "crack_concrete_ozgenel_a.png")
    ]
    results = analysis.analyse_batch(uploads, AnalysisRequest(preset=Preset.INSPECTION), settings, concurrency=1)
    assert results[0].description is not None and results[1].error

    outputs = {
        "repr": repr(settings),
        "page": reports.html_page(results[0]),
        "report": reports.html_report(results),
        "csv": reports.findings_csv(results),
        "docx": "\n".join(p.text for p in Document(io.BytesIO(reports.word_report(results))).paragraphs),
        "errors": " ".join(result.error or "" for result in results),
        "cache": json.dumps([result.to_json() for result in results]),
        "logs": caplog.text,
    }
    for where, text in outputs.items():
        assert TEST_API_KEY not in text, f"the key leaked into {where}"


def test_the_key_is_in_no_output_of_the_command_line(model_service, tmp_path):
    model_service.fail(401, {"error": {"message": f"Invalid key {TEST_API_KEY}"}})
    env_extra = {
        "OPENAI_BASE_URL": model_service.base_url,
        "OPENAI_API_KEY": TEST_API_KEY,
        "VISION_MAX_RETRIES": "0",
        "OPENAI_LOG": "debug",
    }
    done, out, docx, csv = describe_to_every_output(
        shared_image_path("webp_photo_flower.webp"), tmp_path, env_extra=env_extra
    )
    assert done.returncode == 3
    for text in (
        done.stdout,
        done.stderr,
        out.read_text(encoding="utf-8"),
        csv.read_text(encoding="utf-8"),
        "\n".join(p.text for p in Document(str(docx)).paragraphs),
    ):
        assert TEST_API_KEY not in text
