"""What the user asks for: the task preset, the output language and the condition scale."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from image_analysis.imaging.kinds import ImageKind
from image_analysis.standards import nen2767


class Preset(StrEnum):
    """The job: a site inspection of a photo, a QA check of a drawing, or a general description."""

    GENERAL = "general"
    INSPECTION = "inspection"
    DRAWING = "drawing"

    @property
    def label(self) -> str:
        return {"general": "General description", "inspection": "Site inspection", "drawing": "Drawing (QA)"}[self]

    @property
    def image_kind(self) -> ImageKind | None:
        """How the image is sent: a photo as JPEG, a drawing lossless and in tiles; general decides from content."""
        return {"general": None, "inspection": ImageKind.PHOTO, "drawing": ImageKind.DRAWING}[self]


class Language(StrEnum):
    """Languages the description can be written in."""

    EN = "en"
    NL = "nl"
    DE = "de"
    FR = "fr"

    @property
    def label(self) -> str:
        return {"en": "English", "nl": "Dutch (Nederlands)", "de": "German (Deutsch)", "fr": "French (Français)"}[self]

    @property
    def english_name(self) -> str:
        return {"en": "English", "nl": "Dutch", "de": "German", "fr": "French"}[self]


CANNOT_TELL = "cannot tell from this photo"
"""The score (and any field) a photo cannot tell: on every scale, after its codes."""


@dataclass(frozen=True)
class ConditionStandard:
    """A condition scale, declared once: its name, its codes in order from best to worst, each with its meaning, how
    a value a person typed is read, and (``derive``) how a score is derived from an inspector's observations, where
    the standard says (the next step of the record: NEN 2767's defect matrix, say; ``None`` until then, and the
    score is the one given). Every front end, format and report takes the scale from here."""

    name: str
    values: tuple[tuple[str, str], ...]
    source: str = ""
    """Where the scale is published."""
    derive: Callable[[Sequence[nen2767.Observation], Sequence[int | None]], nen2767.Combination | None] | None = field(
        default=None, compare=False, repr=False
    )
    """A condition from the defects' observations, when the standard gives the rule (``standards``); ``None``: the
    score is the one given."""
    states: bool = False
    """Whether each defect gets an AASHTO condition state (``standards.aashto``) beside the scale's judgement."""

    @functools.cached_property
    def codes(self) -> tuple[str, ...]:
        """The scale's codes, best first (worked out once: every score of a report is looked up in them)."""
        return tuple(code for code, _ in self.values)

    @property
    def scores(self) -> tuple[str, ...]:
        """Every score a finding may be given on this scale: its codes, best first, then "cannot tell"."""
        return (*self.codes, CANNOT_TELL)

    def meaning(self, code: str) -> str | None:
        return dict(self.values).get(code)

    def shown(self, code: str) -> str:
        """A score as every report writes it: ``4 (mediocre)``, the code never parted from its meaning's first word
        (a no-break space); a code off the scale as it is."""
        meaning = self.meaning(code)
        return f"{code}\u00a0({meaning})" if meaning else code

    def rank(self, code: str) -> int:
        """How bad ``code`` is: higher is worse; anything off the scale ("cannot tell") ranks below the best."""
        return self.codes.index(code) if code in self.codes else -1

    def read(self, given: str) -> str | None:
        """A score as a person typed it (a spreadsheet's cell, the app's table): a code in any case (``3``, a
        spreadsheet's ``3.0``), or "cannot tell" (and an empty cell, which says no more); ``None`` for anything else.
        A model's reply is read more leniently (``vocabulary.read_score``): a person's cell is checked, not guessed."""
        text = " ".join(given.split())
        if not text or text.lower().startswith("cannot tell"):
            return CANNOT_TELL
        codes = {code.lower(): code for code in self.codes}
        return codes.get(text.lower().removesuffix(".0"))

    def span(self) -> str:
        """The scale's codes as a message names them: ``1-6``, or ``Low, Medium, High``."""
        numbered = all(code.isdigit() for code in self.codes)
        return f"{self.codes[0]}-{self.codes[-1]}" if numbered else ", ".join(self.codes)

    def worst(self, codes: Iterable[str]) -> str | None:
        """The code furthest along the scale (every scale runs from best to worst); ``None`` when ``codes`` holds
        none of the scale's (only "cannot tell", say)."""
        return max((code for code in codes if code in self.codes), key=self.rank, default=None)


class ConditionScale(StrEnum):
    """The scale a condition score is given on."""

    NEN2767 = "nen2767"
    NBI = "nbi"
    LMH = "lmh"

    @property
    def definition(self) -> ConditionStandard:
        return _SCALES[self]


_SCALES = {
    ConditionScale.NEN2767: ConditionStandard(
        "NEN 2767 condition score",
        (
            ("1", "excellent"),
            ("2", "good"),
            ("3", "fair, sufficient"),
            ("4", "mediocre"),
            ("5", "poor, maintenance overdue"),
            ("6", "very poor"),
        ),
        source="NEN 2767-1:2019, condition scores 1 (excellent) to 6 (very poor)",
        derive=nen2767.component_condition,
    ),
    ConditionScale.NBI: ConditionStandard(
        "NBI condition rating (0-9)",
        (
            ("9", "excellent"),
            ("8", "very good"),
            ("7", "good"),
            ("6", "satisfactory"),
            ("5", "fair"),
            ("4", "poor"),
            ("3", "serious"),
            ("2", "critical"),
            ("1", "imminent failure"),
            ("0", "failed"),
        ),
        source="FHWA Recording and Coding Guide for the National Bridge Inventory, condition ratings 9 to 0",
        states=True,
    ),
    ConditionScale.LMH: ConditionStandard(
        "Severity (Low/Medium/High)",
        (("Low", "minor, monitor"), ("Medium", "repair planned"), ("High", "urgent action")),
        source="this app's own three-step severity, for inspections under no standard",
    ),
}


@dataclass(frozen=True)
class AnalysisRequest:
    """Everything the user chose for an analysis, besides the image itself."""

    preset: Preset = Preset.GENERAL
    language: Language = Language.EN
    scale: ConditionScale = ConditionScale.NEN2767
    question: str = ""
    page: int = 1
    """The page of a PDF to analyse (from 1); images ignore it."""
    tiles: str = "auto"
    """Drawings larger than the model's box: ``auto`` (an overview plus tiles) or ``off`` (the overview only)."""

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "preset": self.preset.value, "language": self.language.value, "scale": self.scale.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnalysisRequest:
        return cls(
            preset=Preset(data["preset"]),
            language=Language(data["language"]),
            scale=ConditionScale(data["scale"]),
            question=data.get("question", ""),
            page=data.get("page", 1),
            tiles=data.get("tiles", "auto"),
        )
