"""Results kept in VIKTOR's storage (``vkt.Storage``) for as long as the user chose, and nothing paid for lost.

The storage API fails in its own ways: ``viktor.errors.InternalError`` for an HTTP 400/403/413/500/503 answer, an
``OSError`` for a failed connection or outside the platform, ``FileNotFoundError`` for a missing key. Every one of
them becomes a ``StoreError`` here, in one place, so that the pipeline (``analysis``) shows and reports a result the
store refused and says in one line that it was not kept.

What is kept is a display copy (``Analysis.for_display``), never the sent pixels: the facts, the description, the
photo's date, GPS and camera, and a small JPEG. Each value carries the moment it was stored; a value older than the
chosen retention counts as missing when it is read, and is deleted then.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from viktor import errors as viktor_errors

from image_analysis import store_keys
from image_analysis.safe_text import clean
from image_analysis.store import StoreError

STORAGE_FAILURES: tuple[type[BaseException], ...] = (OSError, viktor_errors.Error)
_UNREADABLE: tuple[type[BaseException], ...] = (*STORAGE_FAILURES, ValueError, KeyError, TypeError)
"""A kept value that cannot be read back: the storage failed, or what it gave is not what was written."""
"""What ``vkt.Storage`` raises when it cannot do what was asked (``FileNotFoundError`` is an ``OSError``)."""

GENERATION_KEY = store_keys.GENERATION
"""A counter that ``forget`` raises: part of every memoized call's key, so cached views are not served after it."""

RETENTION_CHOICES: dict[str, str] = {
    "session": "This editor session only",
    "30": "The workspace, 30 days",
    "90": "The workspace, 90 days",
    "365": "The workspace, 1 year",
}
DEFAULT_RETENTION = "30"
"""Long enough to finish and sign the report of a site visit, short enough that the workspace does not become an
archive of photos with GPS positions nobody asked for: the signed report is the record, the store a convenience."""


@dataclass(frozen=True)
class Retention:
    """Where results are kept (``scope`` of ``vkt.Storage``) and for how long (``days``; ``None``: the session's
    own life)."""

    scope: str
    days: int | None

    @classmethod
    def from_choice(cls, choice: str | None) -> Retention:
        choice = choice if choice in RETENTION_CHOICES else DEFAULT_RETENTION
        if choice == "session":
            return cls("session", None)
        return cls("workspace", int(choice))

    @classmethod
    def of_record(cls, choice: str | None) -> Retention:
        """Where an editor's inspection and its decisions are kept: with the editor entity (the session's, when
        nothing is to outlive it), as long as its results."""
        results = cls.from_choice(choice)
        return cls("entity" if results.scope == "workspace" else results.scope, results.days)


def reason(error: BaseException) -> str:
    """A short, clean account of a storage failure for the user (never a traceback, never a page of HTML)."""
    text = " ".join(str(error).split())[:160]
    name = type(error).__name__
    return clean(f"{name}: {text}" if text else name)


class WorkspaceStore:
    """``ResultStore`` on ``vkt.Storage``: values by key in the retention's scope, with their age checked on read."""

    keeps_sent_images = False

    def __init__(
        self, storage: Callable[[], Any], retention: Retention, now: Callable[[], datetime] | None = None
    ) -> None:
        self._storage = storage
        self.retention = retention
        self.unreadable: list[str] = []
        self._now = now or (lambda: datetime.now(UTC))

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored value, or ``None`` when it is missing, unreadable or older than the retention."""
        try:
            file = self._storage().get(key, scope=self.retention.scope)
        except FileNotFoundError:
            return None
        except STORAGE_FAILURES as error:
            raise StoreError(f"The workspace storage could not be read ({reason(error)}).") from None
        try:
            kept = json.loads(file.getvalue_binary())
            stored_at = datetime.fromisoformat(kept["stored_at"])
            value = kept["result"]
        except _UNREADABLE:
            self.unreadable.append(key)
            return None  # a value that cannot be read is described again, and replaced
        if not isinstance(value, dict) or self._expired(stored_at):
            self._delete(key, self.retention.scope)
            return None
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        stored_at = self._now().isoformat(timespec="seconds")
        data = json.dumps({"stored_at": stored_at, "result": value})
        try:
            from viktor import File

            self._storage().set(key, data=File.from_data(data), scope=self.retention.scope)
        except STORAGE_FAILURES as error:
            raise StoreError(f"The workspace storage refused it ({reason(error)}).") from None

    def claim(self, key: str, owner: str, replacing: bool = False) -> bool:
        """No claims across workers on the platform: each job describes what it has no stored result for."""
        return True

    def release(self, key: str, owner: str) -> None:
        pass

    def keys(self, prefix: str = "") -> list[str]:
        """The keys kept in the retention's scope that start with ``prefix``."""
        try:
            return sorted(self._storage().list(prefix=prefix, scope=self.retention.scope))
        except STORAGE_FAILURES as error:
            raise StoreError(f"The workspace storage could not be listed ({reason(error)}).") from None

    def forget(self, prefix: str) -> int:
        """Delete every stored result whose key starts with ``prefix`` (one file's ``record_prefix``), in both
        scopes; how many were deleted."""
        removed = 0
        for scope in ("workspace", "session"):
            try:
                keys = list(self._storage().list(prefix=prefix, scope=scope))
            except STORAGE_FAILURES as error:
                raise StoreError(f"The workspace storage could not be listed ({reason(error)}).") from None
            for key in keys:
                try:
                    self._storage().delete(key, scope=scope)
                except FileNotFoundError:
                    continue
                except STORAGE_FAILURES as error:
                    raise StoreError(f"The workspace storage could not delete a result ({reason(error)}).") from None
                removed += 1
        return removed

    def generation(self) -> int:
        """The current forget counter (0 when there is none, or when it cannot be read)."""
        try:
            return int(self._storage().get(GENERATION_KEY, scope="workspace").getvalue_binary())
        except _UNREADABLE:
            return 0

    def next_generation(self) -> int:
        """Raise the forget counter, so that no cached view from before is served again."""
        from viktor import File

        generation = self.generation() + 1
        try:
            self._storage().set(GENERATION_KEY, data=File.from_data(str(generation)), scope="workspace")
        except STORAGE_FAILURES as error:
            raise StoreError(f"The workspace storage refused the change ({reason(error)}).") from None
        return generation

    def _expired(self, stored_at: datetime) -> bool:
        days = self.retention.days
        if stored_at.tzinfo is None:
            return True
        return days is not None and self._now() - stored_at > timedelta(days=days)

    def _delete(self, key: str, scope: str) -> bool:
        try:
            self._storage().delete(key, scope=scope)
        except STORAGE_FAILURES:
            return False
        return True
