"""The locking timeline of :mod:`neurospice.analysis.timeline`, with its two hot primitives
compiled (numba): the n:m phase-locking test and the cycles' shape distance.

A 20 s board point has ~77 windows, each judged at the slave's levels and at eight moved ones
(the margin test): ~700 cycle classifications and ~470 phase-locking tests on arrays of a few
dozen spikes, where numpy's per-call overhead is the cost (0.2 s of a point's 0.3 s). This
module runs the same steps in the same order (:func:`locking_timeline` mirrors
:func:`neurospice.analysis.timeline.locking_timeline`, :func:`classify_cycles` mirrors
:func:`neurospice.analysis.modes.classify_cycles`, :func:`classify_locking` mirrors
:func:`neurospice.analysis.locking.classify_locking`) with :func:`_phase_locking` and
:func:`_shape_distance` compiled. The results agree to rounding (the synchronization index is a
plain sum instead of numpy's pairwise one, the drift a closed-form least-squares slope instead of
``polyfit``); ``tests/test_model_online.py`` checks the timelines equal the offline ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba as nb
import numpy as np
from numpy.typing import NDArray

from neurospice.analysis.locking import (
    DEFAULT_MAX_DEN,
    DEFAULT_MAX_DRIFT,
    DEFAULT_MIN_INDEX,
    DEFAULT_RATIO_TOL,
    LockResult,
    _nearest_fraction,
    best_ratio,
    frequency_ratio,
)
from neurospice.analysis.modes import (
    CODE_NONE,
    MAX_PERIOD,
    SILENT,
    SUBTHRESHOLD,
    UNLOCKED,
    CycleTable,
    Judgement,
    Verdict,
    _margin,
    cycle_table,
    shape_shifts,
    shape_tolerance,
)
from neurospice.analysis.spikes import Responses, SpikeTrain
from neurospice.analysis.timeline import (
    DEFAULT_LV_THRESHOLD,
    DEFAULT_STEP,
    DEFAULT_WINDOW,
    IRREGULAR,
    Episode,
    Switch,
    Timeline,
    Window,
    local_variation,
)

__all__ = ["classify_cycles", "classify_locking", "judge", "locking_timeline"]

FloatArray = NDArray[np.float64]
_TWO_PI = 2.0 * math.pi


@nb.njit(cache=True)
def _interp(x: float, xp: FloatArray) -> float:
    """``np.interp(x, xp, 2 pi arange(len(xp)))`` for ``xp[0] <= x <= xp[-1]`` (NaN outside)."""
    n = xp.shape[0]
    if not (xp[0] <= x <= xp[n - 1]):
        return math.nan
    if x == xp[n - 1]:
        return _TWO_PI * (n - 1)
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    slope = (_TWO_PI * (lo + 1) - _TWO_PI * lo) / (xp[lo + 1] - xp[lo])
    return slope * (x - xp[lo]) + _TWO_PI * lo


@nb.njit(cache=True, inline="always")
def _interp_walk(x: float, xp: FloatArray, lo: int) -> tuple[float, int]:
    """:func:`_interp` for an ``x`` not below the previous call's, starting the search at that
    call's segment ``lo`` (a walk instead of a bisection: the same segment, the same value);
    returns the value and the segment."""
    n = xp.shape[0]
    if not (xp[0] <= x <= xp[n - 1]):
        return math.nan, lo
    if x == xp[n - 1]:
        return _TWO_PI * (n - 1), lo
    while lo + 1 < n - 1 and xp[lo + 1] <= x:
        lo += 1
    slope = (_TWO_PI * (lo + 1) - _TWO_PI * lo) / (xp[lo + 1] - xp[lo])
    return slope * (x - xp[lo]) + _TWO_PI * lo, lo


@nb.njit(cache=True)
def _phase_locking(a: FloatArray, b: FloatArray, n: int, m: int, t0: float, t1: float,
                   min_index: float, max_drift: float) -> tuple[float, float, float, float,
                                                                float, int, float, float, bool]:
    """:func:`neurospice.analysis.locking.phase_locking` with both bounds given: (ratio, index,
    mean phase, drift, spread, slips, lo, hi, locked); NaN figures when undefined."""
    nan = math.nan
    lo, hi = t0, t1
    if a.shape[0] >= 2 and b.shape[0] >= 2:
        lo = max(lo, a[0], b[0])
        hi = min(hi, a[a.shape[0] - 1], b[b.shape[0] - 1])
    if a.shape[0] < 2 or b.shape[0] < 2 or not hi > lo:
        return nan, nan, nan, nan, nan, 0, t0, t1, False
    ns = 0
    for x in a:
        if lo <= x <= hi:
            ns += 1
    for x in b:
        if lo <= x <= hi:
            ns += 1
    k = max(64, 16 * (ns + 2))
    step = (hi - lo) / (k - 1)
    sc = 0.0
    ss = 0.0
    sx = 0.0
    sy = 0.0
    pmax = -math.inf
    pmin = math.inf
    psi = np.empty(k)
    xs = np.empty(k)
    seg_a = 0
    seg_b = 0
    for i in range(k):
        g = i * step + lo if i < k - 1 else hi
        pa, seg_a = _interp_walk(g, a, seg_a)
        pb, seg_b = _interp_walk(g, b, seg_b)
        p = m * pa - n * pb
        psi[i] = p
        xs[i] = g - lo
        sc += math.cos(p)
        ss += math.sin(p)
        sx += xs[i]
        sy += p
        pmax = max(pmax, p)
        pmin = min(pmin, p)
    zr = sc / k
    zi = ss / k
    index = min(1.0, math.sqrt(zr * zr + zi * zi))
    mean_phase = math.atan2(zi, zr)
    mx = sx / k
    my = sy / k
    sxy = 0.0
    sxx = 0.0
    for i in range(k):
        dx = xs[i] - mx
        sxy += dx * (psi[i] - my)
        sxx += dx * dx
    drift = sxy / sxx * (hi - lo)
    spread = pmax - pmin
    slips = int(round(abs(psi[k - 1] - psi[0]) / _TWO_PI))
    dm = _interp(hi, a) - _interp(lo, a)
    ds = _interp(hi, b) - _interp(lo, b)
    ratio = nan
    if math.isfinite(dm) and math.isfinite(ds) and ds > 0.0:
        ratio = dm / ds
    locked = index >= min_index and abs(drift) <= max_drift
    return ratio, index, mean_phase, drift, spread, slips, lo, hi, locked


def _lock(a: FloatArray, b: FloatArray, n: int, m: int, t0: float, t1: float,
          min_index: float, max_drift: float) -> LockResult:
    r = _phase_locking(a, b, n, m, t0, t1, min_index, max_drift)
    return LockResult(n, m, float(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]),
                      int(r[5]), float(r[6]), float(r[7]), bool(r[8]))


def classify_locking(a: FloatArray, b: FloatArray, t0: float, t1: float, *,
                     tol: float = DEFAULT_RATIO_TOL, max_den: int = DEFAULT_MAX_DEN,
                     min_index: float = DEFAULT_MIN_INDEX,
                     max_drift: float = DEFAULT_MAX_DRIFT) -> LockResult:
    """:func:`neurospice.analysis.locking.classify_locking` over ``[t0, t1]``."""
    probe = _lock(a, b, 1, 1, t0, t1, min_index, max_drift)
    if not math.isfinite(probe.ratio):
        return probe
    frac = best_ratio(probe.ratio, tol, max_den) or _nearest_fraction(probe.ratio, max_den)
    if frac is None:
        return probe
    return _lock(a, b, frac[0], frac[1], t0, t1, min_index, max_drift)


@nb.njit(cache=True)
def _shape_distance(code: NDArray[np.int64], peak: FloatArray, trough: FloatArray,
                    lag: int) -> float:
    """:func:`neurospice.analysis.modes._shape_distance` on a selected cycle table."""
    n = code.shape[0]
    if n <= lag:
        return math.inf
    d = np.empty(n - lag)
    for i in range(n - lag):
        if code[i] != code[i + lag]:
            d[i] = math.inf
            continue
        p0 = 0.0 if math.isnan(peak[i]) else peak[i]
        p1 = 0.0 if math.isnan(peak[i + lag]) else peak[i + lag]
        q0 = 0.0 if math.isnan(trough[i]) else trough[i]
        q1 = 0.0 if math.isnan(trough[i + lag]) else trough[i + lag]
        d[i] = max(abs(p0 - p1), abs(q0 - q1))
    return float(np.median(d))


def classify_cycles(master: SpikeTrain, responses: Responses, *, t0: float, t1: float,
                    cycles: CycleTable, tol: float = DEFAULT_RATIO_TOL,
                    max_den: int = DEFAULT_MAX_DEN, min_index: float = DEFAULT_MIN_INDEX,
                    max_drift: float = DEFAULT_MAX_DRIFT, shape_tol: float | None = None,
                    memo: dict[tuple[bytes, float, float], LockResult] | None = None
                    ) -> Verdict:
    """:func:`neurospice.analysis.modes.classify_cycles` of the cycles in ``[t0, t1)``
    (``memo`` keyed by the train's identity: the moved levels mostly keep the same arrays)."""
    lo, hi = t0, t1
    cy = cycles.select(lo, hi)
    th = responses.thresholds
    margin, feature, level = _margin(cy, th)
    n_cyc = len(cy)
    spikes = int(np.sum(cy.n_spikes))
    partial = int(np.sum(cy.n_responses - cy.n_spikes))
    sub = int(np.sum(cy.code == CODE_NONE))
    common = dict(cycles=n_cyc, spikes=spikes, partial=partial, subthreshold=sub,
                  margin_v=margin, feature=feature, threshold_v=level)
    if n_cyc < 2:
        return Verdict(SILENT, **common)  # type: ignore[arg-type]
    if spikes + partial == 0:
        return Verdict(SUBTHRESHOLD, **common)  # type: ignore[arg-type]
    use_partial = spikes < 2
    times = responses.times if use_partial else responses.times[responses.is_spike]
    key = (times.tobytes(), float(lo), float(hi))
    res = memo.get(key) if memo is not None else None
    if res is None:
        res = classify_locking(master.times, times, lo, hi, tol=tol, max_den=max_den,
                               min_index=min_index, max_drift=max_drift)
        if memo is not None:
            memo[key] = res
    if not res.locked:
        return Verdict(UNLOCKED, res.n, res.m, 1, ratio=res.ratio, sync_index=res.sync_index,
                       lock=res, **common)  # type: ignore[arg-type]
    word = f"{res.n}:{res.m}"
    if use_partial:
        word += " partial"
    elif partial > 0:
        word += " + partial"
    tol_v = shape_tolerance(th) if shape_tol is None else shape_tol
    period = 1
    d1 = _shape_distance(cy.code, cy.peak, cy.trough, res.n)
    decisive = d1
    if d1 > tol_v:
        for j in range(2, MAX_PERIOD + 1):
            dj = _shape_distance(cy.code, cy.peak, cy.trough, j * res.n)
            if dj <= tol_v:
                period = j
                decisive = dj if abs(dj - tol_v) < abs(d1 - tol_v) else d1
                break
    if period > 1:
        word += f" period {period}"
    if math.isfinite(decisive) and not abs(decisive - tol_v) >= margin:
        common.update(margin_v=abs(decisive - tol_v), feature="shape change vs shape_tol",
                      threshold_v=tol_v)
    return Verdict(word, res.n, res.m, period, ratio=res.ratio, sync_index=res.sync_index,
                   lock=res, **common)  # type: ignore[arg-type]


def _window_trains(a: FloatArray, b: FloatArray, w0: float, w1: float
                   ) -> tuple[float, float, int, int]:
    """The slave's LV and CV in a window and both trains' spike counts (the figures of the
    offline ``_classify_window`` that a window judged from the slave's responses keeps: its
    mode and lock come from the cycle classification)."""
    in_a = int(np.sum((a >= w0) & (a < w1)))
    sb = b[(b >= w0) & (b < w1)]
    isi = np.diff(sb)
    lv = local_variation(isi)
    cv = float(np.std(isi) / np.mean(isi)) if isi.size >= 2 else math.nan
    return lv, cv, in_a, int(sb.size)


def locking_timeline(master: SpikeTrain, slave: SpikeTrain, *, responses: Responses,
                     shifted: Sequence[tuple[str, float, Responses]] = (),
                     window: float | None = None, tol: float = DEFAULT_RATIO_TOL,
                     max_den: int = DEFAULT_MAX_DEN, min_index: float = DEFAULT_MIN_INDEX,
                     max_drift: float = DEFAULT_MAX_DRIFT,
                     lv_threshold: float = DEFAULT_LV_THRESHOLD) -> Timeline:
    """:func:`neurospice.analysis.timeline.locking_timeline` of two SpikeTrains with the
    slave's responses (the way :func:`~neurospice.report.locking.analyse_run` calls it)."""
    a, b = master.times, slave.times
    lo = max(master.t_start, slave.t_start)
    hi = min(master.t_stop, slave.t_stop)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"empty record: t_start={lo}, t_stop={hi} (does the master spike?)")
    if window is None:
        window = DEFAULT_WINDOW
    step = DEFAULT_STEP if window == DEFAULT_WINDOW else 0.5 * window
    span = hi - lo
    win = min(window, span)
    n_win = max(1, int(math.floor((span - win) / step + 1e-9)) + 1)
    first = lo + 0.5 * (span - win - (n_win - 1) * step)
    cycles = cycle_table(master, responses)
    shifted_cycles = [(r2, cycle_table(master, r2)) for _, _, r2 in shifted]
    tol0 = shape_tolerance(responses.thresholds)
    windows: list[Window] = []
    nan = math.nan
    for k in range(n_win):
        w0 = first + k * step
        w1 = w0 + win
        c = 0.5 * (w0 + w1)
        own0 = lo if k == 0 else c - 0.5 * step
        own1 = hi if k == n_win - 1 else c + 0.5 * step
        lv, cv, na, nb_ = _window_trains(a, b, w0, w1)
        memo: dict[tuple[bytes, float, float], LockResult] = {}
        kw = dict(t0=w0, t1=w1, tol=tol, max_den=max_den, min_index=min_index,
                  max_drift=max_drift)
        vd = classify_cycles(master, responses, cycles=cycles, memo=memo,
                             **kw)  # type: ignore[arg-type]
        res = vd.lock
        mode = vd.mode
        if mode == "unlocked" and math.isfinite(lv) and lv > lv_threshold:
            mode = IRREGULAR
        margin_v, partial, marginal = vd.margin_v, vd.partial, False
        variants: list[tuple[Responses, CycleTable, float | None]] = [
            (r2, cy2, None) for r2, cy2 in shifted_cycles
        ] + [(responses, cycles, tol0 + dv) for dv in shape_shifts(tol0)]
        for r2, cy2, stol in variants:
            v2 = classify_cycles(master, r2, cycles=cy2, shape_tol=stol, memo=memo,
                                 **kw)  # type: ignore[arg-type]
            m2 = v2.mode
            if m2 == "unlocked" and math.isfinite(lv) and lv > lv_threshold:
                m2 = IRREGULAR
            if m2 != mode:
                marginal = True
                break
        windows.append(Window(
            t0=w0, t1=w1, own0=own0, own1=own1, mode=mode,
            ratio=res.ratio if res else nan, n=res.n if res else 0, m=res.m if res else 0,
            sync_index=res.sync_index if res else nan, drift=res.drift if res else nan,
            slave_lv=lv, slave_cv=cv, master_spikes=na, slave_spikes=nb_, margin_v=margin_v,
            marginal=marginal, partial=partial))
    episodes: list[Episode] = []
    run: list[Window] = []

    def close(run: list[Window], last: bool) -> None:
        ratios = [w.ratio for w in run if math.isfinite(w.ratio)]
        idx = [w.sync_index for w in run if math.isfinite(w.sync_index)]
        margins = [w.margin_v for w in run if math.isfinite(w.margin_v)]
        episodes.append(Episode(
            mode=run[0].mode, t_start=run[0].own0, t_end=run[-1].own1, n_windows=len(run),
            censored=(not episodes) or last,
            mean_ratio=float(np.mean(ratios)) if ratios else math.nan,
            mean_sync_index=float(np.mean(idx)) if idx else math.nan,
            margin_v=float(min(margins)) if margins else math.nan,
            marginal=any(w.marginal for w in run)))

    for w in windows:
        if run and w.mode != run[-1].mode:
            close(run, last=False)
            run = []
        run.append(w)
    close(run, last=True)
    switches = tuple(Switch(time=e2.t_start, from_mode=e1.mode, to_mode=e2.mode)
                     for e1, e2 in zip(episodes[:-1], episodes[1:], strict=True))
    sel_a = a[(a >= lo) & (a <= hi)]
    sel_b = b[(b >= lo) & (b <= hi)]
    overall = classify_locking(a, b, lo, hi, tol=tol, max_den=max_den, min_index=min_index,
                               max_drift=max_drift)
    return Timeline(windows=tuple(windows), episodes=tuple(episodes), switches=switches,
                    t_start=float(lo), t_stop=float(hi), window=float(win), step=float(step),
                    overall_ratio=frequency_ratio(sel_a, sel_b), overall=overall)


def judge(master: SpikeTrain, base: Responses,
          shifted: Sequence[tuple[str, float, Responses]]) -> Judgement:
    """:func:`neurospice.analysis.modes.judge` over the master's record with the slave's
    responses and their moved-level variants given."""
    lo, hi = master.t_start, master.t_stop
    memo: dict[tuple[bytes, float, float], LockResult] = {}
    cy = cycle_table(master, base)
    verdict = classify_cycles(master, base, t0=lo, t1=hi, cycles=cy, memo=memo)
    flips = []
    for name, dv, r2 in shifted:
        v2 = classify_cycles(master, r2, t0=lo, t1=hi, cycles=cycle_table(master, r2),
                             memo=memo)
        if v2.mode != verdict.mode:
            flips.append((name, dv, v2.mode))
    tol = shape_tolerance(base.thresholds)
    for dv in shape_shifts(tol):
        v2 = classify_cycles(master, base, t0=lo, t1=hi, cycles=cy, shape_tol=tol + dv,
                             memo=memo)
        if v2.mode != verdict.mode:
            flips.append(("shape_tol", dv, v2.mode))
    return Judgement(verdict, bool(flips), tuple(flips))
