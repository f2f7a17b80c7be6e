"""The result store: a second run of the same photos sends nothing, a run killed half-way resumes with only the
photos that had no stored result, and a batch with requests in flight writes safely. Requests are counted at the
local test server."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from werkzeug import Response

from image_analysis import analysis, model
from image_analysis.presets import AnalysisRequest, Preset
from image_analysis.store import SqliteStore, StoreError
from tests.conftest import REPO, completion_body, shared_image_path
from tests.helpers import cli
from tests.reply_corpus import BASE
from tests.scenarios import STORE_PHOTOS as PHOTOS

REPLY = json.dumps(BASE)


def photo_paths():
    return [str(shared_image_path(name)) for name in PHOTOS]


def image_digest(body: dict) -> str:
    """Which photo a request is about (a hash of its image data URI)."""
    url = next(part["image_url"]["url"] for part in body["messages"][1]["content"] if part["type"] == "image_url")
    return hashlib.sha256(url.encode()).hexdigest()


@pytest.mark.slow
def test_the_second_run_of_the_same_photos_sends_no_request(model_service, tmp_path):
    model_service.reply(REPLY)
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0"}
    store = str(tmp_path / "results.sqlite")
    first = cli("describe", *photo_paths(), "--preset", "inspection", "--store", store, env_extra=env)
    assert first.returncode == 0, first.stderr
    assert len(model_service.requests) == len(PHOTOS)
    second = cli(
        "describe",
        *photo_paths(),
        "--preset",
        "inspection",
        "--csv",
        str(tmp_path / "f.csv"),
        env_extra=env | {"IMAGE_ANALYSIS_STORE": store},
    )
    assert second.returncode == 0, second.stderr
    assert len(model_service.requests) == len(PHOTOS), "the second run sent nothing"
    assert f"{len(PHOTOS)} of {len(PHOTOS)} taken from the store" in second.stderr
    assert (tmp_path / "f.csv").read_text(encoding="utf-8-sig").count("reinforced concrete column") == 2 * len(PHOTOS)


def test_other_choices_or_another_model_are_new_results(model_service, tmp_path):
    model_service.reply(REPLY)
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0"}
    store = str(tmp_path / "results.sqlite")
    photo = photo_paths()[0]
    for extra in ([], ["--scale", "nbi"], ["--model", "other-model"], []):
        assert cli("describe", photo, "--preset", "inspection", "--store", store, *extra, env_extra=env).returncode == 0
    assert len(model_service.requests) == 3, "the fourth run repeats the first"


def test_a_plain_describe_always_calls_the_model(model_service, tmp_path):
    model_service.reply(REPLY)
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0"}
    for _ in range(2):
        assert cli("describe", photo_paths()[0], env_extra=env).returncode == 0
    assert len(model_service.requests) == 2


def test_failures_are_not_kept_so_the_next_run_retries_them(model_service, tmp_path):
    model_service.fail(503, once=True)
    model_service.reply(REPLY)
    env = {"OPENAI_BASE_URL": model_service.base_url, "VISION_MAX_RETRIES": "0"}
    store = str(tmp_path / "results.sqlite")
    assert cli("describe", photo_paths()[0], "--store", store, env_extra=env).returncode == 3
    assert cli("describe", photo_paths()[0], "--store", store, env_extra=env).returncode == 0
    assert cli("describe", photo_paths()[0], "--store", store, env_extra=env).returncode == 0
    assert len(model_service.requests) == 2


@pytest.mark.process
def test_a_run_killed_half_way_resumes_with_only_the_photos_not_yet_stored(threaded_model_service, tmp_path):
    """SIGKILL while two requests wait at the server: the next run sends exactly the photos without a result."""
    gate, lock = threading.Event(), threading.Lock()
    seen: list[tuple[int, str]] = []  # (run, photo digest) of every request, in order

    def handle(request):
        body = request.get_json()
        with lock:
            seen.append((run[0], image_digest(body)))
            held = run[0] == 1 and len(seen) > 2
        if held:
            gate.wait(timeout=60)  # the first run is killed while these wait
        return Response(json.dumps(completion_body(REPLY)), content_type="application/json")

    run = [1]
    threaded_model_service.handle(handle)
    store_path = tmp_path / "results.sqlite"
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION"))},
        "OPENAI_BASE_URL": threaded_model_service.base_url,
        "VISION_MAX_RETRIES": "0",
    }
    command = [sys.executable, "-m", "image_analysis", "describe", *photo_paths(), "--preset", "inspection"]
    command += ["--store", str(store_path), "--concurrency", "2"]
    victim = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (len(seen) >= 4 and _stored(store_path) == 2):
        time.sleep(0.05)
    assert len(seen) >= 4 and _stored(store_path) == 2, "two photos stored and two held at the server"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    kept_after_kill = set(_stored_digests(store_path))
    run[0] = 2
    gate.set()

    second = subprocess.run(
        [*command[:-2], "--concurrency", "4", "--docx", str(tmp_path / "r.docx")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    second_run = [digest for number, digest in seen if number == 2]
    assert len(second_run) == len(PHOTOS) - 2, "only the photos without a stored result are sent"
    assert len(set(second_run)) == len(second_run), "each photo once"
    first_answered = [digest for number, digest in seen if number == 1][:2]
    assert not set(second_run) & set(first_answered), "no photo that was stored is sent again"
    assert len(kept_after_kill) == 2 and _stored(store_path) == len(PHOTOS)
    from docx import Document

    document = Document(str(tmp_path / "r.docx"))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1" and p.text.startswith("Photo ")]
    assert len(headings) == len(PHOTOS), "every photo is in the final report"


def _stored(path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM results WHERE key LIKE 'result-%'").fetchone()[0]
    except sqlite3.Error:
        return 0


def _stored_digests(path) -> list[str]:
    with sqlite3.connect(path, timeout=5) as connection:
        return [row[0] for row in connection.execute("SELECT key FROM results WHERE key LIKE 'result-%'")]


def test_a_batch_with_four_in_flight_writes_every_result(threaded_model_service, tmp_path):
    threaded_model_service.reply(REPLY)
    store = SqliteStore(tmp_path / "results.sqlite")
    uploads = [analysis.Upload.from_path(shared_image_path(name)) for name in PHOTOS]
    request = AnalysisRequest(preset=Preset.INSPECTION)
    settings = model.ServiceSettings.from_environment()
    results = analysis.analyse_batch(uploads, request, settings, concurrency=4, store=store)
    assert all(result.error is None and result.record for result in results)
    assert len(store.keys()) == len(PHOTOS)
    again = analysis.analyse_batch(uploads, request, settings, concurrency=4, store=store)
    assert all(result.from_store for result in again)
    assert [result.name for result in again] == [result.name for result in results]
    assert len(threaded_model_service.requests) == len(PHOTOS)


@pytest.mark.parametrize("kind", ["directory", "not a database"])
def test_a_path_that_is_not_a_store_is_one_line_and_exit_2(tmp_path, kind):
    path = tmp_path / "store"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"this is not SQLite" * 100)
    done = cli("describe", photo_paths()[0], "--store", str(path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "result store" in done.stderr and "Traceback" not in done.stderr


def test_the_store_refuses_clearly_in_python_too(tmp_path):
    with pytest.raises(StoreError, match="Cannot use"):
        SqliteStore(tmp_path)
