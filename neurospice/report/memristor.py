"""Memristor views of a run: I-V curves coloured by cycle, resistance over time, Monte Carlo.

A memristor instance (see :meth:`PreparedDeck.memristors`) is reported with its terminal voltage
``v(p) - v(n)``, its current (the branch current of a voltage source in series with one of its
terminals, e.g. a 0 V ``Vsense``; none when the deck has no such source), its state ``w`` and its
0.1 V-read resistance ``r`` (internal nodes of the subcircuit).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from numpy.typing import NDArray

from neurospice.report.plots import save_figure, widen_to
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import PreparedDeck

__all__ = ["MemristorTrace", "memristor_traces", "cycle_starts", "plot_iv_cycles",
           "plot_resistance", "plot_iv_scatter", "resistance_figure", "iv_scatter_figure"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MemristorTrace:
    """Waveforms of one memristor instance (arrays over ``t``, s; V; A; 1; ohm)."""

    name: str
    t: FloatArray
    v: FloatArray
    i: FloatArray | None
    w: FloatArray | None
    r: FloatArray | None


def _node(wf: Waveforms, node: str, n: int) -> FloatArray | None:
    if node in ("0", "gnd"):
        return np.zeros(n)
    vec = f"v({node})"
    return np.asarray(wf[vec], dtype=float) if vec in wf else None


def _series_sources(deck: PreparedDeck) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for card in deck.top_cards:
        toks = card.tokens
        if len(toks) >= 3 and card.letter == "v":
            out[toks[0].lower()] = (toks[1].lower(), toks[2].lower())
    return out


def memristor_traces(deck: PreparedDeck, wf: Waveforms) -> list[MemristorTrace]:
    """Voltage, current, state and resistance of every memristor that the run saved."""
    t = wf.time
    sources = _series_sources(deck)
    out = []
    for inst in deck.memristors():
        p, n = inst.nodes[0], inst.nodes[1]
        vp, vn = _node(wf, p, len(t)), _node(wf, n, len(t))
        if vp is None or vn is None:
            continue
        current = None
        for name, (a, b) in sources.items():
            vec = f"i({name})"
            if vec not in wf:
                continue
            # i(V) flows from the source's first node through it to its second node
            sign = {b: 1.0, a: -1.0}.get(p) if p in (a, b) else (
                {a: 1.0, b: -1.0}.get(n) if n in (a, b) else None)
            if sign is not None:
                current = sign * np.asarray(wf[vec], dtype=float)
            if current is not None:
                break
        w = f"v({inst.name}.w)"
        r = f"v({inst.name}.r)"
        out.append(MemristorTrace(
            inst.name[1:] if inst.name.startswith("x") else inst.name, t, vp - vn, current,
            np.asarray(wf[w], dtype=float) if w in wf else None,
            np.asarray(wf[r], dtype=float) if r in wf else None,
        ))
    return out


def cycle_starts(t: FloatArray, v: FloatArray, *, level: float | None = None) -> FloatArray:
    """Times (s) where ``v`` rises through ``level`` (default 25 % of its positive peak).

    One crossing per spike of the drive: the start of each drive cycle.
    """
    if level is None:
        level = 0.25 * float(np.max(v)) if np.max(v) > 0 else 0.0
    up = np.nonzero((v[:-1] < level) & (v[1:] >= level))[0]
    # keep crossings at least a few samples apart (noise)
    return t[up]


def plot_iv_cycles(trace: MemristorTrace, path: str | os.PathLike[str]) -> Path:
    """I-V curve, one colour per drive cycle (viridis: early dark, late bright)."""
    fig = Figure(figsize=(7, 5))
    ax = fig.add_subplot()
    assert trace.i is not None
    starts = cycle_starts(trace.t, trace.v)
    edges = np.concatenate([[trace.t[0]], starts, [trace.t[-1] + 1]])
    cmap = colormaps["viridis"]
    k = max(len(edges) - 1, 1)
    for j in range(len(edges) - 1):
        sel = (trace.t >= edges[j]) & (trace.t < edges[j + 1])
        ax.plot(trace.v[sel], 1e3 * trace.i[sel], color=cmap(j / max(k - 1, 1)), lw=0.8)
    ax.set_xlabel("device voltage v(p) - v(n) (V)")
    ax.set_ylabel("current (mA)")
    ax.set_title(f"{trace.name}: I-V over {k} cycles (dark = early, bright = late)")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


#: The smallest span of the state axis (w is dimensionless, 0..1 for the library's devices): a
#: state that moves by 1e-6 is drawn as the flat line it is, not as a staircase over the panel.
STATE_MIN_SPAN = 0.1
#: The smallest span of the resistance axis, relative to its mean.
RESISTANCE_MIN_SPAN = 0.05


def plot_resistance(trace: MemristorTrace, path: str | os.PathLike[str], *,
                    title: str | None = None) -> Path:
    """:func:`resistance_figure` written to ``path``."""
    return save_figure(resistance_figure(trace, title=title), path)


def resistance_figure(trace: MemristorTrace, *, title: str | None = None) -> Figure:
    """0.1 V-read resistance (log scale above a 20x range) and state w over time; each axis
    spans at least :data:`RESISTANCE_MIN_SPAN` (relative) and :data:`STATE_MIN_SPAN`."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.add_subplot(211)
    if trace.r is not None:
        r_k = np.maximum(trace.r, 1e-6) / 1e3
        ax.plot(trace.t, r_k, lw=0.8)
        if np.nanmax(r_k) / max(np.nanmin(r_k), 1e-9) > 20:
            ax.set_yscale("log")
        else:
            widen_to(ax, r_k, RESISTANCE_MIN_SPAN * float(np.nanmean(r_k)))
    ax.set_ylabel("R at 0.1 V read (kOhm)")
    if ax.get_yscale() == "linear":
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.set_title(f"{title or trace.name}: resistance and state")
    ax.grid(alpha=0.3, which="both")
    ax2 = fig.add_subplot(212, sharex=ax)
    if trace.w is not None:
        ax2.plot(trace.t, trace.w, lw=0.8, color="tab:orange")
        widen_to(ax2, trace.w, STATE_MIN_SPAN)
        moved = float(np.nanmax(trace.w) - np.nanmin(trace.w))
        if moved < 1e-3:
            ax2.text(0.01, 0.92, f"w moves by {moved:.2g} in all", transform=ax2.transAxes,
                     fontsize=8, va="top")
    ax2.set_ylabel("state w (dimensionless)")
    ax2.ticklabel_format(axis="y", useOffset=False)
    ax2.set_xlabel("time (s)")
    ax2.grid(alpha=0.3)
    return fig


