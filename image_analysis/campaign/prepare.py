"""``campaign prepare``: thousands of photos and PDF sets prepared once, in parallel, into request shards that a batch
engine runs (the OpenAI Batch API, vLLM's ``run_batch``, Mistral's batch API; ``../shared/docs/batch-engines.md``).

``prepare_campaign`` walks the inputs, prepares every image in worker processes (one per core by default, each
upload within its own budget), and writes ``requests-0001.jsonl``, ``requests-0002.jsonl``, ... each under
``MAX_LINES`` lines and ``MAX_SHARD_BYTES`` bytes, with the facts of each request beside it, and the manifest
(``folder``). A shard is written whole or not at all (``atomic``) and the manifest is replaced after each one:
killed and run again, the work resumes after the last complete shard.

A line is the request a live call sends (``model.request_body``), in the engine's envelope:
``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`` (OpenAI, vLLM, LiteLLM) or
``{"custom_id", "body"}`` (Mistral).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from image_analysis import analysis, model
from image_analysis.atomic import Staged, remove_leftovers
from image_analysis.campaign.folder import (
    FORMATS,
    CampaignError,
    Manifest,
    ManifestEntry,
    Settings,
    facts_name,
    request_id,
)
from image_analysis.campaign.workers import in_order, worker_count
from image_analysis.errors import AnalysisError
from image_analysis.imaging.decode import FILE_TYPES
from image_analysis.imaging.encode import thumbnail
from image_analysis.imaging.prepared import Preparation
from image_analysis.progress import Progress
from image_analysis.safe_text import clean
from image_analysis.structured_output import Structured

MAX_LINES = 49_999
"""Requests a shard holds at most: under OpenAI's 50,000 a file."""
MAX_SHARD_BYTES = 190_000_000
"""Bytes a shard holds at most: under OpenAI's 200 MB a file (vLLM and Mistral take more)."""
CHAT_URL = "/v1/chat/completions"


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


Made = tuple[ManifestEntry, str | None, str | None]
"""An input's entry, its request line and its facts line (``None``, ``None`` when it was refused)."""


def prepare_file(path: str, settings: Settings) -> list[Made]:
    """Every request of one input file (one per sheet of a PDF set) with its manifest entry and the facts of what
    is sent (the source, the metadata shown but never sent, the notes: ``facts_line``); a file that cannot be used
    gives one entry that says why. Runs in a worker process: nothing here is shared."""
    upload = analysis.Upload.from_path(Path(path))
    size, digest = len(upload.data), hashlib.sha256(upload.data).hexdigest()
    if upload.unreadable:
        return [(ManifestEntry(path, size, digest, refused=upload.unreadable), None, None)]
    try:
        pages = analysis.chosen_pages(upload, "all")
        uploads = analysis.sheet_uploads(upload, pages) if pages else [upload]
    except AnalysisError as error:
        return [(ManifestEntry(path, size, digest, refused=clean(str(error))), None, None)]
    made: list[Made] = []
    for sheet in uploads:
        page = sheet.page if pages else None
        try:
            preparation = analysis.prepare(sheet, settings.request)
        except AnalysisError as error:
            made.append((ManifestEntry(path, size, digest, page, refused=clean(str(error))), None, None))
            continue
        key = analysis.record_key(sheet, settings.request, settings.model)
        prompt = analysis.prompt_for(preparation, settings.request)
        level = Structured(settings.structured)
        body = model.request_body(prompt, preparation.images, settings.model, settings.max_tokens, level)
        custom_id = request_id(key)
        entry = ManifestEntry(path, size, digest, page, custom_id=custom_id, record=key)
        made.append((entry, request_line(custom_id, body, settings.format), facts_line(custom_id, preparation)))
    return made


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


@dataclass(frozen=True)
class PrepareSummary:
    """What one ``prepare_campaign`` run did."""

    requests: int
    refused: int
    skipped: int
    shards: tuple[str, ...]


class _Shard:
    """The shard being written, with its facts file, each staged beside its place (``atomic.Staged``); ``close``
    puts both in place, the facts first (a request line is never without its facts)."""

    def __init__(self, folder: Path, number: int) -> None:
        self.name = f"requests-{number:04d}.jsonl"
        self.requests = Staged(folder / self.name, text=True)
        self.facts = Staged(folder / facts_name(self.name), text=True)
        self.lines = 0
        self.bytes = 0
        self.digest = hashlib.sha256()

    def fits(self, *lines: str) -> bool:
        size = sum(len(line.encode("utf-8")) + 1 for line in lines)
        return self.lines + len(lines) <= MAX_LINES and self.bytes + size < MAX_SHARD_BYTES

    def add(self, line: str, facts: str) -> None:
        data = line + "\n"
        self.requests.file.write(data)
        self.facts.file.write(facts + "\n")
        encoded = data.encode("utf-8")
        self.lines += 1
        self.bytes += len(encoded)
        self.digest.update(encoded)

    def close(self) -> dict[str, Any]:
        self.facts.commit()
        self.requests.commit()
        return {"name": self.name, "requests": self.lines, "bytes": self.bytes, "sha256": self.digest.hexdigest()}


Engine = Callable[[Sequence[str], Settings, int], Iterable[list[Made]]]
"""How the files are prepared: each file's ``prepare_file`` results, in the files' order, on so many workers (the
local engine: ``workers.in_order``; Ray: ``ray_engine.prepared``)."""


def local_engine(paths: Sequence[str], settings: Settings, workers: int) -> Iterable[list[Made]]:
    """The files prepared on this machine's worker processes."""
    return in_order(workers, prepare_file, paths, settings)


def prepare_campaign(
    paths: Sequence[Path],
    folder: Path,
    settings: Settings,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    engine: Engine = local_engine,
) -> PrepareSummary:
    """Prepare every input into request shards in ``folder`` (made if need be), resuming after the last complete
    shard of an earlier run with the same settings, whichever ``engine`` prepared it. Raises ``CampaignError`` for a
    folder prepared otherwise."""
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
    remove_leftovers(folder)  # what a killed run was writing
    files = [os.path.abspath(path) for path in inputs(paths)]
    done = manifest.done()
    todo = [path for path in files if path not in done]
    report = progress or Progress()
    counted = 0
    number = len(manifest.shards) + 1
    shard: _Shard | None = None
    pending: list[ManifestEntry] = []  # entries of the shard being written: recorded when it is complete
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

    for made in engine(todo, settings, worker_count(workers)):
        whole_file: list[ManifestEntry] = []
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
    return PrepareSummary(requests, refused, len(files) - len(todo), tuple(written))


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
