"""Untrusted decoding in a child process with a memory and a wall-clock limit: bytes in, pixels out.

Some decoders' cost cannot be bounded beforehand (a PDF page can draw one form a billion times, or inflate a content
stream to gigabytes). They run here: in a fresh interpreter started with ``subprocess`` (``python -m
image_analysis.imaging._child``), which caps its own address space with ``RLIMIT_AS`` where the platform has it and is
killed when the wall-clock limit passes. The worker itself never holds what the child allocated, and stays healthy.

``subprocess`` rather than ``multiprocessing``: it works where the app's code already runs in a daemonic worker
(whose ``multiprocessing`` children raise ``AssertionError``), beside the threads of a batch, and without importing
the host's ``__main__`` again. Where no process can be started at all, ``run_isolated`` raises ``NoChildProcess``
and the caller does the work in-process behind its own checks (``pdf.render_page``).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from image_analysis.config import limits

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class LimitExceeded(Exception):
    """The isolated work passed a limit: ``what`` is ``"time"`` or ``"memory"``."""

    def __init__(self, what: str, limit: float) -> None:
        super().__init__(f"{what} limit {limit:g} exceeded")
        self.what, self.limit = what, limit


class NoChildProcess(Exception):
    """No child process can be started here (the platform forbids it, or there is no interpreter to start)."""


def child_memory_bytes() -> int:
    """An isolated decoder's share of the memory budget of one upload: three quarters (the rest is the worker's)."""
    return limits().memory_mb * 1024 * 1024 * 3 // 4


def time_limit_seconds() -> float:
    """The wall-clock budget of one isolated decode."""
    return limits().decode_seconds


def run_isolated(
    function: Callable[..., Any], *args: Any, memory: int | None = None, seconds: float | None = None
) -> Any:
    """``function(*args)`` in a child process; its result, or the exception it raised (re-raised here), or
    ``LimitExceeded`` when it ran out of time or memory (or died), or ``NoChildProcess``. ``function`` must be
    importable by name."""
    memory = memory or child_memory_bytes()
    seconds = seconds or time_limit_seconds()
    payload = pickle.dumps((function, args, memory), protocol=pickle.HIGHEST_PROTOCOL)
    paths = [_PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}
    try:
        if not sys.executable:
            raise OSError("no Python interpreter to start")
        process = subprocess.Popen(
            [sys.executable, "-m", "image_analysis.imaging._child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
            cwd=_PACKAGE_ROOT,
        )
    except OSError as error:
        raise NoChildProcess(str(error)) from None
    try:
        output, _ = process.communicate(payload, timeout=seconds)
    except subprocess.TimeoutExpired:
        raise LimitExceeded("time", seconds) from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    try:
        status, result = pickle.loads(output)  # noqa: S301 - our own child's answer, over a private pipe
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
        raise LimitExceeded("memory", memory / 2**20) from None  # the child died: the kernel or a crash
    if status == "ok":
        return result
    if status == "memory":
        raise LimitExceeded("memory", memory / 2**20)
    raise result


def serve(stdin: Any) -> None:
    """The child's side: read the work, cap the address space, do it, write the answer on the standard output
    (``_child`` runs this). Whatever the work itself prints goes nowhere, so the answer cannot be corrupted."""
    function, args, memory = pickle.loads(stdin.read())  # noqa: S301 - written by run_isolated, our parent
    answer_fd = os.dup(1)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.close(quiet)
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
        answer = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        answer = pickle.dumps(("memory", None))
    except Exception as error:  # noqa: BLE001 - an exception that cannot be pickled: its words still go back
        answer = pickle.dumps(("error", RuntimeError(f"{type(result[1]).__name__}: {error}")))
    with os.fdopen(answer_fd, "wb") as stdout:
        stdout.write(answer)
