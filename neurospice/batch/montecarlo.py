"""Monte Carlo over devices: ``simulate DECK --runs N --seed S``.

Runs the deck N times with seeds S, S+1, ..., S+N-1 (see :meth:`PreparedDeck.with_seed`), in
parallel worker processes, and writes ``runs.csv`` (one row per run: seed, status, neuron
frequencies, memristor resistance range) and ``iv_scatter.png`` (the I-V curves of every run's
first memristor, one colour per seed).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tqdm import tqdm

from neurospice.errors import SimulationError
from neurospice.files import atomic_write
from neurospice.report.memristor import MemristorTrace, memristor_traces, plot_iv_scatter
from neurospice.report.summary import summarise
from neurospice.sim.ngspice import run_prepared
from neurospice.sim.options import RunOptions
from neurospice.spice.deck import PreparedDeck

__all__ = ["run_monte_carlo", "run_builds"]


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
    results = _runs(deck, o)
    return [results[s][0] for s in sorted(results)]


def _runs(deck: PreparedDeck, o: RunOptions
          ) -> dict[int, tuple[dict[str, Any], list[MemristorTrace]]]:
    """Each seed's row and memristor traces (none from the model engine)."""
    return (_run_model if o.engine_obj.capabilities.point_maps else _run_all)(deck, o)


def run_monte_carlo(deck: PreparedDeck, path: Path, outdir: Path, o: RunOptions) -> int:
    """Run the Monte Carlo (``o.runs`` seeds from ``o.seed``, 1 by default), write the table
    and the scatter plot, print a digest."""
    outdir.mkdir(parents=True, exist_ok=True)
    runs, seed, engine, plot = o.runs, _seeds(o)[0], o.engine, o.plot
    results = _runs(deck, o)
    rows = [results[s][0] for s in sorted(results)]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_write(outdir / "runs.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    ok = [r for r in rows if r["status"] == "ok"]
    print(f"{path}: {runs} Monte Carlo runs (seeds {seed}..{seed + runs - 1}, {engine} engine): "
          f"{len(ok)} ok, {runs - len(ok)} failed")
    from neurospice.batch.tolerance import yield_report

    for line in yield_report(ok) if ok else []:
        print(line.replace("builds", "runs"))
    for key in columns:
        vals = [float(r[key]) for r in ok if key.startswith(("f_", "r_")) and key in r]
        if vals:
            print(f"  {key:<24} min {min(vals):.4g}  max {max(vals):.4g}")
    written = [outdir / "runs.csv"]
    if plot:
        scatter = [(s, results[s][1][0]) for s in sorted(results) if results[s][1]]
        if scatter:
            written.append(plot_iv_scatter(scatter, outdir / "iv_scatter.png"))
            written.append(plot_iv_scatter(scatter, outdir / "iv_scatter_log.png",
                                           log_current=True))
    print(f"  wrote {', '.join(str(p) for p in written)}")
    return 0 if ok else 1
