"""Faults from the model service, injected by a real local server on 127.0.0.1: retries where they help, never
where they cannot, one clear message each, in the library, the app and the command line."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest
from werkzeug import Response

from image_analysis import chat, model, prompts
from image_analysis.errors import (
    AuthenticationFailedError,
    EmptyReplyError,
    ImageTooLargeError,
    RateLimitedError,
    RequestRejectedError,
    ServiceError,
    ServiceUnreachableError,
)
from image_analysis.imaging.prepare import prepare_image
from tests.conftest import TEST_API_KEY, completion_body, make_analysis, shared_image_path, sse

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def prepared():
    return prepare_image(shared_image_path("webp_photo_flower.webp").read_bytes(), "flower.webp")


@pytest.fixture
def service(model_service, monkeypatch):
    monkeypatch.setenv("VISION_MAX_RETRIES", "2")
    monkeypatch.setenv("VISION_RETRY_AFTER_CAP", "5")
    return model_service


class Timeline:
    """A handler that plays a script of responses and records when each request came."""

    def __init__(self, *responses: Response) -> None:
        self.responses, self.times = list(responses), []

    def __call__(self, request):
        self.times.append(time.monotonic())
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]

    @property
    def gaps(self) -> list[float]:
        return [later - earlier for earlier, later in zip(self.times, self.times[1:], strict=False)]


def error(status: int, headers: dict | None = None, body: str | None = None) -> Response:
    payload = body if body is not None else json.dumps({"error": {"message": f"status {status}"}})
    content_type = "text/html" if body is not None else "application/json"
    return Response(payload, status=status, headers=headers or {}, content_type=content_type)


def ok(text: str = "A white flower.") -> Response:
    return Response(json.dumps(completion_body(text)), content_type="application/json")


def run(prepared):
    return model.describe(prepared.images, prompts.build_prompt(), model.ServiceSettings.from_environment())


@pytest.mark.slow
def test_429_with_retry_after_waits_as_asked_then_succeeds(service, prepared):
    timeline = Timeline(error(429, {"Retry-After": "1"}), ok())
    service.handle(timeline)
    assert run(prepared).text == "A white flower."
    assert len(timeline.times) == 2 and 0.9 <= timeline.gaps[0] < 2.5


def test_429_asking_longer_than_the_cap_is_not_retried(service, prepared):
    timeline = Timeline(error(429, {"Retry-After": "300"}), ok())
    service.handle(timeline)
    with pytest.raises(RateLimitedError, match=r"^Fair usage limit reached\. Please try again later\.$"):
        run(prepared)
    assert len(timeline.times) == 1


@pytest.mark.slow
def test_429_without_retry_after_backs_off_and_gives_up_after_the_configured_retries(service, prepared):
    timeline = Timeline(error(429))
    service.handle(timeline)
    with pytest.raises(RateLimitedError):
        run(prepared)
    assert len(timeline.times) == 3
    first, second = timeline.gaps  # a busy machine only adds to each wait: the upper bounds allow for it
    assert 0.3 <= first <= 0.9 and 0.7 <= second <= 1.6 and second > first, "exponential backoff with jitter"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_explained(service, prepared, status, monkeypatch):
    monkeypatch.setenv("VISION_MAX_RETRIES", "1")
    timeline = Timeline(error(status, {"retry-after-ms": "50"}))
    service.handle(timeline)
    with pytest.raises(ServiceUnreachableError) as caught:
        run(prepared)
    expected = f"The vision model service failed (HTTP {status}) (tried 2 times). Please try again later."
    assert str(caught.value) == expected
    assert len(timeline.times) == 2


def test_a_server_error_then_success_is_a_success(service, prepared):
    timeline = Timeline(error(503, {"retry-after-ms": "10"}), ok("Recovered."))
    service.handle(timeline)
    assert run(prepared).text == "Recovered."


@pytest.mark.parametrize(
    ("status", "expected", "body"),
    [
        (400, RequestRejectedError, None),
        (401, AuthenticationFailedError, None),
        (403, AuthenticationFailedError, None),
        (413, ImageTooLargeError, "<html><body><h1>413 Request Entity Too Large</h1>nginx</body></html>"),
    ],
)
def test_client_errors_are_never_retried(service, prepared, status, expected, body):
    timeline = Timeline(error(status, body=body))
    service.handle(timeline)
    with pytest.raises(expected) as caught:
        run(prepared)
    assert len(timeline.times) == 1
    assert "<" not in str(caught.value)


@pytest.mark.slow
def test_a_reply_slower_than_the_timeout_is_retried_then_explained(service, prepared, monkeypatch):
    monkeypatch.setenv("VISION_TIMEOUT", "0.4")
    monkeypatch.setenv("VISION_MAX_RETRIES", "1")

    def slow(request):
        time.sleep(1.0)
        return ok()

    timeline = Timeline(ok())
    service.handle(lambda request: (timeline(request), slow(request))[1])
    with pytest.raises(ServiceUnreachableError, match=r"did not finish within 0\.4 s \(tried 2 times\)"):
        run(prepared)
    assert len(timeline.times) == 2


class DroppingServer(socketserver.ThreadingTCPServer):
    """Accepts a connection, reads the request, and closes without a word."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        self.connections = 0

        class Drop(socketserver.BaseRequestHandler):
            def handle(inner) -> None:
                self.connections += 1
                inner.request.recv(65536)
                inner.request.shutdown(socket.SHUT_RDWR)

        super().__init__(("127.0.0.1", 0), Drop)


