"""Locking analysis of a run: which pairs, their n:m mode, the timeline and its plot.

Which pairs are analysed: every ``* neurospice lock MASTER SLAVE`` comment line of the deck (the
network language writes one per ``lock`` statement; names are neuron instance names with or
without the leading ``x``); a deck without such a line and with two or more neurons analyses
its first neuron (master) against each of the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neurospice.analysis.locking import LockResult, classify_locking
from neurospice.analysis.modes import Judgement, judge, mode_column, shifted_responses
from neurospice.analysis.spikes import (
    Responses,
    SpikeTrain,
    Thresholds,
    detect_responses,
    detect_spikes,
    margin_step,
)
from neurospice.analysis.timeline import Timeline, locking_timeline
from neurospice.files import output_name
from neurospice.report.summary import RunSummary, neuron_thresholds, run_title, spike_floor
from neurospice.sim.engines import get_engine
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import DeckError, Instance, PreparedDeck

if TYPE_CHECKING:
    from neurospice.sim.options import RunOptions

__all__ = ["PairAnalysis", "RunAnalysis", "lock_pairs", "analyse_run", "add_locking",
           "with_master_margin", "MIN_SLAVE_SPIKES"]

#: Fewest slave spikes (after t_skip) on which a locking mode is reported; a shorter record
#: is reported as "inconclusive" (a ratio from a handful of spikes says little).
MIN_SLAVE_SPIKES = 20


@dataclass
class PairAnalysis:
    """Locking of ``slave`` to ``master`` over the analysed record.

    ``judgement`` is the verdict in the mode words of :mod:`neurospice.analysis.modes` (from
    the slave's response in each master cycle, at each neuron's own thresholds) with its margin
    and ``marginal`` flag; ``overall`` the n:m phase-locking test behind it."""

    master: str
    slave: str
    f_master_hz: float
    f_slave_hz: float
    overall: LockResult
    timeline: Timeline | None
    slave_spikes: int = MIN_SLAVE_SPIKES
    judgement: Judgement | None = None
    slave_responses: int = -1
    #: P(mode) over noise draws: {mode: (p, lo, hi)}, with the number of draws (set by --seeds)
    probabilities: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    n_seeds: int = 1

    @property
    def conclusive(self) -> bool:
        """True when the record holds enough slave responses to judge the locking."""
        n = self.slave_responses if self.slave_responses >= 0 else self.slave_spikes
        return n >= MIN_SLAVE_SPIKES

    @property
    def mode(self) -> str:
        """The verdict's mode word (``"1:1"``, ``"1:1 period 2"``, ``"1:1 partial"``, ...)."""
        o = self.overall
        if self.judgement is not None:
            if self.judgement.mode in ("silent", "sub-threshold"):
                return self.judgement.mode
            return self.judgement.mode if self.conclusive else "inconclusive"
        return ("silent" if not math.isfinite(o.ratio) else
                o.mode if self.conclusive else "inconclusive")

    @property
    def marginal(self) -> bool:
        return bool(self.judgement and self.judgement.marginal)

    @property
    def locked_fraction(self) -> float:
        if self.timeline is None:
            return 1.0 if self.overall.locked else 0.0
        return self.timeline.locked_fraction

    def margin(self) -> dict[str, Any]:
        """``{"v", "rel", "feature", "threshold_v", "flips"}`` of the verdict (summary.json)."""
        if self.judgement is None:
            return {}
        v = self.judgement.verdict
        return {"v": _r(v.margin_v), "rel": _r(v.margin_rel), "feature": v.feature,
                "threshold_v": _r(v.threshold_v),
                "flips": [{"threshold": n, "shift_v": round(dv, 4), "mode": m}
                          for n, dv, m in self.judgement.flips]}

    def as_row(self) -> dict[str, Any]:
        o = self.overall
        v = self.judgement.verdict if self.judgement is not None else None
        row: dict[str, Any] = {
            "f_master_hz": _r(self.f_master_hz),
            "f_slave_hz": _r(self.f_slave_hz),
            "ratio": f"{o.n}:{o.m}" if math.isfinite(o.ratio) else "",
            "mode": self.mode,
            "ratio_value": _r(o.ratio),
            "sync_index": _r(o.sync_index),
            "locked_fraction": _r(self.locked_fraction),
        }
        if v is not None:
            row.update({
                "ratio": f"{v.n}:{v.m}" if v.n else row["ratio"],
                "ratio_value": _r(v.ratio) if math.isfinite(v.ratio) else row["ratio_value"],
                "sync_index": _r(v.sync_index) if math.isfinite(v.sync_index)
                else row["sync_index"],
                "cycles": v.cycles, "slave_spike_count": v.spikes, "partial": v.partial,
                "subthreshold": v.subthreshold,
                "margin_v": _r(v.margin_v), "margin_rel": _r(v.margin_rel),
                "marginal": self.marginal,
            })
        if self.mode.split()[0] in ("unlocked", "inconclusive", "silent", "sub-threshold"):
            row["ratio"] = ""  # no n:m is locked: the nearest fraction would read as a mode
        if self.probabilities:
            row["n_seeds"] = self.n_seeds
            for mode, (p, lo, hi) in sorted(self.probabilities.items()):
                col = mode_column(mode)
                row[col], row[f"{col}_lo"], row[f"{col}_hi"] = _r(p), _r(lo), _r(hi)
        return row

    def describe(self) -> str:
        o = self.overall
        v = self.judgement.verdict if self.judgement is not None else None
        if not self.conclusive:
            n = self.slave_responses if self.slave_responses >= 0 else self.slave_spikes
            return (f"{self.master} -> {self.slave}: inconclusive - {n} slave "
                    f"responses after t_skip, fewer than {MIN_SLAVE_SPIKES}; run longer (ratio so "
                    f"far {o.ratio:.4g}, f {self.f_master_hz:.4g} / {self.f_slave_hz:.4g} Hz)")
        mode = self.mode + (" (marginal)" if self.marginal else "")
        text = f"{self.master} -> {self.slave}: overall {mode}"
        if v is not None:
            text += (f" - {v.cycles} master cycles: {v.spikes} spikes, {v.partial} partial, "
                     f"{v.subthreshold} sub-threshold")
            ratio = v.ratio if math.isfinite(v.ratio) else o.ratio
            if math.isfinite(v.margin_v):
                rel = f", {100 * v.margin_rel:.0f} %" if math.isfinite(v.margin_rel) else ""
                text += (f"; margin {v.margin_v:.3g} V{rel} ({v.feature} "
                         f"{v.threshold_v:.3g} V)")
            for name, dv, m in (self.judgement.flips if self.judgement else ())[:2]:
                text += f"; {name} {dv * 1e3:+.0f} mV -> {m}"
        else:
            ratio = o.ratio
        text += (f"; f {self.f_master_hz:.4g} / {self.f_slave_hz:.4g} Hz, ratio {ratio:.4g}, "
                 f"sync index {o.sync_index:.3f}, "
                 f"locked {100 * self.locked_fraction:.0f} % of the time")
        if self.timeline is not None and self.timeline.episodes:
            parts = []
            for mode_t in self.timeline.modes:
                d = self.timeline.dwell_times(mode_t)
                marg = any(e.marginal for e in self.timeline.episodes if e.mode == mode_t)
                parts.append(f"{mode_t}{' (marginal)' if marg else ''} x{len(d)} "
                             f"(mean {sum(d) / len(d):.3g} s)")
            text += "; timeline: " + ", ".join(parts)
            text += f"; {len(self.timeline.switches)} switches"
        if self.probabilities:
            text += f"; over {self.n_seeds} noise draws: " + ", ".join(
                f"P({m}) = {p:.2f} [{lo:.2f}, {hi:.2f}]"
                for m, (p, lo, hi) in sorted(self.probabilities.items(),
                                             key=lambda kv: -kv[1][0]))
        return text


