"""Structured output asked for at the source: the request's ``response_format``, each fallback branch against the
local test server, what is remembered per server and model, and ``VISION_STRUCTURED``."""

from __future__ import annotations

import csv
import io
import json

import pytest
from werkzeug import Response

from image_analysis import analysis, chat, model, prompts
from image_analysis.errors import RequestRejectedError, ServiceNotConfiguredError
from image_analysis.imaging.prepare import prepare_image
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from tests.conftest import completion_body, shared_image_path, sse
from tests.helpers import inspect_photo_to_every_output
from tests.reply_corpus import BASE

INSPECTION = AnalysisRequest(preset=Preset.INSPECTION)
REPLY = json.dumps(BASE)


@pytest.fixture(scope="module")
def photo():
    return prepare_image(shared_image_path("webp_photo_flower.webp").read_bytes(), "flower.webp")


def describe(photo, request=INSPECTION):
    return model.describe(photo.images, prompts.build_prompt(request), model.ServiceSettings.from_environment())


def server_that_refuses(model_service, refused: set[str], status: int = 400, message: str | None = None) -> None:
    """Answer with the findings, except with ``status`` when the request's ``response_format`` type is refused."""

    def handle(request):
        body = request.get_json()
        kind = (body.get("response_format") or {}).get("type", "none")
        if kind in refused:
            text = message or f"response_format type '{kind}' is not supported by this server"
            return Response(json.dumps({"error": {"message": text}}), status=status, content_type="application/json")
        return Response(json.dumps(completion_body(REPLY)), content_type="application/json")

    model_service.handle(handle)


def formats(model_service) -> list[str]:
    return [(body.get("response_format") or {}).get("type", "none") for body in model_service.requests]


def test_the_inspection_request_asks_for_the_findings_schema(model_service, photo):
    model_service.reply(REPLY)
    description = describe(photo, AnalysisRequest(preset=Preset.INSPECTION, scale=ConditionScale.NBI))
    requested = model_service.requests[0]["response_format"]
    assert requested["type"] == "json_schema"
    spec = requested["json_schema"]
    assert spec["name"] == "inspection_findings" and spec["strict"] is True
    properties = spec["schema"]["properties"]
    assert {"condition_score", "defects"} <= set(properties)
    assert properties["condition_score"]["enum"] == [
        *ConditionScale.NBI.definition.codes,
        "cannot tell from this photo",
    ]
    assert "crack" in properties["defects"]["items"]["properties"]["type"]["enum"]
    assert spec["schema"]["additionalProperties"] is False and set(spec["schema"]["required"]) == set(properties)
    assert "$ref" not in json.dumps(spec["schema"]), "references are inlined for servers that cannot follow them"
    assert description.structured == "schema" and description.format_note is None


def test_the_drawing_request_asks_for_the_drawing_schema(model_service, photo):
    model_service.reply(json.dumps({"drawing_kind": "plan"}))
    describe(photo, AnalysisRequest(preset=Preset.DRAWING))
    schema = model_service.requests[0]["response_format"]["json_schema"]["schema"]
    assert {"title_block", "notes", "questions"} <= set(schema["properties"])
    assert schema["properties"]["title_block"]["additionalProperties"] is False


def test_the_general_preset_stays_free_text(model_service, photo):
    model_service.reply("A flower.")
    describe(photo, AnalysisRequest(preset=Preset.GENERAL))
    assert "response_format" not in model_service.requests[0]


def test_the_chat_about_an_inspection_stays_free_text(model_service, photo):
    model_service.server.expect_request("/v1/chat/completions", method="POST").respond_with_data(
        sse("It is ", "a column."), content_type="text/event-stream"
    )
    first = analysis.Analysis(1, "flower.webp", INSPECTION, photo, model.Description(text=REPLY, model="m"))
    history = [{"role": "user", "content": "What is it?"}]
    assert "".join(chat.reply(history, first, model.ServiceSettings.from_environment())) == "It is a column."
    assert "response_format" not in model_service.requests[0]


