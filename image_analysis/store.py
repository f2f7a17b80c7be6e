"""A local store of results: JSON values by key in one SQLite file (the standard library's ``sqlite3``, WAL mode).

Opt-in on the command line (``--store PATH`` or ``IMAGE_ANALYSIS_STORE``): a result is written the moment it is
received, in its own transaction, so a run killed half-way keeps every photo already described and the next run
sends only the others. Each call opens its own connection, so threads (a batch with requests in flight) and
processes share the file safely. The VIKTOR app keeps the same values in ``vkt.Storage`` through the same two
methods (``ResultStore``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

SCHEMA_VERSION = 1


class StoreError(Exception):
    """The store cannot be opened or written (a path that is not a store, a full disk, a locked file)."""


class ResultStore(Protocol):
    """Where results are kept between runs: JSON values by key. ``keeps_sent_images``: whether a value holds the
    exact pixels sent (a local store, from which ``report`` writes reports) or only a display copy (the app's
    workspace storage, where every byte is moved on every view)."""

    keeps_sent_images: bool

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class SqliteStore:
    """Results in one SQLite file, created on first use; ``schema_version`` lets a later version migrate."""

    keeps_sent_images = True

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL, stored_at TEXT)"
                )
                connection.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
                connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"Cannot use '{self.path}' as a result store: {error}.") from None

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as connection, connection:
            yield connection

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            with self._connection() as connection:
                row = connection.execute("SELECT value FROM results WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as error:
            raise StoreError(f"Cannot read the result store '{self.path}': {error}.") from None
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        stored_at = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            with self._connection() as connection:
                connection.execute(
                    "INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (key, json.dumps(value), stored_at)
                )
        except sqlite3.Error as error:
            raise StoreError(f"Cannot write to the result store '{self.path}': {error}.") from None

    def keys(self) -> list[str]:
        with self._connection() as connection:
            return [row[0] for row in connection.execute("SELECT key FROM results ORDER BY stored_at, key")]