@dataclass
class RunAnalysis:
    """Spike trains of every neuron and the locking of every analysed pair."""

    trains: dict[str, SpikeTrain] = field(default_factory=dict)
    pairs: list[PairAnalysis] = field(default_factory=list)
    #: the timeline plots written (by :func:`add_locking`)
    plots: list[Path] = field(default_factory=list)
    #: each neuron's thresholds (by instance name)
    thresholds: dict[str, Thresholds] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        """The sweep-table columns: the first pair's figures (empty when there is none)."""
        if self.pairs:
            return self.pairs[0].as_row()
        row: dict[str, Any] = {"mode": "no pair"}
        freqs = [t.frequency_hz for t in self.trains.values()]
        if freqs:
            row["f_master_hz"] = _r(freqs[0])
        return row


def _r(x: float) -> float | str:
    return round(float(x), 6) if math.isfinite(x) else ""


def _n(x: float) -> float | None:
    """``x`` rounded as in the tables, None when not finite (summary.json)."""
    return round(float(x), 6) if math.isfinite(x) else None


def lock_pairs(deck: PreparedDeck) -> list[tuple[Instance, Instance]]:
    """The (master, slave) neuron instances to analyse (see the module docstring)."""
    neurons = deck.neurons()
    by_name: dict[str, Instance] = {}
    for inst in neurons:
        by_name[inst.name] = inst
        by_name[inst.name[1:]] = inst
    pairs = []
    for a, b, org in deck.lock_pairs():
        for name in (a, b):
            if name not in by_name:
                raise DeckError(f"lock pair names '{name}', which is not a neuron instance "
                                f"(neurons: {', '.join(i.name for i in neurons) or 'none'})",
                                org.path, org.line)
        pairs.append((by_name[a], by_name[b]))
    if not pairs and len(neurons) >= 2:
        pairs = [(neurons[0], other) for other in neurons[1:]]
    return pairs


