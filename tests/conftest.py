"""Shared fixtures: the real images in ../shared/images and a local OpenAI-compatible model service."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

REPO = Path(__file__).resolve().parents[1]
SHARED_IMAGES = REPO.parent / "shared" / "images"
ARTIFACTS = REPO / "tests" / "artifacts"
TEST_API_KEY = "sk-test-RECOGNISABLE-0123456789abcdef"
COMPLETIONS = "/v1/chat/completions"


def shared_image_path(name: str) -> Path:
    path = SHARED_IMAGES / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: the tests read real images from ../shared/images beside the repository")
    return path


@pytest.fixture
def shared_image():
    """Read an image from ../shared/images by name."""
    return lambda name: shared_image_path(name).read_bytes()


def completion_body(text: str | None, finish_reason: str = "stop", model: str = "test-model") -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 2400, "completion_tokens": 120, "total_tokens": 2520},
    }


def sse(*chunks: str, finish: str | None = "stop") -> str:
    """A streamed Chat Completions reply (server-sent events); ``finish=None`` stops half-way, without an end."""
    events = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": chunk}, "finish_reason": None}],
        }
        for chunk in chunks
    ]
    if finish is None:
        return "".join(f"data: {json.dumps(event)}\n\n" for event in events)
    events.append({**events[-1], "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    return "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"


@dataclass
class ModelService:
    """A real HTTP server on 127.0.0.1 that speaks the Chat Completions protocol, set up per test."""

    server: HTTPServer

    @property
    def base_url(self) -> str:
        return self.server.url_for("/v1")

    def reply(self, text: str | None, finish_reason: str = "stop", model: str = "test-model") -> None:
        """Answer every completion request with ``text``."""
        self.server.expect_request(COMPLETIONS, method="POST").respond_with_json(
            completion_body(text, finish_reason, model)
        )

    def reply_once(self, text: str, **kwargs: Any) -> None:
        self.server.expect_ordered_request(COMPLETIONS, method="POST").respond_with_json(
            completion_body(text, **kwargs)
        )

    def fail(self, status: int, body: Any = None, headers: dict[str, str] | None = None, once: bool = False) -> None:
        """Answer completion requests with an HTTP error (``body`` as JSON, or as text when a str)."""
        payload = body if isinstance(body, str) else json.dumps(body if body is not None else {"error": {}})
        content_type = "text/html" if isinstance(body, str) else "application/json"
        expect = self.server.expect_ordered_request if once else self.server.expect_request
        expect(COMPLETIONS, method="POST").respond_with_response(
            Response(payload, status=status, headers=headers or {}, content_type=content_type)
        )

    def handle(self, handler) -> None:
        self.server.expect_request(COMPLETIONS, method="POST").respond_with_handler(handler)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """JSON bodies of the completion requests received, in order."""
        return [request.get_json() for request, _ in self.server.log if request.path == COMPLETIONS]

    def image_urls(self, index: int = 0) -> list[str]:
        """The image data URIs of the ``index``-th request, in order."""
        content = self.requests[index]["messages"][1]["content"]
        return [part["image_url"]["url"] for part in content if part["type"] == "image_url"]

    @property
    def raw_requests(self) -> list[Request]:
        return [request for request, _ in self.server.log if request.path == COMPLETIONS]


def _pointed_at(server: HTTPServer, monkeypatch: pytest.MonkeyPatch, timeout: str) -> ModelService:
    """The app pointed at ``server`` for one test (no retries unless a test asks for them)."""
    monkeypatch.setenv("OPENAI_BASE_URL", server.url_for("/v1"))
    monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("VISION_MAX_RETRIES", "0")
    monkeypatch.setenv("VISION_TIMEOUT", timeout)
    monkeypatch.delenv("VISION_MODEL", raising=False)
    return ModelService(server)


@contextmanager
def _threaded_server() -> Iterator[HTTPServer]:
    """A server on 127.0.0.1 (a port of its own) answering requests in parallel, stopped afterwards."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def model_service(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> ModelService:
    """Point the app at a local model service (no retries unless a test asks for them)."""
    return _pointed_at(httpserver, monkeypatch, timeout="10")


