"""What ``simulate FILE`` does: run, analyse, write and print.

One run: check the file, run its transient with a progress bar, summarise each neuron and
memristor, write the output folder and print the summary. ``runs > 1`` repeats the run with
seeds ``seed, seed+1, ...`` (Monte Carlo over devices); sweeps are handed to
:mod:`neurospice.batch.sweep`.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from neurospice.files import (
    OutputLock,
    output_name,
    prepare_output_dir,
    printable,
    safe_replace,
)
from neurospice.sim.engines import SpiceEngine
from neurospice.sim.ngspice import Worker, run_all
from neurospice.sim.options import RunOptions
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import DeckError, PreparedDeck

if TYPE_CHECKING:
    from neurospice.report.summary import RunSummary

__all__ = ["simulate_file", "default_output_dir", "run_with_progress"]

log = logging.getLogger(__name__)


def default_output_dir(path: Path) -> Path:
    """``<folder of FILE>/<stem>_out`` for a deck, ``<stem>_nsn_out`` for a network file.

    The folder is taken as the user wrote it (links not resolved), so ``netlists/x.cir``
    writes to ``netlists/x_out``.
    """
    suffix = "_nsn_out" if path.suffix.lower() == ".nsn" else "_out"
    return path.absolute().parent / f"{path.stem}{suffix}"


def run_with_progress(
    deck: PreparedDeck,
    options: RunOptions,
    *,
    raw_file: Path | None = None,
    desc: str = "ngspice",
    worker: Worker | None = None,
) -> list[Waveforms]:
    """Run ``deck`` with a progress bar on stderr (hidden when ``options.quiet`` or not a
    terminal), within ``options``' limits (timeout, memory).

    Once ngspice has its deck, the analysis modules (numpy, matplotlib) are imported in a
    background thread, so their start-up cost overlaps the simulation (started earlier, the
    imports would hold the interpreter while the deck is handed over).
    """
    loader = threading.Thread(target=_preload, args=(options.plot,), daemon=True)
    run = partial(run_all, deck, raw_file=raw_file, limits=options.run_limits(), worker=worker,
                  on_start=loader.start)
    try:
        return _run_with_bar(run, options.quiet, desc)
    finally:
        if loader.is_alive():  # needed next; and no import may be under way at a fork
            loader.join()


def _run_with_bar(run: Callable[..., list[Waveforms]], quiet: bool,
                  desc: str) -> list[Waveforms]:
    """``run(progress=...)`` with a bar named ``desc``."""
    if quiet or not sys.stderr.isatty():  # no bar to draw: tqdm is not even imported
        return run()
    from tqdm import tqdm

    with tqdm(total=100.0, desc=desc, unit="%",
              bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}]") as bar:

        def progress(_analysis: str, pct: float) -> None:
            bar.n = min(pct, 100.0)
            bar.refresh()

        return run(progress=progress)


def _preload(plot: bool) -> None:
    """Import the analysis (and, when plotting, matplotlib) while ngspice runs, and analyse a
    synthetic spike train once: numpy loads parts of itself on first use (numpy.ma, 7 ms)."""
    names = ["neurospice.report.summary", "neurospice.report.locking"]
    if plot:
        names.append("neurospice.report.plots")
    for name in names:
        importlib.import_module(name)
    import numpy as np

    from neurospice.analysis.spikes import spike_stats

    t = np.linspace(0.0, 0.2, 2001)
    spike_stats(t, 4.0 * np.sin(2 * np.pi * 30 * t) ** 15)


@dataclass(frozen=True)
class _Job:
    """One ``simulate`` run: where it reads and writes, with what options."""

    path: Path
    options: RunOptions
    outdir: Path
    params: dict[str, str]
    command: Sequence[str] | None
    started: float  # outputs older than this belong to an earlier run (set_aside_stale)


def simulate_file(path: Path, options: RunOptions, *, output: Path | None = None,
                  params: dict[str, str] | None = None, command: Sequence[str] | None = None,
                  worker: Worker | None = None) -> int:
    """Run FILE as the ``simulate`` command does; return the exit status.

    ``options`` are validated here (:meth:`RunOptions.validate`). ``worker``
    (:func:`~neurospice.sim.process.start_worker`, started by the command line before its
    imports) runs the deck if it fits the run; the caller closes it.
    """
    o = options.validate()
    deck = _load(path, o, params or {})
    if o.engine_obj.capabilities.self_check and o.self_check:
        from neurospice.sim.model.selfcheck import self_check

        self_check(deck)  # once per netlist: a short ngspice reference (docs/model_engine.md)
    outdir = prepare_output_dir(output if output is not None else default_output_dir(path))
    # file times have coarse resolution on some file systems
    job = _Job(path, o, outdir, dict(params or {}), command, time.time() - 1.0)
    with OutputLock(outdir):
        if o.kind != "single":  # the batch's table, then its summary.json
            from neurospice.report.summary import write_batch_summary

            return write_batch_summary(outdir, o, deck_path=path, status=_run_batch(job, deck),
                                       command=command, params=job.params)
        return _run_single(job, deck, worker)


def _load(path: Path, o: RunOptions, params: dict[str, str]) -> PreparedDeck:
    """The deck of ``path`` with the run's values and stop time, checked for this run."""
    from neurospice.api import prepare
    from neurospice.network.loading import load_deck

    deck = load_deck(path, control=o.control, limits=o.deck_limits())
    _report_control(deck)
    # the API's: what `neurospice check` refuses, with file and line, before ngspice
    return prepare(deck, o, params=params, warn=_warn)