def with_master_margin(j: Judgement, master: str, responses: Responses | None) -> Judgement:
    """The verdict ``j`` marked marginal when the master's own spikes do not hold: its nearest
    peak lies within one margin step of its spike level."""
    if responses is None or not responses.n_spikes:
        return j
    near = float(np.min(np.abs(responses.peaks - responses.thresholds.spike_v)))
    if near >= margin_step(responses.thresholds.spike_v):
        return j
    return Judgement(j.verdict, True, j.flips + (
        (f"{master} spike_v", near, "the master's spikes change"),))


def analyse_run(deck: PreparedDeck, wf: Waveforms, *, t_skip: float = 0.0,
                window: float | None = None,
                trains: dict[str, SpikeTrain] | None = None,
                spike_threshold: dict[str, float] | None = None,
                thresholds: dict[str, Thresholds] | None = None,
                responses: dict[str, Responses] | None = None,
                shifted: dict[str, list[tuple[str, float, Responses]]] | None = None,
                ) -> RunAnalysis:
    """Responses of every saved neuron at its own thresholds, and the verdict of each pair after
    ``t_skip`` seconds.

    ``thresholds`` / ``responses`` (vector -> levels / responses over the whole record, as
    :func:`~neurospice.report.summary.summarise` finds them) spare deriving them again;
    ``spike_threshold`` overrides the levels (V per neuron name, ``"*"`` for all); ``shifted``
    (slave vector -> :func:`~neurospice.analysis.modes.shifted_responses`) spares re-detecting
    them (the model engine's online detectors give all three, :mod:`neurospice.report.online`)."""
    t = wf.time
    out = RunAnalysis()
    ths = thresholds if thresholds else neuron_thresholds(deck, wf, spike_threshold)
    known = responses or {}
    resp: dict[str, Responses] = {}
    vecs: dict[str, str] = {}
    for inst in deck.neurons():
        vec = f"v({inst.nodes[0]})"
        if vec not in wf:
            continue
        vecs[inst.name] = vec
        th = ths.get(vec)
        if th is None:
            train = (trains or {}).get(vec) or detect_spikes(
                t, wf[vec], min_amplitude=spike_floor(deck, vec))
            out.trains[inst.name] = train.after(t_skip)
            continue
        out.thresholds[inst.name] = th
        r = known.get(vec) or detect_responses(t, wf[vec], th)
        resp[inst.name] = r.after(t[0] + t_skip) if t_skip > 0 else r
        out.trains[inst.name] = resp[inst.name].spikes()
    for a, b in lock_pairs(deck):
        if a.name not in out.trains or b.name not in out.trains:
            continue
        ta, tb = out.trains[a.name], out.trains[b.name]
        rb = resp.get(b.name)
        if rb is None:  # a flat slave: the old spike-train analysis
            overall = classify_locking(ta, tb)
            timeline = None
            if len(ta) >= 4 and len(tb) >= 2:
                timeline = locking_timeline(ta, tb, window=window)
            out.pairs.append(PairAnalysis(a.name[1:], b.name[1:], ta.frequency_hz,
                                          tb.frequency_hz, overall, timeline,
                                          slave_spikes=len(tb)))
            continue
        if shifted is not None and vecs[b.name] in shifted:
            vb, sh = np.zeros(0), shifted[vecs[b.name]]
        else:
            vb = np.asarray(wf[vecs[b.name]])
            sh = shifted_responses(t, vb, rb.thresholds, rb, t_skip=t_skip)
        j = judge(ta, t, vb, rb.thresholds, t_skip=t_skip, responses=rb, shifted=sh)
        j = with_master_margin(j, a.name[1:], resp.get(a.name))
        used = rb.train() if " partial" in j.mode or j.verdict.spikes < 2 else tb
        overall = j.verdict.lock or classify_locking(ta, used)
        timeline = None
        if len(ta) >= 4 and len(used) >= 2:
            timeline = locking_timeline(ta, rb.train(), window=window, responses=rb,
                                        shifted=sh)
        # the slave's rate is that of its responses (spikes and partial), whatever the verdict
        out.pairs.append(PairAnalysis(a.name[1:], b.name[1:], ta.frequency_hz,
                                      rb.train().frequency_hz, overall, timeline,
                                      slave_spikes=len(tb), judgement=j,
                                      slave_responses=len(rb)))
    return out


