"""The vision model client: one Chat Completions request through the standard ``openai`` client.

The address comes from ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` when set (any OpenAI-compatible server),
otherwise from VIKTOR's built-in service (``vkt.ViktorOpenAI``). Nothing connects until ``describe`` runs.
Retries live in one place, ``_with_retries``: bounded (``VISION_MAX_RETRIES``), with backoff that honours the
service's ``Retry-After`` up to a cap (``VISION_RETRY_AFTER_CAP``), only where they can help. Each attempt has a
wall-clock deadline from connect to the last byte (``VISION_TIMEOUT``; a streamed reply also has a limit on silence
between chunks, ``VISION_STREAM_SILENCE``). The reply is read defensively: any shape the protocol does not promise,
and every failure, becomes one of the project's ``ServiceError`` classes with a message that says what to do.
Text in the reply is cleaned (``safe_text.clean``) as it enters.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, cast
from urllib.parse import urlsplit

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam

from image_analysis import config
from image_analysis.deadline import Deadline
from image_analysis.errors import (
    AuthenticationFailedError,
    EmptyReplyError,
    ImageTooLargeError,
    MalformedReplyError,
    RateLimitedError,
    RequestRejectedError,
    ServiceError,
    ServiceNotConfiguredError,
    ServiceUnreachableError,
)
from image_analysis.imaging.prepared import PreparedImage
from image_analysis.prompts import Prompt, image_captions
from image_analysis.safe_text import clean
from image_analysis.structured_output import REGISTER, Structured, rejects_format, response_format

DEFAULT_MODEL = config.DEFAULT_MODEL
DEFAULT_TIMEOUT_SECONDS = config.ServiceEnvironment.timeout
DEFAULT_MAX_RETRIES = config.ServiceEnvironment.max_retries
DEFAULT_MAX_TOKENS = config.ServiceEnvironment.max_tokens
DEFAULT_RETRY_AFTER_CAP = config.ServiceEnvironment.retry_after_cap
DEFAULT_STREAM_SILENCE = config.ServiceEnvironment.stream_silence
MAX_REPLY_CHARS = 100_000
"""A longer reply (a runaway generation) is clipped to this for the page, the reports and the cache."""
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0

log = logging.getLogger(__name__)

NOT_CONFIGURED = (
    "No vision model service is configured. Inside VIKTOR this is automatic; elsewhere set OPENAI_BASE_URL "
    "to an OpenAI-compatible server (for example http://localhost:11434/v1) and OPENAI_API_KEY if it needs one."
)


@dataclass(frozen=True)
class ServiceSettings:
    """Where and how to call the model; the key is never shown in ``repr``."""

    base_url: str
    api_key: str = field(repr=False)
    model: str = DEFAULT_MODEL
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    max_retries: int = DEFAULT_MAX_RETRIES
    max_tokens: int = DEFAULT_MAX_TOKENS
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    stream_silence: float = DEFAULT_STREAM_SILENCE
    """Longest silence between two chunks of a streamed reply."""
    structured: Structured = Structured.AUTO
    """Whether to ask for structured output (``response_format``) for the findings presets."""

    @classmethod
    def from_environment(cls, model: str | None = None) -> ServiceSettings:
        """Settings from the environment: ``OPENAI_BASE_URL`` first, else VIKTOR's built-in service."""
        environment = config.service()
        base_url = environment.base_url
        if base_url:
            api_key = environment.api_key or "not-needed"
        else:
            base_url, api_key = _viktor_service()
        return cls(
            base_url=base_url,
            api_key=api_key,
            model=model or environment.model,
            timeout=environment.timeout,
            max_retries=environment.max_retries,
            max_tokens=environment.max_tokens,
            retry_after_cap=environment.retry_after_cap,
            stream_silence=environment.stream_silence,
            structured=structured_setting(environment.structured),
        )


@dataclass(frozen=True)
class Description:
    """The model's reply: untrusted Markdown text, and whether it was cut off at the length limit."""

    text: str
    model: str
    truncated: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    clipped: bool = False
    """The reply was longer than ``MAX_REPLY_CHARS`` and only its start is kept."""
    structured: str = Structured.OFF.value
    """The ``response_format`` the reply was asked for: ``schema``, ``json_object`` or ``off``."""
    format_note: str | None = None
    """Said once per server and model: it did not accept the format first asked for, and what was asked instead."""
    prompt_version: str = ""
    """The digest of the prompt it was asked with (``prompts.prompt_version``); empty for results from before."""
    seconds: float | None = None
    """How long the request took, retries included (``None`` for results from before this was kept)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Description:
        return cls(**data)


def model_id() -> str:
    """The model to call: ``VISION_MODEL`` when set, else VIKTOR's built-in vision model."""
    return config.service().model


