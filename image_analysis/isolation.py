"""Untrusted decoding in a child process with a memory and a wall-clock limit: bytes in, pixels out.

Some decoders' cost cannot be bounded beforehand (a PDF page can draw one form a billion times, or inflate a content
stream to gigabytes). They run here: in a fresh ``spawn`` child (safe beside the threads of a batch, and the same on
Windows and macOS), whose address space is capped with ``RLIMIT_AS`` where the platform has it, and which is killed
when the wall-clock limit passes. The worker itself never holds what the child allocated, and stays healthy.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import Any

MEMORY_LIMIT_MB = int(os.environ.get("IMAGE_ANALYSIS_MEMORY_MB", "1024"))
"""The memory budget of one upload (MB); an isolated decoder gets three quarters of it (the rest is the worker's)."""
TIME_LIMIT_SECONDS = float(os.environ.get("IMAGE_ANALYSIS_DECODE_SECONDS", "20"))
"""The wall-clock budget of one isolated decode."""


class LimitExceeded(Exception):
    """The isolated work passed a limit: ``what`` is ``"time"`` or ``"memory"``."""

    def __init__(self, what: str, limit: float) -> None:
        super().__init__(f"{what} limit {limit:g} exceeded")
        self.what, self.limit = what, limit


def child_memory_bytes() -> int:
    return MEMORY_LIMIT_MB * 1024 * 1024 * 3 // 4


def run_isolated(
    function: Callable[..., Any], *args: Any, memory: int | None = None, seconds: float | None = None
) -> Any:
    """``function(*args)`` in a child process; its result, or the exception it raised (re-raised here), or
    ``LimitExceeded`` when it ran out of time or memory (or died). ``function`` must be importable by name."""
    memory = memory or child_memory_bytes()
    seconds = seconds or TIME_LIMIT_SECONDS
    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(writer, function, args, memory), daemon=True)
    process.start()
    writer.close()
    try:
        if not reader.poll(seconds):
            raise LimitExceeded("time", seconds)
        try:
            status, payload = reader.recv()
        except (EOFError, OSError):
            raise LimitExceeded("memory", memory / 2**20) from None  # the child died: the kernel or a crash
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        reader.close()
    if status == "ok":
        return payload
    if status == "memory":
        raise LimitExceeded("memory", memory / 2**20)
    raise payload


def _child(writer: Any, function: Callable[..., Any], args: tuple[Any, ...], memory: int) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):  # Windows has no RLIMIT_AS: the wall-clock limit still holds
        pass
    try:
        result: tuple[str, Any] = ("ok", function(*args))
    except MemoryError:
        result = ("memory", None)
    except Exception as error:  # noqa: BLE001 - handed to the parent, which re-raises it
        result = ("error", error)
    try:
        writer.send(result)
    except MemoryError:
        writer.send(("memory", None))
