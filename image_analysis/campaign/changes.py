"""``campaign prepare --previous STORE --object ID``: a campaign beside the previous inspection of its object. Each
photo is assigned to an element by what is known before the model answers (its file name, or the previous
inspection's photo at the same GPS position), and each photo whose element was photographed before gets a change
request: the same request ``compare`` sends (both photos, the previous first, each captioned with its date; the
previous defects as data), written into one more shard, ``requests-changes-<digest>.jsonl``, that ``campaign run``
(or a batch engine) answers with the others.

    changes.json              ``Comparison``: the previous store and inspection, the day of this one, each photo's
                              element and who said so, and each change request with the store key of its answer

``campaign import`` keeps each answer where ``compare`` and ``report`` look for it (``comparison.answer_value`` under
the request's key), brings the previous inspection into the store, and gives the campaign's inspection its object,
its photos' elements and its day; ``campaign report`` then has the section of the changes.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
from pathlib import Path

from image_analysis import comparison, model, reinspection
from image_analysis.analysis import PENDING, Analysis
from image_analysis.atomic import write_atomically
from image_analysis.campaign.folder import (
    CHANGE_SHARD_PREFIX,
    COMPARISON,
    CampaignError,
    Comparison,
    Manifest,
    PlannedChange,
    change_request_id,
    facts_name,
    request_id,
    results_name,
)
from image_analysis.campaign.importer import SentImages
from image_analysis.campaign.prepare import request_line
from image_analysis.campaign.record import campaign_inspection
from image_analysis.errors import StoreError
from image_analysis.imaging.prepared import Preparation
from image_analysis.inspection.assignment import suggest
from image_analysis.inspection_store import InspectionStore
from image_analysis.presets import Preset
from image_analysis.review import SignOff
from image_analysis.store import SqliteStore
from image_analysis.structured_output import Structured

NOT_DESCRIBED = "not described yet: the campaign's answers are not imported"


def prepare_changes(folder: Path, previous_store: Path, object_id: str, day: str) -> Comparison:
    """The change requests of the prepared campaign in ``folder`` against the latest inspection of ``object_id``
    before ``day`` in ``previous_store``: each photo assigned to an element, the requests written into
    a change shard (``_change_shard``: named among the manifest's shards, so that ``campaign run`` and the batch API
    send it), ``COMPARISON`` written. ``CampaignError`` saying what to do when the store or its object cannot be
    used."""
    manifest = Manifest.require(folder)
    settings = manifest.settings
    if settings.request.preset is not Preset.INSPECTION:
        raise CampaignError("--previous compares site inspections: prepare with --preset inspection.")
    if not previous_store.is_file():
        raise CampaignError(f"there is no result store '{previous_store}' (--previous)")
    try:
        previous = InspectionStore(SqliteStore(previous_store, readonly=True))
        elements = reinspection.elements_of(previous, object_id)
        if elements is None:
            raise CampaignError(
                f"'{previous_store}' keeps no element list of {object_id}: keep it there with `elements LIST "
                f"--store {previous_store} --object {object_id}`."
            )
        fresh = campaign_inspection(manifest, folder)  # every photo assigned anew, whatever an earlier run said
        unassigned = [dataclasses.replace(p, element_id="", element_source="", element_why="") for p in fresh.photos]
        current = dataclasses.replace(fresh, object_id=object_id, signoff=SignOff(date=day), photos=tuple(unassigned))
        before = reinspection.before(previous, current)
    except StoreError as error:
        raise CampaignError(f"'{previous_store}': {error}") from None
    facts = _facts(folder, manifest)
    results = [
        Analysis(
            photo.number,
            photo.name,
            settings.request,
            facts[request_id(photo.result)],
            error=NOT_DESCRIBED,
            failed_at=PENDING,
            record=photo.result,
        )
        for photo in current.photos
        if photo.result and request_id(photo.result) in facts
    ]
    placed = reinspection.placed_photos(before.inspection, before.results) if before else []
    by_number = {result.number: result for result in results}
    said: dict[str, tuple[str, str, str]] = {}
    photos = []
    for photo in current.photos:
        result = by_number.get(photo.number)
        gps = result.preparation.metadata.gps if result and result.preparation else None
        made = suggest(photo.names, gps, "", elements.elements, placed) if result else None
        if made is not None and photo.result:
            said[request_id(photo.result)] = (made.element_id, made.source, made.why)
            photo = dataclasses.replace(
                photo, element_id=made.element_id, element_source=made.source, element_why=made.why
            )
        photos.append(photo)
    current = dataclasses.replace(current, photos=tuple(photos))
    planned: list[PlannedChange] = []
    lines: list[str] = []
    if before is not None:
        requests = reinspection.change_requests(elements, before, current, results, settings.request.language)
        level = Structured(settings.structured)
        pixels = _Pixels(folder, manifest)
        for request in requests:
            key = request.key(settings.model)
            custom_id = change_request_id(key)
            sent = dataclasses.replace(request, current=pixels.with_pixels(request.current))
            body = model.request_body(
                request.prompt(), comparison.images(sent), settings.model, settings.max_tokens, level
            )
            lines.append(request_line(custom_id, body, settings.format))
            planned.append(PlannedChange(custom_id, key, request.element_id, request_id(request.current.record or "")))
    _change_shard(folder, manifest, lines, {change.custom_id for change in planned})
    found = Comparison(
        str(previous_store.resolve()),
        object_id,
        before.inspection.id if before else "",
        day,
        said,
        tuple(planned),
    )
    write_atomically(folder / COMPARISON, json.dumps(found.to_json(), indent=1))
    return found


def _facts(folder: Path, manifest: Manifest) -> dict[str, Preparation]:
    """Each request's preparation without its pixels (what its facts file keeps), by ``custom_id``."""
    found = {}
    for shard in manifest.shards:
        if shard["name"].startswith(CHANGE_SHARD_PREFIX):
            continue
        with (folder / facts_name(shard["name"])).open(encoding="utf-8") as lines:
            for text in lines:
                line = json.loads(text)
                found[line["custom_id"]] = Preparation.from_json(line["preparation"])
    return found


