"""The drawing register of a set: one row per sheet, and the set-level problems found by code, not by the model.

Each row takes its title-block fields from the PDF's text layer where it has them (``title_text``) and from the
model's reading otherwise. The checks: duplicate drawing numbers, one number with different titles, revisions
missing or going backwards, dates missing or in the future, scale missing, gaps in "sheet n of m", owner differing
across the set. Every problem names the sheets involved.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from image_analysis.analysis import Analysis
from image_analysis.findings import DrawingFindings
from image_analysis.spreadsheet import csv_text
from image_analysis.title_text import CheckedField, check, revision_order, squeezed

COLUMNS = ("page", "drawing_number", "title", "revision", "date", "scale", "status", "source", "problems")
_LABELS = {"drawing_number": "drawing number", "date_of_issue": "date", "revision": "revision", "title": "title"}


@dataclass(frozen=True)
class RegisterRow:
    page: int
    drawing_number: str | None
    title: str | None
    revision: str | None
    date: str | None
    scale: str | None
    status: str | None
    source: str
    problems: tuple[str, ...] = field(default=())
    owner: str | None = None
    sheet: str | None = None
    fields: tuple[CheckedField, ...] = field(default=())
    """Every title-block field as the register took it, with its source: the sheet's entry shows these."""


def build_register(analyses: Sequence[Analysis], today: date | None = None) -> list[RegisterRow]:
    """The register of the drawings among ``analyses`` (in their order), with every sheet's problems."""
    rows = [row for result in analyses if (row := _row(result)) is not None]
    return check_set(rows, today or date.today())


def _row(result: Analysis) -> RegisterRow | None:
    findings = result.parsed.findings
    preparation = result.preparation
    page = (preparation.page if preparation else None) or result.number
    if not isinstance(findings, DrawingFindings):
        if result.request.preset.value != "drawing":
            return None
        reason = result.error or result.parsed.problem or "no findings"
        return RegisterRow(page, None, None, None, None, None, None, "none", (f"not read: {reason}",))
    segments = preparation.text if preparation else None
    checked = {item.name: item for item in check(findings.title_block, segments)}
    problems = [_disagreement(item) for item in checked.values() if item.model_reading is not None]
    from_text = [item for item in checked.values() if item.source in ("PDF text", "both agree")]
    block = findings.title_block
    if from_text and all(getattr(block, name) is None for name in type(block).model_fields):
        problems.append("the model read no title-block field (its reply held only nulls): check the sheet by eye")
    if segments is None:
        source = "model"
    elif not segments:
        source = "model (scanned sheet: no text layer)"
    elif any(item.source in ("PDF text", "both agree") for item in checked.values()):
        source = "PDF text layer"
    else:
        source = "model (no title block in the text layer)"
    value = lambda name: checked[name].value  # noqa: E731
    return RegisterRow(
        page=page,
        drawing_number=value("drawing_number"),
        title=value("title"),
        revision=value("revision"),
        date=value("date_of_issue"),
        scale=value("scale"),
        status=value("status"),
        source=source,
        problems=tuple(problem for problem in problems if problem),
        owner=value("owner"),
        sheet=value("sheet"),
        fields=tuple(checked.values()),
    )


def _disagreement(item: CheckedField) -> str | None:
    if item.name not in _LABELS and item.name not in ("scale", "status", "sheet", "owner"):
        return None
    label = _LABELS.get(item.name, item.name)
    return (
        f"{label}: the model read '{item.model_reading}', the PDF text says '{item.value}' (used: the file's own text)"
    )


def check_set(rows: list[RegisterRow], today: date) -> list[RegisterRow]:
    problems: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        problems[row.page].extend(row.problems)
        if row.source == "none":
            continue
        if not row.revision:
            problems[row.page].append("revision missing")
        if not row.scale:
            problems[row.page].append("scale missing")
        if not row.date:
            problems[row.page].append("date missing")
        elif (issued := _date(row.date)) is not None and issued > today:
            problems[row.page].append(f"date {row.date} is in the future")
    by_number: dict[str, list[RegisterRow]] = defaultdict(list)
    for row in rows:
        if row.drawing_number:
            by_number[squeezed(row.drawing_number)].append(row)
    for same in by_number.values():
        if len(same) < 2:
            continue
        pages = [row.page for row in same]
        for row in same:
            others = ", ".join(str(page) for page in pages if page != row.page)
            problems[row.page].append(f"drawing number {row.drawing_number} is also on page {others}")
        if len({squeezed(row.title or "") for row in same}) > 1:
            for row in same:
                problems[row.page].append(
                    f"drawing number {row.drawing_number} has different titles on pages {', '.join(map(str, pages))}"
                )
        for earlier, later in itertools.pairwise(same):
            if (
                earlier.revision
                and later.revision
                and revision_order(later.revision) < revision_order(earlier.revision)
            ):
                problems[later.page].append(
                    f"revision goes back from {earlier.revision} (page {earlier.page}) to {later.revision}"
                )
    _sheet_gaps(rows, problems)
    _owners(rows, problems)
    return [RegisterRow(**{**row.__dict__, "problems": tuple(dict.fromkeys(problems[row.page]))}) for row in rows]


def _sheet_gaps(rows: list[RegisterRow], problems: dict[int, list[str]]) -> None:
    numbered: dict[int, dict[int, int]] = defaultdict(dict)
    for row in rows:
        match = re.fullmatch(r"\s*(\d+)\s*(?:of|/|van|von|de)\s*(\d+)\s*", row.sheet or "", re.IGNORECASE)
        if match:
            numbered[int(match.group(2))][int(match.group(1))] = row.page
    unnumbered = sum(1 for row in rows if not re.search(r"\d", row.sheet or ""))
    for total, sheets in numbered.items():
        missing = [number for number in range(1, total + 1) if number not in sheets]
        if len(missing) <= unnumbered:
            continue  # the sheets without a legible number may be the missing ones: nothing can be said
        if missing:
            listed = ", ".join(f"{number} of {total}" for number in missing)
            for page in sheets.values():
                problems[page].append(f"sheet {listed} is not in the set")


def _owners(rows: list[RegisterRow], problems: dict[int, list[str]]) -> None:
    owners: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.owner:
            owners[squeezed(row.owner)].append(row.page)
    if len(owners) < 2:
        return
    usual = max(owners.values(), key=len)
    names = {squeezed(row.owner or ""): row.owner for row in rows}
    for key, pages in owners.items():
        if pages is not usual:
            for page in pages:
                problems[page].append(
                    f"owner '{names[key]}' differs from the rest of the set (pages {', '.join(map(str, usual))})"
                )


def _date(text: str) -> date | None:
    for pattern, order in (
        (r"(\d{4})-(\d{1,2})-(\d{1,2})", "ymd"),
        (r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", "dmy"),
    ):
        match = re.search(pattern, text)
        if match:
            parts = dict(zip(order, map(int, match.groups()), strict=True))
            try:
                return date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return None
    return None


def register_csv(rows: Sequence[RegisterRow]) -> str:
    """The register as CSV (a spreadsheet's), problems joined with "; "."""
    return csv_text(COLUMNS, ([*(getattr(row, c) for c in COLUMNS[:-1]), "; ".join(row.problems)] for row in rows))
