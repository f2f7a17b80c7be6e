"""The report document: everything a report says, decided and worded once, from the record.

``build`` turns the analyses, the inspector's review and the sign-off into a ``ReportDocument``: the cover (title,
sign-off, status, signature, the AI disclaimer once), the condition summary or the drawing register, one ``Entry``
per photo or sheet with its fields, findings, lists and notes already worded, and the appendix (how the model's
replies were read, photos removed, what was sent). The Word, HTML and terminal writers render it and decide nothing:
a label, a score's meaning, a caption or a status line is written here and nowhere else.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from image_analysis import fields, register, seriousness_defaults
from image_analysis.analysis import Analysis
from image_analysis.condition import NOT_OBSERVED, Derivation, derive_observed
from image_analysis.fields import Choices, FindingField, Level, Shown
from image_analysis.findings import DEFAULTED, Defect, DrawingFindings, InspectionFindings, TitleBlock, text_lists
from image_analysis.imaging.prepared import Preparation
from image_analysis.model import Description
from image_analysis.photo_map import GREY, scale_colours
from image_analysis.presets import ConditionStandard, Preset
from image_analysis.review import (
    ADDED,
    AI_NOT_REVIEWED,
    SIGNOFF_LABELS,
    Finding,
    Review,
    ai_findings,
    defect_number,
    model_scores,
    photo_condition,
    photo_derivation,
    scored_at_least,
    shown_score,
)
from image_analysis.safe_text import clean
from image_analysis.standards import aashto, nen2767
from image_analysis.vocabulary import CANNOT_TELL, URGENCIES
from image_analysis.wording import NO_BREAK, Field, file_size, long_date, photo_facts, position, taken

TITLES = {
    Preset.INSPECTION: "Site inspection report",
    Preset.DRAWING: "Drawing check report",
    Preset.GENERAL: "Image description",
}
DRAFT = "Draft: AI findings not reviewed"
DRAFT_DESCRIPTIONS = "Draft: AI descriptions not reviewed"
REVIEWED = "Reviewed"
FINAL = "Final"
HEADING_LENGTH = 70
"""Characters of what a photo shows kept in its heading (a model's element can be a sentence)."""


@dataclass(frozen=True)
class Column:
    label: str
    unbroken: bool = False
    """Never broken across lines: a number, a score, a reference."""
    key: str = ""
    """What the column holds, for a writer's styling (``inspector-note``, ``origin``, ``problems``)."""


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    name: str = ""
    """What the table is (``findings``, ``summary``, ``register``, ``sent``), for a writer's styling."""
    marks: tuple[str, ...] = ()
    """Per row: ``unreviewed`` (an AI finding not reviewed), ``problem`` (a register row with problems) or ``""``."""

    def __post_init__(self) -> None:
        cells = tuple(tuple(unbroken_numbers(clean(cell)) for cell in row) for row in self.rows)
        object.__setattr__(self, "rows", cells)


@dataclass(frozen=True)
class Listing:
    title: str
    items: tuple[str, ...]
    numbered: bool = False
    """Numbered from 1 in this list (a sheet's notes): the numbers are the writer's, never continued."""


@dataclass(frozen=True)
class Note:
    text: str
    kind: str = "warning"
    """``error`` (no description), ``warning`` (incomplete, not kept, not as asked), ``check`` (a finding that
    contradicts itself) or ``signoff`` (a cover's: not final as asked, not signed; also said on the command line)."""


@dataclass(frozen=True)
class Entry:
    """One photo or sheet, as every writer shows it."""

    number: int
    noun: str
    """``Photo``, ``Sheet``, ``Drawing`` or ``Image``."""
    title: str
    """What it shows (the element, the drawing number and title), or ``""``."""
    file_name: str
    caption: str
    preparation: Preparation | None
    """The pixels to show (its display copy and tiles); nothing else is read from it."""
    question: str = ""
    summary: str = ""
    fields: tuple[Field, ...] = ()
    fields_title: str = ""
    findings: Table | None = None
    findings_title: str = ""
    no_findings: str = ""
    """Said where the findings table would be, when there are none."""
    lists: tuple[Listing, ...] = ()
    answer: str | None = None
    """Markdown from the model (a general description), rendered with raw HTML disabled."""
    raw: str | None = None
    """A reply that could not be read as findings, shown as it came."""
    notes: tuple[Note, ...] = ()
    review_state: str = ""
    repairs: tuple[str, ...] = ()
    reply: str | None = None
    """The model's reply as it came, beside findings read from it (folded away in HTML)."""
    facts: tuple[Field, ...] = ()
    """Date, place and camera: the photo's own facts."""
    sent: tuple[Field, ...] = ()
    """What was sent to the model: sizes, bytes, tokens, the model."""
    failed: bool = False

    @property
    def heading(self) -> str:
        return f"{self.noun} {self.number}" + (f" — {self.title}" if self.title else "")

    @property
    def label(self) -> str:
        return f"{self.noun} {self.number}"


@dataclass(frozen=True)
class Cover:
    title: str
    status: str
    fields: tuple[Field, ...]
    signatory: str
    signable: bool
    """Whether the report may be signed (reviewed or final); a draft says ``NOT_FOR_SIGNATURE`` instead."""
    disclaimer: str
    counts: str
    footer: str
    """What every page's footer says beside its number: the project and the reference."""
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class ConditionSummary:
    """The condition summary: every finding worst first, the count per score, and the photos without findings."""

    table: Table | None
    counts: tuple[tuple[str, int, tuple[int, int, int]], ...]
    """Photos per condition score, worst first, each with its colour (the map's): a photo counts once, at the worst
    score of its findings as the record stands, however many defects it has."""
    lines: tuple[str, ...]
    """Which photos have no findings, and which no description."""
    title: str = "Condition summary"
    chart_title: str = "Photos per condition score"
    empty: str = "No defects were reported on any photo."


@dataclass(frozen=True)
class Appendix:
    repairs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Per entry (its heading) how its reply was read."""
    removed: tuple[str, ...] = ()
    sent: Table | None = None
    removed_title: str = ""
    title: str = "Appendix"
    repairs_title: str = "How the model's replies were read"
    repairs_intro: str = (
        "Where a reply did not come exactly in the findings format, the findings were read from it as listed; the "
        "replies themselves are kept unchanged in the HTML report."
    )
    sent_title: str = "What was sent to the model"
    derivation: tuple[tuple[str, Table], ...] = ()
    """The standard's tables the condition scores were derived by, each after its caption (none when no score was
    derived)."""
    derivation_intro: tuple[str, ...] = ()
    derivation_title: str = "How the condition scores were derived"


@dataclass(frozen=True)
class PhotoPair:
    """An element's previous photo beside its new one (display JPEGs), with what became of the previous defects."""

    previous: bytes = field(repr=False)
    current: bytes = field(repr=False)
    previous_caption: str
    current_caption: str
    comparable: str
    defects: Table | None
    new_defects: str = ""
    problem: str = ""

    @property
    def previous_uri(self) -> str:
        return _jpeg_uri(self.previous)

    @property
    def current_uri(self) -> str:
        return _jpeg_uri(self.current)


