"""Parameter sweeps: every point a separate ngspice run, in parallel, resumable.

``simulate DECK --sweep NAME=START:STOP:COUNT [--sweep NAME2=...]`` builds the grid of points,
runs each in its own worker process (local pool by default, or a Dask distributed cluster with
``--scheduler ADDRESS``), writes each finished point to ``sweep.csv`` as it completes, and at the
end draws ``sweep_map.png`` coloured by locking mode. ``--resume`` keeps the rows already in
``sweep.csv`` and runs the others. A point that fails (no convergence, timeout) is recorded
with its error and does not stop the others.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from neurospice.errors import NeurospiceInputError, SimulationError
from neurospice.spice.deck import DeckError, PreparedDeck, spice_number

__all__ = [
    "Axis",
    "parse_sweep",
    "grid",
    "run_point",
    "run_sweep",
    "run_sweep_command",
    "read_table",
    "plot_sweep_map",
    "point_mode",
]

TABLE = "sweep.csv"
FIXED_COLUMNS = ["point", "status", "seed", "f_master_hz", "f_slave_hz", "ratio", "mode",
                 "ratio_value", "sync_index", "locked_fraction", "error"]


@dataclass(frozen=True)
class Axis:
    """One swept ``.param``: ``count`` evenly spaced values from ``start`` to ``stop``."""

    name: str
    start: float
    stop: float
    count: int

    @property
    def values(self) -> list[float]:
        return [float(v) for v in np.linspace(self.start, self.stop, self.count)]


def parse_sweep(spec: str) -> Axis:
    """Parse ``NAME=START:STOP:COUNT`` (values may carry SI suffixes: ``R2=1k:20k:8``)."""
    name, sep, rng = spec.partition("=")
    parts = rng.split(":")
    if not sep or not name.strip() or len(parts) != 3:
        raise DeckError(f"--sweep {spec!r}: expected NAME=START:STOP:COUNT, e.g. r2=1k:20k:8")
    try:
        start, stop = spice_number(parts[0]), spice_number(parts[1])
        count = int(parts[2])
    except ValueError:
        raise DeckError(f"--sweep {spec!r}: START and STOP must be numbers and COUNT a whole "
                        "number") from None
    if count < 1:
        raise DeckError(f"--sweep {spec!r}: COUNT must be at least 1")
    return Axis(name.strip().lower(), start, stop, count)


def grid(axes: Sequence[Axis]) -> list[dict[str, float]]:
    """All points of the grid, first axis slowest."""
    return [dict(zip([a.name for a in axes], vals, strict=True))
            for vals in itertools.product(*(a.values for a in axes))]


def run_point(
    deck_text: str,
    base_dir: str,
    source: str | None,
    point: int,
    params: dict[str, float],
    seed: int | None,
    timeout: float | None,
    t_skip: float,
) -> dict[str, Any]:
    """Run one sweep point and analyse it; never raises for a failed simulation.

    Takes plain data (the deck as text) so that it can be shipped to a Dask worker.
    """
    from neurospice.report.locking import analyse_run
    from neurospice.sim.ngspice import run_prepared
    from neurospice.spice.deck import prepare_text

    row: dict[str, Any] = {"point": point, **params, "seed": seed if seed is not None else ""}
    try:
        deck = prepare_text(deck_text, base_dir=base_dir,
                            source=Path(source) if source else None)
        overrides: dict[str, str | float] = dict(params)
        if seed is not None:
            overrides["seed"] = seed
        deck = deck.with_params(overrides)
        wf = run_prepared(deck, timeout=timeout)
        row.update(analyse_run(deck, wf, t_skip=t_skip).as_row())
        row["status"] = "ok"
        row["error"] = ""
    except (SimulationError, NeurospiceInputError) as exc:
        row.update(status="failed", error=str(exc).replace("\n", " "))
    return row


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a sweep table (empty when the file does not exist)."""
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _submit_local(
    jobs: list[tuple[Any, ...]], workers: int
) -> Iterator[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: list[Future[dict[str, Any]]] = [pool.submit(run_point, *job) for job in jobs]
        for fut in as_completed(futures):
            yield fut.result()


def _submit_dask(jobs: list[tuple[Any, ...]], address: str) -> Iterator[dict[str, Any]]:
    from distributed import Client
    from distributed import as_completed as dask_as_completed

    try:
        client = Client(address, timeout="20s")
    except OSError as exc:
        raise DeckError(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})") \
            from None
    try:
        futures = [client.submit(run_point, *job, pure=False) for job in jobs]
        for fut in dask_as_completed(futures):
            yield fut.result()
    finally:
        client.close()