def _warn(text: str) -> None:
    print(printable(f"warning: {text}"), file=sys.stderr)


def _run_batch(job: _Job, deck: PreparedDeck) -> int:
    """Corners, tolerance builds, a sweep or Monte Carlo runs (``job.options.kind``)."""
    o = job.options
    if o.kind != "corners" and deck.tran() is None:
        raise DeckError("sweeps and Monte Carlo runs analyse transients; the deck has no .tran "
                        "card", path=job.path)
    from neurospice.cli import batches

    if o.kind == "tolerance" and "mc" in deck.params():
        deck = deck.with_params({"mc": 1})  # each build also draws its own memristor
    command = {"corners": batches.corners_command, "tolerance": batches.tolerance_command,
               "sweep": batches.sweep_command}.get(o.kind, batches.runs_command)
    return command(deck, job.path, job.outdir, o)


def _thresholds(o: RunOptions) -> dict[str, float] | None:
    return dict(o.spike_threshold) if o.spike_threshold else None


def _run_single(job: _Job, deck: PreparedDeck, worker: Worker | None) -> int:
    """One run in the chosen engine, analysed and reported."""
    o = job.options
    if o.seed is not None:
        deck = deck.with_seed(o.seed)
    if o.energy:
        deck = _with_energy(deck, o.fmt)
    seed_deck = deck  # --seeds draws its other seeds from the deck before this run's draws
    if isinstance(o.engine_obj, SpiceEngine):
        from neurospice.sim.noise import with_shared_noise

        deck = with_shared_noise(deck)  # the seed's draws, the same as the model engine's
        raw_file = job.outdir / f"{job.path.stem}.raw" if o.raw else None
        plots = run_with_progress(deck, o, raw_file=raw_file, desc=job.path.name,
                                  worker=worker)
    else:
        plots = o.engine_obj.run(deck, o)
    wf = next((w for w in reversed(plots) if w.analysis == "tran"), plots[-1])
    log.info("sandbox: %s", wf.sandbox)
    if wf.analysis != "tran":
        from neurospice.report.analyses import report_analyses
        from neurospice.report.summary import run_record

        return report_analyses(deck, plots, job.path, job.outdir, plot=o.plot,
                               run=run_record(job.path, deck, wf, o, params=job.params,
                                              command=job.command))
    return _report_transient(job, deck, seed_deck, wf)


def _with_energy(deck: PreparedDeck, fmt: str) -> PreparedDeck:
    """The deck saving every node voltage and device current (``--energy``), with a warning
    when the waveform table will be large."""
    from neurospice.report.energy import prepare, table_estimate

    vectors, per_s = table_estimate(deck)
    tran = deck.tran()
    total = per_s * (tran[1] if tran else 0.0)
    if total > 10e6 and fmt != "parquet":
        print(f"warning: --energy saves every node voltage and device current ({vectors} "
              f"vectors): the waveform table will take about {total / 1e6:.0f} MB "
              f"({per_s / 1e6:.0f} MB per simulated second); --tstop shortens the run, "
              "--format parquet writes it smaller", file=sys.stderr)
    return prepare(deck)


