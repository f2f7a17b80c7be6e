"""``report``: the reports of an inspection kept in the store. Given the findings workbook (or CSV) the inspector
reviewed, its rows are checked against the AI's findings (``review_store``) and kept as decisions first; without
one, the inspection is reported as the store keeps it. Everything is checked before anything is written: a bad cell
stops the run (exit 2) with one line naming sheet, row and column."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
from collections.abc import Callable
from pathlib import Path

from image_analysis import analysis, model, reinspection
from image_analysis.analysis import Analysis
from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_OK, EXIT_SERVICE, fail, note, say
from image_analysis.cli.outputs import write_outputs
from image_analysis.errors import ReviewError, StoreError
from image_analysis.formats.findings_csv import findings_csv, read_review_csv
from image_analysis.formats.findings_workbook import is_workbook, read_review_workbook
from image_analysis.inspection import Inspection
from image_analysis.inspection.decisions import VIA_CSV, VIA_OPTIONS, VIA_WORKBOOK
from image_analysis.inspection_store import InspectionStore
from image_analysis.reports import document, findings_workbook, html, terminal, word
from image_analysis.reports.changes import changes_section, element_columns
from image_analysis.reports.outputs import Output
from image_analysis.reports.pdf import word_to_pdf
from image_analysis.review import ADDED, AI_NOT_REVIEWED, EDITED, Review, SignOff, ai_findings
from image_analysis.review_store import reopen_csv, reopen_workbook
from image_analysis.store import SqliteStore


def add_parser(commands: argparse._SubParsersAction) -> None:
    reviewed = commands.add_parser(
        "report", help="build the reports of an inspection in the store, with the review from an edited spreadsheet"
    )
    reviewed.add_argument(
        "findings",
        type=Path,
        nargs="?",
        metavar="FINDINGS",
        help="the findings workbook (.xlsx) or CSV, as the inspector edited it: its review is kept in the store "
        "(without it: the inspection as the store keeps it)",
    )
    options.add_inspection(
        reviewed, "the inspection to report (its id or name; default: the one the file was made for, else the latest)"
    )
    options.add_reports(reviewed, "the reviewed findings workbook again", "the reviewed findings as CSV again")
    options.add_model(reviewed)
    reviewed.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    where = options.store(args, "report takes the photos from")
    given = options.signoff(args)
    if not where.is_file():
        return fail(EXIT_BAD_INPUT, f"there is no result store '{where}' (describe the photos with --store first)")
    try:
        store = _opened(where)
        inspections = InspectionStore(store)
        inspections.migrate()
        if args.findings is None:
            inspection, results, review = _kept(inspections, args.inspection, given)
        else:
            inspection, results, review = _reviewed(inspections, args.findings, where, given, args.inspection)
    except OSError as error:
        return fail(EXIT_BAD_INPUT, f"cannot read '{args.findings}': {error.strerror or error}")
    except (StoreError, ReviewError) as error:
        return fail(EXIT_BAD_INPUT, f"{args.findings or where}: {error}")
    if store.journal_note:
        fail(0, store.journal_note)
    edited = sum(1 for finding in review.findings if finding.status in (EDITED, ADDED))
    deleted = f", {len(review.deleted)} deleted" if review.deleted else ""
    note(
        f"inspection {inspection.label}: {len(review.effective(ai_findings(results)))} findings on "
        f"{len(results)} photos; {edited} edited or added by the inspector{deleted}"
    )
    results = inspection.named(results)
    compared = _compared(inspections, inspection, results, review, args.model)
    changes = changes_section(compared) if compared is not None and compared.previous is not None else None
    report = dataclasses.replace(document.build(results, review), changes=changes)
    say(terminal.cover_lines(report))
    makers = report_makers(args, report, lambda: page(report, review).encode("utf-8"))
    makers[Output.CSV] = lambda: findings_csv(results, review).encode("utf-8")
    columns = element_columns(compared) if compared is not None else None
    makers[Output.WORKBOOK] = lambda: findings_workbook(results, review, columns)
    return EXIT_OK if write_outputs(args, makers) else EXIT_SERVICE


Recorded = tuple[Inspection, list[Analysis], Review]


def _compared(
    inspections: InspectionStore,
    inspection: Inspection,
    results: list[Analysis],
    review: Review,
    model_name: str | None,
) -> reinspection.Reinspection | None:
    """The inspection beside the previous one of its object, as the store keeps it (``compare`` asks the model; here
    nothing is sent); ``None`` when it names no object with an element list."""
    try:
        found = review.effective(ai_findings(results))
        record = reinspection.as_kept(inspections, inspection, results, found, model_name or model.model_id())
    except StoreError as error:
        note(f"the changes since the previous inspection are left out: {error}")
        return None
    if record is not None and record.previous is not None:
        note(
            f"changes since the inspection of {record.previous.day}: {len(record.answers)} photo pairs with the "
            "model's suggestion kept" + ("" if record.answers else " (`compare` asks the model)")
        )
    return record


def _kept(inspections: InspectionStore, wanted: str | None, given: SignOff) -> Recorded:
    """The inspection ``wanted`` (the latest when none is named) as the store keeps it; a sign-off given is kept."""
    everything = inspections.all()
    if not everything:
        raise StoreError("the store holds no inspection (describe the photos with --store first)")
    inspection = inspections.find(wanted) if wanted else everything[-1]
    if inspection is None:
        known = ", ".join(kept.label for kept in everything[-5:])
        raise StoreError(f"there is no inspection '{wanted}' (the latest: {known})")
    if not wanted and len(everything) > 1:
        note(f"reporting the latest inspection, {inspection.label}; --inspection ID chooses another")
    if len(inspection.photos) > analysis.MAX_BATCH:
        raise StoreError(
            f"the inspection {inspection.label} holds {len(inspection.photos):,} photos, more than a report of "
            f"{analysis.MAX_BATCH} shows whole: report it with `campaign report`"
        )
    results = inspections.results(inspection)
    if not given.empty or given.final:
        inspection, review, _ = inspections.record(
            inspection, results, inspections.review(inspection, results, given), VIA_OPTIONS
        )
        return inspection, results, review
    return inspection, results, inspections.review(inspection, results, given)


def _reviewed(
    inspections: InspectionStore, findings: Path, where: Path, given: SignOff, wanted: str | None
) -> Recorded:
    """The inspection a reviewed spreadsheet was made for, with its rows kept as decisions (those the record does
    not hold yet): the review as the record now stands."""
    data = findings.read_bytes()
    if is_workbook(data) or findings.suffix.lower() == ".xlsx":
        reopened, via = reopen_workbook(read_review_workbook(data), inspections, where, given, wanted), VIA_WORKBOOK
    else:
        reopened, via = reopen_csv(read_review_csv(data), inspections, where, given, wanted), VIA_CSV
    if reopened.new:
        note(
            f"the file's photos are in no inspection of the store: they are now the inspection {reopened.inspection.id}"
        )
    inspection, review, made = inspections.record(reopened.inspection, reopened.results, reopened.review, via)
    if made:
        note(f"{_decisions(len(made))} kept in the store")
    elif any(finding.status != AI_NOT_REVIEWED for finding in (*review.findings, *review.deleted)):
        note("no new decision: the store already holds every one the file makes")
    else:
        note("no finding in the file is confirmed, edited, added or deleted: every one is still the AI's")
    return inspection, reopened.results, review


def _opened(where: Path) -> SqliteStore:
    """The store, to keep the review in; one that cannot be written is read (what would be kept goes to a journal,
    merged into the store at the next run that can write it, as ``describe`` does)."""
    if os.access(where, os.W_OK):
        return SqliteStore(where)
    return SqliteStore(where, readonly=True)


def _decisions(count: int) -> str:
    return "1 decision" if count == 1 else f"{count} decisions"


def page(report: document.ReportDocument, review: Review) -> str:
    """The page for one image with nothing reviewed or signed; the HTML report otherwise."""
    if len(report.entries) == 1 and not review.findings and review.signoff.empty:
        return html.render_page(report)
    return html.render_report(report)


def report_makers(
    args: argparse.Namespace,
    report: document.ReportDocument | Callable[[], document.ReportDocument],
    page: Callable[[], bytes],
) -> dict[Output, Callable[[], bytes]]:
    """How the page, the Word report and its PDF are made from one report document (or what makes it, only when
    one of them is asked for; the Word report made once for both) on the paper asked for."""
    made = report if callable(report) else lambda: report
    word_report = functools.cache(lambda: word.render(made(), args.paper))
    return {
        Output.PAGE: page,
        Output.WORD: lambda: word_report(),
        Output.PDF: lambda: word_to_pdf(word_report()),
    }
