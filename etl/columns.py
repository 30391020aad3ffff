"""Work on many columns at once, on every core.

numpy and Arrow release the interpreter lock while they work through a whole column, so the
item columns of a large file (44 of them in the benchmark) are converted, scored and compacted
by a small pool of threads instead of one after another. Results come back in input order.
``in_background`` runs one such job on its own thread while the caller goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

WORKERS = max(1, min(4, os.cpu_count() or 1))
_POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="attune-columns")
_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attune-background")


def each_column(work: Callable[[Item], Result], columns: Iterable[Item]) -> list[Result]:
    """``[work(column) for column in columns]``, the calls spread over the worker threads."""
    columns = list(columns)
    if WORKERS == 1 or len(columns) < 2:
        return [work(column) for column in columns]
    return list(_POOL.map(work, columns))


def in_background(work: Callable[..., Result], *arguments: object) -> Future[Result]:
    """Start ``work(*arguments)`` on the background thread; ``.result()`` waits for it."""
    return _BACKGROUND.submit(work, *arguments)
