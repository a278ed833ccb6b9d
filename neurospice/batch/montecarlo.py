"""Monte Carlo over devices: ``simulate DECK --runs N --seed S``.

Runs the deck N times with seeds S, S+1, ..., S+N-1 (see :meth:`PreparedDeck.with_seed`), in
parallel worker processes (or as points of the model engine): one row per run (seed, status,
neuron frequencies, memristor resistance range, the first pair's mode) and, from ngspice, each
run's memristor traces. The command (:func:`neurospice.cli.batches.runs_command`) writes them
as ``runs.csv`` and ``iv_scatter.png`` (the I-V curves of every run's first memristor).
"""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from neurospice.errors import SimulationError
from neurospice.report.memristor import MemristorTrace, memristor_traces
from neurospice.report.summary import summarise
from neurospice.sim.ngspice import run_prepared
from neurospice.sim.options import RunOptions
from neurospice.spice.deck import PreparedDeck

__all__ = ["run_builds", "run_seeds"]


def build_row(deck: PreparedDeck, wf: Any, *, engine: str) -> dict[str, Any]:
    """One ``runs.csv`` row: neuron frequencies, memristor ranges and the first pair's mode."""
    from neurospice.report.locking import analyse_run

    s = summarise(deck, wf)
    row: dict[str, Any] = {"status": "ok", "engine": engine}
    for n in s.neurons:
        row[f"f_{n.name}_hz"] = n.rate_hz  # spikes, else partial responses, 0 when silent
    for m in s.memristors:
        row[f"r_{m.name}_min_ohm"] = m.r_min
        row[f"r_{m.name}_max_ohm"] = m.r_max
    pair = analyse_run(deck, wf).as_row()
    row.update({k: pair[k] for k in ("mode", "ratio", "locked_fraction") if k in pair})
    return row


def model_build_row(point_deck: PreparedDeck, point: dict[str, Any], wf: Any
                    ) -> dict[str, Any]:
    """:func:`build_row` for the model engine (runs in its worker processes)."""
    return {"seed": point.get("seed", ""), **build_row(point_deck, wf, engine="model")}


def _one(deck: PreparedDeck, seed: int, o: RunOptions
         ) -> tuple[int, dict[str, Any], list[MemristorTrace]]:
    from neurospice.sim.noise import with_shared_noise

    d = with_shared_noise(deck.with_seed(seed))
    row: dict[str, Any] = {"seed": seed}
    try:
        wf = run_prepared(d, limits=o.run_limits())
    except SimulationError as exc:
        row.update(status="failed", engine="spice", error=str(exc).replace("\n", " "))
        return seed, row, []
    row.update(build_row(d, wf, engine="spice"))
    return seed, row, memristor_traces(d, wf)


def _seeds(o: RunOptions) -> list[int]:
    """The runs' seeds: ``o.runs`` of them from ``o.seed`` (1 by default)."""
    first = o.seed if o.seed is not None else 1
    return [first + k for k in range(o.runs)]


def _run_model(deck: PreparedDeck, o: RunOptions
               ) -> dict[int, tuple[dict[str, Any], list[MemristorTrace]]]:
    points: list[dict[str, Any]] = [{"seed": s} for s in _seeds(o)]
    with tqdm(total=len(points), desc="runs (model)", unit="run",
              disable=True if o.quiet else None) as bar:
        rows = o.engine_obj.map(deck, points, model_build_row, o, bar.update)
    return {p["seed"]: (row, []) for p, row in zip(points, rows, strict=True)}


def _run_all(deck: PreparedDeck, o: RunOptions
             ) -> dict[int, tuple[dict[str, Any], list[MemristorTrace]]]:
    from neurospice.sim.pool import job_map

    results: dict[int, tuple[dict[str, Any], list[MemristorTrace]]] = {}
    jobs = [(deck, s, o) for s in _seeds(o)]
    with tqdm(total=len(jobs), desc="runs", unit="run",
              disable=True if o.quiet else None) as bar:
        for s, row, traces in job_map(_one, jobs, workers=o.workers, scheduler=o.scheduler):
            results[s] = (row, traces)
            bar.update(1)
    return results


def run_builds(deck: PreparedDeck, o: RunOptions) -> list[dict[str, Any]]:
    """Rows of ``runs.csv``: one per seed ``o.seed .. o.seed+o.runs-1``, in ``o.engine``."""
    results = run_seeds(deck, o)
    return [results[s][0] for s in sorted(results)]


def run_seeds(deck: PreparedDeck, o: RunOptions
              ) -> dict[int, tuple[dict[str, Any], list[MemristorTrace]]]:
    """Each seed's row and memristor traces (none from the model engine)."""
    return (_run_model if o.engine_obj.capabilities.point_maps else _run_all)(deck, o)


