"""The store under faults, on the command line as a careless user and an unlucky machine would meet them: a lock held
by another process, a full disk (a real small tmpfs), a store from a newer version, a bad stored value, a read-only
store, two runs on the same photos at once. Nothing paid for is lost, nothing is paid twice, and the exit status
says so."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import pytest
from werkzeug import Response

from image_analysis import store_keys
from image_analysis.review import EDITED
from image_analysis.store import SqliteStore, StoreError
from tests.conftest import REPO, completion_body, shared_image_path
from tests.helpers import cli
from tests.reply_corpus import BASE
from tests.scenarios import STORE_PHOTOS

pytestmark = pytest.mark.process  # other processes holding the store, a tmpfs mounted

PHOTOS = [*STORE_PHOTOS, "building_arena_stage_highsmith.jpg", "infrastructure_metro_vault_ustreet.jpg"]
REPLY = json.dumps(BASE)


def photos() -> list[str]:
    return [str(shared_image_path(name)) for name in PHOTOS]


def environment(service, tmp_path) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": service.base_url,
        "VISION_MAX_RETRIES": "0",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "IMAGE_ANALYSIS_STORE_LOCK_SECONDS": "1",
    }


def describe(store, env, *extra: str) -> subprocess.CompletedProcess:
    return cli("describe", *photos(), "--preset", "inspection", "--store", str(store), *extra, env_extra=env)


def errors(run: subprocess.CompletedProcess) -> list[str]:
    return [line for line in run.stderr.splitlines() if ": error: " in line]


def test_a_store_locked_by_another_process_keeps_every_result_in_a_journal(threaded_model_service, tmp_path):
    threaded_model_service.reply(REPLY)
    store = tmp_path / "results.sqlite"
    SqliteStore(store)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)",
            str(store),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        env = environment(threaded_model_service, tmp_path)
        start = time.monotonic()
        locked = describe(store, env, "--csv", str(tmp_path / "f.csv"))
        seconds = time.monotonic() - start
    finally:
        holder.kill()
        holder.wait()
    assert locked.returncode == 3, locked.stderr
    [line] = errors(locked)
    assert "could not be written; 8 results and 1 inspection record kept in the journal" in line
    assert "merged into the store" in line
    assert seconds < 60, "one bounded wait, not one a photo"
    assert len(threaded_model_service.requests) == 8

    again = describe(store, env)
    assert again.returncode == 0, again.stderr
    assert len(threaded_model_service.requests) == 8, "the next run took every result from the journal"
    assert len(SqliteStore(store).keys(store_keys.RESULT)) == 8 and not (tmp_path / "results.sqlite.journal").exists()


@pytest.fixture
def small_disk(tmp_path):
    """A real 256 kB tmpfs: a store on it fills up after the first result or two."""
    mount = tmp_path / "small"
    mount.mkdir()
    command = ["/usr/bin/mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)]
    done = subprocess.run(command, capture_output=True)
    if done.returncode != 0:
        pytest.fail(f"the full-disk test mounts a small tmpfs (as root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["/usr/bin/umount", "-l", str(mount)], check=False)


def test_a_full_disk_loses_nothing_and_exits_non_zero(threaded_model_service, tmp_path, small_disk):
    threaded_model_service.reply(REPLY)
    env = environment(threaded_model_service, tmp_path)
    store = small_disk / "results.sqlite"
    full = describe(store, env)
    assert full.returncode == 3, full.stderr
    [line] = errors(full)
    assert "kept in the journal" in line and str(tmp_path / "cache") in line, "the journal went where there was room"
    assert len(threaded_model_service.requests) == 8

    still_full = describe(store, env)
    assert len(threaded_model_service.requests) == 8, "the journal serves the next run while the disk stays full"
    assert still_full.returncode == 0, still_full.stderr

    subprocess.run(["/usr/bin/mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    assert describe(store, env).returncode == 0
    assert len(SqliteStore(store).keys(store_keys.RESULT)) == 8, "merged once there was room"
    assert len(threaded_model_service.requests) == 8


def test_a_store_from_a_newer_version_is_refused_before_any_request(model_service, tmp_path):
    model_service.reply(REPLY)
    store = tmp_path / "results.sqlite"
    SqliteStore(store)
    with sqlite3.connect(store) as connection:
        connection.execute("INSERT INTO migrations VALUES ('m099_from_the_future', '2027-01-01')")
    run = describe(store, environment(model_service, tmp_path))
    assert run.returncode == 2
    [line] = run.stderr.splitlines()
    assert "written by a newer version" in line and "m099_from_the_future" in line
    assert model_service.requests == []


def test_an_old_store_is_migrated_and_keeps_its_results(tmp_path):
    store = tmp_path / "old.sqlite"
    with sqlite3.connect(store) as connection:  # the schema of the first version, before migrations were recorded
        connection.execute("CREATE TABLE results (key TEXT PRIMARY KEY, value TEXT NOT NULL, stored_at TEXT)")
        connection.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
        connection.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        connection.execute("INSERT INTO results VALUES ('result-a', '{\"kept\": 1}', '2026-11-01')")
    migrated = SqliteStore(store)
    assert migrated.get("result-a") == {"kept": 1}
    with sqlite3.connect(store) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == ["m001_results", "m002_claims"]


@pytest.mark.parametrize("bad", ["{not json", '{"number": 1}', "[1, 2, 3]"], ids=["not JSON", "not a result", "a list"])
def test_a_bad_stored_value_is_described_again_and_replaced(model_service, tmp_path, bad):
    model_service.reply(REPLY)
    env = environment(model_service, tmp_path)
    store = tmp_path / "results.sqlite"
    assert describe(store, env).returncode == 0
    with sqlite3.connect(store) as connection:
        [key] = connection.execute("SELECT key FROM results WHERE key LIKE 'result-%' ORDER BY key LIMIT 1").fetchone()
        connection.execute("UPDATE results SET value = ? WHERE key = ?", (bad, key))

    again = describe(store, env, "--csv", str(tmp_path / "f.csv"))
    assert again.returncode == 0, again.stderr
    assert "1 stored result could not be read; described again and replaced" in again.stderr
    assert len(model_service.requests) == 9
    assert SqliteStore(store).get(key)["record"] == key, "the bad value was replaced by the new result"
    report = cli("report", str(tmp_path / "f.csv"), "--store", str(store), "--docx", str(tmp_path / "r.docx"))
    assert report.returncode == 0, report.stderr


def test_a_read_only_store_serves_report_and_leaves_nothing_behind(model_service, tmp_path):
    model_service.reply(REPLY)
    env = environment(model_service, tmp_path)
    folder = tmp_path / "records"
    store = folder / "results.sqlite"
    assert describe(store, env, "--csv", str(tmp_path / "f.csv")).returncode == 0
    store.chmod(0o444)
    folder.chmod(0o555)
    try:
        report = cli("report", str(tmp_path / "f.csv"), "--store", str(store), "--out", str(tmp_path / "r.html"))
        assert report.returncode == 0, report.stderr
        assert sorted(path.name for path in folder.iterdir()) == ["results.sqlite"], "no -shm or -wal left behind"
    finally:
        folder.chmod(0o755)
        store.chmod(0o644)
    assert describe(store, env).returncode == 0, "writable again: used as before"


def test_a_store_that_cannot_be_written_is_refused_in_one_line(tmp_path):
    if os.geteuid() == 0:
        store = tmp_path / "results.sqlite"
        store.write_bytes(b"not a database at all")
        with pytest.raises(StoreError, match="Cannot use"):
            SqliteStore(store)
        return
    store = tmp_path / "results.sqlite"
    SqliteStore(store)
    store.chmod(stat.S_IRUSR)
    with pytest.raises(StoreError, match="is read-only"):
        SqliteStore(store)


def test_two_runs_on_the_same_photos_pay_once_and_their_csvs_round_trip(threaded_model_service, tmp_path):
    lock = threading.Lock()
    seen: list[int] = []

    def handle(request):
        with lock:
            seen.append(1)
        time.sleep(0.3)
        return Response(json.dumps(completion_body(REPLY)), content_type="application/json")

    threaded_model_service.handle(handle)
    env_all = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("OPENAI", "VISION"))},
        **environment(threaded_model_service, tmp_path),
    }
    store = tmp_path / "results.sqlite"
    SqliteStore(store)
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "image_analysis",
                "describe",
                *photos(),
                "--preset",
                "inspection",
                "--store",
                str(store),
                "--csv",
                str(tmp_path / f"run{number}.csv"),
            ],
            cwd=REPO,
            env=env_all,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in (1, 2)
    ]
    for run in runs:
        assert run.wait(120) == 0, run.stderr.read() if run.stderr else ""
    assert len(seen) == 8, f"{len(seen)} requests for 8 photos"
    for number in (1, 2):
        csv_path = tmp_path / f"run{number}.csv"
        out = tmp_path / f"reviewed{number}.csv"
        done = cli("report", str(csv_path), "--store", str(store), "--csv", str(out))
        assert done.returncode == 0, done.stderr
        statuses = [row["status"] for row in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))]
        assert EDITED not in statuses, f"run {number}: an untouched CSV came back edited"


def test_a_journal_line_is_appended_whole_or_not_at_all(small_disk):
    """A line the full disk cannot take is cut off again, and one a crash left cut short is ended first: a later line
    never runs on from it and is lost with it (as a second run on a full disk once lost one description)."""
    from image_analysis.store import _append_whole, _journal_entries

    journal = small_disk / "results.sqlite.journal"
    first = (json.dumps({"key": "result:a", "value": {"n": 1}}) + "\n").encode()
    _append_whole(journal, first)
    filler = small_disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as file:
        file.write(b"\0" * 400_000)  # more than the 256 kB the disk holds
    big = (json.dumps({"key": "result:b", "value": {"text": "x" * 100_000}}) + "\n").encode()
    with pytest.raises(OSError):
        _append_whole(journal, big)
    assert journal.read_bytes() == first, "nothing of the line that did not fit is left"
    filler.unlink()
    with journal.open("ab") as file:
        file.write(b'{"key": "result:c", "val')  # a crash cut this one short
    _append_whole(journal, big)
    assert [entry["key"] for entry in _journal_entries(journal)] == ["result:a", "result:b"]
