"""A local store of results: JSON values by key in one SQLite file (the standard library's ``sqlite3``, WAL mode).

Opt-in on the command line (``--store PATH`` or ``IMAGE_ANALYSIS_STORE``): a result is written the moment it is
received, in its own transaction, so a run killed half-way keeps every photo already described and the next run
sends only the others. Each call opens its own connection, so threads (a batch with requests in flight) and
processes share the file safely. The VIKTOR app keeps the same values in ``vkt.Storage`` through the same methods
(``ResultStore``; ``workspace_store``).

What keeps a paid result from being lost or paid twice:

- **migrations on open** (simonw/llm's pattern): named steps, each recorded in the store when applied; a store that
  records a step this version does not know was written by a newer one and is refused in one line, before any
  request is sent;
- **a bounded wait for a lock** (``IMAGE_ANALYSIS_STORE_LOCK_SECONDS``), then **a journal**: a value the store
  cannot take (locked by another process, a full disk, a read-only file) is appended to a JSON-lines journal beside
  the store (or, when that cannot be written either, in the user's cache folder); the next open merges every journal
  into the store.
  ``StoreError`` only when no journal could be written either;
- **claims**: before describing, a run claims the key; a key claimed by another run (another process, or the same
  photo twice in one batch) is waited for, not described again, until its claim expires;
- **a value that cannot be read counts as missing**: the photo is described again and the value replaced;
- **read-only** where only reading (``report``): opened with ``mode=ro`` (``immutable`` for a file without write
  permission, so that SQLite leaves no ``-shm`` behind).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from image_analysis import store_keys
from image_analysis.config import limits
from image_analysis.errors import StoreError

SCHEMA_VERSION = 2
CLAIM_SECONDS = 600.0
"""How long a claim holds: past it, a run that died while describing no longer keeps others waiting."""
CLAIM_POLL_SECONDS = 0.25

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "m001_results",
        "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL, stored_at TEXT);"
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);",
    ),
    (
        "m002_claims",
        "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);",
    ),
)
"""The store's schema as named steps, in order; each applied step is recorded in ``migrations``. Append, never
edit: a store records the names of the steps it has."""


class ResultStore(Protocol):
    """Where results are kept between runs: JSON values by key. ``keeps_sent_images``: whether a value holds the
    exact pixels sent (a local store, from which ``report`` writes reports) or only a display copy (the app's
    workspace storage, where every byte is moved on every view)."""

    keeps_sent_images: bool
    unreadable: list[str]
    """Keys whose value could not be read in this run (each described again, and the value replaced)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...

    def claim(self, key: str, owner: str, replacing: bool = False) -> bool: ...

    def release(self, key: str, owner: str) -> None: ...

    def keys(self, prefix: str = "") -> list[str]: ...


class MemoryStore:
    """A ``ResultStore`` in memory, for one call: where nothing outlives it (the app outside VIKTOR)."""

    keeps_sent_images = False

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}
        self.unreadable: list[str] = []

    def get(self, key: str) -> dict[str, Any] | None:
        value = self.values.get(key)
        return json.loads(json.dumps(value)) if value is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.values[key] = json.loads(json.dumps(value))

    def claim(self, key: str, owner: str, replacing: bool = False) -> bool:
        return True

    def release(self, key: str, owner: str) -> None:
        pass

    def keys(self, prefix: str = "") -> list[str]:
        return [key for key in self.values if key.startswith(prefix)]


