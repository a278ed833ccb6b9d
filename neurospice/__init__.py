"""neurospice: SPICE-style simulation of neuron circuits coupled through memristive synapses.

The circuits live in ``netlists/`` (package data, the single source of truth); neurospice
compiles them through an allow-list deck compiler, runs them in a sandboxed ngspice worker (or
the model engine), analyses the waveforms (spikes, phase locking, energy) and reports.

The public API, by task
-----------------------
Run and analyse
    :func:`simulate` (deck path or text -> :class:`Run`: ``run.time``, ``run["v(node)"]``,
    ``run.summary``, ``run.locking``, ``run.to_dataframe()``, ``run.plot()``)
Many runs
    :func:`sweep` (a grid -> DataFrame, as ``sweep.csv``), :func:`monte_carlo` (seeds ->
    DataFrame, as ``runs.csv``)
Parts
    :func:`parts_list` (what to buy: series values, ratings from a run's stresses),
    :func:`snap` (what moving every part to its series value changes), :func:`corners`
    (worst case over part tolerances)
Synapses
    :func:`stdp` (a spike-timing protocol on the second-order synapse -> rows of ``stdp.csv``),
    :func:`crossbar` (the crossbar experiment, map or ngspice, Proposition 1 beside it)
Decks and networks
    :func:`check` (compile and resolve names), :func:`build` (network file -> SPICE deck),
    :func:`load` (compile only)
Errors
    :class:`NeurospiceError` at the root; :class:`NeurospiceInputError` (bad input, with file,
    line and column: :class:`DeckError`, :class:`LimitError`, :class:`UsageError`,
    :class:`ModelError`, the network language's errors) and :class:`SimulationError` (a run
    that could not complete).

>>> import neurospice
>>> run = neurospice.simulate("netlists/coupled_fhn.cir", tstop=0.5)  # doctest: +SKIP
>>> run.to_dataframe().shape  # doctest: +SKIP

Importing :mod:`neurospice` is cheap: the API's modules load on first use.
"""

from __future__ import annotations

import lazy_loader

from neurospice.meta import __version__

TYPE_CHECKING = False
__all__ = [
    "NETLISTS_DIR",
    "__version__",
    "Run",
    "simulate",
    "sweep",
    "monte_carlo",
    "build",
    "check",
    "load",
    "parts_list",
    "snap",
    "corners",
    "stdp",
    "crossbar",
    "NeurospiceError",
    "NeurospiceInputError",
    "DeckError",
    "LimitError",
    "UsageError",
    "ModelError",
    "SimulationError",
    "SimulationTimeout",
]

_API = {"Run", "simulate", "sweep", "monte_carlo", "build", "check", "load", "parts_list", "snap",
        "corners", "stdp", "crossbar"}

# Nothing is imported here but the version: every ``neurospice.*`` module, the ngspice worker
# included, starts by importing this package, and the worker's start-up is on the critical path
# of every run (``typing`` and ``pathlib``, which the error classes need, cost it 5 ms).
if TYPE_CHECKING:
    from neurospice.api import (
        Run,
        build,
        check,
        corners,
        crossbar,
        load,
        monte_carlo,
        parts_list,
        simulate,
        snap,
        stdp,
        sweep,
    )
    from neurospice.errors import (
        DeckError,
        LimitError,
        ModelError,
        NeurospiceError,
        NeurospiceInputError,
        SimulationError,
        SimulationTimeout,
        UsageError,
    )
    from neurospice.spice.resources import NETLISTS_DIR


__getattr__, _, _ = lazy_loader.attach(__name__, submod_attrs={
    "api": sorted(_API),
    "errors": [n for n in __all__ if n.endswith(("Error", "Timeout"))],
    "spice.resources": ["NETLISTS_DIR"],  # found beside the package on first use
})


def __dir__() -> list[str]:
    """The names loaded on first use too (tab completion, ``dir(neurospice)``)."""
    return sorted(set(globals()) | set(__all__))
