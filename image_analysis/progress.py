"""How far a long run is, said where the user looks: nothing in a library call (``Progress``), a bar on one line on a
terminal and one line per milestone in a log (``TerminalProgress``), for every command-line tool of the project
(``python -m image_analysis campaign ...``, ``benchmarks/run.py``)."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


class Progress:
    """Where a run says how far it is: silent here."""

    def file(self, done: int, total: int) -> None:
        """``done`` of ``total`` items finished."""

    def shard(self, line: str) -> None:
        """A milestone (a shard complete, a section measured): ``line`` says which."""

    def close(self) -> None:
        """The run is over."""


class TerminalProgress(Progress):
    """On a terminal, a progress bar kept on one line (done, total, share, time left); otherwise (a log, CI) only
    the milestones, one line each. ``stream``: standard error unless said."""

    REDRAW_SECONDS = 0.1

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.drawn = 0.0

    def file(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.live or (now - self.drawn < self.REDRAW_SECONDS and done < total):
            return
        self.drawn = now
        print(f"\r{progress_bar(done, total, now - self.started)}", end="", file=self.stream, flush=True)

    def shard(self, line: str) -> None:
        print(("\r\033[K" if self.live else "") + line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.live:
            print(file=self.stream, flush=True)


def progress_bar(done: int, total: int, elapsed: float, width: int | None = None) -> str:
    """``[########--------] 4,120 of 10,000 (41 %), 1 min 12 s left``, as wide as the terminal."""
    share = done / total if total else 1.0
    left = elapsed / done * (total - done) if done and done < total else 0.0
    minutes, seconds = divmod(round(left), 60)
    remaining = f", {minutes} min {seconds} s left" if minutes else f", {seconds} s left" if left else ""
    text = f" {done:,} of {total:,} ({share:.0%}){remaining}"
    room = (width or shutil.get_terminal_size((80, 24)).columns) - len(text) - 3
    bar = max(10, min(room, 50))
    filled = round(bar * share)
    return f"[{'#' * filled}{'-' * (bar - filled)}]{text}"
