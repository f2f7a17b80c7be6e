"""``compare``: an inspection beside the previous one of its object. Each photo's element (``--element N=ID`` says
it as the inspector; the others keep theirs or are suggested), one request per photo whose element was photographed
before (both photos, the previous first; kept in the store, so a second run sends nothing), the inspector's
decisions read from the changes CSV (``--decisions``), and the page of the changes, worse first.

    python -m image_analysis compare --store PATH --inspection ID [--previous ID] [--element 3=P12-N ...]
                                     [--decisions changes.csv] [--inspector NAME] [--out changes.html]
                                     [--csv changes.csv] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
from collections import Counter
from pathlib import Path

from image_analysis import comparison, model, reinspection
from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_OK, EXIT_SERVICE, fail, note
from image_analysis.cli.elements import assigned, object_elements
from image_analysis.cli.outputs import write_outputs
from image_analysis.cli.report import report_makers
from image_analysis.errors import ServiceError, StoreError
from image_analysis.inspection.history import WORSE
from image_analysis.inspection_store import InspectionStore
from image_analysis.presets import Language
from image_analysis.reports import document
from image_analysis.reports.changes import (
    ChangesFileError,
    changes_csv,
    changes_page,
    changes_section,
    read_changes_csv,
)
from image_analysis.reports.outputs import Output
from image_analysis.safe_text import clean
from image_analysis.store import SqliteStore


def add_parser(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("compare", help="compare an inspection with the previous one of its object")
    options.add_store(command)
    options.add_inspection(command, "the inspection to compare (its id or name)")
    command.add_argument(
        "--previous",
        default="",
        metavar="ID_OR_NAME",
        help="the earlier inspection (default: the latest earlier one of the same object)",
    )
    options.add_object(command, "the object, when the inspection does not name one yet")
    command.add_argument(
        "--element",
        action="append",
        default=[],
        metavar="PHOTO=ELEMENT",
        help="photo number PHOTO shows ELEMENT, as the inspector says (repeatable; confirms a suggestion)",
    )
    command.add_argument("--decisions", type=Path, metavar="CSV", help="the changes CSV with the 'decided' column")
    command.add_argument("--inspector", default="", help="who decided (kept with each decision)")
    options.add_model(command)
    command.add_argument(
        "--language",
        choices=[language.value for language in Language],
        default=None,
        help="the language the model answers in (default: an answer kept in any language, else English)",
    )
    options.add_output(command, Output.CHANGES_PAGE, "write the page of the changes (HTML)")
    options.add_output(command, Output.CHANGES_CSV, "write the changes CSV to decide in a spreadsheet")
    options.add_output(command, Output.WORD, "write the inspection's Word report with its changes section")
    options.add_pdf(command)
    command.add_argument("--json", action="store_true", help="print every element's change and answer as JSON")
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    where = options.store(args, "compare reads the inspections from")
    if not args.inspection:
        return fail(EXIT_BAD_INPUT, "give the inspection to compare: --inspection ID_OR_NAME")
    if not where.is_file():
        return fail(EXIT_BAD_INPUT, f"there is no result store '{where}' (describe the photos with --store first)")
    try:
        given = _given(args.element)
    except ValueError as error:
        return fail(EXIT_BAD_INPUT, str(error))
    inspections = InspectionStore(SqliteStore(where))
    try:
        current = inspections.find(args.inspection)
        if current is None:
            return fail(EXIT_BAD_INPUT, f"there is no inspection '{args.inspection}' in the store")
        elements = object_elements(inspections, args.object or current.object_id)
        if elements is None:
            return fail(
                EXIT_BAD_INPUT,
                f"the inspection {current.label} names no object: give --object ID (its element list kept by "
                "`elements`)",
            )
        unknown = [element for element in given.values() if elements.get(element) is None]
        if unknown:
            return fail(EXIT_BAD_INPUT, f"'{unknown[0]}' is not an element of {elements.object_id} (--element)")
        results = inspections.results(current)
        current = assigned(inspections, current, results, elements, given)
        chosen = inspections.find(args.previous) if args.previous else None
        if args.previous and chosen is None:
            return fail(EXIT_BAD_INPUT, f"there is no inspection '{args.previous}' in the store")
        previous = reinspection.before(inspections, current, previous=chosen)
        current_findings = reinspection.record_findings(inspections, current, results)
        if args.decisions:
            read = read_changes_csv(args.decisions.read_bytes(), str(args.decisions))
            made = reinspection.decide(inspections, current, read, clean(args.inspector), "changes CSV")
            note(f"{len(made)} change decision{'s' * (len(made) != 1)} kept from {args.decisions}")
        decisions = reinspection.change_decisions(inspections, current.id)
    except (StoreError, ChangesFileError) as error:
        return fail(EXIT_BAD_INPUT, str(error))
    except OSError as error:
        return fail(EXIT_BAD_INPUT, f"cannot read '{args.decisions}': {error.strerror or error}")
    answers: list[comparison.ChangeAnswer] = []
    if previous is None:
        note(f"no earlier inspection of {elements.object_id} in the store: every element is inspected the first time")
    else:
        for line in previous.unreadable:
            note(f"left out of the history: {line}")
        language = Language(args.language or Language.EN.value)
        requests = reinspection.change_requests(elements, previous, current, results, language)
        try:
            settings = model.ServiceSettings.from_environment(args.model)
        except ServiceError as error:
            return fail(EXIT_SERVICE, str(error))
        answers = comparison.compare_all(requests, settings, inspections.store, any_language=not args.language)
        sent = sum(1 for answer in answers if not answer.from_store)
        failed = [answer for answer in answers if answer.description is None]
        note(f"{len(answers)} photo pairs compared, {sent} sent now" + (f", {len(failed)} failed" if failed else ""))
        for answer in failed:
            note(f"photo {answer.request.current.number} ({answer.request.element_id}): {answer.error}")
    record = reinspection.reinspection(elements, current, results, current_findings, previous, answers, decisions)
    trends = Counter(change.trend for change in record.changes)
    note(f"{len(record.changes)} elements: " + ", ".join(f"{count} {trend}" for trend, count in trends.items()))
    if args.json:
        print(json.dumps(_json(record), indent=2, ensure_ascii=False))
    section = functools.cache(lambda: changes_section(record))  # the photos reduced once, for the page and Word
    review = inspections.review(current, results, current.signoff)
    report = lambda: dataclasses.replace(document.build(results, review), changes=section())  # noqa: E731
    makers = report_makers(args, report, lambda: changes_page(section()).encode("utf-8"))
    makers[Output.CHANGES_PAGE] = makers.pop(Output.PAGE)
    makers[Output.CHANGES_CSV] = lambda: changes_csv(record).encode("utf-8")
    written = write_outputs(args, makers)
    if not written or any(answer.description is None for answer in answers):
        return EXIT_SERVICE
    return EXIT_OK


def _given(pairs: list[str]) -> dict[int, str]:
    """``--element`` values as photo number → element id; ``ValueError`` saying which is not ``N=ID``."""
    given = {}
    for pair in pairs:
        number, _, element = pair.partition("=")
        if not number.strip().isdigit() or not element.strip():
            raise ValueError(f"--element '{pair}' is not PHOTO=ELEMENT (for example 3=P12-N)")
        given[int(number)] = element.strip()
    return given


def _json(record: reinspection.Reinspection) -> dict:
    return {
        "inspection": record.current.id,
        "previous": record.previous.id if record.previous else None,
        "object": record.elements.object_id,
        "elements": [
            {
                "element": change.element.id,
                "previous": change.previous.condition if change.previous else None,
                "current": change.current.condition if change.current else None,
                "trend": change.trend,
                "steps": change.steps,
                "spread": change.spread,
                "flag": change.flag,
                "worse": change.trend == WORSE,
            }
            for change in record.changes
        ],
        "photos": [
            {
                "photo": photo.number,
                "element": photo.element_id,
                "assigned_by": photo.element_source,
                "why": photo.element_why,
            }
            for photo in record.current.photos
        ],
        "answers": [comparison.summary(answer) for answer in record.answers],
        "decisions": [
            {"photo": photo, "ref": ref, "change": change, "by": by}
            for (photo, ref), (change, _, by) in record.decisions.items()
        ],
    }