@dataclass(frozen=True)
class ChangedElement:
    """One element between the two inspections: its heading, the change in words, and its photo pairs."""

    heading: str
    summary: str
    worse: bool
    pairs: tuple[PhotoPair, ...]
    no_pair: str = ""
    history: str = ""
    """Every inspection of the element, oldest first, with the years between (shown from three on)."""


@dataclass(frozen=True)
class ChangesSection:
    """Changes since the previous inspection of the object: the elements' table, the elements worse first, and
    those not inspected this time (never called repaired)."""

    title: str
    counts: str
    yardstick: str
    elements: Table
    changed: tuple[ChangedElement, ...]
    not_inspected_title: str
    not_inspected: tuple[str, ...]
    unassigned: tuple[str, ...]


@dataclass(frozen=True)
class ReportDocument:
    preset: Preset
    cover: Cover
    entries: tuple[Entry, ...]
    summary: ConditionSummary | None = None
    register: Table | None = None
    register_title: str = "Drawing register"
    appendix: Appendix = field(default_factory=Appendix)
    changes: ChangesSection | None = None


def build(
    analyses: Sequence[Analysis], review: Review | None = None, title: str | None = None, today: date | None = None
) -> ReportDocument:
    """The report of ``analyses`` (numbered as the record numbers them) with the inspector's ``review``."""
    review = review or Review()
    today = today or datetime.now(UTC).date()
    preset = analyses[0].request.preset if analyses else Preset.GENERAL
    scale = analyses[0].request.scale.definition if analyses else None
    rows = register.build_register(analyses, today) if preset is Preset.DRAWING else []
    by_page = {row.page: row for row in rows}
    entries = tuple(_entry(result, review, by_page) for result in analyses)
    tally = Tally(preset, review)
    for result in analyses:
        tally.add(result)
    totals = tally.totals()
    effective = review.effective(ai_findings(analyses)) if preset is Preset.INSPECTION else []
    summary = None
    if preset is Preset.INSPECTION and scale:
        summary = ConditionSummary(
            _summary_table(effective, scale, model_scores(analyses)),
            _score_counts(totals, scale),
            (*_derivation_lines(totals, scale), *_summary_lines(entries)),
        )
    return ReportDocument(
        preset=preset,
        cover=_cover(totals, review, title, today),
        entries=entries,
        summary=summary,
        register=_register(rows) if rows else None,
        appendix=_appendix(preset, analyses, entries, review),
    )


def build_campaign(
    totals: Totals,
    shown: Sequence[Analysis],
    worst_from: str,
    scale: ConditionStandard,
    review: Review | None = None,
    title: str | None = None,
    today: date | None = None,
    pending: int = 0,
) -> ReportDocument:
    """The report of a campaign too large to show whole: the cover and the condition summary count every photo
    (``totals``, tallied one result at a time), the summary's table holds the findings scored ``worst_from`` or
    worse, worst first, and only the photos with such a finding (``shown``) get an entry; everything else is in the
    findings workbook and the CSV. ``pending``: photos with no answer imported yet, which the cover says."""
    review = review or Review()
    today = today or datetime.now(UTC).date()
    entries = tuple(_entry(result, review, {}) for result in shown)
    cover = _cover(totals, review, title, today, pending=pending)
    serious = [
        finding for finding in review.effective(ai_findings(shown)) if scored_at_least(finding, scale, worst_from)
    ]
    threshold = f"{scale.shown(worst_from)} or worse"
    photos = len({finding.photo for finding in serious})
    others = totals.findings - len(serious)
    lines = [
        f"Photo entries follow for the {_count(photos, 'photo')} with a finding scored {threshold} "
        f"({_count(len(serious), 'finding')}, listed above worst first); each entry shows all its findings."
    ]
    if others:
        lines.append(
            f"The other {_count(others, 'finding')}, and every photo, are in the findings workbook and the CSV."
        )
    if totals.without_findings:
        lines.append(f"{_count(totals.without_findings, 'photo')} without findings.")
    lines[:0] = _derivation_lines(totals, scale)
    summary = ConditionSummary(
        _summary_table(serious, scale, model_scores(shown)),
        _score_counts(totals, scale),
        tuple(lines),
        empty=f"No finding was scored {threshold}.",
    )
    return ReportDocument(
        preset=Preset.INSPECTION,
        cover=cover,
        entries=entries,
        summary=summary,
        appendix=_appendix(Preset.INSPECTION, shown, entries, review),
    )


def _appendix(preset: Preset, analyses: Sequence[Analysis], entries: Sequence[Entry], review: Review) -> Appendix:
    derived = any(_derives(result) for result in analyses)
    defaulted = derived and any(_defaulted(result) for result in analyses)
    if not derived and any(_states(result) for result in analyses):
        return Appendix(
            repairs=tuple((entry.heading, entry.repairs) for entry in entries if entry.repairs),
            removed=_removed(analyses, review) if entries and len(entries) == len(analyses) else (),
            removed_title=f"Removed {_noun(preset)}s",
            sent=_sent_table(entries),
            derivation=_state_tables(),
            derivation_intro=STATES_INTRO,
            derivation_title="How the condition states were found",
        )
    return Appendix(
        repairs=tuple((entry.heading, entry.repairs) for entry in entries if entry.repairs),
        removed=_removed(analyses, review) if entries and len(entries) == len(analyses) else (),
        removed_title=f"Removed {_noun(preset)}s",
        sent=_sent_table(entries) if preset is not Preset.GENERAL else None,  # a description has no audit trail
        derivation=_derivation_tables(defaulted) if derived else (),
        derivation_intro=(*DERIVATION_INTRO, *((DEFAULTS_NOTE,) if defaulted else ())) if derived else (),
    )


