"""A defect's seriousness when the model gives its intensity and share but not how serious it is: one table, by
defect type and, where it matters, by element kind.

These defaults are **this project's**, not NEN 2767's. The standard's part 2 lists a seriousness for each defect of
each element kind, but those lists are paid documents (NEN 2767-2) and are not reproduced here. A report in which a
default was taken shows this table in its appendix, and lists each default with the photo's repairs, so that an
inspector sees where a seriousness came from and changes it in the review.

A user replaces the table with a CSV file named by ``IMAGE_ANALYSIS_SERIOUSNESS`` (``config.seriousness_path``),
columns ``defect_type,element_contains,seriousness,why``; a row with ``element_contains`` (words found in the
photo's element, any case) comes before the general row of its defect type, and the first row that matches is taken.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from image_analysis import config
from image_analysis.observations import SERIOUSNESS
from image_analysis.safe_text import clean
from image_analysis.vocabulary import DEFECT_TYPES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriousnessDefault:
    """The seriousness a defect type is given (on an element whose name holds ``element``, when given), and why."""

    defect_type: str
    element: str
    seriousness: str
    why: str


PROJECT_DEFAULTS = (
    SeriousnessDefault("crack", "prestress", "critical", "may mean lost prestress or corroding tendons"),
    SeriousnessDefault("crack", "", "serious", "lets water and chlorides reach the reinforcement"),
    SeriousnessDefault("spalling", "", "serious", "the cover is lost; the reinforcement is next"),
    SeriousnessDefault("corrosion", "prestress", "critical", "section loss of a tendon is sudden"),
    SeriousnessDefault("corrosion", "", "serious", "section loss of the steel"),
    SeriousnessDefault("exposed rebar", "", "serious", "corroding reinforcement without cover"),
    SeriousnessDefault("honeycombing", "", "serious", "weak, porous concrete over the reinforcement"),
    SeriousnessDefault("efflorescence", "", "minor", "a sign of water passing; the material is not weakened"),
    SeriousnessDefault("water ingress/staining", "", "minor", "a sign of water; its cause is another defect"),
    SeriousnessDefault("deformation", "", "critical", "the load-bearing behaviour may be affected"),
    SeriousnessDefault("missing or damaged fixing", "railing", "critical", "a railing holds people from falling"),
    SeriousnessDefault("missing or damaged fixing", "", "serious", "a part may come loose"),
    SeriousnessDefault("vegetation", "", "minor", "roots and moisture damage slowly"),
    SeriousnessDefault("debris", "", "minor", "to be cleared; it hides what is below"),
)
"""The project's table; "other" has no default (the model, or the inspector, says)."""
COLUMNS = ("defect_type", "element_contains", "seriousness", "why")


@dataclass(frozen=True)
class SeriousnessTable:
    """The defaults in force, and whose they are (the project's, or a user's file)."""

    rows: tuple[SeriousnessDefault, ...] = PROJECT_DEFAULTS
    source: str = "this project's defaults (NEN 2767-2's defect lists are paid documents, not reproduced)"

    def default(self, defect_type: str, element: str) -> SeriousnessDefault | None:
        """The row for a defect of ``defect_type`` on ``element``: the first whose element words the element's name
        holds, else the defect type's general row; ``None`` when the table has none."""
        named = element.lower()
        rows = [row for row in self.rows if row.defect_type == defect_type]
        specific = [row for row in rows if row.element and row.element.lower() in named]
        general = [row for row in rows if not row.element]
        return next(iter(specific or general), None)


class SeriousnessTableError(ValueError):
    """A user's table that cannot be taken, naming its row and what to do."""


def read_table(text: str, source: str) -> SeriousnessTable:
    """A user's table from CSV text (``COLUMNS``); ``SeriousnessTableError`` names the first row that is not one."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [name for name in COLUMNS[:3] if name not in (reader.fieldnames or [])]
    if missing:
        raise SeriousnessTableError(
            f"{source}: the seriousness table has no column {missing[0]} ({', '.join(COLUMNS)})"
        )
    rows = []
    for number, row in enumerate(reader, start=2):
        values = {name: clean(" ".join(str(row.get(name) or "").split())) for name in COLUMNS}
        if values["defect_type"].lower() not in DEFECT_TYPES:
            raise SeriousnessTableError(
                f"{source}, row {number}: '{values['defect_type']}' is not a defect type ({', '.join(DEFECT_TYPES)})"
            )
        if values["seriousness"].lower() not in SERIOUSNESS:
            raise SeriousnessTableError(
                f"{source}, row {number}: '{values['seriousness']}' is not one of {', '.join(SERIOUSNESS)}"
            )
        rows.append(
            SeriousnessDefault(
                values["defect_type"].lower(), values["element_contains"], values["seriousness"].lower(), values["why"]
            )
        )
    return SeriousnessTable(tuple(rows), f"the table in {Path(source).name}, given by {config.SERIOUSNESS_ENV}")


def table_problem() -> str | None:
    """Why the table ``IMAGE_ANALYSIS_SERIOUSNESS`` names cannot be taken, or ``None``."""
    try:
        _active(config.seriousness_path())
    except (OSError, SeriousnessTableError) as error:
        return f"{config.SERIOUSNESS_ENV}: {error}" if isinstance(error, OSError) else str(error)
    return None


def active() -> SeriousnessTable:
    """The table in force: the user's (``IMAGE_ANALYSIS_SERIOUSNESS``), or the project's when none is given or it
    cannot be taken (the command line refuses to run then, ``table_problem``)."""
    try:
        return _active(config.seriousness_path())
    except (OSError, SeriousnessTableError) as error:
        log.warning("seriousness table not taken: %s", error)
        return SeriousnessTable()


@functools.lru_cache(maxsize=4)
def _read(path: str, modified: float) -> SeriousnessTable:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SeriousnessTableError(f'{path}: the file is not UTF-8: save it as "CSV UTF-8"') from None
    return read_table(text, path)


def _active(path: str | None) -> SeriousnessTable:
    if path is None:
        return SeriousnessTable()
    return _read(path, Path(path).stat().st_mtime)
