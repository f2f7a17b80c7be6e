"""``elements``: an object's element list kept in the store (from a CSV or a workbook), or an empty one written; and
what ``describe --object`` and ``compare`` share: the list read back, and each photo assigned to an element.

    python -m image_analysis elements --store PATH --object ID [--name NAME] LIST.csv|LIST.xlsx
    python -m image_analysis elements --template LIST.csv
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from image_analysis import analysis, reinspection
from image_analysis.cli import options
from image_analysis.cli.console import EXIT_BAD_INPUT, EXIT_OK, EXIT_SERVICE, fail, note
from image_analysis.cli.outputs import write_output
from image_analysis.errors import InputError, StoreError
from image_analysis.formats.element_workbook import read_element_list
from image_analysis.inspection import Inspection
from image_analysis.inspection.elements import Element, ElementListError, ObjectElements, object_id, template
from image_analysis.inspection_store import InspectionStore
from image_analysis.reports.outputs import Output
from image_analysis.safe_text import clean
from image_analysis.store import SqliteStore

MAX_LIST_BYTES = 20_000_000


def add_parser(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("elements", help="keep an object's element list in the store")
    command.add_argument("list", nargs="?", type=Path, help="the element list: a CSV or an .xlsx workbook")
    options.add_store(command)
    options.add_object(command, "the object the list belongs to (letters, digits, . _ / -)")
    command.add_argument("--name", default="", help="the object's name, as the reports show it")
    command.add_argument("--template", type=Path, metavar="FILE", help="write an empty element list (CSV)")
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.template:
        written = write_output(Output.ELEMENTS_TEMPLATE, args.template, lambda: template().encode("utf-8"))
        return EXIT_OK if written else EXIT_SERVICE
    if args.list is None or not args.object:
        return fail(EXIT_BAD_INPUT, "give the element list and its --object (or --template FILE for an empty list)")
    where = options.store(args, "elements keeps the list in")
    try:
        wanted = object_id(args.object)
        elements = read_list(args.list)
    except ElementListError as error:
        return fail(EXIT_BAD_INPUT, str(error))
    name = clean(" ".join(args.name.split()))[:120]
    try:
        inspections = InspectionStore(SqliteStore(where))
        kept = reinspection.elements_of(inspections, wanted)
        listed = ObjectElements(wanted, name or (kept.name if kept else ""), elements)
        reinspection.keep_elements(inspections, listed)
    except StoreError as error:
        return fail(EXIT_BAD_INPUT, str(error))
    located = sum(1 for element in elements if element.lat is not None)
    weighted = sum(1 for element in elements if element.weight is not None)
    note(
        f"{len(elements)} elements of {wanted} kept in {where} ({located} with GPS, {weighted} with quantity and "
        f"replacement value){'; the list kept before is replaced' if kept else ''}"
    )
    return EXIT_OK


def read_list(path: Path) -> tuple[Element, ...]:
    """The elements of a CSV or workbook file; ``ElementListError`` naming the file, row and column."""
    try:
        if path.stat().st_size > MAX_LIST_BYTES:
            raise ElementListError(f"{path}: larger than {MAX_LIST_BYTES // 1_000_000} MB; an element list is smaller")
        data = path.read_bytes()
    except OSError as error:
        raise ElementListError(f"cannot read the element list '{path}': {error.strerror or error}") from None
    return read_element_list(data, str(path))


def object_elements(inspections: InspectionStore, wanted: str) -> ObjectElements | None:
    """The element list of the object ``wanted`` (``None`` when none is wanted); an ``InputError`` saying how to keep
    one when the store has none."""
    if not wanted:
        return None
    found = reinspection.elements_of(inspections, wanted)
    if found is None:
        raise InputError(
            f"the store has no element list for the object '{wanted}': keep one first with "
            f"python -m image_analysis elements --store PATH --object {wanted} ELEMENTS.csv"
        )
    return found


def assigned(
    inspections: InspectionStore,
    inspection: Inspection,
    results: Sequence[analysis.Analysis],
    elements: ObjectElements,
    given: Mapping[int, str] = {},
) -> Inspection:
    """``inspection`` of the object ``elements`` list, each photo assigned to an element (``given`` by the
    inspector, else suggested, from the previous inspection's photos too), kept; said on stderr."""
    inspection = replace(inspection, object_id=elements.object_id, object_name=inspection.object_name or elements.name)
    previous = reinspection.previous_inspection(inspections, inspection)
    placed = []
    if previous is not None:
        try:
            placed = reinspection.placed_photos(previous, inspections.results(reinspection.of_elements(previous)))
        except StoreError as error:
            note(f"the previous inspection's photos cannot be placed ({error})")
    inspection = reinspection.assign(inspection, results, elements, placed, given)
    sources = Counter(photo.element_source for photo in inspection.photos if photo.element_id)
    without = sum(1 for photo in inspection.photos if not photo.element_id)
    said = ", ".join(f"{count} by {source}" for source, count in sources.items()) or "none"
    note(f"photos assigned to the elements of {elements.object_id}: {said}; {without} without an element")
    inspections.save(inspection)
    return inspection
