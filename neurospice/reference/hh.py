"""Reference (scipy) integration of the Hodgkin-Huxley membrane patch of ``netlists/lib/hh.lib``.

The equations are those of ``.subckt hh`` (MODELS.md 3; modern convention, rest -65 mV, 6.3 C):

* ``Cm dV/dt = i - gNa m^3 h (V - ENa) - gK n^4 (V - EK) - gL (V - EL)``
* ``dx/dt = alpha_x(V) (1 - x) - beta_x(V) x`` for ``x = m, h, n``

with the rates of the library (V in mV, rates in 1/ms). The constants (``cm gna gk gl ena ek el``,
per cm2, SI) are read from the ``.subckt hh ... params:`` line of the library, nothing is restated
here. Internally the integration runs in mV, ms and uA/cm2 (well-scaled numbers); every public
function takes and returns SI units: seconds, volts, A/cm2.

Public API, by task:

* rates and steady states: :func:`rates`, :func:`gate_inf`, :func:`resting_state`
* one run under a current step: :func:`simulate_hh` -> :class:`HHRun` (spike times from exact
  event location, 0 mV upward crossings)
* one channel alone under a sine voltage (as ``netlists/hh_channel_iv.cir``):
  :func:`channel_sine_response`
* spike times of a sampled trace (e.g. a circuit run): :func:`spike_times`
* the step-response figures: :func:`fi_curve`, :func:`firing_onset` (the smallest step that fires
  repetitively from rest), :func:`single_spike_threshold` (the smallest long step that fires once)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from neurospice.spice.library import subckt_defaults
from neurospice.spice.resources import NETLISTS_DIR

__all__ = [
    "HH_LIBRARY",
    "HHParams",
    "HHRun",
    "fi_curve",
    "firing_onset",
    "gate_inf",
    "rates",
    "repetitive",
    "resting_state",
    "simulate_hh",
    "single_spike_threshold",
    "channel_sine_response",
    "spike_times",
    "step_frequency",
]

FloatArray = NDArray[np.float64]

#: The library file that defines ``.subckt hh`` (the one source of the constants).
HH_LIBRARY: Path = Path(NETLISTS_DIR) / "lib" / "hh.lib"

#: Default stimulus timing of ``netlists/hh_neuron.cir``: onset (s) and rise time (s).
DEFAULT_TDEL: float = 5e-3
DEFAULT_TRISE: float = 1e-6


def _library_defaults() -> dict[str, float]:
    return subckt_defaults(HH_LIBRARY, "hh")


@dataclass(frozen=True)
class HHParams:
    """Membrane constants per cm2, SI units (defaults: ``.subckt hh`` of ``lib/hh.lib``).

    Attributes
    ----------
    cm : float
        Membrane capacitance [F/cm2].
    gna, gk, gl : float
        Maximal sodium, potassium and leak conductances [S/cm2].
    ena, ek, el : float
        Reversal potentials [V].
    """

    cm: float = field(default_factory=lambda: _library_defaults()["cm"])
    gna: float = field(default_factory=lambda: _library_defaults()["gna"])
    gk: float = field(default_factory=lambda: _library_defaults()["gk"])
    gl: float = field(default_factory=lambda: _library_defaults()["gl"])
    ena: float = field(default_factory=lambda: _library_defaults()["ena"])
    ek: float = field(default_factory=lambda: _library_defaults()["ek"])
    el: float = field(default_factory=lambda: _library_defaults()["el"])


def _xe(x: FloatArray) -> FloatArray:
    """``x / (1 - exp(-x))`` with its removable singularity at 0 (series for ``|x| < 1e-4``)."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-4
    safe = np.where(small, 1.0, x)
    direct = safe / -np.expm1(-safe)
    series = 1.0 + x / 2.0 + x * x / 12.0
    return np.where(small, series, direct)


def _rates_ms(u: FloatArray) -> tuple[FloatArray, ...]:
    """The six rates (1/ms) at ``u`` (mV)."""
    am = _xe((u + 40.0) / 10.0)
    bm = 4.0 * np.exp(-(u + 65.0) / 18.0)
    ah = 0.07 * np.exp(-(u + 65.0) / 20.0)
    bh = 1.0 / (1.0 + np.exp(-(u + 35.0) / 10.0))
    an = 0.1 * _xe((u + 55.0) / 10.0)
    bn = 0.125 * np.exp(-(u + 65.0) / 80.0)
    return am, bm, ah, bh, an, bn


