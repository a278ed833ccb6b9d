"""The console scripts' first lines: start the ngspice worker before anything else is loaded.

``simulate FILE`` spends its first ~50 ms importing modules and parsing arguments; a worker
started first spends them starting Python and loading its sandbox libraries, and receives its
job (what it may read, its limits) once the arguments are parsed
(:meth:`~neurospice.sim.process.Worker.configure`). The guess is made from the raw arguments
and only skipped for the forms that never run one worker (help, sweeps, Monte Carlo runs,
tolerance runs, another engine); a wrong guess costs a worker that is closed unused. The
command then ends with :func:`~neurospice.cli.main.exit_now`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neurospice.sim.process import Worker

__all__ = ["neurospice_script", "simulate_script"]

#: Options after which a command runs no single ngspice worker (or runs nothing).
_NO_SINGLE_RUN = ("-h", "--help", "--version", "--sweep", "--runs", "--tol", "--engine")


def _one_blas_thread() -> None:
    """numpy's OpenBLAS starts a thread per core at import and lets them spin: on a 2-core
    machine they took 3 % from ngspice running beside them (0.918 s against 0.890 s over 2 s of
    the board). The commands do no large linear algebra, so BLAS gets one thread, unless the
    user's environment says otherwise."""
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _ahead(argv: Sequence[str]) -> Worker | None:
    if any(a.split("=", 1)[0] in _NO_SINGLE_RUN for a in argv):
        return None
    try:
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
