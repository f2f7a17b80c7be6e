"""Inspections and their decisions kept in a store: the local SQLite store on the command line, ``vkt.Storage`` in
the app (any ``ResultStore``), under the keys of ``store_keys``.

    inspection:<id>   the inspection (``Inspection.to_json``): its photos, each naming its stored result
    decisions:<id>    the inspector's decisions on its findings, in the order they were made

**Migration.** A store written before inspections were kept holds results and, beside each result of a ``describe``
run that was given a sign-off, that sign-off (``signoff:<result key>``, the same value for the whole run). Each such
run becomes one inspection (``legacy-`` and a digest of the run's moment: the same id however often it is opened),
its photos numbered as that run numbered them; a result in no inspection is listed as unfiled. Opened read-only, a
store is migrated in memory only.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

from image_analysis import analysis, store_keys
from image_analysis.errors import StoreError
from image_analysis.inspection.decisions import Decision, changes, replay, review_of, stage, state_of
from image_analysis.inspection.identity import photo_of
from image_analysis.inspection.record import REVIEWED, InspectedPhoto, Inspection
from image_analysis.presets import AnalysisRequest
from image_analysis.review import Review, SignOff
from image_analysis.safe_text import clean
from image_analysis.store import ResultStore

LEGACY = "legacy-"


class InspectionStore:
    """The inspections of one store, and their decisions."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        self._legacy_made: list[Inspection] | None = None

    # -- inspections

    def get(self, inspection_id: str) -> Inspection | None:
        """The inspection kept under ``inspection_id`` (a store from before inspections: one made from it)."""
        value = self.store.get(store_keys.inspection(inspection_id))
        if value is None:
            return next((kept for kept in self._legacy() if kept.id == inspection_id), None)
        try:
            return Inspection.from_json(value)
        except (KeyError, TypeError, ValueError) as error:
            raise StoreError(f"The inspection '{inspection_id}' cannot be read ({error}).") from None

    def all(self) -> list[Inspection]:
        """Every inspection, oldest first (those of a store from before inspections among them)."""
        kept = [self.get(key.removeprefix(store_keys.INSPECTION)) for key in self.store.keys(store_keys.INSPECTION)]
        found = {inspection.id: inspection for inspection in kept if inspection is not None}
        for legacy in self._legacy():
            found.setdefault(legacy.id, legacy)
        return sorted(found.values(), key=lambda inspection: (inspection.created, inspection.id))

    def find(self, wanted: str) -> Inspection | None:
        """The inspection whose id is ``wanted``, else the latest one of that name."""
        everything = self.all()
        by_id = next((inspection for inspection in everything if inspection.id == wanted), None)
        named = [inspection for inspection in everything if wanted and inspection.name == wanted]
        return by_id or (named[-1] if named else None)

    def save(self, inspection: Inspection) -> None:
        self.store.put(store_keys.inspection(inspection.id), inspection.to_json())

    def unfiled(self) -> list[str]:
        """The keys of stored results that no inspection holds."""
        filed = {photo.result for inspection in self.all() for photo in inspection.photos}
        return [key for key in self.store.keys(store_keys.RESULT) if key not in filed]

    def migrate(self) -> list[Inspection]:
        """Keep the inspections made from a store written before inspections were kept (those not kept yet)."""
        made = [inspection for inspection in self._legacy() if not self._kept(inspection.id)]
        self._legacy_made = []
        for inspection in made:
            self.save(inspection)
        return made

    # -- the photos' results

    def results(self, inspection: Inspection) -> list[analysis.Analysis]:
        """The inspection's photos as their stored results, numbered and named as the inspection does; a photo that
        failed is its failure. ``StoreError`` naming the photo when its result is not in the store."""
        results = []
        request = AnalysisRequest(preset=inspection.preset, scale=inspection.scale)
        for photo in inspection.photos:
            value = self.store.get(photo.result) if photo.result else None
            if value is not None:
                result = analysis.Analysis.from_json(value)
                results.append(dataclasses.replace(result, number=photo.number, name=photo.name))
            elif photo.error:
                error = analysis.Analysis(photo.number, photo.name, request, error=photo.error, failed_at="service")
                results.append(error)
            else:
                raise StoreError(
                    f"photo {photo.number} ('{photo.name}') of the inspection {inspection.id} is not in the store: "
                    "describe it again with --store"
                )
        return results

    # -- decisions

    def decisions(self, inspection_id: str) -> list[Decision]:
        value = self.store.get(store_keys.decisions(inspection_id)) or {}
        try:
            return [Decision.from_json(item) for item in value.get("decisions") or ()]
        except (KeyError, TypeError, ValueError) as error:
            raise StoreError(f"The decisions of the inspection '{inspection_id}' cannot be read ({error}).") from None

    def record(
        self,
        inspection: Inspection,
        analyses: Sequence[analysis.Analysis],
        review: Review,
        via: str,
    ) -> tuple[Inspection, Review, list[Decision]]:
        """Keep the decisions ``review`` makes on the findings of ``analyses`` (the inspection's photos, read from a
        spreadsheet or the app's table ``via``) and the inspection with its sign-off and stage; the inspection, the
        review as the record now stands (``review_of``: what every report shows) and the decisions made now (none
        when the record already said so). ``StoreError`` when the store refuses them."""
        kept = self.decisions(inspection.id)
        before = replay(kept)
        after = state_of(review, inspection, before)
        numbers = {result.number for result in analyses}
        covered = [photo.key for photo in inspection.photos if photo.number in numbers]
        made = changes(before, after, covered, review.signoff.inspector, via)
        decisions = [*kept, *made]
        inspection = dataclasses.replace(inspection.signed_off(review.signoff), stage=REVIEWED)
        recorded = review_of(inspection, analyses, decisions, review.signoff)
        inspection = dataclasses.replace(inspection, stage=stage(recorded, analyses))
        if made:
            self.store.put(store_keys.decisions(inspection.id), {"decisions": [item.to_json() for item in decisions]})
        self.save(inspection)
        return inspection, recorded, made

    def review(self, inspection: Inspection, analyses: Sequence[analysis.Analysis], given: SignOff) -> Review:
        """The review the kept decisions make, signed off as kept and overridden by ``given``."""
        return review_of(inspection, analyses, self.decisions(inspection.id), inspection.signoff.overridden_by(given))

    # -- internals

    def _kept(self, inspection_id: str) -> bool:
        return self.store.get(store_keys.inspection(inspection_id)) is not None

    def _legacy(self) -> list[Inspection]:
        """One inspection per ``describe`` run of a store from before inspections (its sign-off kept beside each
        of its results, with the moment it was kept), those not kept yet; made once for this store."""
        if self._legacy_made is not None:
            return self._legacy_made
        runs: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for key in self.store.keys(store_keys.LEGACY_SIGNOFF):
            value = self.store.get(key)
            if isinstance(value, dict) and isinstance(value.get("signoff"), dict):
                runs.setdefault(str(value.get("saved_at") or ""), []).append(
                    (key.removeprefix(store_keys.LEGACY_SIGNOFF), value)
                )
        made = []
        for saved_at, members in sorted(runs.items()):
            inspection_id = LEGACY + hashlib.sha256(saved_at.encode("utf-8")).hexdigest()[:8]
            if self._kept(inspection_id):
                continue  # migrated already: its results are not read again
            results = [result for result in (self._result(record) for record, _ in members) if result is not None]
            if not results:
                continue
            results.sort(key=lambda result: result.number)
            signoff = SignOff.from_json(members[0][1]["signoff"])
            base = Inspection.new(results[0].request, signoff=signoff)
            base = dataclasses.replace(base, id=inspection_id, created=saved_at[:19], legacy=True)
            inspection, _ = base.filed(results)
            made.append(inspection)
        self._legacy_made = made
        return made

    def _result(self, key: str) -> analysis.Analysis | None:
        value = self.store.get(key)
        try:
            return analysis.Analysis.from_json(value) if value is not None else None
        except (KeyError, TypeError, ValueError):
            return None


