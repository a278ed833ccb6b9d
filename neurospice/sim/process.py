"""The ngspice worker processes: start one, follow it, stop it.

A worker (:mod:`neurospice.sim.worker`) is a fresh Python process in a fresh job folder that is
also its ``HOME``. It starts, reads its job (what it may read, its limits) from its stdin,
sandboxes itself, loads ngspice and waits for its deck. This module needs only the standard
library, so a command can start its worker before it imports anything else and send the job
once its arguments are parsed (:func:`spawn_worker`, :meth:`Worker.configure`): the parent's
imports and the deck's compilation then overlap the worker's start-up.
:mod:`neurospice.sim.ngspice` hands the worker its deck and reads the results.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurospice.errors import SimulationError
from neurospice.sim.early import JOB_PREFIX as _JOB_PREFIX
from neurospice.sim.early import job_root, make_jobdir, worker_environment

if TYPE_CHECKING:
    import subprocess

__all__ = ["JobFolderFull", "ProgressFn", "RunLimits", "Worker", "WorkerJob", "job_folder_usage",
           "read_paths_for", "spawn_worker", "start_worker", "terminate_all"]

ProgressFn = Callable[[str, float], None]


#: defaults of :attr:`RunLimits.job_folder` (bytes) and :attr:`RunLimits.job_files`
JOB_FOLDER_BYTES = 256 << 20
JOB_FOLDER_FILES = 4096


@dataclass(frozen=True)
class RunLimits:
    """Bounds on one ngspice run (each has a command-line option).

    Attributes
    ----------
    timeout
        Wall-clock limit (s); the worker is killed after it. Default one hour.
    memory
        Address-space limit of the worker (bytes). Default 4 GiB.
    file_size
        Largest file the worker may write (bytes), the raw file included. Default 4 GiB.
    job_folder
        Most bytes the files of the job folder may hold while the worker runs, the worker's own
        results (``result.bin``, ``result.raw``: one file each, bounded by ``file_size``) not
        counted: what an ``--allow-control`` deck's ``write`` and ``wrdata`` may leave there.
        Default 256 MiB; the parent measures the folder every 20 ms (more often while it grows)
        and kills the worker past it.
    job_files
        Most files and folders in the job folder while the worker runs. Default 4096.
    sandbox
        Apply the OS sandbox (always on for users; tests of the sandbox itself may not turn it
        off either - the switch exists for diagnosing a kernel that lacks seccomp).
    """

    timeout: float = 3600.0
    memory: int = 4 << 30
    file_size: int = 4 << 30
    job_folder: int = field(default_factory=lambda: JOB_FOLDER_BYTES)
    job_files: int = field(default_factory=lambda: JOB_FOLDER_FILES)
    sandbox: bool = True


def read_paths_for(base_dir: Path) -> list[str]:
    """What a worker running a deck of the folder ``base_dir`` may read besides the system."""
    from neurospice.files import shared_folder
    from neurospice.spice.resources import NETLISTS_DIR

    # resolved, as the compiler resolves a deck's folder: a worker configured from the path the
    # user typed (a symlink, say) then has the same job as the deck's, and is not discarded
    tree = str(Path(base_dir).resolve())
    if shared_folder(tree) is not None:  # /tmp, $HOME, /: the deck is refused; read nothing
        return [str(NETLISTS_DIR)]
    return [tree, str(NETLISTS_DIR)]


_LIVE: set[subprocess.Popen[str]] = set()
_LIVE_LOCK = threading.Lock()


def terminate_all() -> int:
    """Kill every ngspice worker this process started that is still running.

    Called when a sweep is interrupted (SIGINT/SIGTERM), so that no worker outlives it.
    Returns how many were killed.
    """
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
    return len(procs)


def _remove_stale_jobdirs() -> None:
    """Remove job folders left by processes that no longer exist (e.g. a SIGKILLed sweep)."""
    tmp = Path(job_root())
    for path in tmp.glob(f"{_JOB_PREFIX}*"):
        try:
            pid = int(path.name[len(_JOB_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            continue


@dataclass(frozen=True)
class WorkerJob:
    """A worker's job, sent once (:meth:`Worker.configure`): what it may read besides the
    system (:func:`read_paths_for`), whether it keeps ngspice's raw file, and its limits (the
    wall-clock limit among them). A worker runs a deck only for the job it was started with."""

    read_paths: tuple[str, ...]
    raw: bool = False
    limits: RunLimits = field(default_factory=RunLimits)


@dataclass(eq=False)
class Worker:
    """A worker process that has started, sandboxed itself and loaded ngspice, and waits for
    its deck (see :func:`start_worker`)."""

    proc: subprocess.Popen[str]
    jobdir: Path
    #: its job; None until :meth:`configure`
    key: WorkerJob | None
    tail: list[str]
    #: the thread following its stderr (:func:`_read_progress`)
    reader: threading.Thread | None = None
    #: called with (analysis, percent) as ngspice reports progress
    progress: ProgressFn | None = None
    #: set when the worker said its results are complete, or its stderr closed (it ended)
    done: threading.Event = field(default_factory=threading.Event)
    #: the worker said its results are complete (``@@done``)
    finished: bool = False
    #: the limits of its job (None until :meth:`configure`)
    limits: RunLimits | None = None

    def configure(self, job: WorkerJob) -> None:
        """Send the worker its job (:class:`WorkerJob`)."""
        if self.key is not None:
            raise ValueError("the worker has its job already")
        limits = job.limits
        wall = _wall(None, limits)
        message = {
            "read_paths": list(job.read_paths),
            "cpu_seconds": int(wall * 1.5 + 30),
            "address_space": limits.memory,
            "file_size": limits.file_size,
            "sandbox": limits.sandbox,
            "raw": job.raw,
        }
        self.key = job
        self.limits = limits
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"job {json.dumps(message)}\n")
            self.proc.stdin.flush()
        except OSError:  # it ended already: reported from its status when it is run
            pass

    def wait_results(self, wall: float, name: str) -> bool:
        """Wait up to ``wall`` seconds for the worker's results (``@@done``) or its end; True
        if they came, False on the time limit.

        Meanwhile, every :data:`CHECK_INTERVAL` seconds, and once more at the end, the job
        folder is measured (:func:`job_folder_usage`): past the limits' ``job_folder`` bytes or
        ``job_files`` files the worker is killed and :class:`JobFolderFull` raised, naming the
        limit and what the folder held when the worker was stopped. While the folder grows,
        it is measured again before it could reach a limit at its last rate (half the time
        left to it, down to :data:`MIN_CHECK_INTERVAL`), so a deck that writes without end is
        stopped about one file past the limit.
        """
        limits = self.limits or RunLimits()
        deadline = time.monotonic() + wall
        step = CHECK_INTERVAL
        last: tuple[float, int, int] | None = None
        while True:
            left = deadline - time.monotonic()
            came = left > 0 and self.done.wait(timeout=min(step, left))
            size, files = job_folder_usage(self.jobdir, limits.job_files)
            if size > limits.job_folder or files > limits.job_files:
                self._stop_over(name, limits)
            if came:
                return True
            if left <= 0:
                return False
            now = time.monotonic()
            step = CHECK_INTERVAL
            if last is not None:
                dt = max(now - last[0], 1e-6)
                for used, before, cap in ((size, last[1], limits.job_folder),
                                          (files, last[2], limits.job_files)):
                    if used > before:  # growing: look again before it can reach the limit
                        step = min(step, (cap - used) * dt / (used - before) / 2)
                step = max(step, MIN_CHECK_INTERVAL)
            last = (now, size, files)

    def _stop_over(self, name: str, limits: RunLimits) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        size, files = job_folder_usage(self.jobdir, 1 << 62)
        raise JobFolderFull(
            f"{name}: the deck wrote more than the job folder may hold "
            f"({_mib(limits.job_folder)} in at most {limits.job_files} files; it held "
            f"{_mib(size)} in {files} files when the run was stopped): its .control block "
            "writes files ('write', 'wrdata') without end; nothing was kept")

    def close(self) -> None:
        """Stop the process (if it still runs) and remove its folder."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with _LIVE_LOCK:
            _LIVE.discard(self.proc)
        if self.reader is not None and self.reader is not threading.current_thread():
            self.reader.join(timeout=2)  # the process has ended: its stderr reaches EOF
        for stream in (self.proc.stdin, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        shutil.rmtree(self.jobdir, ignore_errors=True)


#: how often (s) the parent measures a running worker's job folder (see
#: :meth:`Worker.wait_results`): a deck writing at 100 MB/s passes the limit by 2 MB at most
#: before it is stopped (a folder of a few files takes about 20 us to measure)
CHECK_INTERVAL = 0.02
#: the shortest wait between two measures of a job folder that grows towards its limits (s)
MIN_CHECK_INTERVAL = 0.001

#: the worker's own results: one file each, bounded by the file-size limit (RLIMIT_FSIZE) and
#: checked by the parent before it reads them; not counted in the job folder's total
_RESULT_FILES = frozenset({"result.bin", "result.raw"})


class JobFolderFull(SimulationError):
    """The worker's job folder passed its limits (:attr:`RunLimits.job_folder`,
    :attr:`RunLimits.job_files`); the worker was killed."""


def job_folder_usage(jobdir: Path, max_files: int) -> tuple[int, int]:
    """(bytes, files) held by the job folder ``jobdir``, its subfolders included.

    A file counts its size or its allocated blocks, whichever is larger (a thousand one-byte
    files take a thousand blocks); links are counted, never followed; the worker's results
    (``result.bin``, ``result.raw`` at the top) count as files, not bytes. Counting stops
    past ``max_files`` entries.
    """
    total = files = 0
    stack = [str(jobdir)]
    top = True
    while stack and files <= max_files:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # removed meanwhile, or not a folder any more
            continue
        for entry in entries:
            files += 1
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if top and entry.name in _RESULT_FILES:
                continue
            total += max(st.st_size, st.st_blocks * 512)
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
        top = False
    return total, files


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.3g} MiB"


