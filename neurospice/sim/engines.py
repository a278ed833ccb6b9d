"""The engines as objects: ngspice and the model engine behind one small interface.

An :class:`Engine` runs a checked deck (``run``) or a list of parameter points of it (``map``) and
declares what it can do (:class:`Capabilities`). The registry turns an engine's name into the
engine once, at the edge (:func:`get_engine`; the command line's ``--engine``, the API's
``engine=``); past it, code asks the engine object - its methods and capabilities - instead of
comparing names. ::

    eng = get_engine("model")
    if not eng.capabilities.raw:
        raise UsageError("--raw keeps ngspice's raw file: the model engine writes none")
    plots = eng.run(deck, options)

This module imports nothing heavy (the command line reads the engines' names from it before
parsing): each engine loads its driver on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from neurospice.errors import UsageError

if TYPE_CHECKING:
    from neurospice.sim.options import RunOptions
    from neurospice.sim.waveforms import Waveforms
    from neurospice.spice.deck import PreparedDeck

__all__ = ["Capabilities", "Engine", "SpiceEngine", "ModelEngine", "ENGINES", "DEFAULT_ENGINE",
           "get_engine", "engine_names"]

#: ``reduce(point_deck, point, waveforms) -> row``, run where the point ran.
ReduceFn = Callable[["PreparedDeck", dict[str, Any], "Waveforms"], dict[str, Any]]


class Capabilities(NamedTuple):
    """What an engine honours.

    Attributes
    ----------
    tolerances
        Builds from toleranced parts (``--tol``) and worst-case corners (``--corners``).
    corners
        Worst-case corners (``--corners``: one run per part at each end of its tolerance).
    seeds
        Several draws of the device noise per point (``--seeds``).
    scheduler
        Batches on a Dask scheduler (``--scheduler``).
    verify
        Rerunning points of a map in ngspice to check them (``--verify``).
    energy
        Every node voltage and device current saved for the energy balance (``--energy``).
    raw
        ngspice's binary raw file kept (``--raw``).
    point_maps
        Batches run as points of one compiled model in each worker process
        (:func:`~neurospice.sim.model.maps.map_model`) rather than one ngspice worker per point.
    self_check
        Checked once per netlist against a short ngspice run before its first use.
    analyses
        The analysis cards it runs (``tran``, ``ac``, ``dc``, ``op``).
    """

    tolerances: bool
    corners: bool
    seeds: bool
    scheduler: bool
    verify: bool
    energy: bool
    raw: bool
    point_maps: bool
    self_check: bool
    analyses: frozenset[str]


class Engine(Protocol):
    """A simulator behind neurospice's pipeline."""

    name: str
    description: str
    capabilities: Capabilities

    def run(self, deck: PreparedDeck, options: RunOptions) -> list[Waveforms]:
        """Run ``deck`` once; one :class:`Waveforms` per analysis."""
        ...

    def map(self, deck: PreparedDeck, points: Sequence[dict[str, Any]], reduce: ReduceFn,
            options: RunOptions,
            progress: Callable[[int], object] | None = None) -> list[dict[str, Any]]:
        """Run every point (parameter overrides, ``"seed"`` allowed) and return ``reduce``'s
        rows in point order; ``progress`` is called with the number of points just finished."""
        ...


def _point_deck(deck: PreparedDeck, point: dict[str, Any]) -> PreparedDeck:
    values = {k: v for k, v in point.items() if k != "seed"}
    d = deck.with_values(values) if values else deck
    return d.with_seed(int(point["seed"])) if "seed" in point else d


def _spice_point(deck: PreparedDeck, point: dict[str, Any], reduce: ReduceFn,
                 options: RunOptions) -> dict[str, Any]:
    from neurospice.sim.ngspice import run_all
    from neurospice.sim.noise import with_shared_noise

    d = _point_deck(deck, point)
    return reduce(d, point, run_all(with_shared_noise(d), limits=options.run_limits())[0])


class SpiceEngine:
    """ngspice, each run in a fresh sandboxed worker process (:mod:`neurospice.sim.ngspice`)."""

    name = "spice"
    description = "ngspice on the circuit (default)"
    capabilities = Capabilities(tolerances=True, corners=True, seeds=True, scheduler=True,
                                verify=False, energy=True, raw=True, point_maps=False,
                                self_check=False,
                                analyses=frozenset({"tran", "ac", "dc", "op"}))

    def run(self, deck: PreparedDeck, options: RunOptions) -> list[Waveforms]:
        from neurospice.sim.ngspice import run_all
        from neurospice.sim.noise import with_shared_noise

        # the device noise drawn by neurospice, as the model engine draws it for this seed
        return run_all(with_shared_noise(deck), limits=options.run_limits())

    def map(self, deck: PreparedDeck, points: Sequence[dict[str, Any]], reduce: ReduceFn,
            options: RunOptions,
            progress: Callable[[int], object] | None = None) -> list[dict[str, Any]]:
        from neurospice.sim.pool import job_map

        jobs = [(deck, dict(p), reduce, options) for p in points]
        rows = []
        for row in job_map(_spice_point, jobs, workers=options.workers,
                           scheduler=options.scheduler):
            rows.append(row)
            if progress is not None:
                progress(1)
        return rows


class ModelEngine:
    """The board's equations compiled from the netlist (:mod:`neurospice.sim.model`)."""

    name = "model"
    description = "the board's equations compiled from the netlist (fast, for maps)"
    capabilities = Capabilities(tolerances=True, corners=False, seeds=True, scheduler=True,
                                verify=True, energy=False, raw=False, point_maps=True,
                                self_check=True, analyses=frozenset({"tran"}))

    def run(self, deck: PreparedDeck, options: RunOptions) -> list[Waveforms]:
        from neurospice.sim.model import run_model

        return run_model(deck)

    def map(self, deck: PreparedDeck, points: Sequence[dict[str, Any]], reduce: ReduceFn,
            options: RunOptions,
            progress: Callable[[int], object] | None = None) -> list[dict[str, Any]]:
        from neurospice.sim.model.maps import map_model

        return map_model(deck, points, reduce=reduce, workers=options.workers,
                         progress=progress, scheduler=options.scheduler)


#: The registry: an engine's name to the engine.
ENGINES: dict[str, Engine] = {e.name: e for e in (SpiceEngine(), ModelEngine())}
DEFAULT_ENGINE = "spice"


def engine_names() -> list[str]:
    """The registered engines' names (the choices of ``--engine``)."""
    return list(ENGINES)


def get_engine(engine: str | Engine) -> Engine:
    """The engine named ``engine`` (an engine is returned as it is): the one place a name
    becomes an engine. Raises :class:`~neurospice.errors.UsageError` for an unknown name."""
    if not isinstance(engine, str):
        return engine
    try:
        return ENGINES[engine.strip().lower()]
    except KeyError:
        raise UsageError(f"unknown engine {engine!r}; choose one of "
                         f"{', '.join(ENGINES)}") from None
