"""One request with an element's previous photo and its new one: what the model suggests became of each previous
defect, which are new, or that the photos cannot be compared. The inspector decides (``inspection_store``).

The previous photo is sent first, each image captioned with its inspection's date; the previous defects go as data.
The previous photo is the one kept in the store: the pixels sent last time where the store keeps them (the local
store), else its display copy (1024 px, VIKTOR's storage). An answer is kept under a key of both photos, the previous
defects, the prompt and the model (``store_keys.change``): asked again, nothing is sent. A failed request is an
answer with its error, never an exception: one element's failure costs no other element its answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from image_analysis import model, prompts, store_keys
from image_analysis.analysis import Analysis
from image_analysis.errors import AnalysisError, StoreError
from image_analysis.findings import ChangeFindings, ParsedReply, parse_change_reply
from image_analysis.imaging.prepared import PreparedImage
from image_analysis.imaging.vision_grid import image_tokens
from image_analysis.presets import ConditionScale, Language
from image_analysis.store import ResultStore

PREVIOUS_FIRST = ("the previous inspection's photo", "this inspection's photo")


@dataclass(frozen=True)
class ChangeRequest:
    """An element's previous photo and its new one, with the previous defects (``ref``, type, where, extent,
    condition) and both inspections' dates."""

    element_id: str
    element: str
    """The element as the owner's list names it (id and name)."""
    previous: Analysis
    current: Analysis
    previous_defects: tuple[tuple[tuple[str, str], ...], ...]
    dates: tuple[str, str]
    scale: ConditionScale = ConditionScale.NEN2767
    language: Language = Language.EN

    @property
    def defects(self) -> list[dict[str, str]]:
        return [dict(defect) for defect in self.previous_defects]

    def prompt(self) -> prompts.Prompt:
        return prompts.change_prompt(self.defects, self.element, self.dates, self.scale, self.language)

    def key(self, model_name: str) -> str:
        """Where its answer is kept: both photos, the previous defects, the prompt's version, the language and the
        model. Not the dates its captions carry: an inspection's date signed later asks nothing again."""
        parts = [
            self.previous.record or self.previous.name,
            self.current.record or self.current.name,
            self.defects,
            self.element,
            prompts.change_version(self.scale),
            self.language.value,
            model_name,
        ]
        return store_keys.change(hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest())


@dataclass(frozen=True)
class ChangeAnswer:
    """The model's answer to a ``ChangeRequest`` (or why there is none)."""

    request: ChangeRequest
    description: model.Description | None = None
    error: str = ""
    from_store: bool = False

    @cached_property
    def parsed(self) -> ParsedReply:
        if self.description is None:
            return ParsedReply(None, self.error or "no answer")
        return parse_change_reply(self.description.text, self.request.scale)

    @property
    def findings(self) -> ChangeFindings | None:
        found = self.parsed.findings
        return found if isinstance(found, ChangeFindings) else None

    @property
    def comparable(self) -> bool | None:
        """Whether the model could compare the photos (``None``: no answer, or it did not say)."""
        found = self.findings
        if found is None or found.comparable is None:
            return None
        return found.comparable == "yes"


def images(request: ChangeRequest) -> list[PreparedImage]:
    """The two images in the order sent: the previous photo first, each labelled with its inspection's date.
    ``AnalysisError`` when a photo has no pixels to send."""
    return [
        _image(photo, f"{label} ({date or 'date not recorded'})")
        for photo, label, date in zip((request.previous, request.current), PREVIOUS_FIRST, request.dates, strict=True)
    ]


def answer_value(described: model.Description, element_id: str) -> dict[str, Any]:
    """How an answer is kept in the store, under its request's key (``kept`` reads it back; a campaign's import
    writes it so)."""
    return {"description": described.to_json(), "element_id": element_id}


def kept(
    request: ChangeRequest, model_name: str, store: ResultStore | None, any_language: bool = False
) -> ChangeAnswer | None:
    """The answer ``model_name`` gave to ``request`` as the store keeps it (``any_language``: in the request's
    language, else in any other); ``None`` when none is kept, or it cannot be read (asked again, it is sent again)."""
    if store is None:
        return None
    others = [language for language in Language if language is not request.language] if any_language else []
    for asked in (request, *(dataclasses.replace(request, language=language) for language in others)):
        try:
            value = store.get(asked.key(model_name))
            if value is not None and isinstance(value.get("description"), dict):
                return ChangeAnswer(asked, model.Description.from_json(value["description"]), from_store=True)
        except (StoreError, KeyError, TypeError, ValueError):
            continue
    return None


def compare(
    request: ChangeRequest, settings: model.ServiceSettings, store: ResultStore | None, any_language: bool = False
) -> ChangeAnswer:
    """The model's answer to ``request``: kept in ``store`` (asked again, nothing is sent; ``any_language``: an
    answer kept in another language will do); a failure is an answer with its error."""
    answer = kept(request, settings.model, store, any_language)
    if answer is not None:
        return answer
    try:
        sent = images(request)
        started = time.monotonic()
        described = model.describe(sent, request.prompt(), settings)
    except AnalysisError as error:
        return ChangeAnswer(request, error=str(error))
    described = dataclasses.replace(
        described, prompt_version=prompts.change_version(request.scale), seconds=time.monotonic() - started
    )
    answer = ChangeAnswer(request, described)
    if store is not None:
        try:
            store.put(request.key(settings.model), answer_value(described, request.element_id))
        except StoreError:
            pass  # the answer is shown all the same; asked again, it is sent again
    return answer


def compare_all(
    requests: Sequence[ChangeRequest],
    settings: model.ServiceSettings,
    store: ResultStore | None,
    any_language: bool = False,
) -> list[ChangeAnswer]:
    """Every request's answer, in order (one at a time: a re-inspection has tens of elements, not thousands)."""
    return [compare(request, settings, store, any_language) for request in requests]


def _image(photo: Analysis, label: str) -> PreparedImage:
    preparation = photo.preparation
    if preparation is None:
        raise AnalysisError(f"'{photo.name}' has no image kept to compare: describe it again with --store")
    if preparation.exact:
        return dataclasses.replace(preparation.images[0], label=label)
    shown = preparation.shown
    if shown is None:
        raise AnalysisError(f"'{photo.name}' has no image kept to compare: describe it again with --store")
    return PreparedImage(
        shown.mime, shown.width, shown.height, shown.data, image_tokens(shown.width, shown.height), label=label
    )


def summary(answer: ChangeAnswer) -> dict[str, Any]:
    """An answer as ``compare --json`` prints it."""
    found = answer.findings
    return {
        "element": answer.request.element_id,
        "previous_photo": answer.request.previous.name,
        "photo": answer.request.current.name,
        "comparable": answer.comparable,
        "not_comparable_because": found.not_comparable_because if found else "",
        "previous_defects": [
            {"ref": item.ref, "change": item.change, "notes": item.notes}
            for item in (found.previous_defects if found else [])
        ],
        "new_defects": [defect.type for defect in (found.new_defects if found else [])],
        "error": answer.error or answer.parsed.problem or "",
        "from_store": answer.from_store,
    }