def _overrides(summary: RunSummary) -> dict[str, float] | None:
    """The ``--spike-threshold`` levels a summary was made with (neuron name -> V)."""
    out = {n.name: float(n.spike_threshold_v) for n in summary.neurons
           if n.thresholds.get("source") == "--spike-threshold"}
    return out or None


def pair_data(pair: PairAnalysis, text: str | None = None) -> dict[str, Any]:
    """What summary.json records of a pair (a record of its ``pairs`` list; the schema's
    ``pair``): the pair, ``text`` (its line in the terminal summary), the verdict's figures
    and margin, each timeline segment with its own, switches, dwell times and P(mode)."""
    tl = pair.timeline
    row = pair.as_row()

    def num(key: str) -> Any:
        value = row.get(key)
        return None if value == "" else value

    margin = pair.margin()
    return {
        "master": pair.master,
        "slave": pair.slave,
        "text": pair.describe() if text is None else text,
        "mode": pair.mode,
        "ratio": row["ratio"] or None,
        "ratio_value": num("ratio_value"),
        "f_master_hz": num("f_master_hz"),
        "f_slave_hz": num("f_slave_hz"),
        "sync_index": num("sync_index"),
        "locked_fraction": num("locked_fraction"),
        "cycles": row.get("cycles"),
        "slave_spike_count": row.get("slave_spike_count"),
        "partial": row.get("partial"),
        "subthreshold": row.get("subthreshold"),
        "marginal": pair.marginal,
        "margin_v": num("margin_v"),
        "margin_rel": num("margin_rel"),
        "margin_feature": margin.get("feature"),
        "margin_threshold_v": margin.get("threshold_v") if margin.get("threshold_v") != ""
        else None,
        "flips": margin.get("flips", []),
        "segments": [{"mode": e.mode, "t_start_s": round(e.t_start, 6),
                      "t_end_s": round(e.t_end, 6), "margin_v": _n(e.margin_v),
                      "marginal": e.marginal,
                      "marginal_windows": sum(1 for w in tl.windows if w.marginal
                                              and e.t_start <= w.center < e.t_end),
                      "windows": e.n_windows} for e in tl.episodes] if tl else [],
        "switches": [{"time_s": s.time, "from_mode": s.from_mode, "to_mode": s.to_mode}
                     for s in tl.switches] if tl else [],
        "dwell": [{"mode": m, "dwell_s": list(d)} for m, d in tl.dwell.items()] if tl else [],
        "probabilities": [{"mode": m, "p": p, "lo": lo, "hi": hi}
                          for m, (p, lo, hi) in sorted(pair.probabilities.items())],
        "n_seeds": pair.n_seeds,
    }


