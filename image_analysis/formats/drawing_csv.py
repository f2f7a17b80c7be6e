"""The drawing CSV of a drawing set: one row per sheet, with its title block as the register took it and where each
value came from, its notes, questions, dimensions and grid lines. Written for a spreadsheet; not read back."""

from __future__ import annotations

from collections.abc import Sequence

from image_analysis import register
from image_analysis.analysis import Analysis
from image_analysis.findings import DrawingFindings, TitleBlock
from image_analysis.spreadsheet import csv_text

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
    """The sheets of a drawing set as CSV, one row each (``DRAWING_COLUMNS``)."""
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
