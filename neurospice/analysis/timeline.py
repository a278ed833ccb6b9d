"""Windowed locking timeline of a master and a slave spike train.

Windows of ``window`` seconds slide by ``step`` seconds over the record; each
is classified from the spikes of both trains (spikes just outside a window
still shape the interpolated phases, so short windows give exact ratios):

* ``"n:m"`` (e.g. ``"1:1"``, ``"2:1"``) - locked: :func:`classify_locking`
  found the mode (master fires n times per m slave spikes,
  ``f_master / f_slave ~ n / m``) with synchronization index >= ``min_index``
  and drift <= ``max_drift``;
* ``"irregular"`` - not locked and the slave's inter-spike intervals are
  irregular: local variation ``LV`` of the slave ISIs above ``lv_threshold``
  (default 0.25; 0 for a periodic train, 1 for a Poisson train). LV compares
  consecutive intervals, so one switch between two regular modes inside a
  window does not raise it much, whereas chaotic firing does;
* ``"unlocked"`` - neither (quasi-periodic drift, or a window straddling a
  switch);
* ``"silent"`` - too few spikes to define both phases over the window.

Consecutive windows with the same mode form an :class:`Episode`. Each window
owns the ``step``-long slice of time around its centre (the first and last
windows extend to the ends of the record), so episodes tile the record and the
dwell times are accurate to about one ``step``.

Defaults (0.5 s windows, 0.25 s step) suit the 10-150 Hz circuit neurons and
the paper's 1-3 s dwell times; ``window_spikes`` sizes the windows in master
spikes instead (for the normalised model, whose time unit is not seconds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurospice.analysis.locking import (
    DEFAULT_MAX_DEN,
    DEFAULT_MAX_DRIFT,
    DEFAULT_MIN_INDEX,
    DEFAULT_RATIO_TOL,
    LockResult,
    classify_locking,
    frequency_ratio,
)
from neurospice.analysis.modes import (
    CycleTable,
    classify_cycles,
    cycle_table,
    shape_shifts,
    shape_tolerance,
)
from neurospice.analysis.spikes import Responses, SpikeTrain

__all__ = [
    "DEFAULT_LV_THRESHOLD",
    "DEFAULT_STEP",
    "DEFAULT_WINDOW",
    "IRREGULAR",
    "SILENT",
    "UNLOCKED",
    "DwellStats",
    "Episode",
    "Switch",
    "Timeline",
    "Window",
    "is_locked_mode",
    "local_variation",
    "locking_timeline",
]

FloatArray = NDArray[np.float64]

#: Default window length (s).
DEFAULT_WINDOW: float = 0.5
#: Default window step (s).
DEFAULT_STEP: float = 0.25
#: Slave-ISI local variation above which an unlocked window is "irregular".
DEFAULT_LV_THRESHOLD: float = 0.25

UNLOCKED = "unlocked"
IRREGULAR = "irregular"
SILENT = "silent"


def is_locked_mode(mode: str) -> bool:
    """True for an ``"n:m"`` label, False for unlocked/irregular/silent."""
    return ":" in mode


def local_variation(isi: ArrayLike) -> float:
    """Local variation LV of inter-spike intervals (Shinomoto et al. 2003).

    ``LV = 3/(k-1) * sum(((I_i - I_{i+1}) / (I_i + I_{i+1}))**2)`` over the
    ``k`` intervals: 0 for a periodic train, 1 for a Poisson train.

    Parameters
    ----------
    isi : array_like
        Inter-spike intervals (s).

    Returns
    -------
    float
        Dimensionless LV; NaN with fewer than two intervals.
    """
    a = np.asarray(isi, dtype=np.float64).reshape(-1)
    if a.size < 2:
        return math.nan
    r = (a[:-1] - a[1:]) / (a[:-1] + a[1:])
    return float(3.0 * np.mean(r * r))


@dataclass(frozen=True)
class Window:
    """One analysis window.

    Attributes
    ----------
    t0, t1 : float
        Window span (s).
    own0, own1 : float
        Slice of time (s) this window stands for in episodes and dwell times.
    mode : str
        ``"n:m"``, ``"unlocked"``, ``"irregular"`` or ``"silent"``.
    ratio : float
        ``f_master / f_slave`` from the phase advances over the window.
    n, m : int
        Best n:m candidate tested (0, 0 when silent).
    sync_index : float
        Synchronization index of that candidate in [0, 1].
    drift : float
        Fitted drift (rad) of the n:m phase difference over the window.
    slave_lv, slave_cv : float
        Local variation and coefficient of variation of the slave ISIs inside
        the window (NaN with too few spikes).
    master_spikes, slave_spikes : int
        Spikes of each train inside ``[t0, t1)``.
    margin_v : float
        Distance (V) of the deciding feature nearest to a threshold (NaN without the slave's
        responses, :mod:`~neurospice.analysis.modes`).
    marginal : bool
        True when the window's mode changes with a threshold moved by max(50 mV, 5 %).
    partial : int
        The slave's partial responses in the window's master cycles.
    """

    t0: float
    t1: float
    own0: float
    own1: float
    mode: str
    ratio: float
    n: int
    m: int
    sync_index: float
    drift: float
    slave_lv: float
    slave_cv: float
    master_spikes: int
    slave_spikes: int
    margin_v: float = math.nan
    marginal: bool = False
    partial: int = 0

    @property
    def center(self) -> float:
        """Window centre (s)."""
        return 0.5 * (self.t0 + self.t1)

    @property
    def locked(self) -> bool:
        """True in an n:m mode."""
        return is_locked_mode(self.mode)


@dataclass(frozen=True)
class Episode:
    """A run of consecutive windows with the same mode.

    Attributes
    ----------
    mode : str
        Mode label shared by the windows.
    t_start, t_end : float
        Time span (s) the episode stands for.
    n_windows : int
        Number of windows merged.
    censored : bool
        True when the episode touches the start or end of the record, so its
        true dwell time may be longer.
    mean_ratio, mean_sync_index : float
        Means over its windows.
    margin_v : float
        Smallest margin (V) of its windows.
    marginal : bool
        True when any of its windows is marginal.
    """

    mode: str
    t_start: float
    t_end: float
    n_windows: int
    censored: bool
    mean_ratio: float
    mean_sync_index: float
    margin_v: float = math.nan
    marginal: bool = False

    @property
    def duration(self) -> float:
        """Dwell time (s)."""
        return self.t_end - self.t_start

    @property
    def locked(self) -> bool:
        """True in an n:m mode."""
        return is_locked_mode(self.mode)


@dataclass(frozen=True)
class Switch:
    """A change of mode between two consecutive episodes at ``time`` (s)."""

    time: float
    from_mode: str
    to_mode: str


@dataclass(frozen=True)
class DwellStats:
    """Distribution of the dwell times (s) of one mode."""

    count: int
    mean: float
    std: float
    median: float
    min: float
    max: float
    total: float


@dataclass(frozen=True)
class Timeline:
    """Locking modes over time of a master/slave pair.

    Attributes
    ----------
    windows : tuple of Window
        All analysis windows in time order.
    episodes : tuple of Episode
        Merged runs of equal mode; they tile ``[t_start, t_stop]``.
    switches : tuple of Switch
        Mode changes between consecutive episodes.
    t_start, t_stop : float
        Analysed record (s).
    window, step : float
        Window length and step (s).
    overall_ratio : float
        ``f_master / f_slave`` over the whole record.
    overall : LockResult
        Locking test over the whole record.
    """

    windows: tuple[Window, ...]
    episodes: tuple[Episode, ...]
    switches: tuple[Switch, ...]
    t_start: float
    t_stop: float
    window: float
    step: float
    overall_ratio: float
    overall: LockResult

    @property
    def duration(self) -> float:
        """Length of the analysed record (s)."""
        return self.t_stop - self.t_start

    @property
    def modes(self) -> tuple[str, ...]:
        """Distinct modes in order of first appearance."""
        return tuple(dict.fromkeys(e.mode for e in self.episodes))

    def time_in(self, mode: str) -> float:
        """Total time (s) spent in ``mode``."""
        return float(sum(e.duration for e in self.episodes if e.mode == mode))

    def fraction(self, mode: str) -> float:
        """Fraction of the record spent in ``mode`` (0..1)."""
        return self.time_in(mode) / self.duration if self.duration > 0 else math.nan

    @property
    def locked_fraction(self) -> float:
        """Fraction of the record spent in any n:m locked mode (0..1)."""
        if self.duration <= 0:
            return math.nan
        return float(sum(e.duration for e in self.episodes if e.locked)) / self.duration

    def dwell_times(
        self, mode: str, *, complete_only: bool = False, bridged: bool = False
    ) -> list[float]:
        """Dwell times (s) of the episodes of ``mode``.

        ``complete_only`` drops the censored episodes at the ends of the
        record; ``bridged`` uses :meth:`bridged_episodes` (short non-locked
        gaps between locked modes split between them), which removes the
        about one-window underestimate of locked dwell times.
        """
        eps = self.bridged_episodes() if bridged else self.episodes
        return [e.duration for e in eps if e.mode == mode and not (complete_only and e.censored)]

    @property
    def dwell(self) -> dict[str, list[float]]:
        """Dwell times (s) per mode, censored episodes included."""
        return {mode: self.dwell_times(mode) for mode in self.modes}

    def dwell_stats(
        self, mode: str, *, complete_only: bool = False, bridged: bool = False
    ) -> DwellStats:
        """Count, mean, std, median, min, max and total of the dwell times (s) of ``mode``."""
        d = np.asarray(
            self.dwell_times(mode, complete_only=complete_only, bridged=bridged), dtype=np.float64
        )
        if d.size == 0:
            nan = math.nan
            return DwellStats(0, nan, nan, nan, nan, nan, 0.0)
        return DwellStats(
            count=int(d.size),
            mean=float(np.mean(d)),
            std=float(np.std(d)),
            median=float(np.median(d)),
            min=float(np.min(d)),
            max=float(np.max(d)),
            total=float(np.sum(d)),
        )

    def dwell_histogram(
        self,
        mode: str,
        bins: int | ArrayLike = 10,
        *,
        complete_only: bool = False,
        bridged: bool = False,
    ) -> tuple[FloatArray, FloatArray]:
        """Histogram ``(counts, edges)`` of the dwell times (s) of ``mode``."""
        d = np.asarray(
            self.dwell_times(mode, complete_only=complete_only, bridged=bridged), dtype=np.float64
        )
        counts, edges = np.histogram(d, bins=bins)
        return counts.astype(np.float64), edges.astype(np.float64)

    def bridged_episodes(self, max_gap: float | None = None) -> tuple[Episode, ...]:
        """Episodes with short non-locked gaps between locked episodes removed.

        A window that straddles a switch (e.g. 1:1 -> 2:1) is usually neither
        mode, so the raw episodes read ``1:1 -> unlocked -> 2:1`` and each
        locked dwell time loses about half a window at each end. Here a run
        of non-locked episodes lasting at most ``max_gap`` (s, default one
        window length) between two locked episodes is split at its middle
        between them (or absorbed when both sides have the same mode). Gaps
        at the ends of the record, or longer ones, are kept.
        """
        gap_limit = (self.window if max_gap is None else max_gap) + 1e-12
        eps = list(self.episodes)
        out: list[Episode] = []
        i = 0
        while i < len(eps):
            e = eps[i]
            if e.locked or not out or not out[-1].locked:
                out.append(e)
                i += 1
                continue
            # e starts a non-locked run after a locked episode: find its end.
            j = i
            while j < len(eps) and not eps[j].locked:
                j += 1
            gap_start, gap_end = e.t_start, eps[j - 1].t_end
            if j == len(eps) or gap_end - gap_start > gap_limit:
                out.extend(eps[i:j])
                i = j
                continue
            left, right = out[-1], eps[j]
            mid = 0.5 * (gap_start + gap_end)
            if right.mode == left.mode:
                out[-1] = _merge(left, right, right.t_end, censored=left.censored or right.censored)
            else:
                out[-1] = _stretch(left, left.t_start, mid)
                out.append(_stretch(right, mid, right.t_end))
            i = j + 1
        return tuple(out)

    def locked_switches(self, max_gap: float | None = None) -> tuple[Switch, ...]:
        """Switches between locked modes after bridging short gaps (see :meth:`bridged_episodes`).

        Each switch is dated at the middle of the non-locked gap between the
        two modes (or at their common boundary).
        """
        eps = self.bridged_episodes(max_gap)
        return tuple(
            Switch(e2.t_start, e1.mode, e2.mode)
            for e1, e2 in zip(eps[:-1], eps[1:], strict=True)
            if e1.locked and e2.locked and e1.mode != e2.mode
        )

    def mode_at(self, t: float) -> str:
        """Mode of the episode covering time ``t`` (s); ``"silent"`` outside the record."""
        for e in self.episodes:
            if e.t_start <= t < e.t_end or (t == e.t_end == self.t_stop):
                return e.mode
        return SILENT


def _stretch(e: Episode, t_start: float, t_end: float) -> Episode:
    return Episode(e.mode, t_start, t_end, e.n_windows, e.censored, e.mean_ratio,
                   e.mean_sync_index, e.margin_v, e.marginal)


def _merge(a: Episode, b: Episode, t_end: float, *, censored: bool) -> Episode:
    n = a.n_windows + b.n_windows
    return Episode(
        a.mode,
        a.t_start,
        t_end,
        n,
        censored,
        (a.mean_ratio * a.n_windows + b.mean_ratio * b.n_windows) / n,
        (a.mean_sync_index * a.n_windows + b.mean_sync_index * b.n_windows) / n,
        float(np.nanmin([a.margin_v, b.margin_v, math.inf])),
        a.marginal or b.marginal,
    )


def _as_train(x: ArrayLike | SpikeTrain) -> tuple[FloatArray, float | None, float | None]:
    if isinstance(x, SpikeTrain):
        return x.times, x.t_start, x.t_stop
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        raise ValueError("spike times must be strictly increasing")
    return arr, None, None


def _classify_window(
    a: FloatArray,
    b: FloatArray,
    w0: float,
    w1: float,
    *,
    tol: float,
    max_den: int,
    min_index: float,
    max_drift: float,
    lv_threshold: float,
) -> tuple[str, LockResult | None, float, float, int, int]:
    in_a = int(np.sum((a >= w0) & (a < w1)))
    sb = b[(b >= w0) & (b < w1)]
    isi = np.diff(sb)
    lv = local_variation(isi)
    cv = float(np.std(isi) / np.mean(isi)) if isi.size >= 2 else math.nan
    width = w1 - w0
    common0 = max(w0, float(a[0]) if a.size else math.inf, float(b[0]) if b.size else math.inf)
    common1 = min(w1, float(a[-1]) if a.size else -math.inf, float(b[-1]) if b.size else -math.inf)
    if in_a == 0 or sb.size == 0 or a.size < 2 or b.size < 2 or common1 - common0 < 0.5 * width:
        return SILENT, None, lv, cv, in_a, int(sb.size)
    res = classify_locking(
        a, b, t0=w0, t1=w1, tol=tol, max_den=max_den, min_index=min_index, max_drift=max_drift
    )
    if res.locked:
        mode = res.mode
    elif math.isfinite(lv) and lv > lv_threshold:
        mode = IRREGULAR
    else:
        mode = UNLOCKED
    return mode, res, lv, cv, in_a, int(sb.size)


def locking_timeline(
    master: ArrayLike | SpikeTrain,
    slave: ArrayLike | SpikeTrain,
    *,
    window: float | None = None,
    step: float | None = None,
    window_spikes: int | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    tol: float = DEFAULT_RATIO_TOL,
    max_den: int = DEFAULT_MAX_DEN,
    min_index: float = DEFAULT_MIN_INDEX,
    max_drift: float = DEFAULT_MAX_DRIFT,
    lv_threshold: float = DEFAULT_LV_THRESHOLD,
    responses: Responses | None = None,
    shifted: Sequence[tuple[str, float, Responses]] = (),
) -> Timeline:
    """Classify sliding windows of two spike trains into locking modes.

    Parameters
    ----------
    master, slave : array_like or SpikeTrain
        Spike times (s) of the driving (master) and driven (slave) neuron.
    window : float, optional
        Window length (s). Default 0.5 s, or ``window_spikes`` master periods.
    step : float, optional
        Window step (s). Default 0.25 s, or half the window with ``window_spikes``.
    window_spikes : int, optional
        Size the window as this many mean master inter-spike intervals
        (ignored when ``window`` is given).
    t_start, t_stop : float, optional
        Record to analyse (s). Default: the observation window of the
        SpikeTrains if given, else the master's first to last spike.
    tol, max_den : optional
        Ratio tolerance and largest n, m of the modes (see :func:`best_ratio`).
    min_index, max_drift : optional
        Locking criteria (see :func:`phase_locking`): index >= 0.8, drift <= pi rad.
    lv_threshold : float, optional
        Slave-ISI local variation above which an unlocked window is
        ``"irregular"``. Default 0.25.
    responses : Responses, optional
        The slave's responses at its own thresholds: each window is then named in the mode
        words of :mod:`~neurospice.analysis.modes` (``"1:1 period 2"``, ``"1:1 partial"``, ...)
        from the slave's response per master cycle (``master`` must be a SpikeTrain).
    shifted : sequence of (str, float, Responses), optional
        The responses with each threshold moved by max(50 mV, 5 %)
        (:func:`~neurospice.analysis.modes.shifted_responses`): a window whose mode changes
        with any of them is ``marginal``.

    Returns
    -------
    Timeline
        Windows, episodes, switches, dwell times and locked fraction.
    """
    a, a0, a1 = _as_train(master)
    b, b0, b1 = _as_train(slave)
    lo = t_start
    hi = t_stop
    if lo is None:
        starts = [x for x in (a0, b0) if x is not None]
        lo = max(starts) if starts else (float(a[0]) if a.size else math.nan)
    if hi is None:
        stops = [x for x in (a1, b1) if x is not None]
        hi = min(stops) if stops else (float(a[-1]) if a.size else math.nan)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"empty record: t_start={lo}, t_stop={hi} (does the master spike?)")
    if window is None:
        if window_spikes is not None:
            if a.size < 2:
                raise ValueError("window_spikes needs at least two master spikes")
            window = float(window_spikes * np.mean(np.diff(a)))
            step = 0.5 * window if step is None else step
        else:
            window = DEFAULT_WINDOW
    if step is None:
        step = DEFAULT_STEP if window == DEFAULT_WINDOW else 0.5 * window
    if window <= 0 or step <= 0:
        raise ValueError(f"window and step must be positive, got {window}, {step}")

    span = hi - lo
    win = min(window, span)
    n_win = max(1, int(math.floor((span - win) / step + 1e-9)) + 1)
    # Centre the grid of windows on the record.
    first = lo + 0.5 * (span - win - (n_win - 1) * step)
    windows: list[Window] = []
    cycles = None
    shifted_cycles: list[tuple[Responses, CycleTable]] = []
    if responses is not None:
        mtrain = master if isinstance(master, SpikeTrain) else SpikeTrain(a, a)
        cycles = cycle_table(mtrain, responses)
        shifted_cycles = [(r2, cycle_table(mtrain, r2)) for _, _, r2 in shifted if shifted]
    for k in range(n_win):
        w0 = first + k * step
        w1 = w0 + win
        c = 0.5 * (w0 + w1)
        own0 = lo if k == 0 else c - 0.5 * step
        own1 = hi if k == n_win - 1 else c + 0.5 * step
        mode, res, lv, cv, na, nb = _classify_window(
            a,
            b,
            w0,
            w1,
            tol=tol,
            max_den=max_den,
            min_index=min_index,
            max_drift=max_drift,
            lv_threshold=lv_threshold,
        )
        nan = math.nan
        margin_v, marginal, partial = nan, False, 0
        if responses is not None and cycles is not None:
            mtrain = master if isinstance(master, SpikeTrain) else SpikeTrain(a, a)
            kw = dict(t0=w0, t1=w1, tol=tol, max_den=max_den, min_index=min_index,
                      max_drift=max_drift)
            memo: dict[tuple[bytes, float, float], LockResult] = {}
            vd = classify_cycles(mtrain, responses, cycles=cycles, memo=memo,
                                 **kw)  # type: ignore[arg-type]
            res = vd.lock
            mode = vd.mode
            if mode == "unlocked" and math.isfinite(lv) and lv > lv_threshold:
                mode = IRREGULAR
            margin_v, partial = vd.margin_v, vd.partial
            tol0 = shape_tolerance(responses.thresholds)
            variants: list[tuple[Responses, CycleTable, float | None]] = [
                (r2, cy2, None) for r2, cy2 in shifted_cycles
            ] + [(responses, cycles, tol0 + dv) for dv in shape_shifts(tol0)]
            for r2, cy2, stol in variants:
                v2 = classify_cycles(mtrain, r2, cycles=cy2, shape_tol=stol, memo=memo,
                                     **kw)  # type: ignore[arg-type]
                m2 = v2.mode
                if m2 == "unlocked" and math.isfinite(lv) and lv > lv_threshold:
                    m2 = IRREGULAR
                if m2 != mode:
                    marginal = True
                    break
        windows.append(
            Window(
                t0=w0,
                t1=w1,
                own0=own0,
                own1=own1,
                mode=mode,
                ratio=res.ratio if res else nan,
                n=res.n if res else 0,
                m=res.m if res else 0,
                sync_index=res.sync_index if res else nan,
                drift=res.drift if res else nan,
                slave_lv=lv,
                slave_cv=cv,
                master_spikes=na,
                slave_spikes=nb,
                margin_v=margin_v,
                marginal=marginal,
                partial=partial,
            )
        )

    episodes: list[Episode] = []
    run: list[Window] = []

    def close(run: list[Window], last: bool) -> None:
        ratios = [w.ratio for w in run if math.isfinite(w.ratio)]
        idx = [w.sync_index for w in run if math.isfinite(w.sync_index)]
        margins = [w.margin_v for w in run if math.isfinite(w.margin_v)]
        episodes.append(
            Episode(
                mode=run[0].mode,
                t_start=run[0].own0,
                t_end=run[-1].own1,
                n_windows=len(run),
                censored=(not episodes) or last,
                mean_ratio=float(np.mean(ratios)) if ratios else math.nan,
                mean_sync_index=float(np.mean(idx)) if idx else math.nan,
                margin_v=float(min(margins)) if margins else math.nan,
                marginal=any(w.marginal for w in run),
            )
        )

    for w in windows:
        if run and w.mode != run[-1].mode:
            close(run, last=False)
            run = []
        run.append(w)
    close(run, last=True)

    switches = tuple(
        Switch(time=e2.t_start, from_mode=e1.mode, to_mode=e2.mode)
        for e1, e2 in zip(episodes[:-1], episodes[1:], strict=True)
    )
    sel_a = a[(a >= lo) & (a <= hi)]
    sel_b = b[(b >= lo) & (b <= hi)]
    overall = classify_locking(
        a,
        b,
        t0=lo,
        t1=hi,
        tol=tol,
        max_den=max_den,
        min_index=min_index,
        max_drift=max_drift,
    )
    return Timeline(
        windows=tuple(windows),
        episodes=tuple(episodes),
        switches=switches,
        t_start=float(lo),
        t_stop=float(hi),
        window=float(win),
        step=float(step),
        overall_ratio=frequency_ratio(sel_a, sel_b),
        overall=overall,
    )