def build_messages(prompt: Prompt, images: Sequence[PreparedImage]) -> list[dict[str, Any]]:
    """The Chat Completions messages: the system role, then the request text and the images as data URIs
    (each with a caption when there are several: the overview and the tiles of a drawing)."""
    content: list[dict[str, Any]] = [{"type": "text", "text": prompt.user}]
    for caption, image in zip(image_captions(images), images, strict=True):
        if caption:
            content.append({"type": "text", "text": caption})
        content.append({"type": "image_url", "image_url": {"url": image.data_uri}})
    return [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": content},
    ]


def request_body(
    prompt: Prompt, images: Sequence[PreparedImage], model: str, max_tokens: int, level: Structured
) -> dict[str, Any]:
    """The Chat Completions request for ``images``, as a live call sends it and a batch line carries it (``campaign``):
    the model, the messages, the reply's length limit and, at ``level``, the ``response_format``."""
    body: dict[str, Any] = {"model": model, "messages": build_messages(prompt, images), "max_tokens": max_tokens}
    if (fmt := response_format(level, prompt)) is not None:
        body["response_format"] = fmt
    return body


def describe(images: Sequence[PreparedImage], prompt: Prompt, settings: ServiceSettings) -> Description:
    """Ask the model to describe ``images``; raises a ``ServiceError`` subclass on any failure.

    A prompt with a schema asks for structured output (``response_format``); a server that rejects it is asked
    again one level down (JSON mode, then none), and what it accepted is remembered (``structured_output``)."""
    levels = REGISTER.levels(settings.structured, prompt, settings.base_url, settings.model)
    deadline = Deadline()
    note = None
    with _client(settings, deadline) as client:
        level_index = 0
        while True:
            level = levels[level_index]
            body = request_body(prompt, images, settings.model, settings.max_tokens, level)
            try:
                completion = _with_retries(
                    functools.partial(client.chat.completions.create, **body),
                    settings,
                    deadline,
                    structured="response_format" in body,
                )
            except _FormatRejected as rejection:
                if level_index == len(levels) - 1:
                    raise rejection.error from None
                level_index = len(levels) - 1 if rejection.server_failed else level_index + 1
                note = rejection.reason
                continue
            break
    if note and REGISTER.remember(settings.base_url, settings.model, level, note):
        note = f"the service did not accept {_level_name(levels[0])} ({note}); asked for {_level_name(level)}"
    else:
        note = None
    return _description(completion, settings.model, structured=level, format_note=note)


def complete(body: dict[str, Any], settings: ServiceSettings) -> dict[str, Any]:
    """Send one request exactly as prepared (a campaign's line: its model, messages and format) with the retries and
    the deadline of a live call; the completion as JSON. Raises a ``ServiceError`` subclass on any failure."""
    deadline = Deadline()
    with _client(settings, deadline) as client:
        completion = _with_retries(functools.partial(client.chat.completions.create, **body), settings, deadline)
    return completion.model_dump(mode="json", exclude_unset=True)


SERVICE_FAILURES: tuple[type[Exception], ...] = (openai.APIError, httpx2.HTTPError)
"""What a call to the service raises when the service fails (``service_failure`` words it)."""


def batch_client(settings: ServiceSettings) -> openai.OpenAI:
    """The client for a server's files and batches API (a campaign's ``submit``, ``status`` and ``fetch``), with the
    client's own retries bounded by ``settings``."""
    return openai.OpenAI(
        base_url=settings.base_url, api_key=settings.api_key, timeout=settings.timeout, max_retries=settings.max_retries
    )


def service_failure(error: Exception, settings: ServiceSettings) -> ServiceError:
    """Any failure of a call to the service as the ``ServiceError`` that says it in one sentence (never the key)."""
    if isinstance(error, ServiceError):
        return error
    return _service_error(error, settings)