def _report_transient(job: _Job, deck: PreparedDeck, seed_deck: PreparedDeck,
                      wf: Waveforms) -> int:
    """Analyse a transient run, write its outputs (tables in a child process, plots in
    others), print the summary."""
    from neurospice.report.jobs import ForkJob
    from neurospice.report.locking import add_locking
    from neurospice.report.summary import (
        format_summary,
        plot_run_traces,
        run_record,
        run_title,
        start_table,
        summarise,
        write_outputs,
    )

    o, outdir = job.options, job.outdir
    # the waveform table is written in a child process while the run is analysed
    table = start_table(wf, outdir, deck, fmt=o.fmt, tol=o.waveform_tol)
    summary = summarise(deck, wf, t_skip=o.t_skip, spike_threshold=_thresholds(o))
    summary.run = run_record(job.path, deck, wf, o, params=job.params, command=job.command)
    summary.extra["sandbox"] = _sandbox_line(wf)
    title = run_title(deck, summary)
    figures: list[ForkJob[list[Path]]] = []
    if o.plot:  # drawn in child processes while the locking analysis runs here
        figures.append(ForkJob(lambda: [plot_run_traces(deck, wf, outdir, title)],
                               what="the trace plot"))
        figures.append(ForkJob(lambda: _memristor_plots(deck, wf, outdir, title=title),
                               what="the memristor plots"))
    if wf.measurements:
        summary.extra["measurements"] = wf.measurements
    if wf.failed_measurements:  # a .meas that never triggered: said, not dropped
        summary.extra["measurements_failed"] = wf.failed_measurements
    written = add_locking(deck, wf, summary, outdir, o, seed_deck=seed_deck).plots
    energy_plot = _add_energy(deck, wf, summary, outdir, title if o.plot else None) \
        if o.energy else None
    written = write_outputs(deck, wf, summary, outdir, plot=False, table=table) + written
    for figure in figures:
        written += figure.wait()
    if energy_plot is not None:
        written.append(energy_plot)
    set_aside_stale(outdir, job.started)
    print(format_summary(summary))
    kept = summary.run.get("waveform_table", {})
    assert isinstance(kept, dict)
    if kept.get("rows", 0) < kept.get("of", 0):
        print(f"  waveform table: {kept['rows']:,} of {kept['of']:,} time points, every "
              f"vector within {100 * float(kept['tol']):g} % of its range (linear "
              "interpolation); --full-resolution keeps them all")
    raw_path = outdir / f"{job.path.stem}.raw"
    print(f"  wrote {', '.join(str(p.relative_to(outdir)) for p in written)}"
          + (f" and {raw_path.name}" if o.raw and raw_path.exists() else "") + f" in {outdir}")
    return 0


def _add_energy(deck: PreparedDeck, wf: Waveforms, summary: RunSummary, outdir: Path,
                title: str | None) -> Path | None:
    """The energy report (``--energy``) in the summary; its plot when given a ``title``."""
    from neurospice.report.energy import energy_report, format_energy, plot_energy

    report = energy_report(deck, wf)
    summary.extra["energy"] = {k: v for k, v in report.items() if not k.startswith("_")}
    for line in format_energy(report):
        summary.extra[line.split(":")[0].strip()] = line.split(":", 1)[1].strip() \
            if ":" in line else line
    if title is None:
        return None
    return plot_energy(report, outdir / "energy.png", title=f"{title}: energy")


_OUTPUT_PATTERNS = ("*.png", "*.raw", "waveforms.csv", "waveforms.parquet", "summary.json",
                    "sweep.csv", "runs.csv", "dc.csv", "ac.csv")


def set_aside_stale(outdir: Path, since: float) -> list[Path]:
    """Move outputs of an earlier run (older than ``since``, a ``time.time()``) into
    ``outdir/previous/``.

    Nothing is deleted: a plot of a pair that no longer exists, or the table of an earlier
    sweep, is kept apart instead of sitting beside this run's files as if it were one of them.
    """
    moved = []
    for pattern in _OUTPUT_PATTERNS:
        for old in outdir.glob(pattern):
            if not old.is_file() or old.stat().st_mtime >= since:
                continue
            # never through a link planted in the folder (previous/ leading out of it)
            moved.append(safe_replace(old, outdir / "previous" / old.name))
    return moved


def _report_control(deck: PreparedDeck) -> None:
    """Say what --ignore-control dropped and warn loudly when --allow-control is on."""
    if deck.control_mode == "ignore" and deck.dropped:
        print(f"{deck.source}: dropped {len(deck.dropped)} control line(s) "
              "(--ignore-control):", file=sys.stderr)
        for text, org in deck.dropped[:20]:
            print(printable(f"  {org}: {text}"), file=sys.stderr)
    if deck.control_mode == "allow" and deck.control:
        print(f"WARNING: {deck.source}: running {len(deck.control)} ngspice control line(s) "
              "(--allow-control); they run inside the sandbox", file=sys.stderr)


def _sandbox_line(wf: Waveforms) -> str:
    sb = wf.sandbox
    if not sb:
        return "unknown"
    parts = []
    for key in ("seccomp", "landlock", "no_new_privs", "rlimits"):
        value = str(sb.get(key, "off"))
        parts.append(f"{key} {'off' if value.startswith(('off', 'failed', 'unavail')) else 'on'}")
    return ", ".join(parts)


def _memristor_plots(deck: PreparedDeck, wf: Waveforms, outdir: Path, *,
                     title: str) -> list[Path]:
    from neurospice.report.memristor import memristor_traces, plot_iv_cycles, plot_resistance

    out = []
    for tr in memristor_traces(deck, wf):
        if tr.i is not None:
            out.append(plot_iv_cycles(tr, outdir / output_name(f"iv_{tr.name}.png")))
        if tr.r is not None or tr.w is not None:
            out.append(plot_resistance(tr, outdir / output_name(f"resistance_{tr.name}.png"),
                                       title=f"{title}: {tr.name}"))
    return out
