"""``describe``: images (and the chosen sheets of PDF sets) described by the model, in order, with the outputs asked
for; into a store, nothing is described twice and the sign-off is kept with the results."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
from pathlib import Path

from image_analysis import analysis, model, register
from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_SERVICE, PROG, batch_exit_code, fail, note, print_report
from image_analysis.cli.elements import assigned, object_elements
from image_analysis.cli.outputs import write_outputs
from image_analysis.cli.report import page, report_makers
from image_analysis.errors import InputError, ServiceError, StoreError
from image_analysis.formats.findings_csv import findings_csv
from image_analysis.imaging import pdf
from image_analysis.inspection import Inspection
from image_analysis.inspection_store import InspectionStore
from image_analysis.presets import AnalysisRequest, Preset
from image_analysis.reports import document, findings_workbook
from image_analysis.reports.outputs import Output
from image_analysis.review import Review, SignOff
from image_analysis.store import SqliteStore


def add_parser(commands: argparse._SubParsersAction) -> None:
    describe = commands.add_parser("describe", help="describe images (calls the model)")
    describe.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="photos or drawings, in order")
    options.add_request(describe)
    options.add_model(describe)
    options.add_concurrency(describe, "requests in flight for a batch")
    options.add_output(describe, Output.PAGE, "write the page (one image) or the HTML report (several)")
    options.add_output(describe, Output.WORD, "write a Word report")
    options.add_pdf(describe)
    options.add_output(describe, Output.WORKBOOK, "write the findings workbook, to review in Excel or Calc")
    options.add_output(describe, Output.CSV, "write the findings of all images as CSV (for scripts)")
    describe.add_argument(
        "--pages",
        default=None,
        help="which sheets of a PDF set: all, N or ranges A-B,C (default for --preset drawing: all; else --page)",
    )
    options.add_output(describe, Output.REGISTER, "write the drawing register of the set as CSV")
    options.add_store(describe)
    options.add_inspection(
        describe, "with --store: the inspection to add the photos to (its id or name; a new one of that name if none)"
    )
    options.add_object(
        describe,
        "with --store: the object photographed (its element list kept by `elements`): each photo is "
        "assigned to an element, suggested from its file name, the previous inspection's GPS or the model's words",
    )
    options.add_signoff(describe)
    describe.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options.within(args.concurrency, "--concurrency", analysis.MAX_CONCURRENCY)
    request = options.request(args)
    more = "Choose fewer, or prepare them as a campaign (`python -m image_analysis campaign prepare`)."
    analysis.check_batch_size(len(args.images), "images", more)
    if args.xlsx and request.preset is not Preset.INSPECTION:
        return fail(
            EXIT_BAD_INPUT, "--xlsx writes the findings workbook of a site inspection: add --preset inspection."
        )
    uploads, sources = _sheets(args.images, args)
    analysis.check_batch_size(len(uploads), "sheets", more)
    if (args.inspection or args.object) and not args.store:
        return fail(EXIT_BAD_INPUT, "--inspection and --object keep the photos in a store: add --store PATH.")
    signoff = options.signoff(args)
    store = SqliteStore(args.store) if args.store else None
    inspections = InspectionStore(store) if store is not None else None
    inspection = _inspection(inspections, args.inspection, request, signoff)  # before any request is paid for
    elements = object_elements(inspections, args.object) if inspections is not None else None
    try:
        settings, unavailable = model.ServiceSettings.from_environment(args.model), ""
    except ServiceError as error:
        settings, unavailable = None, str(error)
    results = analysis.analyse_batch(
        uploads, request, settings, concurrency=args.concurrency, unavailable=unavailable, store=store
    )
    kept = sum(1 for result in results if result.from_store)
    if kept:
        note(f"{kept} of {len(results)} taken from the store {args.store} (no request sent for them)")
    # results come back one per upload, in upload order: each failed one names the file it came from
    failed = list(dict.fromkeys(str(path) for result, path in zip(results, sources, strict=True) if result.error))
    described = len(results)
    inspection, results = inspection.filed(results)  # the same photo given twice is one photo
    _twins(inspection, described - len(results))
    if inspections is not None and elements is not None:
        try:
            inspection = assigned(inspections, inspection, results, elements)
        except StoreError as error:  # the descriptions are paid for: their outputs are written all the same
            note(f"the photos could not be assigned to elements ({error})")
    review = Review(signoff)
    if inspections is not None:
        review = _kept(inspections, inspection, results, args.store)
    store_failed = _store_notes(store, results)
    report = document.build(results, review)  # the page, the reports and the terminal share it
    makers = report_makers(args, report, lambda: page(report, review).encode("utf-8"))
    makers[Output.CSV] = lambda: findings_csv(results, review).encode("utf-8")
    makers[Output.WORKBOOK] = lambda: findings_workbook(results, review)
    makers[Output.REGISTER] = lambda: register.register_csv(register.build_register(results)).encode("utf-8")
    written = write_outputs(args, makers)
    print_report(report)
    if failed and described > 1:
        count = sum(1 for result in results if result.error)
        print(
            f"{PROG}: {count} of {len(results)} without a description; to retry them: "
            f"python -m image_analysis describe {' '.join(shlex.quote(path) for path in failed)} ...",
            file=sys.stderr,
        )
    if not written or store_failed:
        return EXIT_SERVICE
    return batch_exit_code(results)


def _inspection(
    inspections: InspectionStore | None, wanted: str | None, request: AnalysisRequest, signoff: SignOff
) -> Inspection:
    """The inspection the photos go into: ``wanted`` (by id or name) when the store has it, else a new one (named
    ``wanted``); ``InputError`` when ``wanted`` was described with another preset or scale."""
    found = inspections.find(wanted) if inspections is not None and wanted else None
    if found is None:
        return Inspection.new(request, name=wanted or "", signoff=signoff)
    if (found.preset, found.scale) != (request.preset, request.scale):
        raise InputError(
            f"the inspection {found.label} was described with --preset {found.preset.value} --scale "
            f"{found.scale.value}: give those, or another --inspection"
        )
    return found.signed_off(signoff)


def _kept(
    inspections: InspectionStore, inspection: Inspection, results: list[analysis.Analysis], where: Path
) -> Review:
    """Keep the inspection (said on stderr, with how to report it) and give the review its decisions make of
    ``results``; a store that cannot keep it is said in one line."""
    try:
        inspections.migrate()
        inspections.save(inspection)
        review = inspections.review(inspection, results, inspection.signoff)
    except StoreError as error:
        note(f"the inspection could not be kept in the store ({error}); the outputs have its photos all the same")
        return Review(inspection.signoff)
    count = f"{len(inspection.photos)} photo{'s' * (len(inspection.photos) != 1)}"
    note(
        f"inspection {inspection.label}, {count}; its reports again: python -m image_analysis report "
        f"--store {shlex.quote(str(where))} --inspection {inspection.id}"
    )
    return review


def _twins(inspection: Inspection, count: int) -> None:
    """One line for files that were the same photo as another (described once, listed once)."""
    if count <= 0:
        return
    twins = [photo for photo in inspection.photos if len(photo.names) > 1]
    named = "; ".join(f"photo {photo.number} '{photo.name}' also as '{', '.join(photo.names[1:])}'" for photo in twins)
    files = "1 file was" if count == 1 else f"{count} files were"
    note(f"{files} the same photo as another (the same bytes), listed once: {named}")


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


def _store_notes(store: SqliteStore | None, results: list[analysis.Analysis]) -> bool:
    """One line each for what the store could not do in this run; whether a result was not kept where asked."""
    if store is None:
        return False
    if store.unreadable:
        unreadable = len(set(store.unreadable))
        note(f"{unreadable} stored result{'s' * (unreadable > 1)} could not be read; described again and replaced")
    if store.journal_note:
        fail(0, store.journal_note)
    missing = [result for result in results if result.not_kept]
    if missing:
        count = "1 description" if len(missing) == 1 else f"{len(missing)} descriptions"
        fail(
            0,
            f"{count} could not be kept ({missing[0].not_kept}); the outputs have them, but a next run will "
            "describe them again",
        )
    return bool(store.journalled_results or missing)
