"""The findings as CSV, for a spreadsheet and for the round trip (``review_csv`` reads it back), and the drawing
findings as CSV. Every value is written as text; cells a spreadsheet would run as a formula are defused
(``spreadsheet.csv_text``).
"""

from __future__ import annotations

from collections.abc import Sequence

from image_analysis import register
from image_analysis.analysis import Analysis
from image_analysis.findings import Defect, DrawingFindings, InspectionFindings, TitleBlock
from image_analysis.presets import Preset
from image_analysis.review import AI_NOT_REVIEWED, FINDING_FIELDS, Review, finding_ref
from image_analysis.spreadsheet import csv_text

_FINDINGS_COLUMNS = tuple(name for name in InspectionFindings.model_fields if name not in ("defects", "summary"))
_DEFECT_COLUMNS = tuple(f"defect_{name}" for name in Defect.model_fields)
_REVIEW_COLUMNS = tuple(item.csv for item in FINDING_FIELDS)
CSV_COLUMNS = (
    *_REVIEW_COLUMNS,
    "taken_at",
    "lat",
    "lon",
    "camera",
    *(name for name in _FINDINGS_COLUMNS if name not in _REVIEW_COLUMNS),
    "condition_scale",
    "defect",
    *(name for name in _DEFECT_COLUMNS if name not in _REVIEW_COLUMNS),
    "summary",
    "record",
    "repairs",
    "model",
    "error",
)
"""One row per defect: first what the inspector reviews, in the findings workbook's order (``review.FINDING_FIELDS``:
which AI finding, photo, origin, note, then the finding), then the photo's facts, the rest of the inspection's
fields (from the findings model), the defect's description, and which stored result it is (``record``)."""


_REVIEWED = tuple(item for item in FINDING_FIELDS if item.name not in ("photo", "file"))


def findings_csv(analyses: Sequence[Analysis], review: Review | None = None) -> str:
    """The findings of all images, one row per defect (one row for an image without defects), as CSV; the
    reviewed findings of a photo replace the model's when there are any. A drawing set gets ``drawing_csv``."""
    if analyses and analyses[0].request.preset is Preset.DRAWING:
        return drawing_csv(analyses)
    return csv_text(CSV_COLUMNS, (line for analysis in analyses for line in findings_lines(analysis, review)))


def findings_lines(analysis: Analysis, review: Review | None = None) -> list[list[object]]:
    """One image's rows of the findings CSV (``CSV_COLUMNS``): a campaign writes them one image at a time."""
    rows = _rows(analysis)
    reviewed = [*review.for_photo(analysis.number), *review.deleted_from(analysis.number)] if review else []
    if reviewed:
        base = {key: value for key, value in rows[0].items() if not key.startswith("defect")}
        rows = [
            {
                **base,
                "defect": number if finding.defect_type else None,
                **{item.csv: getattr(finding, item.name) for item in _REVIEWED},
            }
            for number, finding in enumerate(reviewed, start=1)
        ]
    return [[row.get(column) for column in CSV_COLUMNS] for row in rows]


def _rows(analysis: Analysis) -> list[dict[str, object]]:
    base: dict[str, object] = {
        "photo": analysis.number,
        "file": analysis.name,
        "error": analysis.error,
        "record": analysis.record,
    }
    if analysis.preparation:
        metadata = analysis.preparation.metadata
        base.update(taken_at=metadata.taken_at, camera=metadata.camera)
        if metadata.gps:
            base.update(lat=metadata.gps.lat, lon=metadata.gps.lon)
    if analysis.description:
        base["model"] = analysis.description.model
    findings = analysis.parsed.findings
    if findings is not None:
        base["repairs"] = "; ".join(analysis.parsed.repairs)
    if isinstance(findings, InspectionFindings):
        base.update({name: _joined(getattr(findings, name)) for name in _FINDINGS_COLUMNS})
        base.update(
            condition_scale=analysis.request.scale.definition.name,
            summary=findings.summary,
            status=AI_NOT_REVIEWED,
            ref=finding_ref(analysis.number, 0),
        )
        return [
            {
                **base,
                "defect": number,
                "ref": finding_ref(analysis.number, number),
                **{f"defect_{name}": value for name, value in defect.model_dump().items()},
            }
            for number, defect in enumerate(findings.defects, start=1)
        ] or [base]
    if isinstance(findings, DrawingFindings):
        base.update(element=findings.drawing_kind, summary=findings.summary)
    elif analysis.description:
        base["summary"] = analysis.description.text
    return [base]


def _joined(value: object) -> object:
    return "; ".join(value) if isinstance(value, list) else value


_BLOCK = tuple(TitleBlock.model_fields)
DRAWING_COLUMNS = (
    "number",
    "file",
    "page",
    *_BLOCK,
    *(f"{name}_source" for name in _BLOCK),
    "drawing_kind",
    "notes",
    "questions",
    "dimensions",
    "grid_lines",
    "summary",
    "problems",
    "repairs",
    "model",
    "error",
)
"""One row per sheet: every title-block field as the register took it and where it came from (PDF text, model,
both agree), then the sheet's notes, questions, dimensions and grid lines (each list one cell, items on lines of
their own), the register's problems, and how the reply was read."""


_LISTS = ("notes", "questions", "dimensions", "grid_lines")


def drawing_csv(analyses: Sequence[Analysis]) -> str:
    rows = {row.page: row for row in register.build_register(analyses)}
    lines = []
    for result in analyses:
        preparation = result.preparation
        page = (preparation.page if preparation else None) or result.number
        entry: dict[str, object] = {"number": result.number, "file": result.name, "page": page, "error": result.error}
        row = rows.get(page)
        if row is not None:
            for item in row.fields:
                entry[item.name], entry[f"{item.name}_source"] = item.value, item.source
            entry["problems"] = "; ".join(row.problems)
        findings = result.parsed.findings
        if isinstance(findings, DrawingFindings):
            entry.update(
                drawing_kind=findings.drawing_kind,
                summary=findings.summary,
                repairs="; ".join(result.parsed.repairs),
                **{name: "\n".join(getattr(findings, name)) for name in _LISTS},
            )
        if result.description:
            entry["model"] = result.description.model
        lines.append([entry.get(column) for column in DRAWING_COLUMNS])
    return csv_text(DRAWING_COLUMNS, lines)
