"""``evaluate``: how often the AI is right, from the inspectors' reviews kept in a store: the quality page
(``--out``), its workbook of every AI finding and its decision (``--xlsx``), the figures as JSON on stdout
(``--json``); the headline figures on stderr."""

from __future__ import annotations

import argparse
import json
import re

from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_OK, EXIT_SERVICE, fail, note
from image_analysis.cli.outputs import write_outputs
from image_analysis.errors import StoreError
from image_analysis.inspection_store import InspectionStore
from image_analysis.quality import evaluate, gather
from image_analysis.reports.outputs import Output
from image_analysis.reports.quality import quality_json, quality_page, quality_workbook
from image_analysis.store import SqliteStore


def add_parser(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("evaluate", help="measure how often the AI's findings stood in the reviews")
    options.add_store(command)
    command.add_argument(
        "--inspection", action="append", default=[], metavar="ID_OR_NAME", help="only this inspection (repeatable)"
    )
    command.add_argument("--since", default="", metavar="YYYY-MM-DD", help="only inspections from this date")
    options.add_output(command, Output.QUALITY_PAGE, "write the quality page (HTML)")
    options.add_output(command, Output.QUALITY_WORKBOOK, "write the workbook of every AI finding and its decision")
    command.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    where = options.store(args, "evaluate reads the reviews from")
    if args.since and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.since):
        return fail(EXIT_BAD_INPUT, f"--since '{args.since}' is not a date: give it as YYYY-MM-DD")
    if not where.is_file():
        return fail(EXIT_BAD_INPUT, f"there is no result store '{where}' (describe the photos with --store first)")
    try:
        inspections = InspectionStore(SqliteStore(where, readonly=True))
        unknown = [name for name in args.inspection if inspections.find(name) is None]
        if unknown:
            return fail(EXIT_BAD_INPUT, f"there is no inspection '{unknown[0]}' in the store")
        gathered = gather(inspections, args.inspection, args.since)
    except StoreError as error:
        return fail(EXIT_BAD_INPUT, str(error))
    if not gathered.inspections:
        return fail(EXIT_BAD_INPUT, f"'{where}' holds no reviewed inspection to evaluate: review the findings first")
    quality = evaluate(gathered.outcomes, gathered.scale, gathered.inspections)
    findings, condition = quality.findings, quality.condition
    note(
        f"{gathered.inspections} reviewed inspection{'s' * (gathered.inspections != 1)}: precision "
        f"{findings.precision.text()}, recall {findings.recall.text()}; condition exact {condition.exact.text()}, "
        f"kappa {condition.kappa.text()}; {len(condition.under)} under-rated, {len(condition.missed)} missed"
    )
    if gathered.skipped:
        note(f"{gathered.skipped} inspection{'s' * (gathered.skipped != 1)} left out (not reviewed, or another scale)")
    if args.json:
        print(json.dumps(quality_json(quality), indent=2, ensure_ascii=False))
    written = write_outputs(
        args,
        {
            Output.QUALITY_PAGE: lambda: quality_page(quality).encode("utf-8"),
            Output.QUALITY_WORKBOOK: lambda: quality_workbook(quality),
        },
    )
    return EXIT_OK if written else EXIT_SERVICE
