"""What ``simulate FILE`` does for a batch: run it, write its tables and plots, print a digest.

One command per batch kind (:attr:`RunOptions.kind <neurospice.sim.options.RunOptions.kind>`):
:func:`sweep_command` (``--sweep``, with ``--verify``), :func:`tolerance_command` (``--runs N
--tol ...``), :func:`corners_command` (``--corners``) and :func:`runs_command` (``--runs N``).
The runs themselves are :mod:`neurospice.batch`'s (the same the Python API calls); this module
only writes and prints. Each returns the command's exit status.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import neurospice.batch.corners as corners
import neurospice.batch.montecarlo as montecarlo
import neurospice.batch.sweep as sweep
import neurospice.batch.tolerance as tolerance
from neurospice.errors import UsageError
from neurospice.files import atomic_write
from neurospice.sim.options import RunOptions
from neurospice.spice.deck import PreparedDeck
from neurospice.spice.numbers import format_si

__all__ = ["sweep_command", "tolerance_command", "corners_command", "runs_command",
           "write_corners_csv", "write_verify_csv"]


# ------------------------------------------------------------------------------ sweeps


def sweep_command(deck: PreparedDeck, path: Path, outdir: Path, o: RunOptions) -> int:
    """``simulate --sweep``: run the sweep of ``o.sweeps``, write the table and map, print a
    one-line-per-point digest.

    Returns 1 when ``--verify`` found a point where the engines disagree (the map is written
    first), else 0."""
    if len(o.sweeps) > 2:
        raise UsageError("--sweep: give one or two parameters")
    axes = [sweep.parse_sweep(s) for s in o.sweeps]
    rows = sweep.run_sweep(deck, axes, outdir, o)
    _print_sweep(path, rows, axes)
    title = f"{path.name}: {o.engine} engine" + (f", seed {o.seed}" if o.seed is not None
                                                 else "")
    if o.plot and rows:
        sweep.plot_sweep_map(rows, axes, outdir / "sweep_map.png", title=title)
    print(f"  wrote {outdir / sweep.TABLE}"
          + (f" and {outdir / 'sweep_map.png'}" if o.plot else ""))
    if not (o.verify and o.engine_obj.capabilities.verify):
        return 0
    checks = sweep.verify_points(deck, rows, axes, o)
    if checks:
        _print_verify(checks, [a.name for a in axes])
        print(f"  wrote {write_verify_csv(checks, outdir / 'verify.csv')}")
    if o.plot and rows and checks:  # the map again, the points rerun in ngspice marked
        sweep.plot_sweep_map(rows, axes, outdir / "sweep_map.png", title=title,
                             verified={int(c["point"]): bool(c["agree"]) for c in checks})
    return 1 if any(not c["agree"] for c in checks) else 0


def _print_sweep(path: Path, rows: list[dict[str, Any]], axes: list[sweep.Axis]) -> None:
    """A line for the sweep, then one per point: its mode, ratio, locked fraction (and its most
    likely mode over the noise draws), or why it failed."""
    failed = [r for r in rows if r.get("status") != "ok"]
    print(f"{path}: sweep of {' x '.join(f'{a.name} ({a.count})' for a in axes)}: "
          f"{len(rows) - len(failed)} points ok, {len(failed)} failed")
    for r in rows:
        vals = "  ".join(f"{a.name}={format_si(float(r[a.name]))}" for a in axes)
        if r.get("status") != "ok":
            print(f"  {vals}  FAILED: {str(r.get('error', ''))[:100]}")
            continue
        marg = " (marginal)" if str(r.get("marginal")) == "True" else ""
        p_text = ""
        if r.get("likely_mode"):
            from neurospice.analysis.modes import mode_column

            c = mode_column(str(r["likely_mode"]))
            num = sweep.row_number
            p_text = (f"  most likely {r['likely_mode']}: P {num(r, c):.2f} "
                      f"[{num(r, c + '_lo'):.2f}, {num(r, c + '_hi'):.2f}] over "
                      f"{r.get('n_seeds')} draws")
        print(f"  {vals}  mode {str(r.get('mode', '-')) + marg:>8}  "
              f"ratio {r.get('ratio', '-'):>5}  "
              f"locked {_fraction(r.get('locked_fraction'))}{p_text}")


def _fraction(value: object) -> str:
    """A locked fraction as text: ``0.00`` for zero, ``-`` when there is none."""
    if value is None or value == "":
        return "-"
    try:
        return f"{float(str(value)):.2f}"
    except ValueError:
        return "-"


def write_verify_csv(checks: list[dict[str, Any]], path: Path) -> Path:
    """``verify.csv``: one row per verified point (point, values, every criterion,
    ``agree``)."""
    with atomic_write(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(checks[0]))
        w.writeheader()
        w.writerows(checks)
    return path


def _print_verify(out: list[dict[str, Any]], names: list[str]) -> None:
    """How many verified points agree, and why each of the others does not."""
    bad = [r for r in out if not r["agree"]]
    print(f"  verify: {len(out) - len(bad)} of {len(out)} points agree between ngspice and the "
          "model engine" + (":" if bad else ""))
    for r in bad:
        vals = "  ".join(f"{n}={format_si(float(r[n]))}" for n in names)
        if r["noisy"]:
            why = f"P(mode) {r['p_outside']}"
        else:
            parts = []
            if not r["mode_ok"] or not r["ratio_ok"]:
                parts.append(f"mode {r['model_mode']} ({r['model_ratio']}) against "
                             f"{r['spice_mode']} ({r['spice_ratio']})")
            if not r["freq_ok"]:
                parts.append(f"frequencies differ by {r['f_master_rel_diff']} / "
                             f"{r['f_slave_rel_diff']} (master / slave, relative; limit "
                             f"{sweep.VERIFY_FREQ_REL:g})")
            if not r["locked_ok"]:
                parts.append(f"locked fraction differs by {r['locked_fraction_diff']} (limit "
                             f"{sweep.VERIFY_LOCKED_ABS:g})")
            why = "; ".join(parts)
        print(f"    {vals}: {why}")


# ------------------------------------------------------------------------------ tolerances


def tolerance_command(deck: PreparedDeck, path: Path, outdir: Path, o: RunOptions) -> int:
    """``simulate --runs N --tol ...``: run the builds (``o.runs`` seeds from ``o.seed``, 1 by
    default), write runs.csv (and the yield plot), print the yield of each mode."""
    tols = [tolerance.parse_tolerance(s) for s in o.tols]
    runs, seed = o.runs, o.seed if o.seed is not None else 1
    rows = tolerance.run_tolerance(deck, tols, o)
    fixed = ["seed", "status", "engine", "mode", "ratio", "locked_fraction"]
    columns = fixed + sorted({k for r in rows for k in r if k not in fixed and
                              not k.startswith("d:")}) + sorted(
        {k for r in rows for k in r if k.startswith("d:")})
    with atomic_write(outdir / "runs.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    tol_text = ", ".join(f"{t.target} {100 * t.fraction:g} %" for t in tols)
    print(f"{path}: {runs} builds (seeds {seed}..{seed + runs - 1}, {o.engine} engine), "
          f"tolerances {tol_text} ({o.tol_dist}), memristor draws per build")
    for line in tolerance.yield_report(rows):
        print(line)
    if o.seeds > 1:
        split = sum(1 for r in rows if float(r.get("likely_p") or 0.0) < 1.0)
        print(f"  P(mode) per build over {o.seeds} noise draws (seeds S, S+{runs}, ...; "
              f"runs.csv p_<mode>, likely_mode): {split} of {runs} builds change mode "
              "between draws")
    if o.plot:
        from neurospice.report.plots import plot_yield

        plot_yield(rows, outdir / "yield.png", title=f"{path.name}: {runs} builds, {tol_text}")
    print(f"  wrote {outdir / 'runs.csv'}" + (f" and {outdir / 'yield.png'}" if o.plot else ""))
    return 0


# ------------------------------------------------------------------------------ corners


def corners_command(deck: PreparedDeck, path: Path, outdir: Path, o: RunOptions) -> int:
    """``simulate DECK --corners --tol ...``: run the corners (``o.tols``), write corners.csv,
    print them; 1 when a corner failed."""
    if not o.tols:
        raise UsageError("--corners needs --tol (e.g. --tol R=5% --tol C=10%)")
    report = corners.run_corners(deck, [tolerance.parse_tolerance(s) for s in o.tols], o)
    print(f"{path}: {report.describe()}")
    written = write_corners_csv(report, outdir / "corners.csv")
    print(f"  wrote {written.name} in {outdir}")
    failed = [c for c in report.corners if not c.ok]
    return 1 if failed else 0


def write_corners_csv(report: corners.CornerReport, path: Path) -> Path:
    """One row per run: the corner's name, status, frequencies, mode and every factor
    (``d:<path>``, the relative deviation)."""
    runs = [report.nominal, *report.corners]
    fixed = ["corner", "status", "mode", "ratio", "locked_fraction"]
    freq = sorted({k for c in runs for k in c.row if k.startswith("f_")})
    parts = sorted(report.sensitivities)
    with atomic_write(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(fixed + freq + [f"d:{p}" for p in parts])
        for c in runs:
            w.writerow([c.row.get(k, "") for k in fixed + freq]
                       + [round(c.factors.get(p, 1.0) - 1, 6) for p in parts])
    return path


# ------------------------------------------------------------------------------ Monte Carlo


def runs_command(deck: PreparedDeck, path: Path, outdir: Path, o: RunOptions) -> int:
    """``simulate --runs N``: the Monte Carlo over devices (``o.runs`` seeds from ``o.seed``, 1
    by default); write the table and the I-V scatter plots, print a digest. 1 when every run
    failed."""
    outdir.mkdir(parents=True, exist_ok=True)
    results = montecarlo.run_seeds(deck, o)
    rows = [results[s][0] for s in sorted(results)]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_write(outdir / "runs.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    ok = [r for r in rows if r["status"] == "ok"]
    seeds = sorted(results)
    print(f"{path}: {o.runs} Monte Carlo runs (seeds {seeds[0]}..{seeds[-1]}, {o.engine} "
          f"engine): {len(ok)} ok, {o.runs - len(ok)} failed")
    for line in tolerance.yield_report(ok) if ok else []:
        print(line.replace("builds", "runs"))
    for key in columns:
        vals = [float(r[key]) for r in ok if key.startswith(("f_", "r_")) and key in r]
        if vals:
            print(f"  {key:<24} min {min(vals):.4g}  max {max(vals):.4g}")
    written = [outdir / "runs.csv"]
    scatter = [(s, results[s][1][0]) for s in seeds if results[s][1]]
    if o.plot and scatter:
        from neurospice.report.memristor import plot_iv_scatter

        written.append(plot_iv_scatter(scatter, outdir / "iv_scatter.png"))
        written.append(plot_iv_scatter(scatter, outdir / "iv_scatter_log.png",
                                       log_current=True))
    print(f"  wrote {', '.join(str(p) for p in written)}")
    return 0 if ok else 1
