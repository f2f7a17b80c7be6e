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


class Shown(StrEnum):
    """When a field is a column of a photo's findings table in a report."""

    NEVER = "never"
    ALWAYS = "always"
    SHARED = "shared"
    """The photo's value: one line of the entry when every finding has the same, else a column."""
    SCORE = "score"
    """A column when the findings' scores differ or were reviewed; the entry gives the photo's worst."""
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
    editable: bool = False
    """Whether an inspector's change to it makes the finding "edited by the inspector"."""
    choices: Choices = Choices.FREE
    width: int = 16
    """Its column's width in the workbook, in characters."""
    csv: str = ""
    """Its column in the findings CSV (its name, unless said)."""
    whole_number: bool = False
    shown: Shown = Shown.NEVER
    report_position: int = 0
    """Its place among a report's findings columns (after the model's description of the defect from 10 on)."""
    in_summary: bool = False
    """A column of the condition summary's table (every finding, worst first)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "csv", self.csv or self.name)


FINDING_FIELDS = (
    FindingField("ref", "AI finding", Level.RECORD, width=11),
    FindingField("photo", "Photo", Level.RECORD, width=7, whole_number=True, in_summary=True),
    FindingField(
        "status", "Origin", Level.RECORD, choices=Choices.ORIGINS, width=22, shown=Shown.REVIEWED, report_position=14
    ),
    FindingField("inspector_note", "Inspector's note", Level.RECORD, width=34, shown=Shown.ANY, report_position=13),
    FindingField("element", "Element", Level.PHOTO, editable=True, width=26, in_summary=True),
    FindingField(
        "defect_type",
        "Defect",
        Level.DEFECT,
        editable=True,
        choices=Choices.DEFECT_TYPES,
        shown=Shown.ALWAYS,
        report_position=1,
        in_summary=True,
    ),
    FindingField(
        "location",
        "Where in the photo",
        Level.DEFECT,
        editable=True,
        width=30,
        csv="defect_location",
        shown=Shown.ALWAYS,
        report_position=2,
    ),
    FindingField(
        "extent",
        "Extent",
        Level.DEFECT,
        editable=True,
        width=18,
        csv="defect_extent",
        shown=Shown.ALWAYS,
        report_position=3,
    ),
    FindingField(
        "condition_score",
        "Condition score",
        Level.PHOTO,
        editable=True,
        choices=Choices.SCORES,
        width=13,
        shown=Shown.SCORE,
        report_position=10,
        in_summary=True,
    ),
    FindingField(
        "recommended_action",
        "Recommended action",
        Level.PHOTO,
        editable=True,
        width=34,
        shown=Shown.SHARED,
        report_position=11,
        in_summary=True,
    ),
    FindingField(
        "urgency",
        "Urgency",
        Level.PHOTO,
        editable=True,
        choices=Choices.URGENCIES,
        width=15,
        shown=Shown.SHARED,
        report_position=12,
        in_summary=True,
    ),
    FindingField("file", "Photo file", Level.RECORD, width=26),
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
