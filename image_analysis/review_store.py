"""The review kept with the results in the store: the sign-off beside the results it signs for, and an inspection
reopened from the spreadsheet an inspector reviewed (the findings workbook or CSV) with its photos from the store.

The command line's ``report`` and ``describe --store`` use it; a spreadsheet names each photo's stored result
(``record``), so a reviewed file and the store it was described into give the inspection back whole: its photos as
they were sent and described, the inspector's rows checked against the AI's findings, the sign-off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from image_analysis import analysis
from image_analysis.formats.findings_csv import FINDING_COLUMNS, ReviewTable
from image_analysis.formats.findings_workbook import FINDING_HEADINGS, FINDINGS, PHOTOS, ReviewWorkbook
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from image_analysis.review import Review, ReviewError, SignOff, photo_number
from image_analysis.store import SqliteStore, StoreError

SIGNOFF_KEY = "signoff:"
"""The store keeps the sign-off beside each photo's result: ``signoff:`` and the result's key."""


def keep_signoff(store: SqliteStore | Path, results: Sequence[analysis.Analysis], signoff: SignOff) -> str | None:
    """Keep the sign-off in the store with the results it signs for; why it could not be kept, or ``None``."""
    value = {"signoff": signoff.to_json(), "saved_at": datetime.now(UTC).isoformat()}
    try:
        kept = store if isinstance(store, SqliteStore) else SqliteStore(store)
        for result in results:
            if result.record:
                kept.put(SIGNOFF_KEY + result.record, value)
    except StoreError as error:
        return str(error)
    return None


def kept_signoff(store: SqliteStore, results: Sequence[analysis.Analysis]) -> SignOff:
    """The sign-off last kept with any of the results; an empty one when there is none."""
    values = [store.get(SIGNOFF_KEY + result.record) for result in results if result.record]
    kept = [value for value in values if isinstance(value, dict) and isinstance(value.get("signoff"), dict)]
    if not kept:
        return SignOff()
    return SignOff.from_json(max(kept, key=lambda value: str(value.get("saved_at") or ""))["signoff"])


def reopen_workbook(
    book: ReviewWorkbook, store: SqliteStore, where: Path, given: SignOff
) -> tuple[list[analysis.Analysis], Review]:
    """The photos the workbook was made for, from the store (``where`` names it in a message), and the review its
    rows make of them; the sign-off: the store's, overridden by the workbook's, overridden by ``given``."""
    scales = {scale.definition.name: scale for scale in ConditionScale}
    scale = scales.get(book.scale, ConditionScale.NEN2767)
    results = []
    for row, photo in enumerate(book.photos, start=2):
        value = store.get(photo.record) if photo.record else None
        if value is not None:
            results.append(dataclasses.replace(analysis.Analysis.from_json(value), number=photo.number))
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
    signoff = kept_signoff(store, results).overridden_by(book.signoff).overridden_by(given)
    try:
        return results, Review.from_rows(signoff, book.rows, results, scale.definition)
    except ReviewError as error:
        raise error.named(FINDING_HEADINGS, FINDINGS) from None


def reopen_csv(
    table: ReviewTable, store: SqliteStore, where: Path, given: SignOff
) -> tuple[list[analysis.Analysis], Review]:
    """The photos the CSV's rows name, from the store (``where`` names it in a message), and the review the rows make
    of them; the sign-off: the store's, overridden by ``given``."""
    results, scale, rows = _stored_results(table.rows, store, where)
    signoff = kept_signoff(store, results).overridden_by(given)
    try:
        return results, Review.from_rows(signoff, rows, results, scale.definition)
    except ReviewError as error:
        raise error.named(FINDING_COLUMNS) from None


def _stored_results(
    rows: tuple[dict[str, str], ...], store: SqliteStore, where: Path
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
            photos[number] = _stored_photo(row, number, key, store, where, scale)
        content = any(row.get(name) for name in ("element", "defect_type", "ref", "inspector_note"))
        if photos[number].error is None or content:
            findings.append(row)
    return [photos[number] for number in sorted(photos)], scale, tuple(findings)


def _stored_photo(
    row: dict[str, str], number: int, key: str, store: SqliteStore, where: Path, scale: ConditionScale
) -> analysis.Analysis:
    """Photo ``number`` as its first row names it: its stored result (under ``key``), or, for a photo that failed
    when it was described, that failure (its row has the error and no stored result)."""
    value = store.get(key) if key else None
    if value is not None:
        return dataclasses.replace(analysis.Analysis.from_json(value), number=number)
    if row.get("error"):
        request = AnalysisRequest(preset=Preset.INSPECTION, scale=scale)
        name = row.get("file") or f"photo {number}"
        return analysis.Analysis(number, name, request, error=row["error"], failed_at=analysis.SERVICE)
    if key:
        message = f"photo {number} is not in the store '{where}' (describe it with --store first)"
        raise ReviewError(int(row["_row"]), "record", message)
    message = "the row names no stored result (describe the photos with --store first)"
    raise ReviewError(int(row["_row"]), "record", message)
