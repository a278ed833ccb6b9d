"""The public Python API, re-exported by :mod:`neurospice` (see its docstring for a map).

Every function takes a deck as a path (``.cir`` or ``.nsn``) or as deck text, compiles it with
the allow-list compiler and runs it in the sandboxed ngspice worker - the same path as the
``simulate`` command, without writing files unless asked.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurospice.errors import UsageError
from neurospice.sim.engines import get_engine
from neurospice.sim.ngspice import run_prepared
from neurospice.sim.options import RunOptions
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import PreparedDeck, prepare_text

if TYPE_CHECKING:
    import pandas as pd

    from neurospice.batch.corners import CornerReport
    from neurospice.batch.snap import SnapReport
    from neurospice.report.bom import PartsList
    from neurospice.report.locking import PairAnalysis

__all__ = ["Run", "simulate", "sweep", "monte_carlo", "build", "check", "load", "parts_list",
           "snap", "corners"]

DeckLike = str | Path


def load(deck: DeckLike, *, control: str = "refuse",
         base_dir: str | Path | None = None) -> PreparedDeck:
    """Compile ``deck``: a path to a ``.cir``/``.nsn`` file, or deck text (with a newline).

    Deck text has no folder tree of its own: its includes resolve in the shipped library
    only, unless ``base_dir=`` names the folder whose files it may include (and the sandboxed
    simulator may read). The caller's working folder is never taken for it.

    Raises
    ------
    neurospice.DeckError, neurospice.NetworkSyntaxError, ...
        Any input error, with file, line and column.
    """
    from neurospice.network.loading import load_deck

    if isinstance(deck, str) and "\n" in deck:
        from neurospice.spice.resources import NETLISTS_DIR

        tree = Path(base_dir) if base_dir is not None else NETLISTS_DIR
        return prepare_text(deck, base_dir=tree, control=control)  # type: ignore[arg-type]
    path = Path(deck)
    if not path.exists():
        raise UsageError(f"no such deck file: {path} (deck text must contain a line break)")
    return load_deck(path, control=control)  # type: ignore[arg-type]


@dataclass
class Run:
    """The result of :func:`simulate`: the vectors of the run and their analysis.

    ``run["slave.mem"]`` (a neuron's membrane voltage), ``run["m1.r"]`` / ``run["m1.w"]`` (a
    memristor's read resistance and state) or ngspice's own name (``run["v(smem)"]``) give a
    vector: the names of :func:`neurospice.report.summary.waveform_columns`, the same as the
    waveform table's and :meth:`to_dataframe`'s. ``run.units`` their true units; ``run.time``
    the time axis (s); ``run.summary`` the same data as ``summary.json``; ``run.locking`` the
    pair analyses; :meth:`plot` a figure of the traces.
    """

    deck: PreparedDeck
    waveforms: Waveforms
    summary: dict[str, Any] = field(default_factory=dict)
    locking: list[PairAnalysis] = field(default_factory=list)
    analyses: list[Waveforms] = field(default_factory=list)

    def __post_init__(self) -> None:
        from neurospice.report.summary import name_vectors

        name_vectors(self.deck, self.waveforms)  # run["slave.mem"] and true units

    @property
    def time(self) -> np.ndarray:
        """Time axis of the transient (s)."""
        return self.waveforms.time

    @property
    def vectors(self) -> dict[str, np.ndarray]:
        """Vector name (lower case, e.g. ``"v(mem)"``) -> samples."""
        return self.waveforms.vectors

    @property
    def units(self) -> dict[str, str]:
        """Vector name (``"slave.mem"``, ``"m1.r"``, ``"i(v1)"``) -> its true unit (``"V"``,
        ``"A"``, ``"ohm"``, ``"1"`` for a memristor's state, ``""`` when unknown)."""
        return dict(self.to_dataframe().attrs["units"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.waveforms[name]

    def __contains__(self, name: str) -> bool:
        return name in self.waveforms

    def __repr__(self) -> str:
        src = self.deck.source.name if self.deck.source else "deck"
        return (f"<Run {src}: {self.waveforms.analysis}, {len(self.waveforms.scale)} points, "
                f"{len(self.vectors)} vectors>")

    def _repr_html_(self) -> str:
        """A notebook's view: the run, each neuron's spikes and frequency, each pair's
        verdict."""
        from html import escape

        rows = []
        for n in self.summary.get("neurons", []):
            st = n.get("stats", {})
            f = st.get("frequency_hz")
            rows.append(f"<tr><td>{escape(str(n.get('name')))}</td>"
                        f"<td>{st.get('count', '')}</td>"
                        f"<td>{'-' if f is None else f'{f:.4g} Hz'}</td>"
                        f"<td>{st.get('vmin_v') or float('nan'):.3g} .. "
                        f"{st.get('vmax_v') or float('nan'):.3g} V</td></tr>")
        table = ("<table><tr><th>neuron</th><th>spikes</th><th>frequency</th><th>range</th>"
                 f"</tr>{''.join(rows)}</table>") if rows else ""
        pairs = "".join(f"<li>{escape(p.describe())}</li>" for p in self.locking)
        return (f"<p><b>{escape(repr(self))}</b></p>{table}"
                + (f"<ul>{pairs}</ul>" if pairs else ""))

    def to_dataframe(self) -> pd.DataFrame:
        """The vectors as a pandas DataFrame indexed by the scale (time, frequency ...).

        Columns are named as in the waveform table (``"master.mem"``, ``"m1.r"``);
        ``df.attrs["units"]`` maps them to units, ``df.attrs["ngspice"]`` to ngspice's names.
        """
        from neurospice.report.summary import waveform_frame

        return waveform_frame(self.deck, self.waveforms)

    def plot(self, names: Sequence[str] | None = None, path: str | Path | None = None) -> Any:
        """A matplotlib figure of ``names`` (default: the neurons' membrane voltages).

        Written to ``path`` when given; the figure is returned either way.
        """
        from matplotlib.figure import Figure

        from neurospice.report.summary import neuron_vectors

        wf = self.waveforms
        if names is None:
            names = [vec for _, vec in neuron_vectors(self.deck, wf)] or wf.names[:4]
        fig = Figure(figsize=(9, 1.8 + 1.6 * len(names)), layout="constrained")
        axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
        for ax, name in zip(axes, names, strict=True):
            ax.plot(wf.scale, np.real(wf[name]), lw=0.8)
            vector = wf.vector_of(name)
            ax.set_ylabel(f"{wf.name_of(vector)} ({wf.units.get(vector, '') or '-'})")
            ax.grid(True, alpha=0.3)
        axes[-1].set_xlabel(f"{wf.scale_name} ({'s' if wf.analysis == 'tran' else ''})")
        if path is not None:
            from neurospice.report.plots import save_figure

            save_figure(fig, path)
        return fig


def simulate(deck: DeckLike, *, params: Mapping[str, str | float] | None = None,
             tstop: float | None = None, seed: int | None = None, engine: str = "spice",
             timeout: float | None = None, t_skip: float = 0.0,
             control: str = "refuse", base_dir: str | Path | None = None,
             spike_threshold: float | Mapping[str, float] | None = None,
             seeds: int = 1, energy: bool = False) -> Run:
    """Run a deck and analyse it, as ``simulate FILE`` does (without writing files).

    Parameters
    ----------
    deck
        A ``.cir`` or ``.nsn`` path, or deck text.
    params
        Values of top-level ``.param``\\s (or components by instance name), e.g.
        ``{"r2": "5k"}``.
    tstop
        Stop time of the transient (s).
    seed
        Seed of the random draws.
    engine
        ``"spice"`` (ngspice) or ``"model"`` (the board's compiled equations).
    timeout
        Wall-clock limit (s).
    t_skip
        Seconds at the start left out of the spike and locking analysis.
    control
        ``"refuse"``, ``"ignore"`` or ``"allow"`` ``.control`` blocks.
    base_dir
        For deck text: the folder its includes may name (default: the shipped library only;
        see :func:`load`).
    spike_threshold
        Spike threshold (V) for every neuron, or ``{neuron name: V}``, instead of the level
        derived from each neuron's own I-V.
    seeds
        Noise draws: the run and ``seeds - 1`` more (seeds ``seed+1 ...``); each locking pair
        gets ``probabilities`` (P(mode) with 95 % Wilson intervals).
    energy
        Save every node voltage and device current and put the energy report (dissipated
        energy per memristive element, the power balance) in ``summary["extra"]["energy"]``
        (``--energy``; ngspice only).

    Returns
    -------
    Run
    """
    options = RunOptions(seed=seed, seeds=seeds, engine=engine, energy=energy, timeout=timeout,
                         t_skip=t_skip, tstop=tstop).validate()
    d = load(deck, control=control, base_dir=base_dir)
    if params:
        d = d.with_values(dict(params))
    if tstop is not None:
        d = d.with_tstop(tstop)
    if seed is not None:
        d = d.with_seed(seed)
    if energy:
        from neurospice.report.energy import prepare

        d = prepare(d)
    plots = options.engine_obj.run(d, options)
    wf = next((w for w in reversed(plots) if w.analysis == "tran"), plots[-1])
    run = Run(d, wf, analyses=plots)
    if wf.analysis == "tran":
        from neurospice.report.locking import add_locking
        from neurospice.report.summary import summarise

        levels = _levels(spike_threshold)
        summary = summarise(d, wf, t_skip=t_skip, spike_threshold=levels)
        with tempfile.TemporaryDirectory() as tmp:
            analysis = add_locking(d, wf, summary, Path(tmp), t_skip=t_skip, plot=False,
                                   seeds=seeds, seed=seed, engine=engine, timeout=timeout)
        if wf.measurements:
            summary.extra["measurements"] = wf.measurements
        if energy:
            from neurospice.report.energy import energy_report

            report = energy_report(d, wf)
            summary.extra["energy"] = {k: v for k, v in report.items() if not k.startswith("_")}
        run.summary = summary.to_json()
        run.locking = list(analysis.pairs)
    return run


def _levels(spike_threshold: float | Mapping[str, float] | None) -> dict[str, float] | None:
    if spike_threshold is None:
        return None
    if isinstance(spike_threshold, Mapping):
        return {str(k).lower(): float(v) for k, v in spike_threshold.items()}
    return {"*": float(spike_threshold)}


def sweep(deck: DeckLike, grid: Mapping[str, Sequence[float] | str], *,
          workers: int | None = None, scheduler: str | None = None, engine: str = "spice",
          seed: int | None = None, tstop: float | None = None, t_skip: float = 0.0,
          outdir: str | Path | None = None, seeds: int = 1,
          spike_threshold: float | Mapping[str, float] | None = None,
          resume: bool = False, verify: int = 0,
          timeout: float | None = None) -> pd.DataFrame:
    """Run a grid of points; one row per point, as ``sweep.csv``.

    ``grid`` maps a name to its values (a list) or to a sweep spec (``"1k:20k:8"``,
    ``"log:1k:100k:5"``, ``"E24:1k:10k"``). ``resume``: reuse the finished points of
    ``outdir``'s table (``--resume``). ``verify`` (model engine): rerun that many points in
    ngspice; their comparison is ``DataFrame.attrs["verify"]`` (``--verify K``).
    """
    import pandas as pd

    from neurospice.batch.sweep import Axis, parse_sweep, run_sweep, verify_points

    o = RunOptions(sweeps=tuple(grid), workers=workers, scheduler=scheduler, engine=engine,
                   seed=seed, tstop=tstop, t_skip=t_skip, seeds=seeds, resume=resume,
                   verify=verify, timeout=timeout,
                   spike_threshold=_levels(spike_threshold)).validate()
    axes = []
    for name, values in grid.items():
        if isinstance(values, str):
            axes.append(parse_sweep(f"{name}={values}"))
        else:
            axes.append(Axis(name.lower(), tuple(float(v) for v in values), ""))
    d = load(deck)
    if tstop is not None:
        d = d.with_tstop(tstop)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(outdir) if outdir else Path(tmp)
        levels = _levels(spike_threshold)
        rows = run_sweep(d, axes, out, o.replace(quiet=True))
        checks = verify_points(d, rows, axes, verify, out, seed=seed, timeout=timeout,
                               t_skip=t_skip, workers=workers, quiet=True, seeds=seeds,
                               spike_threshold=levels) if verify else []
    frame = pd.DataFrame(rows)
    frame.attrs["verify"] = checks
    return frame


def monte_carlo(deck: DeckLike | PreparedDeck, runs: int, *, seed: int = 1,
                workers: int | None = None, tstop: float | None = None,
                tol: Sequence[str] = (), tol_dist: str = "normal",
                engine: str = "spice", t_skip: float = 0.0, seeds: int = 1,
                scheduler: str | None = None, timeout: float | None = None) -> pd.DataFrame:
    """Repeat the run with seeds ``seed .. seed+runs-1``; one row per run, as ``runs.csv``.

    With ``tol`` (as ``--tol``: ``["R=5%", "C=10%"]``) each run is a build whose parts draw
    their own values (``simulate --runs N --tol ...``), in ngspice or the model engine; with
    ``seeds`` > 1 too, each build runs that many draws of the device noise and its row gets
    P(mode) (``--seeds``). ``scheduler``: a Dask scheduler's address (``--scheduler``).
    """
    import pandas as pd

    RunOptions(runs=max(runs, 2), seed=seed, seeds=seeds, tols=tuple(tol), tol_dist=tol_dist,
               engine=engine, t_skip=t_skip, workers=workers, scheduler=scheduler,
               timeout=timeout).validate()
    d = _as_deck(deck)
    if tstop is not None:
        d = d.with_tstop(tstop)
    if tol:
        from neurospice.batch.tolerance import parse_tolerance, run_tolerance

        if "mc" in d.params():  # each build also draws its own memristor, as on the command line
            d = d.with_params({"mc": 1})
        rows = run_tolerance(d, [parse_tolerance(t) for t in tol], runs=runs, seed=seed,
                             dist=tol_dist, workers=workers, t_skip=t_skip, engine=engine,
                             seeds=seeds, scheduler=scheduler, timeout=timeout)
        return pd.DataFrame(rows)
    from neurospice.batch.montecarlo import _run_all, _run_model

    if get_engine(engine).capabilities.point_maps:
        results = _run_model(d, runs=runs, seed=seed, workers=workers, quiet=True,
                             scheduler=scheduler)
    else:
        results = _run_all(d, runs=runs, seed=seed, workers=workers, timeout=timeout,
                           quiet=True, scheduler=scheduler)
    return pd.DataFrame([results[s][0] for s in sorted(results)])


def build(network: DeckLike) -> str:
    """The SPICE deck a network file (path or text) compiles to."""
    from neurospice.network.assembler import compile_network

    if isinstance(network, str) and "\n" in network:
        return compile_network(network).text
    from neurospice.network.loading import network_deck_text

    return network_deck_text(Path(network))


def check(deck: DeckLike, *, control: str = "refuse",
          base_dir: str | Path | None = None) -> PreparedDeck:
    """Compile ``deck`` and resolve its subcircuit and model names; return the compiled deck.

    Raises an input error naming the line of anything ngspice would reject by name (unknown
    subcircuits, models and parameters), and logs the command's warnings.
    """
    import logging

    from neurospice.spice.checks import preflight

    d = load(deck, control=control, base_dir=base_dir)
    for warning in preflight(d):  # as `neurospice check`: unit traps, nodes with one connection
        logging.getLogger("neurospice.check").warning("%s", warning)
    return d


def parts_list(deck: DeckLike | PreparedDeck, *, series: str = "E24", cap_series: str = "E12",
               stress: bool = False, tstop: float | None = None,
               timeout: float | None = None) -> PartsList:
    """The parts list of a board (as ``neurospice bom``): every part with its series value.

    With ``stress=True`` the board is run once (to ``tstop``, default the deck's) saving every
    current, and each resistor gets a power rating, each capacitor a voltage rating, each
    op-amp its swing, slew and gain-bandwidth needs, each supply rail its current.
    """
    from neurospice.report.bom import PartsList, bom_rows, ratings_from_run

    d = _as_deck(deck)
    rows = bom_rows(d, series, cap_series)
    ratings = None
    if stress:
        from neurospice.report.energy import prepare

        run_deck = d.with_tstop(tstop) if tstop is not None else d
        wf = run_prepared(prepare(run_deck), timeout=timeout, analysis="tran")
        ratings = ratings_from_run(run_deck, wf)
    return PartsList(rows, series.upper(), cap_series.upper(), ratings)


def snap(deck: DeckLike | PreparedDeck, *, series: str = "E24", cap_series: str = "E12",
         tstop: float | None = None, workers: int | None = None,
         timeout: float | None = None, quiet: bool = True) -> SnapReport:
    """What snapping every part to its series changes (as ``neurospice bom --snap``): the board
    run as designed, as snapped, and with each snapped part alone (see
    :mod:`neurospice.batch.snap`)."""
    from neurospice.batch.snap import snap_report_with_bar

    d = _as_deck(deck)
    if tstop is not None:
        d = d.with_tstop(tstop)
    return snap_report_with_bar(d, series, cap_series, workers=workers, timeout=timeout,
                                quiet=quiet)


def corners(deck: DeckLike | PreparedDeck, tol: Sequence[str], *, tstop: float | None = None,
            workers: int | None = None, timeout: float | None = None,
            t_skip: float = 0.0, scheduler: str | None = None) -> CornerReport:
    """Worst-case corners of a board (as ``simulate DECK --corners --tol ...``): ``tol`` as
    on the command line (``["R=5%", "C=10%", "xmaster.c0=1%"]``); see
    :mod:`neurospice.batch.corners`."""
    from neurospice.batch.corners import run_corners
    from neurospice.batch.tolerance import parse_tolerance

    d = _as_deck(deck)
    if tstop is not None:
        d = d.with_tstop(tstop)
    return run_corners(d, [parse_tolerance(t) for t in tol], workers=workers, timeout=timeout,
                       t_skip=t_skip, scheduler=scheduler)


def _as_deck(deck: DeckLike | PreparedDeck) -> PreparedDeck:
    return deck if isinstance(deck, PreparedDeck) else load(deck)