def add_locking(deck: PreparedDeck, wf: Waveforms, summary: RunSummary, outdir: Path,
                options: RunOptions, *, seed_deck: PreparedDeck | None = None) -> RunAnalysis:
    """Add each pair's locking to ``summary`` and write ``locking_<master>_<slave>.png`` (when
    ``options.plot``), leaving out ``options.t_skip``.

    ``options.seeds`` > 1: the run (seed ``options.seed``, default the deck's own) is one of
    ``seeds`` draws of the device noise; the others are run here (in ``options.engine``, from
    ``seed_deck``: the deck before the run's own draws were compiled into it) and each pair
    gets P(mode). A noisy deck judged on one draw says so."""
    seeds = options.seeds
    analysis = analyse_run(deck, wf, t_skip=options.t_skip, trains=summary.trains,
                           thresholds=summary.thresholds, responses=summary.responses)
    noisy = noise_sources(deck) if analysis.pairs else []
    if seeds > 1 and analysis.pairs:
        base = options.seed if options.seed is not None else deck_seed(seed_deck or deck)
        add_probabilities(seed_deck or deck, analysis, base,
                          options.replace(spike_threshold=_overrides(summary)))
    for pair in analysis.pairs:
        text = pair.describe()
        if noisy and seeds <= 1:
            text += (f" - one draw of the device noise ({', '.join(noisy)}); --seeds N for "
                     "P(mode)")
        summary.pairs.append(pair_data(pair, text))
        if options.plot and pair.timeline is not None:
            from neurospice.report.plots import plot_timeline

            traces = {}
            for inst in deck.neurons():
                if inst.name[1:] in (pair.master, pair.slave):
                    vector = wf.vector_of(f"v({inst.nodes[0]})")
                    traces[wf.name_of(vector)] = wf[vector]  # master.mem: the one naming
            outdir.mkdir(parents=True, exist_ok=True)
            analysis.plots.append(plot_timeline(
                          wf.time, traces, pair.timeline,
                          outdir / output_name(f"locking_{pair.master}_{pair.slave}.png"),
                          title=f"{run_title(deck, summary)}: {pair.master} -> {pair.slave}, "
                                f"{pair.as_row()['mode']}"))
    return analysis


_NOISE_PARAMS = ("c2c", "mc", "td2c")


def noise_sources(deck: PreparedDeck) -> list[str]:
    """Memristor instances that draw random numbers in a run (``c2c``, ``mc`` or ``td2c``
    non-zero on the instance or as the subcircuit's default): their modes depend on the seed."""
    from neurospice.sim.model.characterise import library_text
    from neurospice.spice.library import parse_library_text

    try:
        lib = parse_library_text(library_text(deck.lines), deck.source or Path("<deck>"))
        defaults = {s.name.lower(): {k.lower(): v for k, v in s.params.items()}
                    for s in lib.subckts}
    except Exception:  # noqa: BLE001 - an unreadable library: judge from the instances alone
        defaults = {}
    from neurospice.report.summary import _instance_params

    out = []
    for inst in deck.memristors():
        given = _instance_params(deck, inst)
        for k in _NOISE_PARAMS:
            text = given.get(k, defaults.get(inst.subckt, {}).get(k))
            if text is None:
                continue
            try:
                value = float(text) if not isinstance(text, str) else deck.evaluate(text)
            except (ValueError, ZeroDivisionError):
                continue
            if value != 0.0:
                out.append(_label_of(inst))
                break
    return out


