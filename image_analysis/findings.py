"""Structured findings: the pydantic models are the single source of the prompt's template, the JSON schema sent
as ``response_format``, the parser, the tables and the CSV columns.

A reply is untrusted and a real model deviates from any format: ``parse_reply`` salvages the JSON
(``json_salvage``), finds the findings inside wrappers, then reads field by field. A field that does not fit keeps
the model's words where a text field can hold them, or falls back to its default, and never costs the others;
every repair is listed in ``ParsedReply.repairs`` so the reader sees what was read how.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeGuard, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from image_analysis.json_salvage import MAX_NESTING, salvage_json
from image_analysis.observations import (
    AGAINST_DEFINITION,
    DEFINITIONS,
    INTENSITIES,
    MEASURE_DEFINITION,
    SERIOUSNESS,
    SHARES,
    STATE_DEFINITION,
    STATES,
    CannotTell,
    IntensityWord,
    SeriousnessWord,
    ShareWord,
    StateWord,
    read_intensity,
    read_measure,
    read_seriousness,
    read_share,
    read_state,
)
from image_analysis.presets import ConditionScale, ConditionStandard, Preset
from image_analysis.safe_text import clean
from image_analysis.seriousness_defaults import SeriousnessTable
from image_analysis.vocabulary import (
    CANNOT_TELL,
    CHANGES,
    DEFECT_TYPES,
    Change,
    Comparable,
    Confidence,
    DefectType,
    Reading,
    Urgency,
    read_change,
    read_comparable,
    read_confidence,
    read_defect_type,
    read_score,
    read_urgency,
)

__all__ = ["CANNOT_TELL", "DEFECT_TYPES", "MAX_NESTING"]


@dataclass(frozen=True)
class Synonyms:
    """Other keys a model uses for a field (``defect_type`` for ``type``); compared lower-case, ``_`` for spaces."""

    names: tuple[str, ...]


def synonyms(*names: str) -> Synonyms:
    return Synonyms(names)


SummaryText = Annotated[str, synonyms("overall", "conclusion", "overview", "overall_summary")]


def _summary_field() -> Any:
    return Field("", title="Summary", description="one or two sentences")


def _texts(title: str, description: str) -> Any:
    """A list of text: what the template shows the model is ``[description]``."""
    return Field(default_factory=list, title=title, description=description)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)
    essential: ClassVar[tuple[str, ...]] = ()
    """Fields whose absence is said in the repair note (the others are simply left at their default)."""


class Defect(_Model):
    """One visible defect: its type from the fixed vocabulary, where it is, how far it extends."""

    type: Annotated[DefectType, synonyms("defect_type", "kind", "category", "defect", "defect_kind", "name")] = Field(
        "other", title="Type", description="one of the defect types listed above"
    )
    location: Annotated[str, synonyms("position", "where", "located", "place", "area", "loc")] = Field(
        "", title="Where in the photo", description="where in the photo"
    )
    extent: Annotated[str, synonyms("size", "dimensions", "length", "width", "dimension", "extent_visible")] = Field(
        "", title="Extent", description="size as visible"
    )
    description: Annotated[str, synonyms("notes", "note", "details", "detail", "comment", "comments", "remarks")] = (
        Field("", title="Notes", description="")
    )
    seriousness: Annotated[
        SeriousnessWord | CannotTell | None, synonyms("severity", "ernst", "importance", "seriousness_class", "gravity")
    ] = Field(None, title="Seriousness", description=DEFINITIONS["seriousness"])
    intensity: Annotated[
        IntensityWord | CannotTell | None,
        synonyms("intensiteit", "stage", "progression", "intensity_stage", "development"),
    ] = Field(None, title="Intensity", description=DEFINITIONS["intensity"])
    share: Annotated[
        ShareWord | CannotTell | None,
        synonyms("omvang", "extent_share", "extent_class", "share_affected", "affected_share", "percentage", "percent"),
    ] = Field(None, title="Share affected", description=DEFINITIONS["share"])
    condition_state: Annotated[
        StateWord | CannotTell | None, synonyms("state", "cs", "aashto_state", "element_state", "aashto")
    ] = Field(None, title="Condition state", description=STATE_DEFINITION)
    measured_mm: Annotated[
        float | None, synonyms("width_mm", "crack_width_mm", "crack_width", "size_mm", "measure_mm", "measured")
    ] = Field(None, title="Measured (mm)", description=MEASURE_DEFINITION)
    measured_against: Annotated[
        str, synonyms("reference", "reference_object", "scale_reference", "gauge", "measured_with")
    ] = Field("", title="Measured against", description=AGAINST_DEFINITION)


class InspectionFindings(_Model):
    """A site inspection of one photo."""

    essential: ClassVar[tuple[str, ...]] = ("element", "defects", "condition_score")

    element: Annotated[str, synonyms("structure", "component", "structural_element", "element_type", "subject")] = (
        Field("", title="Element", description="structure, element or component shown")
    )
    material: Annotated[str, synonyms("materials", "main_material", "material_type")] = Field(
        "", title="Material", description="main material"
    )
    defects: Annotated[
        list[Defect], synonyms("defect_list", "observed_defects", "visible_defects", "defects_found", "damage")
    ] = Field(default_factory=list, title="Defects")
    condition_score: Annotated[
        str, synonyms("score", "condition", "condition_rating", "rating", "condition_grade", "grade", "nen2767")
    ] = Field(
        CANNOT_TELL,
        title="Condition score",
        description=f"one value of the scale named above, or '{CANNOT_TELL}'",
    )
    condition_rationale: Annotated[
        str, synonyms("rationale", "reason", "reasoning", "justification", "score_rationale", "explanation")
    ] = Field("", title="Why", description="why this score: seriousness, extent and intensity of the visible defects")
    recommended_action: Annotated[
        str, synonyms("action", "actions", "recommendation", "recommendations", "recommended_actions", "remedy")
    ] = Field("", title="Recommended action", description="what should be done")
    urgency: Annotated[Urgency | str | None, synonyms("priority", "timeframe", "time_frame", "urgency_level")] = Field(
        None, title="Urgency"
    )
    confidence: Annotated[Confidence | None, synonyms("certainty", "confidence_level")] = Field(
        None, title="Confidence"
    )
    cannot_tell: Annotated[
        list[str], synonyms("limitations", "unknowns", "not_visible", "cannot_determine", "uncertainties")
    ] = _texts("Cannot tell from this photo", "what this photo cannot show, e.g. the far side of the beam")
    summary: SummaryText = _summary_field()


class DefectChange(_Model):
    """What became of one defect of the previous inspection, as the model sees it in the new photo."""

    ref: Annotated[str, synonyms("previous_ref", "finding", "defect_ref", "id", "reference", "previous")] = Field(
        "", title="Previous defect", description="the ref of the previous defect, as listed"
    )
    change: Annotated[Change | None, synonyms("status", "trend", "evolution", "verdict", "state", "result")] = Field(
        None, title="Change", description=" | ".join(CHANGES)
    )
    notes: Annotated[str, synonyms("description", "note", "details", "comment", "reason", "why", "evidence")] = Field(
        "", title="What shows it", description="what in the two photos shows it"
    )


class ChangeFindings(_Model):
    """The previous photo of an element against the new one: whether they can be compared, what became of each
    previous defect, and the defects that are new."""

    essential: ClassVar[tuple[str, ...]] = ("comparable", "previous_defects")

    comparable: Annotated[Comparable | None, synonyms("is_comparable", "can_compare", "comparison_possible")] = Field(
        None, title="Comparable", description="yes | no"
    )
    not_comparable_because: Annotated[
        str, synonyms("reason", "not_comparable_reason", "why_not_comparable", "comparability", "limitations")
    ] = Field("", title="Why not comparable", description="when not comparable: viewpoint, light, distance, framing")
    previous_defects: Annotated[
        list[DefectChange], synonyms("changes", "previous", "previous_findings", "defect_changes", "known_defects")
    ] = Field(default_factory=list, title="Previous defects")
    new_defects: Annotated[list[Defect], synonyms("new", "new_findings", "additional_defects", "defects")] = Field(
        default_factory=list, title="New defects"
    )
    summary: SummaryText = _summary_field()


class TitleBlock(_Model):
    """Title block fields (ISO 7200); ``None`` when not legible or absent."""

    drawing_number: Annotated[
        str | None, synonyms("drawing_no", "dwg_no", "number", "drawing_id", "document_number", "identification")
    ] = Field(None, title="Drawing number")
    title: Annotated[str | None, synonyms("drawing_title", "name")] = Field(None, title="Title")
    revision: Annotated[str | None, synonyms("rev", "revision_index")] = Field(None, title="Revision")
    date_of_issue: Annotated[str | None, synonyms("date", "issue_date", "date_issued", "issued")] = Field(
        None, title="Date of issue"
    )
    scale: Annotated[str | None, synonyms("drawing_scale")] = Field(None, title="Scale")
    creator: Annotated[str | None, synonyms("drawn_by", "author", "designer", "created_by", "drawn")] = Field(
        None, title="Created by"
    )
    approver: Annotated[str | None, synonyms("approved_by", "checked_by", "approved", "checker")] = Field(
        None, title="Approved by"
    )
    status: Annotated[str | None, synonyms("document_status", "drawing_status")] = Field(None, title="Status")
    sheet: Annotated[str | None, synonyms("sheet_number", "sheet_no", "sheet_of")] = Field(None, title="Sheet")
    owner: Annotated[str | None, synonyms("client", "legal_owner", "project_owner")] = Field(None, title="Owner")
    document_type: Annotated[str | None, synonyms("doc_type", "type")] = Field(None, title="Document type")


class DrawingFindings(_Model):
    """A QA check of one drawing."""

    essential: ClassVar[tuple[str, ...]] = ("drawing_kind", "title_block")

    drawing_kind: Annotated[str, synonyms("drawing_type", "kind", "type", "sheet_type")] = Field(
        "", title="Kind of drawing", description="floor plan | section | elevation | detail | schematic | other"
    )
    title_block: Annotated[TitleBlock, synonyms("titleblock", "title_block_fields", "title_block_data")] = Field(
        default_factory=TitleBlock, title="Title block"
    )
    notes: Annotated[list[str], synonyms("general_notes", "notes_as_written")] = _texts(
        "Notes (as written)", "each general note, word for word"
    )
    dimensions: Annotated[list[str], synonyms("dims", "dimension")] = _texts(
        "Dimensions", "each dimension you can read, with where it is"
    )
    grid_lines: Annotated[list[str], synonyms("grid", "grids", "gridlines", "grid_line_labels", "axes")] = _texts(
        "Grid lines", "each grid line label, with its spacing when given"
    )
    questions: Annotated[
        list[str], synonyms("issues", "inconsistencies", "checker_questions", "qa_questions", "observations")
    ] = _texts("Questions for the checker", "each inconsistency or question a checker should raise")
    summary: SummaryText = _summary_field()


Findings = InspectionFindings | DrawingFindings
_MODELS: dict[Preset, type[InspectionFindings] | type[DrawingFindings]] = {
    Preset.INSPECTION: InspectionFindings,
    Preset.DRAWING: DrawingFindings,
}


@dataclass(frozen=True)
class ParsedReply:
    """The findings read from a reply, what was repaired to read them, or why none could be (then the text is
    shown as it came)."""

    findings: Findings | None
    problem: str | None = None
    repairs: tuple[str, ...] = ()
    cut_off: bool = False
    """The JSON ended early (the reply was cut off): every complete field is kept."""
    flags: tuple[str, ...] = ()
    """Where the reply contradicts itself (``consistency``): for the reviewer to settle."""


def findings_model(preset: Preset) -> type[InspectionFindings] | type[DrawingFindings] | None:
    """The findings a preset asks for, or ``None`` (the general preset is free text)."""
    return _MODELS.get(preset)


# ---------------------------------------------------------------------------------------------------------------
# How findings are shown: the labels are the models' field titles (page, Word report and CSV alike)

_LISTS_SHOWN = ("questions", "notes", "dimensions", "grid_lines", "cannot_tell")
"""Lists of text in the order they are shown: for a QA check, the questions first."""


def text_lists(findings: Findings) -> list[tuple[str, str, list[str]]]:
    """``(name, title, items)`` of each list of text the findings hold, in the order shown."""
    fields = type(findings).model_fields
    return [(name, fields[name].title or name, getattr(findings, name)) for name in _LISTS_SHOWN if name in fields]


# ---------------------------------------------------------------------------------------------------------------
# What is asked: the template in the prompt and the JSON schema sent as response_format


def reply_template(model: type[_Model]) -> dict[str, Any]:
    """The JSON the prompt shows the model: each field with its description (or its allowed values)."""
    return {name: _template_value(info) for name, info in model.model_fields.items()}


def _template_value(info: FieldInfo) -> Any:
    annotation = info.annotation
    item = _list_item(annotation)
    if item is not None:
        return [reply_template(item) if _is_model(item) else info.description or ""]
    if _is_model(annotation):
        return reply_template(annotation)
    choices = _choices(annotation)
    if choices and annotation is not DefectType:
        return " | ".join(choices)
    if annotation == DefectType:
        return "crack"
    if type(None) in get_args(annotation):
        return None
    return info.description or ""


STATE_FIELDS = ("condition_state", "measured_mm", "measured_against")
"""A defect's AASHTO condition state and what it was measured from: asked on a scale with condition states (NBI)."""


