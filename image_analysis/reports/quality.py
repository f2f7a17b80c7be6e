"""The quality of the AI's findings as a QA lead reads it: a page (every figure with its n and interval, the human
yardstick beside them, and the photos behind each), the figures as JSON, and a workbook with one row per AI finding
and what the inspector decided on it."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from image_analysis.analysis import Analysis
from image_analysis.formats.findings_workbook import CELL_CHARACTERS
from image_analysis.imaging.encode import thumbnail
from image_analysis.quality.evaluation import Group, Quality
from image_analysis.quality.labelled import ModelRun
from image_analysis.quality.measures import Figure
from image_analysis.quality.outcomes import ADD, CONFIRMED, DELETED, EDIT, UNREVIEWED, Outcome
from image_analysis.reports.document import Column, Table
from image_analysis.reports.html import render_template
from image_analysis.safe_text import clean

TITLE = "How often the AI is right"


def quality_tables(quality: Quality) -> dict[str, Table]:
    """The page's tables, by name (pure: the page and the tests read them)."""
    findings, condition = quality.findings, quality.condition
    figure = (Column("Measure"), Column("Figure"), Column("What it counts"))
    return {
        "findings": Table(
            figure,
            (
                ("Precision", findings.precision.text(), "AI findings kept (confirmed or edited) of those decided on"),
                ("Recall", findings.recall.text(), "AI findings kept, of those and the findings the inspector added"),
                ("Coverage", findings.coverage.text(), "AI findings a person decided on, of all"),
                *((name, str(count), _DECISIONS[name]) for name, count in findings.counts.items()),
            ),
            "quality",
        ),
        "condition": Table(
            figure,
            (
                ("Exact agreement", condition.exact.text(), "the AI's score is the inspector's"),
                ("Within one step", condition.within_one.text(), "at most one step apart"),
                ("Cohen's kappa (linear)", condition.kappa.text(), f"over the whole {quality.scale.name}"),
                ("Under-rated", str(len(condition.under)), "scored better by the AI than by the inspector"),
                ("Missed", str(len(condition.missed)), "defects the inspector added"),
                ("Over-rated", str(len(condition.over)), "scored worse by the AI than by the inspector"),
                *(
                    (f"Same {name}", value.text(), f"the {name} the AI observed is the inspector's")
                    for name, value in condition.observations.items()
                    if value.n
                ),
            ),
            "quality",
        ),
        **{name: _breakdown(title, groups) for name, title, groups in _breakdowns(quality)},
        "changes": Table(
            (Column("The AI said"), Column("The inspector made it"), Column("Findings", unbroken=True)),
            tuple((ai, given, str(count)) for ai, given, count in quality.type_changes),
            "changes",
        ),
        "inspectors": Table(
            (Column("Inspector"), Column("Confirmed without any edit")),
            tuple((name, value.text()) for name, value in quality.inspectors),
            "inspectors",
        ),
        "under": _photos(condition.under + condition.missed),
        "deleted": _photos(tuple(item for item in quality.outcomes if item.decision == DELETED)),
    }


_DECISIONS = {
    CONFIRMED: "AI findings the inspector confirmed",
    EDIT: "AI findings the inspector edited",
    DELETED: "AI findings the inspector deleted",
    ADD: "findings the inspector added (the AI's misses)",
    UNREVIEWED: "AI findings nobody decided on (left out of every figure)",
}


def _breakdowns(quality: Quality) -> list[tuple[str, str, Sequence[Group]]]:
    return [
        ("by_type", "Defect type", quality.by_type),
        ("by_element", "Element", quality.by_element),
        ("by_model", "Model", quality.by_model),
        ("by_prompt", "Prompt version", quality.by_prompt),
        ("by_month", "Month", quality.by_month),
    ]


