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
from typing import Any

from neurospice.analysis.locking import LockResult, classify_locking
from neurospice.analysis.spikes import SpikeTrain, detect_spikes
from neurospice.analysis.timeline import Timeline, locking_timeline
from neurospice.files import output_name
from neurospice.report.summary import RunSummary, run_title, spike_floor
from neurospice.sim.ngspice import Waveforms
from neurospice.spice.deck import DeckError, Instance, PreparedDeck

__all__ = ["PairAnalysis", "RunAnalysis", "lock_pairs", "analyse_run", "add_locking",
           "MIN_SLAVE_SPIKES"]

#: Fewest slave spikes (after t_skip) on which a locking mode is reported; a shorter record
#: is reported as "inconclusive" (a ratio from a handful of spikes says little).
MIN_SLAVE_SPIKES = 20


@dataclass
class PairAnalysis:
    """Locking of ``slave`` to ``master`` over the analysed record."""

    master: str
    slave: str
    f_master_hz: float
    f_slave_hz: float
    overall: LockResult
    timeline: Timeline | None
    slave_spikes: int = MIN_SLAVE_SPIKES

    @property
    def conclusive(self) -> bool:
        """True when the record holds enough slave spikes to judge the locking."""
        return self.slave_spikes >= MIN_SLAVE_SPIKES

    @property
    def locked_fraction(self) -> float:
        if self.timeline is None:
            return 1.0 if self.overall.locked else 0.0
        return self.timeline.locked_fraction

    def as_row(self) -> dict[str, Any]:
        o = self.overall
        return {
            "f_master_hz": _r(self.f_master_hz),
            "f_slave_hz": _r(self.f_slave_hz),
            "ratio": f"{o.n}:{o.m}" if math.isfinite(o.ratio) else "",
            "mode": ("silent" if not math.isfinite(o.ratio) else
                     o.mode if self.conclusive else "inconclusive"),
            "ratio_value": _r(o.ratio),
            "sync_index": _r(o.sync_index),
            "locked_fraction": _r(self.locked_fraction),
        }

    def describe(self) -> str:
        o = self.overall
        if not self.conclusive:
            return (f"{self.master} -> {self.slave}: inconclusive - {self.slave_spikes} slave "
                    f"spikes after t_skip, fewer than {MIN_SLAVE_SPIKES}; run longer (ratio so "
                    f"far {o.ratio:.4g}, f {self.f_master_hz:.4g} / {self.f_slave_hz:.4g} Hz)")
        text = (f"{self.master} -> {self.slave}: f {self.f_master_hz:.4g} / "
                f"{self.f_slave_hz:.4g} Hz, ratio {o.ratio:.4g} (~{o.n}:{o.m}), "
                f"overall {o.mode}, sync index {o.sync_index:.3f}, "
                f"locked {100 * self.locked_fraction:.0f} % of the time")
        if self.timeline is not None and self.timeline.episodes:
            parts = []
            for mode in self.timeline.modes:
                d = self.timeline.dwell_times(mode)
                parts.append(f"{mode} x{len(d)} (mean {sum(d) / len(d):.3g} s)")
            text += "; timeline: " + ", ".join(parts)
            text += f"; {len(self.timeline.switches)} switches"
        return text


@dataclass
class RunAnalysis:
    """Spike trains of every neuron and the locking of every analysed pair."""

    trains: dict[str, SpikeTrain] = field(default_factory=dict)
    pairs: list[PairAnalysis] = field(default_factory=list)
    #: the timeline plots written (by :func:`add_locking`)
    plots: list[Path] = field(default_factory=list)

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


def analyse_run(deck: PreparedDeck, wf: Waveforms, *, t_skip: float = 0.0,
                window: float | None = None,
                trains: dict[str, SpikeTrain] | None = None) -> RunAnalysis:
    """Spikes of every saved neuron, and the locking of each pair after ``t_skip`` seconds.

    ``trains`` (vector -> spikes over the whole record, as :func:`detect_spikes` finds them
    with the deck's spike floor) spares detecting them again."""
    t = wf.time
    out = RunAnalysis()
    known = trains or {}
    for inst in deck.neurons():
        vec = f"v({inst.nodes[0]})"
        if vec in wf:
            train = known.get(vec) or detect_spikes(t, wf[vec],
                                                    min_amplitude=spike_floor(deck, vec))
            out.trains[inst.name] = train.after(t_skip)
    for a, b in lock_pairs(deck):
        if a.name not in out.trains or b.name not in out.trains:
            continue
        ta, tb = out.trains[a.name], out.trains[b.name]
        overall = classify_locking(ta, tb)
        timeline = None
        if len(ta) >= 4 and len(tb) >= 2:
            timeline = locking_timeline(ta, tb, window=window)
        out.pairs.append(PairAnalysis(a.name[1:], b.name[1:], ta.frequency_hz, tb.frequency_hz,
                                      overall, timeline, slave_spikes=len(tb)))
    return out


def add_locking(deck: PreparedDeck, wf: Waveforms, summary: RunSummary, outdir: Path,
                *, t_skip: float, plot: bool) -> RunAnalysis:
    """Add each pair's locking to ``summary`` and write ``locking_<master>_<slave>.png``."""
    analysis = analyse_run(deck, wf, t_skip=t_skip, trains=summary.trains)
    for pair in analysis.pairs:
        key = f"locking {pair.master}->{pair.slave}"
        summary.extra[key] = pair.describe()
        summary.extra[f"{key} data"] = {
            **pair.as_row(),
            "switches": [(s.time, s.from_mode, s.to_mode) for s in pair.timeline.switches]
            if pair.timeline else [],
            "dwell_s": pair.timeline.dwell if pair.timeline else {},
        }
        if plot and pair.timeline is not None:
            from neurospice.report.plots import plot_timeline

            traces = {}
            for inst in deck.neurons():
                if inst.name[1:] in (pair.master, pair.slave):
                    traces[inst.name[1:]] = wf[f"v({inst.nodes[0]})"]
            outdir.mkdir(parents=True, exist_ok=True)
            analysis.plots.append(plot_timeline(
                          wf.time, traces, pair.timeline,
                          outdir / output_name(f"locking_{pair.master}_{pair.slave}.png"),
                          title=f"{run_title(deck, summary)}: {pair.master} -> {pair.slave}, "
                                f"{pair.as_row()['mode']}"))
    return analysis
