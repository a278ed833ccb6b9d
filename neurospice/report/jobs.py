"""Report work done in a forked child process while the caller goes on.

A run's report has parts that need nothing from each other once the waveforms are in memory:
the waveform table, the trace plots, the memristor plots. Each can run in a child that
:func:`os.fork` makes - the child shares the parent's memory (no copy, nothing pickled), does its
part, sends back a small result through a pipe and ends. On the machine's other core the report
then takes about half the wall time. Files are written atomically by the parts themselves.

A fork copies only the calling thread, so a job runs in the caller's process instead whenever
another thread that is not a daemon is alive (a lock it holds would never be released in the
child), and when ``parallel`` is false or the platform cannot fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["ForkJob", "can_fork"]

T = TypeVar("T")


def can_fork() -> bool:
    """A fork is safe now: the platform has it and every other thread is a daemon."""
    return hasattr(os, "fork") and all(
        t is threading.current_thread() or t.daemon for t in threading.enumerate())


class ForkJob(Generic[T]):
    """``work()`` in a forked child (or at once, see the module docstring).

    :meth:`wait` returns its result (which must pickle); an ``OSError`` of the child (a full
    disk) is raised there as an ``OSError`` with the same number, message and file; any other
    error as a ``RuntimeError`` naming ``what``.
    """

    def __init__(self, work: Callable[[], T], *, what: str = "report job",
                 parallel: bool = True) -> None:
        self._what = what
        self._done = False
        self._result: Any = None
        self._proc: Any = None
        self._conn: Any = None
        if parallel and can_fork():
            import multiprocessing

            ctx = multiprocessing.get_context("fork")
            self._conn, child = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_child, args=(work, child), daemon=True)
            self._proc.start()
            child.close()
        else:
            self._result = work()
            self._done = True

    @property
    def forked(self) -> bool:
        """Whether the work runs (ran) in a child process."""
        return self._proc is not None

    def wait(self) -> T:
        """The result of ``work()`` (see the class docstring)."""
        if not self._done:
            try:
                msg = self._conn.recv()
            except EOFError:
                msg = ("error", f"the child ended without a result (exit status "
                                f"{self._proc.exitcode})")
            finally:
                self._proc.join()
                self._conn.close()
            self._done = True
            if msg[0] == "oserror":
                raise OSError(msg[1], msg[2], msg[3])
            if msg[0] == "error":
                raise RuntimeError(f"{self._what} failed: {msg[1]}")
            self._result = msg[1]
        return self._result


def _child(work: Callable[[], Any], conn: Any) -> None:
    try:
        result = work()
        conn.send(("ok", result))
    except OSError as exc:
        conn.send(("oserror", exc.errno, exc.strerror, exc.filename))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
