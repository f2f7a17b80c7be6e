"""``campaign prepare | run | submit | status | fetch | import | report``: thousands of photos through a batch engine,
each step resumable, each ending with one summary line on stdout (``image_analysis.campaign`` does the work)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import signal
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from image_analysis import analysis, config, model, reinspection
from image_analysis import campaign as campaigns
from image_analysis.atomic import Staged
from image_analysis.cli import options
from image_analysis.cli.console import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVICE,
    fail,
    note,
    say,
)
from image_analysis.cli.outputs import asked, cannot_write, could_not_make, write_outputs
from image_analysis.cli.report import report_makers
from image_analysis.errors import StoreError
from image_analysis.inspection.elements import ElementListError, object_id
from image_analysis.inspection.record import day_of
from image_analysis.inspection_store import InspectionStore
from image_analysis.presets import Preset
from image_analysis.progress import TerminalProgress
from image_analysis.reports import html, terminal
from image_analysis.reports.campaign import campaign_report, default_threshold
from image_analysis.reports.changes import changes_section, element_columns
from image_analysis.reports.outputs import Output
from image_analysis.review import Review, SignOff
from image_analysis.safe_text import clean
from image_analysis.store import SqliteStore

log = logging.getLogger(__name__)
REFUSED_SHOWN = 10
"""Refused answer lines named one by one; the rest are counted."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    campaign = commands.add_parser("campaign", help="thousands of photos through a batch engine (prepare, ...)")
    steps = campaign.add_subparsers(dest="step", required=True, parser_class=options.Parser)
    folder_help = "the campaign folder `campaign prepare` wrote"

    shards = steps.add_parser("prepare", help="prepare every image into request shards for a batch engine")
    shards.add_argument("inputs", type=Path, nargs="+", metavar="FOLDER|FILE", help="folders are walked for images")
    shards.add_argument("--out", type=Path, required=True, help="the campaign folder: shards and manifest.json")
    options.add_request(shards)
    options.add_model(shards)
    shards.add_argument(
        "--format", choices=campaigns.FORMATS, default="openai", help="openai (also vLLM run_batch) or mistral"
    )
    shards.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"worker processes (default: one per core; at most {campaigns.MAX_WORKERS})",
    )
    _add_engine(shards)
    shards.add_argument(
        "--previous",
        type=Path,
        default=None,
        metavar="STORE",
        help="the store of the object's earlier inspections: each photo is assigned to an element and compared "
        "with the previous inspection's photo of it (requests-changes.jsonl)",
    )
    options.add_object(shards, "the object inspected (its element list kept in --previous by `elements`)")
    shards.add_argument(
        "--date", default="", help="the day of this inspection (default: today), what is previous is before it"
    )
    shards.set_defaults(run=prepare)

    runner = steps.add_parser("run", help="send the shards to an OpenAI-compatible server, resumably (no batch API)")
    runner.add_argument("folder", type=Path, metavar="DIR", help=folder_help)
    options.add_concurrency(runner)
    _add_engine(runner)
    runner.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="URL",
        help="with --engine ray: another OpenAI-compatible server to share the requests with (repeatable; the first "
        "is $OPENAI_BASE_URL; each is sent $OPENAI_API_KEY)",
    )
    runner.add_argument(
        "--qps", type=float, default=None, help="with --engine ray: requests a second at most, in all (retries apart)"
    )
    runner.add_argument(
        "--vllm",
        default=None,
        metavar="MODEL",
        help="with --engine ray: answer on the cluster's GPU nodes with vLLM (a Hugging Face model id or a folder "
        "every node sees) instead of a server",
    )
    runner.add_argument("--tensor-parallel", type=int, default=1, help="with --vllm: GPUs per model replica")
    runner.set_defaults(run=run)

    for step, what in (
        ("submit", "upload the shards to the server's batch API (OpenAI, Azure, LiteLLM before vLLM)"),
        ("status", "how far each submitted batch is"),
        ("fetch", "download the answers of the completed batches, for `campaign import`"),
    ):
        batch = steps.add_parser(step, help=what)
        batch.add_argument("folder", type=Path, metavar="DIR", help=folder_help)
        batch.set_defaults(run=batch_api)

    importer = steps.add_parser("import", help="every answer of a batch engine's output into the store")
    importer.add_argument("results", type=Path, nargs="+", metavar="RESULTS.jsonl", help="output files, any engine's")
    importer.add_argument(
        "--manifest", type=Path, default=None, help="the campaign folder (default: the first output file's folder)"
    )
    options.add_store(importer)
    importer.set_defaults(run=import_answers)

    summary = steps.add_parser(
        "report", help="the campaign report from the store: cover and summary of every photo, entries of the worst"
    )
    summary.add_argument(
        "--manifest",
        type=Path,
        required=True,
        help="the campaign folder (or its manifest.json) `campaign prepare` wrote",
    )
    summary.add_argument(
        "--photos-from",
        default=None,
        metavar="SCORE",
        help="photo entries for the photos with a finding scored SCORE or worse (default: the worse half of the "
        "scale, 4 on NEN 2767); every photo is in the workbook and the CSV",
    )
    summary.add_argument("--title", default=None, help="the report's title")
    options.add_reports(summary, "the findings workbook of every photo", "the findings of every photo as CSV")
    summary.set_defaults(run=report)


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this machine's processes (default); ray: Ray Data, in local mode or on a cluster "
        "(pip install -r requirements-ray.txt)",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="with --engine ray: the cluster (auto, or ray://HOST:10001); default: local mode",
    )


