"""A reviewed spreadsheet reopened with the store it was described into: the inspection it belongs to, its photos as
they were sent and described, and the inspector's rows checked against the AI's findings.

The command line's ``report`` uses it; a spreadsheet names each photo's stored result (``record``), so a reviewed
file and the store give the inspection back whole. The rows are then decisions to keep (``InspectionStore.record``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from image_analysis import analysis, reinspection
from image_analysis.errors import StoreError
from image_analysis.formats.findings_csv import ReviewTable, finding_columns
from image_analysis.formats.findings_workbook import (
    ELEMENT_HEADINGS,
    FINDINGS,
    PHOTOS,
    ReviewWorkbook,
    finding_headings,
)
from image_analysis.inspection import Inspection, photo_of
from image_analysis.inspection_store import InspectionStore
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from image_analysis.review import Review, ReviewError, SignOff, photo_number


@dataclass(frozen=True)
class Reopened:
    """A reviewed spreadsheet with what it was made from: the inspection (``new`` when none held its photos), the
    photos' results numbered as the file numbers them, and the review its rows make."""

    inspection: Inspection
    results: list[analysis.Analysis]
    review: Review
    new: bool = False


def reopen_workbook(
    book: ReviewWorkbook, inspections: InspectionStore, where: Path, given: SignOff, wanted: str | None = None
) -> Reopened:
    """The photos the workbook was made for, from the store (``where`` names it in a message), the inspection they
    belong to (``wanted``, else the one holding them), and the review its rows make of them; the sign-off: the
    inspection's, overridden by the workbook's, overridden by ``given``."""
    scales = {scale.definition.name: scale for scale in ConditionScale}
    scale = scales.get(book.scale, ConditionScale.NEN2767)
    results = []
    for row, photo in enumerate(book.photos, start=2):
        value = inspections.store.get(photo.record) if photo.record else None
        if value is not None:
            stored = analysis.Analysis.from_json(value)
            results.append(dataclasses.replace(stored, number=photo.number, name=photo.file or stored.name))
        elif photo.error:
            request = AnalysisRequest(preset=Preset.INSPECTION, scale=scale)
            failed = analysis.Analysis(photo.number, photo.file, request, error=photo.error, failed_at=analysis.SERVICE)
            results.append(failed)
        else:
            message = f"photo {photo.number} ('{photo.file}') is not in the store '{where}'"
            message += " (give the store it was described into)"
            raise ReviewError(row, "Photo", message, PHOTOS)
    mismatch = book.mismatch(results)
    if mismatch is not None:
        raise mismatch
    inspection, new = _inspection(inspections, results, scale, wanted)
    inspection = _elements_chosen(inspections, inspection, book)
    signoff = inspection.signoff.overridden_by(book.signoff).overridden_by(given)
    before = None if new else inspections.review(inspection, results, signoff)
    try:
        review = Review.from_rows(signoff, book.rows, results, scale.definition, before=before)
    except ReviewError as error:
        raise error.named(finding_headings(), FINDINGS) from None
    return Reopened(inspection, results, review, new)


def _elements_chosen(inspections: InspectionStore, inspection: Inspection, book: ReviewWorkbook) -> Inspection:
    """``inspection`` with each photo's element as the workbook's Photos sheet says, when it has the column and the
    inspection's object has its element list kept; ``ReviewError`` naming the photo's row whose element is not on
    the list."""
    chosen = book.elements_chosen
    elements = reinspection.elements_of(inspections, inspection.object_id) if chosen else None
    if elements is None:
        return inspection
    try:
        return reinspection.from_workbook(inspection, chosen, elements)
    except reinspection.NotAnElement as error:
        rows = {item.number: row for row, item in enumerate(book.photos, start=2)}
        raise ReviewError(rows.get(error.photo, 2), ELEMENT_HEADINGS["element"], error.message, PHOTOS) from None


def reopen_csv(
    table: ReviewTable, inspections: InspectionStore, where: Path, given: SignOff, wanted: str | None = None
) -> Reopened:
    """The photos the CSV's rows name, from the store (``where`` names it in a message), the inspection they belong
    to, and the review the rows make of them; the sign-off: the inspection's, overridden by ``given``."""
    results, scale, rows = _stored_results(table.rows, inspections, where)
    inspection, new = _inspection(inspections, results, scale, wanted)
    signoff = inspection.signoff.overridden_by(given)
    before = None if new else inspections.review(inspection, results, signoff)
    try:
        review = Review.from_rows(signoff, rows, results, scale.definition, before=before)
    except ReviewError as error:
        raise error.named(finding_columns()) from None
    return Reopened(inspection, results, review, new)


