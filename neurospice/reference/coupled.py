"""Reference (scipy) simulation of the normalised master-slave FHN pair and its memristor.

The system is the one of ``netlists/coupled_model.cir`` (its ``.param`` values are the defaults
read here; the memristor's constants come from ``.subckt zro2`` in ``netlists/lib/memristors.lib``):

* master:  ``tau0 du1/dt = u1 - u1^3/3 - v1``,  ``tau0 dv1/dt = eps (g(u1) - i1)``
* slave:   ``tau_s du2/dt = u2 - u2^3/3 - v2 + d j``,  ``tau_s dv2/dt = eps (g(u2) - i2)``,
  ``tau_s = tau0 (1 + detune)``
* ``g(u) = alpha u`` (u < 0), ``beta u`` (u >= 0)
* synapse: the ZrO2(Y) device driven by ``v = amp * u1`` volts; ``j = i / iref`` with ``i`` the
  device current (A).

Units: u, v, c, j, d are dimensionless (normalised; in the deck one volt is one unit), times in
seconds, ``amp`` in volts per unit, ``iref`` in amperes.

The coupling is one-way, so the run is done in two stages: the master and the memristor (one stiff
trajectory, LSODA, device temperature quasi-static as in :mod:`neurospice.reference.memristor`),
then any number of slaves (one per coupling strength ``d``) vectorised in a fixed-step RK4 that
reads the memristor current from the first stage's dense output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from neurospice.analysis.locking import LockResult, classify_locking
from neurospice.analysis.spikes import SpikeTrain, detect_spikes
from neurospice.reference.memristor import ZrO2Params, current

__all__ = [
    "DECK_PATH",
    "CoupledParams",
    "CoupledRun",
    "MasterRun",
    "PointResult",
    "classify_run",
    "find_edge",
    "scan",
    "simulate",
    "simulate_master",
    "simulate_slaves",
]

FloatArray = NDArray[np.float64]

#: The deck whose ``.param`` values are the defaults of :class:`CoupledParams`.
DECK_PATH = Path(__file__).resolve().parents[2] / "netlists" / "coupled_model.cir"


@dataclass(frozen=True)
class CoupledParams:
    """Constants of the coupled normalised model (defaults: the deck's ``.param`` values).

    Attributes
    ----------
    d : float
        Coupling strength (dimensionless): ``c2 = d * j``.
    eps, alpha, beta : float
        FHN small parameter and slopes of ``g`` (dimensionless), both neurons.
    i1, i2 : float
        Depolarisation parameter I of master and slave (dimensionless).
    tau0 : float
        Master's time unit (s).
    detune : float
        Slave time unit is ``tau0 * (1 + detune)`` (dimensionless; > 0: slave slower).
    u10, v10, u20, v20 : float
        Initial states (dimensionless).
    amp : float
        Memristor drive per normalised unit of u1 (V).
    iref : float
        Normalisation current of j (A).
    mw0 : float
        Initial memristor state w (dimensionless, 1 = LRS).
    tstop : float
        Run length (s); from the deck's ``.tran`` card.
    """

    d: float
    eps: float
    alpha: float
    beta: float
    i1: float
    i2: float
    tau0: float
    detune: float
    u10: float
    v10: float
    u20: float
    v20: float
    amp: float
    iref: float
    mw0: float
    tstop: float

    @classmethod
    def from_deck(cls, path: Path = DECK_PATH, **overrides: float) -> CoupledParams:
        """The top-level ``.param`` values of the deck in ``path``, with ``overrides``."""
        from neurospice.spice.deck import prepare_deck

        deck = prepare_deck(path)
        known = deck.params()
        tran = deck.tran()
        if tran is None:
            raise KeyError(f"{path} has no .tran card")
        values: dict[str, float] = {"tstop": tran[1]}
        for f in fields(cls):
            if f.name == "tstop":
                continue
            if f.name not in known:
                raise KeyError(f"{path} has no .param {f.name}")
            values[f.name] = deck.evaluate(known[f.name])
        return replace(cls(**values), **overrides)

    @property
    def tau_slave(self) -> float:
        """Slave's time unit (s)."""
        return self.tau0 * (1.0 + self.detune)


@dataclass(frozen=True)
class MasterRun:
    """Master neuron and memristor over ``[0, tstop]``.

    Attributes
    ----------
    t : ndarray
        Sample times (s), uniform.
    u1 : ndarray
        Master membrane potential (dimensionless).
    w : ndarray
        Memristor state (dimensionless).
    i_mem : ndarray
        Memristor current (A).
    sol : callable
        ``sol(t)``: memristor current (A) at any times in ``[0, tstop]`` (s), from the
        solver's dense output.
    """

    t: FloatArray
    u1: FloatArray
    w: FloatArray
    i_mem: FloatArray
    sol: object


@dataclass(frozen=True)
class CoupledRun:
    """Master and one slave per coupling strength.

    Attributes
    ----------
    master : MasterRun
    d : ndarray
        Coupling strengths (dimensionless), shape ``(n,)``.
    t : ndarray
        Slave sample times (s), shape ``(m,)``.
    u2 : ndarray
        Slave membrane potentials (dimensionless), shape ``(m, n)``.
    """

    master: MasterRun
    d: FloatArray
    t: FloatArray
    u2: FloatArray


@dataclass(frozen=True)
class PointResult:
    """Locking of the slave to the master at one coupling strength.

    Attributes
    ----------
    d : float
        Coupling strength (dimensionless).
    lock : LockResult
        ``classify_locking`` of the spike trains after ``t_skip``.
    f_master_hz, f_slave_hz : float
        Firing frequencies (Hz).
    """

    d: float
    lock: LockResult
    f_master_hz: float
    f_slave_hz: float

    @property
    def mode(self) -> str:
        """``"n:m"`` when locked, else ``"unlocked"`` (``"silent"`` without slave spikes)."""
        if not math.isfinite(self.f_slave_hz):
            return "silent"
        return self.lock.mode


def _g(u: FloatArray, alpha: float, beta: float) -> FloatArray:
    return np.where(u < 0.0, alpha * u, beta * u)


def _temperature(v: FloatArray, w: FloatArray, m: ZrO2Params) -> tuple[FloatArray, FloatArray]:
    """Quasi-static device temperature (K) and current (A): three fixed-point sweeps."""
    temp = np.full(np.shape(v), m.t0)
    i = current(v, w, m.eb, m.rho, temp, m)
    for _ in range(3):
        temp = m.t0 + m.dtmax * np.tanh(m.rth * np.maximum(v * i, 0.0) / m.dtmax)
        i = current(v, w, m.eb, m.rho, temp, m)
    return temp, i


def _softplus(x: FloatArray, s: float) -> FloatArray:
    return s * np.logaddexp(0.0, x / s)


def _dwdt(v: FloatArray, w: FloatArray, temp: FloatArray, m: ZrO2Params) -> FloatArray:
    kt = m.kb * temp
    up = np.exp(np.minimum(-_softplus(m.em - m.alpha1 * v, m.esm) / kt, 80.0))
    down = np.exp(np.minimum(-_softplus(m.em + m.alpha1 * v, m.esm) / kt, 80.0))
    return m.b0 * ((1.0 - w) * up - w * down)


def simulate_master(
    p: CoupledParams, mem: ZrO2Params | None = None, *, dt: float = 0.1e-3
) -> MasterRun:
    """Integrate the master neuron and the memristor it drives.

    Parameters
    ----------
    p : CoupledParams
        Model constants (``d`` is not used here).
    mem : ZrO2Params, optional
        Memristor constants; default the ``zro2`` library defaults without random draws.
    dt : float, optional
        Spacing (s) of the returned samples. Default 0.1 ms.

    Returns
    -------
    MasterRun
    """
    m = mem if mem is not None else ZrO2Params.from_library(mc=0.0)

    kb, t0, dtmax, rth = m.kb, m.t0, m.dtmax, m.rth
    g_lrs = m.area / (m.rho * m.lam)

    def i_of(volts: float, w: float, temp: float) -> float:
        sq = (volts * volts + 1e-8) ** 0.25
        pf = m.aa * math.exp(min(-(m.eb - m.bpf * sq) / (kb * temp), 80.0))
        wc = min(max(w, 0.0), 1.0)
        return volts * (wc * g_lrs + (1.0 - wc) * m.area * pf)

    def sp(x: float) -> float:
        return x if x / m.esm > 30.0 else m.esm * math.log1p(math.exp(x / m.esm))

    def rhs(_t: float, y: FloatArray) -> list[float]:
        # scalar twin of _temperature/_dwdt (this is the hot loop of the stiff solver)
        u, v, w = float(y[0]), float(y[1]), float(y[2])
        volts = p.amp * u
        temp = t0
        for _ in range(3):
            temp = t0 + dtmax * math.tanh(rth * max(volts * i_of(volts, w, temp), 0.0) / dtmax)
        kt = kb * temp
        up = math.exp(min(-sp(m.em - m.alpha1 * volts) / kt, 80.0))
        down = math.exp(min(-sp(m.em + m.alpha1 * volts) / kt, 80.0))
        du = (u - u * u * u / 3.0 - v) / p.tau0
        dv = p.eps * ((p.alpha if u < 0 else p.beta) * u - p.i1) / p.tau0
        return [du, dv, m.b0 * ((1.0 - w) * up - w * down)]

    sol = solve_ivp(rhs, (0.0, p.tstop), [p.u10, p.v10, p.mw0], method="LSODA",
                    rtol=1e-7, atol=[1e-7, 1e-7, 1e-7], max_step=0.05 * p.tau0,
                    dense_output=True)
    if not sol.success:
        raise RuntimeError(f"master/memristor integration failed: {sol.message}")
    t = np.arange(0.0, p.tstop + 0.5 * dt, dt)
    u1, _, w = sol.sol(t)
    _, i = _temperature(p.amp * u1, w, m)
    return MasterRun(t, u1, w, i, _Current(sol.sol, p.amp, m))


class _Current:
    """Memristor current (A) at arbitrary times from the master's dense output."""

    def __init__(self, dense: object, amp: float, m: ZrO2Params) -> None:
        self.dense = dense
        self.amp = amp
        self.m = m

    def __call__(self, t: FloatArray) -> FloatArray:
        y = self.dense(t)  # type: ignore[operator]
        _, i = _temperature(self.amp * y[0], y[2], self.m)
        return np.asarray(i, dtype=np.float64)


def simulate_slaves(
    p: CoupledParams,
    master: MasterRun,
    d: Sequence[float] | FloatArray,
    *,
    h: float | None = None,
    record_dt: float = 0.1e-3,
) -> CoupledRun:
    """Integrate one slave per coupling strength, all driven by the same master.

    Parameters
    ----------
    p : CoupledParams
        Model constants (``p.d`` is ignored; ``d`` gives the strengths).
    master : MasterRun
        From :func:`simulate_master` with the same ``p``.
    d : sequence of float
        Coupling strengths (dimensionless).
    h : float, optional
        RK4 step (s); default ``tau_slave / 40``.
    record_dt : float, optional
        Spacing of the stored slave samples (s). Default 0.1 ms.

    Returns
    -------
    CoupledRun
    """
    dv = np.asarray(d, dtype=np.float64).reshape(-1)
    tau = p.tau_slave
    step = tau / 40.0 if h is None else h
    every = max(1, int(round(record_dt / step)))
    step = record_dt / every
    n = int(math.floor(p.tstop / step + 1e-9))
    # forcing at every half step, in chunks (dense output evaluation is vectorised)
    cur = master.sol
    tg = np.arange(2 * n + 1) * (0.5 * step)
    c = np.empty(tg.size)
    for k in range(0, tg.size, 200_000):
        c[k:k + 200_000] = cur(tg[k:k + 200_000]) / p.iref  # type: ignore[operator]
    u = np.full(dv.size, p.u20)
    v = np.full(dv.size, p.v20)
    out = np.empty((n // every + 1, dv.size))
    out[0] = u
    a, b, eps, i2 = p.alpha, p.beta, p.eps, p.i2
    inv = 1.0 / tau

    def f(uu: FloatArray, vv: FloatArray, cc: float) -> tuple[FloatArray, FloatArray]:
        return ((uu - uu * uu * uu / 3.0 - vv + dv * cc) * inv,
                eps * (np.where(uu < 0.0, a * uu, b * uu) - i2) * inv)

    for k in range(n):
        c0, c1, c2 = c[2 * k], c[2 * k + 1], c[2 * k + 2]
        k1u, k1v = f(u, v, c0)
        k2u, k2v = f(u + 0.5 * step * k1u, v + 0.5 * step * k1v, c1)
        k3u, k3v = f(u + 0.5 * step * k2u, v + 0.5 * step * k2v, c1)
        k4u, k4v = f(u + step * k3u, v + step * k3v, c2)
        u = u + step / 6.0 * (k1u + 2 * k2u + 2 * k3u + k4u)
        v = v + step / 6.0 * (k1v + 2 * k2v + 2 * k3v + k4v)
        if (k + 1) % every == 0:
            out[(k + 1) // every] = u
    t = np.arange(out.shape[0], dtype=np.float64) * record_dt
    return CoupledRun(master, dv, t, out)


def simulate(
    d: Sequence[float] | FloatArray, p: CoupledParams | None = None, **overrides: float
) -> CoupledRun:
    """Master, memristor and one slave per value of ``d`` (defaults from the deck)."""
    pp = p if p is not None else CoupledParams.from_deck()
    if overrides:
        pp = replace(pp, **overrides)
    return simulate_slaves(pp, simulate_master(pp), d)


def classify_run(run: CoupledRun, *, t_skip: float = 0.5) -> list[PointResult]:
    """Spike trains after ``t_skip`` (s) and their n:m locking, one result per ``d``."""
    tm: SpikeTrain = detect_spikes(run.master.t, run.master.u1).after(t_skip)
    out = []
    for k, dk in enumerate(run.d):
        ts = detect_spikes(run.t, run.u2[:, k]).after(t_skip)
        out.append(PointResult(float(dk), classify_locking(tm, ts), tm.frequency_hz,
                               ts.frequency_hz))
    return out


def scan(
    d: Sequence[float] | FloatArray, p: CoupledParams | None = None, *, t_skip: float = 0.5,
    **overrides: float,
) -> list[PointResult]:
    """Locking results over a grid of coupling strengths."""
    return classify_run(simulate(d, p, **overrides), t_skip=t_skip)


def find_edge(
    lo: float, hi: float, inside: str, p: CoupledParams | None = None, *, tol: float = 1e-3,
    batch: int = 8, t_skip: float = 0.5,
) -> float:
    """Coupling strength where the mode switches to/from ``inside`` between ``lo`` and ``hi``.

    Exactly one of ``lo``, ``hi`` must have mode ``inside``; the interval is refined by
    evaluating ``batch`` points at a time (one vectorised run) until it is shorter than ``tol``.

    Returns
    -------
    float
        Midpoint of the final interval (dimensionless).
    """
    pp = p if p is not None else CoupledParams.from_deck()
    master = simulate_master(pp)

    def modes(ds: FloatArray) -> list[bool]:
        return [r.mode == inside for r in classify_run(simulate_slaves(pp, master, ds),
                                                        t_skip=t_skip)]

    a, b = lo, hi
    ends = modes(np.array([a, b]))
    if ends[0] == ends[1]:
        raise ValueError(f"both ends of [{lo}, {hi}] are {'in' if ends[0] else 'out of'} {inside}")
    while b - a > tol:
        grid = np.linspace(a, b, batch + 2)
        flags = modes(grid[1:-1])
        states = [ends[0], *flags, ends[1]]
        for k in range(len(grid) - 1):
            if states[k] != states[k + 1]:
                a, b = float(grid[k]), float(grid[k + 1])
                ends = [states[k], states[k + 1]]
                break
    return 0.5 * (a + b)
