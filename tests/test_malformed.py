"""Replies and headers that break the protocol's promises, through the real ``openai`` client against a local
server: each becomes the project's ``ServiceError`` with a clear message, in the library, the app and the command
line, and the command line never prints a traceback, whatever the service or the file."""

from __future__ import annotations

import json
import time

import pytest
from werkzeug import Response

from image_analysis import analysis, model, prompts
from image_analysis.errors import EmptyReplyError, MalformedReplyError, RateLimitedError, ServiceError
from image_analysis.findings import MAX_NESTING, parse_reply
from image_analysis.imaging.prepare import prepare_image
from image_analysis.presets import AnalysisRequest, Preset
from tests.conftest import completion_body, shared_image_path
from tests.helpers import cli, inspect_photo_to_every_output

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def prepared():
    return prepare_image(shared_image_path("webp_photo_flower.webp").read_bytes(), "flower.webp")


def describe(prepared):
    return model.describe(prepared.images, prompts.build_prompt(), model.ServiceSettings.from_environment())


def with_choice(choice) -> dict:
    return {**completion_body("unused"), "choices": [choice]}


def with_content(content) -> dict:
    return with_choice({"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"})


MALFORMED = {
    "content is a number": (with_content(42), "its content is a number"),
    "content is an object": (with_content({"text": "hi"}), "its content is an object"),
    "content is a list of images": (with_content([{"type": "image_url", "image_url": {}}]), "its content is a list"),
    "choices hold null": ({**completion_body("x"), "choices": [None]}, "its first choice is empty"),
    "choices is an object": ({**completion_body("x"), "choices": {"0": {}}}, "'choices' is an object"),
    "the message is missing": (with_choice({"index": 0, "finish_reason": "stop"}), "it has no message"),
    "the message is text": (with_choice({"index": 0, "message": "hi", "finish_reason": "stop"}), "message is text"),
}


@pytest.mark.parametrize("body, expected", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_reply_that_breaks_the_protocol_is_a_malformed_reply_error(model_service, prepared, body, expected):
    model_service.server.expect_request("/v1/chat/completions").respond_with_json(body)
    with pytest.raises(MalformedReplyError, match="does not follow the Chat Completions protocol") as caught:
        describe(prepared)
    assert expected in str(caught.value)
    assert isinstance(caught.value, ServiceError)


@pytest.mark.parametrize("body", [[1, 2], "a string", None], ids=["a list", "a string", "null"])
def test_a_body_that_is_not_an_object_is_a_service_error(model_service, prepared, body):
    model_service.server.expect_request("/v1/chat/completions").respond_with_json(body)
    with pytest.raises(ServiceError):
        describe(prepared)


def test_empty_choices_say_the_reply_was_empty(model_service, prepared):
    model_service.server.expect_request("/v1/chat/completions").respond_with_json(
        {**completion_body("x"), "choices": []}
    )
    with pytest.raises(EmptyReplyError):
        describe(prepared)


def test_content_as_text_parts_is_read(model_service, prepared):
    """Mistral's own API may send ``content`` as a list of parts; the text parts are the reply."""
    parts = [{"type": "text", "text": "A white "}, {"type": "text", "text": "flower."}]
    model_service.server.expect_request("/v1/chat/completions").respond_with_json(with_content(parts))
    assert describe(prepared).text == "A white flower."


def test_odd_model_ids_finish_reasons_and_usage_do_not_break_the_reply(model_service, prepared):
    body = {**with_content("Fine."), "model": 7, "usage": {"prompt_tokens": "many", "completion_tokens": None}}
    body["choices"][0]["finish_reason"] = ["stop"]
    model_service.server.expect_request("/v1/chat/completions").respond_with_json(body)
    description = describe(prepared)
    assert (description.text, description.model, description.prompt_tokens) == (
        "Fine.",
        "mistral.ministral-3-14b-instruct",
        None,
    )
    assert description.truncated is False


@pytest.mark.slow
@pytest.mark.parametrize("value", ["nan", "-5", "inf", "1e400", "soon", "Mon, 99 Foo 2026 99:99:99 GMT", ""])
def test_an_invalid_retry_after_is_ignored_and_the_own_backoff_applies(model_service, prepared, monkeypatch, value):
    monkeypatch.setenv("VISION_MAX_RETRIES", "1")
    monkeypatch.setenv("VISION_RETRY_AFTER_CAP", "0.5")
    times: list[float] = []

    def handler(request):
        times.append(time.monotonic())
        if len(times) == 1:
            return Response("{}", status=429, headers={"Retry-After": value}, content_type="application/json")
        return Response(json.dumps(completion_body("Second time lucky.")), content_type="application/json")

    model_service.handle(handler)
    assert describe(prepared).text == "Second time lucky."
    assert len(times) == 2 and times[1] - times[0] < 1.5


def test_an_invalid_retry_after_on_the_last_try_is_the_rate_limit_message(model_service, prepared):
    model_service.fail(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "nan"})
    with pytest.raises(RateLimitedError, match="Fair usage limit reached"):
        describe(prepared)


