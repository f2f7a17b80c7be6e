"""Running the pipeline: one image or a batch, prepared and described, each result numbered and kept in order.

A batch runs its requests concurrently with a bounded number in flight; a photo that fails keeps its place with
its own message, and every other photo still gets its description.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from image_analysis import model, prompts, seriousness_defaults, store_keys, title_text
from image_analysis.config import limits
from image_analysis.consistency import inspection_flags
from image_analysis.errors import AnalysisError, BatchTooLargeError, ServiceError
from image_analysis.findings import InspectionFindings, ParsedReply, parse_reply
from image_analysis.imaging import pdf
from image_analysis.imaging.pages import parse_pages
from image_analysis.imaging.prepare import prepare_image
from image_analysis.imaging.prepared import Preparation, ShownImage
from image_analysis.model import Description, ServiceSettings
from image_analysis.presets import AnalysisRequest
from image_analysis.safe_text import clean
from image_analysis.store import CLAIM_POLL_SECONDS, ResultStore, StoreError, new_owner

MAX_BATCH = 50
"""Images (photos or sheets) analysed together at most: in the app's views, a describe run, a report; a campaign
takes more."""
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 64
"""Requests in flight at most (a batch's, a campaign run's): a vLLM server batches what it is given, and 64 keeps
one busy; a provider's rate limit answers more with 429."""
INPUT = "input"
SERVICE = "service"
PENDING = "pending"
"""Where an analysis failed: its input (the file), the model service, or nowhere yet (a campaign's photo whose
answer is not imported: no request failed, none was answered)."""

log = logging.getLogger(__name__)


def check_batch_size(count: int, what: str, advice: str = "Choose fewer.") -> None:
    """``BatchTooLargeError`` when ``count`` ``what`` (photos, sheets) are more than one batch takes (``MAX_BATCH``),
    in the one message every front end shows, with its ``advice``."""
    if count > MAX_BATCH:
        raise BatchTooLargeError(f"{count} {what} were given: at most {MAX_BATCH} are analysed at once. {advice}")


def max_upload_bytes() -> int:
    """The largest file taken, on the command line as in the app's upload fields (``IMAGE_ANALYSIS_MAX_UPLOAD_MB``)."""
    return int(limits().max_upload_mb * 1_000_000)


