"""The ngspice worker of a command-line run, forked before the command line is loaded.

A worker started with ``python -S -m neurospice.sim.worker`` (:func:`~neurospice.sim.process.
spawn_worker`) spends about 20 ms starting an interpreter and importing what the console script
has imported already. The console script (:mod:`neurospice.cli.launch`) instead forks itself as
its first act, when it is one thread with nothing but :mod:`os` and :mod:`sys` loaded: the child
becomes the worker (:func:`neurospice.sim.worker.main`: job, sandbox, ngspice, ``go``) and the
parent goes on to parse its arguments and compile the deck, wrapping the child with
:func:`adopt`. The worker is then ready before the deck is, so that a run's start-up is the
parent's alone.

The child is what an exec'd worker is: its working directory and ``HOME`` are its own empty job
folder (no ``.spiceinit`` is read), its environment is :func:`worker_environment`'s (the
caller's tokens and passwords are not in it: a deck could read ``/proc/self/environ``), its
only open files are its two pipes (stdin: the job and ``go``; stderr: progress) and
``/dev/null`` as stdout, and it sandboxes itself before ngspice is loaded. It is named
``nsw<parent pid>`` (``ps``, ``pgrep``).

Only for a process that has started no thread: the sweeps and the library start their workers
with :func:`~neurospice.sim.process.spawn_worker`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from neurospice.sim.process import Worker

#: prefix of job folders, then their creator's pid (neurospice.sim.process removes stale ones)
JOB_PREFIX = "neurospice-job-"


#: the environment variables a worker keeps (names, then prefixes); every other one - tokens,
#: passwords, cloud keys of the caller - is dropped
_KEEP = frozenset(("PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "USER",
                   "LOGNAME", "SYSTEMROOT"))
_KEEP_PREFIXES = ("LC_", "LD_LIBRARY_PATH", "PYTHON", "SPICE_", "NEUROSPICE_", "OPENBLAS_",
                  "OMP_", "MKL_", "COVERAGE")


def worker_environment(env: dict[str, str], jobdir: str) -> dict[str, str]:
    """The environment of a worker in ``jobdir``: the locale, paths and the variables of
    Python, ngspice (``SPICE_*``; ``NGSPICE_*`` are dropped) and neurospice from ``env``,
    ``HOME`` set to the job folder and numpy's BLAS on one thread."""
    out = {k: v for k, v in env.items() if k in _KEEP or k.startswith(_KEEP_PREFIXES)}
    out["HOME"] = jobdir
    out["OPENBLAS_NUM_THREADS"] = "1"
    return out


def job_root() -> str:
    """The folder job folders are made in: tempfile.gettempdir()'s choice by its environment
    variables, without importing tempfile (and random, hashlib, shutil)."""
    for var in ("TMPDIR", "TEMP", "TMP"):
        if os.environ.get(var):
            return os.environ[var]
    return "/tmp"


def make_jobdir() -> str:
    """A new, private (0700) job folder of this process (raises OSError)."""
    jobdir = os.path.join(job_root(), f"{JOB_PREFIX}{os.getpid()}-{os.urandom(6).hex()}")
    os.mkdir(jobdir, 0o700)
    return jobdir


class ForkedWorker:
    """The parts of :class:`subprocess.Popen` a :class:`~neurospice.sim.process.Worker` uses,
    for a forked child: ``pid``, ``stdin`` (text), ``stderr`` (text), ``returncode``,
    :meth:`poll`, :meth:`wait`, :meth:`kill`."""

    def __init__(self, pid: int, stdin_fd: int, stderr_fd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = open(stdin_fd, "w", encoding="utf-8")  # noqa: SIM115 - closed by Worker
        self.stderr = open(stderr_fd, encoding="utf-8", errors="replace")  # noqa: SIM115

    def _reap(self, flags: int) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:  # reaped elsewhere: its status is lost (as Popen does)
                self.returncode = 0
                return 0
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        return self._reap(os.WNOHANG)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end; as :meth:`subprocess.Popen.wait`, raise
        :class:`subprocess.TimeoutExpired` if it has not after ``timeout`` seconds."""
        if timeout is None:
            code = self._reap(0)
            assert code is not None
            return code
        import time

        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() >= deadline:
                import subprocess

                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            time.sleep(0.005)
        return code

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass


def fork_worker() -> tuple[int, int, int, str] | None:
    """Fork the worker; in the parent, return ``(pid, stdin fd, stderr fd, job folder)``, or
    None if it could not be started (the command then starts one the usual way). The child
    never returns."""
    try:
        jobdir = make_jobdir()
    except OSError:
        return None
    try:
        in_r, in_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
    except OSError:
        os.rmdir(jobdir)
        return None
    if pid == 0:  # pragma: no cover - the child's coverage is the worker's
        _child(jobdir, in_r, err_w)
    os.close(in_r)
    os.close(err_w)
    return pid, in_w, err_r, jobdir


def _child(jobdir: str, stdin_fd: int, stderr_fd: int) -> None:
    code = 1
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(stdin_fd, 0)
        os.dup2(null, 1)
        os.dup2(stderr_fd, 2)
        os.closerange(3, 65536)
        os.chdir(jobdir)
        keep = worker_environment(dict(os.environ), jobdir)
        _blank_inherited_environment()
        for key in [k for k in os.environ if k not in keep]:
            del os.environ[key]
        os.environ.update(keep)  # new strings (putenv), outside the blanked block
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        from neurospice.sim.worker import main

        code = main(jobdir)
        sys.stderr.flush()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        try:
            os.write(2, f"the worker could not start: {type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(code)


def _blank_inherited_environment() -> None:
    """Zero the environment block this forked child shares with its parent's start-up (what
    ``/proc/self/environ`` shows, and what ``os.environ`` changes do not touch), so that a deck
    reading it finds none of the caller's variables. Best effort: a kernel without the
    ``env_start``/``env_end`` fields of ``/proc/self/stat`` leaves it as it is."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            stat = fh.read()
        fields = stat[stat.rindex(b")") + 2:].split()  # fields 3 ... of proc(5)
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (fields 50, 51)
    except (OSError, ValueError, IndexError):
        return
    if 0 < start < end:
        import ctypes

        ctypes.memset(start, 0, end - start)


def adopt(forked: tuple[int, int, int, str]) -> Worker:
    """The :class:`~neurospice.sim.process.Worker` of a child :func:`fork_worker` started."""
    from neurospice.sim.process import _remove_stale_jobdirs, adopt_worker

    pid, stdin_fd, stderr_fd, jobdir = forked
    worker = adopt_worker(ForkedWorker(pid, stdin_fd, stderr_fd), jobdir)
    _remove_stale_jobdirs()
    return worker
