"""Campaign scale: thousands of photos and PDF sets prepared once, in parallel, into request shards that a batch
engine runs (the OpenAI Batch API, vLLM's ``run_batch``, Mistral's batch API; ``../shared/docs/batch-engines.md``).

``prepare_campaign`` walks the inputs, prepares every image in worker processes (one per core by default, each
upload within its own budget), and writes ``requests-0001.jsonl``, ``requests-0002.jsonl``, ... each under
``MAX_LINES`` lines and ``MAX_SHARD_BYTES`` bytes, and ``manifest.json``: every input with its size, hash,
``custom_id`` (short, as every engine takes it), ``record`` (the store's key for its result, so that results import
into the store as a live run keeps them) and shard, or
why it was refused. A shard is written as ``.part`` and renamed when complete, and the manifest is replaced after
each one: killed and run again, the work resumes after the last complete shard.

A line is the request a live call sends (``model.request_body``), in the engine's envelope:
``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`` (OpenAI, vLLM, LiteLLM) or
``{"custom_id", "body"}`` (Mistral).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from image_analysis import analysis, model
from image_analysis.errors import AnalysisError, InputError
from image_analysis.imaging.decode import FILE_TYPES
from image_analysis.imaging.encode import thumbnail
from image_analysis.imaging.prepared import Preparation, reduced_copy
from image_analysis.model import DEFAULT_MAX_TOKENS
from image_analysis.presets import AnalysisRequest
from image_analysis.review import Review, ai_findings, scored_at_least
from image_analysis.safe_text import clean
from image_analysis.store import SqliteStore
from image_analysis.structured_output import Structured

FORMATS = ("openai", "mistral")
MAX_LINES = 49_999
"""Requests a shard holds at most: under OpenAI's 50,000 a file."""
MAX_SHARD_BYTES = 190_000_000
"""Bytes a shard holds at most: under OpenAI's 200 MB a file (vLLM and Mistral take more)."""
MANIFEST = "manifest.json"
CHAT_URL = "/v1/chat/completions"
MANIFEST_VERSION = 2
_Result = TypeVar("_Result")


class CampaignError(InputError):
    """A campaign folder or its inputs cannot be used as asked; the message says what to do."""


@dataclass(frozen=True)
class Entry:
    """One input of the campaign (one sheet, for a PDF set): where its request went, or why it has none."""

    path: str
    bytes: int
    sha256: str
    page: int | None = None
    custom_id: str | None = None
    """The request's id in the shards and the answers: ``ID_PREFIX`` and 40 hex digits of the record key's hash,
    within the 64 characters of ``[A-Za-z0-9_-]`` the strictest engines take (the record key is 136)."""
    record: str | None = None
    """The store's key for the result (``analysis.record_key``)."""
    shard: str | None = None
    refused: str | None = None

    @property
    def name(self) -> str:
        """The file name as the reports show it, with the sheet of a PDF set."""
        name = Path(self.path).name
        return clean(name if self.page is None else f"{name} (page {self.page})")


@dataclass(frozen=True)
class Settings:
    """What every request of a campaign was prepared with; a resumed run must ask for the same."""

    request: AnalysisRequest
    model: str
    format: str = "openai"
    max_tokens: int = DEFAULT_MAX_TOKENS
    structured: str = Structured.SCHEMA.value

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "request": self.request.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        return cls(**{**data, "request": AnalysisRequest.from_json(data["request"])})


def inputs(paths: Sequence[Path]) -> list[Path]:
    """The files of a campaign in a stable order: folders walked (files with an accepted extension, hidden ones
    skipped), files given by name taken as they are (the content decides), each once."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for root, folders, files in os.walk(path):
                folders[:] = sorted(folder for folder in folders if not folder.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and Path(name).suffix.lower() in FILE_TYPES:
                        found.setdefault(Path(root) / name)
        else:
            found.setdefault(path)
    return list(found)


def batch_level(setting: Structured) -> Structured:
    """The ``response_format`` level a batch line asks for: no fallback can follow a refusal in a batch, so
    ``auto`` asks for the schema, which vLLM, OpenAI and Mistral all enforce; an explicit level is kept."""
    return Structured.SCHEMA if setting is Structured.AUTO else setting


def request_line(custom_id: str, body: dict[str, Any], format: str) -> str:
    """One line of a request shard in ``format``'s envelope."""
    if format == "mistral":
        envelope: dict[str, Any] = {"custom_id": custom_id, "body": body}
    else:
        envelope = {"custom_id": custom_id, "method": "POST", "url": CHAT_URL, "body": body}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


Made = tuple[Entry, str | None, str | None]
"""An input's entry, its request line and its facts line (``None``, ``None`` when it was refused)."""