class SqliteStore:
    """Results in one SQLite file, created and migrated on first use."""

    keeps_sent_images = True

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.journalled = 0
        """Values written to a journal instead of the store in this run (``journal_note`` says where)."""
        self._journalled_results = 0
        self.unreadable: list[str] = []
        """Keys whose stored value could not be read in this run (described again, and replaced)."""
        self._journal_used: Path | None = None
        self._failing = False
        self._pending: dict[str, dict[str, Any]] = {}
        """Journalled values not (yet) in the store: this run's, and those a merge could not move."""
        self.degraded: str | None = None
        """Why the store could only be read in this run (its new results went to the journal)."""
        if readonly:
            self._open_readonly()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and not os.access(self.path, os.W_OK):
                raise StoreError(f"'{self.path}' is read-only: give a store that can be written, or make it writable.")
            with self._connection() as connection:
                if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    connection.execute("PRAGMA journal_mode=WAL")
                _migrate(connection, self.path)
        except sqlite3.OperationalError as error:
            if not self.path.is_file() or self.path.stat().st_size == 0:
                raise StoreError(f"Cannot use '{self.path}' as a result store: {error}.") from None
            self._degrade(error)  # a full disk or a lock at opening: read it as it is, write to the journal
            return
        except sqlite3.DatabaseError as error:
            raise StoreError(f"Cannot use '{self.path}' as a result store: {error}.") from None
        except OSError as error:
            raise StoreError(f"Cannot use '{self.path}' as a result store: {error.strerror or error}.") from None
        self._merge_journals()

    # -- reading and writing

    def get(self, key: str, read: Callable[[str], Any] = json.loads) -> dict[str, Any] | None:
        """The value kept under ``key``; ``None`` when there is none, or when it cannot be read (``unreadable``).
        ``read`` parses the stored JSON text (one that leaves parts out, say)."""
        try:
            with self._connection() as connection:
                row = connection.execute("SELECT value FROM results WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as error:
            raise StoreError(f"Cannot read the result store '{self.path}': {error}.") from None
        if row is None:
            pending = self._pending.get(key)
            return None if pending is None else read(json.dumps(pending))
        try:
            value = read(row[0])
        except (ValueError, TypeError):
            value = None
        if not isinstance(value, dict):
            self.unreadable.append(key)
            return None
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Keep ``value``: in the store, or in a journal when the store cannot take it (``journalled``)."""
        text = json.dumps(value)
        try:
            self._write(key, text)
        except sqlite3.Error as error:
            self._failing = True  # the rest of this run goes straight to the journal: one wait, not one a photo
            self._journal(key, text, error)

    def put_many(self, items: Sequence[tuple[str, str]]) -> None:
        """Keep several values, each given as its JSON text, in one transaction (an import's: one commit a value
        would cost more than the values); a store that cannot take them journals each, as ``put`` does."""
        if not items:
            return
        try:
            if self.readonly:
                raise sqlite3.OperationalError(self.degraded or "the store was opened read-only")
            stored_at = datetime.now(UTC).isoformat(timespec="seconds")
            with self._connection() as connection:
                connection.execute("BEGIN IMMEDIATE")
                rows = [(key, text, stored_at) for key, text in items]
                connection.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", rows)
                connection.execute("COMMIT")
        except sqlite3.Error as error:
            self._failing = True
            for key, text in items:
                self._journal(key, text, error)

    def keys(self, prefix: str = "") -> list[str]:
        """The keys kept, oldest first (those starting with ``prefix``), and those only journalled in this run."""
        try:
            with self._connection() as connection:
                rows = connection.execute(
                    "SELECT key FROM results WHERE substr(key, 1, ?) = ? ORDER BY stored_at, key", (len(prefix), prefix)
                )
                kept = [row[0] for row in rows]
        except sqlite3.Error as error:
            raise StoreError(f"Cannot read the result store '{self.path}': {error}.") from None
        return kept + sorted(key for key in self._pending if key.startswith(prefix) and key not in kept)

    # -- claims: one run describes a photo, the others wait for it

    def claim(self, key: str, owner: str, replacing: bool = False) -> bool:
        """Claim ``key`` for ``owner`` (a result not yet stored): ``True`` when it is ours now, ``False`` while
        another owner's claim holds or when its result has been stored meanwhile (checked in the same transaction,
        so a result kept between the caller's look-up and this claim is not described again; ``replacing``: the
        stored value could not be read and is to be replaced). A store that cannot be written claims nothing and
        always says ``True``."""
        if self.readonly or self._failing:
            return True
        now = time.time()
        try:
            with self._connection() as connection:
                connection.execute("BEGIN IMMEDIATE")
                stored = connection.execute("SELECT 1 FROM results WHERE key = ?", (key,)).fetchone()
                if stored and not replacing:
                    connection.execute("ROLLBACK")
                    return False  # kept since it was looked up: the caller reads it, nothing is described twice
                held = connection.execute("SELECT owner, until FROM claims WHERE key = ?", (key,)).fetchone()
                if held and held[0] != owner and held[1] > now and _alive(held[0]):
                    connection.execute("ROLLBACK")
                    return False
                until = now + CLAIM_SECONDS
                connection.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)", (key, owner, until))
                connection.execute("COMMIT")
        except sqlite3.Error:
            return True  # a store that cannot coordinate does not keep the run waiting
        return True

    def release(self, key: str, owner: str) -> None:
        if self.readonly or self._failing:
            return
        try:
            with self._connection() as connection:
                connection.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, owner))
        except sqlite3.Error:
            pass

    @property
    def journalled_results(self) -> int:
        """Descriptions written to a journal instead of the store in this run."""
        return self._journalled_results

    @property
    def journal_note(self) -> str | None:
        """One line when values went to a journal in this run, or ``None``."""
        if not self.journalled:
            return None
        results, others = self._journalled_results, self.journalled - self._journalled_results
        parts = [f"{results} result{'s' * (results != 1)}"] if results else []
        parts += [f"{others} inspection record{'s' * (others != 1)}"] if others else []
        count = " and ".join(parts)
        return (
            f"the result store '{self.path}' could not be written; {count} kept in the journal "
            f"'{self._journal_used}' instead, merged into the store at the next run"
        )

    # -- internals

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            target, uri = self._readonly_uri, True
        else:
            target, uri = str(self.path), False
        timeout = 0 if self._failing else limits().store_lock_seconds
        with closing(sqlite3.connect(target, timeout=timeout, uri=uri, isolation_level=None)) as connection:
            yield connection

    def _write(self, key: str, text: str) -> None:
        if self.readonly:
            raise sqlite3.OperationalError(self.degraded or "the store was opened read-only")
        stored_at = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connection() as connection:
            connection.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (key, text, stored_at))

    def _degrade(self, error: sqlite3.Error) -> None:
        """The store opens but cannot be written (a full disk, a lock held from the start): its results are read
        as they are, and this run's new ones go to the journal (``journal_note`` says so)."""
        self.readonly, self._failing = True, True
        self.degraded = f"{error}"
        self._open_readonly(immutable=True)
        for journal in self._journals():
            self._pending.update({entry["key"]: entry["value"] for entry in _journal_entries(journal)})

    def _open_readonly(self, immutable: bool = False) -> None:
        if not self.path.is_file():
            raise StoreError(f"There is no result store '{self.path}' (describe the photos with --store first).")
        writable = not immutable and bool(self.path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        quoted = self.path.resolve().as_posix().replace("?", "%3f").replace("#", "%23")
        self._readonly_uri = f"file:{quoted}?mode=ro" + ("" if writable else "&immutable=1")
        try:
            with self._connection() as connection:
                names = _applied(connection)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"Cannot use '{self.path}' as a result store: {error}.") from None
        _refuse_newer(names, self.path)

    def _journals(self) -> list[Path]:
        """Where values go when the store cannot take them: beside it, else in the user's cache folder."""
        digest = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:16]
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "image_analysis"
        return [self.path.with_name(self.path.name + ".journal"), cache / f"journal-{digest}.jsonl"]

    def _journal(self, key: str, text: str, error: BaseException) -> None:
        value = json.loads(text)
        line = (json.dumps({"key": key, "value": value}) + "\n").encode("utf-8")
        for journal in self._journals():
            try:
                journal.parent.mkdir(parents=True, exist_ok=True)
                _append_whole(journal, line)
            except OSError:
                continue
            self.journalled += 1
            self._journalled_results += key.startswith(store_keys.RESULT)
            self._journal_used = journal
            self._pending[key] = value
            return
        raise StoreError(f"The result store '{self.path}' could not be written ({error}), nor a journal beside it.")

    def _merge_journals(self) -> None:
        """Move every journalled value into the store; a journal is removed once merged."""
        for journal in self._journals():
            entries = list(_journal_entries(journal))
            if not entries:
                continue
            try:
                with self._connection() as connection:
                    stored_at = datetime.now(UTC).isoformat(timespec="seconds")
                    connection.execute("BEGIN IMMEDIATE")
                    for entry in entries:
                        connection.execute(
                            "INSERT OR IGNORE INTO results VALUES (?, ?, ?)",
                            (entry["key"], json.dumps(entry["value"]), stored_at),
                        )
                    connection.execute("COMMIT")
                journal.unlink()
            except (sqlite3.Error, OSError):
                self._pending.update({entry["key"]: entry["value"] for entry in entries})  # merged at a later run


