"""A campaign read back from the store for its report: each photo's answer, its failure, why it was refused, or that
no answer is imported yet, numbered as the manifest lists the inputs, read one at a time (in worker processes for a
large campaign) so that nothing holds the campaign whole."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from image_analysis import analysis, store_keys
from image_analysis.campaign.folder import Manifest, facts_name
from image_analysis.campaign.workers import in_order, worker_count
from image_analysis.imaging.prepared import reduced_copy
from image_analysis.review import Review, ai_findings, scored_at_least
from image_analysis.safe_text import clean
from image_analysis.store import SqliteStore

_Result = TypeVar("_Result")
NOT_IMPORTED = "No answer has been imported for this photo yet: import its results with `campaign import`."
"""The error of a photo whose answer is not in the store yet (``analysis.PENDING``)."""


class StoredCampaign:
    """A campaign's results as the store keeps them, numbered as the manifest lists the inputs: each entry's
    answer, its failure, why it was refused, or that no answer was imported yet. Read one at a time (``photos`` in
    the manifest's order, ``result`` for one photo), so that nothing holds the campaign whole."""

    POOLED = 200
    """Photos from which ``photos`` and ``shown`` read in worker processes (one per core): fewer, in this one."""

    def __init__(self, store: SqliteStore, folder: Path, workers: int | None = None) -> None:
        manifest = Manifest.require(folder)
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
        failure = self.store.get(store_keys.campaign_error(entry.record))
        said = failure.get("error") if isinstance(failure, dict) else None
        if not said:
            return analysis.Analysis(number, entry.name, request, error=NOT_IMPORTED, failed_at=analysis.PENDING)
        return analysis.Analysis(number, entry.name, request, error=clean(str(said)), failed_at=analysis.SERVICE)

    def _map(self, function: Callable[..., _Result], numbers: Sequence[int], *args: Any) -> Iterator[_Result]:
        if len(numbers) < self.POOLED or worker_count(self.workers) == 1:
            yield from (function(number, self, *args) for number in numbers)
            return
        yield from in_order(self.workers, function, numbers, (str(self.store.path), str(self.folder)), *args)

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