def description_from_body(body: Any, requested_model: str, structured: str = Structured.OFF.value) -> Description:
    """A completion's JSON (a batch engine's output line) read as a live reply is: every shape the protocol does
    not promise is a ``MalformedReplyError``, the text cleaned, a reply cut off at the length limit said so."""
    return _description(body, requested_model, structured=Structured(structured))


def _level_name(level: Structured) -> str:
    return {
        Structured.SCHEMA: "a JSON schema",
        Structured.JSON_OBJECT: "JSON mode",
        Structured.OFF: "no format",
    }[level]


class _FormatRejected(Exception):
    """The request's ``response_format`` was refused (or the server kept failing with it)."""

    def __init__(self, error: ServiceError, reason: str, *, server_failed: bool) -> None:
        super().__init__(reason)
        self.error, self.reason, self.server_failed = error, reason, server_failed


def stream(messages: list[dict[str, Any]], settings: ServiceSettings) -> Iterator[str]:
    """Stream a reply to ``messages`` as text chunks. It never raises once iterated: a failure, before or during
    the reply, ends the stream with one line that says what happened. The whole reply must arrive within
    ``settings.timeout``, with no silence longer than ``settings.stream_silence`` between chunks."""
    received, finished, reading = False, False, False
    deadline = Deadline()
    timeout = httpx2.Timeout(settings.timeout, read=min(settings.stream_silence, settings.timeout))
    try:
        with _client(settings, deadline) as client:
            chunks = _with_retries(
                lambda: client.chat.completions.create(
                    model=settings.model,
                    messages=cast("list[ChatCompletionMessageParam]", messages),
                    max_tokens=settings.max_tokens,
                    stream=True,
                    timeout=timeout,
                ),
                settings,
                deadline,
                keep_running=True,
            )
            reading = True
            for chunk in chunks:
                text, finish_reason = _chunk(chunk)
                if text:
                    received = True
                    yield text
                if finish_reason:
                    finished = True
                    if finish_reason == "length":
                        yield "\n\n*(The reply is incomplete: the model stopped at its length limit.)*"
    except ServiceError as error:
        yield f"\n\n*(The reply was cut off: {error})*" if received else str(error)
        return
    except (openai.APIError, httpx2.HTTPError, ValueError) as error:  # failures while the stream is being read
        if reading and not deadline.expired and isinstance(error, openai.APITimeoutError | httpx2.TimeoutException):
            message = (
                f"The vision model service at {host(settings.base_url)} sent nothing for "
                f"{settings.stream_silence:g} s. Please ask again (VISION_STREAM_SILENCE sets the limit)."
            )
        else:
            message = str(_service_error(error, settings, expired=deadline.expired))
        yield f"\n\n*(The reply was cut off: {message})*" if received else message
        return
    finally:
        deadline.stop()
    if not received:
        yield "The vision model sent an empty reply. Please ask again."
    elif not finished:
        yield "\n\n*(The reply stopped before it was complete. Please ask again.)*"


def _client(settings: ServiceSettings, deadline: Deadline) -> openai.OpenAI:
    """The standard client; its own retries are off, because ``_with_retries`` does them (with a cap), and
    ``deadline`` follows its connections."""
    return openai.OpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key,
        timeout=settings.timeout,
        max_retries=0,
        http_client=openai.DefaultHttpxClient(event_hooks={"request": [deadline.attach]}),
    )