def new_owner() -> str:
    """A claim's owner: this machine, this process and one call in it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"


def _alive(owner: str) -> bool:
    """Whether a claim's owner may still be describing: a process of this machine that has died is not (a run
    killed half-way leaves its claims behind)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


_APPENDING = threading.Lock()
"""One journal line written at a time in a process (a batch's threads keep their results as they come)."""


def _append_whole(path: Path, line: bytes) -> None:
    """Append ``line`` to ``path`` whole or not at all: a write the disk cannot take is cut off again, and a line an
    earlier crash left cut short is ended first, so that a later line never runs on from it (and is lost with it).
    One line at a time in this process, in one write where the system allows."""
    with _APPENDING:
        _append(path, line)


def _append(path: Path, line: bytes) -> None:
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        if start and os.pread(fd, 1, start - 1) != b"\n":
            line = b"\n" + line
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def _journal_entries(journal: Path) -> Iterator[dict[str, Any]]:
    try:
        lines = journal.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if isinstance(entry, dict) and isinstance(entry.get("key"), str) and isinstance(entry.get("value"), dict):
            yield entry


def _applied(connection: sqlite3.Connection) -> list[str]:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "migrations" in tables:
        return [row[0] for row in connection.execute("SELECT name FROM migrations ORDER BY applied_at, name")]
    return ["m001_results"] if "results" in tables else []  # a store from before migrations were recorded


def _refuse_newer(applied: list[str], path: Path) -> None:
    known = {name for name, _ in MIGRATIONS}
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise StoreError(
            f"'{path}' was written by a newer version of image_analysis (it has the step '{unknown[0]}'): use that "
            "version, or another store."
        )


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Apply the steps this store does not have yet, each recorded; refuse a store from a newer version. A store
    that has every step is only read here, so that one locked by another process still opens."""
    applied = _applied(connection)
    _refuse_newer(applied, path)
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [(name, script) for name, script in MIGRATIONS if name not in applied]
    if not missing and "migrations" in tables:
        return
    now = datetime.now(UTC).isoformat(timespec="seconds")
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    for name in applied:  # recorded now for a store from before steps were recorded
        connection.execute("INSERT OR IGNORE INTO migrations VALUES (?, ?)", (name, now))
    for name, script in missing:
        for statement in filter(str.strip, script.split(";")):
            connection.execute(statement)
        connection.execute("INSERT INTO migrations VALUES (?, ?)", (name, now))
    connection.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    connection.execute("COMMIT")