def inspection_template(scale: ConditionScale) -> dict[str, Any]:
    """The inspection reply the prompt shows the model on ``scale``: a defect's condition state only where the scale
    has them."""
    template = reply_template(InspectionFindings)
    if not scale.definition.states:
        [defect] = template["defects"]
        template["defects"] = [{name: value for name, value in defect.items() if name not in STATE_FIELDS}]
    return template


def change_template(scale: ConditionScale) -> dict[str, Any]:
    """The change reply the prompt shows the model: new defects with the observations the scale asks for."""
    template = reply_template(ChangeFindings)
    if not scale.definition.states:
        [defect] = template["new_defects"]
        template["new_defects"] = [{name: value for name, value in defect.items() if name not in STATE_FIELDS}]
    return template


def change_schema(scale: ConditionScale = ConditionScale.NEN2767) -> dict[str, Any]:
    """The JSON schema of a change reply for ``response_format`` (strict-compatible, as ``response_schema``)."""
    schema = _strict(ChangeFindings.model_json_schema(), ChangeFindings.model_json_schema().get("$defs", {}))
    schema["properties"]["comparable"] = {"type": "string", "enum": list(get_args(Comparable))}
    schema["properties"]["previous_defects"]["items"]["properties"]["change"] = {
        "type": "string",
        "enum": list(CHANGES),
    }
    _defect_schema(schema["properties"]["new_defects"]["items"], scale)
    return schema