@dataclass(frozen=True)
class Upload:
    """A file as the user gave it: its name and its bytes, or why they could not be read."""

    name: str
    data: bytes = b""
    unreadable: str | None = None
    page: int | None = None
    """For one sheet of a PDF set: its page (from 1); ``None`` uses the request's."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", clean(self.name))  # a file name is text from outside

    @classmethod
    def from_path(cls, path: Path) -> Upload:
        """Read a file (at most ``max_upload_bytes()``); a failure is kept on the upload (and reported in its place),
        not raised."""
        most = max_upload_bytes()
        try:
            with path.open("rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size > most:
                    return cls(path.name, unreadable=clean(_too_large(path, size)))
                data = file.read(most + 1)
        except OSError as error:
            return cls(path.name, unreadable=clean(f"Cannot read '{path}': {error.strerror or error}."))
        if len(data) > most:  # it grew while being read
            return cls(path.name, unreadable=clean(_too_large(path, len(data))))
        return cls(path.name, data)

    @staticmethod
    def head(path: Path, size: int = 1024) -> bytes:
        """The first bytes of a file (what tells a PDF), or nothing when it cannot be read."""
        try:
            with path.open("rb") as file:
                return file.read(size)
        except OSError:
            return b""


def _too_large(path: Path, size: int) -> str:
    return (
        f"'{path}' is {size / 1_000_000:,.0f} MB; at most {max_upload_bytes() / 1_000_000:,.0f} MB are taken "
        "(set IMAGE_ANALYSIS_MAX_UPLOAD_MB for more). Export a smaller file."
    )


@dataclass(frozen=True)
class Analysis:
    """One image's result: what was sent and what came back, or why nothing did (``error``).

    Exactly one of ``description`` (it succeeded) and ``error`` (it failed, at ``failed_at``) is set; a result that
    is both, or neither, cannot be made. A failure at the service keeps what was prepared, so that the image is still
    shown beside the message.
    """

    number: int
    name: str
    request: AnalysisRequest
    preparation: Preparation | None = None
    description: Description | None = None
    error: str | None = None
    failed_at: str | None = None
    """Where it failed: ``"input"`` (the file) or ``"service"`` (the model service)."""
    record: str | None = None
    """The key this result is kept under in a store (``record_key``): the same bytes, choices, prompt and model."""
    from_store: bool = False
    """Read from a store rather than described in this run."""
    not_kept: str | None = None
    """Why a new description could not be kept in the store (it is shown and reported all the same, and ``keep``
    tries again at the next run)."""
    also_as: tuple[str, ...] = ()
    """The other names the same file was given in its inspection (an upload's copy, ``photo_001 (1).jpg``): said in
    its report entry. Not kept with the result: a result is its bytes', the names are the inspection's."""

    def __post_init__(self) -> None:
        if (self.description is None) == (self.error is None):
            raise ValueError("an analysis has either a description or an error, not both and not neither")
        if (self.error is None) != (self.failed_at is None) or self.failed_at not in (None, INPUT, SERVICE, PENDING):
            raise ValueError(
                f"a failed analysis says where it failed ({INPUT}, {SERVICE}, {PENDING}); a successful one does not"
            )

    @property
    def succeeded(self) -> bool:
        return self.description is not None

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form that ``from_json`` restores (for ``vkt.memoize``)."""
        return {
            "number": self.number,
            "name": self.name,
            "request": self.request.to_json(),
            "preparation": self.preparation.to_json() if self.preparation else None,
            "description": self.description.to_json() if self.description else None,
            "error": self.error,
            "failed_at": self.failed_at,
            "record": self.record,
            "not_kept": self.not_kept,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Analysis:
        return cls(
            number=data["number"],
            name=data["name"],
            request=AnalysisRequest.from_json(data["request"]),
            preparation=Preparation.from_json(data["preparation"]) if data["preparation"] else None,
            description=Description.from_json(data["description"]) if data["description"] else None,
            error=data["error"],
            failed_at=data["failed_at"],
            record=data.get("record"),
            not_kept=data.get("not_kept"),
        )

    def for_display(self, shown: ShownImage | None = None) -> Analysis:
        """The same result carrying a display copy instead of the sent pixels (``Preparation.for_display``)."""
        if self.preparation is None or not self.preparation.exact:
            return self
        return dataclasses.replace(self, preparation=self.preparation.for_display(shown))

    @cached_property
    def parsed(self) -> ParsedReply:
        """The structured findings in the reply (none for a general description or a failed one)."""
        if self.description is None:
            return ParsedReply(None)
        parsed = parse_reply(
            self.request.preset, self.description.text, self.request.scale, seriousness_defaults.active()
        )
        if isinstance(parsed.findings, InspectionFindings):
            flags = inspection_flags(parsed.findings, self.request.scale.definition)
            return dataclasses.replace(parsed, flags=flags)
        return parsed


def with_sent_images(result: Analysis, upload: Upload) -> Analysis:
    """``result`` with the exact images that were sent, prepared again from its upload when it carries only a
    display copy (preparation is deterministic: the same bytes and choices give the same pixels)."""
    if result.preparation is not None and result.preparation.exact:
        return result
    return dataclasses.replace(result, preparation=prepare(upload, result.request))


def chosen_pages(upload: Upload, spec: str) -> list[int] | None:
    """The pages of a PDF upload that ``spec`` (``all``, ``N``, ``A-B,C``) names; ``None`` for any other file.
    Raises ``PageSpecError`` for pages the file does not have, ``ImageInputError`` for a damaged PDF."""
    if upload.unreadable or not pdf.is_pdf(upload.data):
        return None
    return parse_pages(spec, pdf.page_count(upload.data, upload.name))


def sheet_uploads(upload: Upload, pages: Sequence[int]) -> list[Upload]:
    """One upload per sheet of a PDF set, named with its page when there are several."""
    if len(pages) == 1:
        return [dataclasses.replace(upload, page=pages[0])]
    return [dataclasses.replace(upload, name=f"{upload.name} (page {page})", page=page) for page in pages]


def prepare(upload: Upload, request: AnalysisRequest) -> Preparation:
    """Prepare an upload the way ``request``'s preset wants it sent."""
    return prepare_image(
        upload.data,
        upload.name,
        kind=request.preset.image_kind,
        page=upload.page or request.page,
        use_tiles=request.tiles != "off",
    )


def prompt_for(preparation: Preparation, request: AnalysisRequest) -> prompts.Prompt:
    """The prompt for ``request`` about a prepared image: a drawing's PDF text goes with it as context."""
    pdf_text = title_text.region_text(preparation.text) if preparation.text else None
    return prompts.build_prompt(request, pdf_text)


def describe(preparation: Preparation, request: AnalysisRequest, settings: ServiceSettings) -> Description:
    """Ask the model for ``request`` about a prepared image."""
    started = time.monotonic()
    described = model.describe(preparation.images, prompt_for(preparation, request), settings)
    elapsed = round(time.monotonic() - started, 3)
    return dataclasses.replace(described, prompt_version=prompts.prompt_version(request), seconds=elapsed)


def record_prefix(data: bytes) -> str:
    """The start of the key of every result of one file (every page, preset and model): what ``forget`` removes."""
    return store_keys.result_prefix(hashlib.sha256(data).hexdigest())


def record_key(upload: Upload, request: AnalysisRequest, model_name: str) -> str:
    """The key a result is stored under: the file's ``record_prefix``, then a hash of the choices, the page, the
    exact prompt and the model, so that a change to any of them (or to the prompts in a new version) is a new
    result."""
    prompt = prompts.build_prompt(request)
    digest = hashlib.sha256()
    choices = json.dumps({**request.to_json(), "page": upload.page or request.page}, sort_keys=True)
    for part in (choices, model_name, prompt.system, prompt.user):
        digest.update(part.encode("utf-8") + b"\0")
    return store_keys.result(hashlib.sha256(upload.data).hexdigest(), digest.hexdigest())


def analyse(
    upload: Upload,
    request: AnalysisRequest,
    settings: ServiceSettings | None,
    number: int = 1,
    unavailable: str = model.NOT_CONFIGURED,
    store: ResultStore | None = None,
) -> Analysis:
    """Prepare and describe one upload; every failure becomes the result's ``error``, never an exception.

    With ``settings`` ``None`` (no service configured) the image is still prepared, and ``unavailable`` says why
    it was not described. With a ``store``, a result kept from an earlier run is used as it is (no request), and a
    new description is kept the moment it arrives; failures are not kept, so a later run retries them.
    """
    if upload.unreadable:
        return Analysis(number, upload.name, request, error=upload.unreadable, failed_at=INPUT)
    if store is None:
        return _analyse(upload, request, settings, number, unavailable)
    key = record_key(upload, request, settings.model if settings else model.model_id())
    owner = new_owner()
    while (kept := _kept(store, key)) is None and not store.claim(key, owner, key in store.unreadable):
        time.sleep(CLAIM_POLL_SECONDS)  # another run (or this batch) is describing the same photo: wait for it
    if kept is not None:
        return dataclasses.replace(kept, number=number, name=upload.name, from_store=True)
    try:
        result = dataclasses.replace(_analyse(upload, request, settings, number, unavailable), record=key)
        return put_result(store, result) if result.error is None else result
    finally:
        store.release(key, owner)


def put_result(store: ResultStore, result: Analysis) -> Analysis:
    """Keep a described result; when the store fails, the result says why (and is shown all the same)."""
    assert result.record is not None
    value = result if store.keeps_sent_images else result.for_display()
    try:
        store.put(result.record, dataclasses.replace(value, not_kept=None).to_json())
    except StoreError as error:
        log.debug("%s The result is shown but not kept.", error)  # the caller says it once for all results
        return dataclasses.replace(result, not_kept=str(error))
    return dataclasses.replace(result, not_kept=None)


def keep(results: Sequence[Analysis], store: ResultStore | None) -> list[Analysis]:
    """Try again to keep the results that a failing store did not (a cached view or a later run): those kept now
    no longer say they were not."""
    if store is None:
        return list(results)
    return [put_result(store, result) if result.not_kept and result.record else result for result in results]


def not_kept_message(results: Sequence[Analysis]) -> str | None:
    """One line for the user when descriptions were shown but not kept, or ``None``."""
    missing = [result for result in results if result.not_kept]
    if not missing:
        return None
    count = "1 description was" if len(missing) == 1 else f"{len(missing)} descriptions were"
    return (
        f"{count} shown but not kept: {missing[0].not_kept} Nothing is lost: the reports have "
        "them, and they are kept at the next run."
    )


def _kept(store: ResultStore, key: str) -> Analysis | None:
    """The stored result, or ``None``: not stored, the store cannot be read, or a value that is not a result (which
    counts as missing: the photo is described again and the value replaced)."""
    try:
        value = store.get(key)
    except StoreError as error:
        log.debug("%s The photo is described again.", error)
        return None
    if value is None:
        return None
    try:
        return Analysis.from_json(value)
    except (KeyError, TypeError, ValueError, AttributeError):
        store.unreadable.append(key)
        return None


def _analyse(
    upload: Upload, request: AnalysisRequest, settings: ServiceSettings | None, number: int, unavailable: str
) -> Analysis:
    try:
        preparation = prepare(upload, request)
    except AnalysisError as error:
        return Analysis(number, upload.name, request, error=str(error), failed_at=INPUT)
    if settings is None:
        return Analysis(number, upload.name, request, preparation, error=unavailable, failed_at=SERVICE)
    try:
        description = describe(preparation, request, settings)
    except ServiceError as error:
        return Analysis(number, upload.name, request, preparation, error=str(error), failed_at=SERVICE)
    return Analysis(number, upload.name, request, preparation, description)


UploadSource = Upload | Callable[[], Upload]
"""An upload, or a function that reads it: a batch reads each file only when a worker reaches it, so that no more
than ``concurrency`` uploads are in memory at once."""


def _analyse_source(source: UploadSource, *args: Any) -> Analysis:
    return analyse(source if isinstance(source, Upload) else source(), *args)


def analyse_batch(
    uploads: Sequence[UploadSource],
    request: AnalysisRequest,
    settings: ServiceSettings | None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Callable[[int, int], None] | None = None,
    unavailable: str = model.NOT_CONFIGURED,
    store: ResultStore | None = None,
) -> list[Analysis]:
    """Analyse ``uploads`` with at most ``concurrency`` requests in flight; results are in upload order.

    ``progress(done, total)`` is called after each photo. Nothing is dropped: a photo that fails has its error.
    """
    check_batch_size(len(uploads), "photos")
    results: list[Analysis | None] = [None] * len(uploads)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {
            pool.submit(_analyse_source, upload, request, settings, number, unavailable, store): number
            for number, upload in enumerate(uploads, start=1)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            number = futures[future]
            try:
                results[number - 1] = future.result()
            except Exception as error:  # a bug must not lose the other photos
                log.warning("unexpected failure analysing photo %d: %r", number, error)
                log.debug("its traceback", exc_info=True)  # at DEBUG only: the command line never shows one
                source = uploads[number - 1]
                results[number - 1] = Analysis(
                    number,
                    source.name if isinstance(source, Upload) else f"photo {number}",
                    request,
                    error=f"An unexpected error stopped this photo ({type(error).__name__}); please report it.",
                    failed_at=SERVICE,
                )
            if progress:
                progress(done, len(uploads))
    return [result for result in results if result is not None]
