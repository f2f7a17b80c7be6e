"""Structured output: which ``response_format`` to ask a server for, and what each server has accepted.

The findings presets ask for a JSON schema (vLLM's guided decoding, Mistral's API, Ollama and llama.cpp's server
hold the reply to it). A server that rejects it is asked next for plain JSON mode, then for nothing; the level a
server and model accepted is remembered for the life of the process and logged once, so later requests start
there. ``VISION_STRUCTURED`` chooses: ``auto`` (that ladder), ``schema`` or ``json_object`` (only that, no
fallback: to test a server), ``off`` (never ask).
"""

from __future__ import annotations

import logging
import re
import threading
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from image_analysis.prompts import Prompt

log = logging.getLogger(__name__)


class Structured(StrEnum):
    """How strongly the reply's format is asked for: a JSON schema, any JSON object, or not at all."""

    AUTO = "auto"
    SCHEMA = "schema"
    JSON_OBJECT = "json_object"
    OFF = "off"


LADDER = (Structured.SCHEMA, Structured.JSON_OBJECT, Structured.OFF)
_REJECTION = re.compile(
    r"response[_ ]format|json[_ ]schema|json[_ ]object|structured|guided|grammar|not supported|unsupported", re.I
)


def response_format(level: Structured, prompt: Prompt) -> dict[str, Any] | None:
    """The ``response_format`` request field for ``level``; ``None`` sends none."""
    if prompt.schema is None or level is Structured.OFF:
        return None
    if level is Structured.JSON_OBJECT:
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": prompt.schema_name, "schema": prompt.schema, "strict": True}}


def rejects_format(status: int, message: str) -> bool:
    """Whether an error answer says the server cannot do the requested ``response_format`` (400 or 422 naming
    it, or saying "not supported")."""
    return status in (400, 422) and bool(_REJECTION.search(message))


class SupportRegister:
    """The level each (base URL, model) accepted, for the life of the process; thread-safe."""

    def __init__(self) -> None:
        self._accepted: dict[tuple[str, str], Structured] = {}
        self._lock = threading.Lock()

    def levels(self, setting: Structured, prompt: Prompt, base_url: str, model: str) -> tuple[Structured, ...]:
        """The levels to try, in order, for a request with ``prompt``."""
        if prompt.schema is None or setting is Structured.OFF:
            return (Structured.OFF,)
        if setting is not Structured.AUTO:
            return (setting,)
        with self._lock:
            start = self._accepted.get((base_url, model), Structured.SCHEMA)
        return LADDER[LADDER.index(start) :]

    def remember(self, base_url: str, model: str, level: Structured, reason: str) -> bool:
        """Record that ``level`` is what this server and model accept; ``True`` when that is news (then it is
        logged, once)."""
        with self._lock:
            if self._accepted.get((base_url, model)) is level:
                return False
            self._accepted[(base_url, model)] = level
        log.info(
            "the vision model service at %s does not accept a stricter response_format for model %s (%s); "
            "asking for %s from now on",
            urlsplit(base_url).netloc.rpartition("@")[2] or base_url,
            model,
            reason,
            "no format" if level is Structured.OFF else level.value,
        )
        return True

    def forget(self) -> None:
        """Start afresh (tests; a server that was upgraded)."""
        with self._lock:
            self._accepted.clear()


REGISTER = SupportRegister()