DERIVATION_INTRO = (
    "Each defect's condition follows from what was observed of it by NEN 2767's table: its seriousness (minor, "
    "serious, critical), its intensity (initial, advanced, final stage) and the share of the component it affects.",
    "A photo's defects are combined by their correction factors, each weighted by its share (the middle of its "
    "class: 1, 6, 20, 50 or 85 %), the rest of the component at condition 1; the weighted factor gives the condition "
    "up to each threshold. A defect with an observation the photo cannot tell has no condition, and its photo's is "
    "incomplete.",
    f"Sources: {nen2767.SOURCE}, as snirp/pressie, sjaajke/MijnRapportageApp and fomosman-cyber/fieldops-api give "
    "the table cell by cell; the correction factors and the worked example of the standard's rapporteur "
    "(kennispleinconditiemeten.nl). The shares standing for each class are this report's choice.",
)


DEFAULTS_NOTE = (
    "Where the model observed a defect's intensity and share but not its seriousness, the seriousness is its type's "
    "default (the last table): this project's defaults (or a table the user gave), not the standard's own defect "
    "lists (NEN 2767-2, a paid document). An inspector changes any observation in the review, and the condition "
    "follows."
)


STATES_INTRO = (
    "Each defect's AASHTO condition state (CS1 good, CS2 fair, CS3 poor, CS4 severe) is found by the defect's "
    "definition where the photo shows what the definition measures: a crack's width, or a spall's size across, read "
    "against a crack gauge, ruler or object of known size in view. Without one, the state is the model's estimate, "
    "and says so; a measure is never estimated. CS4 warrants a structural review and is the inspector's to give.",
    "The 0-9 rating of the component is a judgement, shown beside the states: the manual gives no formula from "
    "condition states to the rating.",
    f"Source: {aashto.SOURCE}, and defects 1110 and 1080, as state DOT handouts quote the 2019 manual.",
)


def _states(result: Analysis) -> bool:
    """Whether a defect of ``result`` has an AASHTO condition state (its scale has them)."""
    findings = result.parsed.findings
    return (
        isinstance(findings, InspectionFindings)
        and result.request.scale.definition.states
        and any(_state(defect, findings.element) is not None for defect in findings.defects)
    )


def _state(defect: Defect, element: str, defect_type: str = "") -> aashto.StateFinding | None:
    """A defect's condition state: by its definition from a measure read in the photo, else the model's estimate."""
    estimate = defect.condition_state
    state = aashto.ConditionState(int(estimate[2])) if estimate and estimate.startswith("CS") else None
    return aashto.defect_state(defect_type or defect.type, element, defect.measured_mm, defect.measured_against, state)


def _state_tables() -> tuple[tuple[str, Table], ...]:
    columns = (Column("AASHTO", unbroken=True), Column("Defect"), Column("CS1"), Column("CS2"), Column("CS3"))
    return (("The definitions a state is found by from a measure:", Table(columns, aashto.DEFINITIONS, "states")),)


def _derives(result: Analysis) -> bool:
    """Whether a condition was derived (or found incomplete) for ``result`` by its standard's rule."""
    findings = result.parsed.findings
    if not isinstance(findings, InspectionFindings):
        return False
    derivation = derive_observed(
        [(defect.seriousness, defect.intensity, defect.share) for defect in findings.defects],
        findings.condition_score,
        result.request.scale.definition,
    )
    return derivation is not None and derivation.state != NOT_OBSERVED


def _defaulted(result: Analysis) -> bool:
    """Whether a defect of ``result`` took its type's default seriousness (listed among its repairs)."""
    return any(DEFAULTED in repair for repair in result.parsed.repairs)


def _derivation_tables(defaulted: bool) -> tuple[tuple[str, Table], ...]:
    """NEN 2767's defect table (a row per seriousness and intensity, a column per share) and its correction
    factors with the threshold up to which each condition holds; the seriousness defaults when one was used."""
    shares = [f"{low:g}-{high:g}\u00a0%" for low, high in nen2767.EXTENT_BOUNDS.values()]
    shares[0], shares[-1] = "<\u00a02\u00a0%", ">=\u00a070\u00a0%"
    columns = (Column("Seriousness"), Column("Intensity"), *(Column(share, unbroken=True) for share in shares))
    rows = tuple(
        (seriousness.name.lower(), intensity.name.lower(), *(str(value) for value in values))
        for seriousness in reversed(nen2767.Seriousness)
        for intensity, values in nen2767.DEFECT_CONDITION[seriousness].items()
    )
    thresholds = dict((condition, most) for most, condition in nen2767.THRESHOLDS)
    factors = tuple(
        (str(condition), f"{factor:.2f}", f"up to {thresholds[condition]:.2f}" if condition in thresholds else "above")
        for condition, factor in nen2767.CORRECTION_FACTORS.items()
    )
    factor_columns = (Column("Condition", unbroken=True), Column("Correction factor"), Column("Weighted factor"))
    return (
        (
            "A defect's condition, by its seriousness and intensity (rows) and the share it affects (columns):",
            Table(columns, rows, "derivation"),
        ),
        (
            "Each condition's correction factor, and the weighted factor up to which a photo has it:",
            Table(factor_columns, factors, "factors"),
        ),
    ) + ((_seriousness_table(seriousness_defaults.active()),) if defaulted else ())


def _seriousness_table(table: seriousness_defaults.SeriousnessTable) -> tuple[str, Table]:
    """The seriousness a defect is given when the model observed it without one: the table in force, and whose."""
    columns = (Column("Defect"), Column("On an element named"), Column("Seriousness"), Column("Why"))
    rows = tuple((row.defect_type, row.element or "any", row.seriousness, row.why or "—") for row in table.rows)
    title = (
        "A defect's seriousness where the model gives none (each use is listed with the photo's repairs), "
        f"{table.source}:"
    )
    return title, Table(columns, rows, "seriousness")


