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
from dataclasses import dataclass, field, replace

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


# --------------------------------------------------------------------------- neuron thresholds
#
# A spike is defined by the neuron, not by the trace: an FHN-type neuron's fast I-V (the current
# its membrane draws at a fixed recovery state) is N-shaped. Between its two knees the membrane
# has a negative conductance (the unstable middle branch); beyond the upper knee lies the
# excited branch. A response is an excursion that rises through the middle of the negative-
# conductance region; it is a *spike* when its peak reaches the excited branch (the upper
# knee), a *partial response* when it turns back on the middle branch; a master cycle without
# any response is *sub-threshold*. docs/analysis.md has the pictures.

#: Width of the response trigger's hysteresis band, as a fraction of the knee-to-knee span.
RESPONSE_BAND: float = 0.10
#: A verdict is marginal when it changes with a threshold moved by this much (V) ...
MARGIN_ABS_V: float = 0.05
#: ... or by this fraction of the threshold's value, whichever is larger.
MARGIN_REL: float = 0.05

SPIKE = "spike"
PARTIAL = "partial"


@dataclass(frozen=True)
class Thresholds:
    """The levels (V, or the trace's units) that classify one neuron's responses.

    Attributes
    ----------
    spike_v : float
        A response whose peak reaches this level is a spike (the upper knee of the neuron's
        N-shaped I-V: the start of the excited branch); below it, a partial response.
    on_v, off_v : float
        A response starts when the membrane rises above ``on_v`` after it has been below
        ``off_v`` (hysteresis; ``off_v < on_v <= spike_v``).
    source : str
        Where the levels come from (``"characterised I-V of fhn"``, ``"--spike-threshold"``,
        ``"trace range"``).
    knees : (float, float)
        The I-V's knees (V) when derived from it, else NaN.
    """

    spike_v: float
    on_v: float
    off_v: float
    source: str
    knees: tuple[float, float] = (math.nan, math.nan)

    def __post_init__(self) -> None:
        if not (self.off_v < self.on_v <= self.spike_v):
            raise ValueError(f"thresholds must satisfy off < on <= spike, got "
                             f"{self.off_v}, {self.on_v}, {self.spike_v}")

    def shifted(self, which: str, dv: float) -> Thresholds:
        """These levels with ``which`` (``"spike"``, ``"on"`` or ``"off"``) moved by ``dv`` (V);
        the others are pushed along where the ordering needs it."""
        s, on, off = self.spike_v, self.on_v, self.off_v
        band = on - off
        if which == "spike":
            s += dv
            on = min(on, s)
            off = min(off, on - band)
        elif which == "on":
            on += dv
            s = max(s, on)
            off = min(off, on - 1e-6)
        elif which == "off":
            off += dv
            on = max(on, off + 1e-6)
            s = max(s, on)
        else:
            raise ValueError(f"which must be spike, on or off, got {which!r}")
        return replace(self, spike_v=s, on_v=on, off_v=off)

    def as_dict(self) -> dict[str, object]:
        """``{"spike_v", "on_v", "off_v", "source"}`` for summary.json."""
        return {"spike_v": self.spike_v, "on_v": self.on_v, "off_v": self.off_v,
                "source": self.source}


def margin_step(level: float) -> float:
    """The threshold move (V) a verdict must survive: max(50 mV, 5 % of ``|level|``)."""
    return max(MARGIN_ABS_V, MARGIN_REL * abs(level))