def _breakdown(title: str, groups: Sequence[Group]) -> Table:
    columns = (
        Column(title),
        *(Column(name, unbroken=True) for name in ("Confirmed", "Edited", "Deleted", "Added")),
        Column("Precision"),
        Column("Exact score"),
    )
    rows = tuple(
        (
            group.name,
            *(str(group.findings.counts[name]) for name in (CONFIRMED, EDIT, DELETED, ADD)),
            group.findings.precision.text(),
            group.exact.text(),
        )
        for group in groups
    )
    return Table(columns, rows, "breakdown")


def _photos(items: Sequence[Outcome]) -> Table:
    columns = (
        Column("Inspection", unbroken=True),
        Column("Photo", unbroken=True),
        Column("File"),
        Column("Finding", unbroken=True),
        Column("Defect"),
        Column("AI's score", unbroken=True),
        Column("Inspector's", unbroken=True),
    )
    rows = tuple(
        (item.inspection, str(item.photo), item.file, item.ref, item.type, item.ai_score or "—", item.score)
        for item in items
    )
    return Table(columns, rows, "photos")


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label, the share it shows (0-1) and the figure as text."""

    label: str
    share: float
    text: str


def bars(groups: Sequence[Group], figure: Callable[[Group], Figure]) -> tuple[Bar, ...]:
    """A bar per group with a percentage to show (a group below ``MIN_N`` shows its count, without a bar)."""
    return tuple(
        Bar(group.name, value.value if value.shown and value.value is not None else 0.0, value.text())
        for group in groups
        if (value := figure(group)).n
    )


def heat(quality: Quality) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[tuple[int, float], ...]], ...]]:
    """The score confusion as a heat table: the scale's codes, and per AI code its counts with their shade (0-1 of
    the largest count)."""
    codes = quality.scale.codes
    most = max((count for row in quality.condition.confusion for count in row), default=0) or 1
    rows = tuple(
        (code, tuple((count, count / most) for count in row))
        for code, row in zip(codes, quality.condition.confusion, strict=True)
    )
    return codes, rows


def quality_page(quality: Quality) -> str:
    """The quality page: one self-contained HTML file, no script (the reports' Content-Security-Policy); its
    pictures are drawn with HTML and CSS, so they are text a screen reader and a search read too."""
    return render_template(
        "quality.html.j2",
        title=TITLE,
        quality=quality,
        tables=quality_tables(quality),
        count=len(quality.outcomes),
        by_type=bars(quality.by_type, lambda group: group.findings.precision),
        by_month=bars(quality.by_month, lambda group: group.exact),
        heat=heat(quality),
    )


def quality_json(quality: Quality) -> dict[str, Any]:
    """Every figure, as numbers (``null`` where a figure is a count only)."""
    condition = quality.condition
    return {
        "inspections": quality.inspections,
        "scale": quality.scale.name,
        "counts": quality.findings.counts,
        "precision": _figure(quality.findings.precision),
        "recall": _figure(quality.findings.recall),
        "coverage": _figure(quality.findings.coverage),
        "condition": {
            "exact": _figure(condition.exact),
            "within_one": _figure(condition.within_one),
            "kappa": _figure(condition.kappa),
            "under_rated": len(condition.under),
            "missed": len(condition.missed),
            "over_rated": len(condition.over),
            "observations": {name: _figure(value) for name, value in condition.observations.items()},
        },
        **{name: {group.name: _group(group) for group in groups} for name, _, groups in _breakdowns(quality)},
        "type_changes": [list(change) for change in quality.type_changes],
        "inspectors": {name: _figure(value) for name, value in quality.inspectors},
        "yardstick": quality.yardstick,
    }


def _figure(figure: Figure) -> dict[str, Any]:
    return {
        "count": figure.count,
        "n": figure.n,
        "value": figure.value if figure.shown else None,
        "low": figure.low if figure.shown else None,
        "high": figure.high if figure.shown else None,
    }


def _group(group: Group) -> dict[str, Any]:
    return {
        "counts": group.findings.counts,
        "precision": _figure(group.findings.precision),
        "exact": _figure(group.exact),
    }


WORKBOOK_COLUMNS = (
    ("inspection", "Inspection", 18),
    ("photo", "Photo", 7),
    ("file", "Photo file", 28),
    ("ref", "Finding", 10),
    ("decision", "Decision", 14),
    ("ai_type", "AI's defect", 18),
    ("type", "Inspector's defect", 18),
    ("element", "Element", 26),
    ("ai_score", "AI's score", 10),
    ("score", "Inspector's score", 10),
    ("model", "Model", 26),
    ("prompt", "Prompt version", 16),
    ("month", "Month", 9),
    ("inspector", "Inspector", 18),
)


def quality_workbook(quality: Quality) -> bytes:
    """One row per AI finding (and per finding the inspector added): what the inspector decided on it, the scores,
    the model, the prompt version and the inspector, every cell text; a sheet of the figures."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("AI findings")
    for index, (_, _, width) in enumerate(WORKBOOK_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"

    def text(value: object, target: Any = sheet) -> str | WriteOnlyCell:
        """A text cell: plain text as it is (openpyxl writes it so, fastest), and text openpyxl would take for a
        formula or an error value (a file named ``=HYPERLINK(...)``) as a cell set to text."""
        written = clean(str(value))[:CELL_CHARACTERS]  # as the findings workbook keeps a cell: no control character
        if not written.startswith("=") and written not in ERROR_CODES:
            return written
        cell = WriteOnlyCell(target)
        cell._value, cell.data_type = written, "s"
        return cell

    sheet.append([text(heading) for _, heading, _ in WORKBOOK_COLUMNS])
    for item in quality.outcomes:
        sheet.append([text(getattr(item, name)) for name, _, _ in WORKBOOK_COLUMNS])
    figures = book.create_sheet("Figures")
    tables = quality_tables(quality)
    for table in (tables["findings"], tables["condition"]):
        for row in table.rows:
            figures.append([text(value, figures) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def picture(result: Analysis) -> str:
    """The image as sent, reduced, as a data URI for the page (empty without one)."""
    if result.preparation is None or not result.preparation.display.data:
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(thumbnail(result.preparation.display.data)).decode("ascii")


def labelled_table(runs: Sequence[ModelRun]) -> Table:
    """The models (and prompts) side by side on the labelled set."""
    columns = (
        Column("Model"),
        Column("Prompt"),
        Column("Photos", unbroken=True),
        Column("Defect types: precision"),
        Column("Defect types: recall"),
        Column("Condition: exact"),
        Column("Within one step"),
        Column("Kappa (linear)"),
        Column("Tokens a photo", unbroken=True),
        Column("Seconds a photo", unbroken=True),
    )
    rows = tuple(
        (
            run.model,
            run.prompt.label,
            f"{run.photos - run.failed} of {run.photos}",
            run.precision.text(),
            run.recall.text(),
            run.exact.text(),
            run.within_one.text(),
            run.kappa.text(),
            f"{run.tokens:,.0f}" if run.tokens is not None else "—",
            f"{run.seconds:.1f}" if run.seconds is not None else "—",
        )
        for run in runs
    )
    return Table(columns, rows, "models")


def labelled_page(runs: Sequence[ModelRun], source: str) -> str:
    """The page of a labelled set: the models side by side, then each model's disagreements with their photos."""
    return render_template(
        "labelled.html.j2", title="The models on a labelled set", runs=runs, table=labelled_table(runs), source=source
    )


def labelled_json(runs: Sequence[ModelRun]) -> dict[str, Any]:
    return {
        run.name: {
            "model": run.model,
            "prompt": run.prompt.name,
            "prompt_digest": run.prompt.digest,
            "photos": run.photos,
            "failed": run.failed,
            "sent": run.sent,
            "precision": _figure(run.precision),
            "recall": _figure(run.recall),
            "exact": _figure(run.exact),
            "within_one": _figure(run.within_one),
            "kappa": _figure(run.kappa),
            "tokens_per_photo": run.tokens,
            "seconds_per_photo": run.seconds,
            "disagreements": len(run.disagreements),
        }
        for run in runs
    }