def status(analyses: Sequence[Analysis], review: Review | None = None) -> str:
    """The report's status as its cover says it, without building the report (the findings workbook shows it)."""
    review = review or Review()
    preset = analyses[0].request.preset if analyses else Preset.GENERAL
    tally = Tally(preset, review)
    for result in analyses:
        tally.add(result)
    return status_of(tally.totals(), review)


def status_of(totals: Totals, review: Review) -> str:
    """The status the cover of a record with these ``totals`` and this ``review`` says."""
    return _status(totals, review).text


@dataclass(frozen=True)
class Totals:
    """What the cover and the condition summary count over a whole record, as ``Tally`` counted it."""

    preset: Preset
    count: int
    failed: tuple[int, ...]
    """The numbers of the photos without a description."""
    models: tuple[str, ...]
    not_kept: int
    findings: int
    """Defects as the record stands (each photo's reviewed ones where reviewed, the AI's otherwise)."""
    unreviewed: int
    """Rows still the AI's, not reviewed."""
    scores: tuple[tuple[str, int], ...]
    """Photos per condition score: each photo once, at its condition (``review.photo_condition``)."""
    without_findings: int
    """Photos described with no finding."""
    derived: int = 0
    """Photos with defects whose condition the standard derived from them."""
    not_derived: int = 0
    """Photos with defects on a standard with a rule whose condition could not be derived (an observation not given
    or that cannot be told): counted at the worst score of their findings."""


class Tally:
    """Counts a record one result at a time, so that a campaign of any size is counted without being held: what
    every cover and condition summary says is counted here, for a batch in memory and a campaign alike."""

    def __init__(self, preset: Preset, review: Review | None = None) -> None:
        self.preset, self.review = preset, review or Review()
        self.count = self.not_kept = self.unreviewed = self.without_findings = 0
        self.failed: list[int] = []
        self.models: set[str] = set()
        self.scores: Counter[str] = Counter()
        self.findings = self.derived = self.not_derived = 0

    def add(self, result: Analysis) -> None:
        self.count += 1
        if result.error:
            self.failed.append(result.number)
        if result.description:
            self.models.add(result.description.model)
        self.not_kept += bool(result.not_kept)
        if self.preset is not Preset.INSPECTION:
            return
        reviewed = result.number in self.review.reviewed_photos
        rows = self.review.for_photo(result.number) if reviewed else ai_findings([result])
        self.unreviewed += sum(1 for row in rows if row.status == AI_NOT_REVIEWED)
        defects = [row for row in rows if row.defect_type]
        self.findings += len(defects)
        if rows:
            scale = result.request.scale.definition
            self.scores[photo_condition(rows, scale) or CANNOT_TELL] += 1
            given = (
                result.parsed.findings.condition_score if isinstance(result.parsed.findings, InspectionFindings) else ""
            )
            derivation = photo_derivation(rows, scale, given) if defects else None
            if derivation is not None:
                self.derived += derivation.condition is not None
                self.not_derived += derivation.condition is None
        self.without_findings += bool(result.description and not result.error and not defects)

    def totals(self) -> Totals:
        return Totals(
            preset=self.preset,
            count=self.count,
            failed=tuple(self.failed),
            models=tuple(sorted(self.models)),
            not_kept=self.not_kept,
            findings=self.findings,
            unreviewed=self.unreviewed,
            scores=tuple(self.scores.items()),
            without_findings=self.without_findings,
            derived=self.derived,
            not_derived=self.not_derived,
        )


# ---------------------------------------------------------------------------------------------------------------
# The cover


@dataclass(frozen=True)
class _Status:
    text: str
    signable: bool
    note: Note | None = None
    """Why it is not what was asked (final, with findings still unreviewed)."""


NOT_SIGNED = "not signed"


def _status(totals: Totals, review: Review) -> _Status:
    """The report's status: a draft until every finding is reviewed, then reviewed, or final when asked; a reviewed
    or final report that names no inspector says it is not signed."""
    state = _review_status(totals, review)
    if not state.signable or review.signoff.inspector:
        return state
    note = Note(
        f"The report is {state.text.lower()} but not signed: no inspector is named. Give the inspector's name in "
        "the sign-off.",
        "signoff",
    )
    return replace(state, text=f"{state.text}, {NOT_SIGNED}", note=note)


def _review_status(totals: Totals, review: Review) -> _Status:
    open_rows = totals.unreviewed
    reviewed_any = bool(review.findings or review.deleted)
    if totals.preset is Preset.INSPECTION and (open_rows or not reviewed_any):
        text = DRAFT if not reviewed_any else f"Draft: {_count(open_rows, 'AI finding')} not reviewed"
        if review.signoff.final:
            left = _count(open_rows, "finding")
            note = Note(f"Not issued as final: {left} still the AI's, not reviewed. Review them first.", "signoff")
            return _Status(text, False, note)
        return _Status(text, False)
    if review.signoff.final:
        return _Status(FINAL, True)
    return _Status(REVIEWED, True) if reviewed_any else _Status(DRAFT_DESCRIPTIONS, False)