def _wall(timeout: float | None, limits: RunLimits) -> float:
    wall = timeout if timeout is not None else limits.timeout
    if not (wall > 0 and math.isfinite(wall)):
        raise SimulationError(f"the time limit must be a positive number of seconds (got {wall})")
    return wall


def _worker_path() -> list[str]:
    """This package's folder first, then every folder of the parent's module path."""
    out = [str(Path(__file__).resolve().parents[2])]
    for entry in sys.path:
        if entry and entry not in out and Path(entry).is_dir():
            out.append(entry)
    return out


def spawn_worker(raw_messages: list[str] | None = None) -> Worker:
    """Start a worker that waits for its job (:meth:`Worker.configure`), then for its deck.

    Close it (``worker.close()``) if it is not used.
    """
    import subprocess  # here: a command-line run forks its worker (neurospice.sim.early)

    _remove_stale_jobdirs()
    jobdir = Path(make_jobdir())
    try:
        env = worker_environment(dict(os.environ), str(jobdir))
        # ``-S``: no site module (10 ms of start-up); the worker finds this package and the
        # sandbox bindings on the parent's own module path instead
        env["PYTHONPATH"] = os.pathsep.join(_worker_path())
        proc = subprocess.Popen(
            [sys.executable, "-S", "-m", "neurospice.sim.worker", str(jobdir)],
            cwd=jobdir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    except BaseException:
        shutil.rmtree(jobdir, ignore_errors=True)
        raise
    return adopt_worker(proc, jobdir, raw_messages)


def adopt_worker(proc: Any, jobdir: str | Path,
                 raw_messages: list[str] | None = None) -> Worker:
    """The :class:`Worker` of a started worker process ``proc`` (a :class:`subprocess.Popen`,
    or :class:`~neurospice.sim.early.ForkedWorker`) in ``jobdir``: registered to be killed on
    interruption, its stderr followed."""
    with _LIVE_LOCK:
        _LIVE.add(proc)
    tail: list[str] = raw_messages if raw_messages is not None else []
    worker = Worker(proc, Path(jobdir), None, tail)
    worker.reader = threading.Thread(target=_read_progress, args=(worker,), daemon=True)
    worker.reader.start()
    return worker


def start_worker(job: WorkerJob, raw_messages: list[str] | None = None) -> Worker:
    """Start a worker for decks that may read ``read_paths`` (see :func:`read_paths_for`):
    :func:`spawn_worker` and :meth:`Worker.configure` at once.

    The worker starts Python, sandboxes itself and loads ngspice while the caller is still
    compiling its deck; :func:`run_all` then hands it the deck. Close it (``worker.close()``)
    if it is not used.
    """
    _wall(None, job.limits)  # a bad limit fails here, before a process starts
    worker = spawn_worker(raw_messages)
    worker.configure(job)
    return worker


def _read_progress(worker: Worker) -> None:
    """Follow the worker's stderr: progress lines to its callback, ``@@done``, other lines to
    its tail (for error messages)."""
    proc = worker.proc
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            if line.startswith("@@progress "):
                fn = worker.progress
                if fn is not None:
                    parts = line.split()
                    try:
                        fn(parts[1], float(parts[2]))
                    except (IndexError, ValueError):
                        pass
            elif line.startswith("@@done"):
                worker.finished = True
                worker.done.set()
            else:
                worker.tail.append(line.rstrip())
                del worker.tail[:-40]
    except (OSError, ValueError):  # the stream was closed under us (the worker was discarded)
        pass
    finally:
        worker.done.set()