def _xe_scalar(x: float) -> float:
    if abs(x) < 1e-4:
        return 1.0 + x / 2.0 + x * x / 12.0
    return x / -math.expm1(-x)


def _rates_scalar(u: float) -> tuple[float, float, float, float, float, float]:
    """:func:`_rates_ms` for one float (the integrator's hot path)."""
    return (
        _xe_scalar((u + 40.0) / 10.0),
        4.0 * math.exp(-(u + 65.0) / 18.0),
        0.07 * math.exp(-(u + 65.0) / 20.0),
        1.0 / (1.0 + math.exp(-(u + 35.0) / 10.0)),
        0.1 * _xe_scalar((u + 55.0) / 10.0),
        0.125 * math.exp(-(u + 65.0) / 80.0),
    )


def rates(v: ArrayLike) -> tuple[FloatArray, ...]:
    """Opening and closing rates of the three gates.

    Parameters
    ----------
    v : array_like
        Membrane potential [V].

    Returns
    -------
    (alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n) : tuple of ndarray
        Rates [1/s].
    """
    u = 1e3 * np.asarray(v, dtype=np.float64)
    return tuple(1e3 * r for r in _rates_ms(u))


def gate_inf(v: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Steady-state gates ``x_inf = alpha_x / (alpha_x + beta_x)`` at ``v`` [V].

    Returns
    -------
    (m_inf, h_inf, n_inf) : tuple of ndarray
        Dimensionless, in [0, 1].
    """
    am, bm, ah, bh, an, bn = rates(v)
    return am / (am + bm), ah / (ah + bh), an / (an + bn)


def _steady_current(v: float, p: HHParams) -> float:
    """Ionic current density [A/cm2] at ``v`` [V] with every gate at steady state."""
    m, h, n = (float(x) for x in gate_inf(v))
    return (p.gna * m**3 * h * (v - p.ena) + p.gk * n**4 * (v - p.ek) + p.gl * (v - p.el))


def resting_state(params: HHParams | None = None, i: float = 0.0) -> tuple[float, ...]:
    """The equilibrium ``(v [V], m, h, n)`` under a constant current density ``i`` [A/cm2].

    The root of the steady-state I-V curve on -100..-30 mV (unique there for ``i`` below the
    firing range; 0 A/cm2 gives -65.0 mV with the default constants).
    """
    p = params or HHParams()
    v = brentq(lambda x: _steady_current(x, p) - i, -0.1, -0.03, xtol=1e-15, rtol=1e-14)
    m, h, n = (float(x) for x in gate_inf(v))
    return float(v), m, h, n


@dataclass(frozen=True, eq=False)
class HHRun:
    """One integration of the patch.

    Attributes
    ----------
    t : ndarray
        Sample times [s].
    v : ndarray
        Membrane potential [V].
    m, h, n : ndarray
        Gates [-].
    spikes : ndarray
        Times of the upward 0 V crossings [s] (located exactly by the integrator's events).
    """

    t: FloatArray
    v: FloatArray
    m: FloatArray
    h: FloatArray
    n: FloatArray
    spikes: FloatArray


def _stimulus(istim: float, tdel: float, trise: float) -> Callable[[float], float]:
    """Stimulus density [uA/cm2] at time [ms] (the circuit's PULSE: a linear ramp over trise)."""
    i_ua = 1e6 * istim
    t0, tr = 1e3 * tdel, 1e3 * trise

    def stim(t_ms: float) -> float:
        if t_ms <= t0:
            return 0.0
        if t_ms >= t0 + tr:
            return i_ua
        return i_ua * (t_ms - t0) / tr

    return stim


def simulate_hh(
    istim: float,
    tstop: float,
    *,
    tdel: float = DEFAULT_TDEL,
    trise: float = DEFAULT_TRISE,
    params: HHParams | None = None,
    dt_out: float = 1e-5,
    rtol: float = 1e-10,
    atol: float = 1e-10,
) -> HHRun:
    """Integrate the patch from rest under a current step (as ``netlists/hh_neuron.cir``).

    Parameters
    ----------
    istim : float
        Step current density [A/cm2] (the circuit's ``istim``; the area cancels).
    tstop : float
        End of the run [s].
    tdel, trise : float
        Step onset and rise time [s] (a linear ramp, as the circuit's PULSE source).
    params : HHParams, optional
        Membrane constants; default those of the library.
    dt_out : float
        Output sample spacing [s].
    rtol, atol : float
        Tolerances of ``solve_ivp`` (DOP853) on the state in mV and gate units.

    Returns
    -------
    HHRun
        The trajectory and its spike times.
    """
    p = params or HHParams()
    cm = 1e6 * p.cm  # uF/cm2
    gna, gk, gl = 1e3 * p.gna, 1e3 * p.gk, 1e3 * p.gl  # mS/cm2
    ena, ek, el = 1e3 * p.ena, 1e3 * p.ek, 1e3 * p.el  # mV
    stim = _stimulus(istim, tdel, trise)

    def rhs(t: float, y: FloatArray) -> list[float]:
        u, m, h, n = float(y[0]), float(y[1]), float(y[2]), float(y[3])
        am, bm, ah, bh, an, bn = _rates_scalar(u)
        i_ion = gna * m * m * m * h * (u - ena) + gk * n * n * n * n * (u - ek) + gl * (u - el)
        return [
            (stim(t) - i_ion) / cm,
            am * (1.0 - m) - bm * m,
            ah * (1.0 - h) - bh * h,
            an * (1.0 - n) - bn * n,
        ]

    def crossing(t: float, y: FloatArray) -> float:
        return float(y[0])

    crossing.direction = 1.0  # type: ignore[attr-defined]

    v0, m0, h0, n0 = resting_state(p)
    y0 = np.array([1e3 * v0, m0, h0, n0])
    t_end = 1e3 * tstop
    edges = sorted({0.0, min(1e3 * tdel, t_end), min(1e3 * (tdel + trise), t_end), t_end})
    grid = np.arange(0.0, t_end + 0.5e3 * dt_out, 1e3 * dt_out)
    ts: list[FloatArray] = []
    ys: list[FloatArray] = []
    spikes: list[float] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a:
            continue
        last = b == t_end
        inside = grid[(grid >= a) & ((grid <= b) if last else (grid < b))]
        t_eval = np.unique(np.concatenate([inside, [b]]))
        sol = solve_ivp(rhs, (a, b), y0, method="DOP853", rtol=rtol, atol=atol,
                        t_eval=t_eval, events=crossing, max_step=0.05)
        if not sol.success:  # pragma: no cover - DOP853 does not fail on this system
            raise RuntimeError(f"HH reference integration failed: {sol.message}")
        y0 = sol.y[:, -1]
        keep = np.isin(sol.t, inside)
        ts.append(sol.t[keep])
        ys.append(sol.y[:, keep])
        spikes.extend(float(x) for x in sol.t_events[0])
    t = np.concatenate(ts) * 1e-3
    y = np.concatenate(ys, axis=1)
    return HHRun(t, 1e-3 * y[0], y[1], y[2], y[3], 1e-3 * np.asarray(spikes, dtype=np.float64))


def spike_times(t: ArrayLike, v: ArrayLike, level: float = 0.0) -> FloatArray:
    """Upward crossings of ``level`` by a sampled trace, linearly interpolated.

    Parameters
    ----------
    t : array_like
        Sample times [s].
    v : array_like
        Membrane potential [V].
    level : float
        Crossing level [V]; 0 V (HH spikes overshoot to about +40 mV, subthreshold responses
        stay below -40 mV).

    Returns
    -------
    ndarray
        Crossing times [s].
    """
    ta = np.asarray(t, dtype=np.float64)
    va = np.asarray(v, dtype=np.float64) - level
    k = np.flatnonzero((va[:-1] < 0.0) & (va[1:] >= 0.0))
    frac = -va[k] / (va[k + 1] - va[k])
    return np.asarray(ta[k] + frac * (ta[k + 1] - ta[k]), dtype=np.float64)


def step_frequency(spikes: ArrayLike, t_from: float) -> float:
    """Firing frequency [Hz] from the spikes after ``t_from`` [s]: (count - 1) / span.

    NaN with fewer than two spikes.
    """
    s = np.asarray(spikes, dtype=np.float64)
    s = s[s >= t_from]
    if s.size < 2:
        return math.nan
    return float((s.size - 1) / (s[-1] - s[0]))


def fi_curve(
    currents: Sequence[float],
    *,
    tstop: float = 0.2,
    t_from: float = 0.055,
    params: HHParams | None = None,
) -> FloatArray:
    """Steady firing frequency [Hz] for each step density in ``currents`` [A/cm2].

    The frequency is measured on the spikes after ``t_from`` (default 50 ms after the onset at
    5 ms) up to ``tstop``; NaN where the patch does not fire repetitively there.
    """
    return np.array([
        step_frequency(simulate_hh(i, tstop, params=params).spikes, t_from) for i in currents
    ])


def _bisect(fires: Callable[[float], bool], lo: float, hi: float, rel: float) -> float:
    if fires(lo) or not fires(hi):
        raise ValueError(f"the bracket [{lo:g}, {hi:g}] A/cm2 does not contain the threshold")
    while hi - lo > rel * hi:
        mid = 0.5 * (lo + hi)
        if fires(mid):
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def repetitive(spikes: ArrayLike, tstop: float, window: float = 0.1) -> bool:
    """True when at least two spikes fall in the last ``window`` seconds before ``tstop``."""
    s = np.asarray(spikes, dtype=np.float64)
    return int(np.count_nonzero(s >= tstop - window)) >= 2


def firing_onset(
    lo: float = 4e-6,
    hi: float = 10e-6,
    *,
    tstop: float = 0.25,
    rel: float = 1e-4,
    params: HHParams | None = None,
) -> float:
    """The smallest step density [A/cm2] that makes the patch fire repetitively from rest.

    "Repetitively": at least two spikes (0 V upward crossings) in the last 100 ms of a
    ``tstop`` = 250 ms run (the step starts at 5 ms). Bisection to ``rel`` within [lo, hi].
    """
    return _bisect(lambda i: repetitive(simulate_hh(i, tstop, params=params).spikes, tstop),
                   lo, hi, rel)


def single_spike_threshold(
    lo: float = 1e-6,
    hi: float = 4e-6,
    *,
    tstop: float = 0.1,
    rel: float = 1e-4,
    params: HHParams | None = None,
) -> float:
    """The smallest long step density [A/cm2] that makes the patch spike at least once.

    A spike is a 0 V upward crossing in a ``tstop`` = 100 ms run (step from 5 ms to the end).
    Bisection to ``rel`` within [lo, hi].
    """
    return _bisect(lambda i: simulate_hh(i, tstop, params=params).spikes.size > 0, lo, hi, rel)


def channel_sine_response(
    channel: str,
    freq: float,
    offset: float,
    amplitude: float,
    tstop: float,
    *,
    area: float = 1.0,
    params: HHParams | None = None,
    samples_per_period: int = 400,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A channel memristor alone, driven by ``v = offset + amplitude sin(2 pi freq t)``.

    As ``hh_k``/``hh_na`` of the library: ``i = gmax*area*w*v`` with ``w = n^4`` or ``m^3 h``,
    the gates seeing ``V = v + E`` (E = EK or ENa), starting at their steady state for
    ``v = offset`` (the circuit's DC operating point).

    Parameters
    ----------
    channel : {"k", "na"}
        Which channel.
    freq : float
        Drive frequency [Hz].
    offset, amplitude : float
        Drive offset and amplitude [V].
    tstop : float
        Run length [s].
    area : float
        Patch area [cm2].
    samples_per_period : int
        Output samples per drive period.

    Returns
    -------
    (t, v, i) : tuple of ndarray
        Times [s], channel voltage [V], channel current p -> n [A].
    """
    p = params or HHParams()
    e, gmax = (p.ek, p.gk) if channel == "k" else (p.ena, p.gna)
    if channel not in ("k", "na"):
        raise ValueError(f"channel must be 'k' or 'na', not {channel!r}")
    w_ms = 2e-3 * math.pi * freq  # rad/ms

    def drive_mv(t_ms: float) -> float:
        return 1e3 * (offset + e) + 1e3 * amplitude * math.sin(w_ms * t_ms)

    def rhs(t: float, y: FloatArray) -> list[float]:
        am, bm, ah, bh, an, bn = _rates_scalar(drive_mv(t))
        if channel == "k":
            return [an * (1.0 - y[0]) - bn * y[0]]
        return [am * (1.0 - y[0]) - bm * y[0], ah * (1.0 - y[1]) - bh * y[1]]

    m0, h0, n0 = (float(x) for x in gate_inf(offset + e))
    y0 = [n0] if channel == "k" else [m0, h0]
    n_out = int(round(tstop * freq * samples_per_period)) + 1
    t_ms = np.linspace(0.0, 1e3 * tstop, n_out)
    sol = solve_ivp(rhs, (0.0, t_ms[-1]), y0, method="DOP853", t_eval=t_ms, rtol=rtol,
                    atol=atol, max_step=0.25 / freq * 1e3 / 4)
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"channel reference integration failed: {sol.message}")
    v = offset + amplitude * np.sin(w_ms * t_ms)
    w = sol.y[0] ** 4 if channel == "k" else sol.y[0] ** 3 * sol.y[1]
    return 1e-3 * t_ms, v, gmax * area * w * v
