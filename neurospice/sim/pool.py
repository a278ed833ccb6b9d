"""Running many ngspice jobs at once on local worker threads (each drives its own process).

:func:`local_map` yields results as they finish; when the caller stops (SIGINT, SIGTERM, an
error) the queued jobs are cancelled and every running ngspice worker is killed, so nothing
outlives the run. :func:`dask_map` does the same on a Dask distributed cluster
(``--scheduler ADDRESS``); :func:`job_map` picks one of the two.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from neurospice.errors import UsageError
from neurospice.sim.process import terminate_all

__all__ = ["local_map", "dask_map", "job_map"]

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


def dask_map(fn: Callable[..., R], jobs: Sequence[tuple[Any, ...]], address: str) -> Iterator[R]:
    """``fn(*job)`` for every job on the Dask scheduler at ``address``; completion order."""
    try:
        from distributed import Client
        from distributed import as_completed as dask_as_completed
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'neurospice[dask]'") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})") \
            from None
    try:
        futures = [client.submit(fn, *job, pure=False) for job in jobs]
        for fut in dask_as_completed(futures):
            yield fut.result()
    finally:
        client.close()


def job_map(fn: Callable[..., R], jobs: Sequence[tuple[Any, ...]], *,
            workers: int | None = None, scheduler: str | None = None) -> Iterator[R]:
    """:func:`dask_map` when a scheduler is given, else :func:`local_map`."""
    if scheduler:
        return dask_map(fn, jobs, scheduler)
    return local_map(fn, jobs, workers)