def parse_change_reply(text: str, scale: ConditionScale = ConditionScale.NEN2767) -> ParsedReply:
    """Read a change reply as ``parse_reply`` reads findings: salvaged, field by field, every repair listed."""
    return _parse(ChangeFindings, text, scale)


def response_schema(preset: Preset, scale: ConditionScale = ConditionScale.NEN2767) -> dict[str, Any] | None:
    """The JSON schema for ``response_format`` (strict-compatible: every property required, no extra ones, refs
    inlined), generated from the findings model; the condition score is limited to the codes of ``scale``."""
    model = findings_model(preset)
    if model is None:
        return None
    schema = _strict(model.model_json_schema(), model.model_json_schema().get("$defs", {}))
    if model is InspectionFindings:
        schema["properties"]["condition_score"] = {
            "type": "string",
            "enum": list(scale.definition.scores),
            "description": f"a value of the {scale.definition.name}, or '{CANNOT_TELL}'",
        }
        schema["properties"]["urgency"] = {"type": "string", "enum": list(get_args(Urgency))}
        _defect_schema(schema["properties"]["defects"]["items"], scale)
        schema["properties"]["confidence"] = {"type": "string", "enum": list(get_args(Confidence))}
    return schema


def _defect_schema(items: dict[str, Any], scale: ConditionScale) -> None:
    """A defect's schema limited to the listed observations, with condition states only on a scale that has them."""
    defect = items["properties"]
    for name, words in (("seriousness", SERIOUSNESS), ("intensity", INTENSITIES), ("share", SHARES)):
        defect[name] = {"type": "string", "enum": [*words, CANNOT_TELL], "description": DEFINITIONS[name]}
    if scale.definition.states:
        defect["condition_state"] = {
            "type": ["string", "null"],
            "enum": [*STATES, CANNOT_TELL, None],
            "description": STATE_DEFINITION,
        }
    else:
        for name in STATE_FIELDS:
            del defect[name]
        items["required"] = [name for name in items["required"] if name not in STATE_FIELDS]


