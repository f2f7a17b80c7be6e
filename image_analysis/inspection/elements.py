"""An object's elements: the list an owner keeps of what is inspected (element id, name, kind, material, location,
optional GPS, optional quantity and replacement value), and how a list is read from a CSV or a workbook's rows.

The element id is the link between inspections: a photo assigned to ``P12-N`` this year is compared with the photos
of ``P12-N`` last year. It is also the code a file name may carry (``P12-N_north.jpg``, ``assignment``). Quantity times
replacement value is the element's weight when elements are combined into the object's condition (NEN 2767:
``../shared/docs/condition-standards.md``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from image_analysis.safe_text import clean
from image_analysis.spreadsheet import dict_rows

ELEMENT_COLUMNS = ("element_id", "name", "kind", "material", "location", "lat", "lon", "quantity", "replacement_value")
REQUIRED = ("element_id", "name")
ALIASES = {
    "id": "element_id",
    "element": "element_id",
    "latitude": "lat",
    "longitude": "lon",
    "value": "replacement_value",
}
MAX_ELEMENTS = 5_000
MAX_TEXT = 200
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")


class ElementListError(ValueError):
    """An element list that cannot be taken: its row and column, and what to do."""


@dataclass(frozen=True)
class Element:
    """One element of an object, as the owner's list names it."""

    id: str
    name: str
    kind: str = ""
    material: str = ""
    location: str = ""
    lat: float | None = None
    lon: float | None = None
    quantity: float | None = None
    replacement_value: float | None = None

    @property
    def weight(self) -> float | None:
        """Quantity times replacement value: its weight in the object's condition (``None`` when either is not
        given)."""
        if self.quantity is None or self.replacement_value is None:
            return None
        return self.quantity * self.replacement_value

    @property
    def label(self) -> str:
        return f"{self.id} {self.name}"

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, _attribute(name)) for name in ELEMENT_COLUMNS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Element:
        return _element({name: "" if data.get(name) is None else str(data.get(name)) for name in ELEMENT_COLUMNS}, "")


@dataclass(frozen=True)
class ObjectElements:
    """An object (a quay wall, a bridge) and its elements, in the list's order."""

    object_id: str
    name: str
    elements: tuple[Element, ...]

    def get(self, element_id: str) -> Element | None:
        wanted = element_id.casefold()
        return next((element for element in self.elements if element.id.casefold() == wanted), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(element.id for element in self.elements)

    def to_json(self) -> dict[str, Any]:
        return {
            "object_id": self.object_id,
            "name": self.name,
            "elements": [element.to_json() for element in self.elements],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObjectElements:
        return cls(
            object_id=clean(str(data["object_id"])),
            name=clean(str(data.get("name") or "")),
            elements=tuple(Element.from_json(item) for item in data.get("elements") or ()),
        )


def object_id(text: str) -> str:
    """``text`` as an object's id; ``ElementListError`` when it is not one (letters, digits, ``. _ / -``, up to 40)."""
    given = text.strip()
    if not _ID.fullmatch(given):
        raise ElementListError(
            f"'{clean(given)[:60]}' is not an object id: use letters, digits, '.', '_', '/' or '-' (up to 40)"
        )
    return given


def read_element_rows(rows: Iterable[Mapping[str, object]], source: str) -> tuple[Element, ...]:
    """The elements of a list's rows (a header's names, ``ALIASES`` allowed, case and spaces ignored); rows without
    any value skipped. ``ElementListError`` naming the first row that is not an element."""
    elements: list[Element] = []
    seen: set[str] = set()
    for number, raw in enumerate(rows, start=2):
        row = {_column(name): "" if value is None else str(value) for name, value in raw.items() if name is not None}
        if number == 2:
            missing = [name for name in REQUIRED if name not in row]
            if missing:
                columns = ", ".join(ELEMENT_COLUMNS)
                raise ElementListError(f"{source}: no column '{missing[0]}' (the columns: {columns})")
        if not any(value.strip() for value in row.values()):
            continue
        if len(elements) >= MAX_ELEMENTS:
            raise ElementListError(f"{source}: more than {MAX_ELEMENTS:,} elements; split the object")
        element = _element(row, f"{source}, row {number}")
        if element.id.casefold() in seen:
            raise ElementListError(f"{source}, row {number}: the element id '{element.id}' is given twice")
        seen.add(element.id.casefold())
        elements.append(element)
    if not elements:
        raise ElementListError(f"{source}: no element listed (one row an element under the header)")
    return tuple(elements)


def read_element_csv(text: str, source: str) -> tuple[Element, ...]:
    """The elements of a CSV list (comma or semicolon separated, as Dutch spreadsheets save it)."""
    return read_element_rows(dict_rows(text), source)


def template() -> str:
    """An empty element list: the header, and one example row to overwrite."""
    return ",".join(ELEMENT_COLUMNS) + "\nP12-N,Pier 12 north face,pier,reinforced concrete,axis 12,,,,\n"


def _column(name: str) -> str:
    key = "_".join(str(name).strip().lower().replace("-", " ").split())
    return ALIASES.get(key, key)


def _attribute(column: str) -> str:
    return "id" if column == "element_id" else column


def _element(row: Mapping[str, str], where: str) -> Element:
    def text(name: str) -> str:
        return clean(" ".join(row.get(name, "").split()))[:MAX_TEXT]

    element_id = text("element_id")
    if not _ID.fullmatch(element_id):
        raise ElementListError(
            f"{where}, column 'element_id': '{element_id[:60]}' is not an element id (letters, digits, '.', '_', "
            "'/' or '-', up to 40)"
        )
    if not text("name"):
        raise ElementListError(f"{where}, column 'name': the element has no name")
    lat, lon = _number(row, "lat", where, -90, 90), _number(row, "lon", where, -180, 180)
    if (lat is None) != (lon is None):
        raise ElementListError(f"{where}: give both lat and lon, or neither")
    return Element(
        id=element_id,
        name=text("name"),
        kind=text("kind"),
        material=text("material"),
        location=text("location"),
        lat=lat,
        lon=lon,
        quantity=_number(row, "quantity", where, 0, math.inf),
        replacement_value=_number(row, "replacement_value", where, 0, math.inf),
    )


def _number(row: Mapping[str, str], name: str, where: str, low: float, high: float) -> float | None:
    given = row.get(name, "").strip()
    if not given:
        return None
    try:
        value = float(given.replace(",", ".")) if given.count(",") == 1 and "." not in given else float(given)
    except ValueError:
        raise ElementListError(f"{where}, column '{name}': '{clean(given)[:40]}' is not a number") from None
    if not (low <= value <= high) or math.isnan(value):
        raise ElementListError(f"{where}, column '{name}': {given} is out of range ({low:g} to {high:g})")
    return value