def prepare(args: argparse.Namespace) -> int:
    """Request shards and a manifest, resumable, with a summary line on stdout."""
    options.within(args.workers, "--workers", campaigns.MAX_WORKERS)
    missing = [str(path) for path in args.inputs if not path.exists()]
    if missing:
        return fail(EXIT_BAD_INPUT, f"'{missing[0]}' does not exist; give folders or files of images.")
    environment = config.service()  # what a live call would send: the reply's length limit and its format
    level = model.structured_setting(environment.structured)
    settings = campaigns.Settings(
        options.request(args),
        args.model or environment.model,
        args.format,
        max_tokens=environment.max_tokens,
        structured=campaigns.batch_level(level).value,
    )
    if args.previous is not None and not args.object:
        return fail(EXIT_BAD_INPUT, "--previous compares an object's inspections: give --object ID as well")
    try:
        wanted = object_id(args.object) if args.object else ""
    except ElementListError as error:
        return fail(EXIT_BAD_INPUT, f"--object: {error}")
    day = day_of(args.date, "") if args.date else datetime.now(UTC).date().isoformat()
    if not day:
        return fail(EXIT_BAD_INPUT, f"--date '{clean(args.date)[:40]}' is not a date: give it as 2026-11-19")
    if args.engine == "ray":
        from image_analysis.campaign import ray_engine

        with ray_engine.session(args.address, args.workers):
            summary = campaigns.prepare_campaign(
                args.inputs,
                args.out,
                settings,
                workers=args.workers,
                progress=TerminalProgress(),
                engine=ray_engine.prepared,
            )
    else:
        summary = campaigns.prepare_campaign(
            args.inputs, args.out, settings, workers=args.workers, progress=TerminalProgress()
        )
    if args.previous is not None:
        found = campaigns.prepare_changes(args.out, args.previous, wanted, day)
        sources = Counter(source for _, source, _ in found.elements.values())
        said = ", ".join(f"{count} by {source}" for source, count in sources.items()) or "none"
        note(f"photos assigned to the elements of {wanted}: {said}")
        if found.previous:
            note(
                f"{len(found.changes)} change requests against the inspection {found.previous}: "
                f"{args.out / (campaigns.CHANGE_SHARD_PREFIX + '*.jsonl')}"
            )
        else:
            note(f"no inspection of {wanted} before {found.day} in '{args.previous}': nothing to compare with")
    skipped = f", {summary.skipped} already prepared" if summary.skipped else ""
    print(
        f"{summary.requests} requests in {len(summary.shards)} new shard{'s' * (len(summary.shards) != 1)}, "
        f"{summary.refused} refused{skipped}: {args.out / campaigns.MANIFEST}"
    )
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """The shards sent to a live server; Ctrl-C or a scheduler's SIGTERM stops new requests, and those sent are
    answered and kept, never sent twice."""
    options.within(args.concurrency, "--concurrency", analysis.MAX_CONCURRENCY)
    problem = _engine_options(args)
    if problem:
        return fail(EXIT_BAD_INPUT, problem)
    # vLLM on the cluster's GPU nodes answers without a server
    settings = model.ServiceSettings("", "", "") if args.vllm else model.ServiceSettings.from_environment()
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        engine = _answerer(args, settings, stack)  # Ray, once started, has its own handlers: ours go after
        handlers = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            summary = campaigns.run_campaign(
                args.folder,
                settings,
                concurrency=args.concurrency,
                progress=TerminalProgress(),
                stop=stop,
                engine=engine,
            )
        finally:
            for number, handler in handlers.items():
                signal.signal(number, handler)
    if summary.interrupted:
        return fail(
            EXIT_INTERRUPTED, "interrupted: every answer received is kept; run the same command to send the rest"
        )
    done = f", {summary.skipped} answered before" if summary.skipped else ""
    print(f"{summary.answered} answered, {summary.failed} with an error{done}: {args.folder}")
    return EXIT_SERVICE if summary.failed else EXIT_OK


