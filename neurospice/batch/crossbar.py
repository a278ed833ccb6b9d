"""One run of the crossbar experiment (seed 001, Sec. IV): its engines as objects, the run and
Proposition 1's solutions beside it.

Engines (:data:`CROSSBAR_ENGINES`, ``--engine`` of ``neurospice crossbar``): ``map`` (the
discrete-time map of :mod:`neurospice.reference.crossbar`, any N) and ``spice`` (the circuit of
:mod:`neurospice.batch.crossbar_spice` in ngspice, N <= :data:`SPICE_MAX_N`). :func:`run_crossbar`
checks the configuration, runs the engine and, when asked, solves Proposition 1 and compares
the run's steady levels with it; :meth:`CrossbarRun.to_json` is ``crossbar.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from neurospice.batch.crossbar_spice import SPICE_MAX_N, simulate_crossbar_spice
from neurospice.errors import UsageError
from neurospice.reference.crossbar import (
    CrossbarConfig,
    CrossbarResult,
    Prop1Solution,
    compare_prop1,
    prop1_solve,
    simulate_crossbar,
)

__all__ = ["CROSSBAR_ENGINES", "CrossbarEngine", "CrossbarRun", "get_crossbar_engine",
           "run_crossbar"]


@dataclass(frozen=True)
class CrossbarEngine:
    """An engine of the crossbar: ``run(config)`` is its :class:`CrossbarResult`; ``max_n`` the
    largest N it takes (None: any)."""

    name: str
    run: Callable[[CrossbarConfig], CrossbarResult]
    max_n: int | None
    description: str


#: The crossbar's engines by name.
CROSSBAR_ENGINES: dict[str, CrossbarEngine] = {e.name: e for e in (
    CrossbarEngine("map", simulate_crossbar, None, "the discrete-time map (any N)"),
    CrossbarEngine("spice", simulate_crossbar_spice, SPICE_MAX_N,
                   f"the ngspice circuit built by the network language (N <= {SPICE_MAX_N})"),
)}


def get_crossbar_engine(engine: str | CrossbarEngine) -> CrossbarEngine:
    """The crossbar engine of that name (or the engine itself); UsageError naming the choices."""
    if isinstance(engine, CrossbarEngine):
        return engine
    found = CROSSBAR_ENGINES.get(engine)
    if found is None:
        raise UsageError(f"unknown crossbar engine {engine!r}; choose one of "
                         f"{', '.join(CROSSBAR_ENGINES)}")
    return found


@dataclass(frozen=True)
class CrossbarRun:
    """A crossbar run: its configuration, engine, result and (with ``prop1``) Proposition 1's
    solutions and the comparison of the run's levels with them (None unless the run settled on
    an admissible period)."""

    config: CrossbarConfig
    engine: str
    result: CrossbarResult
    prop1: list[Prop1Solution] | None = None
    comparison: dict[str, float] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        """``crossbar.json``: the configuration and the learned pattern."""
        res = self.result
        doc: dict[str, Any] = {
            "config": asdict(self.config),
            "engine": self.engine,
            "spatial_period": res.spatial_period,
            "post_period_s": res.post_period_s,
            "post_period_over_t": res.post_period_over_t,
            "period_s": res.period_s,
            "post_spikes": len(res.post_times),
            "g_s": [float(x) for x in res.g],
            "g_at_last_post_s": (None if res.g_at_post is None
                                 else [float(x) for x in res.g_at_post]),
        }
        if self.prop1 is not None:
            doc["prop1"] = {"solutions": [asdict(s) for s in self.prop1],
                            "comparison": self.comparison}
        return doc


def run_crossbar(config: CrossbarConfig, *, engine: str | CrossbarEngine = "map",
                 prop1: bool = False) -> CrossbarRun:
    """Run the crossbar ``config`` with ``engine``; with ``prop1``, solve Proposition 1 too.

    Raises :class:`~neurospice.errors.UsageError` for a configuration refused (N < 2, no
    presentation, a negative step, Proposition 1 with every pulse counted, N above the
    engine's limit, overlapping pulses)."""
    eng = get_crossbar_engine(engine)
    if config.n < 2 or config.presentations < 1:
        raise UsageError("--n must be >= 2 and --presentations >= 1")
    if config.rel_step is not None and config.rel_step < 0:
        raise UsageError(f"--rel-step must be >= 0, got {config.rel_step:g}")
    if prop1 and config.every_pulse:
        raise UsageError("--prop1 needs the paper's pairing of pulses (--accounting paper or "
                         "feedback): Proposition 1 does not describe a crossbar in which every "
                         "pulse reaches its device (--accounting full)")
    if eng.max_n is not None and config.n > eng.max_n:
        raise UsageError(
            f"--engine {eng.name} simulates every pulse of every synapse in ngspice (~1 ns "
            f"steps; a few seconds for N = 4 and 5 presentations, growing as N^2), so it takes "
            f"N <= {eng.max_n}; got --n {config.n}. Use --engine map (the discrete-time map, "
            f"any N), or a smaller --n to check the map against the circuit.")
    try:
        result = eng.run(config)
        sols = prop1_solve(config) if prop1 else None
    except ValueError as exc:  # the configuration refused by the model: bad input
        raise UsageError(str(exc)) from None
    return CrossbarRun(config, eng.name, result, sols,
                       compare_prop1(result, sols) if sols is not None else None)
