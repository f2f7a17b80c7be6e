"""The campaign folder: what ``campaign prepare`` writes there and every later step reads. Its manifest (the settings
every request was prepared with, every input with its request's ``custom_id`` and store key, or why it was refused,
the shards complete), the names of the files beside it, and the ids that tie a request to its answer and its result
in the store.

    requests-0001.jsonl   the requests, one per line, in the engine's envelope (``prepare``)
    facts-0001.jsonl      what each request's preparation found besides its pixels, and its thumbnail (``prepare``)
    results-0001.jsonl    the answers in the batch output format (``run``, ``fetch``, or the engine itself)
    batches.json          the batch of each shard at a provider's batch API (``batch_api``)
    requests-changes-*.jsonl  the change requests against the previous inspection (``changes``, with --previous)
    changes.json          ``Comparison``: each photo's element and each change request's store key (``changes``)
    manifest.json         ``Manifest``
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from image_analysis import store_keys
from image_analysis.atomic import write_atomically
from image_analysis.errors import InputError
from image_analysis.model import DEFAULT_MAX_TOKENS
from image_analysis.presets import AnalysisRequest
from image_analysis.safe_text import clean
from image_analysis.structured_output import Structured

if TYPE_CHECKING:
    from image_analysis.inspection import Inspection

FORMATS = ("openai", "mistral")
MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
BATCHES = "batches.json"
"""The batch of each shard submitted to a provider's batch API: ``{shard: {"file", "batch", "status", ...}}``."""
ERROR_KEY = store_keys.CAMPAIGN_ERROR
"""A failed request's answer is kept under this prefix and its record key, never under the record key alone: a live run
of the same photo is not served a failure from the store."""
ID_PREFIX = "ia-"
COMPARISON = "changes.json"
CHANGE_SHARD_PREFIX = "requests-changes-"
"""A campaign's change requests (``changes``): ``requests-changes-<digest>.jsonl``, named by its content."""
CHANGE_ID_PREFIX = "ia-c-"
"""A change request's ``custom_id`` begins so: one no longer planned is told from a line of another campaign."""


class CampaignError(InputError):
    """A campaign folder or its inputs cannot be used as asked; the message says what to do."""


@dataclass(frozen=True)
class ManifestEntry:
    """One input of the campaign (one sheet, for a PDF set): where its request went, or why it has none."""

    path: str
    bytes: int
    sha256: str
    page: int | None = None
    custom_id: str | None = None
    """The request's id in the shards and the answers: ``ID_PREFIX`` and 40 hex digits of the record key's hash,
    within the 64 characters of ``[A-Za-z0-9_-]`` the strictest engines take (the record key is 136)."""
    record: str | None = None
    """The store's key for the result (``analysis.record_key``)."""
    shard: str | None = None
    refused: str | None = None

    @property
    def name(self) -> str:
        """The file name as the reports show it, with the sheet of a PDF set."""
        name = Path(self.path).name
        return clean(name if self.page is None else f"{name} (page {self.page})")


@dataclass(frozen=True)
class Settings:
    """What every request of a campaign was prepared with; a resumed run must ask for the same."""

    request: AnalysisRequest
    model: str
    format: str = "openai"
    max_tokens: int = DEFAULT_MAX_TOKENS
    structured: str = Structured.SCHEMA.value

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "request": self.request.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        return cls(**{**data, "request": AnalysisRequest.from_json(data["request"])})


def request_id(record: str) -> str:
    """A request's ``custom_id`` for the result kept under ``record``: the same input and choices give the same id
    (a resumed run, a second import), and no two results share one."""
    return ID_PREFIX + hashlib.sha256(record.encode("utf-8")).hexdigest()[:40]


def change_request_id(key: str) -> str:
    """A change request's ``custom_id`` for the answer kept under ``key`` (``ChangeRequest.key``)."""
    return CHANGE_ID_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def facts_name(shard: str) -> str:
    """The facts file of a request shard: ``requests-0001.jsonl`` gives ``facts-0001.jsonl``."""
    return shard.replace("requests-", "facts-", 1)


def results_name(shard: str) -> str:
    """The results shard of a request shard: ``requests-0001.jsonl`` gives ``results-0001.jsonl``."""
    return shard.replace("requests-", "results-", 1)


def images_per_request(folder: Path) -> int:
    """The most images one request of the campaign in ``folder`` sends (a drawing's overview and tiles; two for a
    change request): what a vLLM engine is told to expect (``limit_mm_per_prompt``)."""
    manifest = Manifest.require(folder)
    most = 1
    for shard in manifest.shards:
        if shard["name"].startswith(CHANGE_SHARD_PREFIX):
            most = max(most, 2)
            continue
        with (folder / facts_name(shard["name"])).open(encoding="utf-8") as lines:
            for text in lines:
                most = max(most, len(json.loads(text)["preparation"]["images"]))
    return most


