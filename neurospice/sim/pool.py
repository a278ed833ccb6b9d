"""Running many ngspice jobs at once on local worker threads (each drives its own process).

:func:`local_map` yields results as they finish; when the caller stops (SIGINT, SIGTERM, an
error) the queued jobs are cancelled and every running ngspice worker is killed, so nothing
outlives the run. :func:`dask_map` does the same on a Dask distributed cluster
(``--scheduler ADDRESS``); :func:`job_map` picks one of the two.

A Dask scheduler is trusted with code execution: Dask's protocol pickles tasks and results,
and this process unpickles what the scheduler sends, so a hostile scheduler runs any command
here. :func:`check_scheduler` therefore refuses an address that is not this machine unless
``--trust-scheduler`` is given, and :func:`dask_map` connects with Dask's own security
settings (``distributed.comm.tls.*`` in the Dask configuration: CA, client certificate and key,
``require-encryption``), required for a ``tls://`` address.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from neurospice.errors import UsageError
from neurospice.sim.process import terminate_all

__all__ = ["local_map", "dask_map", "job_map", "check_scheduler"]

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]", "ip6-localhost")

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


def _host(address: str) -> tuple[str, str]:
    """(scheme, host) of a Dask address ``scheme://host:port`` (``tcp`` when none is given)."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    rest = rest.split("/", 1)[0]
    if rest.startswith("["):  # [v6]:port
        host = rest[1:].split("]", 1)[0]
    else:
        host = rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest
    return scheme.lower(), host.lower()


def _loopback(host: str) -> bool:
    """An IP address of this machine's loopback (a name is not resolved: ``127.0.0.1.nip.io``
    is somebody else's)."""
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_scheduler(address: str, *, trust: bool = False) -> str:
    """Check a ``--scheduler`` address before anything connects to it; return the warning to
    print.

    Raises
    ------
    UsageError
        A malformed address, or one that is not this machine (loopback) without ``trust``.
    """
    from neurospice.files import printable

    shown = printable(address)
    scheme, host = _host(address.strip())
    if scheme not in ("tcp", "tls", "inproc", "ws", "wss", "ucx") or not host:
        raise UsageError(f"--scheduler {shown}: not a Dask address (e.g. tcp://127.0.0.1:8786 "
                         "or tls://scheduler.example:8786)")
    local = scheme == "inproc" or host in _LOCAL_HOSTS or _loopback(host)
    if not local and not trust:
        raise UsageError(
            f"--scheduler {shown}: {printable(host)} is not this machine. A Dask scheduler "
            "sends code that this process runs (Dask's protocol unpickles what it receives): a "
            "scheduler you do not run yourself can run any command here. Give "
            "--trust-scheduler if you trust it, preferably over tls:// with the certificates "
            "in the Dask configuration (distributed.comm.tls)")
    note = "" if scheme in ("tls", "wss") else (
        "; the connection is not encrypted (use tls:// and distributed.comm.tls settings)")
    return (f"WARNING: --scheduler {shown}: the scheduler and its workers run code on this "
            f"machine; use only one you trust{note}")


def dask_map(fn: Callable[..., R], jobs: Sequence[tuple[Any, ...]], address: str) -> Iterator[R]:
    """``fn(*job)`` for every job on the Dask scheduler at ``address``; completion order."""
    try:
        from distributed import Client
        from distributed import as_completed as dask_as_completed
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'neurospice[dask]'") from None
    from distributed.security import Security

    security = Security()  # Dask's configuration: distributed.comm.tls.*, require-encryption
    if _host(address.strip())[0] in ("tls", "wss") and not (
            getattr(security, "tls_client_cert", None) or getattr(security, "tls_ca_file", None)):
        raise UsageError(f"--scheduler {address}: a tls:// scheduler needs its CA and a client "
                         "certificate in the Dask configuration (distributed.comm.tls.ca-file, "
                         "distributed.comm.tls.client.cert/key)")
    try:
        client = Client(address, timeout="20s", security=security)
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