def _inspection(
    inspections: InspectionStore, results: Sequence[analysis.Analysis], scale: ConditionScale, wanted: str | None
) -> tuple[Inspection, bool]:
    """The inspection the reviewed file's photos belong to: ``wanted`` (by id or name), else the latest that holds
    them under the same numbers; a new one when none does (a file of photos described before inspections were kept,
    without a sign-off)."""
    if wanted:
        inspection = inspections.find(wanted)
        if inspection is None:
            raise StoreError(f"there is no inspection '{wanted}' in the store")
        if not _numbers_agree(inspection, results):
            raise StoreError(
                f"the file's photos are not those of the inspection {inspection.label} under the same numbers: give "
                "the inspection the file was made for, or leave out --inspection"
            )
        return inspection, False
    for inspection in reversed(inspections.all()):
        if _numbers_agree(inspection, results):
            return inspection, False
    request = AnalysisRequest(preset=Preset.INSPECTION, scale=scale)
    inspection, _ = Inspection.new(request).filed(results)
    return inspection, True


def _numbers_agree(inspection: Inspection, results: Sequence[analysis.Analysis]) -> bool:
    """Whether every result is a photo of ``inspection`` under the same number."""
    for result in results:
        photo = inspection.photo(photo_of(result))
        if photo is None or photo.number != result.number:
            return False
    return bool(results)


def _stored_results(
    rows: tuple[dict[str, str], ...], inspections: InspectionStore, where: Path
) -> tuple[list[analysis.Analysis], ConditionScale, tuple[dict[str, str], ...]]:
    """The stored result of each photo the rows name (in photo order), the scale they are scored on, and the rows
    that are findings (a failed photo's own row, untouched, says only that it failed: it is kept as the photo's
    error, not as a finding)."""
    if not rows:
        raise ReviewError(2, "photo", "the file holds no findings rows")
    scales = {scale.definition.name: scale for scale in ConditionScale}
    first = next((row for row in rows if row.get("condition_scale", "").strip()), rows[0])
    scale = scales.get(first.get("condition_scale", "").strip())
    if scale is None:
        raise ReviewError(int(first["_row"]), "condition_scale", f"'{first.get('condition_scale')}' is not a scale")
    photos: dict[int, analysis.Analysis] = {}
    findings = []
    for row in rows:
        number = photo_number(row.get("photo", ""))
        if number is None:
            message = f"'{row.get('photo')}' is not a photo number (a whole number from 1)"
            raise ReviewError(int(row["_row"]), "photo", message)
        key = row.get("record", "").strip()
        if number not in photos:
            photos[number] = _stored_photo(row, number, key, inspections, where, scale)
        content = any(row.get(name) for name in ("element", "defect_type", "ref", "inspector_note"))
        if photos[number].error is None or content:
            findings.append(row)
    return [photos[number] for number in sorted(photos)], scale, tuple(findings)


def _stored_photo(
    row: dict[str, str], number: int, key: str, inspections: InspectionStore, where: Path, scale: ConditionScale
) -> analysis.Analysis:
    """Photo ``number`` as its first row names it: its stored result (under ``key``), under the name the row gives
    it (a result is kept by its bytes: the same photo may have arrived under another name first), or, for a photo
    that failed when it was described, that failure (its row has the error and no stored result)."""
    value = inspections.store.get(key) if key else None
    if value is not None:
        stored = analysis.Analysis.from_json(value)
        return dataclasses.replace(stored, number=number, name=row.get("file") or stored.name)
    if row.get("error"):
        request = AnalysisRequest(preset=Preset.INSPECTION, scale=scale)
        name = row.get("file") or f"photo {number}"
        return analysis.Analysis(number, name, request, error=row["error"], failed_at=analysis.SERVICE)
    if key:
        message = f"photo {number} is not in the store '{where}' (describe it with --store first)"
        raise ReviewError(int(row["_row"]), "record", message)
    message = "the row names no stored result (describe the photos with --store first)"
    raise ReviewError(int(row["_row"]), "record", message)