def test_a_server_that_rejects_the_schema_is_asked_for_json_mode_and_that_is_remembered(model_service, photo):
    server_that_refuses(model_service, {"json_schema"})
    first = describe(photo)
    assert formats(model_service) == ["json_schema", "json_object"]
    assert first.structured == "json_object"
    assert "did not accept a JSON schema" in first.format_note and "asked for JSON mode" in first.format_note
    second = describe(photo)
    assert formats(model_service) == ["json_schema", "json_object", "json_object"], "the next request starts there"
    assert second.format_note is None, "said once"


def test_a_server_that_rejects_both_formats_is_asked_without_one(model_service, photo):
    server_that_refuses(model_service, {"json_schema", "json_object"}, status=422)
    description = describe(photo)
    assert formats(model_service) == ["json_schema", "json_object", "none"]
    assert description.structured == "off" and description.text == REPLY


def test_a_server_that_fails_with_500_on_the_schema_gets_one_attempt_without(model_service, photo, monkeypatch):
    server_that_refuses(model_service, {"json_schema", "json_object"}, status=500, message="Internal Server Error")
    description = describe(photo)
    assert formats(model_service) == ["json_schema", "none"]
    assert description.structured == "off"


def test_a_rejection_that_is_not_about_the_format_is_not_retried(model_service, photo):
    server_that_refuses(model_service, {"json_schema"}, message="The image could not be decoded.")
    with pytest.raises(RequestRejectedError, match="could not be decoded"):
        describe(photo)
    assert formats(model_service) == ["json_schema"]


def test_the_register_is_per_server_and_model(model_service, photo, monkeypatch):
    server_that_refuses(model_service, {"json_schema"})
    describe(photo)
    monkeypatch.setenv("VISION_MODEL", "another-model")
    describe(photo)
    assert formats(model_service) == ["json_schema", "json_object", "json_schema", "json_object"]


@pytest.mark.parametrize(
    ("setting", "sent"), [("off", ["none"]), ("json_object", ["json_object"]), ("schema", ["json_schema"])]
)
def test_vision_structured_chooses_the_format(model_service, photo, monkeypatch, setting, sent):
    monkeypatch.setenv("VISION_STRUCTURED", setting)
    model_service.reply(REPLY)
    describe(photo)
    assert formats(model_service) == sent


def test_a_forced_format_that_is_rejected_is_an_error_not_a_fallback(model_service, photo, monkeypatch):
    monkeypatch.setenv("VISION_STRUCTURED", "schema")
    server_that_refuses(model_service, {"json_schema"})
    with pytest.raises(RequestRejectedError, match="not supported"):
        describe(photo)
    assert formats(model_service) == ["json_schema"]


def test_an_unknown_vision_structured_says_what_it_may_be(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("VISION_STRUCTURED", "yes")
    with pytest.raises(ServiceNotConfiguredError, match="auto, schema, json_object, off"):
        model.ServiceSettings.from_environment()


def test_a_batch_shares_what_the_server_accepts(threaded_model_service):
    server_that_refuses(threaded_model_service, {"json_schema"})
    photo = shared_image_path("webp_photo_flower.webp").read_bytes()
    uploads = [analysis.Upload(f"p{n}.webp", photo) for n in range(6)]
    results = analysis.analyse_batch(uploads, INSPECTION, model.ServiceSettings.from_environment(), concurrency=2)
    assert all(result.parsed.findings is not None for result in results)
    sent = formats(threaded_model_service)
    assert sent.count("json_object") == 6 and sent.count("json_schema") <= 2


def test_the_command_line_succeeds_against_a_server_that_rejects_response_format(model_service, tmp_path):
    server_that_refuses(model_service, {"json_schema", "json_object"})
    done, _, _, csv_path = inspect_photo_to_every_output(model_service, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "asked for no format" in done.stderr
    assert formats(model_service) == ["json_schema", "json_object", "none"]
    schema = model_service.requests[0]["response_format"]["json_schema"]["schema"]
    assert {"condition_score", "defects"} <= set(schema["properties"])
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert [row["defect_type"] for row in rows] == ["crack", "spalling"]
    assert rows[0]["element"] == "reinforced concrete column" and rows[0]["condition_score"] == "4"
