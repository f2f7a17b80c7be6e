"""The reports: one ``ReportDocument`` built from the record (``document``), rendered by writers that decide
nothing of their own: Word (``word``), HTML (``html``), PDF (``pdf``, LibreOffice converting the Word report), the
terminal (``terminal``), and a campaign's report (``campaign``). The spreadsheets an inspector reviews in are
``formats``' (written and read back there); here they get the report's status.

    analyses + review + sign-off ──> document.build ──> ReportDocument ──┬─> word.render  ──> .docx ──> pdf ──> .pdf
                                                                        └─> html.render_* ──> .html
    analyses + review ──────────────> formats.findings_workbook (+ the document's status) ──> .xlsx (and back)
                   (+ changes.element_columns: each photo's element, its previous condition and change)
    analyses + review ──────────────> formats.findings_csv ──────────────────────────────────> .csv (and back)
    quality.evaluate ───────────────> quality.quality_page, quality_workbook ──────────────────> .html, .xlsx
    reinspection.reinspection ──────> changes.changes_section ──> changes_page, the Word report's section, changes_csv
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from image_analysis.analysis import Analysis
from image_analysis.formats.drawing_csv import drawing_csv
from image_analysis.formats.findings_csv import findings_csv
from image_analysis.reports import document, html, word
from image_analysis.reports.changes import (
    ChangesFileError,
    change_rows,
    changes_csv,
    changes_page,
    decisions_from_rows,
    element_columns,
    read_changes_csv,
)
from image_analysis.reports.quality import quality_page, quality_workbook
from image_analysis.reports.word_layout import DEFAULT_PAPER
from image_analysis.review import Review

if TYPE_CHECKING:
    from image_analysis.formats.findings_workbook import ElementColumns

__all__ = [
    "ChangesFileError",
    "change_rows",
    "changes_csv",
    "changes_page",
    "decisions_from_rows",
    "drawing_csv",
    "element_columns",
    "findings_csv",
    "findings_workbook",
    "html_page",
    "html_report",
    "quality_page",
    "quality_workbook",
    "read_changes_csv",
    "word_report",
]


def findings_workbook(
    analyses: Sequence[Analysis], review: Review | None = None, elements: ElementColumns | None = None
) -> bytes:
    """The findings workbook, with the report's status (as its cover says it) on the Sign-off sheet (and the
    photos' elements, when the inspection names its object: ``changes.element_columns``)."""
    from image_analysis.formats.findings_workbook import findings_workbook as workbook

    return workbook(analyses, review, document.status(analyses, review), elements)


def word_report(
    analyses: Sequence[Analysis], title: str | None = None, review: Review | None = None, paper: str = DEFAULT_PAPER
) -> bytes:
    """The Word report of ``analyses`` with the inspector's ``review``."""
    return word.render(document.build(analyses, review, title), paper)


def html_report(analyses: Sequence[Analysis], title: str | None = None, review: Review | None = None) -> str:
    """The self-contained HTML report (and the batch and drawing-set views)."""
    return html.render_report(document.build(analyses, review, title))


def html_page(analysis: Analysis, review: Review | None = None) -> str:
    """The page for one image."""
    return html.render_page(document.build([analysis], review))