def _with_retries(
    call: Callable[[], Any],
    settings: ServiceSettings,
    deadline: Deadline,
    *,
    keep_running: bool = False,
    structured: bool = False,
) -> Any:
    """Run ``call``, retrying where it can help (429, 408, 5xx, connection errors, timeouts) at most
    ``settings.max_retries`` times, with exponential backoff or the service's ``Retry-After`` up to
    ``settings.retry_after_cap``. Never on other 4xx. Every failure becomes a ``ServiceError``.

    Each attempt runs against ``deadline`` (``settings.timeout``); with ``keep_running`` the clock of the attempt
    that succeeds keeps running (a stream that is read after this returns) until the caller stops it.

    A ``structured`` request (one with ``response_format``) raises ``_FormatRejected`` at once when the service
    says it cannot do that format, and when it still fails with a 5xx after the retries (some servers answer an
    unsupported schema with 500): the caller then asks without it."""
    for attempt in range(settings.max_retries + 1):
        deadline.start(settings.timeout)
        try:
            result = call()
        except (openai.APIError, httpx2.HTTPError, ValueError) as error:
            deadline.stop()
            status = error.status_code if isinstance(error, openai.APIStatusError) else None
            said = ""
            if structured and isinstance(error, openai.APIStatusError):
                said = _service_message(error, settings.api_key)
            if said and status and rejects_format(status, said):
                reason = f"HTTP {status}: {said[:120]}"
                raise _FormatRejected(_service_error(error, settings), reason, server_failed=False) from None
            delay = _retry_delay(error, attempt, settings)
            if attempt == settings.max_retries or delay is None:
                failure = _service_error(error, settings, attempts=attempt + 1, expired=deadline.expired)
                if structured and status and status >= 500:
                    raise _FormatRejected(failure, f"HTTP {status} with it", server_failed=True) from None
                raise failure from None
            log.info("vision model request failed (%s); retry %d in %.1f s", type(error).__name__, attempt + 1, delay)
            time.sleep(delay)
            continue
        if not keep_running:
            deadline.stop()
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_delay(error: Exception, attempt: int, settings: ServiceSettings) -> float | None:
    """Seconds to wait before retrying after ``error``, or ``None`` when retrying cannot help."""
    if isinstance(error, openai.APIConnectionError):  # includes timeouts
        return _backoff(attempt, settings)
    if not isinstance(error, openai.APIStatusError) or not (
        error.status_code in (408, 429) or error.status_code >= 500
    ):
        return None
    asked = _retry_after(error.response.headers)
    if asked is None:
        return _backoff(attempt, settings)
    if asked > settings.retry_after_cap:
        return None  # the service asks for longer than we wait: say so now instead of failing later
    return max(asked, 0.0)


def _backoff(attempt: int, settings: ServiceSettings) -> float:
    return min(INITIAL_BACKOFF * 2**attempt, MAX_BACKOFF, settings.retry_after_cap) * (1 - 0.25 * random.random())  # noqa: S311


def _retry_after(headers: Any) -> float | None:
    """The wait the service asks for: ``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date.

    A value that is neither a finite non-negative number nor a valid date (``nan``, ``-5``, ``inf``, garbage) is
    ignored, and the client's own backoff applies."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            try:
                return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
            except (TypeError, ValueError, IndexError, OverflowError):
                seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
        log.info("ignoring an invalid %s header: %r", name, value[:40])
    return None


def _description(
    completion: Any, requested_model: str, *, structured: Structured = Structured.OFF, format_note: str | None = None
) -> Description:
    """The reply read defensively: every shape the protocol does not promise is a ``MalformedReplyError``."""
    choices = _field(completion, "choices")
    if choices is not None and not isinstance(choices, list):
        raise _malformed(f"'choices' is {_kind(choices)}")
    if not choices:
        raise EmptyReplyError("The vision model sent a reply without any description. Please try again.")
    choice = choices[0]
    if choice is None or isinstance(choice, str | int | float | list):
        raise _malformed(f"its first choice is {_kind(choice)}")
    message = _field(choice, "message")
    if message is None or isinstance(message, str | int | float | list):
        raise _malformed("it has no message" if message is None else f"its message is {_kind(message)}")
    finish_reason = _text_or_none(_field(choice, "finish_reason"))
    text = _content_text(_field(message, "content")).strip()
    if not text:
        if finish_reason == "content_filter":
            raise EmptyReplyError("The vision model service withheld its reply (content filter).")
        raise EmptyReplyError("The vision model sent a reply without any description. Please try again.")
    usage = _field(completion, "usage")
    clipped = len(text) > MAX_REPLY_CHARS
    return Description(
        text=clean(text[:MAX_REPLY_CHARS] if clipped else text),
        clipped=clipped,
        model=clean(_text_or_none(_field(completion, "model")) or requested_model),
        truncated=finish_reason == "length",
        prompt_tokens=_count(_field(usage, "prompt_tokens")),
        completion_tokens=_count(_field(usage, "completion_tokens")),
        structured=structured.value,
        format_note=format_note,
    )


def _chunk(chunk: Any) -> tuple[str, str | None]:
    """The text and finish reason of one streamed chunk (chunks without a choice carry usage or nothing)."""
    choices = _field(chunk, "choices")
    if not isinstance(choices, list) or not choices or choices[0] is None:
        return "", None
    delta = _field(choices[0], "delta")
    text = _content_text(_field(delta, "content")) if delta is not None else ""
    return clean(text), _text_or_none(_field(choices[0], "finish_reason"))


def _content_text(content: Any) -> str:
    """A message's ``content``: a string, or (as Mistral's API sends) a list of text parts; nothing else."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        parts = [_field(part, "text") for part in content if _field(part, "type") == "text"]
        if parts and all(isinstance(part, str) for part in parts):
            return "".join(parts)
    raise _malformed(f"its content is {_kind(content)}")