@pytest.fixture(scope="module")
def module_model_service() -> Iterator[ModelService]:
    """A model service of the module's own, for a result made once and shared by its tests (the environment is
    not touched: a command is pointed at it with ``service_env``)."""
    with _threaded_server() as server:
        yield ModelService(server)


@pytest.fixture(scope="session")
def threaded_server() -> Iterator[HTTPServer]:
    """One server answering requests in parallel for the session (each worker its own): started once, cleared for
    each test, as pytest-httpserver's own ``httpserver`` is (stopping one costs half a second)."""
    with _threaded_server() as server:
        yield server


@pytest.fixture
def threaded_model_service(threaded_server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelService]:
    """Like ``model_service``, but answering requests in parallel (for batches)."""
    threaded_server.clear()
    yield _pointed_at(threaded_server, monkeypatch, timeout="20")
    threaded_server.clear()


@pytest.fixture
def no_model_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """No endpoint configured: neither OPENAI_BASE_URL nor VIKTOR's environment."""
    names = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "VIKTOR_ADDONS_URL", "VIKTOR_DEV", "VIKTOR_TOKEN", "VISION_MODEL")
    for name in names:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def closed_port_url() -> str:
    """A 127.0.0.1 address where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def make_analysis(
    preparation,
    text: str | None = None,
    *,
    question: str = "",
    preset: str = "general",
    model: str = "m",
    truncated: bool = False,
    error: str | None = None,
    number: int = 1,
):
    """An analysis as the pipeline would produce it, for rendering and report tests."""
    from image_analysis.analysis import Analysis
    from image_analysis.model import Description
    from image_analysis.presets import AnalysisRequest, Preset

    description = Description(text=text, model=model, truncated=truncated) if text is not None else None
    name = preparation.source.name if preparation else "missing.jpg"
    request = AnalysisRequest(preset=Preset(preset), question=question)
    return Analysis(number, name, request, preparation, description, error, "service" if error else None)


class TrickleServer:
    """A raw HTTP server on 127.0.0.1 that reads a request whole, then answers ``payload`` (status line, headers
    and body): its first ``burst`` bytes at once, the rest ``step`` bytes at a time with ``delay`` seconds between
    them. A server that is alive but never done."""

    def __init__(self, payload: bytes, delay: float, step: int = 1, burst: int = 0) -> None:
        import socketserver
        import threading
        import time

        self.requests = 0
        stop = threading.Event()
        self.stop = stop
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.requests += 1
                _read_request(self.request)
                self.request.sendall(payload[:burst])
                for start in range(burst, len(payload), step):
                    if stop.wait(delay):
                        return
                    try:
                        self.request.sendall(payload[start : start + step])
                    except OSError:  # the client gave up: that is the point
                        return
                time.sleep(0.05)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def _read_request(connection: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return
        body += chunk


def http_response(body: str | bytes, content_type: str = "application/json", status: str = "200 OK") -> bytes:
    """A whole HTTP/1.1 response, for ``TrickleServer``."""
    data = body.encode() if isinstance(body, str) else body
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode() + data


@pytest.fixture
def trickle(monkeypatch: pytest.MonkeyPatch):
    """Start a ``TrickleServer`` and point the app at it: ``trickle(payload, delay, step=1, burst=0)``."""
    servers: list[TrickleServer] = []

    def start(payload: bytes, delay: float, step: int = 1, burst: int = 0) -> TrickleServer:
        server = TrickleServer(payload, delay, step, burst)
        servers.append(server)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY)
        monkeypatch.setenv("VISION_MAX_RETRIES", "0")
        monkeypatch.delenv("VISION_MODEL", raising=False)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def fresh_structured_output_register() -> Iterator[None]:
    """What each server accepted is remembered per process: every test starts afresh (one local server, one URL)."""
    from image_analysis.structured_output import REGISTER

    REGISTER.forget()
    yield
    REGISTER.forget()


@pytest.fixture(scope="session")
def preparation_for_page():
    """A small photo prepared once, for page and report tests."""
    from image_analysis.imaging.prepare import prepare_image

    return prepare_image(shared_image_path("webp_photo_flower.webp").read_bytes(), "flower.webp")


PROCESS_MARKERS = frozenset({"process", "office", "browser"})
"""A test that starts a process carries one of these: ``make test-fast`` leaves them out by marker, so a test that
starts a process unmarked fails here, naming the program, rather than slowing the edit-run loop unseen."""
_STARTED: list[str] = []


def _noted(program: object) -> None:
    name = program[0] if isinstance(program, list | tuple) and program else program
    _STARTED.append(os.path.basename(os.fsdecode(name)) if isinstance(name, str | bytes) else "?")


def pytest_configure(config) -> None:
    """Note every process started: ``subprocess`` (and so asyncio's) through ``Popen._execute_child``,
    ``multiprocessing``'s spawn through ``_posixsubprocess.fork_exec``."""
    import _posixsubprocess
    import platform as system
    import subprocess

    system.processor()  # runs `uname -p` once per process (the openai client asks): not a test's process
    execute_child, fork_exec = subprocess.Popen._execute_child, _posixsubprocess.fork_exec

    def noted_execute_child(self, args, *rest, **kwargs):
        _noted(args)
        return execute_child(self, args, *rest, **kwargs)

    def noted_fork_exec(*args, **kwargs):
        _noted(args[0] if args else None)
        return fork_exec(*args, **kwargs)

    subprocess.Popen._execute_child = noted_execute_child  # type: ignore[method-assign]
    _posixsubprocess.fork_exec = noted_fork_exec


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    _STARTED.clear()  # from here on, what the test's fixtures start counts as the test's


@pytest.fixture(autouse=True)
def processes_are_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every process a test starts, its fixtures' included, is allowed by one of its markers."""
    yield
    marked = {mark.name for mark in request.node.iter_markers()}
    if _STARTED and not marked & PROCESS_MARKERS:
        programs = ", ".join(sorted(set(_STARTED)))
        pytest.fail(f"the test started {programs} but is not marked {' or '.join(sorted(PROCESS_MARKERS))}")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print how many corpus replies came out as the findings they meant (tests/test_salvage.py), and the OCR
    legibility figures."""
    import sys

    _legibility_summary(terminalreporter)
    _observation_summary(terminalreporter)

    salvage = sys.modules.get("tests.test_salvage")
    outcomes = getattr(salvage, "RECOVERY", None)
    if not outcomes:
        return
    from tests.reply_corpus import ISSUE_CASES

    issue_ids = {case.id for case in ISSUE_CASES}
    issue = [ok for case_id, ok in outcomes.items() if case_id in issue_ids]
    terminalreporter.write_line(
        f"findings recovered from {sum(outcomes.values())} of {len(outcomes)} corpus replies "
        f"({sum(issue)} of {len(issue)} of the shapes measured in issue 8)"
    )


def _observation_summary(terminalreporter) -> None:
    """How many of a defect's observations were read as meant, of the corpus (tests/test_observations.py)."""
    import sys

    fields = getattr(sys.modules.get("tests.test_observations"), "FIELDS", None)
    if fields:
        read, expected = (sum(pair[index] for pair in fields.values()) for index in (0, 1))
        terminalreporter.write_line(
            f"defect observations read as meant: {read} of {expected} fields in {len(fields)} corpus replies"
        )


def _legibility_summary(terminalreporter) -> None:
    """The OCR figures of tests/test_legibility.py, when it ran."""
    import sys

    figures = getattr(sys.modules.get("tests.test_legibility"), "RECOVERED", None)
    if figures:
        shares = ", ".join(f"{label}: {share:.0%}" for label, share in figures.items())
        terminalreporter.write_line(f"OCR recovered words of the synthetic A1 sheet from what is sent ({shares})")


from tests.viktor_platform import platform  # noqa: E402, F401 - the platform-like harness, a fixture for every test