def prepare_file(path: str, settings: Settings) -> list[Made]:
    """Every request of one input file (one per sheet of a PDF set) with its manifest entry and the facts of what
    is sent (the source, the metadata shown but never sent, the notes: ``facts_line``); a file that cannot be used
    gives one entry that says why. Runs in a worker process: nothing here is shared."""
    upload = analysis.Upload.from_path(Path(path))
    size, digest = len(upload.data), hashlib.sha256(upload.data).hexdigest()
    if upload.unreadable:
        return [(Entry(path, size, digest, refused=upload.unreadable), None, None)]
    try:
        pages = analysis.chosen_pages(upload, "all")
        uploads = analysis.sheet_uploads(upload, pages) if pages else [upload]
    except AnalysisError as error:
        return [(Entry(path, size, digest, refused=clean(str(error))), None, None)]
    made: list[Made] = []
    for sheet in uploads:
        page = sheet.page if pages else None
        try:
            preparation = analysis.prepare(sheet, settings.request)
        except AnalysisError as error:
            made.append((Entry(path, size, digest, page, refused=clean(str(error))), None, None))
            continue
        key = analysis.record_key(sheet, settings.request, settings.model)
        prompt = analysis.prompt_for(preparation, settings.request)
        level = Structured(settings.structured)
        body = model.request_body(prompt, preparation.images, settings.model, settings.max_tokens, level)
        custom_id = request_id(key)
        entry = Entry(path, size, digest, page, custom_id=custom_id, record=key)
        made.append((entry, request_line(custom_id, body, settings.format), facts_line(custom_id, preparation)))
    return made


ID_PREFIX = "ia-"


def request_id(record: str) -> str:
    """A request's ``custom_id`` for the result kept under ``record``: the same input and choices give the same id
    (a resumed run, a second import), and no two results share one."""
    return ID_PREFIX + hashlib.sha256(record.encode("utf-8")).hexdigest()[:40]


def facts_line(custom_id: str, preparation: Preparation) -> str:
    """What ``import`` needs besides the pixels, which the request line carries: the preparation without them; and
    the photo's thumbnail, for the report's workbook (made here, from the image in memory, rather than from ten
    thousand stored images again)."""
    facts = dataclasses.replace(
        preparation,
        images=tuple(dataclasses.replace(image, data=b"", sent=image.sent_bytes) for image in preparation.images),
    )
    small = base64.b64encode(thumbnail(preparation.display.data)).decode("ascii")  # made once, while in memory
    return json.dumps(
        {"custom_id": custom_id, "preparation": facts.to_json(), "thumbnail": small},
        ensure_ascii=False,
        separators=(",", ":"),
    )


@dataclass
class Manifest:
    """The campaign folder's record: its settings, every input's entry, and the shards complete."""

    settings: Settings
    entries: list[Entry] = dataclasses.field(default_factory=list)
    shards: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "settings": self.settings.to_json(),
            "shards": self.shards,
            "entries": [dataclasses.asdict(entry) for entry in self.entries],
        }

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        """The manifest in ``folder``, or ``None`` when there is none yet."""
        path = folder / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise CampaignError(f"'{path}' cannot be read ({error}); prepare into a new folder.") from None
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise CampaignError(f"'{path}' is not a campaign manifest this version reads; prepare into a new folder.")
        entries = [Entry(**entry) for entry in data["entries"]]
        return cls(Settings.from_json(data["settings"]), entries, data["shards"])

    def write(self, folder: Path) -> None:
        """Replace the manifest atomically: a kill leaves the old one or the new one, never half of either."""
        part = folder / f"{MANIFEST}.part"
        part.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        os.replace(part, folder / MANIFEST)

    def done(self) -> set[str]:
        """The inputs (paths) whose requests are all in complete shards, or that were refused."""
        return {entry.path for entry in self.entries}


@dataclass(frozen=True)
class Summary:
    """What one ``prepare_campaign`` run did."""

    requests: int
    refused: int
    skipped: int
    shards: tuple[str, ...]


