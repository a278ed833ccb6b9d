"""Spike detection and spike statistics for FitzHugh-Nagumo waveforms.

The FHN circuit produces an asymmetric relaxation waveform (about -5 V at the
trough, +4 V at the peak, 10-150 Hz, spike width 10-25 ms); the normalised
model gives the same shape with an amplitude of about 2 (u from about -2 to
+2).  A bare level crossing is fragile on such traces (noise chatters around
the level, the level depends on the supply).  Spikes are therefore found with
a Schmitt trigger whose two thresholds are fractions of the signal's robust
range:

* a spike starts when ``v`` rises above the *upper* threshold
  (default 65 % of the range above its bottom),
* it ends when ``v`` falls back below the *lower* threshold (default 35 %),
* the spike time is the time of the maximum inside that excursion, refined by
  a least-squares parabola through the samples around the maximum.

A trace whose robust range is below ``min_amplitude`` or below ten times the
sample-to-sample noise level is declared non-spiking (zero spikes): a resting
neuron, a constant, or small noise gives an empty :class:`SpikeTrain`.

All functions are pure: arrays in, frozen dataclasses out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_HYSTERESIS",
    "DEFAULT_MIN_AMPLITUDE",
    "NOISE_FACTOR",
    "SpikeStats",
    "SpikeTrain",
    "detect_spikes",
    "half_widths",
    "robust_range",
    "spike_stats",
]

FloatArray = NDArray[np.float64]

#: Lower and upper Schmitt-trigger thresholds as fractions of the robust range.
DEFAULT_HYSTERESIS: tuple[float, float] = (0.35, 0.65)
#: Smallest robust range (signal units: V, or normalised u) that can hold spikes.
#: Circuit spikes span about 9 V, normalised-model spikes about 4.
DEFAULT_MIN_AMPLITUDE: float = 0.5
#: The robust range must exceed this many noise standard deviations.
NOISE_FACTOR: float = 10.0
#: Width (samples) of the median filter used to estimate the robust range.
_MEDIAN_SIZE: int = 5
#: Second differences used for the noise estimate (at most; evenly spread over the record).
_NOISE_SAMPLES: int = 20_000


def _empty() -> FloatArray:
    return np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class SpikeTrain:
    """Spikes found in one waveform.

    Attributes
    ----------
    times : ndarray of float
        Spike times (s), the time of each peak, strictly increasing.
    peaks : ndarray of float
        Peak values (signal units, usually V), one per spike.
    t_start, t_stop : float
        Observation window (s) the spikes were searched in (after ``t_skip``).
        Needed to tell "no spike in a window" from "window not observed".
    """

    times: FloatArray = field(default_factory=_empty)
    peaks: FloatArray = field(default_factory=_empty)
    t_start: float = 0.0
    t_stop: float = 0.0

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        peaks = np.asarray(self.peaks, dtype=np.float64).reshape(-1)
        if times.shape != peaks.shape:
            raise ValueError(f"times and peaks differ in length ({times.size} vs {peaks.size})")
        if times.size > 1 and np.any(np.diff(times) <= 0):
            raise ValueError("spike times must be strictly increasing")
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "peaks", peaks)

    def __len__(self) -> int:
        return int(self.times.size)

    @property
    def count(self) -> int:
        """Number of spikes."""
        return int(self.times.size)

    @property
    def duration(self) -> float:
        """Length of the observation window (s)."""
        return float(self.t_stop - self.t_start)

    @property
    def isi(self) -> FloatArray:
        """Inter-spike intervals (s); length ``count - 1``."""
        return np.diff(self.times)

    @property
    def frequency_hz(self) -> float:
        """Firing frequency (Hz) = 1 / mean inter-spike interval; NaN if < 2 spikes."""
        if self.times.size < 2:
            return math.nan
        return float((self.times.size - 1) / (self.times[-1] - self.times[0]))

    @property
    def isi_cv(self) -> float:
        """Coefficient of variation of the inter-spike intervals; NaN if < 3 spikes."""
        isi = self.isi
        if isi.size < 2:
            return math.nan
        return float(np.std(isi) / np.mean(isi))

    def between(self, t0: float, t1: float) -> SpikeTrain:
        """Spikes with ``t0 <= time < t1`` (s), observation window ``[t0, t1)``."""
        sel = (self.times >= t0) & (self.times < t1)
        return SpikeTrain(self.times[sel], self.peaks[sel], float(t0), float(t1))

    def after(self, t0: float) -> SpikeTrain:
        """Spikes at or after ``t0`` (s)."""
        return self.between(t0, max(self.t_stop, t0))


@dataclass(frozen=True)
class SpikeStats:
    """Summary of a spiking waveform.

    Attributes
    ----------
    count : int
        Number of spikes found.
    frequency_hz : float
        1 / mean inter-spike interval (Hz); NaN with fewer than two spikes.
    width_s : float
        Mean full width at half height (s); half height lies halfway between
        the peak and its local base (the higher of the two troughs that
        flank the spike, as in ``scipy.signal.peak_widths``). NaN without spikes.
    vmin, vmax : float
        Minimum and maximum of the analysed waveform (signal units, usually V).
    amplitude : float
        ``vmax - vmin`` (signal units).
    isi_cv : float
        Coefficient of variation (std / mean) of the inter-spike intervals;
        NaN with fewer than three spikes.
    """

    count: int
    frequency_hz: float
    width_s: float
    vmin: float
    vmax: float
    amplitude: float
    isi_cv: float

    @property
    def spiking(self) -> bool:
        """True when at least one spike was found."""
        return self.count > 0


def _prepare(t: ArrayLike, v: ArrayLike, t_skip: float) -> tuple[FloatArray, FloatArray]:
    ta = np.asarray(t, dtype=np.float64).reshape(-1)
    va = np.asarray(v, dtype=np.float64).reshape(-1)
    if ta.shape != va.shape:
        raise ValueError(f"t and v differ in length ({ta.size} vs {va.size})")
    if ta.size > 1 and np.any(np.diff(ta) < 0):
        raise ValueError("t must be non-decreasing")
    if not np.all(np.isfinite(va)):
        raise ValueError("v contains NaN or infinite values")
    if t_skip > 0.0 and ta.size:
        keep = ta >= ta[0] + t_skip
        ta, va = ta[keep], va[keep]
    return ta, va


def _noise_sigma(v: FloatArray) -> float:
    """Robust estimate of white sample noise (signal units).

    Uses the median absolute deviation of second differences, which are
    nearly zero on a smooth, finely sampled waveform even on steep flanks;
    for white noise of standard deviation s their standard deviation is
    ``sqrt(6) * s``.
    """
    if v.size < 4:
        return 0.0
    d2 = np.diff(v, 2)
    if d2.size > _NOISE_SAMPLES:  # an evenly spread subset estimates the MAD as well
        d2 = d2[:: d2.size // _NOISE_SAMPLES]
    mad = float(np.median(np.abs(d2 - np.median(d2))))
    return 1.4826 * mad / math.sqrt(6.0)


def robust_range(v: ArrayLike) -> tuple[float, float]:
    """Bottom and top of a waveform, insensitive to isolated noisy samples.

    Parameters
    ----------
    v : array_like
        Samples (signal units, usually V).

    Returns
    -------
    (low, high) : tuple of float
        Minimum and maximum of the signal after a 5-sample median filter.
    """
    va = np.asarray(v, dtype=np.float64).reshape(-1)
    if va.size == 0:
        return (math.nan, math.nan)
    size = min(_MEDIAN_SIZE, va.size)
    vf = _median_filter(va, size)
    return (float(np.min(vf)), float(np.max(vf)))


def _median_filter(v: FloatArray, size: int) -> FloatArray:
    """``scipy.ndimage.median_filter(v, size, mode="nearest")``, for ``size`` 5 by a min/max
    network in numpy (scipy.ndimage costs 0.3 s to import, more than a run's whole analysis)."""
    if size != 5 or v.size < 5:
        from scipy.ndimage import median_filter

        return np.asarray(median_filter(v, size=size, mode="nearest"), dtype=np.float64)
    p = np.pad(np.asarray(v, dtype=np.float64), 2, mode="edge")
    n = v.size
    x0, x1, x2, x3, x4 = (p[k:k + n] for k in range(5))
    # the smaller of the two pairs' minima is the smallest of all five and the larger of their
    # maxima the largest: the median of five is the median of the three that remain
    lo = np.maximum(np.minimum(x0, x1), np.minimum(x3, x4))
    hi = np.minimum(np.maximum(x0, x1), np.maximum(x3, x4))
    return np.maximum(np.minimum(lo, hi), np.minimum(np.maximum(lo, hi), x2))


def _refine_peak(
    t: FloatArray, v: FloatArray, i: int, lo: int, hi: int, drop: float
) -> tuple[float, float]:
    """Peak time and value from a least-squares parabola through the top of a spike.

    The fit uses the samples around the sample maximum ``i`` that lie within
    ``drop`` of it, the same number on each side (at least one, at most 50,
    limited by the contiguous run inside ``[lo, hi)``).  Falls back to the
    sample maximum if the fit is not a downward parabola with its vertex
    inside the fitted span.
    """
    top = v[i] - drop
    a = i
    while a > lo and i - a < 50 and v[a - 1] >= top:
        a -= 1
    b = i
    while b < hi - 1 and b - i < 50 and v[b + 1] >= top:
        b += 1
    # Symmetric span: an asymmetric one biases the vertex toward the slow flank.
    half = max(min(i - a, b - i), 1)
    a = max(i - half, 0)
    b = min(i + half, v.size - 1)
    if b - a < 2:
        return float(t[i]), float(v[i])
    tt = t[a : b + 1] - t[i]
    scale = float(np.max(np.abs(tt))) or 1.0
    x = tt / scale
    fit = _parabola(x, v[a : b + 1])
    if fit is None:
        return float(t[i]), float(v[i])
    c2, c1, c0 = fit
    if not c2 < 0.0:
        return float(t[i]), float(v[i])
    xv = -c1 / (2.0 * c2)
    if not float(x[0]) <= xv <= float(x[-1]):
        return float(t[i]), float(v[i])
    return float(t[i] + xv * scale), float(c0 - c1 * c1 / (4.0 * c2))


def _parabola(x: FloatArray, y: FloatArray) -> tuple[float, float, float] | None:
    """Least-squares ``y = c2 x^2 + c1 x + c0`` by its normal equations (``x`` scaled to
    [-1, 1], where they are well conditioned); None if they are singular. Equal to
    ``np.polyfit(x, y, 2)`` to rounding, at a tenth of its cost: a run's spikes each need one."""
    x2 = x * x
    s0, s1, s2 = float(x.size), float(x.sum()), float(x2.sum())
    s3, s4 = float(x2 @ x), float(x2 @ x2)
    t0, t1, t2 = float(y.sum()), float(x @ y), float(x2 @ y)
    # Cramer's rule on [[s4 s3 s2] [s3 s2 s1] [s2 s1 s0]] (c2 c1 c0) = (t2 t1 t0)
    det = s4 * (s2 * s0 - s1 * s1) - s3 * (s3 * s0 - s1 * s2) + s2 * (s3 * s1 - s2 * s2)
    if not abs(det) > 1e-12 * max(s4 * s2 * s0, 1e-300) or not math.isfinite(det):
        return None
    c2 = (t2 * (s2 * s0 - s1 * s1) - s3 * (t1 * s0 - s1 * t0) + s2 * (t1 * s1 - s2 * t0)) / det
    c1 = (s4 * (t1 * s0 - s1 * t0) - t2 * (s3 * s0 - s1 * s2) + s2 * (s3 * t0 - t1 * s2)) / det
    c0 = (s4 * (s2 * t0 - t1 * s1) - s3 * (s3 * t0 - t1 * s2) + t2 * (s3 * s1 - s2 * s2)) / det
    return c2, c1, c0


def _local_thresholds(
    t: FloatArray,
    v: FloatArray,
    window: float,
    lo_frac: float,
    hi_frac: float,
    floor: float,
) -> tuple[FloatArray, FloatArray]:
    """Per-sample Schmitt thresholds from the running robust range over ``window`` s."""
    if window <= 0.0:
        raise ValueError(f"local_window must be positive, got {window}")
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    size = int(max(3, round(window / dt))) if dt > 0 else v.size
    size = min(size, v.size)
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    vf = _median_filter(v, min(_MEDIAN_SIZE, v.size))
    bottom = minimum_filter1d(vf, size=size, mode="nearest")
    top = maximum_filter1d(vf, size=size, mode="nearest")
    span = top - bottom
    lower = bottom + lo_frac * span
    upper = np.where(span >= floor, bottom + hi_frac * span, np.inf)
    return lower, upper


def _episodes(v: FloatArray, lower: FloatArray, upper: FloatArray) -> list[tuple[int, int]]:
    """Index ranges ``[start, stop)`` of the Schmitt-trigger high state.

    An excursion already high at the first sample (its rise unseen) is dropped;
    one still high at the last sample is kept only if its maximum is followed
    by a fall of at least half the hysteresis band.
    """
    above = v >= upper
    below = v <= lower
    out: list[tuple[int, int]] = []
    n = v.size
    # Indices where the state may change.
    up_idx = np.flatnonzero(above)
    down_idx = np.flatnonzero(below)
    # Start armed only after the trace has been below the lower threshold.
    if down_idx.size == 0:
        return out
    pos = int(down_idx[0])
    while True:
        k = np.searchsorted(up_idx, pos)
        if k >= up_idx.size:
            break
        start = int(up_idx[k])
        j = np.searchsorted(down_idx, start)
        if j >= down_idx.size:
            seg = v[start:]
            imax = int(np.argmax(seg))
            band = float(upper[-1] - lower[-1])
            if imax < seg.size - 1 and seg[imax] - seg[-1] >= 0.5 * band:
                out.append((start, n))
            break
        stop = int(down_idx[j])
        out.append((start, stop))
        pos = stop
    return out


def detect_spikes(
    t: ArrayLike,
    v: ArrayLike,
    *,
    prominence: float | None = None,
    hysteresis: tuple[float, float] | None = None,
    min_interval: float | None = None,
    t_skip: float = 0.0,
    min_amplitude: float = DEFAULT_MIN_AMPLITUDE,
    local_window: float | None = None,
) -> SpikeTrain:
    """Find the spikes of a FHN-like waveform with a hysteresis (Schmitt) detector.

    Parameters
    ----------
    t : array_like
        Sample times (s), non-decreasing. Non-uniform steps (SPICE output) are fine.
    v : array_like
        Waveform (V, or normalised units), same length as ``t``.
    prominence : float, optional
        Minimal prominence (signal units) a peak must have, measured by
        ``scipy.signal.peak_prominences``; default: no extra test beyond the
        hysteresis band.
    hysteresis : (float, float), optional
        Lower and upper thresholds as fractions of the robust range
        (``0 <= lower < upper <= 1``); default ``(0.35, 0.65)``.
    min_interval : float, optional
        Refractory time (s): of two spikes closer than this, only the higher
        one is kept. Default: none (the hysteresis already rejects chatter).
    t_skip : float, optional
        Initial transient to ignore (s), counted from ``t[0]``. Default 0.
    min_amplitude : float, optional
        Smallest robust range (signal units) that can hold spikes; default 0.5.
        Below it, or below ``NOISE_FACTOR`` (10) times the estimated noise
        standard deviation, the trace is non-spiking.
    local_window : float, optional
        Derive the thresholds from the running range over this many seconds
        (centred) instead of the whole trace: for waveforms whose amplitude
        or offset changes along the record (give it a few spike periods).
        Where the running range is below the amplitude/noise floor no spike
        can start. Default: one global range.

    Returns
    -------
    SpikeTrain
        Spike times (s) at the peaks, the peak values, and the analysed window.
    """
    ta, va = _prepare(t, v, t_skip)
    if ta.size == 0:
        return SpikeTrain()
    t_start, t_stop = float(ta[0]), float(ta[-1])
    empty = SpikeTrain(_empty(), _empty(), t_start, t_stop)
    if ta.size < 5:
        return empty
    lo_frac, hi_frac = DEFAULT_HYSTERESIS if hysteresis is None else hysteresis
    if not 0.0 <= lo_frac < hi_frac <= 1.0:
        raise ValueError(f"hysteresis must satisfy 0 <= lower < upper <= 1, got {hysteresis}")
    bottom, top = robust_range(va)
    span = top - bottom
    sigma = _noise_sigma(va)
    if span < min_amplitude or span < NOISE_FACTOR * sigma or span <= 0.0:
        return empty
    drop = max(4.0 * sigma, 1e-3 * span)
    if local_window is None:
        lower = np.full(va.size, bottom + lo_frac * span)
        upper = np.full(va.size, bottom + hi_frac * span)
    else:
        lower, upper = _local_thresholds(
            ta, va, local_window, lo_frac, hi_frac, max(min_amplitude, NOISE_FACTOR * sigma)
        )

    times: list[float] = []
    peaks: list[float] = []
    idx: list[int] = []
    for start, stop in _episodes(va, lower, upper):
        i = start + int(np.argmax(va[start:stop]))
        tp, vp = _refine_peak(ta, va, i, start, stop, drop)
        times.append(tp)
        peaks.append(vp)
        idx.append(i)

    if prominence is not None and idx:
        # scipy.signal takes ~0.4 s to import: only when a prominence test is asked for
        from scipy.signal import peak_prominences

        prom = peak_prominences(va, np.asarray(idx, dtype=np.intp))[0]
        keep = prom >= prominence
        times = [x for x, k in zip(times, keep, strict=True) if k]
        peaks = [x for x, k in zip(peaks, keep, strict=True) if k]

    if min_interval is not None and min_interval > 0.0 and len(times) > 1:
        kt: list[float] = [times[0]]
        kp: list[float] = [peaks[0]]
        for tp, vp in zip(times[1:], peaks[1:], strict=True):
            if tp - kt[-1] < min_interval:
                if vp > kp[-1]:
                    kt[-1], kp[-1] = tp, vp
            else:
                kt.append(tp)
                kp.append(vp)
        times, peaks = kt, kp

    # Parabolic refinement can (rarely, with heavy noise) reorder nearly
    # coincident peaks; enforce strictly increasing times.
    tarr = np.asarray(times, dtype=np.float64)
    parr = np.asarray(peaks, dtype=np.float64)
    if tarr.size > 1:
        order = np.argsort(tarr, kind="stable")
        tarr, parr = tarr[order], parr[order]
        ok = np.concatenate(([True], np.diff(tarr) > 0))
        tarr, parr = tarr[ok], parr[ok]
    return SpikeTrain(tarr, parr, t_start, t_stop)


def half_widths(t: ArrayLike, v: ArrayLike, train: SpikeTrain) -> FloatArray:
    """Full width at half height (s) of each spike of ``train`` in ``v``.

    The base of a spike is the higher of the two troughs that flank it (the
    minimum of ``v`` between the previous spike, or the trace start, and this
    one; and between this one and the next spike, or the trace end).  Half
    height is halfway between that base and the peak value; the width is the
    time between the half-height crossings on the rising and falling flanks,
    linearly interpolated between samples.

    Parameters
    ----------
    t : array_like
        Sample times (s).
    v : array_like
        Waveform (signal units).
    train : SpikeTrain
        Spikes found in ``(t, v)``, e.g. by :func:`detect_spikes`.

    Returns
    -------
    ndarray of float
        One width per spike (s); NaN where a flank leaves the trace.
    """
    ta = np.asarray(t, dtype=np.float64).reshape(-1)
    va = np.asarray(v, dtype=np.float64).reshape(-1)
    n = train.count
    out = np.full(n, math.nan)
    if n == 0 or ta.size < 3:
        return out
    pk = np.clip(np.searchsorted(ta, train.times), 0, ta.size - 1)
    # Segment boundaries: the spikes' neighbours (or the trace ends).
    bounds = np.concatenate(([0], pk, [ta.size - 1]))
    for k in range(n):
        i = int(pk[k])
        left0, right0 = int(bounds[k]), int(bounds[k + 2])
        if not left0 < i < right0:
            continue
        base = max(float(np.min(va[left0:i])), float(np.min(va[i + 1 : right0 + 1])))
        half = 0.5 * (base + float(train.peaks[k]))
        below_l = np.flatnonzero(va[left0:i] < half)
        below_r = np.flatnonzero(va[i + 1 : right0 + 1] < half)
        if below_l.size == 0 or below_r.size == 0:
            continue
        a = left0 + int(below_l[-1])  # last sample below half before the peak
        b = i + 1 + int(below_r[0])  # first sample below half after the peak
        tl = ta[a] + (half - va[a]) * (ta[a + 1] - ta[a]) / (va[a + 1] - va[a])
        tr = ta[b - 1] + (half - va[b - 1]) * (ta[b] - ta[b - 1]) / (va[b] - va[b - 1])
        out[k] = tr - tl
    return out


def spike_stats(
    t: ArrayLike,
    v: ArrayLike,
    *,
    t_skip: float = 0.0,
    prominence: float | None = None,
    hysteresis: tuple[float, float] | None = None,
    min_interval: float | None = None,
    min_amplitude: float = DEFAULT_MIN_AMPLITUDE,
    local_window: float | None = None,
    train: SpikeTrain | None = None,
) -> SpikeStats:
    """Spike count, frequency, width and amplitude of a waveform.

    Parameters
    ----------
    t : array_like
        Sample times (s).
    v : array_like
        Waveform (V, or normalised units).
    t_skip : float, optional
        Initial transient to ignore (s). Default 0.
    prominence, hysteresis, min_interval, min_amplitude, local_window
        Passed to :func:`detect_spikes`.
    train : SpikeTrain, optional
        The spikes of the analysed part, when already detected with these settings (then
        they are not detected again).

    Returns
    -------
    SpikeStats
        ``frequency_hz`` from the mean inter-spike interval (NaN if < 2 spikes);
        ``width_s`` the mean full width at half height (s); ``vmin``, ``vmax``,
        ``amplitude`` of the analysed part; ``isi_cv`` (NaN if < 3 spikes).
    """
    ta, va = _prepare(t, v, t_skip)
    if ta.size == 0:
        nan = math.nan
        return SpikeStats(0, nan, nan, nan, nan, nan, nan)
    train = train if train is not None else detect_spikes(
        ta,
        va,
        prominence=prominence,
        hysteresis=hysteresis,
        min_interval=min_interval,
        min_amplitude=min_amplitude,
        local_window=local_window,
    )
    vmin, vmax = float(np.min(va)), float(np.max(va))
    width = math.nan
    if train.count:
        width = float(np.nanmean(half_widths(ta, va, train)))
    return SpikeStats(
        count=train.count,
        frequency_hz=train.frequency_hz,
        width_s=width,
        vmin=vmin,
        vmax=vmax,
        amplitude=vmax - vmin,
        isi_cv=train.isi_cv,
    )