def _cover(totals: Totals, review: Review, title: str | None, today: date, pending: int | None = None) -> Cover:
    """The cover; ``pending`` (a campaign's: its photos have no entry of their own) says how many photos have no
    answer imported yet, and the note on photos without a description points to the workbook."""
    preset, signoff = totals.preset, review.signoff
    state = _status(totals, review)
    labels = {"location": "Object" if preset is Preset.INSPECTION else "Object / location"}
    shown = [(name, labels.get(name, label)) for name, label in _signoff_labels(preset)]
    every = preset is Preset.INSPECTION  # an inspection lists every sign-off field, to be filled if blank
    fields = [Field(label, getattr(signoff, name) or "—") for name, label in shown if every or getattr(signoff, name)]
    fields.append(Field("Report date", long_date(today)))
    notes = [state.note] if state.note else []
    failed = totals.failed
    if failed:
        noun = _noun(preset)
        numbers = ", ".join(str(number) for number in failed[:LISTED_FAILURES])
        if len(failed) > LISTED_FAILURES:
            numbers += f" and {len(failed) - LISTED_FAILURES} more, listed in the findings workbook"
        which = f"{noun} {numbers}" if len(failed) == 1 else f"{noun}s {numbers}"
        retry = "them" if len(failed) > 1 else "it"
        text = f"{_count(len(failed), noun)} without a description ({which}): "
        if pending is None:
            text += f"each says why. Run the analysis again to retry {retry}."
        else:
            text += "the Photos sheet of the findings workbook says why for each."
            if pending:
                text += f" {pending} of them {'has' if pending == 1 else 'have'} no answer imported yet: import "
                text += "the results and make the report again."
        notes.append(Note(text, "error"))
    if totals.not_kept:
        notes.append(Note(f"{_count(totals.not_kept, 'description')} shown but not kept; kept at the next run."))
    return Cover(
        title=clean(title or TITLES[preset]),
        status=state.text,
        fields=tuple(fields),
        signatory=signoff.inspector,
        signable=state.signable,
        disclaimer=_disclaimer(preset, totals.models, reviewed_by=signoff.inspector if state.signable else ""),
        counts=_counts(totals),
        footer=" · ".join(part for part in (signoff.project, signoff.reference) if part),
        notes=tuple(notes),
    )


LISTED_FAILURES = 30
"""Photos without a description named on the cover at most (a campaign's others are in the workbook)."""


def _signoff_labels(preset: Preset) -> list[tuple[str, str]]:
    labels = dict(SIGNOFF_LABELS)
    if preset is not Preset.INSPECTION:
        labels["inspector"], labels["date"] = "Checked by", "Date"
    return list(labels.items())


NOT_FOR_SIGNATURE = "A draft: to be signed once every finding is reviewed."


def _disclaimer(preset: Preset, models: Sequence[str], reviewed_by: str = "") -> str:
    model = ", ".join(models) or "no model"
    if preset is Preset.INSPECTION and reviewed_by:
        return (
            f"The findings were drafted by an AI vision model ({model}) from the photos and reviewed by "
            f"{reviewed_by}: each says whether the inspector confirmed, edited or added it."
        )
    if preset is Preset.INSPECTION:
        return (
            f"The findings were drafted by an AI vision model ({model}) from the photos alone. Each finding says "
            "whether the inspector confirmed, edited or added it; those marked \u201cAI, not reviewed\u201d are the "
            "model's and have not been checked."
        )
    if preset is Preset.DRAWING:
        return (
            f"The sheets were read by an AI vision model ({model}). Title-block fields marked \u201cPDF text\u201d "
            "come from the file's own text, which is used where it differs from the model's reading."
        )
    return f"The descriptions were written by an AI vision model ({model}) and have not been checked."


def _counts(totals: Totals) -> str:
    parts = [_count(totals.count, _noun(totals.preset))]
    if totals.preset is Preset.INSPECTION:
        parts.append(_count(totals.findings, "finding"))
    if totals.failed:
        parts.append(f"{len(totals.failed)} without a description")
    return " · ".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# The condition summary and the register

AS_ABOVE = "as above"
"""A summary cell that repeats the row above it (the same photo's element or action)."""


def _summary_table(effective: Sequence[Finding], scale: ConditionStandard, given: Mapping[int, str]) -> Table | None:
    """Every finding of ``effective`` ordered worst condition first, then most urgent first, then by photo."""
    urgency = {name: index for index, name in enumerate(URGENCIES)}
    defects = [finding for finding in effective if finding.defect_type]
    ordered = sorted(
        defects,
        key=lambda finding: (
            -scale.rank(finding.condition_score),
            urgency.get(finding.urgency, len(URGENCIES)),
            finding.photo,
        ),
    )
    summary = fields.summary_columns()
    rows = []
    for index, finding in enumerate(ordered):
        before = ordered[index - 1] if index else None
        above = before if before is not None and before.photo == finding.photo else None
        rows.append(tuple(_summary_cell(finding, above, field, scale, given) for field in summary))
    columns = tuple(Column(field.heading, unbroken=field.name in ("photo", "urgency")) for field in summary)
    marks = tuple("unreviewed" if finding.status == AI_NOT_REVIEWED else "" for finding in ordered)
    return Table(columns, tuple(rows), "summary", marks) if rows else None


def _summary_cell(
    finding: Finding, above: Finding | None, field: FindingField, scale: ConditionStandard, given: Mapping[int, str]
) -> str:
    """A finding's value in the summary's table: a photo's own words said once ("as above" under the same photo's
    same words), a score with its meaning and whether it was derived (``shown_score``)."""
    value = str(getattr(finding, field.name) or "")
    if field.choices is Choices.SCORES:
        return shown_score(finding, scale, given)
    if field.level is Level.PHOTO and field.choices is Choices.FREE and above is not None and value:
        if str(getattr(above, field.name) or "") == value:
            return AS_ABOVE
    return value if field.name == "defect_type" else value or "—"


def _score_counts(totals: Totals, scale: ConditionStandard) -> tuple[tuple[str, int, tuple[int, int, int]], ...]:
    """Photos per condition score, worst first, each with its colour (the map's)."""
    counted = Counter(dict(totals.scores))
    colours = scale_colours(scale)
    counts = tuple((scale.shown(code), counted[code], colours[code]) for code in reversed(scale.codes) if counted[code])
    if counted[CANNOT_TELL]:
        counts += ((CANNOT_TELL, counted[CANNOT_TELL], GREY),)
    return counts


def _derivation_lines(totals: Totals, scale: ConditionStandard) -> tuple[str, ...]:
    """How the photos were counted, on a scale whose standard derives a condition from the defects."""
    if scale.derive is None or not totals.derived + totals.not_derived:
        return ()
    standard = scale.name.split(" condition")[0]
    why = "an observation of a defect not given, or one the photo cannot tell"
    if not totals.derived:
        return (
            f"Each photo counts once, at the worst score of its findings: no photo's condition could be derived by "
            f"{standard} ({why}).",
        )
    line = (
        f"Each photo counts once, at its condition: its defects' conditions combined by {standard}'s correction "
        "factors (each entry shows how)"
    )
    if totals.not_derived:
        line += (
            f"; for {_count(totals.not_derived, 'photo')} the condition is not derived ({why}), and "
            f"{'it counts' if totals.not_derived == 1 else 'they count'} at the worst score of its findings"
        )
    return (line + ".",)


