"""``inspections``: the inspections a store keeps (one line each: id, name, stage, photos, inspector, date) and how
many of its results belong to none (described before inspections were kept, without a sign-off)."""

from __future__ import annotations

import argparse
from pathlib import Path

from image_analysis import reinspection
from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_OK, fail, note
from image_analysis.errors import StoreError
from image_analysis.inspection_store import InspectionStore
from image_analysis.safe_text import for_terminal
from image_analysis.store import SqliteStore


def add_parser(commands: argparse._SubParsersAction) -> None:
    listed = commands.add_parser("inspections", help="list the inspections a store keeps (or bring some in)")
    options.add_store(listed)
    listed.add_argument(
        "--import",
        dest="source",
        type=Path,
        metavar="STORE",
        help="copy the inspections of another store into this one (with their photos' results, decisions and element "
        "lists), to compare with them",
    )
    listed.add_argument(
        "--inspection", action="append", default=[], metavar="ID_OR_NAME", help="with --import: only this one"
    )
    listed.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.source is not None:
        return _import(args)
    where = options.store(args, "inspections lists")
    if not where.is_file():
        return fail(EXIT_BAD_INPUT, f"there is no result store '{where}' (describe the photos with --store first)")
    try:
        inspections = InspectionStore(SqliteStore(where, readonly=True))
        everything = inspections.all()
        unfiled = inspections.unfiled()
    except StoreError as error:
        return fail(EXIT_BAD_INPUT, str(error))
    for inspection in everything:
        photos = f"{len(inspection.photos)} photo{'s' * (len(inspection.photos) != 1)}"
        who = " ".join(part for part in (inspection.inspector, inspection.date) if part)
        line = "\t".join(
            (inspection.id, inspection.name or inspection.object_name or "-", inspection.stage, photos, who)
        )
        print(for_terminal(line.rstrip()))
    if unfiled:
        results = f"{len(unfiled)} stored result{'s' * (len(unfiled) != 1)}"
        note(f"{results} in no inspection (described before inspections were kept, without a sign-off)")
    if not everything:
        note(f"'{where}' holds no inspection yet: describe photos with --store")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    """Copy the inspections of ``--import STORE`` (or those named) into ``--store``; one already there is kept."""
    where = options.store(args, "inspections --import copies into")
    if not args.source.is_file():
        return fail(EXIT_BAD_INPUT, f"there is no result store '{args.source}' to import from")
    try:
        source = InspectionStore(SqliteStore(args.source, readonly=True))
        wanted = [source.find(name) for name in args.inspection] if args.inspection else source.all()
        unknown = [name for name, found in zip(args.inspection, wanted, strict=False) if found is None]
        if unknown:
            return fail(EXIT_BAD_INPUT, f"there is no inspection '{unknown[0]}' in '{args.source}'")
        target = InspectionStore(SqliteStore(where))
        for inspection in wanted:
            assert inspection is not None
            if target.get(inspection.id) is not None:
                note(f"{inspection.label} is in '{where}' already; kept as it is")
                continue
            copied = reinspection.import_inspection(source, target, inspection)
            note(f"{inspection.label}: imported ({copied} values)")
    except StoreError as error:
        return fail(EXIT_BAD_INPUT, str(error))
    return EXIT_OK