def _engine_options(args: argparse.Namespace) -> str:
    """What is wrong with the engine's options, in one line (empty: nothing)."""
    if args.engine != "ray" and (args.endpoint or args.vllm or args.qps is not None):
        return "--endpoint, --qps and --vllm go with --engine ray."
    if args.vllm and (args.endpoint or args.qps is not None):
        return "--vllm answers on the cluster's GPUs: --endpoint and --qps go with servers."
    if args.qps is not None and not args.qps > 0:
        return "--qps must be more than 0 (requests a second, in all)."
    if args.tensor_parallel < 1:
        return "--tensor-parallel must be 1 or more (GPUs per model replica)."
    return ""


def _answerer(
    args: argparse.Namespace, settings: model.ServiceSettings, stack: contextlib.ExitStack
) -> campaigns.Answerer | None:
    """How the shards are answered with ``--engine ray`` (within a Ray session the ``stack`` closes); ``None``: the
    local engine."""
    if args.engine != "ray":
        return None
    from image_analysis.campaign import ray_engine

    stack.enter_context(ray_engine.session(args.address))
    if args.vllm:
        images = campaigns.images_per_request(args.folder)
        config = ray_engine.vllm_config(
            args.vllm, images, tensor_parallel=args.tensor_parallel, concurrency=args.concurrency
        )
        return lambda shard, done: ray_engine.vllm_answered(shard, done, config)
    endpoints = [settings, *(dataclasses.replace(settings, base_url=url) for url in args.endpoint)]
    return lambda shard, done: ray_engine.answered(shard, done, endpoints, concurrency=args.concurrency, qps=args.qps)


def batch_api(args: argparse.Namespace) -> int:
    """``submit``, ``status`` or ``fetch``: a line per shard's batch."""
    step = {
        "submit": campaigns.submit_campaign,
        "status": campaigns.campaign_status,
        "fetch": campaigns.fetch_campaign,
    }[args.step]
    for state in step(args.folder, model.ServiceSettings.from_environment()):
        print(state.line())
    return EXIT_OK


def import_answers(args: argparse.Namespace) -> int:
    where = options.store(args, "campaign import keeps the answers in")
    missing = [str(path) for path in args.results if not path.is_file()]
    if missing:
        return fail(EXIT_BAD_INPUT, f"'{missing[0]}' is not a file; give the batch engine's output files.")
    folder = campaigns.campaign_folder(args.manifest or args.results[0].parent)
    store = SqliteStore(where)
    summary = campaigns.import_results(args.results, store, folder)
    try:
        inspection = campaigns.keep_campaign_inspection(InspectionStore(store), folder)
    except StoreError as error:
        note(f"the campaign's inspection could not be kept in the store ({error}); its answers are")
    else:
        note(f"inspection {inspection.label}, {len(inspection.photos)} photos: its report is `campaign report`")
        try:
            brought = campaigns.bring_previous(InspectionStore(store), folder)
        except StoreError as error:
            note(f"the changes since the previous inspection cannot be reported: {error}")
        else:
            if brought:
                note(brought)
    for line in summary.refused[:REFUSED_SHOWN]:
        note(f"refused {line}")
    if len(summary.refused) > REFUSED_SHOWN:
        note(f"... and {len(summary.refused) - REFUSED_SHOWN} more lines refused")
    print(
        f"{summary.imported} imported, {summary.errors} errors kept, {summary.unchanged} already in the store, "
        f"{len(summary.refused)} refused: {where}"
    )
    return EXIT_BAD_INPUT if summary.refused else EXIT_OK


def _signoff(where: Path, folder: Path, given: SignOff) -> SignOff:
    """The campaign's sign-off: the one kept with its inspection, overridden by ``given``, which is kept (a store
    that cannot keep it is said in one line; the reports have it all the same)."""
    inspection, signoff = campaigns.campaign_signoff(InspectionStore(SqliteStore(where, readonly=True)), folder, given)
    if given.empty and not given.final:
        return signoff
    try:
        InspectionStore(SqliteStore(where)).save(inspection.signed_off(given))
    except StoreError as error:
        note(f"the sign-off is in the reports but could not be kept in the store ({error})")
    return signoff