def _summary_lines(entries: Sequence[Entry]) -> tuple[str, ...]:
    """Which photos have no findings, and which no description."""
    without = [entry.heading for entry in entries if not entry.failed and entry.findings is None]
    failed = [entry.heading for entry in entries if entry.failed]
    return tuple(
        f"{label}: {'; '.join(headings)}."
        for label, headings in (("Photos without findings", without), ("Without a description", failed))
        if headings
    )


_REGISTER_COLUMNS = (
    Column("Sheet", unbroken=True),
    Column("Drawing number", unbroken=True),
    Column("Title"),
    Column("Rev.", unbroken=True),
    Column("Date", unbroken=True),
    Column("Scale", unbroken=True),
    Column("Status"),
    Column("Source"),
    Column("Problems", key="problems"),
)


def _register(rows: Sequence[register.RegisterRow]) -> Table:
    shown = tuple(
        (
            str(row.page),
            *(value or "—" for value in (row.drawing_number, row.title, row.revision, row.date, row.scale)),
            row.status or "—",
            row.source,
            "; ".join(row.problems) or "—",
        )
        for row in rows
    )
    return Table(_REGISTER_COLUMNS, shown, "register", tuple("problem" if row.problems else "" for row in rows))


def _removed(analyses: Sequence[Analysis], review: Review) -> tuple[str, ...]:
    """Photos the record numbers but the report no longer holds (their rows were deleted): their numbers are not
    given to others, and each is listed as removed, by whom."""
    numbers = {result.number for result in analyses}
    by = review.signoff.inspector or "the inspector"
    noun = _noun(analyses[0].request.preset if analyses else Preset.GENERAL).capitalize()
    return tuple(
        f"{noun} {number}: removed from the report by {by}."
        for number in range(1, max(numbers, default=0))
        if number not in numbers
    )


def _sent_table(entries: Sequence[Entry]) -> Table | None:
    rows = tuple(
        (
            entry.label,
            entry.file_name,
            _fact(entry.sent, "Original"),
            " ".join([_fact(entry.sent, "Sent") + ".", *(fact.value for fact in entry.sent if fact.label == "How")]),
            _fact(entry.sent, "Image tokens"),
        )
        for entry in entries
        if entry.sent
    )
    if not rows:
        return None
    columns = (
        Column("", unbroken=True),
        Column("File"),
        Column("Original"),
        Column("Sent to the model"),
        Column("Image tokens", unbroken=True),
    )
    return Table(columns, rows, "sent")


def _fact(facts: Sequence[Field], label: str) -> str:
    return next((fact.value for fact in facts if fact.label == label), "—")


# ---------------------------------------------------------------------------------------------------------------
# Entries


def _entry(result: Analysis, review: Review, by_page: dict[int, register.RegisterRow]) -> Entry:
    preparation, description, parsed = result.preparation, result.description, result.parsed
    preset = result.request.preset
    noun = _entry_noun(result)
    findings = parsed.findings
    notes = []
    if result.also_as:
        names = ", ".join(f"'{clean(name)}'" for name in result.also_as)
        notes.append(Note(f"Also uploaded as {names}: the same file, described once and listed once."))
    if result.error:
        notes.append(Note(f"No description: {result.error}", "error"))
    if result.not_kept:
        notes.append(Note(f"Shown but not kept: {result.not_kept} It is kept at the next run."))
    if description and description.truncated:
        notes.append(Note("This description is incomplete: the model stopped at its length limit."))
    if description and description.clipped:
        notes.append(Note("The reply was very long; only its first 100,000 characters are kept."))
    notes += [Note(flag, "check") for flag in parsed.flags]
    base = Entry(
        number=result.number,
        noun=noun,
        title="",
        file_name=clean(result.name),
        caption=caption(noun, result.number, preparation),
        preparation=preparation,
        question=clean(" ".join(result.request.question.split())),
        notes=tuple(notes),
        facts=tuple(photo_facts(preparation.metadata)) if preparation and not preparation.page else (),
        sent=(
            *(sent_facts(preparation, description.model if description else None) if preparation else ()),
            *_request_facts(description),
        ),
        failed=bool(result.error),
        repairs=tuple(parsed.repairs) if findings is not None else (),
        reply=description.text if description and findings is not None else None,
    )
    if result.error or description is None:
        return base
    if isinstance(findings, InspectionFindings):
        return _inspection(base, result, findings, review)
    if isinstance(findings, DrawingFindings):
        page = (preparation.page if preparation else None) or result.number
        return _drawing(base, findings, by_page.get(page))
    if parsed.problem and preset is not Preset.GENERAL:
        problem = Note(f"The reply did not come in the findings format ({parsed.problem}); it is shown as it came.")
        return replace(base, raw=description.text, notes=(*base.notes, problem))
    return replace(base, answer=description.text)


def _entry_noun(result: Analysis) -> str:
    preset = result.request.preset
    if preset is Preset.DRAWING:
        return "Sheet" if result.preparation and result.preparation.page else "Drawing"
    return "Photo" if preset is Preset.INSPECTION else "Image"


