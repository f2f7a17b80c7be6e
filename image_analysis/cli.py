"""The command line: the app's pipeline without the VIKTOR platform.

    python -m image_analysis describe IMAGE [IMAGE ...] [--preset P] [--language L] [--scale S] [--question TEXT]
                                         [--page N] [--model ID] [--concurrency N] [--out page.html] [--docx F]
                                         [--csv F] [--pdf F] [--paper A4|Letter]
    python -m image_analysis prepare IMAGE [--preset P] [--page N]
    python -m image_analysis report FINDINGS.xlsx|FINDINGS.csv --store PATH [--docx F] [--pdf F] [--out F]
                                         [--xlsx F] [--csv F] [--inspector NAME] [--final] ...

``--store PATH`` (or ``IMAGE_ANALYSIS_STORE``) keeps every result in SQLite, and the sign-off with them: a photo
already described with the same choices and model is not sent again, and ``report`` takes the photos and the
sign-off from it to build the reports from the findings workbook (or CSV) the inspector edited. A sign-off option
given to ``report`` overrides the workbook's, which overrides the store's, and is kept in the store.

IMAGE may be a PDF drawing: its page ``--page`` (default 1) is rendered at a resolution that suits the tiles.

Exit codes: 0 success, 2 bad input (unreadable or unsupported file, bad arguments), 3 the model service failed
or is not configured, or an output could not be written. Messages go to stderr as one line each, never a traceback.
In a batch every photo that can be described is, and the exit code says whether any failed. Each output (page,
Word report, CSV) is built and written on its own, atomically: one that fails never stops the others.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from image_analysis import analysis, config, model, register
from image_analysis import campaign as campaign_module
from image_analysis.atomic import Staged, write_atomically
from image_analysis.errors import AnalysisError, ImageInputError, InputError, ServiceError
from image_analysis.formats.findings_csv import FINDING_COLUMNS, ReviewTable, findings_csv, read_review_csv
from image_analysis.formats.findings_workbook import (
    FINDING_HEADINGS,
    FINDINGS,
    PHOTOS,
    ReviewWorkbook,
    is_workbook,
    read_review_workbook,
)
from image_analysis.imaging import pdf
from image_analysis.imaging.pages import PageSpecError
from image_analysis.presets import AnalysisRequest, ConditionScale, Language, Preset
from image_analysis.progress import TerminalProgress
from image_analysis.reports import document, findings_workbook, html, terminal, word
from image_analysis.reports.campaign import campaign_report, default_threshold
from image_analysis.reports.pdf import PdfUnavailable, word_to_pdf
from image_analysis.review import (
    ADDED,
    EDITED,
    SIGNOFF_LABELS,
    Review,
    ReviewError,
    SignOff,
    photo_number,
    record,
)
from image_analysis.safe_text import for_terminal
from image_analysis.store import SqliteStore, StoreError

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_SERVICE = 3
EXIT_INTERNAL = 1
PROG = "image_analysis"
STORE_ENV = config.STORE_ENV

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Describe site photos and engineering drawings with a vision model.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    describe = commands.add_parser("describe", help="describe images (calls the model)")
    describe.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="photos or drawings, in order")
    _add_request(describe)
    describe.add_argument("--model", default=None, help=f"model id (default: $VISION_MODEL or {model.DEFAULT_MODEL})")
    describe.add_argument(
        "--concurrency", type=int, default=analysis.DEFAULT_CONCURRENCY, help="requests in flight for a batch"
    )
    describe.add_argument("--out", type=Path, help="write the page (one image) or the HTML report (several)")
    describe.add_argument("--docx", type=Path, help="write a Word report")
    _add_pdf(describe)
    describe.add_argument("--xlsx", type=Path, help="write the findings workbook, to review in Excel or Calc")
    describe.add_argument("--csv", type=Path, help="write the findings of all images as CSV (for scripts)")
    describe.add_argument(
        "--pages",
        default=None,
        help="which sheets of a PDF set: all, N or ranges A-B,C (default for --preset drawing: all; else --page)",
    )
    describe.add_argument("--register", type=Path, help="write the drawing register of the set as CSV")
    _add_store(describe)
    _add_signoff(describe)

    reviewed = commands.add_parser("report", help="build the reports from an edited findings workbook and the store")
    reviewed.add_argument(
        "findings",
        type=Path,
        metavar="FINDINGS",
        help="the findings workbook (.xlsx) or CSV, as the inspector edited it",
    )
    _add_reports(reviewed, "the reviewed findings workbook again", "the reviewed findings as CSV again")

    prepare = commands.add_parser("prepare", help="print as JSON what would be sent, without calling a model")
    prepare.add_argument("image", type=Path, help="photo or drawing")
    _add_preset(prepare)
    prepare.add_argument("--page", type=_page_number, default=1, help="the page of a PDF (default 1)")
    _add_tiles(prepare)

    campaign = commands.add_parser("campaign", help="thousands of photos through a batch engine (prepare, ...)")
    steps = campaign.add_subparsers(dest="step", required=True, parser_class=_Parser)
    shards = steps.add_parser("prepare", help="prepare every image into request shards for a batch engine")
    shards.add_argument("inputs", type=Path, nargs="+", metavar="FOLDER|FILE", help="folders are walked for images")
    shards.add_argument("--out", type=Path, required=True, help="the campaign folder: shards and manifest.json")
    _add_request(shards)
    shards.add_argument("--model", default=None, help=f"model id (default: $VISION_MODEL or {model.DEFAULT_MODEL})")
    shards.add_argument(
        "--format", choices=campaign_module.FORMATS, default="openai", help="openai (also vLLM run_batch) or mistral"
    )
    shards.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    runner = steps.add_parser("run", help="send the shards to an OpenAI-compatible server, resumably (no batch API)")
    runner.add_argument("folder", type=Path, metavar="DIR", help="the campaign folder `campaign prepare` wrote")
    runner.add_argument("--concurrency", type=int, default=analysis.DEFAULT_CONCURRENCY, help="requests in flight")
    for step, what in (
        ("submit", "upload the shards to the server's batch API (OpenAI, Azure, LiteLLM before vLLM)"),
        ("status", "how far each submitted batch is"),
        ("fetch", "download the answers of the completed batches, for `campaign import`"),
    ):
        batch = steps.add_parser(step, help=what)
        batch.add_argument("folder", type=Path, metavar="DIR", help="the campaign folder `campaign prepare` wrote")
    importer = steps.add_parser("import", help="every answer of a batch engine's output into the store")
    importer.add_argument("results", type=Path, nargs="+", metavar="RESULTS.jsonl", help="output files, any engine's")
    importer.add_argument(
        "--manifest", type=Path, default=None, help="the campaign folder (default: the first output file's folder)"
    )
    _add_store(importer)
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
    _add_reports(summary, "the findings workbook of every photo", "the findings of every photo as CSV")
    return parser


def _add_reports(parser: argparse.ArgumentParser, workbook: str, table: str) -> None:
    """The outputs of a command that builds the reports from the store, the store, and the sign-off."""
    parser.add_argument("--out", type=Path, help="write the HTML report")
    parser.add_argument("--docx", type=Path, help="write the Word report")
    _add_pdf(parser)
    parser.add_argument("--xlsx", type=Path, help=f"write {workbook}")
    parser.add_argument("--csv", type=Path, help=f"write {table}")
    _add_store(parser)
    _add_signoff(parser)


def _add_tiles(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tiles",
        choices=["auto", "off"],
        default="auto",
        help="a drawing larger than the model's box: auto (overview plus tiles, default) or off (one image, fewer "
        "tokens, small lettering unreadable); `prepare` shows the token cost of each",
    )


def _add_pdf(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pdf", type=Path, help="write the Word report as PDF (made by LibreOffice's soffice)")
    parser.add_argument(
        "--paper", choices=["A4", "Letter"], default="A4", help="the Word and PDF report's paper (default A4)"
    )


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        type=Path,
        default=config.store_path(),
        help=f"a SQLite file that keeps every result (default: ${STORE_ENV}); nothing is described twice",
    )


def _add_signoff(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sign-off (at the top of the reports)")
    for name, label in SIGNOFF_LABELS.items():
        group.add_argument(f"--{name}", default="", help=label.lower())
    group.add_argument(
        "--final", action="store_true", help="issue the report as final (once every finding is reviewed)"
    )


def _add_preset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        choices=[preset.value for preset in Preset],
        default=Preset.GENERAL.value,
        help="general (default), inspection (a site photo: findings and condition score) or drawing "
        "(QA of a drawing: title block, notes; sent lossless, in tiles when large)",
    )


def _add_request(parser: argparse.ArgumentParser) -> None:
    _add_preset(parser)
    parser.add_argument("--language", choices=[language.value for language in Language], default=Language.EN.value)
    parser.add_argument(
        "--scale",
        choices=[scale.value for scale in ConditionScale],
        default=ConditionScale.NEN2767.value,
        help="condition scale for inspections: nen2767 (1-6, default), nbi (0-9), lmh (Low/Medium/High)",
    )
    parser.add_argument("--question", default="", help="an extra question or instruction for the model")
    parser.add_argument("--page", type=_page_number, default=None, help="the page of a PDF to analyse (default 1)")
    _add_tiles(parser)


def _page_number(text: str) -> int:
    try:
        page = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a page number") from None
    if page < 1:
        raise argparse.ArgumentTypeError(f"{page} is not a page: the first page is 1")
    return page


def main(argv: list[str] | None = None) -> int:
    """Run the command line; an unforeseen failure is one line on stderr, never a traceback
    (``IMAGE_ANALYSIS_DEBUG=1`` shows it)."""
    args = build_parser().parse_args(argv)
    problem = config.limits_problem()
    if problem:
        return _fail(EXIT_BAD_INPUT, problem)
    try:
        return _run(args)
    except AnalysisError as error:  # what a command did not handle itself: its message, with its code
        return _fail(exit_code(error), str(error))
    except KeyboardInterrupt:
        return _fail(130, "interrupted")
    except Exception as error:  # the last guard of the "never a traceback" promise
        if config.debug():
            raise
        log.debug("internal error", exc_info=True)
        return _fail(EXIT_INTERNAL, f"internal error ({type(error).__name__}: {error}); please report it")


def exit_code(error: AnalysisError) -> int:
    """The exit code of a user-facing error, decided here for every command (``errors`` draws the hierarchy)."""
    if isinstance(error, ServiceError):
        return EXIT_SERVICE
    return EXIT_BAD_INPUT if isinstance(error, InputError) else EXIT_INTERNAL


def _run(args: argparse.Namespace) -> int:
    if args.command == "prepare":
        upload = analysis.Upload.from_path(args.image)
        try:
            if upload.unreadable:
                return _fail(EXIT_BAD_INPUT, upload.unreadable)
            request = AnalysisRequest(preset=Preset(args.preset), page=args.page, tiles=args.tiles)
            preparation = analysis.prepare(upload, request)
        except ImageInputError as error:
            return _fail(exit_code(error), str(error))
        print(json.dumps(preparation.summary(), indent=2))
        return EXIT_OK
    if args.command == "report":
        return _report(args)
    if args.command == "campaign":
        return _campaign(args)
    return _describe(args)


def _campaign(args: argparse.Namespace) -> int:
    """``campaign prepare``: request shards and a manifest; ``campaign run``: their answers. Both resumable, with a
    summary line on stdout."""
    if args.step == "run":
        return _campaign_run(args)
    if args.step == "import":
        return _campaign_import(args)
    if args.step == "report":
        return _campaign_report(args)
    if args.step in ("submit", "status", "fetch"):
        step = {
            "submit": campaign_module.submit_campaign,
            "status": campaign_module.campaign_status,
            "fetch": campaign_module.fetch_campaign,
        }[args.step]
        for state in step(args.folder, model.ServiceSettings.from_environment()):
            print(state.line())
        return EXIT_OK
    if args.workers is not None and not 1 <= args.workers <= 64:
        return _fail(EXIT_BAD_INPUT, "--workers must be between 1 and 64.")
    missing = [str(path) for path in args.inputs if not path.exists()]
    if missing:
        return _fail(EXIT_BAD_INPUT, f"'{missing[0]}' does not exist; give folders or files of images.")
    request = _request(args)
    environment = config.service()  # what a live call would send: the reply's length limit and its format
    level = model.structured_setting(environment.structured)
    settings = campaign_module.Settings(
        request,
        args.model or environment.model,
        args.format,
        max_tokens=environment.max_tokens,
        structured=campaign_module.batch_level(level).value,
    )
    summary = campaign_module.prepare_campaign(
        args.inputs, args.out, settings, workers=args.workers, progress=TerminalProgress()
    )
    skipped = f", {summary.skipped} already prepared" if summary.skipped else ""
    print(
        f"{summary.requests} requests in {len(summary.shards)} new shard{'s' * (len(summary.shards) != 1)}, "
        f"{summary.refused} refused{skipped}: {args.out / campaign_module.MANIFEST}"
    )
    return EXIT_OK


def _campaign_import(args: argparse.Namespace) -> int:
    if args.store is None:
        return _fail(
            EXIT_BAD_INPUT, f"campaign import keeps the answers in a store: give --store PATH or set {STORE_ENV}."
        )
    missing = [str(path) for path in args.results if not path.is_file()]
    if missing:
        return _fail(EXIT_BAD_INPUT, f"'{missing[0]}' is not a file; give the batch engine's output files.")
    folder = args.manifest or args.results[0].parent
    if folder.name == campaign_module.MANIFEST:
        folder = folder.parent
    store = SqliteStore(args.store)
    summary = campaign_module.import_results(args.results, store, folder)
    for line in summary.refused[:10]:
        _note(f"refused {line}")
    if len(summary.refused) > 10:
        _note(f"... and {len(summary.refused) - 10} more lines refused")
    print(
        f"{summary.imported} imported, {summary.errors} errors kept, {summary.unchanged} already in the store, "
        f"{len(summary.refused)} refused: {args.store}"
    )
    return EXIT_BAD_INPUT if summary.refused else EXIT_OK


def _campaign_report(args: argparse.Namespace) -> int:
    """The campaign report: one pass over the store streams the workbook and the CSV and counts the cover; the
    photos at or above ``--photos-from`` are read again for the Word and HTML entries."""
    if args.store is None:
        return _fail(
            EXIT_BAD_INPUT, f"campaign report reads the answers from a store: give --store PATH or set {STORE_ENV}."
        )
    if not any((args.out, args.docx, args.pdf, args.xlsx, args.csv)):
        return _fail(EXIT_BAD_INPUT, "say what to write: --docx, --pdf, --out (HTML), --xlsx or --csv.")
    folder = args.manifest.parent if args.manifest.name == campaign_module.MANIFEST else args.manifest
    stored = campaign_module.StoredCampaign(SqliteStore(args.store, readonly=True), folder)
    request = stored.settings.request
    if request.preset is not Preset.INSPECTION:
        return _fail(
            EXIT_BAD_INPUT,
            f"the campaign report summarises inspection findings; this campaign was prepared with --preset "
            f"{request.preset.value}: its answers are in the store, for `describe --store` and `report`.",
        )
    scale = request.scale.definition
    worst = args.photos_from if args.photos_from is not None else default_threshold(scale)
    if worst not in scale.codes:
        codes = ", ".join(scale.codes)
        return _fail(
            EXIT_BAD_INPUT, f"--photos-from {worst!r} is not a score of the {scale.name}: give one of {codes}."
        )
    review = Review(signoff=_signoff(args))
    staged: dict[Path, Staged] = {}
    for what, path in (("the findings workbook", args.xlsx), ("the findings CSV", args.csv)):
        try:
            staged.update({path: Staged(path, text=path is args.csv)} if path else {})
        except OSError as error:
            for file in staged.values():
                file.discard()
            return _fail(EXIT_BAD_INPUT, f"cannot write {what} to '{path}': {error.strerror or error}")
    progress = TerminalProgress()
    try:
        made = campaign_report(
            stored,
            scale,
            worst,
            review=review,
            title=args.title,
            workbook=Path(staged[args.xlsx].temporary) if args.xlsx else None,
            csv=staged[args.csv].file if args.csv else None,  # type: ignore[arg-type]
            progress=lambda done: progress.file(done, len(stored)),
        )
    except BaseException:
        for file in staged.values():
            file.discard()
        raise
    finally:
        progress.close()
    report = made.document
    _note(f"{len(stored)} photos; {made.shown} with a finding scored {scale.shown(worst)} or worse get an entry")
    _say(terminal.cover_lines(report))
    outputs = _report_outputs(args, report, lambda: html.render_report(report).encode("utf-8"))
    written = _write_all(outputs)  # while the workbook finishes in its own process
    failures = made.finish()
    failed = {what for what, _ in failures}
    for what, failure in failures:
        log.debug("building %s failed", what, exc_info=failure)
        _fail(0, f"{what} could not be made ({type(failure).__name__}: {failure}); please report it")
    for what, path in (("the findings workbook", args.xlsx), ("the findings CSV", args.csv)):
        if path is None:
            continue
        if what in failed:
            staged[path].discard()
            continue
        try:
            staged[path].commit()
        except OSError as error:
            failed.add(what)
            _fail(0, f"cannot write {what} to '{path}': {error.strerror or error}")
        else:
            _note(f"wrote {path}", label="")
    return EXIT_OK if written and not failed else EXIT_SERVICE


def _campaign_run(args: argparse.Namespace) -> int:
    if not 1 <= args.concurrency <= 64:
        return _fail(EXIT_BAD_INPUT, "--concurrency must be between 1 and 64.")
    settings = model.ServiceSettings.from_environment()
    stop = threading.Event()
    # Ctrl-C or a scheduler's SIGTERM: no new request starts; those sent are answered and kept, never sent twice
    handlers = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        summary = campaign_module.run_campaign(
            args.folder, settings, concurrency=args.concurrency, progress=TerminalProgress(), stop=stop
        )
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    if summary.interrupted:
        return _fail(130, "interrupted: every answer received is kept; run the same command to send the rest")
    done = f", {summary.skipped} answered before" if summary.skipped else ""
    print(f"{summary.answered} answered, {summary.failed} with an error{done}: {args.folder}")
    return EXIT_SERVICE if summary.failed else EXIT_OK


def _request(args: argparse.Namespace) -> AnalysisRequest:
    """What the user asked for, from the options ``_add_request`` gives a command."""
    return AnalysisRequest(
        preset=Preset(args.preset),
        language=Language(args.language),
        scale=ConditionScale(args.scale),
        question=args.question,
        page=args.page or 1,
        tiles=args.tiles,
    )


def _describe(args: argparse.Namespace) -> int:
    if not 1 <= args.concurrency <= 16:
        return _fail(EXIT_BAD_INPUT, "--concurrency must be between 1 and 16.")
    request = _request(args)
    if len(args.images) > analysis.MAX_BATCH:
        return _fail(EXIT_BAD_INPUT, f"At most {analysis.MAX_BATCH} images can be described at once.")
    if args.xlsx and request.preset is not Preset.INSPECTION:
        return _fail(
            EXIT_BAD_INPUT, "--xlsx writes the findings workbook of a site inspection: add --preset inspection."
        )
    try:
        uploads, sources = _sheets(args.images, args)
    except (ImageInputError, PageSpecError) as error:
        return _fail(exit_code(error), str(error))
    if len(uploads) > analysis.MAX_BATCH:
        return _fail(EXIT_BAD_INPUT, f"{len(uploads)} sheets: at most {analysis.MAX_BATCH} can be described at once.")
    try:
        store = SqliteStore(args.store) if args.store else None
    except StoreError as error:
        return _fail(exit_code(error), str(error))
    try:
        settings, unavailable = model.ServiceSettings.from_environment(args.model), ""
    except ServiceError as error:
        settings, unavailable = None, str(error)
    results = analysis.analyse_batch(
        uploads, request, settings, concurrency=args.concurrency, unavailable=unavailable, store=store
    )
    kept = sum(1 for result in results if result.from_store)
    if kept:
        _note(f"{kept} of {len(results)} taken from the store {args.store} (no request sent for them)")
    store_failed = _store_notes(store, results)
    signoff = _signoff(args)
    if store is not None and not (signoff.empty and not signoff.final):
        _keep_signoff(store, results, signoff)
    report = document.build(results, Review(signoff))  # the page, the reports and the terminal share it
    written = _write_outputs(args, results, Review(signoff), report)
    _print(report)
    # results come back one per upload, in upload order: each failed one names the file it came from
    failed = list(dict.fromkeys(str(path) for result, path in zip(results, sources, strict=True) if result.error))
    if failed and len(results) > 1:
        count = sum(1 for result in results if result.error)
        print(
            f"{PROG}: {count} of {len(results)} without a description; to retry them: "
            f"python -m image_analysis describe {' '.join(shlex.quote(path) for path in failed)} ...",
            file=sys.stderr,
        )
    if not written or store_failed:
        return EXIT_SERVICE
    return _exit_code(results)


def _store_notes(store: SqliteStore | None, results: list[analysis.Analysis]) -> bool:
    """One line each for what the store could not do in this run; whether a result was not kept where asked."""
    if store is None:
        return False
    if store.unreadable:
        unreadable = len(set(store.unreadable))
        _note(f"{unreadable} stored result{'s' * (unreadable > 1)} could not be read; described again and replaced")
    if store.journal_note:
        _fail(0, store.journal_note)
    missing = [result for result in results if result.not_kept]
    if missing:
        count = "1 description" if len(missing) == 1 else f"{len(missing)} descriptions"
        _fail(
            0,
            f"{count} could not be kept ({missing[0].not_kept}); the outputs have them, but a next run will "
            "describe them again",
        )
    return bool(store.journal_note or missing)


def _print(report: document.ReportDocument) -> None:
    """Each description on stdout; what the reader must know about each on stderr, worded as in the reports."""
    out, err = terminal.render(report)
    for text in out:
        print(for_terminal(text))
    _say(err)


def _say(lines: list[terminal.Line]) -> None:
    for line in lines:
        if line.error:
            _fail(0, line.text)
        else:
            _note(line.text, label="warning: " if line.warning else "note: ")


def _exit_code(results: list[analysis.Analysis]) -> int:
    failures = {result.failed_at for result in results if result.error}
    if analysis.SERVICE in failures:
        return EXIT_SERVICE
    return EXIT_BAD_INPUT if analysis.INPUT in failures else EXIT_OK


def _sheets(paths: list[Path], args: argparse.Namespace) -> tuple[list[analysis.UploadSource], list[Path]]:
    """What to describe, with the path each came from: each PDF of a drawing set as one upload per sheet chosen
    (``--pages``; all by default for drawings), read now to count its pages; every other file read only when the
    batch reaches it, so that no more than the files in flight are in memory."""
    spec = args.pages or (str(args.page) if args.page else None)
    if spec is None and args.preset == Preset.DRAWING.value:
        spec = "all"
    sheets: list[analysis.UploadSource] = []
    sources: list[Path] = []
    for path in paths:
        named: list[analysis.UploadSource]
        if spec is not None and pdf.is_pdf(analysis.Upload.head(path)):
            upload = analysis.Upload.from_path(path)
            pages = analysis.chosen_pages(upload, spec)
            named = list(analysis.sheet_uploads(upload, pages)) if pages else [upload]
        else:
            named = [functools.partial(analysis.Upload.from_path, path)]
        sheets += named
        sources += [path] * len(named)
    return sheets, sources


def _report(args: argparse.Namespace) -> int:
    """The reports from the findings workbook (or CSV) the inspector edited, with the photos and the sign-off taken
    from the store. Everything is checked before anything is written: a bad cell stops the run (exit 2) with one
    line naming sheet, row and column."""
    if not args.store:
        return _fail(EXIT_BAD_INPUT, f"report takes the photos from a store: give --store PATH or set {STORE_ENV}.")
    try:
        store = SqliteStore(args.store, readonly=True)
        data = args.findings.read_bytes()
        if is_workbook(data) or args.findings.suffix.lower() == ".xlsx":
            results, review = _from_workbook(read_review_workbook(data), store, args)
        else:
            results, review = _from_csv(read_review_csv(data), store, args)
    except OSError as error:
        return _fail(EXIT_BAD_INPUT, f"cannot read '{args.findings}': {error.strerror or error}")
    except (StoreError, ReviewError) as error:
        return _fail(EXIT_BAD_INPUT, f"{args.findings}: {error}")
    given = _signoff(args)
    if not given.empty or given.final:
        _keep_signoff(args.store, results, review.signoff)
    edited = sum(1 for finding in review.findings if finding.status in (EDITED, ADDED))
    deleted = f", {len(review.deleted)} deleted" if review.deleted else ""
    _note(
        f"{len(review.findings)} findings on {len(results)} photos; {edited} edited or added by the inspector{deleted}"
    )
    report = document.build(results, review)
    _say(terminal.cover_lines(report))
    return EXIT_OK if _write_outputs(args, results, review, report) else EXIT_SERVICE


def _from_csv(
    table: ReviewTable, store: SqliteStore, args: argparse.Namespace
) -> tuple[list[analysis.Analysis], Review]:
    results, scale, rows = _stored_results(table.rows, store, args.store)
    signoff = _kept_signoff(store, results).overridden_by(_signoff(args))
    try:
        return results, record(signoff, rows, results, scale.definition)
    except ReviewError as error:
        raise error.named(FINDING_COLUMNS) from None


def _from_workbook(
    book: ReviewWorkbook, store: SqliteStore, args: argparse.Namespace
) -> tuple[list[analysis.Analysis], Review]:
    """The photos the workbook was made for, from the store, and its rows checked against them."""
    scales = {scale.definition.name: scale for scale in ConditionScale}
    scale = scales.get(book.scale, ConditionScale.NEN2767)
    results = []
    for row, photo in enumerate(book.photos, start=2):
        value = store.get(photo.record) if photo.record else None
        if value is not None:
            results.append(dataclasses.replace(analysis.Analysis.from_json(value), number=photo.number))
        elif photo.error:
            request = AnalysisRequest(preset=Preset.INSPECTION, scale=scale)
            failed = analysis.Analysis(photo.number, photo.file, request, error=photo.error, failed_at=analysis.SERVICE)
            results.append(failed)
        else:
            message = f"photo {photo.number} ('{photo.file}') is not in the store '{args.store}'"
            message += " (give the store it was described into)"
            raise ReviewError(row, "Photo", message, PHOTOS)
    mismatch = book.mismatch(results)
    if mismatch is not None:
        raise mismatch
    signoff = _kept_signoff(store, results).overridden_by(book.signoff).overridden_by(_signoff(args))
    try:
        return results, record(signoff, book.rows, results, scale.definition)
    except ReviewError as error:
        raise error.named(FINDING_HEADINGS, FINDINGS) from None


SIGNOFF_KEY = "signoff:"
"""The store keeps the sign-off beside each photo's result: ``signoff:`` and the result's key."""


def _keep_signoff(store: SqliteStore | Path, results: list[analysis.Analysis], signoff: SignOff) -> None:
    """Keep the sign-off in the store with the results it signs for; a store that cannot take it is a note."""
    value = {"signoff": signoff.to_json(), "saved_at": datetime.now(UTC).isoformat()}
    try:
        kept = store if isinstance(store, SqliteStore) else SqliteStore(store)
        for result in results:
            if result.record:
                kept.put(SIGNOFF_KEY + result.record, value)
    except StoreError as error:
        _note(f"the sign-off is in the reports but could not be kept in the store ({error})")


def _kept_signoff(store: SqliteStore, results: list[analysis.Analysis]) -> SignOff:
    """The sign-off last kept with any of the results; an empty one when there is none."""
    values = [store.get(SIGNOFF_KEY + result.record) for result in results if result.record]
    kept = [value for value in values if isinstance(value, dict) and isinstance(value.get("signoff"), dict)]
    if not kept:
        return SignOff()
    return SignOff.from_json(max(kept, key=lambda value: str(value.get("saved_at") or ""))["signoff"])


def _stored_results(
    rows: tuple[dict[str, str], ...], store: SqliteStore, path: Path
) -> tuple[list[analysis.Analysis], ConditionScale, tuple[dict[str, str], ...]]:
    """The stored result of each photo the rows name (in photo order), the scale they are scored on, and the rows
    that are findings (a failed photo's own row, untouched, says only that it failed: it is kept as the photo's
    error, not as a finding)."""
    if not rows:
        raise ReviewError(2, "photo", "the file holds no findings rows")
    scales = {scale.definition.name: scale for scale in ConditionScale}
    first = next((row for row in rows if row.get("condition_scale", "").strip()), rows[0])
    scale = scales.get(first.get("condition_scale", "").strip())
    if scale is None:
        raise ReviewError(int(first["_row"]), "condition_scale", f"'{first.get('condition_scale')}' is not a scale")
    photos: dict[int, analysis.Analysis] = {}
    findings = []
    for row in rows:
        number = photo_number(row.get("photo", ""))
        if number is None:
            message = f"'{row.get('photo')}' is not a photo number (a whole number from 1)"
            raise ReviewError(int(row["_row"]), "photo", message)
        record = row.get("record", "").strip()
        if number not in photos:
            photos[number] = _stored_photo(row, number, record, store, path, scale)
        content = any(row.get(name) for name in ("element", "defect_type", "ref", "inspector_note"))
        if photos[number].error is None or content:
            findings.append(row)
    return [photos[number] for number in sorted(photos)], scale, tuple(findings)


def _stored_photo(
    row: dict[str, str], number: int, record: str, store: SqliteStore, path: Path, scale: ConditionScale
) -> analysis.Analysis:
    """Photo ``number`` as its first row names it: its stored result, or, for a photo that failed when it was
    described, that failure (its row has the error and no stored result)."""
    value = store.get(record) if record else None
    if value is not None:
        return dataclasses.replace(analysis.Analysis.from_json(value), number=number)
    if row.get("error"):
        request = AnalysisRequest(preset=Preset.INSPECTION, scale=scale)
        name = row.get("file") or f"photo {number}"
        return analysis.Analysis(number, name, request, error=row["error"], failed_at=analysis.SERVICE)
    if record:
        message = f"photo {number} is not in the store '{path}' (describe it with --store first)"
        raise ReviewError(int(row["_row"]), "record", message)
    message = "the row names no stored result (describe the photos with --store first)"
    raise ReviewError(int(row["_row"]), "record", message)


def _signoff(args: argparse.Namespace) -> SignOff:
    return SignOff(**{name: getattr(args, name, "") for name in SIGNOFF_LABELS}, final=args.final)


def _write_outputs(
    args: argparse.Namespace, results: list[analysis.Analysis], review: Review, report: document.ReportDocument
) -> bool:
    """Build and write each output asked for from the one report document, independently: one that fails is
    reported, the others are still written. Returns whether all were."""
    outputs = _report_outputs(args, report, lambda: _page(report, review).encode("utf-8"))
    if args.csv:
        outputs.append(("the findings CSV", args.csv, lambda: findings_csv(results, review).encode("utf-8")))
    if getattr(args, "xlsx", None):
        outputs.append(("the findings workbook", args.xlsx, lambda: findings_workbook(results, review)))
    if getattr(args, "register", None):
        rows = lambda: register.register_csv(register.build_register(results)).encode("utf-8")  # noqa: E731
        outputs.append(("the drawing register", args.register, rows))
    return _write_all(outputs)


Output = tuple[str, Path, Callable[[], bytes]]
"""What an output is (for its messages), where it goes, and how it is made."""


def _report_outputs(
    args: argparse.Namespace, report: document.ReportDocument, page: Callable[[], bytes]
) -> list[Output]:
    """The page, the Word report and its PDF, as asked for (the Word report is made once for both)."""
    outputs: list[Output] = []
    word_report = functools.cache(lambda: word.render(report, args.paper))
    if args.out:
        outputs.append(("the page", args.out, page))
    if args.docx:
        outputs.append(("the Word report", args.docx, lambda: word_report()))
    if args.pdf:
        outputs.append(("the PDF report", args.pdf, lambda: word_to_pdf(word_report())))
    return outputs


def _write_all(outputs: Sequence[Output]) -> bool:
    """Make and write each output independently: one that fails is reported, the others are still written."""
    failed = 0
    for what, path, build in outputs:
        try:
            write_atomically(path, build())
        except OSError as error:
            failed += 1
            _fail(0, f"cannot write {what} to '{path}': {error.strerror or error}")
        except PdfUnavailable as error:
            failed += 1
            _fail(0, f"cannot write {what} to '{path}': {error}")
        except Exception as error:  # one output's failure must not cost the others
            failed += 1
            log.debug("building %s failed", what, exc_info=True)
            _fail(0, f"{what} could not be made ({type(error).__name__}: {error}); please report it")
        else:
            _note(f"wrote {path}", label="")
    return failed == 0


def _page(report: document.ReportDocument, review: Review) -> str:
    """The page for one image with nothing reviewed or signed; the report otherwise."""
    if len(report.entries) == 1 and not review.findings and review.signoff.empty:
        return html.render_page(report)
    return html.render_report(report)


def _note(message: str, label: str = "note: ") -> None:
    print(for_terminal(f"{PROG}: {label}{message}"), file=sys.stderr)


def _fail(code: int, message: str) -> int:
    print(for_terminal(f"{PROG}: error: {' '.join(message.split())}"), file=sys.stderr)
    return code