class _Shard:
    """The shard being written, with its facts file: lines go to ``.part`` files; ``close`` makes them complete."""

    def __init__(self, folder: Path, number: int) -> None:
        self.name = f"requests-{number:04d}.jsonl"
        self.path = folder / self.name
        self.part = folder / f"{self.name}.part"
        self.file = self.part.open("w", encoding="utf-8", newline="\n")
        self.facts_path = folder / facts_name(self.name)
        self.facts_part = folder / f"{self.facts_path.name}.part"
        self.facts = self.facts_part.open("w", encoding="utf-8", newline="\n")
        self.lines = 0
        self.bytes = 0
        self.digest = hashlib.sha256()

    def fits(self, *lines: str) -> bool:
        size = sum(len(line.encode("utf-8")) + 1 for line in lines)
        return self.lines + len(lines) <= MAX_LINES and self.bytes + size < MAX_SHARD_BYTES

    def add(self, line: str, facts: str) -> None:
        data = line + "\n"
        self.file.write(data)
        self.facts.write(facts + "\n")
        encoded = data.encode("utf-8")
        self.lines += 1
        self.bytes += len(encoded)
        self.digest.update(encoded)

    def close(self) -> dict[str, Any]:
        for file in (self.facts, self.file):
            file.flush()
            os.fsync(file.fileno())
            file.close()
        os.replace(self.facts_part, self.facts_path)
        os.replace(self.part, self.path)
        return {"name": self.name, "requests": self.lines, "bytes": self.bytes, "sha256": self.digest.hexdigest()}


