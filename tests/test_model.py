"""The real openai client against a local OpenAI-compatible server: the exact request and every error path."""

from __future__ import annotations

import base64
import io
import time

import pytest
from PIL import Image
from werkzeug import Response

from image_analysis import model, prompts
from image_analysis.errors import (
    AuthenticationFailedError,
    EmptyReplyError,
    ImageTooLargeError,
    RateLimitedError,
    RequestRejectedError,
    ServiceNotConfiguredError,
    ServiceUnreachableError,
)
from image_analysis.imaging.prepare import prepare_image
from image_analysis.presets import AnalysisRequest
from tests.conftest import TEST_API_KEY


@pytest.fixture
def prepared(shared_image):
    return prepare_image(shared_image("exif_orientation_6_portrait.jpg"), "portrait.jpg")


def run(prepared, question: str = "", model_name: str | None = None):
    settings = model.ServiceSettings.from_environment(model_name)
    return model.describe(prepared.images, prompts.build_prompt(AnalysisRequest(question=question)), settings)


def test_the_request_is_exactly_what_the_model_needs(model_service, prepared):
    model_service.reply("## Photo\nA portrait photo.")
    description = run(prepared, question="Is the <b>door</b> open?")

    assert description.text == "## Photo\nA portrait photo."
    assert description.truncated is False
    [request] = model_service.requests
    assert request["model"] == "mistral.ministral-3-14b-instruct"
    system, user = request["messages"]
    assert system == {"role": "system", "content": prompts.SYSTEM_PROMPT}
    assert user["role"] == "user"
    text_part, image_part = user["content"]
    assert text_part["type"] == "text" and "Is the <b>door</b> open?" in text_part["text"]
    assert image_part["type"] == "image_url"
    url = image_part["image_url"]["url"]
    header, _, payload = url.partition(",")
    assert header == "data:image/jpeg;base64"
    sent = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert sent.format == "JPEG" and sent.size == (1036, 1540)
    assert set(image_part["image_url"]) == {"url"}, "no 'detail' field: the model does not support it"
    [raw] = model_service.raw_requests
    assert raw.headers["Authorization"] == f"Bearer {TEST_API_KEY}"


def test_vision_model_overrides_the_model_id(model_service, prepared, monkeypatch):
    monkeypatch.setenv("VISION_MODEL", "llava:13b")
    model_service.reply("ok", model="llava:13b")
    assert run(prepared).model == "llava:13b"
    assert model_service.requests[0]["model"] == "llava:13b"


def test_a_reply_cut_off_at_the_length_limit_is_marked_incomplete(model_service, prepared):
    model_service.reply("The photo shows a concrete wall with", finish_reason="length")
    description = run(prepared)
    assert description.truncated is True
    assert description.text.endswith("with")


def test_rate_limit_gives_the_fair_usage_message(model_service, prepared):
    model_service.fail(429, {"error": {"message": "Too many requests", "type": "rate_limit"}})
    with pytest.raises(RateLimitedError, match=r"^Fair usage limit reached\. Please try again later\.$"):
        run(prepared)


def test_a_rate_limit_is_retried_by_the_client_and_then_succeeds(model_service, prepared, monkeypatch):
    monkeypatch.setenv("VISION_MAX_RETRIES", "2")
    model_service.fail(429, {"error": {"message": "slow down"}}, headers={"retry-after-ms": "20"}, once=True)
    model_service.reply_once("Second time lucky.")
    assert run(prepared).text == "Second time lucky."
    assert len(model_service.requests) == 2


def test_the_client_gives_up_after_the_configured_retries(model_service, prepared, monkeypatch):
    monkeypatch.setenv("VISION_MAX_RETRIES", "2")
    model_service.fail(503, {"error": {"message": "overloaded"}}, headers={"retry-after-ms": "10"})
    with pytest.raises(ServiceUnreachableError, match=r"HTTP 503.*tried 3 times"):
        run(prepared)
    assert len(model_service.requests) == 3


def test_connection_failure_says_the_service_could_not_be_reached(closed_port_url, prepared, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", closed_port_url)
    monkeypatch.setenv("VISION_MAX_RETRIES", "0")
    with pytest.raises(ServiceUnreachableError, match=r"could not be reached.*try again"):
        run(prepared)


@pytest.mark.slow
def test_a_slow_service_times_out_with_a_clear_message(model_service, prepared, monkeypatch):
    monkeypatch.setenv("VISION_TIMEOUT", "0.5")

    def slow(request):
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    model_service.handle(slow)
    with pytest.raises(ServiceUnreachableError, match=r"did not finish within 0\.5 s"):
        run(prepared)


@pytest.mark.slow
def test_authentication_failure(model_service, prepared):
    model_service.fail(401, {"error": {"message": f"Invalid key {TEST_API_KEY}"}})
    with pytest.raises(AuthenticationFailedError, match="refused the credentials") as caught:
        run(prepared)
    assert TEST_API_KEY not in str(caught.value)


def test_a_bad_request_shows_the_services_own_message(model_service, prepared):
    model_service.fail(400, {"error": {"message": "Image format not supported: image/x-foo", "code": 400}})
    with pytest.raises(RequestRejectedError) as caught:
        run(prepared)
    assert str(caught.value) == (
        "The vision model service rejected the request (HTTP 400): Image format not supported: image/x-foo"
    )


def test_413_answered_with_an_html_page_says_the_image_is_too_large(model_service, prepared):
    model_service.fail(413, "<html><body><h1>413 Request Entity Too Large</h1><hr>nginx</body></html>")
    with pytest.raises(ImageTooLargeError) as caught:
        run(prepared)
    assert "too large" in str(caught.value) and "<" not in str(caught.value)


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_a_reply_without_text_is_an_error(model_service, prepared, text):
    model_service.reply(text)
    with pytest.raises(EmptyReplyError, match="without any description"):
        run(prepared)


def test_a_reply_without_choices_is_an_error(model_service, prepared):
    model_service.server.expect_request("/v1/chat/completions").respond_with_json(
        {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    )
    with pytest.raises(EmptyReplyError):
        run(prepared)


def test_no_endpoint_outside_viktor_names_the_variables(no_model_service):
    with pytest.raises(ServiceNotConfiguredError) as caught:
        model.ServiceSettings.from_environment()
    assert "OPENAI_BASE_URL" in str(caught.value) and "OPENAI_API_KEY" in str(caught.value)


def test_inside_viktor_the_built_in_service_is_used(no_model_service, monkeypatch):
    monkeypatch.setenv("VIKTOR_ADDONS_URL", "https://addons.example.invalid")
    monkeypatch.setenv("VIKTOR_DEV", "false")
    monkeypatch.setenv("VIKTOR_TOKEN", "viktor-token-123")
    settings = model.ServiceSettings.from_environment()
    assert settings.base_url == "https://addons.example.invalid/viktorllm/openai/v1"
    assert settings.model == "mistral.ministral-3-14b-instruct"
    assert "viktor-token" not in repr(settings)


def test_bad_settings_are_explained(model_service, monkeypatch):
    monkeypatch.setenv("VISION_TIMEOUT", "soon")
    with pytest.raises(ServiceNotConfiguredError, match="VISION_TIMEOUT must be a non-negative number"):
        model.ServiceSettings.from_environment()