def _inspection(base: Entry, result: Analysis, findings: InspectionFindings, review: Review) -> Entry:
    scale = result.request.scale.definition
    rows = review.for_photo(result.number)
    reviewed = result.number in review.reviewed_photos
    shown = rows if reviewed else ai_findings([result])
    elements = list(dict.fromkeys(row.element for row in shown if row.element)) or [findings.element]
    derivation = photo_derivation(shown, scale, findings.condition_score)  # as the record stands
    condition = photo_condition(shown, scale) if shown else findings.condition_score
    actions = _one(row.recommended_action for row in shown)
    urgencies = _one(row.urgency for row in shown)
    fields = [
        Field("Element", "; ".join(elements) or "—"),
        Field("Material", findings.material or "—"),
        Field(
            scale.name[:1].upper() + scale.name[1:],
            scale.shown(condition)
            + _derived(derivation, scale, findings.condition_score)
            + _states_beside(shown, findings, scale),
        ),
        Field("Rationale", findings.condition_rationale or "—"),
    ]
    if actions is not None:
        fields.append(Field("Recommended action", actions or "—"))
    if urgencies is not None:
        fields.append(Field("Urgency", urgencies or "—"))
    fields.append(Field("Confidence", findings.confidence or "—"))
    if findings.cannot_tell:
        fields.append(Field("Cannot tell from the photo", "; ".join(findings.cannot_tell)))
    table = _findings_table(shown, findings, scale, reviewed, (actions is None, urgencies is None), derivation)
    defects = [row for row in shown if row.defect_type]
    lists = tuple(
        Listing(title, tuple(items)) for name, title, items in text_lists(findings) if name != "cannot_tell" and items
    )
    deleted = review.deleted_from(result.number)
    if deleted:
        lists += (Listing(DELETED_TITLE, tuple(_deleted(finding, review) for finding in deleted)),)
    return replace(
        base,
        title=_heading_title(elements[0] if elements else ""),
        summary=findings.summary,
        fields=tuple(fields),
        findings=table if defects else None,
        findings_title="Findings (reviewed)" if reviewed else "Findings",
        no_findings="" if defects else "No visible defects reported.",
        lists=lists,
        review_state=review.state(result.number),
    )


DELETED_TITLE = "AI findings deleted by the inspector"


def _deleted(finding: Finding, review: Review) -> str:
    """An AI finding the inspector deleted, as the model gave it, and by whom."""
    what = ", ".join(value for value in (finding.defect_type, finding.location, finding.extent) if value)
    note = f" Note: {finding.inspector_note}" if finding.inspector_note else ""
    return f"{finding.ref} ({what}): deleted by {review.signoff.inspector or 'the inspector'}.{note}"


def _one(values: object) -> str | None:
    """The value all rows share ("" when none has one), or ``None`` when they differ (then it is a column)."""
    distinct = set(values)  # type: ignore[call-overload]
    if len(distinct) > 1:
        return None
    return next(iter(distinct), "")


def _findings_table(
    rows: Sequence[Finding],
    findings: InspectionFindings,
    scale: ConditionStandard,
    reviewed: bool,
    per_row: tuple[bool, bool],
    derivation: Derivation | None = None,
) -> Table:
    """One row per defect: the columns ``fields.FINDING_FIELDS`` declares for a report, each when its rule says
    (what, where, how much always; the model's description of the defect; the score, action and urgency where the
    rows differ; the inspector's note where there is one; the origin once reviewed)."""
    notes = {
        number: defect.description
        for number, defect in enumerate(findings.defects, start=1)
        if isinstance(defect, Defect) and defect.description
    }
    defects = [row for row in rows if row.defect_type]
    differs = {"recommended_action": per_row[0], "urgency": per_row[1]}
    derived_only = derivation is not None and all(
        defect.observed and str(defect.condition) == row.condition_score
        for defect, row in zip(derivation.defects, defects, strict=True)
    )  # every score is the derived one, which each description's "Observed: ... → 3" gives
    rule = {
        Shown.ALWAYS: True,
        Shown.SCORE: not derived_only and (reviewed or len({row.condition_score for row in defects}) > 1),
        Shown.ANY: False,
        Shown.REVIEWED: reviewed,
    }
    shown = [
        field
        for field in fields.report_columns()
        if (differs.get(field.name, False) if field.shown == Shown.SHARED else rule[field.shown])
        or (field.shown == Shown.ANY and any(getattr(row, field.name) for row in defects))
    ]
    before = [field for field in shown if field.report_position < fields.DESCRIPTION_POSITION]
    after = [field for field in shown if field.report_position >= fields.DESCRIPTION_POSITION]
    columns = (
        Column("#", unbroken=True),
        *(_column(field) for field in before),
        Column("Description"),
        *(_column(field) for field in after),
    )
    cells = []
    given = {row.photo: findings.condition_score for row in defects}
    for number, row in enumerate(defects, start=1):
        description = notes.get(defect_number(row.ref) or 0, "") if row.status != ADDED else ""
        said = derivation.defects[number - 1] if derivation is not None else None
        if derivation is not None and derivation.state != NOT_OBSERVED and said is not None and said.observed:
            description = f"{description} {OBSERVED}: {said.text()}".strip()  # with what was said of the defect
        model_defect = _model_defect(findings, row)
        state = _state(model_defect, row.element, row.defect_type) if scale.states and model_defect else None
        if state is not None:
            description = f"{description} {CONDITION_STATE}: {state.text()}.".strip()
        line = [str(number), *(_cell(row, field, scale, given) for field in before), description or "—"]
        line += [_cell(row, field, scale, given) for field in after]
        cells.append(tuple(line))
    marks = tuple("unreviewed" if row.status == AI_NOT_REVIEWED and reviewed else "" for row in defects)
    return Table(columns, tuple(cells), "findings", marks)


_COLUMN_KEYS = {"inspector_note": "inspector-note", "status": "origin"}
"""The columns a page styles on their own (by their key)."""


CONDITION_STATE = "Condition state"
"""Before a defect's AASHTO condition state and how it was found, in its description."""
OBSERVED = "Observed"
"""Before each defect's observations and the condition the standard gives them, in its description."""


def _model_defect(findings: InspectionFindings, row: Finding) -> Defect | None:
    """The model's defect a row came from (none for one the inspector added)."""
    number = defect_number(row.ref) if row.status != ADDED else None
    if number is None or not 0 < number <= len(findings.defects):
        return None
    defect = findings.defects[number - 1]
    return defect if isinstance(defect, Defect) else None


def _states_beside(rows: Sequence[Finding], findings: InspectionFindings, scale: ConditionStandard) -> str:
    """The defects' condition states beside a judged rating: how many at each, and how many measured."""
    found = [
        state
        for row in rows
        if row.defect_type
        and (defect := _model_defect(findings, row)) is not None
        and (state := _state(defect, row.element, row.defect_type)) is not None
    ]
    if not scale.states or not found:
        return ""
    counts = Counter(f"CS{state.state.value}" for state in found)
    listed = ", ".join(f"{name} \u00d7{counts[name]}" for name in sorted(counts, reverse=True))
    measured = sum(state.measured for state in found)
    how = f"{measured} measured, {len(found) - measured} the model's estimate{'s' * (len(found) - measured != 1)}"
    return (
        f"; a judgement (the AASHTO manual gives no formula from condition states to the rating); condition states: "
        f"{listed} ({how})"
    )