def _compared(where: Path, folder: Path, model_name: str) -> reinspection.Reinspection | None:
    """The campaign beside the previous inspection of its object (prepared with ``--previous``), as the store keeps
    it, against the previous inspection it was prepared against; only the photos of an element whose result is in
    the store are read. ``None`` without an object, or said when it cannot
    be read."""
    inspections = InspectionStore(SqliteStore(where, readonly=True))
    try:
        compared = campaigns.Comparison.read(folder)
        inspection, _ = campaigns.campaign_signoff(inspections, folder, SignOff())
        if compared is None or not inspection.object_id:
            return None
        stored = set(inspections.store.keys())
        photos = tuple(photo for photo in inspection.photos if photo.element_id and photo.result in stored)
        inspection = dataclasses.replace(inspection, photos=photos)
        results = inspections.results(inspection)
        findings = reinspection.record_findings(inspections, inspection, results)
        record = reinspection.as_kept(inspections, inspection, results, findings, model_name, compared.previous)
    except (StoreError, campaigns.CampaignError) as error:
        note(f"the changes since the previous inspection are left out: {error}")
        return None
    if record is not None and record.previous is not None:
        note(f"changes since the inspection of {record.previous.day}: {len(record.answers)} photo pairs compared")
    return record


STREAMED = (Output.WORKBOOK, Output.CSV)
"""The outputs a campaign report streams while it reads the store (every photo); the others are made after."""


def report(args: argparse.Namespace) -> int:
    """The campaign report: one pass over the store streams the workbook and the CSV and counts the cover; the
    photos at or above ``--photos-from`` are read again for the Word and HTML entries."""
    where = options.store(args, "campaign report reads the answers from")
    if not any(asked(args, output) for output in Output):
        return fail(EXIT_BAD_INPUT, "say what to write: --docx, --pdf, --out (HTML), --xlsx or --csv.")
    folder = campaigns.campaign_folder(args.manifest)
    stored = campaigns.StoredCampaign(SqliteStore(where, readonly=True), folder)
    request = stored.settings.request
    if request.preset is not Preset.INSPECTION:
        return fail(
            EXIT_BAD_INPUT,
            f"the campaign report summarises inspection findings; this campaign was prepared with --preset "
            f"{request.preset.value}: its answers are in the store, for `describe --store` and `report`.",
        )
    scale = request.scale.definition
    worst = args.photos_from if args.photos_from is not None else default_threshold(scale)
    if worst not in scale.codes:
        codes = ", ".join(scale.codes)
        return fail(EXIT_BAD_INPUT, f"--photos-from {worst!r} is not a score of the {scale.name}: give one of {codes}.")
    staged: dict[Output, Staged] = {}
    for output in STREAMED:
        path = asked(args, output)
        if path is None:
            continue
        try:
            staged[output] = Staged(path, text=output is Output.CSV)
        except OSError as error:
            for file in staged.values():
                file.discard()
            return fail(EXIT_BAD_INPUT, cannot_write(output, path, error))
    signoff = _signoff(where, folder, options.signoff(args))  # kept first: the changes are of the day it says
    compared = _compared(where, folder, stored.settings.model)
    progress = TerminalProgress()
    try:
        made = campaign_report(
            stored,
            scale,
            worst,
            review=Review(signoff=signoff),
            title=args.title,
            workbook=staged[Output.WORKBOOK].temporary if Output.WORKBOOK in staged else None,
            csv=staged[Output.CSV].file if Output.CSV in staged else None,
            progress=lambda done: progress.file(done, len(stored)),
            elements=element_columns(compared) if compared is not None else None,
        )
    except BaseException:
        for file in staged.values():
            file.discard()
        raise
    finally:
        progress.close()
    changes = changes_section(compared) if compared is not None and compared.previous is not None else None
    document = dataclasses.replace(made.document, changes=changes)
    note(f"{len(stored)} photos; {made.shown} with a finding scored {scale.shown(worst)} or worse get an entry")
    say(terminal.cover_lines(document))
    written = write_outputs(args, report_makers(args, document, lambda: html.render_report(document).encode("utf-8")))
    failures = dict(made.finish())  # the workbook may have been finishing in its own process meanwhile
    for output, failure in failures.items():
        log.debug("building %s failed", output, exc_info=failure)
        fail(0, could_not_make(output, failure))
    for output, file in staged.items():
        if output in failures:
            file.discard()
            continue
        try:
            file.commit()
        except OSError as error:
            failures[output] = error
            fail(0, cannot_write(output, file.path, error))
        else:
            note(f"wrote {file.path}", label="")
    return EXIT_OK if written and not failures else EXIT_SERVICE