def run_sweep(
    deck: PreparedDeck,
    axes: Sequence[Axis],
    outdir: Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    timeout: float | None = None,
    seed: int | None = None,
    t_skip: float = 0.0,
    quiet: bool = False,
) -> list[dict[str, Any]]:
    """Run every point of the grid; return all rows (old and new) sorted by point."""
    known = deck.params()
    for axis in axes:
        if axis.name not in known:
            raise DeckError(
                f"--sweep {axis.name}: the deck has no top-level .param {axis.name} "
                f"(its .params: {', '.join(sorted(known)) or 'none'})", path=deck.source)
    if seed is not None and "seed" not in known:
        raise DeckError("--seed needs a top-level '.param seed=...' in the deck", path=deck.source)
    points = grid(axes)
    outdir.mkdir(parents=True, exist_ok=True)
    table = outdir / TABLE
    names = [a.name for a in axes]
    columns = ["point", *names] + FIXED_COLUMNS[1:]
    done: dict[int, dict[str, Any]] = {}
    if resume:
        for row in read_table(table):
            try:
                idx = int(row["point"])
            except (KeyError, ValueError):
                continue
            if idx < len(points) and row.get("status") == "ok" and all(
                math.isclose(float(row[n]), points[idx][n], rel_tol=1e-9, abs_tol=1e-300)
                for n in names
            ):
                done[idx] = row
    elif table.exists():
        table.unlink()
    jobs = [
        (deck.text, str(deck.base_dir), str(deck.source) if deck.source else None,
         i, p, seed, timeout, t_skip)
        for i, p in enumerate(points) if i not in done
    ]
    rows = dict(done)
    write_header = not table.exists() or not done
    with table.open("w" if write_header else "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        if write_header:
            writer.writeheader()
            for row in done.values():
                writer.writerow(row)
        fh.flush()
        n_workers = workers or os.cpu_count() or 1
        stream = _submit_dask(jobs, scheduler) if scheduler else _submit_local(jobs, n_workers)
        with tqdm(total=len(points), initial=len(done), desc="sweep", unit="pt",
                  disable=True if quiet else None) as bar:
            for row in stream:
                writer.writerow(row)
                fh.flush()
                rows[int(row["point"])] = row
                bar.update(1)
    return [rows[i] for i in sorted(rows)]


def point_mode(row: dict[str, Any]) -> str:
    """The mode of a table row; ``failed`` for a point whose simulation failed."""
    if row.get("status") != "ok":
        return "failed"
    return str(row.get("mode") or "silent")


def plot_sweep_map(rows: Sequence[dict[str, Any]], axes: Sequence[Axis], path: Path) -> Path:
    """The sweep's map coloured by mode: points on a line (1-D) or a grid (2-D)."""
    from neurospice.report.plots import plot_map

    by_point = {int(r["point"]): point_mode(r) for r in rows}
    modes = [by_point.get(i, "not run") for i in range(len(grid(axes)))]
    x = axes[0].values
    if len(axes) == 1:
        return plot_map(x, None, modes, path, xlabel=axes[0].name, ylabel="mode")
    # points run with the first axis slowest: modes[i0 * n1 + i1]; the map wants (ny, nx)
    table = np.array(modes, dtype=object).reshape(axes[0].count, axes[1].count).T
    return plot_map(x, axes[1].values, table, path, xlabel=axes[0].name, ylabel=axes[1].name)


def run_sweep_command(
    deck: PreparedDeck,
    path: Path,
    specs: Sequence[str],
    *,
    outdir: Path,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    timeout: float | None,
    seed: int | None,
    t_skip: float,
    plot: bool,
    quiet: bool,
) -> int:
    """``simulate --sweep``: run, write the table and map, print a one-line-per-point digest."""
    if len(specs) > 2:
        raise DeckError("--sweep: give one or two parameters")
    axes = [parse_sweep(s) for s in specs]
    rows = run_sweep(deck, axes, outdir, workers=workers, scheduler=scheduler, resume=resume,
                     timeout=timeout, seed=seed, t_skip=t_skip, quiet=quiet)
    failed = [r for r in rows if r.get("status") != "ok"]
    print(f"{path}: sweep of {' x '.join(f'{a.name} ({a.count})' for a in axes)}: "
          f"{len(rows) - len(failed)} points ok, {len(failed)} failed")
    for r in rows:
        vals = "  ".join(f"{a.name}={float(r[a.name]):.4g}" for a in axes)
        if r.get("status") == "ok":
            print(f"  {vals}  mode {r.get('mode', '-'):>8}  ratio {r.get('ratio', '-'):>5}  "
                  f"locked {float(r.get('locked_fraction') or 'nan'):.2f}")
        else:
            print(f"  {vals}  FAILED: {str(r.get('error', ''))[:100]}")
    if plot and rows:
        plot_sweep_map(rows, axes, outdir / "sweep_map.png")
    print(f"  wrote {outdir / TABLE}" + (f" and {outdir / 'sweep_map.png'}" if plot else ""))
    return 0