def iv_knees(v: ArrayLike, i: ArrayLike) -> tuple[float, float] | None:
    """The knees of an N-shaped I-V: the ends of its negative-conductance region.

    Parameters
    ----------
    v : array_like
        Membrane voltages (V), increasing.
    i : array_like
        Current the membrane draws at each voltage (A).

    Returns
    -------
    (v_low, v_high) : tuple of float, or None
        The lower knee (a local maximum of ``i``) and the upper knee (the local minimum that
        follows it) around the widest negative-conductance stretch; None when ``i`` never falls.
    """
    va = np.asarray(v, dtype=np.float64).reshape(-1)
    ia = np.asarray(i, dtype=np.float64).reshape(-1)
    if va.size < 3 or va.shape != ia.shape:
        return None
    di = np.diff(ia)
    neg = di < 0
    if not np.any(neg):
        return None
    # widest run of falling current
    edges = np.diff(np.concatenate(([0], neg.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    k = int(np.argmax(stops - starts))
    a, b = int(starts[k]), int(stops[k])
    if b - a < 2:
        return None
    return float(va[a]), float(va[b])


def thresholds_from_iv(v: ArrayLike, i: ArrayLike, source: str = "characterised I-V",
                       band: float = RESPONSE_BAND) -> Thresholds | None:
    """A neuron's thresholds from its fast (N-shaped) I-V.

    The spike level is the upper knee (the excited branch begins there); a response is
    triggered through the middle of the negative-conductance region, with a hysteresis band of
    ``band`` times the knee-to-knee span centred on it.

    Returns
    -------
    Thresholds or None
        None when the I-V has no negative-conductance region (not an FHN-type neuron).
    """
    knees = iv_knees(v, i)
    if knees is None:
        return None
    lo, hi = knees
    centre = 0.5 * (lo + hi)
    half = 0.5 * band * (hi - lo)
    return Thresholds(spike_v=hi, on_v=centre + half, off_v=centre - half, source=source,
                      knees=(lo, hi))


def thresholds_from_range(v: ArrayLike, hysteresis: tuple[float, float] | None = None,
                          source: str = "trace range") -> Thresholds | None:
    """The fallback for a neuron with no characterised I-V: the Schmitt levels of
    :func:`detect_spikes` (35 % / 65 % of the trace's robust range); every response that
    crosses the upper level counts as a spike. None for a flat trace."""
    lo_frac, hi_frac = DEFAULT_HYSTERESIS if hysteresis is None else hysteresis
    bottom, top = robust_range(v)
    span = top - bottom
    if not (math.isfinite(span) and span > 0.0):
        return None
    on = bottom + hi_frac * span
    return Thresholds(spike_v=on, on_v=on, off_v=bottom + lo_frac * span, source=source)


def threshold_override(base: Thresholds | None, level: float) -> Thresholds:
    """``--spike-threshold V``: the spike level set to ``level`` (V); the response trigger is
    kept where it lies below it, else moved just under it with the same hysteresis."""
    if base is None:
        band = max(0.1 * abs(level), 0.1)
        return Thresholds(level, level, level - band, "--spike-threshold")
    band = base.on_v - base.off_v
    on = min(base.on_v, level)
    off = min(base.off_v, on - band)
    return Thresholds(level, on, off, "--spike-threshold", base.knees)


def _empty_i() -> NDArray[np.int8]:
    return np.zeros(0, dtype=np.int8)


@dataclass(frozen=True, eq=False)
class Responses:
    """Every response of one neuron: spikes and partial responses, in time order.

    Attributes
    ----------
    times, peaks : ndarray of float
        Peak time (s) and peak value (V) of each response.
    troughs : ndarray of float
        Lowest value (V) between a response and the next (or the record's end): how deep
        the membrane went to re-arm.
    is_spike : ndarray of bool
        True where the peak reached ``thresholds.spike_v``.
    thresholds : Thresholds
        The levels used.
    t_start, t_stop : float
        The analysed record (s).
    """

    times: FloatArray
    peaks: FloatArray
    troughs: FloatArray
    is_spike: NDArray[np.bool_]
    thresholds: Thresholds
    t_start: float = 0.0
    t_stop: float = 0.0

    def __len__(self) -> int:
        return int(self.times.size)

    @property
    def n_spikes(self) -> int:
        return int(np.sum(self.is_spike))

    @property
    def n_partial(self) -> int:
        return int(self.times.size - np.sum(self.is_spike))

    def spikes(self) -> SpikeTrain:
        """The spikes alone as a :class:`SpikeTrain`."""
        k = self.is_spike
        return SpikeTrain(self.times[k], self.peaks[k], self.t_start, self.t_stop)

    def train(self) -> SpikeTrain:
        """Every response (spikes and partial responses) as a :class:`SpikeTrain`."""
        return SpikeTrain(self.times, self.peaks, self.t_start, self.t_stop)

    def after(self, t0: float) -> Responses:
        """Responses at or after ``t0`` (s)."""
        k = self.times >= t0
        return Responses(self.times[k], self.peaks[k], self.troughs[k], self.is_spike[k],
                         self.thresholds, max(self.t_start, t0), max(self.t_stop, t0))

    def with_thresholds(self, th: Thresholds) -> Responses:
        """The same responses re-labelled at another spike level (the trigger unchanged)."""
        return replace(self, is_spike=self.peaks >= th.spike_v, thresholds=th)


def detect_responses(t: ArrayLike, v: ArrayLike, thresholds: Thresholds, *,
                     t_skip: float = 0.0) -> Responses:
    """Find every response of a neuron at its own thresholds.

    A response starts when ``v`` rises above ``thresholds.on_v`` after having been below
    ``thresholds.off_v``, and ends when it falls below ``off_v`` again; its peak (refined by a
    parabola, as in :func:`detect_spikes`) decides spike (``>= spike_v``) or partial.

    Parameters
    ----------
    t, v : array_like
        Sample times (s) and membrane voltage (V).
    thresholds : Thresholds
        The neuron's levels (:func:`thresholds_from_iv`, ...).
    t_skip : float, optional
        Initial transient to ignore (s).

    Returns
    -------
    Responses
    """
    ta, va = _prepare(t, v, t_skip)
    th = thresholds
    if ta.size < 5:
        e = _empty()
        t0 = float(ta[0]) if ta.size else 0.0
        t1 = float(ta[-1]) if ta.size else 0.0
        return Responses(e, e, e, np.zeros(0, dtype=bool), th, t0, t1)
    lower = np.full(va.size, th.off_v)
    upper = np.full(va.size, th.on_v)
    eps = _episodes(va, lower, upper)
    sigma = _noise_sigma(va)
    span = float(np.ptp(va)) or 1.0
    drop = max(4.0 * sigma, 1e-3 * span)
    times, peaks, troughs = [], [], []
    for k, (start, stop) in enumerate(eps):
        i = start + int(np.argmax(va[start:stop]))
        tp, vp = _refine_peak(ta, va, i, start, stop, drop)
        nxt = eps[k + 1][0] if k + 1 < len(eps) else va.size
        seg = va[stop:nxt]
        troughs.append(float(np.min(seg)) if seg.size else math.nan)
        times.append(tp)
        peaks.append(vp)
    tarr = np.asarray(times, dtype=np.float64)
    parr = np.asarray(peaks, dtype=np.float64)
    rarr = np.asarray(troughs, dtype=np.float64)
    if tarr.size > 1:
        ok = np.concatenate(([True], np.diff(tarr) > 0))
        tarr, parr, rarr = tarr[ok], parr[ok], rarr[ok]
    return Responses(tarr, parr, rarr, parr >= th.spike_v, th, float(ta[0]), float(ta[-1]))


# --------------------------------------------------------------------------- levels from responses
#
# A neuron that is not FHN-type (the Hodgkin-Huxley patch, a user's subcircuit) has no knees the
# library knows how to measure. Its levels come from its own spikes instead: the subcircuit alone,
# at rest, answers current pulses of increasing amplitude (or, free-running, fires on its own);
# its full spike is the all-or-none response; the levels are fractions of the way from its rest
# to that spike's peak (docs/analysis.md).

#: The spike level: this fraction of the way from rest to the full spike's peak.
SPIKE_FRACTION: float = 0.5
#: The response trigger and its re-arm level (hysteresis), fractions of the same way.
ON_FRACTION: float = 0.25
OFF_FRACTION: float = 0.10
#: A response is regenerative when most of it comes after the pulse has ended: the membrane
#: rises on by at least this fraction of its excursion from rest (a passive response decays).
REGENERATIVE_FRACTION: float = 0.25
#: A copy still swinging by this fraction of the largest regenerative response long after its
#: pulse makes the neuron free-running.
FREE_RUNNING_FRACTION: float = 0.3


@dataclass(frozen=True)
class PulseResponse:
    """A neuron's answer to current pulses, and the levels drawn from it.

    Attributes
    ----------
    thresholds : Thresholds
        ``spike_v``, ``on_v``, ``off_v`` at :data:`SPIKE_FRACTION`, :data:`ON_FRACTION`,
        :data:`OFF_FRACTION` of the way from ``rest_v`` to ``peak_v``.
    rest_v : float
        The membrane at its operating point with no input (V): rest, or the equilibrium a
        free-running neuron circles.
    peak_v : float
        The peak of its full spike (V).
    free_running : bool
        True when the neuron fires on its own (the peak is the median of its own spikes).
    amplitude_a : float
        The pulse (A) whose full spike gave ``peak_v`` (NaN when free-running).
    """

    thresholds: Thresholds
    rest_v: float
    peak_v: float
    free_running: bool
    amplitude_a: float


def levels_from_rest_peak(rest_v: float, peak_v: float, source: str) -> Thresholds:
    """The levels at :data:`SPIKE_FRACTION` / :data:`ON_FRACTION` / :data:`OFF_FRACTION` of the
    way from ``rest_v`` to ``peak_v`` (V); ``peak_v`` must lie above ``rest_v``."""
    a = peak_v - rest_v
    if not (math.isfinite(a) and a > 0.0):
        raise ValueError(f"a spike's peak ({peak_v}) must lie above rest ({rest_v})")
    return Thresholds(spike_v=rest_v + SPIKE_FRACTION * a, on_v=rest_v + ON_FRACTION * a,
                      off_v=rest_v + OFF_FRACTION * a, source=source)


def thresholds_from_pulses(t: ArrayLike, traces: ArrayLike, amplitudes: ArrayLike,
                           t_on: float, width: float, *, late: float,
                           source: str = "pulse response") -> PulseResponse | None:
    """A neuron's levels from its responses to current pulses of increasing amplitude.

    Parameters
    ----------
    t : array_like
        Sample times (s).
    traces : array_like, shape (K, len(t))
        The membrane voltage (V) of K copies of the neuron, copy ``k`` driven by a pulse of
        ``amplitudes[k]`` (A) from ``t_on`` for ``width`` (s); every copy starts at the
        operating point, ``traces[:, 0]`` is rest.
    amplitudes : array_like
        Increasing pulse amplitudes (A), positive (depolarising).
    t_on, width : float
        The pulse (s).
    late : float
        Start (s) of the window that tells a free-running neuron (it still fires there) from an
        excitable one (back at rest).

    Returns
    -------
    PulseResponse or None
        None when no copy gives a full spike and none runs free.

    Notes
    -----
    The neuron is free-running when a copy's trace after ``late`` still swings by at least
    :data:`FREE_RUNNING_FRACTION` of the largest regenerative excursion (below); the full
    spike's peak is then the median peak of its own spikes there (the copy swinging most).
    Otherwise a copy's response is a full spike when it is regenerative: after the pulse has
    ended the membrane rises on by at least :data:`REGENERATIVE_FRACTION` of its excursion from
    rest (a passive or sub-threshold response decays from the pulse's end; a pulse so large that it
    carries the membrane past the spike leaves nothing to rise). The largest regenerative
    excursion is the full spike's peak.
    """
    ta = np.asarray(t, dtype=np.float64).reshape(-1)
    va = np.asarray(traces, dtype=np.float64)
    amps = np.asarray(amplitudes, dtype=np.float64).reshape(-1)
    if va.ndim != 2 or va.shape != (amps.size, ta.size) or ta.size < 10:
        raise ValueError(f"traces must be (amplitudes, times) = ({amps.size}, {ta.size}), "
                         f"got {va.shape}")
    if not np.all(np.isfinite(va)):
        return None
    rest = float(np.median(va[:, 0]))
    after = (ta >= t_on) & (ta < late)
    exc = np.max(va[:, after], axis=1) - rest
    tail = ta >= late
    off = int(np.searchsorted(ta, t_on + width))
    post = (ta >= t_on + width) & (ta < late)
    rise = np.max(va[:, post], axis=1) - va[:, min(off, ta.size - 1)]
    regen = (exc > 1e-3) & (rise >= REGENERATIVE_FRACTION * exc)
    # free-running: a copy still swinging, long after its pulse, by a good part of the largest
    # regenerative response (an excitable neuron is back at rest there; a limit cycle is not)
    if np.any(tail):
        swing = np.ptp(va[:, tail], axis=1)
        ref = float(np.max(exc[regen])) if np.any(regen) else float(np.max(exc))
        k = int(np.argmax(swing))
        if ref > 0 and swing[k] >= FREE_RUNNING_FRACTION * ref and swing[k] > 1e-3:
            vt, tt = va[k, tail], ta[tail]
            mid = float(np.min(vt)) + 0.5 * float(swing[k])
            train = detect_spikes(tt, vt, min_amplitude=0.5 * float(swing[k]))
            peaks = train.peaks[train.peaks > mid]
            if peaks.size and float(np.median(peaks)) > rest:
                peak = float(np.median(peaks))
                th = levels_from_rest_peak(rest, peak, f"{source} (free-running)")
                return PulseResponse(th, rest, peak, True, math.nan)
    if not np.any(regen):
        return None
    k = int(np.argmax(np.where(regen, exc, -np.inf)))
    peak = rest + float(exc[k])
    return PulseResponse(levels_from_rest_peak(rest, peak, source), rest, peak, False,
                         float(amps[k]))
