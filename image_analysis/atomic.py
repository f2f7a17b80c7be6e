"""Files replaced whole or not at all: every writer's one rule (the command line's outputs; a campaign's manifest,
shards, facts, fetched results and batch record).

The content goes to a temporary file beside its place (``.NAME.XXXXXX.part``), is flushed and ``fsync``'ed, gets the
permissions a plain ``open`` would give it (``mkstemp`` makes it private), and is renamed over the target
(``os.replace``, atomic on POSIX and Windows). A reader sees the old file or the new one, never half of either; a
failure leaves the old one; a run killed half-way leaves a ``.part`` file, which ``remove_leftovers`` takes away.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any

SUFFIX = ".part"
"""What a file being written is called until it is complete."""


class Staged:
    """A file written beside ``path`` and renamed into place once complete (``commit``), or removed (``discard``).
    ``text``: opened for text (UTF-8, no newline translation, as CSV and JSON lines want). As a context manager it
    commits when the block ends normally and discards otherwise."""

    def __init__(self, path: Path, text: bool = False) -> None:
        self.path = path
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=SUFFIX)
        self.temporary = Path(name)
        self.file: IO[Any] = os.fdopen(handle, "w", encoding="utf-8", newline="") if text else os.fdopen(handle, "wb")

    def commit(self) -> None:
        """Put the file in its place, on disk: flushed, synced, given the usual permissions, renamed."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
        finally:
            self.file.close()
        os.chmod(self.temporary, 0o666 & ~_umask())
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        """Leave the place as it was."""
        self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temporary)

    def __enter__(self) -> Staged:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def write_atomically(path: Path, content: bytes | str) -> None:
    """Replace ``path`` by ``content`` (text is written as UTF-8), whole or not at all."""
    with Staged(path, text=isinstance(content, str)) as staged:
        staged.file.write(content)


def remove_leftovers(folder: Path) -> None:
    """Remove what a killed run was writing in ``folder`` (``*.part``)."""
    for stale in folder.glob(f"*{SUFFIX}"):  # hidden ones too: pathlib's * matches a leading dot
        with contextlib.suppress(OSError):
            stale.unlink()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
