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
import pickle
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
    error as a ``RuntimeError`` naming ``what``. A bare :func:`os.fork` and a pipe: the
    child ends with :func:`os._exit`, running no exit handler and flushing none of the
    parent's buffers.
    """

    def __init__(self, work: Callable[[], T], *, what: str = "report job",
                 parallel: bool = True) -> None:
        self._what = what
        self._done = False
        self._result: Any = None
        self._pid = 0
        self._fd = -1
        if parallel and can_fork():
            read, write = os.pipe()
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:  # the child
                os.close(read)
                _child(work, write, parent)  # never returns
            os.close(write)
            self._pid, self._fd = pid, read
        else:
            self._result = work()
            self._done = True

    @property
    def forked(self) -> bool:
        """Whether the work runs (ran) in a child process."""
        return self._pid != 0

    def wait(self) -> T:
        """The result of ``work()`` (see the class docstring)."""
        if not self._done:
            with os.fdopen(self._fd, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            self._done = True
            msg: tuple[Any, ...] = pickle.loads(data) if data else (
                "error", f"the child ended without a result (wait status {status})")
            if msg[0] == "oserror":
                raise OSError(msg[1], msg[2], msg[3])
            if msg[0] == "error":
                raise RuntimeError(f"{self._what} failed: {msg[1]}")
            self._result = msg[1]
        return self._result


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this child when its parent dies (``PR_SET_PDEATHSIG``): an
    interrupted or killed run leaves no plotting child behind."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the child ends with its work
        return
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _child(work: Callable[[], Any], fd: int, parent: int) -> None:
    code = 0
    try:
        _die_with_parent(parent)
        try:
            msg: tuple[Any, ...] = ("ok", work())
        except OSError as exc:
            msg = ("oserror", exc.errno, exc.strerror, exc.filename)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
            msg = ("error", f"{type(exc).__name__}: {exc}")
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(pickle.dumps(msg))
    except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
        code = 1
    finally:
        os._exit(code)
