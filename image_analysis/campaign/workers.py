"""A map over a campaign's items on worker processes, results in order and bounded in flight: the preparation of
its files, the reading back of its results."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, TypeVar

_Result = TypeVar("_Result")
MAX_WORKERS = 64
"""The most worker processes a campaign step takes (``--workers``)."""


def worker_count(workers: int | None) -> int:
    """The worker processes asked for, or one per core."""
    return workers or max(1, os.cpu_count() or 1)


def in_order(
    workers: int | None, function: Callable[..., _Result], items: Iterable[Any], *args: Any
) -> Iterator[_Result]:
    """``map`` on worker processes started fresh (``spawn``: no decoder state, lock or thread carried over from this
    one), one per core by default, with results in order and at most twice as many in flight as workers, so that
    prepared requests (hundreds of kB each) never pile up in memory. One worker: in this process, no pool started."""
    count = worker_count(workers)
    if count == 1:
        yield from (function(item, *args) for item in items)
        return
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from _windowed(pool, 2 * count, function, items, *args)


def _windowed(
    pool: Executor, window: int, function: Callable[..., _Result], items: Iterable[Any], *args: Any
) -> Iterator[_Result]:
    pending: deque[Future] = deque()
    for item in items:
        pending.append(pool.submit(function, item, *args))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
