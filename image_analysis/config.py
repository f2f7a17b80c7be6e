"""Every setting the environment gives, read and checked in one place: its name, default and meaning.

- ``limits()``: the budget of one upload, the decoder and the store's lock wait, read where they are applied (five
  lookups: cheap), so that a setting changed for one run or one test needs no new process. A value that cannot be
  read leaves the default in place and is named by ``limits_problem()``, which the command line reports as one line
  before it does anything.
- ``service()``: the model service's address, key, model and patience, read each time a run starts (a command, an
  app job), so that every part of one run sees the same values; a value that cannot be read raises
  ``ServiceNotConfiguredError`` naming it.
- ``store_path()`` and ``debug()``: the command line's default store and whether it shows tracebacks.
- ``seriousness_path()``: a user's table of seriousness defaults, read by ``seriousness_defaults``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from image_analysis.errors import ServiceNotConfiguredError

DEFAULT_MODEL = "mistral.ministral-3-14b-instruct"
"""VIKTOR's built-in vision model."""

DECODERS = ("libvips", "Pillow")
"""``IMAGE_ANALYSIS_DECODER``: the fast engines where they apply (libjpeg-turbo, libvips, pillow-heif), or Pillow for
every format, the fallback."""


@dataclass(frozen=True)
class Limits:
    """The process-wide limits (environment variable in each field's metadata)."""

    memory_mb: int = field(default=1024, metadata={"env": "IMAGE_ANALYSIS_MEMORY_MB"})
    decode_seconds: float = field(default=20.0, metadata={"env": "IMAGE_ANALYSIS_DECODE_SECONDS"})
    max_upload_mb: float = field(default=50.0, metadata={"env": "IMAGE_ANALYSIS_MAX_UPLOAD_MB"})
    store_lock_seconds: float = field(default=3.0, metadata={"env": "IMAGE_ANALYSIS_STORE_LOCK_SECONDS"})
    decoder: str = field(default="libvips", metadata={"env": "IMAGE_ANALYSIS_DECODER"})


@dataclass(frozen=True)
class ServiceEnvironment:
    """The model service as the environment describes it; ``base_url`` empty: VIKTOR's built-in service."""

    base_url: str = field(default="", metadata={"env": "OPENAI_BASE_URL"})
    api_key: str = field(default="", repr=False, metadata={"env": "OPENAI_API_KEY"})
    model: str = field(default=DEFAULT_MODEL, metadata={"env": "VISION_MODEL"})
    timeout: float = field(default=120.0, metadata={"env": "VISION_TIMEOUT"})
    max_retries: int = field(default=2, metadata={"env": "VISION_MAX_RETRIES"})
    max_tokens: int = field(default=4096, metadata={"env": "VISION_MAX_TOKENS"})
    retry_after_cap: float = field(default=30.0, metadata={"env": "VISION_RETRY_AFTER_CAP"})
    stream_silence: float = field(default=30.0, metadata={"env": "VISION_STREAM_SILENCE"})
    structured: str = field(default="auto", metadata={"env": "VISION_STRUCTURED"})


STORE_ENV = "IMAGE_ANALYSIS_STORE"
DEBUG_ENV = "IMAGE_ANALYSIS_DEBUG"
SERIOUSNESS_ENV = "IMAGE_ANALYSIS_SERIOUSNESS"
"""A CSV file replacing the project's seriousness defaults (``seriousness_defaults``)."""


def _value(name: str, raw: str, default: object) -> object:
    """``raw`` read as the type of ``default``: a non-negative number, or text; ``ValueError`` names ``name``."""
    if isinstance(default, str):
        return raw
    try:
        value = float(raw) if isinstance(default, float) else int(raw)
    except ValueError:
        value = -1
    if value < 0:  # type: ignore[operator]
        raise ValueError(f"{name} must be a non-negative number, not {raw!r}.")
    return value


def _read(cls: type, environ: Mapping[str, str]) -> tuple[object, list[str]]:
    """An instance of ``cls`` from ``environ``, with the messages of the values that could not be read."""
    values: dict[str, object] = {}
    problems: list[str] = []
    for spec in fields(cls):
        raw = environ.get(spec.metadata["env"], "").strip()
        if not raw:
            continue
        try:
            values[spec.name] = _value(spec.metadata["env"], raw, spec.default)
        except ValueError as error:
            problems.append(str(error))
    return cls(**values), problems


def read_limits(environ: Mapping[str, str] = os.environ) -> tuple[Limits, str | None]:
    """The limits, and a message naming what could not be read (its default is used), or ``None``."""
    limits, problems = _read(Limits, environ)
    assert isinstance(limits, Limits)
    if limits.decoder not in DECODERS:
        problems.append(f"IMAGE_ANALYSIS_DECODER must be one of {', '.join(DECODERS)}, not {limits.decoder!r}.")
        limits = dataclasses.replace(limits, decoder=Limits.decoder)
    return limits, " ".join(problems) or None


def service(environ: Mapping[str, str] = os.environ) -> ServiceEnvironment:
    """The model service's settings as they are now; ``ServiceNotConfiguredError`` names a value that is not valid."""
    settings, problems = _read(ServiceEnvironment, environ)
    if problems:
        raise ServiceNotConfiguredError(problems[0])
    assert isinstance(settings, ServiceEnvironment)
    return settings


def store_path(environ: Mapping[str, str] = os.environ) -> str | None:
    """The command line's default store (``IMAGE_ANALYSIS_STORE``), or ``None``."""
    return environ.get(STORE_ENV, "").strip() or None


def seriousness_path(environ: Mapping[str, str] = os.environ) -> str | None:
    """The user's table of seriousness defaults (``IMAGE_ANALYSIS_SERIOUSNESS``), or ``None``: the project's."""
    return environ.get(SERIOUSNESS_ENV, "").strip() or None


def debug(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the command line shows a traceback for an internal error (``IMAGE_ANALYSIS_DEBUG``)."""
    return bool(environ.get(DEBUG_ENV, "").strip())


def limits(environ: Mapping[str, str] = os.environ) -> Limits:
    """The limits as the environment gives them now (a value that cannot be read: its default)."""
    return read_limits(environ)[0]


def limits_problem(environ: Mapping[str, str] = os.environ) -> str | None:
    """What of the limits could not be read, in one message, or ``None``."""
    return read_limits(environ)[1]