#: Above this many devices the I-V scatter names seeds by a colour bar instead of a legend.
LEGEND_MAX_DEVICES = 10


def plot_iv_scatter(traces: list[tuple[int, MemristorTrace]], path: str | os.PathLike[str], *,
                    log_current: bool = False) -> Path:
    """:func:`iv_scatter_figure` written to ``path``."""
    return save_figure(iv_scatter_figure(traces, log_current=log_current), path)


def iv_scatter_figure(traces: list[tuple[int, MemristorTrace]], *,
                      log_current: bool = False) -> Figure:
    """I-V curves of several Monte Carlo devices (one colour per seed); ``log_current`` draws
    |I| on a logarithmic axis, where the high-resistance branch is visible. Up to
    :data:`LEGEND_MAX_DEVICES` devices get a legend, more a colour bar of their seeds."""
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.add_subplot()
    cmap = colormaps["turbo"]
    n = max(len(traces) - 1, 1)
    for j, (seed, tr) in enumerate(traces):
        if tr.i is None:
            continue
        # one colour per device along a continuous map: no two devices share a colour
        y = np.maximum(np.abs(1e3 * tr.i), 1e-9) if log_current else 1e3 * tr.i
        ax.plot(tr.v, y, lw=0.6, color=cmap(0.08 + 0.84 * j / n), label=f"seed {seed}")
    ax.set_xlabel("device voltage (V)")
    if log_current:
        ax.set_yscale("log")
        ax.set_ylabel("|current| (mA, log)")
    else:
        ax.set_ylabel("current (mA)")
    ax.set_title(f"I-V scatter over {len(traces)} Monte Carlo devices")
    ax.grid(alpha=0.3)
    if 0 < len(traces) <= LEGEND_MAX_DEVICES:
        ax.legend(fontsize=7, loc="upper left")
    elif traces:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import ListedColormap, Normalize

        seeds = [s for s, _ in traces]
        shown = ListedColormap([cmap(0.08 + 0.84 * j / n) for j in range(len(traces))])
        bar = fig.colorbar(ScalarMappable(Normalize(-0.5, len(traces) - 0.5), shown), ax=ax)
        ticks = np.unique(np.linspace(0, len(traces) - 1, min(len(traces), 8)).round())
        bar.set_ticks(ticks.tolist(), labels=[str(seeds[int(k)]) for k in ticks])
        bar.set_label(f"seed (all {len(traces)} devices)")
    return fig
