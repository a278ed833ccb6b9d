"""Phases, frequency ratios and n:m phase locking of two spike trains.

Conventions
-----------
* **Phase.** The instantaneous phase of a spike train grows by exactly
  ``2*pi`` from one spike to the next and linearly in between
  (``phi(t_k) = 2*pi*k`` at the k-th spike). It is unwrapped (monotone) and
  undefined (NaN) before the first and after the last spike.
* **Ratio orientation.** ``ratio = f_master / f_slave``. An ``n:m`` mode means
  the master fires ``n`` times while the slave fires ``m`` times, so
  ``f_master / f_slave ~ n / m``. "1:1" is synchrony; "2:1" is the paper's
  fractional mode where the master fires twice per slave spike.
* **Locking.** Two trains are ``n:m`` locked when the generalised phase
  difference ``psi(t) = m*phi_master(t) - n*phi_slave(t)`` stays bounded. Its
  synchronization index is the mean resultant length ``|<exp(i*psi)>|`` over
  time (1 = perfectly locked, about 0 for independent incommensurate trains).
  ``locked`` requires the index to reach ``min_index`` (default 0.8) *and* the
  fitted drift of ``psi`` over the analysed interval to stay below
  ``max_drift`` (default pi rad, i.e. less than half a phase slip).

All functions are pure; spike times are in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurospice.analysis.spikes import SpikeTrain

__all__ = [
    "DEFAULT_MAX_DEN",
    "DEFAULT_MAX_DRIFT",
    "DEFAULT_MIN_INDEX",
    "DEFAULT_RATIO_TOL",
    "LockResult",
    "best_ratio",
    "classify_locking",
    "frequency_ratio",
    "instantaneous_phase",
    "mode_label",
    "phase_difference",
    "phase_locking",
    "phase_ratio",
]

FloatArray = NDArray[np.float64]

#: Relative tolerance of :func:`best_ratio`: |x - n/m| <= tol * n/m.
DEFAULT_RATIO_TOL: float = 0.02
#: Largest n and m considered for an n:m mode.
DEFAULT_MAX_DEN: int = 5
#: Smallest synchronization index that counts as locked.
DEFAULT_MIN_INDEX: float = 0.8
#: Largest fitted drift (rad) of the n:m phase difference that counts as locked.
DEFAULT_MAX_DRIFT: float = math.pi
#: Phase-difference samples per spike (of the faster train) in the analysed span.
_SAMPLES_PER_SPIKE: int = 16


def _times(x: ArrayLike | SpikeTrain) -> FloatArray:
    if isinstance(x, SpikeTrain):
        return x.times
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        raise ValueError("spike times must be strictly increasing")
    return arr


def mode_label(n: int, m: int) -> str:
    """Text label ``"n:m"`` of a locking mode (master n spikes per m slave spikes)."""
    return f"{n}:{m}"


def instantaneous_phase(spike_times: ArrayLike | SpikeTrain, t: ArrayLike) -> FloatArray:
    """Unwrapped phase (rad) of a spike train at times ``t``.

    Parameters
    ----------
    spike_times : array_like or SpikeTrain
        Spike times (s), strictly increasing.
    t : array_like
        Evaluation times (s).

    Returns
    -------
    ndarray of float
        ``2*pi*k`` at the k-th spike (k from 0), linear in between; NaN
        outside ``[first spike, last spike]`` or with fewer than two spikes.
    """
    st = _times(spike_times)
    ta = np.asarray(t, dtype=np.float64)
    if st.size < 2:
        return np.full(ta.shape, math.nan)
    k = 2.0 * math.pi * np.arange(st.size, dtype=np.float64)
    return np.interp(ta, st, k, left=math.nan, right=math.nan)


def frequency_ratio(
    times_master: ArrayLike | SpikeTrain, times_slave: ArrayLike | SpikeTrain
) -> float:
    """Ratio ``f_master / f_slave`` of the mean firing frequencies.

    Each frequency is ``1 / mean inter-spike interval`` of its own train.

    Parameters
    ----------
    times_master, times_slave : array_like or SpikeTrain
        Spike times (s).

    Returns
    -------
    float
        The dimensionless ratio; NaN if a train has fewer than two spikes.
    """
    a, b = _times(times_master), _times(times_slave)
    if a.size < 2 or b.size < 2:
        return math.nan
    fa = (a.size - 1) / (a[-1] - a[0])
    fb = (b.size - 1) / (b[-1] - b[0])
    return float(fa / fb)


def phase_ratio(
    times_master: ArrayLike | SpikeTrain,
    times_slave: ArrayLike | SpikeTrain,
    t0: float,
    t1: float,
) -> float:
    """Ratio of phase advances ``dphi_master / dphi_slave`` over ``[t0, t1]``.

    The interpolated phases use spikes outside the interval too, so the ratio
    of a short window is exact for periodic trains (no counting error).

    Parameters
    ----------
    times_master, times_slave : array_like or SpikeTrain
        Spike times (s).
    t0, t1 : float
        Interval (s); both ends must lie within both trains' spike spans.

    Returns
    -------
    float
        ``f_master / f_slave`` averaged over the interval; NaN where undefined.
    """
    pm = instantaneous_phase(times_master, [t0, t1])
    ps = instantaneous_phase(times_slave, [t0, t1])
    dm, ds = float(pm[1] - pm[0]), float(ps[1] - ps[0])
    if not (math.isfinite(dm) and math.isfinite(ds)) or ds <= 0.0:
        return math.nan
    return dm / ds


def best_ratio(
    x: float, tol: float = DEFAULT_RATIO_TOL, max_den: int = DEFAULT_MAX_DEN
) -> tuple[int, int] | None:
    """Simplest fraction ``n/m`` close to a positive ratio.

    Searches the Farey fractions with ``1 <= n, m <= max_den`` in order of
    increasing ``m`` and then ``n`` (the first convergents of the continued
    fraction come first), and returns the first one within the relative
    tolerance; among equally simple ones, the nearest.

    Parameters
    ----------
    x : float
        Ratio to approximate (e.g. ``f_master / f_slave``).
    tol : float, optional
        Relative tolerance: accept ``n/m`` when ``|x - n/m| <= tol * n/m``.
        Default 0.02.
    max_den : int, optional
        Largest ``m`` (and ``n``) considered. Default 5.

    Returns
    -------
    (n, m) : tuple of int, or None
        Reduced fraction; None when ``x`` is not finite and positive or no
        fraction is within the tolerance.

    Examples
    --------
    >>> best_ratio(2.01)
    (2, 1)
    >>> best_ratio(1.49)
    (3, 2)
    >>> best_ratio(2 ** 0.5) is None
    True
    """
    if not (math.isfinite(x) and x > 0.0) or max_den < 1:
        return None
    for m in range(1, max_den + 1):
        best: tuple[float, int] | None = None
        for n in {max(1, math.floor(x * m)), max(1, math.ceil(x * m))}:
            if n > max_den or math.gcd(n, m) != 1:
                continue
            q = n / m
            err = abs(x - q) / q
            if err <= tol and (best is None or err < best[0]):
                best = (err, n)
        if best is not None:
            return (best[1], m)
    return None


def _nearest_fraction(x: float, max_den: int) -> tuple[int, int] | None:
    """Closest fraction with numerator and denominator <= max_den (no tolerance)."""
    if not (math.isfinite(x) and x > 0.0):
        return None
    best: tuple[float, int, int] | None = None
    for m in range(1, max_den + 1):
        for n in range(1, max_den + 1):
            f = Fraction(n, m)
            if f.denominator != m:
                continue
            err = abs(x - n / m) / (n / m)
            if best is None or err < best[0]:
                best = (err, n, m)
    return None if best is None else (best[1], best[2])


def phase_difference(
    times_master: ArrayLike | SpikeTrain,
    times_slave: ArrayLike | SpikeTrain,
    n: int,
    m: int,
    t: ArrayLike,
) -> FloatArray:
    """Generalised phase difference ``m*phi_master - n*phi_slave`` (rad) at times ``t``.

    Bounded (no net drift) when the master fires ``n`` times per ``m`` slave
    spikes in a locked way. NaN where either phase is undefined.
    """
    if n < 1 or m < 1:
        raise ValueError(f"n and m must be positive integers, got {n}:{m}")
    return m * instantaneous_phase(times_master, t) - n * instantaneous_phase(times_slave, t)


@dataclass(frozen=True)
class LockResult:
    """Outcome of an n:m phase-locking test.

    Attributes
    ----------
    n, m : int
        Tested mode: master fires ``n`` times per ``m`` slave spikes.
    ratio : float
        Measured ``f_master / f_slave`` over the analysed interval.
    sync_index : float
        Mean resultant length of ``psi = m*phi_master - n*phi_slave`` in
        [0, 1]; NaN when the interval holds no common phase.
    mean_phase : float
        Circular mean of ``psi`` (rad, in (-pi, pi]).
    drift : float
        Least-squares slope of ``psi`` times the interval length (rad); about
        ``2*pi`` per phase slip.
    spread : float
        ``max(psi) - min(psi)`` over the interval (rad).
    slips : int
        Net number of phase slips, ``round(|psi_end - psi_start| / (2*pi))``.
    t0, t1 : float
        Analysed interval (s).
    locked : bool
        ``sync_index >= min_index`` and ``|drift| <= max_drift``.
    """

    n: int
    m: int
    ratio: float
    sync_index: float
    mean_phase: float
    drift: float
    spread: float
    slips: int
    t0: float
    t1: float
    locked: bool

    @property
    def mode(self) -> str:
        """``"n:m"`` when locked, else ``"unlocked"``."""
        return mode_label(self.n, self.m) if self.locked else "unlocked"

    @property
    def duration(self) -> float:
        """Length of the analysed interval (s)."""
        return self.t1 - self.t0


def phase_locking(
    times_master: ArrayLike | SpikeTrain,
    times_slave: ArrayLike | SpikeTrain,
    n: int,
    m: int,
    *,
    t0: float | None = None,
    t1: float | None = None,
    min_index: float = DEFAULT_MIN_INDEX,
    max_drift: float = DEFAULT_MAX_DRIFT,
) -> LockResult:
    """Test n:m phase locking of a slave spike train to a master spike train.

    Parameters
    ----------
    times_master, times_slave : array_like or SpikeTrain
        Spike times (s), strictly increasing.
    n, m : int
        Mode to test: the master fires ``n`` times per ``m`` slave spikes
        (``f_master / f_slave ~ n / m``); e.g. ``(2, 1)`` for the 2:1 mode.
    t0, t1 : float, optional
        Interval (s) to analyse; clipped to where both phases are defined
        (between each train's first and last spike). Spikes outside the
        interval still shape the interpolated phases. Default: the whole
        common span.
    min_index : float, optional
        Smallest synchronization index counted as locked. Default 0.8.
    max_drift : float, optional
        Largest fitted drift (rad) of the phase difference counted as locked.
        Default pi.

    Returns
    -------
    LockResult
        Synchronization index, drift, spread, slips and the ``locked`` verdict.
    """
    a, b = _times(times_master), _times(times_slave)
    lo = -math.inf if t0 is None else t0
    hi = math.inf if t1 is None else t1
    nan = math.nan
    if a.size >= 2 and b.size >= 2:
        lo = max(lo, float(a[0]), float(b[0]))
        hi = min(hi, float(a[-1]), float(b[-1]))
    if a.size < 2 or b.size < 2 or not hi > lo:
        t0v = nan if t0 is None else t0
        t1v = nan if t1 is None else t1
        return LockResult(n, m, nan, nan, nan, nan, nan, 0, t0v, t1v, False)
    # Resolve every inter-spike segment: psi is piecewise linear between spikes.
    n_spikes = int(np.sum((a >= lo) & (a <= hi)) + np.sum((b >= lo) & (b <= hi)))
    n_samples = max(64, _SAMPLES_PER_SPIKE * (n_spikes + 2))
    grid = np.linspace(lo, hi, n_samples)
    psi = phase_difference(a, b, n, m, grid)
    z = np.mean(np.exp(1j * psi))
    index = float(min(1.0, abs(z)))
    mean_phase = float(np.angle(z))
    span = hi - lo
    slope = float(np.polyfit(grid - lo, psi, 1)[0])
    drift = slope * span
    spread = float(np.max(psi) - np.min(psi))
    slips = int(round(abs(float(psi[-1] - psi[0])) / (2.0 * math.pi)))
    ratio = phase_ratio(a, b, lo, hi)
    locked = bool(index >= min_index and abs(drift) <= max_drift)
    return LockResult(n, m, ratio, index, mean_phase, drift, spread, slips, lo, hi, locked)


def classify_locking(
    times_master: ArrayLike | SpikeTrain,
    times_slave: ArrayLike | SpikeTrain,
    *,
    t0: float | None = None,
    t1: float | None = None,
    tol: float = DEFAULT_RATIO_TOL,
    max_den: int = DEFAULT_MAX_DEN,
    min_index: float = DEFAULT_MIN_INDEX,
    max_drift: float = DEFAULT_MAX_DRIFT,
) -> LockResult:
    """Find the n:m mode of two spike trains and test it.

    Measures ``f_master / f_slave`` from the phase advances over the interval,
    picks the simplest fraction within ``tol`` (:func:`best_ratio`; the nearest
    fraction up to ``max_den`` when none is that close) and tests locking at it
    (:func:`phase_locking`).

    Parameters
    ----------
    times_master, times_slave : array_like or SpikeTrain
        Spike times (s).
    t0, t1 : float, optional
        Interval (s); default the common span of both trains.
    tol, max_den, min_index, max_drift
        See :func:`best_ratio` and :func:`phase_locking`.

    Returns
    -------
    LockResult
        ``result.mode`` is ``"n:m"`` when locked, else ``"unlocked"``.
    """
    a, b = _times(times_master), _times(times_slave)
    probe = phase_locking(a, b, 1, 1, t0=t0, t1=t1, min_index=min_index, max_drift=max_drift)
    if not math.isfinite(probe.ratio):
        return probe
    frac = best_ratio(probe.ratio, tol, max_den) or _nearest_fraction(probe.ratio, max_den)
    if frac is None:
        return probe
    n, m = frac
    return phase_locking(a, b, n, m, t0=t0, t1=t1, min_index=min_index, max_drift=max_drift)
