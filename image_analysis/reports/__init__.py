"""The reports: one ``ReportDocument`` built from the record (``document``), rendered by writers that decide
nothing of their own: Word (``word``), HTML (``html``), PDF (``pdf``, LibreOffice converting the Word report), and
the findings as CSV (``findings_csv``).

    analyses + review + sign-off ──> document.build ──> ReportDocument ──┬─> word.render  ──> .docx ──> pdf ──> .pdf
                                                                        └─> html.render_* ──> .html
    analyses + review ──────────────────────────────> findings_csv ─────────> .csv (read back by review_csv)
"""

from __future__ import annotations

from collections.abc import Sequence

from image_analysis.analysis import Analysis
from image_analysis.reports import document, html, word
from image_analysis.reports.findings_csv import drawing_csv, findings_csv
from image_analysis.review import Review

__all__ = ["drawing_csv", "findings_csv", "html_page", "html_report", "word_report"]


def word_report(
    analyses: Sequence[Analysis], title: str | None = None, review: Review | None = None, paper: str = "A4"
) -> bytes:
    """The Word report of ``analyses`` with the inspector's ``review``."""
    return word.render(document.build(analyses, review, title), paper)


def html_report(analyses: Sequence[Analysis], title: str | None = None, review: Review | None = None) -> str:
    """The self-contained HTML report (and the batch and drawing-set views)."""
    return html.render_report(document.build(analyses, review, title))


def html_page(analysis: Analysis, review: Review | None = None) -> str:
    """The page for one image."""
    return html.render_page(document.build([analysis], review))