def campaign_folder(path: Path) -> Path:
    """The campaign folder a user names, by the folder or by its ``manifest.json``."""
    return path.parent if path.name == MANIFEST else path


@dataclass
class Manifest:
    """The campaign folder's record: its settings, every input's entry, and the shards complete."""

    settings: Settings
    entries: list[ManifestEntry] = dataclasses.field(default_factory=list)
    shards: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "settings": self.settings.to_json(),
            "shards": self.shards,
            "entries": [dataclasses.asdict(entry) for entry in self.entries],
        }

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        """The manifest in ``folder``, or ``None`` when there is none yet."""
        path = folder / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise CampaignError(f"'{path}' cannot be read ({error}); prepare into a new folder.") from None
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise CampaignError(f"'{path}' is not a campaign manifest this version reads; prepare into a new folder.")
        entries = [ManifestEntry(**entry) for entry in data["entries"]]
        return cls(Settings.from_json(data["settings"]), entries, data["shards"])

    @classmethod
    def require(cls, folder: Path) -> Manifest:
        """The manifest in ``folder``; ``CampaignError`` saying what to give when there is none."""
        manifest = cls.read(folder)
        if manifest is None:
            raise CampaignError(
                f"'{folder}' holds no {MANIFEST}: give the campaign folder `campaign prepare ... --out FOLDER` "
                "wrote (or prepare one first)."
            )
        return manifest

    def write(self, folder: Path) -> None:
        """Replace the manifest whole (``atomic``): a kill leaves the old one or the new one, never half of either."""
        write_atomically(folder / MANIFEST, json.dumps(self.to_json(), indent=1))

    def done(self) -> set[str]:
        """The inputs (paths) whose requests are all in complete shards, or that were refused."""
        return {entry.path for entry in self.entries}


@dataclass(frozen=True)
class PlannedChange:
    """One change request of the campaign: its ``custom_id`` in the shard and the answers, the store key its answer
    is kept under (``ChangeRequest.key``), and the element and photo it is about."""

    custom_id: str
    key: str
    element_id: str
    photo: str
    """The ``custom_id`` of the photo's own request."""


@dataclass(frozen=True)
class Comparison:
    """What ``campaign prepare --previous`` decided: where the previous inspection is, the day of this one, each
    photo's element (by its request's ``custom_id``: element id, who said so, why) and the change requests."""

    previous_store: str
    object_id: str
    previous: str
    day: str
    elements: Mapping[str, tuple[str, str, str]]
    changes: tuple[PlannedChange, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "elements": {key: list(value) for key, value in self.elements.items()},
            "changes": [dataclasses.asdict(change) for change in self.changes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Comparison:
        """Read as untrusted: every text cleaned, and each answer's key a change's (``ValueError`` otherwise)."""
        changes = tuple(
            PlannedChange(*(clean(str(change[name])) for name in ("custom_id", "key", "element_id", "photo")))
            for change in data["changes"]
        )
        if any(not change.key.startswith(store_keys.CHANGE) for change in changes):
            raise ValueError("a change request's answer would be kept under a key that is not a change's")
        return cls(
            previous_store=clean(str(data["previous_store"])),
            object_id=clean(str(data["object_id"])),
            previous=clean(str(data["previous"])),
            day=clean(str(data["day"]))[:10],
            elements={
                clean(str(key)): (clean(str(value[0])), clean(str(value[1])), clean(str(value[2])))
                for key, value in dict(data["elements"]).items()
            },
            changes=changes,
        )

    @classmethod
    def read(cls, folder: Path) -> Comparison | None:
        """The campaign's comparison, or ``None`` when it was prepared without ``--previous``."""
        path = folder / COMPARISON
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
            raise CampaignError(f"'{path}' cannot be read ({error}); prepare again with --previous.") from None

    def applied(self, inspection: Inspection) -> Inspection:
        """The campaign's inspection of the object: each photo's element, and its day when no sign-off says one."""
        photos = []
        for photo in inspection.photos:
            said = self.elements.get(request_id(photo.result)) if photo.result else None
            if said is not None and not photo.element_source:  # an element the inspector gave stays
                photo = dataclasses.replace(photo, element_id=said[0], element_source=said[1], element_why=said[2])
            photos.append(photo)
        signoff = inspection.signoff
        if not signoff.date:
            signoff = dataclasses.replace(signoff, date=self.day)
        return dataclasses.replace(inspection, object_id=self.object_id, photos=tuple(photos), signoff=signoff)
