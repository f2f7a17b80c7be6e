"""``report``: the reports from the findings workbook (or CSV) the inspector reviewed, with the photos and the
sign-off from the store (``review_store``). Everything is checked before anything is written: a bad cell stops the
run (exit 2) with one line naming sheet, row and column."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path

from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_OK, EXIT_SERVICE, fail, note, say
from image_analysis.cli.outputs import write_outputs
from image_analysis.errors import ReviewError, StoreError
from image_analysis.formats.findings_csv import findings_csv, read_review_csv
from image_analysis.formats.findings_workbook import is_workbook, read_review_workbook
from image_analysis.reports import document, findings_workbook, html, terminal, word
from image_analysis.reports.outputs import Output
from image_analysis.reports.pdf import word_to_pdf
from image_analysis.review import ADDED, EDITED, Review
from image_analysis.review_store import keep_signoff, reopen_csv, reopen_workbook
from image_analysis.store import SqliteStore


def add_parser(commands: argparse._SubParsersAction) -> None:
    reviewed = commands.add_parser("report", help="build the reports from an edited findings workbook and the store")
    reviewed.add_argument(
        "findings",
        type=Path,
        metavar="FINDINGS",
        help="the findings workbook (.xlsx) or CSV, as the inspector edited it",
    )
    options.add_reports(reviewed, "the reviewed findings workbook again", "the reviewed findings as CSV again")
    reviewed.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    where = options.store(args, "report takes the photos from")
    given = options.signoff(args)
    try:
        store = SqliteStore(where, readonly=True)
        data = args.findings.read_bytes()
        if is_workbook(data) or args.findings.suffix.lower() == ".xlsx":
            results, review = reopen_workbook(read_review_workbook(data), store, where, given)
        else:
            results, review = reopen_csv(read_review_csv(data), store, where, given)
    except OSError as error:
        return fail(EXIT_BAD_INPUT, f"cannot read '{args.findings}': {error.strerror or error}")
    except (StoreError, ReviewError) as error:
        return fail(EXIT_BAD_INPUT, f"{args.findings}: {error}")
    if not given.empty or given.final:
        problem = keep_signoff(where, results, review.signoff)
        if problem:
            note(f"the sign-off is in the reports but could not be kept in the store ({problem})")
    edited = sum(1 for finding in review.findings if finding.status in (EDITED, ADDED))
    deleted = f", {len(review.deleted)} deleted" if review.deleted else ""
    note(
        f"{len(review.findings)} findings on {len(results)} photos; {edited} edited or added by the inspector{deleted}"
    )
    report = document.build(results, review)
    say(terminal.cover_lines(report))
    makers = report_makers(args, report, lambda: page(report, review).encode("utf-8"))
    makers[Output.CSV] = lambda: findings_csv(results, review).encode("utf-8")
    makers[Output.WORKBOOK] = lambda: findings_workbook(results, review)
    return EXIT_OK if write_outputs(args, makers) else EXIT_SERVICE


def page(report: document.ReportDocument, review: Review) -> str:
    """The page for one image with nothing reviewed or signed; the HTML report otherwise."""
    if len(report.entries) == 1 and not review.findings and review.signoff.empty:
        return html.render_page(report)
    return html.render_report(report)


def report_makers(
    args: argparse.Namespace, report: document.ReportDocument, page: Callable[[], bytes]
) -> dict[Output, Callable[[], bytes]]:
    """How the page, the Word report and its PDF are made from one report document (the Word report made once for
    both) on the paper asked for."""
    word_report = functools.cache(lambda: word.render(report, args.paper))
    return {
        Output.PAGE: page,
        Output.WORD: lambda: word_report(),
        Output.PDF: lambda: word_to_pdf(word_report()),
    }
