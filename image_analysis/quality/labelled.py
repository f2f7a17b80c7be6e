"""A firm's own labelled photos against one or more models and prompts: the comparison run before switching.

No public photo set carries NEN 2767 or NBI scores (``../shared/docs/quality-and-reinspection.md``), so the labels
are the user's: a CSV of ``LABEL_COLUMNS``, one row a photo (its file, relative to the CSV; its defect types, ``;``
between them, none for a sound photo; its condition on the scale; its element). Each model describes every photo
through the same pipeline, with the preset's own prompt and with each ``PromptVariant``, kept in the store (a second
run sends nothing), and is measured as the reviews are: defect types by micro precision and recall over (photo,
type), the photo's condition by exact agreement, within one step and linearly weighted kappa; with its tokens and
seconds per photo.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from image_analysis.analysis import Analysis
from image_analysis.findings import InspectionFindings
from image_analysis.presets import ConditionStandard
from image_analysis.prompts import MAX_QUESTION_CHARS
from image_analysis.quality.measures import Figure, kappa, share, steps
from image_analysis.review import ai_findings, photo_condition
from image_analysis.safe_text import clean
from image_analysis.spreadsheet import dict_rows
from image_analysis.vocabulary import DEFECT_TYPES

LABEL_COLUMNS = ("photo", "defect_types", "condition", "element")
MAX_LABELS = 10_000
MAX_INSTRUCTION = MAX_QUESTION_CHARS
"""Characters of a prompt variant's instruction: as many as the prompt takes of a question (more would be cut)."""


class LabelsError(ValueError):
    """A labels file that cannot be taken: its row and what to do."""


@dataclass(frozen=True)
class Label:
    photo: str
    """The file, relative to the labels file."""
    defect_types: frozenset[str]
    condition: str
    element: str = ""


def template() -> str:
    """An empty labels file: the header, and a line to copy for each photo."""
    return ",".join(LABEL_COLUMNS) + "\n"


def read_labels(text: str, source: str, scale: ConditionStandard) -> list[Label]:
    """The labels of a CSV (``LABEL_COLUMNS``); ``LabelsError`` naming the first row that is not one."""
    reader = dict_rows(text)
    missing = [name for name in LABEL_COLUMNS[:3] if name not in (reader.fieldnames or [])]
    if missing:
        raise LabelsError(f"{source}: no column '{missing[0]}' (the columns: {', '.join(LABEL_COLUMNS)})")
    labels: list[Label] = []
    for number, row in enumerate(reader, start=2):
        if len(labels) >= MAX_LABELS:
            raise LabelsError(f"{source}: more than {MAX_LABELS:,} photos; split the set")
        values = {name: clean(" ".join(str(row.get(name) or "").split())) for name in LABEL_COLUMNS}
        if not values["photo"]:
            raise LabelsError(f"{source}, row {number}: no photo named")
        types = frozenset(part.strip().lower() for part in values["defect_types"].split(";") if part.strip())
        unknown = sorted(types - set(DEFECT_TYPES))
        if unknown:
            raise LabelsError(
                f"{source}, row {number}: '{unknown[0]}' is not a defect type ({', '.join(DEFECT_TYPES)})"
            )
        condition = scale.read(values["condition"])
        if condition is None or condition not in scale.codes:
            raise LabelsError(
                f"{source}, row {number}: '{values['condition']}' is not on the {scale.name} ({scale.span()})"
            )
        labels.append(Label(values["photo"], types, condition, values["element"]))
    if not labels:
        raise LabelsError(f"{source}: no photo labelled (write one row a photo under the header)")
    return labels


@dataclass(frozen=True)
class PromptVariant:
    """A prompt compared on the labelled set: the preset's own, or the preset's with an instruction added (as the
    app's question field adds one), named after its file."""

    name: str
    instruction: str = ""

    @property
    def digest(self) -> str:
        """Which instruction, in 8 characters (empty for the preset's own prompt)."""
        return hashlib.sha256(self.instruction.encode("utf-8")).hexdigest()[:8] if self.instruction else ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.digest})" if self.digest else self.name


