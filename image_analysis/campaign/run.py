"""``campaign run``: the shards of a prepared campaign sent to any OpenAI-compatible server (no batch API needed), with
the project's retries and deadline, the answers written line by line in the batch output format every engine shares,
so that ``campaign import`` takes them as it takes any engine's. Resumable: a request already answered is not sent
again; stopped (Ctrl-C, SIGTERM), the requests in flight are answered and kept."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from image_analysis import model
from image_analysis.campaign.folder import Manifest, results_name
from image_analysis.errors import AnalysisError
from image_analysis.progress import Progress


@dataclass(frozen=True)
class RunSummary:
    """What one ``run_campaign`` did: requests answered, failed (with their error line) and already done."""

    answered: int
    failed: int
    skipped: int
    interrupted: bool = False


def answered_ids(path: Path) -> set[str]:
    """The ``custom_id`` of every complete line of a results shard; a line cut off by a kill is removed."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return set()
    whole = data[: data.rfind(b"\n") + 1]
    if len(whole) != len(data):
        with path.open("r+b") as file:
            file.truncate(len(whole))
    return {json.loads(line)["custom_id"] for line in whole.splitlines() if line.strip()}


def result_line(custom_id: str, completion: dict[str, Any] | None, error: AnalysisError | None) -> str:
    """One line in the batch output format the engines share: the completion as the body of a 200 response, or the
    error with its message."""
    line: dict[str, Any] = {"id": f"batch_req_{uuid.uuid4().hex}", "custom_id": custom_id}
    if completion is not None:
        line["response"] = {"status_code": 200, "request_id": completion.get("id"), "body": completion}
        line["error"] = None
    else:
        line["response"] = None
        line["error"] = {"code": type(error).__name__, "message": str(error)}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


Answerer = Callable[[Path, set[str]], Iterator[str]]
"""Another engine's way of answering a shard: the result line of each request not in the answered set, as they come
(``ray_engine.answered``)."""


def run_campaign(
    folder: Path,
    settings: model.ServiceSettings,
    *,
    concurrency: int = 4,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    engine: Answerer | None = None,
) -> RunSummary:
    """Send every request of a prepared campaign to an OpenAI-compatible server (``settings``: its address and key,
    retries and deadline; each request keeps the model it was prepared for), writing ``results-NNNN.jsonl`` beside
    each shard, line by line. A request already answered is not sent again. Once ``stop`` is set (the command line
    sets it on Ctrl-C and SIGTERM), no new request starts and those in flight are answered and written: the summary
    says ``interrupted``."""
    manifest = Manifest.require(folder)
    report = progress or Progress()
    stop = stop or threading.Event()
    answered = failed = skipped = 0
    for shard in manifest.shards:
        if stop.is_set():
            break
        results = folder / results_name(shard["name"])
        done = answered_ids(results)
        total = shard["requests"] - len(done)
        if total <= 0:
            counts = (0, 0)  # every request of the shard answered before: nothing to start
        elif engine is not None:
            counts = _write_all(engine(folder / shard["name"], done), total, results, report, stop)
        else:
            with (folder / shard["name"]).open(encoding="utf-8") as requests:
                todo = (line for line in map(json.loads, requests) if line["custom_id"] not in done)
                counts = _send_all(todo, total, settings, concurrency, results, report, stop)
        answered, failed, skipped = answered + counts[0], failed + counts[1], skipped + len(done)
        report.shard(f"{results.name}: {sum(counts)} answered ({counts[1]} with an error)")
    report.close()
    return RunSummary(answered, failed, skipped, interrupted=stop.is_set())


def _write_all(
    lines: Iterator[str], total: int, results: Path, report: Progress, stop: threading.Event
) -> tuple[int, int]:
    """Append each result line to ``results`` as it comes (another engine sent the requests); the counts answered and
    failed. Once ``stop`` is set no more is taken: what was written is kept, the rest is sent by the next run."""
    counts = [0, 0]
    with results.open("a", encoding="utf-8", newline="\n") as out:
        for text in lines:
            out.write(text + "\n")
            out.flush()
            counts[0 if json.loads(text).get("error") is None else 1] += 1
            report.file(sum(counts), total)
            if stop.is_set():
                break
    return counts[0], counts[1]


def _send_all(
    lines: Iterator[dict[str, Any]],
    total: int,
    settings: model.ServiceSettings,
    concurrency: int,
    results: Path,
    report: Progress,
    stop: threading.Event,
) -> tuple[int, int]:
    """Send ``lines`` (read as they are sent: a shard is never held whole), at most ``concurrency`` in flight,
    appending each answer to ``results`` as it comes; the counts answered and failed. Once ``stop`` is set no request
    starts, and those in flight are answered and written, so that a run started again sends none of them twice."""

    def send(line: dict[str, Any]) -> tuple[str, bool]:
        try:
            return result_line(line["custom_id"], model.complete(line["body"], settings), None), True
        except AnalysisError as error:
            return result_line(line["custom_id"], None, error), False

    counts = [0, 0]
    with (
        results.open("a", encoding="utf-8", newline="\n") as out,
        ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="campaign") as pool,
    ):

        def write(future: Future) -> None:
            text, ok = future.result()
            out.write(text + "\n")
            out.flush()
            counts[0 if ok else 1] += 1
            report.file(sum(counts), total)

        in_flight: set[Future] = set()
        more = True
        while True:
            while more and not stop.is_set() and len(in_flight) < concurrency:
                line = next(lines, None)
                if line is None:
                    more = False
                else:
                    in_flight.add(pool.submit(send, line))
            if not in_flight:
                break
            finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                write(future)
    return counts[0], counts[1]
