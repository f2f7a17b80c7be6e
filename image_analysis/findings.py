"""Structured findings asked of the model as JSON with a fixed schema, validated with pydantic.

The reply is untrusted: it is parsed and validated here, and when it does not fit, the caller shows the text as
it came with a note, never an error page.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from image_analysis.presets import ConditionScale, Preset
from image_analysis.safe_text import clean

DefectType = Literal[
    "crack",
    "spalling",
    "corrosion",
    "exposed rebar",
    "honeycombing",
    "efflorescence",
    "water ingress/staining",
    "deformation",
    "missing or damaged fixing",
    "vegetation",
    "debris",
    "other",
]
DEFECT_TYPES: tuple[str, ...] = get_args(DefectType)
Confidence = Literal["high", "medium", "low"]
Urgency = Literal["immediate", "within weeks", "within months", "next inspection", "none"]
CANNOT_TELL = "cannot tell from this photo"
MAX_NESTING = 32
"""Deepest nesting of arrays and objects read from a reply (the findings need four levels)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def _text(value: object) -> object:
    """Numbers where text is expected (a score of 3, a dimension of 5000) are taken as text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class Defect(_Model):
    """One visible defect: its type from the fixed vocabulary, where it is, how far it extends."""

    type: DefectType
    location: str = Field(description="where in the photo")
    extent: str = Field(default="", description="size, length, width or area, as far as visible")
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _vocabulary(cls, data: object) -> object:
        """A type outside the vocabulary becomes 'other', keeping the model's word in the description."""
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            kind = data["type"].strip().lower()
            if kind not in DEFECT_TYPES:
                data = {**data, "type": "other", "description": f"{kind}: {data.get('description') or ''}".strip()}
            else:
                data = {**data, "type": kind}
        return data


class InspectionFindings(_Model):
    """A site inspection of one photo."""

    element: str = Field(description="what is shown: structure, element or component")
    material: str = ""
    defects: list[Defect] = []
    condition_score: str = Field(description="a value of the named scale, or 'cannot tell from this photo'")
    condition_rationale: str = ""
    recommended_action: str = ""
    urgency: Urgency | str = "none"
    confidence: Confidence = "medium"
    cannot_tell: list[str] = Field(default=[], description="what this photo cannot show")
    summary: str = ""

    _score_to_text = field_validator("condition_score", mode="before")(_text)

    @field_validator("confidence", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class TitleBlock(_Model):
    """Title block fields (ISO 7200); ``None`` when not legible or absent."""

    owner: str | None = None
    drawing_number: str | None = None
    title: str | None = None
    revision: str | None = None
    date_of_issue: str | None = None
    scale: str | None = None
    creator: str | None = None
    approver: str | None = None
    status: str | None = None
    sheet: str | None = None
    document_type: str | None = None

    _numbers_to_text = field_validator("*", mode="before")(_text)


class DrawingFindings(_Model):
    """A QA check of one drawing."""

    drawing_kind: str = Field(description="floor plan, section, elevation, detail, schematic, ...")
    title_block: TitleBlock = TitleBlock()
    notes: list[str] = Field(default=[], description="general notes, word for word")
    dimensions: list[str] = []
    grid_lines: list[str] = []
    questions: list[str] = Field(default=[], description="inconsistencies or questions a checker should raise")
    summary: str = ""

    _to_text = field_validator("dimensions", "grid_lines", "notes", "questions", mode="before")(
        lambda value: [_text(item) for item in value] if isinstance(value, list) else value
    )


Findings = InspectionFindings | DrawingFindings


@dataclass(frozen=True)
class ParsedReply:
    """The findings read from a reply, or why they could not be (then the text is shown as it came)."""

    findings: Findings | None
    problem: str | None = None


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def parse_reply(preset: Preset, text: str, scale: ConditionScale = ConditionScale.NEN2767) -> ParsedReply:
    """Read the findings that ``preset`` asked for from the model's reply; general replies have none."""
    model = {Preset.INSPECTION: InspectionFindings, Preset.DRAWING: DrawingFindings}.get(preset)
    if model is None:
        return ParsedReply(None)
    candidate = _FENCE.sub("", text.strip())
    start, end = candidate.find("{"), candidate.rfind("}")
    if start < 0 or end <= start:
        return ParsedReply(None, "the reply holds no JSON object")
    if _nesting(candidate, start, end + 1) > MAX_NESTING:
        return ParsedReply(None, f"the reply nests arrays or objects more than {MAX_NESTING} levels deep")
    try:
        findings = model.model_validate(_cleaned(json.loads(candidate[start : end + 1])))
    except json.JSONDecodeError as error:
        return ParsedReply(None, f"the reply is not valid JSON ({error.msg})")
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "reply"
        return ParsedReply(None, f"the reply does not fit the findings format ({where}: {first['msg']})")
    if isinstance(findings, InspectionFindings):
        findings = _checked_score(findings, scale)
    return ParsedReply(findings)


def _nesting(text: str, start: int, end: int) -> int:
    """The deepest nesting of ``[`` and ``{`` in ``text[start:end]``, outside strings (one linear pass, so a
    hostile reply cannot make the parser recurse)."""
    depth = deepest = 0
    in_string = escaped = False
    for character in itertools.islice(text, start, end):
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest


def _cleaned(value: object) -> object:
    """Every string in decoded JSON cleaned (a ``\\u001b`` escape decodes to a control character)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    if isinstance(value, dict):
        return {clean(str(key)): _cleaned(item) for key, item in value.items()}
    return value


def _checked_score(findings: InspectionFindings, scale: ConditionScale) -> InspectionFindings:
    """A score off the named scale is not silently accepted: it becomes 'cannot tell' with the reason."""
    codes = {code.lower(): code for code in scale.definition.codes}
    score = findings.condition_score.strip()
    if score.lower() in codes:
        return findings.model_copy(update={"condition_score": codes[score.lower()]})
    if score.lower().startswith("cannot tell"):
        return findings.model_copy(update={"condition_score": CANNOT_TELL})
    rationale = f"(The model gave '{score}', which is not on the {scale.definition.name} scale.) "
    return findings.model_copy(
        update={"condition_score": CANNOT_TELL, "condition_rationale": rationale + findings.condition_rationale}
    )
