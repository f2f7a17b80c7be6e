"""``campaign import``: every answer line of any engine's batch output into the store, under the store key the
manifest gives its ``custom_id``, read and salvaged as a live reply is and kept beside exactly the image it was
about (the pixels from the request shard, the facts from the facts file: nothing decoded again). Importing twice
changes nothing; a line the manifest does not know is refused, named."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from image_analysis import analysis, comparison, model, prompts, store_keys
from image_analysis.campaign.folder import (
    CHANGE_ID_PREFIX,
    MANIFEST,
    CampaignError,
    Comparison,
    Manifest,
    ManifestEntry,
    PlannedChange,
    Settings,
    facts_name,
)
from image_analysis.errors import AnalysisError
from image_analysis.imaging.prepared import Preparation
from image_analysis.safe_text import clean
from image_analysis.store import SqliteStore


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
    from the shard's facts file, nothing decoded again. An error line is kept with its message apart from the result;
    a line whose ``custom_id`` the manifest of ``folder`` does not know is refused, named; an answer already in the
    store is left as it is, so that importing twice changes nothing. Lines are taken one at a time and kept
    ``IMPORT_BATCH`` at a time (killed, the next import takes the rest)."""
    manifest = Manifest.require(folder)
    numbered = enumerate(manifest.entries, 1)
    positions = {entry.custom_id: (number, entry) for number, entry in numbered if entry.custom_id}
    found = Comparison.read(folder)
    planned = {change.custom_id: change for change in found.changes} if found else {}
    settings = manifest.settings
    sent = SentImages(folder)
    stored = set(store.keys())
    refused: list[str] = []
    batch: list[tuple[str, str]] = []
    imported = errors = unchanged = 0
    for where, line in _result_lines(paths, refused):
        custom_id = line.get("custom_id")
        if custom_id in planned:
            counted = _change(line, planned[custom_id], settings, store, stored, batch)
            imported, errors, unchanged = imported + counted[0], errors + counted[1], unchanged + counted[2]
            continue
        if isinstance(custom_id, str) and custom_id.startswith(CHANGE_ID_PREFIX) and custom_id not in positions:
            unchanged += 1  # a change request of an earlier preparation, no longer planned: nothing to keep
            continue
        if custom_id not in positions:
            refused.append(f"{where}: custom_id {str(custom_id)[:80]!r} is not in {folder / MANIFEST}")
            continue
        number, entry = positions[custom_id]
        key = entry.record or custom_id
        outcome = _outcome(line, settings)
        if isinstance(outcome, str):
            failure = {"custom_id": custom_id, "path": entry.path, "error": outcome}
            error_key = store_keys.campaign_error(key)
            kept = store.get(error_key) if error_key in stored else None
            if key in stored or kept == failure:
                unchanged += 1  # answered meanwhile, or this failure is kept already
                continue
            batch.append((error_key, json.dumps(failure)))
            stored.add(error_key)
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


def _change(
    line: dict[str, Any],
    change: PlannedChange,
    settings: Settings,
    store: SqliteStore,
    stored: set[str],
    batch: list[tuple[str, str]],
) -> tuple[int, int, int]:
    """A change request's answer kept where ``compare`` and ``report`` look for it (``comparison.answer_value``
    under the request's key): imported, failed (not kept: ``compare`` asks again), unchanged, as counts."""
    outcome = _outcome(line, settings)
    if isinstance(outcome, str):
        return 0, 1, 0
    if change.key in stored:
        kept = store.get(change.key)
        if kept is None or (kept.get("description") or {}).get("text") == outcome.text:
            return 0, 0, 1
    described = dataclasses.replace(outcome, prompt_version=prompts.change_version(settings.request.scale))
    batch.append((change.key, json.dumps(comparison.answer_value(described, change.element_id))))
    stored.add(change.key)
    return 1, 0, 0


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


class SentImages:
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

    def images(self, entry: ManifestEntry) -> tuple[Preparation, list[str]]:
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
        described = model.description_from_body(body, settings.model, settings.structured)
        return dataclasses.replace(described, prompt_version=prompts.prompt_version(settings.request))
    except AnalysisError as failure:
        return str(failure)