EDITOR = "editor"
"""The id of an editor entity's inspection in the app (kept in the entity's own storage: one per entity)."""

SHARED = "entity-"
"""The id prefix of an editor's inspection as shared with the workspace (``share_editor``), the entity's id after it."""


def shared_id(entity_id: object) -> str:
    """The id under which the inspection of the editor entity ``entity_id`` is shared with the workspace."""
    return SHARED + "".join(char for char in str(entity_id) if char.isalnum())[:40]


def editor_inspection(
    inspections: InspectionStore, analyses: Sequence[analysis.Analysis], request: AnalysisRequest
) -> Inspection:
    """The app's inspection as its uploads now stand: the kept one's sign-off and stage, the photos numbered as the
    app numbers them (decisions follow a photo's bytes, so a photo uploaded again in another place keeps them)."""
    kept = inspections.get(EDITOR) or Inspection(EDITOR, preset=request.preset, scale=request.scale)
    elements = {photo.key: photo for photo in kept.photos if photo.element_id}
    photos = []
    for result in analyses:
        key = photo_of(result)
        photo = InspectedPhoto(key, result.number, (result.name,), result.record, error=result.error or "")
        if key in elements:  # the element a photo was assigned to follows its bytes, as its decisions do
            known = elements[key]
            photo = dataclasses.replace(
                photo, element_id=known.element_id, element_source=known.element_source, element_why=known.element_why
            )
        photos.append(photo)
    return dataclasses.replace(kept, photos=tuple(photos), preset=request.preset, scale=request.scale)


def keep_editor_review(
    inspections: InspectionStore,
    analyses: Sequence[analysis.Analysis],
    request: AnalysisRequest,
    review: Review,
    via: str,
) -> Review:
    """Keep the decisions of the app's review table (or an uploaded workbook) with the editor's inspection; the
    review as the record now stands, which the table then shows."""
    inspection = editor_inspection(inspections, analyses, request)
    return inspections.record(inspection, analyses, review, via)[1]


def editor_review(
    inspections: InspectionStore, analyses: Sequence[analysis.Analysis], request: AnalysisRequest, signoff: SignOff
) -> Review:
    """The review the editor's kept decisions make of ``analyses`` (an empty table in a new editor session)."""
    return inspections.review(editor_inspection(inspections, analyses, request), analyses, signoff)


def share_editor(
    inspections: InspectionStore, workspace: InspectionStore, entity_id: object, entity_name: str = ""
) -> Inspection | None:
    """Copy the editor's kept inspection and decisions into ``workspace`` (where its photos' results are) under
    ``shared_id(entity_id)``, named after the entity: what the workspace's Quality view reads. The entity's own record
    stays the one the editor reads and writes; this copy is made again from it each time a review is kept. ``None``
    when nothing is kept yet; ``StoreError`` when either store fails."""
    kept = inspections.get(EDITOR)
    if kept is None:
        return None
    shared = dataclasses.replace(kept, id=shared_id(entity_id), name=clean(entity_name)[:120] or kept.name)
    decisions = [item.to_json() for item in inspections.decisions(EDITOR)]
    workspace.store.put(store_keys.decisions(shared.id), {"decisions": decisions})
    workspace.save(shared)
    return shared