def _field(value: Any, name: str) -> Any:
    """An attribute of a response object (the client builds them without validation) or a key of a dict."""
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_KINDS = {type(None): "empty", str: "text", int: "a number", float: "a number", bool: "true/false", list: "a list"}


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, dict) else _KINDS.get(type(value), "of an unexpected kind")


def _malformed(what: str) -> MalformedReplyError:
    return MalformedReplyError(
        f"The vision model service sent a reply that does not follow the Chat Completions protocol ({what}). "
        "Please try again; if it persists, check that OPENAI_BASE_URL points to an OpenAI-compatible server."
    )


def _service_error(
    error: Exception, settings: ServiceSettings, attempts: int = 1, *, expired: bool = False
) -> ServiceError:
    """Translate an ``openai`` (or, while a stream is read, ``httpx``) error into the project's error with a
    message that says what to do. ``expired``: the attempt's deadline ended it."""
    where = host(settings.base_url)
    tries = f" (tried {attempts} times)" if attempts > 1 else ""
    if isinstance(error, openai.RateLimitError):
        return RateLimitedError("Fair usage limit reached. Please try again later.")
    if expired or isinstance(error, openai.APITimeoutError | httpx2.ConnectTimeout | httpx2.WriteTimeout):
        return ServiceUnreachableError(
            f"The vision model service at {where} did not finish within {settings.timeout:g} s{tries}. "
            "Please try again in a moment (VISION_TIMEOUT sets the limit)."
        )
    if isinstance(error, openai.APIConnectionError | httpx2.TransportError):
        return ServiceUnreachableError(
            f"The vision model service at {where} could not be reached{tries}. Check the connection and try again."
        )
    if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return AuthenticationFailedError(
            f"The vision model service refused the credentials (HTTP {error.status_code}). Inside VIKTOR, "
            "reload the app; elsewhere check OPENAI_API_KEY."
        )
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        if status == 413:
            return ImageTooLargeError(
                "The image is too large for the vision model service (HTTP 413). "
                "Upload a smaller image or a crop of the area of interest."
            )
        if status >= 500:
            return ServiceUnreachableError(
                f"The vision model service failed (HTTP {status}){tries}. Please try again later."
            )
        detail = _service_message(error, settings.api_key)
        return RequestRejectedError(
            f"The vision model service rejected the request (HTTP {status})" + (f": {detail}" if detail else ".")
        )
    return ServiceError("The vision model service sent a reply that could not be read. Please try again.")


def _service_message(error: openai.APIStatusError, api_key: str) -> str:
    """The service's own explanation, as one short line of plain text (never an HTML page, never the key)."""
    body = error.body
    message: Any = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
    if not isinstance(message, str):
        message = ""
    message = " ".join(message.split())
    if message.startswith("<"):
        return ""
    if api_key and len(api_key) > 3:
        message = message.replace(api_key, "[key]")
    return clean(message[:300])


def host(base_url: str) -> str:
    """The host of a service address as messages name it: never the credentials a URL may carry."""
    parts = urlsplit(base_url)
    return parts.netloc.rpartition("@")[2] or base_url


def _viktor_service() -> tuple[str, str]:
    """VIKTOR's built-in service; outside VIKTOR its environment is missing and that is said plainly."""
    try:
        import viktor as vkt

        return vkt.ViktorOpenAI.get_base_url(version="v1"), vkt.ViktorOpenAI.get_api_key()
    except (ImportError, KeyError, AttributeError) as error:
        raise ServiceNotConfiguredError(NOT_CONFIGURED) from error


def structured_setting(raw: str) -> Structured:
    """``VISION_STRUCTURED`` read; a value that is not a level raises ``ServiceNotConfiguredError`` naming it."""
    raw = raw.lower()
    try:
        return Structured(raw)
    except ValueError:
        choices = ", ".join(level.value for level in Structured)
        raise ServiceNotConfiguredError(f"VISION_STRUCTURED must be one of {choices}, not {raw!r}.") from None