def _label_of(inst: Instance) -> str:
    return inst.name[1:] if inst.name.startswith("x") and len(inst.name) > 1 else inst.name


def deck_seed(deck: PreparedDeck) -> int:
    """The seed a run of ``deck`` uses (:func:`neurospice.sim.noise.deck_seed`)."""
    from neurospice.sim.noise import deck_seed as seed_of

    return seed_of(deck)


def mode_probabilities(modes: list[str]) -> dict[str, tuple[float, float, float]]:
    """``{mode: (p, lo, hi)}``: the share of each mode among ``modes`` with its 95 % Wilson
    interval."""
    from neurospice.analysis.statistics import wilson_interval

    n = len(modes)
    out = {}
    for mode in sorted(set(modes)):
        k = modes.count(mode)
        lo, hi = wilson_interval(k, n)
        out[mode] = (k / n, lo, hi)
    return out


def seed_modes(deck: PreparedDeck, seeds: list[int], options: RunOptions | None = None
               ) -> list[dict[tuple[str, str], str]]:
    """The mode word of every pair for each seed in ``seeds`` (one run each, in
    ``options.engine`` within its limits; the model engine runs them all in one batch and
    judges them inside the integration, :class:`~neurospice.report.online.LockingRows`):
    ``[{(master, slave): mode}, ...]`` in the order of ``seeds``. ``options.t_skip`` and
    ``options.spike_threshold`` shape the analysis."""
    from neurospice.sim.options import RunOptions

    o = options or RunOptions()
    thresholds = dict(o.spike_threshold or {}) or None
    if get_engine(o.engine).capabilities.point_maps:  # one batch, judged inside the integration
        from neurospice.report.online import LockingRows
        from neurospice.sim.model.maps import map_model

        reduce = LockingRows(row=_pair_modes, t_skip=o.t_skip, spike_threshold=thresholds,
                             timeline=False)
        rows = map_model(deck, [{"seed": s} for s in seeds], reduce=reduce, workers=1,
                         chunk=max(1, len(seeds)))
        return [row["modes"] for row in rows]
    from neurospice.sim.ngspice import run_all
    from neurospice.sim.noise import with_shared_noise

    wfs = []
    for s in seeds:  # the model engine's draws for each seed (one noise for both engines)
        plots = run_all(with_shared_noise(deck.with_seed(s)), limits=o.run_limits())
        wfs.append(next((w for w in reversed(plots) if w.analysis == "tran"), plots[-1]))
    out = []
    for s, wf in zip(seeds, wfs, strict=True):
        a = analyse_run(deck.with_seed(s), wf, t_skip=o.t_skip, spike_threshold=thresholds)
        out.append(_pair_modes(deck, {}, a)["modes"])
    return out


def _pair_modes(_deck: PreparedDeck, _point: dict[str, Any],
                analysis: RunAnalysis) -> dict[str, Any]:
    """A run's mode word per (master, slave) pair, as a map row."""
    return {"modes": {(p.master, p.slave): p.mode for p in analysis.pairs}}


def add_probabilities(deck: PreparedDeck, analysis: RunAnalysis, seed: int,
                      options: RunOptions) -> None:
    """Run seeds ``seed+1 .. seed+seeds-1`` (``analysis`` is the run with ``seed``; ``seeds``
    is ``options.seeds``) and set each pair's ``probabilities`` (P(mode) with 95 % Wilson
    intervals over the ``seeds`` draws)."""
    seeds = options.seeds
    others = seed_modes(deck, list(range(seed + 1, seed + seeds)), options)
    for pair in analysis.pairs:
        modes = [pair.mode] + [m.get((pair.master, pair.slave), "silent") for m in others]
        pair.probabilities = mode_probabilities(modes)
        pair.n_seeds = seeds
