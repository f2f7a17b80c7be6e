"""``inspections``: the inspections a store keeps (one line each: id, name, stage, photos, inspector, date) and how
many of its results belong to none (described before inspections were kept, without a sign-off)."""

from __future__ import annotations

import argparse

from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_OK, fail, note
from image_analysis.errors import StoreError
from image_analysis.inspection_store import InspectionStore
from image_analysis.safe_text import for_terminal
from image_analysis.store import SqliteStore


def add_parser(commands: argparse._SubParsersAction) -> None:
    listed = commands.add_parser("inspections", help="list the inspections a store keeps")
    options.add_store(listed)
    listed.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
