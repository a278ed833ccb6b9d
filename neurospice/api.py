"""The public Python API, re-exported by :mod:`neurospice` (see its docstring for a map).

Every function takes a deck as a path (``.cir`` or ``.nsn``) or as deck text, compiles it with
the allow-list compiler and runs it in the sandboxed ngspice worker - the same path as the
``simulate`` command, without writing files unless asked.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurospice.errors import UsageError
from neurospice.sim.ngspice import run_prepared
from neurospice.sim.options import RunOptions
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import PreparedDeck, prepare_text

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from neurospice.batch.corners import CornerReport
    from neurospice.batch.crossbar import CrossbarRun
    from neurospice.batch.snap import SnapReport
    from neurospice.batch.stdp import SpikeShape, StdpGrid, StdpPoint
    from neurospice.reference.crossbar import CrossbarConfig
    from neurospice.report.bom import PartsList
    from neurospice.report.locking import PairAnalysis

__all__ = ["Run", "prepare", "simulate", "sweep", "monte_carlo", "build", "check", "load",
           "parts_list", "snap", "corners", "stdp", "crossbar"]

DeckLike = str | Path


def load(deck: DeckLike, *, control: str = "refuse", base_dir: str | Path | None = None,
         options: RunOptions | None = None) -> PreparedDeck:
    """Compile ``deck``: a path to a ``.cir``/``.nsn`` file, or deck text (with a newline).

    Deck text has no folder tree of its own: its includes resolve in the shipped library
    only, unless ``base_dir=`` names the folder whose files it may include (and the sandboxed
    simulator may read). The caller's working folder is never taken for it. ``options``
    (:class:`RunOptions`) give the compiler's limits and ``.control`` handling (``control``
    then is ignored).

    Raises
    ------
    neurospice.DeckError, neurospice.NetworkSyntaxError, ...
        Any input error, with file, line and column.
    """
    from neurospice.network.loading import load_deck

    o = options or RunOptions(control=control).validate()  # type: ignore[arg-type]
    if isinstance(deck, str) and "\n" in deck:
        from neurospice.spice.resources import NETLISTS_DIR

        tree = Path(base_dir) if base_dir is not None else NETLISTS_DIR
        return prepare_text(deck, base_dir=tree, control=o.control, limits=o.deck_limits())
    path = Path(deck)
    if not path.exists():
        raise UsageError(f"no such deck file: {path} (deck text must contain a line break)")
    return load_deck(path, control=o.control, limits=o.deck_limits())


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
        from neurospice.report.summary import waveform_columns

        return {c.name: c.unit for c in waveform_columns(self.deck, self.waveforms,
                                                         real_only=False)}

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
            ax.plot(wf.scale, wf[name].real, lw=0.8)
            vector = wf.vector_of(name)
            ax.set_ylabel(f"{wf.name_of(vector)} ({wf.units.get(vector, '') or '-'})")
            ax.grid(True, alpha=0.3)
        axes[-1].set_xlabel(f"{wf.scale_name} ({'s' if wf.analysis == 'tran' else ''})")
        if path is not None:
            from neurospice.report.plots import save_figure

            save_figure(fig, path)
        return fig


#: the :class:`RunOptions` fields each function takes as a keyword (``**settings``); the
#: batch kind of a function is its own (``sweeps``, ``runs``, ``tols``, ``corners``), and the
#: command's output files (format, raw file, plots) are the command's
_COMMON = frozenset({"tstop", "timeout", "t_skip", "control", "max_points", "max_deck_bytes",
                     "max_memory", "compat", "allow_negative"})
SETTINGS: dict[str, frozenset[str]] = {
    "simulate": _COMMON | {"seed", "seeds", "spike_threshold", "energy"},
    "sweep": _COMMON | {"seed", "seeds", "spike_threshold", "workers", "scheduler", "resume",
                        "verify"},
    "monte_carlo": _COMMON | {"seed", "seeds", "workers", "scheduler", "tol_dist"},
    "corners": _COMMON | {"workers", "scheduler"},
    "snap": _COMMON | {"workers", "quiet"},
    "parts_list": _COMMON,
    "check": frozenset({"control", "max_points", "max_deck_bytes", "compat"}),
}


def run_options(function: str, options: RunOptions | None, settings: Mapping[str, Any],
                **kind: Any) -> RunOptions:
    """The validated options of a call of ``function``: ``options`` (default: the command
    line's defaults) with its keyword ``settings`` and its batch ``kind`` (``sweeps=``,
    ``runs=`` ...).

    Raises
    ------
    UsageError
        A keyword ``function`` does not take (naming the ones it does), a bad value, or a
        combination the command line refuses too.
    """
    o = RunOptions.from_settings(settings, base=options, allowed=SETTINGS[function])
    return o.replace(**{k: v for k, v in kind.items() if v is not None}).validate()


def prepare(deck: DeckLike | PreparedDeck, options: RunOptions | None = None, *,
            params: Mapping[str, str | float] | None = None,
            base_dir: str | Path | None = None,
            warn: Callable[[str], object] | None = None) -> PreparedDeck:
    """The compiled deck of a run, checked as ``simulate`` checks it before ngspice runs: the
    deck (compiled with ``options``' ``.control`` handling and limits, see :func:`load`) with
    ``params`` (a negative resistor refused unless ``options.allow_negative``) and
    ``options.tstop``; what ``neurospice check`` refuses raises with file and line, its
    warnings go to ``warn`` (default: the ``neurospice.check`` logger).

    Raises
    ------
    UsageError
        ``options.t_skip`` leaves nothing of the run to analyse.
    """
    from neurospice.sim.options import spelled
    from neurospice.spice.checks import preflight

    o = options or RunOptions()
    d = deck if isinstance(deck, PreparedDeck) else load(deck, base_dir=base_dir, options=o)
    if params:
        d = d.with_values(dict(params), allow_negative=o.allow_negative)
    if o.tstop is not None:
        d = d.with_tstop(o.tstop)
    for warning in preflight(d):  # unit traps, nodes with one connection
        (warn or _log_warning)(warning)
    tran = d.tran()
    if o.t_skip and tran is not None and o.t_skip >= tran[1]:
        raise UsageError(f"{spelled('--t-skip')} {o.t_skip:g} s leaves nothing of a "
                         f"{tran[1]:g} s run to analyse; give less than the stop time")
    return d


def _log_warning(text: str) -> None:
    import logging

    logging.getLogger("neurospice.check").warning("%s", text)


def simulate(deck: DeckLike, *, engine: str | None = None, options: RunOptions | None = None,
             params: Mapping[str, str | float] | None = None,
             base_dir: str | Path | None = None, **settings: Any) -> Run:
    """Run a deck and analyse it, as ``simulate FILE`` does (without writing files).

    Parameters
    ----------
    deck
        A ``.cir`` or ``.nsn`` path, or deck text.
    engine
        ``"spice"`` (ngspice, the default) or ``"model"`` (the board's compiled equations).
    options
        A :class:`RunOptions` to start from (``settings`` change it).
    params
        Values of top-level ``.param``\\s (or components by instance name), e.g.
        ``{"r2": "5k"}``.
    base_dir
        For deck text: the folder its includes may name (default: the shipped library only;
        see :func:`load`).
    **settings
        :class:`RunOptions` fields, as the command line's options (times may be text with SI
        suffixes): ``tstop`` (s), ``seed``, ``timeout`` (s), ``t_skip`` (s left out of the
        spike and locking analysis), ``control`` (``"refuse"``, ``"ignore"`` or ``"allow"``
        ``.control`` blocks), ``spike_threshold`` (V for every neuron, or ``{neuron: V}``),
        ``seeds`` (noise draws: each locking pair gets P(mode) with 95 % Wilson intervals),
        ``energy`` (the energy report in ``summary["energy"]``; ngspice only),
        ``max_points``, ``max_deck_bytes``, ``max_memory`` (bytes of the ngspice worker),
        ``compat`` (ngspice's compatibility mode), ``allow_negative`` (let ``params`` make a
        resistor negative).

    Returns
    -------
    Run
    """
    o = run_options("simulate", options, settings, engine=engine)
    d = prepare(deck, o, params=params, base_dir=base_dir)
    if o.seed is not None:
        d = d.with_seed(o.seed)
    if o.energy:
        from neurospice.report.energy import prepare as saving_currents

        d = saving_currents(d)
    plots = o.engine_obj.run(d, o)
    wf = next((w for w in reversed(plots) if w.analysis == "tran"), plots[-1])
    run = Run(d, wf, analyses=plots)
    if wf.analysis == "tran":
        run.summary, run.locking = _analyse(d, wf, o)
        from neurospice.report.summary import run_json, run_record

        source = d.source if d.source is not None else Path("<deck text>")
        run.summary["run"] = run_json(run_record(source, d, wf, o, params={
            k: str(v) for k, v in (params or {}).items()}))
    return run


def _analyse(d: PreparedDeck, wf: Waveforms, o: RunOptions
             ) -> tuple[dict[str, Any], list[PairAnalysis]]:
    """The summary (as ``summary.json``) and the locking pairs of a transient run."""
    from neurospice.report.locking import add_locking
    from neurospice.report.summary import summarise

    levels = dict(o.spike_threshold) if o.spike_threshold else None
    summary = summarise(d, wf, t_skip=o.t_skip, spike_threshold=levels)
    with tempfile.TemporaryDirectory() as tmp:
        analysis = add_locking(d, wf, summary, Path(tmp), o.replace(plot=False))
    if wf.measurements:
        summary.extra["measurements"] = wf.measurements
    if o.energy:
        from neurospice.report.energy import energy_report

        report = energy_report(d, wf)
        summary.extra["energy"] = {k: v for k, v in report.items() if not k.startswith("_")}
    return summary.to_json(), list(analysis.pairs)


def sweep(deck: DeckLike, grid: Mapping[str, Sequence[float] | str], *,
          engine: str | None = None, options: RunOptions | None = None,
          outdir: str | Path | None = None, **settings: Any) -> pd.DataFrame:
    """Run a grid of points; one row per point, as ``sweep.csv``.

    ``grid`` maps a name to its values (a list) or to a sweep spec (``"1k:20k:8"``,
    ``"log:1k:100k:5"``, ``"E24:1k:10k"``). ``settings``: :class:`RunOptions` fields as for
    :func:`simulate` (``tstop``, ``seed``, ``seeds``, ``t_skip``, ``timeout``,
    ``spike_threshold`` ...) and ``workers``, ``scheduler`` (a Dask scheduler's address),
    ``resume`` (reuse the finished points of ``outdir``'s table, ``--resume``), ``verify``
    (model engine: rerun that many points in ngspice; their comparison is
    ``DataFrame.attrs["verify"]``, ``--verify K``).
    """
    import pandas as pd

    from neurospice.batch.sweep import Axis, parse_sweep, run_sweep, verify_points

    o = run_options("sweep", options, settings, engine=engine, sweeps=tuple(grid))
    axes = [parse_sweep(f"{name}={values}") if isinstance(values, str)
            else Axis(name.lower(), tuple(float(v) for v in values), "")
            for name, values in grid.items()]
    d = prepare(deck, o)  # the seed goes to every point
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(outdir) if outdir else Path(tmp)
        rows = run_sweep(d, axes, out, o.replace(quiet=True))
        checks = verify_points(d, rows, axes, o.replace(quiet=True)) if o.verify else []
    frame = pd.DataFrame(rows)
    frame.attrs["verify"] = checks
    return frame


def monte_carlo(deck: DeckLike | PreparedDeck, runs: int, *, tol: Sequence[str] = (),
                engine: str | None = None, options: RunOptions | None = None,
                **settings: Any) -> pd.DataFrame:
    """Repeat the run with seeds ``seed .. seed+runs-1`` (``seed`` 1 unless given); one row
    per run, as ``runs.csv``.

    With ``tol`` (as ``--tol``: ``["R=5%", "C=10%"]``) each run is a build whose parts draw
    their own values (``simulate --runs N --tol ...``; ``tol_dist``: ``"normal"`` or
    ``"uniform"``), in ngspice or the model engine; with ``seeds`` > 1 too, each build runs
    that many draws of the device noise and its row gets P(mode) (``--seeds``).
    ``settings``: :class:`RunOptions` fields (``seed``, ``tstop``, ``t_skip``, ``timeout``,
    ``workers``, ``scheduler`` (``--scheduler``) ...).
    """
    import pandas as pd

    o = run_options("monte_carlo", options, settings, engine=engine, runs=max(runs, 2),
                    tols=tuple(tol) or None)
    o = o.replace(runs=runs, seed=o.seed if o.seed is not None else 1, quiet=True)
    d = prepare(deck, o)  # each run has its own seed
    if o.tols:
        from neurospice.batch.tolerance import parse_tolerance, run_tolerance

        if "mc" in d.params():  # each build also draws its own memristor, as on the command line
            d = d.with_params({"mc": 1})
        return pd.DataFrame(run_tolerance(d, [parse_tolerance(t) for t in o.tols], o))
    from neurospice.batch.montecarlo import run_builds

    return pd.DataFrame(run_builds(d, o))


def build(network: DeckLike) -> str:
    """The SPICE deck a network file (path or text) compiles to."""
    from neurospice.network.assembler import compile_network

    if isinstance(network, str) and "\n" in network:
        return compile_network(network).text
    from neurospice.network.loading import network_deck_text

    return network_deck_text(Path(network))


def check(deck: DeckLike, *, base_dir: str | Path | None = None,
          options: RunOptions | None = None, **settings: Any) -> PreparedDeck:
    """Compile ``deck`` and resolve its subcircuit and model names; return the compiled deck.

    Raises an input error naming the line of anything ngspice would reject by name (unknown
    subcircuits, models and parameters), and logs the command's warnings. ``settings``, as
    ``neurospice check``'s options: ``control``, ``max_points``, ``max_deck_bytes``,
    ``compat``.
    """
    return prepare(deck, run_options("check", options, settings), base_dir=base_dir)


def parts_list(deck: DeckLike | PreparedDeck, *, series: str = "E24", cap_series: str = "E12",
               stress: bool = False, options: RunOptions | None = None,
               **settings: Any) -> PartsList:
    """The parts list of a board (as ``neurospice bom``): every part with its series value.

    With ``stress=True`` the board is run once (to ``tstop``, default the deck's; within
    ``timeout``) saving every current, and each resistor gets a power rating, each capacitor a
    voltage rating, each op-amp its swing, slew and gain-bandwidth needs, each supply rail its
    current.
    """
    from neurospice.report.bom import PartsList, bom_rows, ratings_from_run

    o = run_options("parts_list", options, settings)
    d = prepare(deck, o)
    rows = bom_rows(d, series, cap_series)
    ratings = None
    if stress:
        from neurospice.report.energy import prepare as saving_currents

        wf = run_prepared(saving_currents(d), limits=o.run_limits(), analysis="tran")
        ratings = ratings_from_run(d, wf)
    return PartsList(rows, series.upper(), cap_series.upper(), ratings)


def snap(deck: DeckLike | PreparedDeck, *, series: str = "E24", cap_series: str = "E12",
         options: RunOptions | None = None, **settings: Any) -> SnapReport:
    """What snapping every part to its series changes (as ``neurospice bom --snap``): the board
    run as designed, as snapped, and with each snapped part alone (see
    :mod:`neurospice.batch.snap`). ``settings``: ``tstop``, ``workers``, ``timeout``,
    ``quiet`` (no progress bar; the default) ..."""
    from neurospice.batch.snap import snap_report_with_bar

    o = run_options("snap", options or RunOptions(quiet=True), settings)
    return snap_report_with_bar(prepare(deck, o), series, cap_series, o)


def corners(deck: DeckLike | PreparedDeck, tol: Sequence[str], *,
            options: RunOptions | None = None, **settings: Any) -> CornerReport:
    """Worst-case corners of a board (as ``simulate DECK --corners --tol ...``): ``tol`` as
    on the command line (``["R=5%", "C=10%", "xmaster.c0=1%"]``); ``settings``: ``tstop``,
    ``workers``, ``scheduler``, ``timeout``, ``t_skip`` ...; see
    :mod:`neurospice.batch.corners`."""
    from neurospice.batch.corners import run_corners
    from neurospice.batch.tolerance import parse_tolerance

    o = run_options("corners", options, settings, corners=True, tols=tuple(tol))
    return run_corners(prepare(deck, o), [parse_tolerance(t) for t in tol], o.replace(quiet=True))


def stdp(protocol: str, grid: StdpGrid | Sequence[float], *, shape: SpikeShape | None = None,
         engine: str = "model", accounting: str | None = None,
         progress: bool | None = False) -> list[StdpPoint]:
    """A spike-timing protocol on the second-order synapse (as ``neurospice stdp``): one
    :class:`~neurospice.batch.stdp.StdpPoint` (``dt_over_th``, ``g0_s``, ``g_final_s``,
    ``dg_over_g`` ...: a row of ``stdp.csv``) per point of ``grid`` (a
    :class:`~neurospice.batch.stdp.StdpGrid` of ``dt/tH`` x G0 x interval and ``cycles``, or the
    ``dt/tH`` values alone). ``engine``: ``model``, ``full`` or ``spice``; ``accounting``:
    ``paper`` or ``full`` (see :mod:`neurospice.batch.stdp`); ``progress``: a progress bar
    (None: with the slow engines)."""
    from neurospice.batch.stdp import stdp_sweep

    return stdp_sweep(protocol, grid, shape=shape, engine=engine, accounting=accounting,
                      progress=progress)


def crossbar(config: CrossbarConfig | None = None, *, engine: str = "map", prop1: bool = False,
             **settings: Any) -> CrossbarRun:
    """The crossbar experiment (as ``neurospice crossbar``): ``config`` a
    :class:`~neurospice.reference.crossbar.CrossbarConfig`, or its fields as ``settings``
    (``n=60, period_ratio=1.3`` ...); ``engine`` ``map`` or ``spice``; ``prop1`` solves
    Proposition 1 beside it. Returns a :class:`~neurospice.batch.crossbar.CrossbarRun`
    (``.result.g``, ``.result.spatial_period``, ``.prop1``, ``.to_json()``)."""
    from dataclasses import fields, replace

    from neurospice.batch.crossbar import run_crossbar
    from neurospice.reference.crossbar import CrossbarConfig

    names = {f.name for f in fields(CrossbarConfig)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise UsageError(f"crossbar() has no setting {', '.join(unknown)}; the settings are "
                         f"{', '.join(sorted(names))}")
    try:
        cfg = replace(config or CrossbarConfig(), **settings)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return run_crossbar(cfg, engine=engine, prop1=prop1)