@pytest.fixture
def dropping_server() -> Iterator[DroppingServer]:
    server = DroppingServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_a_dropped_connection_is_retried_then_explained(dropping_server, prepared, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{dropping_server.server_address[1]}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("VISION_MAX_RETRIES", "2")
    with pytest.raises(ServiceUnreachableError, match=r"could not be reached \(tried 3 times\)"):
        run(prepared)
    assert dropping_server.connections == 3


def test_invalid_json_is_a_clear_message_not_a_traceback(service, prepared):
    timeline = Timeline(Response('{"id": "x", "choices": [ oops', content_type="application/json"))
    service.handle(timeline)
    with pytest.raises(ServiceError, match="could not be read"):
        run(prepared)


@pytest.mark.parametrize(
    "body",
    [
        {**completion_body("x"), "choices": []},
        completion_body(None),
        {"unexpected": "shape"},
    ],
)
def test_replies_without_text_say_so(service, prepared, body):
    service.handle(Timeline(Response(json.dumps(body), content_type="application/json")))
    with pytest.raises((EmptyReplyError, ServiceError)):
        run(prepared)


def test_a_2_mb_reply_is_kept_but_clipped_for_display(service, prepared):
    service.handle(Timeline(ok("crack. " * 300_000)))
    description = run(prepared)
    assert description.clipped and len(description.text) == model.MAX_REPLY_CHARS


def test_a_streamed_reply_that_stops_half_way_says_so(service, prepared):
    body = sse("The crack ", "is ", finish=None)
    service.handle(Timeline(Response(body, content_type="text/event-stream")))
    analysed = make_analysis(prepared, "A flower.")
    reply = "".join(chat.reply([{"role": "user", "content": "?"}], analysed, model.ServiceSettings.from_environment()))
    assert reply.startswith("The crack is ") and "stopped before it was complete" in reply


def test_the_key_never_appears_in_any_error(service, prepared):
    leaky = json.dumps({"error": {"message": f"Invalid API key: {TEST_API_KEY}"}})
    for response in (error(401, body=leaky), Response(leaky, status=400, content_type="application/json")):
        service.server.clear_all_handlers()
        service.handle(Timeline(response))
        with pytest.raises(ServiceError) as caught:
            run(prepared)
        assert TEST_API_KEY not in str(caught.value)
