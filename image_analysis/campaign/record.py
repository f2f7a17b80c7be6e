"""A campaign as one inspection of the store: its photos in the manifest's order (each known by its bytes and page),
its sign-off kept with it, so that the campaign report and every later run read the same record.

Kept when the answers are imported (``campaign import``); the campaign report signs it off. Its id is made from the
manifest's inputs and choices: the same campaign is the same inspection however often it is imported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from image_analysis.campaign.folder import Comparison, Manifest
from image_analysis.inspection import InspectedPhoto, Inspection
from image_analysis.inspection.identity import photo_key
from image_analysis.inspection_store import InspectionStore
from image_analysis.review import SignOff

PREFIX = "campaign-"


def campaign_id(manifest: Manifest) -> str:
    """The campaign's inspection id: a digest of its choices and of every input (bytes and page)."""
    inputs = [[entry.sha256, entry.page] for entry in manifest.entries]
    text = json.dumps([manifest.settings.to_json(), inputs], sort_keys=True)
    return PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def campaign_inspection(manifest: Manifest, folder: Path, kept: Inspection | None = None) -> Inspection:
    """The campaign's inspection: ``kept`` (its sign-off and stage) with the manifest's photos, numbered in its
    order (the same photo given twice keeps both numbers, as the campaign's report numbers them)."""
    request = manifest.settings.request
    base = kept or dataclasses.replace(Inspection.new(request, name=folder.resolve().name), id=campaign_id(manifest))
    assigned = {photo.key: photo for photo in kept.photos} if kept else {}  # elements said since stay
    photos = tuple(
        InspectedPhoto(
            key,
            number,
            (entry.name,),
            entry.record,
            error=entry.refused or "",
            element_id=assigned[key].element_id if key in assigned else "",
            element_source=assigned[key].element_source if key in assigned else "",
            element_why=assigned[key].element_why if key in assigned else "",
        )
        for number, entry in enumerate(manifest.entries, start=1)
        if (key := photo_key(entry.sha256, entry.page))
    )
    inspection = dataclasses.replace(base, photos=photos, preset=request.preset, scale=request.scale)
    compared = Comparison.read(folder)  # prepared with --previous: its object, elements and day
    return compared.applied(inspection) if compared is not None else inspection


def keep_campaign_inspection(inspections: InspectionStore, folder: Path) -> Inspection:
    """Keep the campaign's inspection in the store (``StoreError`` when it cannot be)."""
    manifest = Manifest.require(folder)
    inspection = campaign_inspection(manifest, folder, inspections.get(campaign_id(manifest)))
    inspections.save(inspection)
    return inspection


def campaign_signoff(inspections: InspectionStore, folder: Path, given: SignOff) -> tuple[Inspection, SignOff]:
    """The campaign's inspection and its sign-off as kept, overridden by ``given``."""
    manifest = Manifest.require(folder)
    inspection = campaign_inspection(manifest, folder, inspections.get(campaign_id(manifest)))
    return inspection, inspection.signoff.overridden_by(given)
