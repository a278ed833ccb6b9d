"""The console scripts' first lines: start the ngspice worker before anything else is loaded.

``simulate FILE`` spends its first ~40 ms importing modules, parsing arguments and compiling
the deck. The console script forks its worker first (:mod:`neurospice.sim.early`), while it is
one thread with only :mod:`os` and :mod:`sys` loaded: the worker sandboxes itself and loads
ngspice meanwhile, and receives its job (what it may read, its limits) once the arguments are
parsed (:meth:`~neurospice.sim.process.Worker.configure`). The guess is made from the raw
arguments and only skipped for the forms that never run one worker (help, sweeps, Monte Carlo
runs, tolerance runs, another engine); a wrong guess costs a worker that is closed unused. The
command then ends with :func:`~neurospice.cli.main.exit_now`.

This module imports nothing at its top (not even :mod:`typing`): what it imports is paid
before the worker starts.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from neurospice.sim.process import Worker

__all__ = ["neurospice_script", "simulate_script"]

#: Options after which a command runs no single ngspice worker (or runs nothing).
_NO_SINGLE_RUN = ("-h", "--help", "--version", "--sweep", "--runs", "--tol", "--engine")


def _one_blas_thread() -> None:
    """numpy's OpenBLAS starts a thread per core at import and lets them spin: on a 2-core
    machine they took 3 % from ngspice running beside them (0.918 s against 0.890 s over 2 s of
    the board). The commands do no large linear algebra, so BLAS gets one thread, unless the
    user's environment says otherwise."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _ahead(argv: Sequence[str]) -> Worker | None:
    if any(a.split("=", 1)[0] in _NO_SINGLE_RUN for a in argv):
        return None
    try:
        from neurospice.sim import early

        forked = early.fork_worker()
        if forked is not None:
            return early.adopt(forked)
        from neurospice.sim.process import spawn_worker

        return spawn_worker()
    except Exception:  # noqa: BLE001 - the command starts its own worker, or reports why not
        return None


def simulate_script() -> None:
    """The ``simulate`` console script."""
    _one_blas_thread()
    worker = _ahead(sys.argv[1:])
    from neurospice.cli.main import exit_now, simulate_main

    exit_now(simulate_main(worker=worker))


def neurospice_script() -> None:
    """The ``neurospice`` console script (``neurospice simulate ...`` as ``simulate ...``)."""
    _one_blas_thread()
    argv = sys.argv[1:]
    worker = _ahead(argv[1:]) if argv[:1] == ["simulate"] else None
    from neurospice.cli.main import exit_now, main

    exit_now(main(worker=worker))
