"""A real deadline: ``VISION_TIMEOUT`` bounds each attempt from connect to the last byte, and a streamed reply's
total time, with ``VISION_STREAM_SILENCE`` bounding the silence between chunks. The servers here are alive and
answer, one byte at a time: per-read timeouts alone would keep such a request open for as long as they trickle."""

from __future__ import annotations

import json
import time

import pytest

from image_analysis import chat, model, prompts
from image_analysis.errors import ServiceUnreachableError
from image_analysis.imaging.prepare import prepare_image
from tests.conftest import completion_body, http_response, make_analysis, shared_image_path, sse
from tests.helpers import cli

pytestmark = pytest.mark.faults

REPLY = http_response(json.dumps(completion_body("A white flower.")))


@pytest.fixture(scope="module")
def prepared():
    return prepare_image(shared_image_path("webp_photo_flower.webp").read_bytes(), "flower.webp")


def describe(prepared):
    return model.describe(prepared.images, prompts.build_prompt(), model.ServiceSettings.from_environment())


@pytest.mark.slow
@pytest.mark.parametrize(
    "delay, burst",
    [(0.3, 0), (0.2, REPLY.index(b"\r\n\r\n") + 4)],
    ids=["status line trickles", "headers at once, body trickles"],
)
def test_a_trickling_server_is_cut_off_at_the_deadline(trickle, monkeypatch, prepared, delay, burst):
    monkeypatch.setenv("VISION_TIMEOUT", "1.5")
    trickle(REPLY, delay=delay, burst=burst)
    start = time.monotonic()
    with pytest.raises(ServiceUnreachableError, match=r"did not finish within 1\.5 s\. .*VISION_TIMEOUT"):
        describe(prepared)
    assert time.monotonic() - start < 1.5 + 1.0


@pytest.mark.slow
def test_each_attempt_has_its_own_deadline(trickle, monkeypatch, prepared):
    monkeypatch.setenv("VISION_TIMEOUT", "1")
    server = trickle(REPLY, delay=0.3)
    monkeypatch.setenv("VISION_MAX_RETRIES", "1")
    monkeypatch.setenv("VISION_RETRY_AFTER_CAP", "0.2")
    start = time.monotonic()
    with pytest.raises(ServiceUnreachableError, match=r"did not finish within 1 s \(tried 2 times\)"):
        describe(prepared)
    assert server.requests == 2
    assert 2.0 <= time.monotonic() - start < 2 * 1.0 + 1.5


@pytest.mark.slow
def test_a_reply_that_finishes_in_time_is_not_disturbed(trickle, monkeypatch, prepared):
    monkeypatch.setenv("VISION_TIMEOUT", "5")
    trickle(REPLY, delay=0.0, step=64)
    assert describe(prepared).text == "A white flower."


@pytest.mark.slow
def test_the_command_line_cuts_off_a_one_byte_every_3_s_server_within_12_s(trickle, prepared, tmp_path):
    """The issue's case, as a user runs it: VISION_TIMEOUT=5, no retries, one byte every 3 s."""
    server = trickle(REPLY, delay=3.0)
    photo = shared_image_path("webp_photo_flower.webp")
    start = time.monotonic()
    done = cli(
        "describe",
        str(photo),
        env_extra={"OPENAI_BASE_URL": server.base_url, "VISION_TIMEOUT": "5", "VISION_MAX_RETRIES": "0"},
    )
    elapsed = time.monotonic() - start
    assert done.returncode == 3, done.stderr
    assert "did not finish within 5 s" in done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < 12


@pytest.mark.slow
def test_a_stream_that_trickles_past_the_deadline_ends_with_a_clear_line(trickle, monkeypatch, prepared):
    monkeypatch.setenv("VISION_TIMEOUT", "1.5")
    body = sse(*[f"word{index} " for index in range(400)])
    payload = http_response(body, content_type="text/event-stream")
    trickle(payload, delay=0.02, step=40, burst=payload.index(b"\r\n\r\n") + 4)
    analysis = make_analysis(prepared, "A white flower.")
    start = time.monotonic()
    reply = "".join(
        chat.reply([{"role": "user", "content": "More?"}], analysis, model.ServiceSettings.from_environment())
    )
    assert time.monotonic() - start < 1.5 + 1.0
    assert reply.startswith("word0 ")
    assert "The reply was cut off" in reply and "did not finish within 1.5 s" in reply


@pytest.mark.slow
def test_a_stream_that_falls_silent_is_cut_off_by_the_silence_limit(trickle, monkeypatch, prepared):
    monkeypatch.setenv("VISION_TIMEOUT", "20")
    monkeypatch.setenv("VISION_STREAM_SILENCE", "0.5")
    payload = http_response(sse("The crack ", "is hairline."), content_type="text/event-stream")
    first_event_end = payload.index(b"\n\n", payload.index(b"\r\n\r\n")) + 2
    trickle(payload, delay=5.0, step=len(payload), burst=first_event_end)  # one chunk, then 5 s of silence
    analysis = make_analysis(prepared, "A crack.")
    start = time.monotonic()
    reply = "".join(
        chat.reply([{"role": "user", "content": "Why?"}], analysis, model.ServiceSettings.from_environment())
    )
    assert time.monotonic() - start < 2.5
    assert reply.startswith("The crack ")
    assert "sent nothing for 0.5 s" in reply and "VISION_STREAM_SILENCE" in reply
