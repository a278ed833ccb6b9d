"""Running many ngspice jobs at once on local worker threads (each drives its own process).

:func:`local_map` yields results as they finish; when the caller stops (SIGINT, SIGTERM, an
error) the queued jobs are cancelled and every running ngspice worker is killed, so nothing
outlives the run. Dask (``--scheduler``) is in :mod:`neurospice.batch.sweep`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from neurospice.sim.ngspice import terminate_all

__all__ = ["local_map"]

R = TypeVar("R")


def local_map(fn: Callable[..., R], jobs: Sequence[tuple[Any, ...]],
              workers: int | None = None) -> Iterator[R]:
    """``fn(*job)`` for every job on ``workers`` threads; results in completion order."""
    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    try:
        futures: list[Future[R]] = [pool.submit(fn, *job) for job in jobs]
        for fut in as_completed(futures):
            yield fut.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        terminate_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