def _strict(node: Any, definitions: dict[str, Any]) -> Any:
    """A pydantic schema made strict-compatible: ``$ref`` inlined, titles and defaults dropped, every object
    closed with all its properties required."""
    if isinstance(node, list):
        return [_strict(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _strict(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
    result = {
        key: _strict(value, definitions)
        for key, value in node.items()
        if key not in ("$defs", "title", "default", "examples") and not (key == "description" and not value)
    }
    if result.get("type") == "object" and "properties" in result:
        result["properties"] = {name: _strict(value, definitions) for name, value in node["properties"].items()}
        result["required"] = list(result["properties"])
        result["additionalProperties"] = False
    return result


# ---------------------------------------------------------------------------------------------------------------
# What came back: salvage, unwrap, read field by field


def parse_reply(
    preset: Preset,
    text: str,
    scale: ConditionScale = ConditionScale.NEN2767,
    defaults: SeriousnessTable | None = None,
) -> ParsedReply:
    """Read the findings that ``preset`` asked for from the model's reply; general replies have none. On a scale
    whose standard derives the condition, a defect observed without its seriousness takes the one ``defaults``
    gives its type (``seriousness_defaults``), listed as a repair."""
    model = findings_model(preset)
    if model is None:
        return ParsedReply(None)
    parsed = _parse(model, text, scale)
    if isinstance(parsed.findings, InspectionFindings) and defaults is not None and scale.definition.derive is not None:
        repairs = list(parsed.repairs)
        findings = _with_defaults(parsed.findings, defaults, repairs)
        return ParsedReply(findings, None, tuple(dict.fromkeys(repairs)), parsed.cut_off)
    return parsed


def _parse(model: type[_Model], text: str, scale: ConditionScale) -> ParsedReply:
    """The ``model`` read from a reply's salvaged JSON, field by field, with every repair."""
    salvaged = salvage_json(text)
    if salvaged.value is None:
        return ParsedReply(None, salvaged.problem)
    repairs = list(salvaged.repairs)
    data = _findings_object(_cleaned(salvaged.value), model, repairs)
    if data is None:
        return ParsedReply(None, "the reply's JSON holds no findings object", tuple(repairs), salvaged.cut_off)
    reader = _Reader(scale.definition, repairs)
    findings = reader.model(model, data, "", top=True)
    if not reader.recognised:
        return ParsedReply(None, "the reply's JSON has none of the findings' fields", tuple(repairs), salvaged.cut_off)
    return ParsedReply(findings, None, tuple(dict.fromkeys(repairs)), salvaged.cut_off)


DEFAULTED = "no seriousness given"
"""How a repair says a defect's seriousness is its type's default (``seriousness_defaults``)."""


def _with_defaults(findings: InspectionFindings, table: SeriousnessTable, repairs: list[str]) -> InspectionFindings:
    """Each defect observed (its intensity or share given) without a seriousness, with its type's default."""
    defects = []
    for number, defect in enumerate(findings.defects, start=1):
        observed = defect.intensity is not None or defect.share is not None
        default = table.default(defect.type, findings.element) if observed and defect.seriousness is None else None
        if default is not None:
            on = f" on a {default.element} element" if default.element else ""
            repairs.append(
                f"defect {number} ({defect.type}): {DEFAULTED}; {default.seriousness}, the default for "
                f"{defect.type}{on} ({default.why}; {table.source})"
            )
            defect = defect.model_copy(update={"seriousness": default.seriousness})
        defects.append(defect)
    return findings.model_copy(update={"defects": defects})


def _findings_object(value: Any, model: type[_Model], repairs: list[str]) -> dict[str, Any] | None:
    """The object holding the findings: unwrapped from ``{"findings": {...}}`` or ``[{...}]``; a bare list of
    defects becomes the defects of an inspection."""
    for _ in range(4):
        if isinstance(value, list):
            objects = [item for item in value if isinstance(item, dict)]
            if not objects:
                return None
            if model is InspectionFindings and all(_known(Defect, item) > _known(model, item) for item in objects):
                repairs.append("the reply was a list of defects only; read as the defects")
                return {"defects": objects}
            many = f"the first of {len(objects)} objects" if len(objects) > 1 else "its object"
            repairs.append(f"the findings came inside a list; {many} was read")
            value = objects[0]
            continue
        if not isinstance(value, dict):
            return None
        own = _known(model, value)
        inner = [
            (key, item)
            for key, item in value.items()
            if isinstance(item, dict | list) and _nested_known(model, item) > own
        ]
        if not inner:
            return value
        key, value = max(inner, key=lambda pair: _nested_known(model, pair[1]))
        repairs.append(f"the findings came wrapped in '{key}'; read from inside it")
    return value if isinstance(value, dict) else None


def _nested_known(model: type[_Model], value: Any) -> int:
    if isinstance(value, list):
        return max((_known(model, item) for item in value if isinstance(item, dict)), default=0)
    return _known(model, value)


def _known(model: type[_Model], data: dict[str, Any]) -> int:
    """How many of ``model``'s fields ``data`` holds (by name or synonym)."""
    keys = {_key(key) for key in data}
    return sum(1 for name, info in model.model_fields.items() if keys & _names(name, info))


def _key(key: object) -> str:
    return "_".join(str(key).replace("-", " ").split()).lower()


def _names(name: str, info: FieldInfo) -> set[str]:
    found = {name}
    for meta in info.metadata:
        if isinstance(meta, Synonyms):
            found.update(meta.names)
    return found


class _Reader:
    """Reads decoded JSON into a findings model field by field, noting every repair."""

    def __init__(self, scale: ConditionStandard, repairs: list[str]) -> None:
        self.scale = scale
        self.repairs = repairs
        self.recognised = 0
        self.leftover: list[str] = []
        """Words that fit no field (a title block written as a sentence), kept in the summary."""
        self.observed_words: list[str] = []
        """A defect's observations in words that name no listed value, kept in its notes."""

    def note(self, reading: Reading) -> str | None:
        if reading.note:
            self.repairs.append(reading.note)
        return reading.value

    def model(self, model: type[_Model], data: dict[str, Any], where: str, *, top: bool = False) -> Any:
        if model is Defect:
            data = self._observations_inside(data)
        values: dict[str, Any] = {}
        used: set[str] = set()
        by_key = {_key(key): key for key in data}
        for name, info in model.model_fields.items():
            key = next((by_key[alias] for alias in [name, *_names(name, info) - {name}] if alias in by_key), None)
            if key is None:
                if name in model.essential:
                    self.repairs.append(f"the reply gives no '{name}'")
                continue
            used.add(key)
            if top:
                self.recognised += 1
            if _key(key) != name:
                self.repairs.append(f"key '{key}' read as '{name}'")
            value = self.field(model, name, info, data[key], where + name)
            if value is not None or type(None) in get_args(info.annotation):
                values[name] = value
        unused = [str(key) for key in data if key not in used]
        if unused:
            listed = ", ".join(f"'{key}'" for key in unused[:5]) + (" and more" if len(unused) > 5 else "")
            self.repairs.append(f"not part of the findings, kept in the raw reply: {listed}")
        if "summary" in model.model_fields and self.leftover:
            values["summary"] = " ".join([values.get("summary", ""), *self.leftover]).strip()
            self.leftover.clear()
        if model is DefectChange and self.observed_words:
            values["notes"] = " ".join([values.get("notes", ""), *self.observed_words]).strip()
            self.observed_words.clear()
        if model is Defect:
            values = self._defect_type(values, data)
            if self.observed_words:
                kept = "; ".join(self.observed_words)
                values["description"] = f"{values.get('description', '')} ({kept})".strip()
                self.observed_words.clear()
        if model is InspectionFindings:
            values = self._score(values, data)
        return model(**values)

    def field(self, model: type[_Model], name: str, info: FieldInfo, value: Any, where: str) -> Any:
        annotation = info.annotation
        if model is InspectionFindings and name == "condition_score":
            return value  # read against the scale once the rationale is known (_score)
        if model is InspectionFindings and name == "confidence":
            unlisted = f"confidence {_shown(value)} is not high, medium or low; left blank"
            return self.listed(read_confidence(value), value, unlisted)
        if model is InspectionFindings and name == "urgency":
            text = self.text(value, where)
            if not text:
                return None
            reading = read_urgency(text)
            if reading.value is None:
                self.repairs.append(f"urgency '{text}' is not one of the listed urgencies; kept as written")
                return text
            return self.note(reading)
        if model is DefectChange and name == "change":
            unlisted = f"change {_shown(value)} is not one of {', '.join(CHANGES)}; left blank, the words kept"
            reading = read_change(value)
            if reading.value is None and value not in (None, ""):
                self.observed_words.append(f"the model wrote: {_shown(value)}")
            return self.listed(reading, value, unlisted)
        if model is ChangeFindings and name == "comparable":
            return self.listed(
                read_comparable(value), value, f"comparable {_shown(value)} is not yes or no; left blank"
            )
        if model is Defect and name == "type":
            return value  # read with the description (_defect_type)
        if model is Defect and name in _OBSERVATIONS:
            return self.observation(name, value, where)
        if model is Defect and name == "condition_state":
            return self.listed(read_state(value), value, f"condition state {_shown(value)} is not CS1-CS4; left blank")
        if model is Defect and name == "measured_mm":
            measure = read_measure(value)
            if measure is None and value not in (None, ""):
                self.repairs.append(f"measure {_shown(value)} is not a size in mm; left blank")
            return measure
        item = _list_item(annotation)
        if item is not None:
            return self.items(item, value, where, info)
        if _is_model(annotation):
            return self.nested(annotation, value, where)
        text = self.text(value, where)
        if type(None) in get_args(annotation):
            return text or None
        return text

    def listed(self, reading: Reading, value: Any, unlisted: str) -> str | None:
        """A value read as one on its list; ``None`` for none, saying ``unlisted`` when a value was given."""
        if reading.value is None and value not in (None, ""):
            self.repairs.append(unlisted)
        return self.note(reading)

    def _observations_inside(self, data: dict[str, Any]) -> dict[str, Any]:
        """A defect whose observations came as an object of their own (``{"nen2767": {"ernst": 2, ...}}``): read
        from inside it."""
        fields = Defect.model_fields
        wanted = {alias for name in _OBSERVATIONS for alias in _names(name, fields[name])}
        for key, value in data.items():
            if not isinstance(value, dict) or _key(key) in wanted:
                continue
            inner = {_key(name): name for name in value}
            if any(alias in inner for alias in wanted):
                self.repairs.append(f"the observations came inside '{key}'; read from there")
                rest = {name: item for name, item in data.items() if name != key}
                others = {name: item for name, item in value.items() if _key(name) not in wanted}
                if others:
                    rest[key] = others  # said as not part of the findings, and kept in the raw reply
                return {**rest, **{name: item for name, item in value.items() if _key(name) in wanted}}
        return data

    def observation(self, name: str, value: Any, where: str) -> str | None:
        """A defect's observation read as one of its listed words, "cannot tell", or (words naming none) "cannot
        tell" with the words kept in the defect's notes."""
        if value is None or value == "":
            return None
        reading = _OBSERVATIONS[name](value)
        if reading.value is None:
            words = self.text(value, where)
            self.repairs.append(f"{name} '{words}' is not one of the listed values; shown as cannot tell")
            self.observed_words.append(f"{name}: {words}")
            return CANNOT_TELL
        return self.note(reading)

    def text(self, value: Any, where: str) -> str:
        """Any JSON value as text: numbers and true/false as written, a list or object joined."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, int | float):
            return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, list):
            parts = [self.text(item, where) for item in value]
            self.repairs.append(f"'{where}' given as a list; its items were joined")
            return "; ".join(part for part in parts if part)
        if isinstance(value, dict):
            self.repairs.append(f"'{where}' given as an object; its fields were written out")
            return _written_out(value)
        return str(value)

    def items(self, item: type, value: Any, where: str, info: FieldInfo) -> list[Any]:
        if value is None:
            return []
        if _is_model(item):
            return self.objects(item, value, where)
        if isinstance(value, str):
            if not value.strip():
                return []
            self.repairs.append(f"'{where}' given as text; read as a list of one")
            return [value.strip()]
        if isinstance(value, dict):
            self.repairs.append(f"'{where}' given as an object; each field read as an item")
            return [_written_out({key: inner}) for key, inner in value.items()]
        if not isinstance(value, list):
            return [self.text(value, where)]
        texts = []
        for entry in value:
            if isinstance(entry, dict):
                texts.append(_written_out(entry))
            elif entry is not None:
                texts.append(self.text(entry, where))
        return [text for text in texts if text]

    def objects(self, item: type[_Model], value: Any, where: str) -> list[Any]:
        """A list of objects (the defects): a single object, a mapping by type, or text become a list."""
        if isinstance(value, str):
            if not value.strip() or value.strip().lower() in ("none", "n/a", "no visible defects", "no defects"):
                return []
            self.repairs.append(f"'{where}' given as text; read as one entry")
            return [self.model(item, {"description": value}, where + ".")]
        if isinstance(value, dict):
            if _known(item, value):
                self.repairs.append(f"'{where}' given as one object; read as a list of one")
                value = [value]
            else:
                self.repairs.append(f"'{where}' given as an object keyed by type; read as a list")
                value = [
                    {"type": key, **(inner if isinstance(inner, dict) else {"description": inner})}
                    for key, inner in value.items()
                ]
        if not isinstance(value, list):
            return []
        read = []
        for number, entry in enumerate(value, start=1):
            if isinstance(entry, str) and entry.strip():
                self.repairs.append(f"'{where}' entry {number} given as text; read as its notes")
                entry = {"description": entry}
            if isinstance(entry, dict) and any(entry.values()):
                read.append(self.model(item, entry, f"{where} {number}."))
            elif entry not in (None, "", {}):
                self.repairs.append(f"'{where}' entry {number} is {_shown(entry)}, not an entry; left out")
        return read

    def nested(self, model: type[_Model], value: Any, where: str) -> Any:
        if isinstance(value, dict):
            return self.model(model, value, where + ".")
        if isinstance(value, str) and value.strip():
            self.repairs.append(f"'{where}' given as text, not as its fields; the text is kept in the summary")
            self.leftover.append(f"({where.replace('_', ' ').capitalize()} as written: {value.strip()})")
            return model()
        return model()

    def _defect_type(self, values: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """The type read against the vocabulary; words outside it make it 'other', kept in the notes."""
        given = values.pop("type", None)
        description = values.get("description", "")
        if given is None or (isinstance(given, str) and not given.strip()):
            reading = read_defect_type(description) if description else Reading(None)
            kind = reading.value or "other"
            if reading.value:
                self.repairs.append(f"a defect without a type read as {kind} from its notes")
            return {**values, "type": kind}
        words = self.text(given, "type")
        reading = read_defect_type(words)
        if reading.value is None:
            self.repairs.append(f"defect type '{words}' is not on the list; recorded as other, the word kept")
            return {**values, "type": "other", "description": f"{words}: {description}".strip(" :")}
        self.note(reading)
        return {**values, "type": reading.value}

    def _score(self, values: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """The score read against the named scale; words naming no single code become 'cannot tell', kept in the
        rationale."""
        given = values.get("condition_score")
        if given is None or given == "":
            if "condition_score" in values:
                self.repairs.append("the condition score is empty; shown as cannot tell")
            values["condition_score"] = CANNOT_TELL
            return values
        reading = read_score(given, self.scale)
        if reading.value is not None:
            values["condition_score"] = self.note(reading)
            return values
        words = self.text(given, "condition_score")
        self.repairs.append(f"score '{words}' names no single value of the {self.scale.name}; shown as cannot tell")
        rationale = f"(The model gave '{words}', which is not on the {self.scale.name} scale.) "
        values["condition_rationale"] = rationale + values.get("condition_rationale", "")
        return {**values, "condition_score": CANNOT_TELL}


_OBSERVATIONS = {"seriousness": read_seriousness, "intensity": read_intensity, "share": read_share}
"""A defect's observations (``observations``), each with its reader."""


def _written_out(value: dict[str, Any]) -> str:
    """An object as one line of text, ``key: value`` pairs (nested values as compact JSON)."""
    parts = []
    for key, inner in value.items():
        if inner in (None, "", [], {}):
            continue
        shown = inner if isinstance(inner, str | int | float) else json.dumps(inner, ensure_ascii=False)
        parts.append(f"{key}: {shown}")
    return ", ".join(parts)


def _shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _cleaned(value: object) -> object:
    """Every string in decoded JSON cleaned (a ``\\u001b`` escape decodes to a control character)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    if isinstance(value, dict):
        return {clean(str(key)): _cleaned(item) for key, item in value.items()}
    return value


def _list_item(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is list else None


def _is_model(annotation: Any) -> TypeGuard[type[_Model]]:
    return isinstance(annotation, type) and issubclass(annotation, _Model)


def _choices(annotation: Any) -> tuple[str, ...]:
    """The fixed values of a ``Literal`` (also of every ``Literal`` in a union, ``Literal | Literal | None``)."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return tuple(value for part in get_args(annotation) if get_origin(part) is Literal for value in get_args(part))