def test_a_deeply_nested_reply_is_refused_by_the_parser_not_by_recursion():
    reply = '{"element": ' + "[" * 45_000 + "]" * 45_000 + "}"
    parsed = parse_reply(Preset.INSPECTION, reply)
    assert parsed.findings is None
    assert f"more than {MAX_NESTING} levels deep" in parsed.problem


def test_nesting_inside_strings_does_not_count():
    reply = json.dumps({"element": "[[[[" * 100, "condition_score": "3", "defects": []})
    assert parse_reply(Preset.INSPECTION, reply).findings is not None


@pytest.mark.slow
def test_a_batch_keeps_every_photo_whatever_one_reply_holds(threaded_model_service, tmp_path):
    """Malformed replies in a batch cost only their own photo."""
    bodies = iter([with_content(42), completion_body("A fine photo.")])
    threaded_model_service.handle(lambda request: Response(json.dumps(next(bodies)), content_type="application/json"))
    photo = shared_image_path("webp_photo_flower.webp")
    uploads = [analysis.Upload.from_path(photo), analysis.Upload.from_path(photo)]
    settings = model.ServiceSettings.from_environment()
    results = analysis.analyse_batch(uploads, AnalysisRequest(), settings, concurrency=1)
    assert "Chat Completions protocol" in results[0].error
    assert results[1].description.text == "A fine photo."


# The command line: every fault and hostile case, one line on stderr, never a traceback.


def _respond(body) -> Response:
    return Response(json.dumps(body), content_type="application/json")


SERVICE_CASES = {
    "content 42": (lambda: _respond(with_content(42)), 3, "Chat Completions protocol"),
    "choices [null]": (lambda: _respond({**completion_body("x"), "choices": [None]}), 3, "Chat Completions protocol"),
    "no message": (lambda: _respond(with_choice({"index": 0})), 3, "it has no message"),
    "Retry-After nan": (
        lambda: Response("{}", status=429, headers={"Retry-After": "nan"}, content_type="application/json"),
        3,
        "Fair usage limit",
    ),
    "invalid JSON": (lambda: Response("{not json", content_type="application/json"), 3, "could not be read"),
    "HTML 413": (lambda: Response("<html>big</html>", status=413, content_type="text/html"), 3, "too large"),
    "500": (lambda: Response("{}", status=500, content_type="application/json"), 3, "HTTP 500"),
    "deep nesting": (
        lambda: _respond(completion_body('{"element": ' + "[" * 45_000 + "]" * 45_000 + "}")),
        0,
        "levels deep",
    ),
    "control characters": (
        lambda: _respond(completion_body('{"element": "col\\u001b[2Jumn", "condition_score": "3", "defects": []}')),
        0,
        "",
    ),
}


@pytest.mark.parametrize("make, code, expected", SERVICE_CASES.values(), ids=SERVICE_CASES.keys())
def test_the_command_line_never_prints_a_traceback_for_a_faulty_service(model_service, tmp_path, make, code, expected):
    model_service.handle(lambda request: make())
    done, out, docx, csv = inspect_photo_to_every_output(model_service, tmp_path)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
    assert "internal error" not in done.stderr
    assert expected in done.stderr + done.stdout
    assert out.is_file() and docx.is_file() and csv.is_file(), "every output is written whatever the service did"
    assert "\x1b" not in done.stdout + done.stderr


def _flipped_png(tmp_path):
    data = bytearray(shared_image_path("png_rgba_transparent.png").read_bytes())
    start = data.index(b"IDAT") + 40
    for offset in range(start, start + 16):
        data[offset] ^= 0xFF
    return bytes(data)


FILE_CASES = {
    "PNG with flipped image data": (_flipped_png, "its data is corrupt"),
    "HEIC cut at 10 %": (
        lambda tmp: shared_image_path("heic_iphone13pro_gps_pug.heic").read_bytes()[:140_000],
        "ends early",
    ),
    "random bytes": (lambda tmp: bytes(range(256)) * 40, "not an image"),
    "empty": (lambda tmp: b"", "is empty"),
}


@pytest.mark.parametrize("make, expected", FILE_CASES.values(), ids=FILE_CASES.keys())
def test_the_command_line_refuses_a_hostile_file_with_one_line_and_exit_2(tmp_path, make, expected):
    path = tmp_path / "upload\x1b]0;owned\x07.png"
    path.write_bytes(make(tmp_path))
    done = cli("describe", str(path), "--out", str(tmp_path / "page.html"))
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "⟨U+001B⟩" in done.stderr