PRESET_PROMPT = PromptVariant("the preset's prompt")


def prompt_variant(name: str, text: str) -> PromptVariant:
    """The variant whose instruction is ``text`` (a file's, named ``name``); ``LabelsError`` when it is empty or
    longer than ``MAX_INSTRUCTION``."""
    instruction = clean(text.lstrip("\ufeff").strip())
    if not instruction:
        raise LabelsError(f"{name}: the instruction is empty (write what to add to the preset's prompt)")
    if len(instruction) > MAX_INSTRUCTION:
        raise LabelsError(f"{name}: the instruction is longer than {MAX_INSTRUCTION:,} characters; shorten it")
    return PromptVariant(clean(name), instruction)


@dataclass(frozen=True)
class Disagreement:
    """A photo where the model and the label differ: what each said."""

    photo: str
    label_types: tuple[str, ...]
    ai_types: tuple[str, ...]
    label_condition: str
    ai_condition: str
    picture: str = ""
    """The image as sent, reduced, as a data URI (empty when there is none)."""


@dataclass(frozen=True)
class ModelRun:
    """One model, with one prompt, on the labelled set."""

    model: str
    photos: int
    failed: int
    precision: Figure
    recall: Figure
    exact: Figure
    within_one: Figure
    kappa: Figure
    tokens: float | None
    """Tokens per photo described (prompt and reply)."""
    seconds: float | None
    """Seconds per photo, as the requests took (none for results from before timings were kept)."""
    sent: int
    """Photos sent to the model in this run (the others came from the store)."""
    disagreements: tuple[Disagreement, ...]
    prompt: PromptVariant = PRESET_PROMPT

    @property
    def name(self) -> str:
        """The model, and the prompt when it is not the preset's own."""
        return self.model if self.prompt == PRESET_PROMPT else f"{self.model} with {self.prompt.label}"


def compare(
    model: str,
    labels: Sequence[Label],
    results: Sequence[Analysis],
    scale: ConditionStandard,
    prompt: PromptVariant = PRESET_PROMPT,
) -> ModelRun:
    """``model``'s ``results`` with ``prompt`` (one per label, in order) against the labels (the disagreements
    without pictures: the page adds them)."""
    hits = found = wanted = 0
    pairs: list[tuple[str, str]] = []
    tokens: list[int] = []
    seconds: list[float] = []
    disagreements = []
    failed = sent = 0
    for label, result in zip(labels, results, strict=True):
        findings = result.parsed.findings if result.description else None
        if result.description is None or not isinstance(findings, InspectionFindings):
            failed += 1
            continue
        sent += not result.from_store
        described = result.description
        if described.prompt_tokens is not None and described.completion_tokens is not None:
            tokens.append(described.prompt_tokens + described.completion_tokens)
        if described.seconds is not None:
            seconds.append(described.seconds)
        rows = ai_findings([result])
        types = {row.defect_type for row in rows if row.defect_type}
        hits += len(types & label.defect_types)
        found += len(types)
        wanted += len(label.defect_types)
        condition = photo_condition(rows, scale)
        pairs.append((condition, label.condition))
        if types != label.defect_types or condition != label.condition:
            disagreements.append(
                Disagreement(
                    label.photo,
                    tuple(sorted(label.defect_types)),
                    tuple(sorted(types)),
                    label.condition,
                    condition,
                )
            )
    apart = steps(pairs, scale)
    return ModelRun(
        model=model,
        photos=len(labels),
        failed=failed,
        precision=share([True] * hits + [False] * (found - hits)),
        recall=share([True] * hits + [False] * (wanted - hits)),
        exact=share([step == 0 for step in apart]),
        within_one=share([abs(step) <= 1 for step in apart]),
        kappa=kappa(pairs, scale),
        tokens=sum(tokens) / len(tokens) if tokens else None,
        seconds=sum(seconds) / len(seconds) if seconds else None,
        sent=sent,
        disagreements=tuple(disagreements),
        prompt=prompt,
    )