def _derived(derivation: Derivation | None, scale: ConditionStandard, given: str) -> str:
    """How the photo's condition shown was derived by the scale's standard from its defects (and the model's own
    overall score, ``given``, where it differs), or why it was not (nothing for a scale without a rule)."""
    if derivation is None:
        return ""
    if derivation.condition is None:
        return f"; {derivation.how()}"
    model = f"; the model's overall score: {scale.shown(given)}" if given != derivation.condition else ""
    return f"; derived by the standard: {derivation.how()}{model}"


def _column(field: FindingField) -> Column:
    return Column(field.heading, key=_COLUMN_KEYS.get(field.name, ""))


def _cell(row: Finding, field: FindingField, scale: ConditionStandard, given: Mapping[int, str]) -> str:
    value = str(getattr(row, field.name) or "")
    if field.choices is Choices.SCORES:
        return shown_score(row, scale, given)
    if field.name in ("defect_type", "status"):
        return value
    return value or "—"


_ENUMERATOR = re.compile(r"^\s*(?:\(?\d{1,3}[.)]|\d{1,3}\s*[-:]|[-•*])\s+")


def _item(text: str) -> str:
    """A list item without the number or bullet the model wrote in front of it (the writer numbers the list)."""
    return _ENUMERATOR.sub("", text, count=1).strip() or text.strip()


def _drawing(base: Entry, findings: DrawingFindings, row: register.RegisterRow | None) -> Entry:
    block = findings.title_block
    checked = {item.name: item for item in row.fields} if row else {}
    fields = []
    for name, info in TitleBlock.model_fields.items():
        item = checked.get(name)
        value = item.value if item else getattr(block, name)
        source = item.source if item else "model"  # as the register took it
        fields.append(Field(info.title or name, value or "—", source if value else ""))
    title = " ".join(
        part
        for part in (
            checked.get("drawing_number") and checked["drawing_number"].value,
            checked.get("title") and checked["title"].value,
        )
        if part
    )
    lists = tuple(
        Listing(list_title, tuple(_item(item) for item in items), numbered=(name == "notes"))
        for name, list_title, items in text_lists(findings)
        if items
    )
    notes = base.notes
    if row and row.problems:
        notes = (*notes, *(Note(f"Register: {problem}", "check") for problem in row.problems))
    kind = Field("Kind of drawing", findings.drawing_kind or "—")
    return replace(
        base,
        title=_heading_title(title or (block.title or "")),
        summary=findings.summary,
        fields=(kind, *fields),
        fields_title="Title block",
        lists=lists,
        notes=notes,
    )


def _heading_title(text: str) -> str:
    """What an entry shows, as its heading says it: the first letter up, cut at a word near ``HEADING_LENGTH``."""
    text = " ".join(clean(text).split())
    if len(text) > HEADING_LENGTH:
        text = text[:HEADING_LENGTH].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------------------------
# Captions and facts, for people


def caption(noun: str, number: int, preparation: Preparation | None) -> str:
    """``Photo 3 — taken 14 March 2026 10:32 · 52.3731° N 4.8922° E · Apple iPhone 13 Pro``; a sheet says its page."""
    parts = []
    if preparation is not None and preparation.page:
        parts.append(f"page {preparation.page} of the PDF")
    elif preparation is not None:
        metadata = preparation.metadata
        if metadata.taken_at:
            parts.append(f"taken {taken(metadata.taken_at)}")
        if metadata.gps:
            parts.append(position(metadata.gps))
        if metadata.camera:
            parts.append(clean(metadata.camera))
    if not parts:  # the heading says "Photo 3" already
        return ""
    return f"{noun} {number} — " + " · ".join(parts)


def sent_facts(preparation: Preparation, model: str | None) -> list[Field]:
    """What went to the model: the original, the images sent, their bytes and tokens, the model."""
    source = preparation.source
    first, others = preparation.images[0], preparation.images[1:]
    sent = f"{first.width} × {first.height} px"
    if others:
        sent += f", overview + {len(others)} tiles"
    mimes = ", ".join(sorted({image.mime for image in preparation.images}))
    facts = [
        Field("File", clean(source.name)),
        Field("Original", f"{source.width} × {source.height} px, {source.format}, {file_size(source.bytes)}"),
        Field("Sent", f"{sent} ({mimes})"),
        Field("Bytes sent", file_size(sum(image.sent_bytes for image in preparation.images))),
        Field("Image tokens", f"{preparation.image_tokens:,}"),
    ]
    if model:
        facts.append(Field("Model", model))
    facts += [Field("How", clean(note)) for note in preparation.notes]
    return facts


def _request_facts(description: Description | None) -> list[Field]:
    """How the request was made, when it is worth saying (the server refused the structured output asked for)."""
    note = description.format_note if description else None
    return [Field("Request", clean(note))] if note else []


_NUMBER_UNIT = re.compile(r"(\d)[ ]+(?=(?:x|×|mm|cm|m|m2|m²|m3|kg|kN|t)\b|[×%°])")
_TIMES_NUMBER = re.compile(r"([x×])\s+(?=\d)")


_SQUARE = re.compile(r"(?<=\d)([ \u00a0]?)m([23])\b")


def unbroken_numbers(text: str) -> str:
    """``0.2 x 0.3 m`` kept on one line: a number stays with its unit and its ``x``; ``2 m2`` written ``2 m²``."""
    text = _TIMES_NUMBER.sub(rf"\1{NO_BREAK}", _NUMBER_UNIT.sub(rf"\1{NO_BREAK}", text))
    return _SQUARE.sub(lambda match: match.group(1) + "m" + "²³"[int(match.group(2)) - 2], text)


def _noun(preset: Preset) -> str:
    return {Preset.INSPECTION: "photo", Preset.DRAWING: "sheet"}.get(preset, "image")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _jpeg_uri(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii") if data else ""