class _Pixels:
    """A photo's pixels as its request line carries them, put back into its preparation (one photo at a time)."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.sent = SentImages(folder)
        self.entries = {entry.record: entry for entry in manifest.entries if entry.record}

    def with_pixels(self, result: Analysis) -> Analysis:
        facts, pixels = self.sent.images(self.entries[result.record or ""])
        images = tuple(
            dataclasses.replace(image, data=base64.b64decode(data))
            for image, data in zip(facts.images, pixels, strict=True)
        )
        return dataclasses.replace(result, preparation=dataclasses.replace(facts, images=images))


def _change_shard(folder: Path, manifest: Manifest, lines: list[str], planned: set[str]) -> None:
    """The change requests as the manifest's last shard, named by its content (a provider's batch API takes a new
    one as new); the answers already written for a request still planned carried over, so that ``campaign run``
    sends none of them again; an earlier change shard and its answers removed; none without a request."""
    text = "".join(line + "\n" for line in lines)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    name = f"{CHANGE_SHARD_PREFIX}{digest[:12]}.jsonl"
    earlier = [shard["name"] for shard in manifest.shards if shard["name"].startswith(CHANGE_SHARD_PREFIX)]
    answered = []
    for old in earlier:
        with contextlib.suppress(FileNotFoundError), (folder / results_name(old)).open(encoding="utf-8") as results:
            answered += [line for line in results if line.strip() and _custom_id(line) in planned]
    if lines:
        write_atomically(folder / name, text)
        if answered and name not in earlier:
            write_atomically(folder / results_name(name), "".join(answered))
    manifest.shards = [shard for shard in manifest.shards if shard["name"] not in earlier]
    if lines:
        size = len(text.encode("utf-8"))
        manifest.shards.append({"name": name, "requests": len(lines), "bytes": size, "sha256": digest})
    manifest.write(folder)
    for old in earlier:
        if old != name:
            for path in (folder / old, folder / results_name(old)):
                path.unlink(missing_ok=True)


def _custom_id(line: str) -> str:
    try:
        return str(json.loads(line).get("custom_id") or "")
    except (ValueError, AttributeError):
        return ""


def bring_previous(inspections: InspectionStore, folder: Path) -> str:
    """The previous inspection of a campaign prepared with ``--previous``, brought into ``inspections`` from its
    store (with its results, decisions and element list) unless it is there; what was done, in words (empty without
    a comparison). ``StoreError`` when it cannot be."""
    found = Comparison.read(folder)
    if found is None or not found.previous:
        return ""
    if inspections.get(found.previous) is not None:
        return f"the previous inspection {found.previous} is in the store"
    source = Path(found.previous_store)
    if not source.is_file():
        raise StoreError(
            f"the previous inspection's store '{source}' is gone: bring it in with `inspections --store STORE "
            f"--import OLD.sqlite --inspection {found.previous}`"
        )
    previous = InspectionStore(SqliteStore(source, readonly=True))
    inspection = previous.get(found.previous)
    if inspection is None:
        raise StoreError(f"'{source}' no longer holds the inspection {found.previous}")
    reinspection.import_inspection(previous, inspections, inspection)
    return f"the previous inspection {inspection.label} brought in from '{source}'"
