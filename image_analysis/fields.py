"""A finding's fields, declared once: the app's review table, the findings workbook and CSV, the reports' findings
and summary tables and the review's checks take their columns, headings, widths, lists and order from here.

Adding a field to a finding is one ``FindingField`` here and its attribute on ``review.Finding`` (a test holds the
two together), plus, for a field the model gives, its salvage in ``findings``.

The **level** says where a value belongs: the record's own (which finding, of which photo, its origin and the
inspector's note), the photo's (the model gives it once for the photo: each of its findings carries it, and a report
counts it once per photo), or the defect's (each finding its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    RECORD = "record"
    PHOTO = "photo"
    DEFECT = "defect"


class Choices(StrEnum):
    """What a field's value is chosen from: a list the value must be on, a list to suggest from, or free text."""

    FREE = "free"
    ORIGINS = "origins"
    DEFECT_TYPES = "defect types"
    SCORES = "scores"
    """The inspection's condition scale (``presets.ConditionStandard.scores``)."""
    URGENCIES = "urgencies"
    """A suggestion: the inspector's own words are kept."""
    SERIOUSNESS = "seriousness"
    INTENSITY = "intensity"
    SHARE = "share"
    """A defect's observations (``observations``), each with "cannot tell"."""


class Shown(StrEnum):
    """When a field is a column of a photo's findings table in a report."""

    NEVER = "never"
    ALWAYS = "always"
    SHARED = "shared"
    """The photo's value: one line of the entry when every finding has the same, else a column."""
    SCORE = "score"
    """A column when the findings' scores differ or were reviewed; the entry gives the photo's condition."""
    ANY = "any"
    """A column when any finding has one."""
    REVIEWED = "reviewed"
    """A column once the photo's findings were reviewed."""


@dataclass(frozen=True)
class FindingField:
    """One field of a finding, as every place that shows, writes or reads it names it."""

    name: str
    """The ``review.Finding`` attribute, the app's table column and the workbook's key."""
    heading: str
    """Its heading in the app's review table, the workbook and the reports."""
    level: Level
    width: int
    """Its column's width in the workbook, in characters."""
    choices: Choices = Choices.FREE
    shown: Shown = Shown.NEVER
    report_position: int = 0
    """Its place among a report's findings columns (after the model's description of the defect from 10 on)."""
    editable: bool = False
    """Whether an inspector's change to it makes the finding "edited by the inspector"."""
    in_summary: bool = False
    """A column of the condition summary's table (every finding, worst first)."""
    csv: str = ""
    """Its column in the findings CSV (its name, unless said)."""
    whole_number: bool = False
    optional: bool = False
    """A field added after files were first made: a file read back without its column leaves it as it was."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "csv", self.csv or self.name)


FINDING_FIELDS = (
    # name, heading, level, width; the list it is chosen from, when a report shows it and where; editable; summary
    FindingField("ref", "AI finding", Level.RECORD, 11),
    FindingField("photo", "Photo", Level.RECORD, 7, in_summary=True, whole_number=True),
    FindingField("status", "Origin", Level.RECORD, 22, Choices.ORIGINS, Shown.REVIEWED, 14),
    FindingField("inspector_note", "Inspector's note", Level.RECORD, 34, Choices.FREE, Shown.ANY, 13),
    FindingField("element", "Element", Level.PHOTO, 26, editable=True, in_summary=True),
    FindingField("defect_type", "Defect", Level.DEFECT, 16, Choices.DEFECT_TYPES, Shown.ALWAYS, 1, True, True),
    FindingField(
        "location", "Where in the photo", Level.DEFECT, 30, Choices.FREE, Shown.ALWAYS, 2, True, csv="defect_location"
    ),
    FindingField("extent", "Extent", Level.DEFECT, 18, Choices.FREE, Shown.ALWAYS, 3, True, csv="defect_extent"),
    FindingField(
        "seriousness",
        "Seriousness",
        Level.DEFECT,
        12,
        Choices.SERIOUSNESS,
        editable=True,
        csv="defect_seriousness",
        optional=True,
    ),
    FindingField(
        "intensity",
        "Intensity",
        Level.DEFECT,
        11,
        Choices.INTENSITY,
        editable=True,
        csv="defect_intensity",
        optional=True,
    ),
    FindingField(
        "share", "Share affected", Level.DEFECT, 11, Choices.SHARE, editable=True, csv="defect_share", optional=True
    ),
    FindingField("condition_score", "Condition score", Level.DEFECT, 13, Choices.SCORES, Shown.SCORE, 10, True, True),
    FindingField(
        "recommended_action", "Recommended action", Level.PHOTO, 34, Choices.FREE, Shown.SHARED, 11, True, True
    ),
    FindingField("urgency", "Urgency", Level.PHOTO, 15, Choices.URGENCIES, Shown.SHARED, 12, True, True),
    FindingField("file", "Photo file", Level.RECORD, 26),
)
"""In the order the inspector works: which AI finding, which photo, its origin and the note, then the finding."""

FIELDS = {field.name: field for field in FINDING_FIELDS}
EDITABLE = tuple(field.name for field in FINDING_FIELDS if field.editable)
"""The fields that, changed by the inspector, make a finding "edited by the inspector"."""
DESCRIPTION_POSITION = 5
"""Where the model's description of a defect (not a field of the record) stands among a report's columns."""


def headings() -> dict[str, str]:
    """Each field's heading, by name, in the declared order."""
    return {field.name: field.heading for field in FINDING_FIELDS}


def report_columns() -> tuple[FindingField, ...]:
    """The fields a report's findings table may show, in its order."""
    return tuple(sorted((field for field in FINDING_FIELDS if field.shown != Shown.NEVER), key=_position))


def summary_columns() -> tuple[FindingField, ...]:
    return tuple(field for field in FINDING_FIELDS if field.in_summary)


def _position(field: FindingField) -> int:
    return field.report_position
