"""``evaluate``: how often the AI is right, from the inspectors' reviews kept in a store: the quality page
(``--out``), its workbook of every AI finding and its decision (``--xlsx``), the figures as JSON on stdout
(``--json``); the headline figures on stderr.

``evaluate --labels labels.csv [--model M ...]``: a labelled folder of the user's own described by each model through
the same pipeline (kept in the store: a second run sends nothing) and compared with the labels, the models side by
side; ``--labels-template FILE`` writes an empty labels file."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import re
from pathlib import Path

from image_analysis import analysis, model
from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_OK, EXIT_SERVICE, fail, note
from image_analysis.cli.outputs import write_output, write_outputs
from image_analysis.errors import ServiceError, StoreError
from image_analysis.inspection_store import InspectionStore
from image_analysis.presets import AnalysisRequest, ConditionScale, Preset
from image_analysis.quality import evaluate, gather
from image_analysis.quality.labelled import (
    LABEL_COLUMNS,
    PRESET_PROMPT,
    LabelsError,
    compare,
    prompt_variant,
    read_labels,
    template,
)
from image_analysis.reports.outputs import Output
from image_analysis.reports.quality import (
    labelled_json,
    labelled_page,
    picture,
    quality_json,
    quality_page,
    quality_workbook,
)
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
    labelled = command.add_argument_group("a labelled set of one's own photos")
    labelled.add_argument("--labels", type=Path, help=f"a CSV of {', '.join(LABEL_COLUMNS)} (photos beside it)")
    labelled.add_argument("--labels-template", type=Path, metavar="FILE", help="write an empty labels file")
    labelled.add_argument(
        "--model", action="append", default=[], help="a model to compare (repeatable; default: $VISION_MODEL)"
    )
    labelled.add_argument(
        "--prompt",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="an instruction added to the preset's prompt (as --question is) to compare with the preset's own "
        "(repeatable: each model runs the preset's prompt and each file's)",
    )
    options.add_scale(labelled, "the scale of the labels' conditions (default nen2767)")
    options.add_concurrency(labelled)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.labels_template:
        written = write_output(Output.LABELS_TEMPLATE, args.labels_template, lambda: template().encode("utf-8"))
        return EXIT_OK if written else EXIT_SERVICE
    if args.labels:
        return _labelled(args)
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
    if not gathered.inspections and gathered.unreadable:
        return fail(EXIT_BAD_INPUT, gathered.unreadable[0])
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
    for line in gathered.unreadable:
        note(f"left out: {line}")
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


def _labelled(args: argparse.Namespace) -> int:
    """Each model on the labelled set, side by side."""
    options.within(args.concurrency, "--concurrency", analysis.MAX_CONCURRENCY)
    where = options.store(args, "evaluate --labels keeps every description in")
    scale = ConditionScale(args.scale)
    try:
        labels = read_labels(_text(args.labels, "the labels"), str(args.labels), scale.definition)
        variants = [PRESET_PROMPT, *(prompt_variant(path.name, _text(path, "the prompt")) for path in args.prompt)]
    except LabelsError as error:
        return fail(EXIT_BAD_INPUT, str(error))
    folder = args.labels.parent
    missing = [label.photo for label in labels if not (folder / label.photo).is_file()]
    if missing:
        return fail(
            EXIT_BAD_INPUT, f"the labelled photo '{missing[0]}' is not in {folder} (name it relative to the CSV)"
        )
    store = SqliteStore(where)
    uploads = [functools.partial(analysis.Upload.from_path, folder / label.photo) for label in labels]
    runs = []
    for chosen in args.model or [None]:
        try:
            settings = model.ServiceSettings.from_environment(chosen)
        except ServiceError as error:
            return fail(EXIT_SERVICE, str(error))
        for variant in variants:
            request = AnalysisRequest(preset=Preset.INSPECTION, scale=scale, question=variant.instruction)
            results = analysis.analyse_batch(uploads, request, settings, concurrency=args.concurrency, store=store)
            run = compare(settings.model, labels, results, scale.definition, variant)
            if args.out:  # each disagreement shown with its photo as sent
                by_photo = {label.photo: result for label, result in zip(labels, results, strict=True)}
                shown = tuple(
                    dataclasses.replace(item, picture=picture(by_photo[item.photo])) for item in run.disagreements
                )
                run = dataclasses.replace(run, disagreements=shown)
            note(
                f"{run.name}: defect types precision {run.precision.text()}, recall {run.recall.text()}; condition "
                f"exact {run.exact.text()}; {run.sent} of {run.photos} photos sent now"
                + (f", {run.failed} without a description" if run.failed else "")
            )
            runs.append(run)
    if args.json:
        print(json.dumps(labelled_json(runs), indent=2, ensure_ascii=False))
    written = write_outputs(args, {Output.QUALITY_PAGE: lambda: labelled_page(runs, str(args.labels)).encode("utf-8")})
    return EXIT_OK if written else EXIT_SERVICE


def _text(path: Path, what: str) -> str:
    """A labels or prompt file's text; ``LabelsError`` saying what to do when it cannot be read or is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise LabelsError(f"cannot read {what} '{path}': {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise LabelsError(f"{what} '{path}' is not text in UTF-8: save it as UTF-8") from None