def prepare_campaign(
    paths: Sequence[Path],
    folder: Path,
    settings: Settings,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Prepare every input into request shards in ``folder`` (made if need be), resuming after the last complete
    shard of an earlier run with the same settings. Raises ``CampaignError`` for a folder prepared otherwise."""
    if settings.format not in FORMATS:
        raise CampaignError(f"--format must be one of {', '.join(FORMATS)}, not {settings.format!r}.")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.read(folder)
    if manifest is None:
        manifest = Manifest(settings)
    elif manifest.settings != settings:
        raise CampaignError(
            f"'{folder}' holds a campaign prepared with other settings ({_differences(manifest.settings, settings)}); "
            "prepare into a new folder, or ask for the same."
        )
    for stale in folder.glob("*.part"):  # what a killed run was writing
        stale.unlink()
    files = [os.path.abspath(path) for path in inputs(paths)]
    done = manifest.done()
    todo = [path for path in files if path not in done]
    report = progress or Progress()
    counted = 0
    number = len(manifest.shards) + 1
    shard: _Shard | None = None
    pending: list[Entry] = []  # entries of the shard being written: recorded when it is complete
    written: list[str] = []
    requests = refused = 0

    def finish() -> None:
        nonlocal shard, number
        if shard is None:
            return
        manifest.shards.append(shard.close())
        manifest.entries.extend(pending)
        manifest.write(folder)
        written.append(shard.name)
        report.shard(f"{shard.name}: {shard.lines} requests, {shard.bytes / 1e6:.1f} MB")
        pending.clear()
        shard, number = None, number + 1

    for made in _in_order(workers, prepare_file, todo, settings):
        whole_file: list[Entry] = []
        lines = [line for _, line, _ in made if line is not None]
        if shard is not None and lines and not shard.fits(*lines):
            finish()  # a file's requests stay in one shard, unless they alone are more than one holds
        for entry, line, facts in made:
            if line is None or facts is None:
                whole_file.append(entry)
                refused += 1
                continue
            if shard is not None and not shard.fits(line):
                finish()
            if shard is None:
                shard = _Shard(folder, number)
            shard.add(line, facts)
            whole_file.append(dataclasses.replace(entry, shard=shard.name))
            requests += 1
        if shard is None:  # every sheet refused: recorded at once
            manifest.entries.extend(whole_file)
        else:
            pending.extend(whole_file)
        counted += 1
        report.file(counted, len(todo))
    finish()
    report.close()
    manifest.write(folder)  # with the inputs refused after the last shard
    return Summary(requests, refused, len(files) - len(todo), tuple(written))


def _differences(old: Settings, new: Settings) -> str:
    before, after = _flat(old.to_json()), _flat(new.to_json())
    changed = [name for name in after if before.get(name) != after.get(name)]
    return ", ".join(f"{name} {before.get(name)!r}, not {after.get(name)!r}" for name in changed)


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _in_order(
    workers: int | None, function: Callable[..., _Result], items: Iterable[Any], *args: Any
) -> Iterator[_Result]:
    """``map`` on worker processes started fresh (``spawn``: no decoder state, lock or thread carried over from this
    one), one per core by default, with results in order and at most twice as many in flight as workers, so that
    prepared requests (hundreds of kB each) never pile up in memory."""
    count = workers or max(1, os.cpu_count() or 1)
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from _windowed(pool, 2 * count, function, items, *args)


def _windowed(
    pool: Executor, window: int, function: Callable[..., _Result], items: Iterable[Any], *args: Any
) -> Iterator[_Result]:
    pending: deque[Future] = deque()
    for item in items:
        pending.append(pool.submit(function, item, *args))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class Progress:
    """Where a run says how far it is: silent here; ``TerminalProgress`` for the command line."""

    def file(self, done: int, total: int) -> None:
        """``done`` of ``total`` inputs prepared."""

    def shard(self, line: str) -> None:
        """A shard is complete: ``line`` says which, with its size."""

    def close(self) -> None:
        """The run is over."""


class TerminalProgress(Progress):
    """On a terminal, a progress bar kept on one line (done, total, share, time left); otherwise (a log, CI) one
    line per shard."""

    REDRAW_SECONDS = 0.1

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.drawn = 0.0

    def file(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.live or (now - self.drawn < self.REDRAW_SECONDS and done < total):
            return
        self.drawn = now
        print(f"\r{progress_bar(done, total, now - self.started)}", end="", file=self.stream, flush=True)

    def shard(self, line: str) -> None:
        print(("\r\033[K" if self.live else "") + line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.live:
            print(file=self.stream, flush=True)


def progress_bar(done: int, total: int, elapsed: float, width: int | None = None) -> str:
    """``[########--------] 4,120 of 10,000 (41 %), 1 min 12 s left``, as wide as the terminal."""
    share = done / total if total else 1.0
    left = elapsed / done * (total - done) if done and done < total else 0.0
    minutes, seconds = divmod(round(left), 60)
    remaining = f", {minutes} min {seconds} s left" if minutes else f", {seconds} s left" if left else ""
    text = f" {done:,} of {total:,} ({share:.0%}){remaining}"
    room = (width or shutil.get_terminal_size((80, 24)).columns) - len(text) - 3
    bar = max(10, min(room, 50))
    filled = round(bar * share)
    return f"[{'#' * filled}{'-' * (bar - filled)}]{text}"


@dataclass(frozen=True)
class RunSummary:
    """What one ``run_campaign`` did: requests answered, failed (with their error line) and already done."""

    answered: int
    failed: int
    skipped: int
    interrupted: bool = False


def facts_name(shard: str) -> str:
    """The facts file of a request shard: ``requests-0001.jsonl`` gives ``facts-0001.jsonl``."""
    return shard.replace("requests-", "facts-", 1)


def results_name(shard: str) -> str:
    """The results shard of a request shard: ``requests-0001.jsonl`` gives ``results-0001.jsonl``."""
    return shard.replace("requests-", "results-", 1)


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


def run_campaign(
    folder: Path,
    settings: model.ServiceSettings,
    *,
    concurrency: int = 4,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Send every request of a prepared campaign to an OpenAI-compatible server (``settings``: its address and key,
    retries and deadline; each request keeps the model it was prepared for), writing ``results-NNNN.jsonl`` beside
    each shard, line by line. A request already answered is not sent again. Once ``stop`` is set (the command line
    sets it on Ctrl-C and SIGTERM), no new request starts and those in flight are answered and written: the summary
    says ``interrupted``."""
    manifest = Manifest.read(folder)
    if manifest is None:
        raise CampaignError(f"'{folder}' holds no {MANIFEST}: run `campaign prepare ... --out {folder}` first.")
    report = progress or Progress()
    stop = stop or threading.Event()
    answered = failed = skipped = 0
    for shard in manifest.shards:
        if stop.is_set():
            break
        results = folder / results_name(shard["name"])
        done = answered_ids(results)
        total = shard["requests"] - len(done)
        with (folder / shard["name"]).open(encoding="utf-8") as requests:
            todo = (line for line in map(json.loads, requests) if line["custom_id"] not in done)
            counts = _send_all(todo, total, settings, concurrency, results, report, stop)
        answered, failed, skipped = answered + counts[0], failed + counts[1], skipped + len(done)
        report.shard(f"{results.name}: {sum(counts)} answered ({counts[1]} with an error)")
    report.close()
    return RunSummary(answered, failed, skipped, interrupted=stop.is_set())


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


ERROR_KEY = "campaign-error:"
"""A failed request's answer is kept under this prefix and its record key, never under the record key alone: a live run
of the same photo is not served a failure from the store."""


@dataclass(frozen=True)
class ImportSummary:
    """What one ``import_results`` did; ``refused`` names each line that was not taken, and why."""

    imported: int
    errors: int
    unchanged: int
    refused: tuple[str, ...]


IMPORT_BATCH = 50
"""Answers kept in one transaction at a time: one commit per answer would cost more than the answers."""


def import_results(paths: Sequence[Path], store: SqliteStore, folder: Path) -> ImportSummary:
    """Every answer line of ``paths`` (any engine's batch output) into ``store`` under its record key (the manifest
    maps each ``custom_id`` to one), read and
    salvaged as a live reply is, beside exactly the image it was about: the pixels from the request shard, the facts
    from the shard's facts file, nothing decoded again. An error line is kept with its message under ``ERROR_KEY``;
    a line whose ``custom_id`` the manifest of ``folder`` does not know is refused, named; an answer already in the
    store is left as it is, so that importing twice changes nothing. Lines are taken one at a time and kept
    ``IMPORT_BATCH`` at a time (killed, the next import takes the rest)."""
    manifest = Manifest.read(folder)
    if manifest is None:
        raise CampaignError(f"'{folder}' holds no {MANIFEST}: give the campaign folder with --manifest.")
    numbered = enumerate(manifest.entries, 1)
    positions = {entry.custom_id: (number, entry) for number, entry in numbered if entry.custom_id}
    settings = manifest.settings
    sent = _SentImages(folder)
    stored = set(store.keys())
    refused: list[str] = []
    batch: list[tuple[str, str]] = []
    imported = errors = unchanged = 0
    for where, line in _result_lines(paths, refused):
        custom_id = line.get("custom_id")
        if custom_id not in positions:
            refused.append(f"{where}: custom_id {str(custom_id)[:80]!r} is not in {folder / MANIFEST}")
            continue
        number, entry = positions[custom_id]
        key = entry.record or custom_id
        outcome = _outcome(line, settings)
        if isinstance(outcome, str):
            failure = {"custom_id": custom_id, "path": entry.path, "error": outcome}
            kept = store.get(ERROR_KEY + key) if ERROR_KEY + key in stored else None
            if key in stored or kept == failure:
                unchanged += 1  # answered meanwhile, or this failure is kept already
                continue
            batch.append((ERROR_KEY + key, json.dumps(failure)))
            stored.add(ERROR_KEY + key)
            errors += 1
        else:
            if key in stored:
                kept = store.get(key)
                if kept is None or (kept.get("description") or {}).get("text") == outcome.text:
                    unchanged += 1
                    continue
            facts, pixels = sent.images(entry)
            result = analysis.Analysis(number, entry.name, settings.request, facts, outcome, record=key)
            batch.append((key, _with_pixels(result, pixels)))
            stored.add(key)
            imported += 1
        if len(batch) >= IMPORT_BATCH:
            store.put_many(batch)
            batch.clear()
    store.put_many(batch)
    return ImportSummary(imported, errors, unchanged, tuple(refused))


def _with_pixels(result: analysis.Analysis, pixels: Sequence[str]) -> str:
    """The store's value of ``result`` (whose preparation carries the facts of what was sent but not its pixels)
    with the pixels put back as the request line carries them, base64: exactly what a live run keeps, without
    decoding a megabyte of base64 to encode it again. The pixels go in by placeholder, which no escaped text of
    the value can spell (a quote inside a JSON string is always escaped)."""
    value = result.to_json()
    marker = uuid.uuid4().hex
    images = value["preparation"]["images"]
    for index, image in enumerate(images):
        image["data"] = f"{marker}-{index}"
    text = json.dumps(value)
    for index, data in enumerate(pixels):
        text = text.replace(f'"{marker}-{index}"', f'"{data}"', 1)
    return text


NOT_IMPORTED = "No answer has been imported for this photo yet: import its results with `campaign import`."


class StoredCampaign:
    """A campaign's results as the store keeps them, numbered as the manifest lists the inputs: each entry's
    answer, its failure, why it was refused, or that no answer was imported yet. Read one at a time (``photos`` in
    the manifest's order, ``result`` for one photo), so that nothing holds the campaign whole."""

    POOLED = 200
    """Photos from which ``photos`` and ``shown`` read in worker processes (one per core): fewer, in this one."""

    def __init__(self, store: SqliteStore, folder: Path, workers: int | None = None) -> None:
        manifest = Manifest.read(folder)
        if manifest is None:
            raise CampaignError(f"'{folder}' holds no {MANIFEST}: give the campaign folder with --manifest.")
        self.store, self.folder, self.workers = store, folder, workers
        self.settings = manifest.settings
        self.entries = manifest.entries

    def __len__(self) -> int:
        return len(self.entries)

    def photos(self, shown: Shown | None = None) -> Iterator[Photo]:
        """Every photo in order without its pixels (its reply read, its facts kept), with its thumbnail (JPEG, made
        by ``campaign prepare``) and, for a photo ``shown`` picks, a display copy for its entry: read in worker
        processes (one per core) for a campaign of ``POOLED`` photos or more."""
        thumbnails = self._thumbnails()
        numbers = range(1, len(self.entries) + 1)
        for result, display in self._map(_described, numbers, shown):
            yield Photo(result, next(thumbnails), display)

    def result(self, number: int, pixels: bool = True) -> analysis.Analysis:
        """Photo ``number`` (from 1, the manifest's order) as the store keeps it; ``pixels`` ``False``: without the
        images (cut out of the stored text before it is parsed), their facts kept."""
        entry, request = self.entries[number - 1], self.settings.request
        if entry.refused or entry.record is None:
            refused = entry.refused or "it was not prepared"
            return analysis.Analysis(number, entry.name, request, error=refused, failed_at=analysis.INPUT)
        kept = self.store.get(entry.record, json.loads if pixels else _without_pixels)
        if kept is not None:
            stored = analysis.Analysis.from_json(kept)
            return dataclasses.replace(stored, number=number, from_store=True)
        failure = self.store.get(ERROR_KEY + entry.record)
        said = failure.get("error") if isinstance(failure, dict) else None
        error = clean(str(said)) if said else NOT_IMPORTED
        return analysis.Analysis(number, entry.name, request, error=error, failed_at=analysis.SERVICE)

    def _map(self, function: Callable[..., _Result], numbers: Sequence[int], *args: Any) -> Iterator[_Result]:
        if len(numbers) < self.POOLED:
            yield from (function(number, self, *args) for number in numbers)
            return
        yield from _in_order(self.workers, function, numbers, (str(self.store.path), str(self.folder)), *args)

    def _thumbnails(self) -> Iterator[bytes | None]:
        """Each entry's thumbnail from the facts files, read along in the manifest's order (the order the shards
        hold the requests in); ``None`` for an entry without a request, or from a folder prepared without them."""
        facts: TextIO | None = None
        shard = None
        try:
            for entry in self.entries:
                if entry.shard is None or entry.custom_id is None:
                    yield None
                    continue
                if entry.shard != shard:
                    if facts is not None:
                        facts.close()
                    shard, facts = entry.shard, (self.folder / facts_name(entry.shard)).open(encoding="utf-8")
                assert facts is not None
                line = json.loads(facts.readline() or "{}")
                small = line.get("thumbnail") if line.get("custom_id") == entry.custom_id else None
                yield base64.b64decode(small) if small else None
        finally:
            if facts is not None:
                facts.close()


_OPENED: dict[tuple[str, str], StoredCampaign] = {}
"""The campaign each worker process reads from, opened once."""


def _campaign(where: StoredCampaign | tuple[str, str]) -> StoredCampaign:
    if isinstance(where, StoredCampaign):
        return where
    if where not in _OPENED:
        _OPENED[where] = StoredCampaign(SqliteStore(Path(where[0]), readonly=True), Path(where[1]))
    return _OPENED[where]


def _described(
    number: int, where: StoredCampaign | tuple[str, str], shown: Shown | None
) -> tuple[analysis.Analysis, analysis.Analysis | None]:
    """Photo ``number`` without its pixels, its reply read, and its display copy when ``shown`` picks it (in a
    worker process: the reading and the copy are most of the work)."""
    campaign = _campaign(where)
    result = campaign.result(number, pixels=False)
    _ = result.parsed  # read here, cached with the result
    if shown is None or not shown(result):
        return result, None
    full = campaign.result(number)
    copy = reduced_copy(full.preparation.images[0], ENTRY_SIDE) if full.preparation else None
    display = full.for_display(copy)
    _ = display.parsed
    return result, display


ENTRY_SIDE = 768
"""A campaign entry's picture has a long side of this many pixels or more: the photo sent decoded at a reduced scale
(1540 px at half), 120 ppi across a Word page's text width; a fifth of the cost of the display copy, for a report
with a thousand entries."""


@dataclass(frozen=True)
class Photo:
    """One photo of a stored campaign as ``StoredCampaign.photos`` reads it."""

    result: analysis.Analysis
    """Without its pixels."""
    thumbnail: bytes | None
    display: analysis.Analysis | None = None
    """With a display copy, for a photo the report shows."""


@dataclass(frozen=True)
class Shown:
    """Which photos a campaign report gives an entry: those with a finding scored ``worst_from`` or worse, as the
    record stands (the ``review``'s findings for a photo it reviewed, the AI's otherwise)."""

    worst_from: str
    review: Review = dataclasses.field(default_factory=Review)

    def __call__(self, result: analysis.Analysis) -> bool:
        scale = result.request.scale.definition
        reviewed = result.number in self.review.reviewed_photos
        rows = self.review.for_photo(result.number) if reviewed else ai_findings([result])
        return any(scored_at_least(row, scale, self.worst_from) for row in rows)


_PIXELS = '"data": "'


def _without_pixels(text: str) -> Any:
    """A stored value parsed without the base64 of its images (nearly all of its megabyte), each ``data`` left
    empty; the stored text is ``json.dumps``', in which no escaped text can spell ``"data": "``."""
    parts, start = [], 0
    found = text.find(_PIXELS)
    while found >= 0:
        begin = found + len(_PIXELS)
        parts.append(text[start:begin])
        start = text.index('"', begin)
        found = text.find(_PIXELS, start)
    parts.append(text[start:])
    return json.loads("".join(parts))


class _SentImages:
    """The images of an entry as they were sent, from its shard: the facts file gives the source, metadata and
    notes, the request line the exact pixels (as base64, as it carries them). One shard's index is held at a time
    (the offset of each request line, and its facts), so that a campaign of any size is imported in the same
    memory."""

    _ID = re.compile(rb'"custom_id":"([^"]+)"')

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.shard: str | None = None
        self.offsets: dict[str, int] = {}
        self.facts: dict[str, dict[str, Any]] = {}

    def images(self, entry: Entry) -> tuple[Preparation, list[str]]:
        """The preparation of ``entry`` without its pixels, and the pixels of each image, base64."""
        assert entry.shard is not None and entry.custom_id is not None
        if entry.shard != self.shard:
            self._index(entry.shard)
        with (self.folder / entry.shard).open("rb") as requests:
            requests.seek(self.offsets[entry.custom_id])
            line = requests.readline()
        pixels = list(_pixels(line))
        facts = Preparation.from_json(self.facts[entry.custom_id])
        if len(pixels) != len(facts.images):
            raise CampaignError(f"'{entry.shard}' does not hold the images of {entry.name}; prepare again.")
        return facts, pixels

    def _index(self, shard: str) -> None:
        self.offsets, self.facts, self.shard = {}, {}, shard
        with (self.folder / shard).open("rb") as requests:
            offset = 0
            for line in requests:
                found = self._ID.search(line, 0, 400)
                if found:
                    self.offsets[found.group(1).decode()] = offset
                offset += len(line)
        with (self.folder / facts_name(shard)).open(encoding="utf-8") as facts:
            for text in facts:
                line = json.loads(text)
                self.facts[line["custom_id"]] = line["preparation"]


_IMAGE_URL = b'"url":"data:'


def _pixels(line: bytes) -> Iterator[str]:
    """The base64 of each image of a request line as ``request_line`` writes it (``"url":"data:...;base64,..."``;
    no text of the line can spell that, its quotes being escaped), found by search rather than parsed: a line is a
    megabyte, nearly all of it pixels."""
    start = line.find(_IMAGE_URL)
    while start >= 0:
        begin = line.index(b";base64,", start) + len(b";base64,")
        end = line.index(b'"', begin)
        yield line[begin:end].decode("ascii")
        start = line.find(_IMAGE_URL, end)


def _result_lines(paths: Sequence[Path], refused: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each answer line with where it is (``file:line``); a line that is not a JSON object is refused, named."""
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, text in enumerate(lines, 1):
                if not text.strip():
                    continue
                where = f"{path.name}:{number}"
                try:
                    line = json.loads(text)
                except ValueError:
                    refused.append(f"{where}: not a JSON line")
                    continue
                if isinstance(line, dict):
                    yield where, line
                else:
                    refused.append(f"{where}: not a JSON object")


def _outcome(line: dict[str, Any], settings: Settings) -> model.Description | str:
    """An answer line's description, or the message of its failure (the engine's error, an HTTP status, or a reply
    that is not one)."""
    error = line.get("error")
    response = line.get("response") if isinstance(line.get("response"), dict) else None
    if error or response is None:
        said = error.get("message") if isinstance(error, dict) else error
        return clean(str(said or "the batch engine gave no response for this request"))[:2000]
    status = response.get("status_code")
    body = response.get("body")
    if status != 200:
        detail = body.get("error", {}).get("message") if isinstance(body, dict) else None
        return clean(f"HTTP {status}" + (f": {detail}" if detail else ""))[:2000]
    try:
        return model.description_from_body(body, settings.model, settings.structured)
    except AnalysisError as failure:
        return str(failure)


BATCHES = "batches.json"
"""The batch of each shard submitted to a provider's batch API: ``{shard: {"file", "batch", "status", ...}}``."""
NO_BATCH_API = (
    "{host} offers no batch API ({what}): send the shards with `python -m image_analysis campaign run {folder}`, or "
    "run them on your own GPUs with `python -m vllm.entrypoints.openai.run_batch -i {folder}/requests-0001.jsonl "
    "-o {folder}/results-0001.jsonl --model MODEL`."
)


@dataclass(frozen=True)
class BatchState:
    """One shard's batch at the provider, as ``status`` and ``fetch`` report it."""

    shard: str
    batch: str
    status: str
    completed: int = 0
    failed: int = 0
    total: int = 0
    fetched: bool = False

    def line(self) -> str:
        counts = f", {self.completed} of {self.total} done" + (f", {self.failed} failed" if self.failed else "")
        return f"{self.shard}: {self.status}{counts if self.total else ''}" + (", fetched" if self.fetched else "")


def submit_campaign(folder: Path, settings: model.ServiceSettings) -> list[BatchState]:
    """Upload every shard not yet submitted (``purpose=batch``) and create its batch (``/v1/chat/completions``, a 24 h
    window); what was submitted is kept in ``batches.json`` at once, so that submitting again sends nothing twice."""
    manifest = _manifest(folder)
    if manifest.settings.format != "openai":
        raise CampaignError(
            f"'{folder}' was prepared for Mistral's batch API (--format mistral): upload its shards with Mistral's "
            "client, or prepare with --format openai for an OpenAI-compatible batch API."
        )
    kept = _batches(folder)
    states = []
    with model.batch_client(settings) as client:
        for shard in manifest.shards:
            name = shard["name"]
            if name not in kept:
                try:
                    with (folder / name).open("rb") as requests:
                        uploaded = client.files.create(file=(name, requests), purpose="batch")
                    batch = client.batches.create(
                        input_file_id=uploaded.id,
                        endpoint="/v1/chat/completions",
                        completion_window="24h",
                        metadata={"shard": name},
                    )
                except model.SERVICE_FAILURES as error:  # every failure of the service is said in one line
                    raise _batch_failure(error, settings, folder) from None
                kept[name] = {"file": uploaded.id, "batch": batch.id, "status": batch.status}
                _write_batches(folder, kept)
            states.append(BatchState(name, kept[name]["batch"], kept[name]["status"], total=shard["requests"]))
    return states


def campaign_status(folder: Path, settings: model.ServiceSettings) -> list[BatchState]:
    """Each submitted shard's batch as the provider has it now."""
    kept = _submitted(folder)
    states = []
    with model.batch_client(settings) as client:
        for name, record in kept.items():
            try:
                batch = client.batches.retrieve(record["batch"])
            except model.SERVICE_FAILURES as error:
                raise _batch_failure(error, settings, folder) from None
            record.update(status=batch.status, output=batch.output_file_id, errors=batch.error_file_id)
            counts = batch.request_counts
            states.append(
                BatchState(
                    name,
                    batch.id,
                    batch.status,
                    counts.completed if counts else 0,
                    counts.failed if counts else 0,
                    counts.total if counts else 0,
                    bool(record.get("fetched")),
                )
            )
    _write_batches(folder, kept)
    return states


def fetch_campaign(folder: Path, settings: model.ServiceSettings) -> list[BatchState]:
    """Download the output (and error) lines of every completed batch not yet fetched into ``results-NNNN.jsonl``;
    ``campaign import`` then takes them."""
    states = campaign_status(folder, settings)
    kept = _batches(folder)
    with model.batch_client(settings) as client:
        for index, state in enumerate(states):
            record = kept[state.shard]
            if state.status != "completed" or record.get("fetched"):
                continue
            part = folder / f"{results_name(state.shard)}.part"
            try:
                with part.open("wb") as out:
                    for file_id in (record.get("output"), record.get("errors")):
                        if file_id:
                            content = client.files.content(file_id).read()
                            out.write(content if content.endswith(b"\n") or not content else content + b"\n")
            except model.SERVICE_FAILURES as error:
                part.unlink(missing_ok=True)
                raise _batch_failure(error, settings, folder) from None
            os.replace(part, folder / results_name(state.shard))
            record["fetched"] = True
            _write_batches(folder, kept)
            states[index] = dataclasses.replace(state, fetched=True)
    return states


def _manifest(folder: Path) -> Manifest:
    manifest = Manifest.read(folder)
    if manifest is None:
        raise CampaignError(f"'{folder}' holds no {MANIFEST}: run `campaign prepare ... --out {folder}` first.")
    return manifest


def _batches(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        return json.loads((folder / BATCHES).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise CampaignError(f"'{folder / BATCHES}' cannot be read ({error}).") from None


def _submitted(folder: Path) -> dict[str, dict[str, Any]]:
    kept = _batches(folder)
    if not kept:
        raise CampaignError(f"Nothing of '{folder}' is submitted yet: run `campaign submit {folder}` first.")
    return kept


def _write_batches(folder: Path, kept: dict[str, dict[str, Any]]) -> None:
    part = folder / f"{BATCHES}.part"
    part.write_text(json.dumps(kept, indent=1), encoding="utf-8")
    os.replace(part, folder / BATCHES)


def _batch_failure(error: Exception, settings: model.ServiceSettings, folder: Path) -> AnalysisError:
    """A server without the files or batches API says so in one line, with what to do instead; any other failure is
    the service's own message."""
    status = getattr(error, "status_code", None)
    if status in (404, 405, 501):
        where = model.host(settings.base_url)
        return CampaignError(NO_BATCH_API.format(host=where, what=f"HTTP {status}", folder=folder))
    return model.service_failure(error, settings)
