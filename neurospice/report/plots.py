"""Figures of waveforms, locking timelines and parameter maps.

Uses matplotlib's object API with the Agg canvas (``Figure`` objects, no
``pyplot``), so nothing leaks into a global figure registry and it works
headless in worker processes. Every function writes one file (format from the
suffix: ``.png``, ``.pdf``, ``.svg``) and returns its path.

Mode colours are fixed for the paper's modes ("1:1" blue, "2:1" orange,
"unlocked" grey, "irregular" red, "silent" white) and their qualified words
("1:1 period 2", "1:1 partial", ... : lighter shades of their n:m's colour);
other "n:m" modes get the remaining colours of the tab10 palette in sorted
order. Marginal cells of a map are hatched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from numpy.typing import ArrayLike

from neurospice.analysis.timeline import IRREGULAR, SILENT, UNLOCKED, Timeline
from neurospice.files import atomic_write_with, check_output_path, output_name

__all__ = ["mode_colors", "map_figure", "plot_map", "plot_timeline", "plot_traces", "save_figure",
           "MAX_TRACES", "figure_path"]

#: the trace plot draws the first this-many traces (one panel each) and says what it left out
MAX_TRACES = 24

_FIXED: dict[str, str] = {
    "1:1": "#1f77b4",
    "2:1": "#ff7f0e",
    "1:2": "#2ca02c",
    "3:1": "#9467bd",
    "3:2": "#8c564b",
    "2:3": "#e377c2",
    "4:1": "#17becf",
    "5:2": "#bcbd22",
    IRREGULAR: "#d62728",
    # the words that name no locked mode are greys (and white): never a mode's colour
    UNLOCKED: "#bdbdbd",
    "inconclusive": "#8a8a8a",
    "sub-threshold": "#e3e3e3",
    SILENT: "#ffffff",
    "not run": "#f4f4f4",
    "failed": "#3b3b3b",
}
# other n:m modes: a colour fixed by the mode word (the same in every plot), none of them grey
_SPARE = ["#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5",
          "#dbdb8d", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]


def mode_colors(modes: Sequence[str]) -> dict[str, str]:
    """Colour (hex) of each mode, the same in every plot whatever else it shows: fixed for
    the common modes and the words that name no mode (greys), a shade of its n:m's colour for
    a qualified word, and for any other mode a colour chosen by the word itself."""
    import zlib

    out: dict[str, str] = {}
    for mode in sorted(set(modes), key=_mode_key):
        base = mode.split()[0] if mode.split() else mode
        if mode in _FIXED:
            out[mode] = _FIXED[mode]
        elif base in _FIXED and " " in mode:  # "1:1 period 2", "1:1 partial", ...
            out[mode] = _shade(_FIXED[base], mode)
        else:
            color = _SPARE[zlib.crc32(base.encode()) % len(_SPARE)]
            out[mode] = _shade(color, mode) if " " in mode else color
    return out


def _shade(base: str, mode: str) -> str:
    """A lighter or darker shade of ``base``, one per qualifier of the mode word."""
    r, g, b, _ = to_rgba(base)
    mix = {"partial": 0.45, "period": -0.35, "+": 0.25}
    f = sum(v for k, v in mix.items() if k in mode.split())
    f = max(-0.6, min(0.7, f))
    if f >= 0:
        r, g, b = (c + (1 - c) * f for c in (r, g, b))
    else:
        r, g, b = (c * (1 + f) for c in (r, g, b))
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in (r, g, b)))


def _mode_key(mode: str) -> tuple[int, float, str]:
    """Sort locked modes by ratio n/m, then the non-locked labels."""
    if ":" in mode:
        n, _, m = mode.split()[0].partition(":")
        try:
            return (0, int(n) / int(m), mode)
        except (ValueError, ZeroDivisionError):
            return (1, 0.0, mode)
    return (2, 0.0, mode)


def figure_path(folder: str | os.PathLike[str], prefix: str, name: str,
                suffix: str = ".png") -> Path:
    """``folder/<prefix><name><suffix>`` with ``name`` (an instance name, a deck's word) made
    one path component (:func:`neurospice.files.output_name`)."""
    return Path(folder) / output_name(f"{prefix}{name}{suffix}")


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` (Agg canvas, 120 dpi) to ``path`` atomically, creating its folder.

    A path built under a locked output folder must stay in it
    (:func:`neurospice.files.check_output_path`): checked before any folder is created.
    """
    out = Path(path)
    check_output_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fmt = out.suffix.lstrip(".").lower() or "png"
    return atomic_write_with(out, lambda tmp: fig.savefig(tmp, dpi=120, format=fmt))


def plot_traces(
    t: ArrayLike,
    traces: Mapping[str, ArrayLike],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    xlabel: str = "time (s)",
    ylabel: str = "V",
    units: Mapping[str, str] | None = None,
    zoom: float | None = None,
    min_spans: Mapping[str, float] | None = None,
) -> Path:
    """Plot waveforms on stacked axes sharing the time axis, with a zoomed panel.

    Parameters
    ----------
    t : array_like
        Sample times (s).
    traces : mapping of str to array_like
        Name -> samples (same length as ``t``), e.g. ``{"master": v1, "slave": v2}``.
    path : str or path-like
        Output file; the parent directory is created.
    title : str, optional
        Figure title.
    xlabel, ylabel : str, optional
        Axis labels; ``ylabel`` is the unit of traces not in ``units``.
    units : mapping of str to str, optional
        Unit of each trace (``"V"``, ``"dimensionless"``, ``"kOhm"``).
    min_spans : mapping, optional
        Trace name -> the smallest span of its y axis (a state that moves by 1e-6 is drawn as
        the flat line it is).
    zoom : float, optional
        Length (s) of a zoomed panel at the end of the record, beside the whole record; by
        default a few spikes' worth (10 % of the record, at most 0.15 s) when the record is
        longer than 0.5 s; 0 for none.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    ta = np.asarray(t, dtype=np.float64)
    names = list(traces)
    if not names:
        raise ValueError("no traces to plot")
    left_out = len(names) - MAX_TRACES
    if left_out > 0:  # one panel each: 300 neurons took minutes and 875 MB
        names = names[:MAX_TRACES]
        note = (f"the first {MAX_TRACES} of {len(names) + left_out} traces; the others are in "
                "the waveform table")
        title = f"{title}\n({note})" if title else note
    span = float(ta[-1] - ta[0]) if ta.size > 1 else 0.0
    if zoom is None:
        zoom = min(0.15, 0.1 * span) if span > 0.5 else 0.0
    cols = 2 if zoom > 0 else 1
    fig = Figure(figsize=(13 if cols == 2 else 10, 1.8 + 1.6 * len(names)),
                 layout="constrained")
    axes = fig.subplots(len(names), cols, sharex="col", squeeze=False,
                        width_ratios=[3, 1] if cols == 2 else None)
    for row, name in enumerate(names):
        unit = (units or {}).get(name, ylabel)
        y = np.asarray(traces[name], dtype=np.float64)
        ax = axes[row, 0]
        ax.plot(ta, y, lw=0.8)
        ax.set_ylabel(f"{name} ({unit})")
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.grid(True, alpha=0.3)
        least = (min_spans or {}).get(name)
        if least is not None:
            widen_to(ax, y, least)
        if cols == 2:
            zx = axes[row, 1]
            sel = ta >= ta[-1] - zoom
            zx.plot(ta[sel], y[sel], lw=1.0)
            if least is not None:
                widen_to(zx, y[sel], least)
            zx.ticklabel_format(axis="y", useOffset=False)
            zx.grid(True, alpha=0.3)
            if row == 0:
                zx.set_title(f"last {1e3 * zoom:.0f} ms", fontsize=9)
            ax.axvspan(ta[-1] - zoom, ta[-1], color="#cccccc", alpha=0.4, lw=0)
    axes[-1, 0].set_xlabel(xlabel)
    if cols == 2:
        axes[-1, 1].set_xlabel(xlabel)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def widen_to(ax: Axes, values: ArrayLike, span: float) -> None:
    """Widen ``ax``'s y-range to at least ``span`` around the middle of ``values``."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < span:
        mid = 0.5 * (lo + hi)
        ax.set_ylim(mid - 0.5 * span, mid + 0.5 * span)


def plot_timeline(
    t: ArrayLike,
    traces: Mapping[str, ArrayLike],
    timeline: Timeline,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    ylabel: str = "V",
) -> Path:
    """Plot waveforms with the locking episodes shaded by mode.

    The bottom panel shows each window's synchronization index and
    ``f_master / f_slave`` ratio; one legend entry per mode present. Marginal windows (their
    verdict changes with a threshold moved by 50 mV) are hatched over the time they stand for.

    Parameters
    ----------
    t : array_like
        Sample times (s).
    traces : mapping of str to array_like
        Name -> samples, e.g. master and slave membrane voltages.
    timeline : Timeline
        Result of :func:`~neurospice.analysis.timeline.locking_timeline`.
    path : str or path-like
        Output file.
    title : str, optional
        Figure title; default states the locked fraction and overall ratio.
    ylabel : str, optional
        Unit of the traces.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    ta = np.asarray(t, dtype=np.float64)
    names = list(traces)
    colors = mode_colors([e.mode for e in timeline.episodes])
    fig = Figure(figsize=(11, 2.4 + 1.6 * (len(names) + 1)), layout="constrained")
    axes = fig.subplots(
        len(names) + 1,
        1,
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [2.0] * len(names) + [1.2]},
    )[:, 0]
    for ax in axes:
        for e in timeline.episodes:
            ax.axvspan(e.t_start, e.t_end, color=colors[e.mode], alpha=0.25, lw=0)
        for w in timeline.windows:  # a window a 50 mV threshold move would change
            if getattr(w, "marginal", False):
                ax.axvspan(w.own0, w.own1, facecolor="none", hatch="///",
                           edgecolor="#777777", lw=0)
    for ax, name in zip(axes[:-1], names, strict=True):
        ax.plot(ta, np.asarray(traces[name], dtype=np.float64), lw=0.7, color="k")
        ax.set_ylabel(f"{name} ({ylabel})")
    ax_idx = axes[-1]
    centers = np.array([w.center for w in timeline.windows])
    ax_idx.plot(
        centers, [w.sync_index for w in timeline.windows], "o-", ms=3, lw=0.8, label="sync index"
    )
    ax_idx.set_ylim(-0.05, 1.05)
    ax_idx.set_ylabel("sync index")
    ax_ratio = ax_idx.twinx()
    ax_ratio.plot(
        centers, [w.ratio for w in timeline.windows], "s", ms=2.5, color="#555555", label="ratio"
    )
    ax_ratio.set_ylabel("f_master / f_slave")
    ratios = [w.ratio for w in timeline.windows if np.isfinite(w.ratio)]
    # whole ratios 0..3 at least: a ratio of 1.0002 is 1, not a slope on an offset axis
    ax_ratio.set_ylim(0.0, max([3.2, *[1.1 * r for r in ratios]]))
    ax_ratio.ticklabel_format(axis="y", useOffset=False)
    ax_idx.legend(handles=[*ax_idx.get_lines(), *ax_ratio.get_lines()], loc="lower right",
                  fontsize=7)
    ax_idx.set_xlabel("time (s)")
    handles = [Patch(facecolor=colors[m], alpha=0.5, edgecolor="k", label=m) for m in colors]
    if any(getattr(w, "marginal", False) for w in timeline.windows):
        handles.append(Patch(facecolor="white", edgecolor="#777777", hatch="///",
                             label="marginal"))
    axes[0].legend(handles=handles, loc="upper right", ncols=min(len(handles), 6), fontsize=8)
    if title is None:
        title = (
            f"locked {100 * timeline.locked_fraction:.0f} % of the time, "
            f"f_master/f_slave = {timeline.overall_ratio:.3f}"
        )
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_map(
    x: ArrayLike,
    y: ArrayLike | None,
    modes: ArrayLike,
    path: str | os.PathLike[str],
    xlabel: str,
    ylabel: str,
    *,
    title: str | None = None,
    xlog: bool = False,
    ylog: bool = False,
    marginal: ArrayLike | None = None,
    notes: ArrayLike | None = None,
    verified: ArrayLike | None = None,
) -> Path:
    """Plot a 1-D or 2-D parameter sweep coloured by locking mode (Arnold tongues).

    See :func:`map_figure` (the figure this writes) for the parameters.
    """
    fig = map_figure(x, y, modes, xlabel, ylabel, title=title, xlog=xlog, ylog=ylog,
                     marginal=marginal, notes=notes, verified=verified)
    return save_figure(fig, path)


def map_figure(
    x: ArrayLike,
    y: ArrayLike | None,
    modes: ArrayLike,
    xlabel: str,
    ylabel: str,
    *,
    title: str | None = None,
    xlog: bool = False,
    ylog: bool = False,
    marginal: ArrayLike | None = None,
    notes: ArrayLike | None = None,
    verified: ArrayLike | None = None,
) -> Figure:
    """The figure of a 1-D or 2-D parameter sweep coloured by locking mode (Arnold tongues).

    Each mode has its colour in every plot (:func:`mode_colors`; greys for the words that name
    no locked mode), with a legend. A 1-D map puts each mode on its own row, points not
    joined (modes are categories); a log sweep is drawn on a log axis. A 2-D map writes each
    cell's mode in it when the cells are large enough for the text, else the legend alone says.
    ``verified`` (None, True or False per point, the shape of ``modes``): points rerun in
    ngspice by ``--verify``, marked as agreeing or not.

    ``marginal`` (bools, the shape of ``modes``): cells whose verdict changes with a threshold
    moved by max(50 mV, 5 %) are hatched (a 1-D map rings them). ``notes`` (strings, same
    shape): a second line of text in each cell, e.g. the probability of its mode over the noise
    draws.

    Parameters
    ----------
    x : array_like, shape (nx,)
        Values of the first swept parameter (increasing).
    y : array_like, shape (ny,), or None
        Values of the second parameter; None for a 1-D sweep.
    modes : array_like of str
        Mode labels, shape ``(nx,)`` for a 1-D sweep or ``(ny, nx)`` (row per
        ``y`` value) for a 2-D sweep.
    xlabel, ylabel : str
        Axis labels with units (``ylabel`` labels the mode axis of a 1-D map).
    title : str, optional
        Figure title.
    """
    xa = np.asarray(x, dtype=np.float64).reshape(-1)
    ma = np.asarray(modes, dtype=object)
    labels = sorted({str(v) for v in ma.reshape(-1)}, key=_mode_key)
    colors = mode_colors(labels)
    code = {m: k for k, m in enumerate(labels)}
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    if y is None:
        if ma.shape != xa.shape:
            raise ValueError(f"modes shape {ma.shape} does not match x {xa.shape}")
        yk = np.array([code[str(v)] for v in ma], dtype=np.float64)
        ax.scatter(
            xa, yk, c=[colors[str(v)] for v in ma], edgecolors="k", linewidths=0.4, s=30, zorder=3
        )  # (categories: the points are not joined by lines)
        handles: list[Any] = [Patch(facecolor=colors[m], edgecolor="k", label=m)
                              for m in labels]
        if marginal is not None:
            mk = np.asarray(marginal, dtype=bool).reshape(-1)
            if mk.any():
                handles.append(ax.scatter(xa[mk], yk[mk], s=130, facecolors="none",
                                          edgecolors="k", linewidths=1.0, zorder=4,
                                          label="marginal"))
        handles += _mark_verified(ax, xa, yk, verified, ma.shape)
        ax.legend(handles=handles, title="mode", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8)
        if notes is not None:
            for xv, yv, note in zip(xa, yk, np.asarray(notes, dtype=object).reshape(-1),
                                    strict=True):
                if note:
                    ax.annotate(str(note), (xv, yv), textcoords="offset points",
                                xytext=(0, 7), ha="center", fontsize=7)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_ylim(-0.5, len(labels) - 0.5)
        ax.grid(True, axis="x", alpha=0.3)
        if xlog:
            ax.set_xscale("log")
    else:
        ya = np.asarray(y, dtype=np.float64).reshape(-1)
        if ma.shape != (ya.size, xa.size):
            raise ValueError(
                f"modes shape {ma.shape} is not (len(y), len(x)) = {(ya.size, xa.size)}"
            )
        grid = np.vectorize(lambda v: code[str(v)], otypes=[np.float64])(ma)
        cmap = ListedColormap([to_rgba(colors[m]) for m in labels])
        # the cells' edges in the axis' own scale: "nearest" shading takes linear midpoints,
        # which on a log axis cut the first cell off (its lower edge below zero)
        ax.pcolormesh(
            _cell_edges(xa, xlog),
            _cell_edges(ya, ylog),
            grid,
            cmap=cmap,
            vmin=-0.5,
            vmax=len(labels) - 0.5,
            shading="flat",
            edgecolors="face",
        )
        handles = [Patch(facecolor=colors[m], edgecolor="k", label=m) for m in labels]
        mg = None if marginal is None else np.asarray(marginal, dtype=bool).reshape(ma.shape)
        if mg is not None and mg.any():
            xe, ye = _cell_edges(xa, xlog), _cell_edges(ya, ylog)
            for iy, ix in zip(*np.nonzero(mg), strict=True):
                ax.add_patch(Rectangle((xe[ix], ye[iy]), xe[ix + 1] - xe[ix],
                                       ye[iy + 1] - ye[iy], fill=False, hatch="///",
                                       edgecolor="k", linewidth=0.0, zorder=3))
            handles.append(Patch(facecolor="white", edgecolor="k", hatch="///",
                                 label="marginal"))
        # a verified cell's mark sits in its lower left corner, clear of the cell's text
        yy, xx = np.meshgrid(_corner(ya, ylog), _corner(xa, xlog), indexing="ij")
        handles += _mark_verified(ax, xx.reshape(-1), yy.reshape(-1), verified, ma.shape)
        ax.legend(handles=handles, title="mode", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8)
        nt = None if notes is None else np.asarray(notes, dtype=object).reshape(ma.shape)
        texts = {(iy, ix): _cell_text(str(ma[iy, ix]), "" if nt is None else str(nt[iy, ix]))
                 for iy in range(ya.size) for ix in range(xa.size)}
        if _texts_fit(texts.values(), _cell_edges(xa, xlog), _cell_edges(ya, ylog), xlog, ylog):
            for (iy, ix), text in texts.items():  # the mode as text as well as its colour
                ax.text(xa[ix], ya[iy], text, ha="center", va="center", fontsize=6,
                        color=_ink(colors[str(ma[iy, ix])]), zorder=4)
        if xlog:
            ax.set_xscale("log")
        if ylog:
            ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return fig


#: the map's axes in inches (an 8 x 5 in figure less its legend and labels), the cell text's
#: character width and line height in inches (6 pt)
_MAP_AXES_IN = (5.6, 3.9)
_CHAR_IN, _LINE_IN = 6 * 0.62 / 72, 6 * 1.25 / 72


def _cell_text(mode: str, note: str) -> str:
    text = mode.replace(" partial", "\npartial").replace(" period", "\nperiod")
    return f"{text}\n{note}" if note else text


def _texts_fit(texts: object, xe: np.ndarray, ye: np.ndarray, xlog: bool, ylog: bool) -> bool:
    """True when every cell's text fits the narrowest and lowest cell (no text overlaps)."""
    lines = [str(t).split("\n") for t in texts]  # type: ignore[attr-defined]
    if not lines:
        return False
    width = max(len(w) for t in lines for w in t) * _CHAR_IN
    height = max(len(t) for t in lines) * _LINE_IN

    def smallest(e: np.ndarray, log: bool, size: float) -> float:
        a = np.log(e) if log and np.all(e > 0) else e
        span = float(a[-1] - a[0])
        return size * float(np.min(np.diff(a))) / span if span > 0 else size

    return (width <= 0.92 * smallest(xe, xlog, _MAP_AXES_IN[0])
            and height <= 0.92 * smallest(ye, ylog, _MAP_AXES_IN[1]))


def _corner(v: np.ndarray, log: bool) -> np.ndarray:
    """A point 18 % of the way into each cell centred on ``v`` from its lower edge."""
    e = _cell_edges(v, log)
    if log and np.all(v > 0):
        le = np.log(e)
        return np.asarray(np.exp(le[:-1] + 0.18 * np.diff(le)))
    return np.asarray(e[:-1] + 0.18 * np.diff(e))


def _ink(color: str) -> str:
    """Black on light colours, white on dark ones."""
    r, g, b, _ = to_rgba(color)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.45 else "white"


def _mark_verified(ax: Axes, xs: np.ndarray, ys: np.ndarray, verified: ArrayLike | None,
                   shape: tuple[int, ...]) -> list[Any]:
    """Mark the points ``--verify`` reran in ngspice (a ring: agrees; a red cross: does not);
    return the legend handles."""
    if verified is None:
        return []
    ver = np.asarray(verified, dtype=object).reshape(shape).reshape(-1)
    handles: list[Any] = []
    agree = np.array([v is True for v in ver], dtype=bool)
    differ = np.array([v is False for v in ver], dtype=bool)
    if agree.any():
        handles.append(ax.scatter(xs[agree], ys[agree], marker="o", facecolors="none",
                                  edgecolors="k", s=60, linewidths=1.4, zorder=5,
                                  label="verified: ngspice agrees"))
    if differ.any():
        handles.append(ax.scatter(xs[differ], ys[differ], marker="X", color="#d62728",
                                  edgecolors="k", s=60, linewidths=0.5, zorder=5,
                                  label="verified: ngspice disagrees"))
    return handles


def _cell_edges(v: np.ndarray, log: bool) -> np.ndarray:
    """Edges of the cells centred on the values ``v`` (as pcolormesh's "nearest" draws them)."""
    a = np.log(v) if log and np.all(v > 0) else np.asarray(v, dtype=np.float64)
    if a.size == 1:
        e = np.array([a[0] - 0.5, a[0] + 0.5])
    else:
        mid = 0.5 * (a[1:] + a[:-1])
        e = np.concatenate(([a[0] - (mid[0] - a[0])], mid, [a[-1] + (a[-1] - mid[-1])]))
    return np.exp(e) if log and np.all(v > 0) else e


def plot_yield(rows: Sequence[Mapping[str, object]], path: str | os.PathLike[str], *,
               title: str | None = None, top: int = 3) -> Path:
    """The yield of a tolerance run: builds per mode (with 95 % Wilson intervals), and the
    deviations of the components that matter most, by outcome.

    Parameters
    ----------
    rows
        ``runs.csv`` rows: ``mode`` and ``d:<path>`` deviations (fractions).
    path
        Output file.
    title
        Figure title.
    top
        How many components to show.
    """
    from collections import Counter

    from neurospice.analysis.statistics import (
        rank_effects,
        significant_effects,
        wilson_interval,
    )

    n = len(rows)
    counts = Counter(str(r.get("mode") or "none") for r in rows)
    modes = sorted(counts, key=_mode_key)
    colors = mode_colors(modes)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.4])
    for k, m in enumerate(modes):
        lo, hi = wilson_interval(counts[m], n)
        share = counts[m] / n
        ax.bar(k, 100 * share, color=colors[m], edgecolor="k", lw=0.5)
        ax.errorbar(k, 100 * share, yerr=[[100 * max(share - lo, 0.0)],
                                          [100 * max(hi - share, 0.0)]],
                    color="k", capsize=4)
        ax.text(k, 100 * hi + 2, f"{counts[m]}/{n}", ha="center", fontsize=8)
    ax.set_xticks(range(len(modes)), modes)
    ax.set_ylabel("builds (%), 95 % interval")
    ax.set_ylim(0, 110)
    ax.set_xlabel("mode of the slave")
    ax.grid(True, axis="y", alpha=0.3)
    best = counts.most_common(1)[0][0] if counts else ""
    outcome = [str(r.get("mode")) == best for r in rows]
    effects = rank_effects(rows, outcome, top=top)
    sig = {p: pv for p, _, pv in significant_effects(rows, outcome, top=len(rows)).significant}
    if effects:
        for j, (comp, _rho) in enumerate(effects):
            for m in modes:
                ys = [100 * float(str(r.get(f"d:{comp}", 0))) for r in rows
                      if str(r.get("mode") or "none") == m]
                xs = j + (modes.index(m) - (len(modes) - 1) / 2) * 0.18 + np.linspace(
                    -0.04, 0.04, len(ys))
                ax2.scatter(xs, ys, s=12, color=colors[m], edgecolors="k", linewidths=0.3,
                            label=m if j == 0 else None)
        ax2.set_xticks(range(len(effects)),
                       [f"{c}\nrho {r:+.2f}, " + (f"p {sig[c]:.2g}" if c in sig
                                                  else "not significant")
                        for c, r in effects], fontsize=8)
        ax2.set_ylabel("deviation from nominal (%)")
        ax2.axhline(0, color="#999999", lw=0.6)
        ax2.legend(title="mode", fontsize=8)
        ax2.set_title(f"components that separate {best} from the rest (p Holm-adjusted; "
                      f"{n} builds)", fontsize=10)
    else:
        ax2.text(0.5, 0.5, "every build in one mode:\nno component separates them",
                 ha="center", va="center", transform=ax2.transAxes)
        ax2.set_axis_off()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
