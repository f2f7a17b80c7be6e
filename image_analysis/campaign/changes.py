"""``campaign prepare --previous STORE --object ID``: a campaign beside the previous inspection of its object. Each
photo is assigned to an element by what is known before the model answers (its file name, or the previous
inspection's photo at the same GPS position), and each photo whose element was photographed before gets a change
request: the same request ``compare`` sends (both photos, the previous first, each captioned with its date; the
previous defects as data), written into one more shard, ``requests-changes.jsonl``, that ``campaign run`` (or a batch
engine) answers with the others.

    changes.json              ``Comparison``: the previous store and inspection, the day of this one, each photo's
                              element and who said so, and each change request with the store key of its answer

``campaign import`` keeps each answer where ``compare`` and ``report`` look for it (``comparison.answer_value`` under
the request's key), brings the previous inspection into the store, and gives the campaign's inspection its object,
its photos' elements and its day; ``campaign report`` then has the section of the changes.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path

from image_analysis import comparison, model, reinspection
from image_analysis.analysis import PENDING, Analysis
from image_analysis.atomic import Staged, write_atomically
from image_analysis.campaign.folder import (
    CHANGE_SHARD,
    COMPARISON,
    CampaignError,
    Comparison,
    Manifest,
    PlannedChange,
    facts_name,
    request_id,
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
    ``CHANGE_SHARD`` (replaced whole, and named among the manifest's shards, so that ``campaign run`` and the batch
    API send it), ``COMPARISON`` written. ``CampaignError`` saying what to do when the store or its object cannot be
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
        current = dataclasses.replace(
            campaign_inspection(manifest, folder), object_id=object_id, signoff=SignOff(date=day)
        )
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
    planned = []
    if before is not None:
        requests = reinspection.change_requests(elements, before, current, results, settings.request.language)
        level = Structured(settings.structured)
        pixels = _Pixels(folder, manifest)
        with Staged(folder / CHANGE_SHARD, text=True) as shard:
            for request in requests:
                key = request.key(settings.model)
                custom_id = request_id(key)
                sent = dataclasses.replace(request, current=pixels.with_pixels(request.current))
                body = model.request_body(
                    request.prompt(), comparison.images(sent), settings.model, settings.max_tokens, level
                )
                shard.file.write(request_line(custom_id, body, settings.format) + "\n")
                planned.append(
                    PlannedChange(custom_id, key, request.element_id, request_id(request.current.record or ""))
                )
        _name_shard(folder, manifest, len(planned))
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
        if shard["name"] == CHANGE_SHARD:
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


def _name_shard(folder: Path, manifest: Manifest, requests: int) -> None:
    """The change shard among the manifest's shards (replacing an earlier one), as ``campaign run`` reads them."""
    data = (folder / CHANGE_SHARD).read_bytes()
    entry = {"name": CHANGE_SHARD, "requests": requests, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest.shards = [shard for shard in manifest.shards if shard["name"] != CHANGE_SHARD]
    if requests:
        manifest.shards.append(entry)
    manifest.write(folder)


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
