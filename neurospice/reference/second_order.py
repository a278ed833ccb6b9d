"""NumPy/SciPy references of the second-order memristor (seed 001, MODELS.md section 2).

The device is the ``.subckt second_order`` of ``netlists/lib/memristors.lib``; its defaults are
read from that ``.subckt`` line (the library is the one source of truth).  Two models of it, both
functions of a *pulse protocol* (a sequence of constant-voltage :class:`Segment` s):

* :func:`simulate_full` - the full model: the implicit v-i law (eq. 1), the sub-filament radius
  ``r`` and the gap ``g`` (reconstructed eqs. 2-4, see ``docs/second_order.md``) and the two
  temperatures ``T``, ``Tb`` (eqs. 5-6), integrated with ``scipy.integrate.solve_ivp`` (LSODA);
  the same equations, regularisations included, as the subcircuit.
* :func:`simulate_simplified` - the paper's simplified two-variable model: ``G = G(r)`` (eq. 10),
  ``(1/G) dG/dt = exp(-Ea/kT) phi(G)`` (eqs. 12-13, here integrated in ``r`` in closed form per
  sub-step), ``T = Tb + G v^2/kth1`` (eq. 16) with ``Tb`` exact for ``G`` frozen over a sub-step
  (eq. 14).  Fast (pure Python, ~10 us per sub-step).
* :func:`pulse_variation` - the paper's single-pulse accounting (eqs. 12, 17, 20-21): the change
  of ``G`` by one programming pulse whose temperature is raised by the heating pulse of a spike
  that began ``gamma*tH`` earlier.  Used by the crossbar map (:mod:`neurospice.reference.crossbar`).

Sign convention (as the subcircuit): ``v > 0`` (pin p positive) depresses (``r -> rm``), ``v < 0``
potentiates (``r -> r0``).  Lengths are metres in :class:`SecondOrderParams` (as on the
``.subckt`` line) and nanometres inside the integrators; conductances in siemens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from neurospice.spice.library import subckt_defaults

__all__ = [
    "LIB_PATH",
    "SecondOrderParams",
    "Segment",
    "SimplifiedResult",
    "FullResult",
    "simulate_simplified",
    "simulate_full",
    "device_current",
    "gap_rate",
    "programming_temperature",
    "pulse_variation",
]

FloatArray = NDArray[np.float64]

#: The memristor library (package data).
LIB_PATH: Path = Path(__file__).resolve().parents[1] / "netlists" / "lib" / "memristors.lib"


@dataclass(frozen=True)
class SecondOrderParams:
    """Parameters of ``.subckt second_order`` (SI units as on the ``.subckt`` line).

    Build it with :meth:`from_library`; the defaults live in ``memristors.lib`` only.
    Lengths in m, ``ea``/``esm`` in eV, ``kb`` in eV/K, ``kth*`` in W/K, ``cp*`` in J/K.
    """

    w0: float
    gap0: float
    ll: float
    l0: float
    r0: float
    rm: float
    rho: float
    i0: float
    v0: float
    gm: float
    ea: float
    f0: float
    a: float
    alpha: float
    beta: float
    kth1: float
    kth2: float
    cp1: float
    cp2: float
    t0: float
    kb: float
    vs: float
    dlt: float
    esm: float
    vgmax: float

    @classmethod
    def from_library(cls, path: Path = LIB_PATH, **overrides: float) -> SecondOrderParams:
        """Defaults of ``.subckt second_order`` in ``path``, with ``overrides`` applied."""
        d = subckt_defaults(path, "second_order")
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in d and n not in overrides]
        if missing:
            raise KeyError(f"second_order in {path} lacks parameters {missing}")
        vals = {n: float(overrides.get(n, d[n])) for n in names}
        return cls(**vals)

    # ------------------------------------------------------------------ derived constants
    @property
    def rs(self) -> float:
        """Series resistance of the base filament ``Rs = rho L0/(pi r0^2)`` (ohm)."""
        return self.rho * self.l0 / (math.pi * self.r0**2)

    @property
    def gmax(self) -> float:
        """``Gmax = G(r0) = 1/(2 Rs)`` (S), eq. 23."""
        return 1.0 / (2.0 * self.rs)

    @property
    def gmin(self) -> float:
        """``Gmin = G(rm) = 1/(Rs (1 + (r0/rm)^2))`` (S), eq. 23."""
        return 1.0 / (self.rs * (1.0 + (self.r0 / self.rm) ** 2))

    @property
    def tau_t(self) -> float:
        """Filament thermal time constant ``cp1/kth1`` (s), eq. 7."""
        return self.cp1 / self.kth1

    @property
    def tau_b(self) -> float:
        """Bulk thermal time constant ``cp2/kth2`` (s), eq. 8."""
        return self.cp2 / self.kth2

    def g_of_r(self, r: float) -> float:
        """Conductance ``G(r) = 1/(Rs (1 + (r0/r)^2))`` (S) of a radius ``r`` (m), eq. 10."""
        return 1.0 / (self.rs * (1.0 + (self.r0 / r) ** 2))

    def r_of_g(self, g: float) -> float:
        """Radius ``r = r0 sqrt(Rs G/(1 - Rs G))`` (m) of a conductance ``g`` (S), eq. 11."""
        x = self.rs * g
        if not 0.0 < x < 1.0:
            raise ValueError(f"conductance {g} S outside (0, 1/Rs)")
        return self.r0 * math.sqrt(x / (1.0 - x))

    def w_of_g(self, g: float) -> float:
        """Normalised radius ``(r - rm)/(r0 - rm)`` (the subcircuit's ``w0``) of ``g`` (S)."""
        return (self.r_of_g(g) - self.rm) / (self.r0 - self.rm)


@dataclass(frozen=True)
class Segment:
    """A constant voltage ``v`` (V, pin p against pin n) held for ``duration`` (s)."""

    v: float
    duration: float


# ---------------------------------------------------------------------------- shared pieces


def _gate(v: float, p: SecondOrderParams) -> float:
    """Polarity gate ``tanh(|v|/vs)`` of the radius rate (0 at v = 0, ~1 beyond 4 vs)."""
    return math.tanh(abs(v) / p.vs)


def _rate_k(temp: float, v: float, p: SecondOrderParams) -> float:
    """``K = beta f exp(-Ea/kT) a^2/2 gate(v)`` in nm^2/s: ``dr/dt = -K/(r - rm)`` (v > 0)."""
    an = p.a * 1e9
    return p.beta * p.f0 * math.exp(-p.ea / (p.kb * temp)) * an * an / 2.0 * _gate(v, p)


def _step_r(r: float, k: float, v: float, h: float, p: SecondOrderParams) -> float:
    """Exact update of the radius (nm) over ``h`` s for a frozen rate coefficient ``k``.

    Depression (v > 0): ``dr/dt = -k/(r - rm)``, so ``(r - rm)^2`` falls by ``2 k h``.
    Potentiation (v < 0): ``dr/dt = k (r0/r)^2/(r - rm)``, so ``F(r) = r^4/4 - rm r^3/3`` grows by
    ``k r0^2 h`` (solved by Newton; ``F`` is increasing for ``r > rm``).  Clipped to [rm, r0].
    """
    rmn, r0n = p.rm * 1e9, p.r0 * 1e9
    if k == 0.0 or v == 0.0:
        return r
    if v > 0:
        d2 = (r - rmn) ** 2 - 2.0 * k * h
        return rmn + math.sqrt(d2) if d2 > 0 else rmn

    def big_f(x: float) -> float:
        return x**4 / 4.0 - rmn * x**3 / 3.0

    target = big_f(r) + k * r0n * r0n * h
    if target >= big_f(r0n):
        return r0n
    x = r
    for _ in range(60):
        fx = big_f(x) - target
        dfx = x * x * (x - rmn)
        if dfx <= 0:
            x = rmn + 1e-6
            continue
        nx = min(max(x - fx / dfx, rmn + 1e-9), r0n)
        if abs(nx - x) < 1e-12:
            x = nx
            break
        x = nx
    return x


# ---------------------------------------------------------------------------- simplified model


@dataclass(frozen=True)
class SimplifiedResult:
    """Simplified model over a protocol: values at the end of each segment.

    Attributes
    ----------
    t
        End time of each segment (s).
    g
        Conductance ``G(r)`` (S).
    temp
        Largest filament temperature ``T`` in the segment (K).
    tb
        Bulk temperature at the end of the segment (K).
    """

    t: FloatArray
    g: FloatArray
    temp: FloatArray
    tb: FloatArray

    @property
    def g_final(self) -> float:
        """Conductance after the protocol (S)."""
        return float(self.g[-1])


def simulate_simplified(
    segments: Sequence[Segment],
    g0: float,
    params: SecondOrderParams | None = None,
    *,
    tb0: float | None = None,
    max_substep: float | None = None,
    rel_step: float = 2e-3,
) -> SimplifiedResult:
    """Run the simplified (G, T) model (eqs. 10-16) over a pulse protocol.

    Parameters
    ----------
    segments
        The protocol: constant voltages (V) and their durations (s).
    g0
        Initial conductance ``G`` (S), in ``(Gmin, Gmax]``.
    params
        Device parameters (default: the library's).
    tb0
        Initial bulk temperature (K); default the ambient ``t0``.
    max_substep
        Longest sub-step while a voltage is applied (s); default ``tau_b/8``. Rests (v = 0) are
        one exact step (nothing moves but ``Tb``).
    rel_step
        Largest relative change of the radius per sub-step (-): the steps shrink where the
        device programs fast (the heating feedback ``G -> T -> rate`` is resolved).

    Returns
    -------
    SimplifiedResult
    """
    p = params or SecondOrderParams.from_library()
    hmax = max_substep if max_substep is not None else p.tau_b / 8.0
    r = p.r_of_g(g0) * 1e9
    rmn = p.rm * 1e9
    tb = p.t0 if tb0 is None else tb0
    t = 0.0
    n = len(segments)
    out_t, out_g, out_temp, out_tb = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for j, seg in enumerate(segments):
        v, dur = seg.v, seg.duration
        if v == 0.0:
            tb = p.t0 + (tb - p.t0) * math.exp(-dur / p.tau_b)
            tmax = tb
        else:
            left = dur
            tmax = 0.0
            while left > 0.0:
                g = p.g_of_r(r * 1e-9)
                tinf = p.t0 + g * v * v / p.kth2
                # step: at most hmax, and small enough that r moves by at most ~rel_step
                temp0 = tb + g * v * v / p.kth1
                rel = _rate_k(temp0, v, p) / max(r - rmn, 1e-3) / r
                h = min(left, hmax, rel_step / rel if rel > 0 else left)
                # T at the middle of the sub-step (eq. 16 with Tb from eq. 14)
                tb_mid = tinf + (tb - tinf) * math.exp(-0.5 * h / p.tau_b)
                temp = tb_mid + g * v * v / p.kth1
                tmax = max(tmax, temp)
                r = _step_r(r, _rate_k(temp, v, p), v, h, p)
                tb = tinf + (tb - tinf) * math.exp(-h / p.tau_b)
                left -= h
        t += dur
        out_t[j], out_g[j], out_temp[j], out_tb[j] = t, p.g_of_r(r * 1e-9), tmax, tb
    return SimplifiedResult(t=out_t, g=out_g, temp=out_temp, tb=out_tb)


def programming_temperature(
    g: float,
    gamma: float,
    *,
    vp: float,
    vh: float,
    ts: float,
    th: float,
    params: SecondOrderParams | None = None,
    rser: float = 0.0,
) -> float:
    """Filament temperature during a programming pulse, eq. 17 (K).

    ``T = 300 K + G (VP^2/kth1 + VP^2/kth2 (1 - exp(-ts/tau_b)) + eta(gamma) VH^2/kth2)``: the
    heating is linear in ``G`` (the power ``G V^2`` of a voltage pulse), which is why ``|dG/G|``
    of a pair rises with ``G0`` at the paper's constants (docs/second_order.md section 3).

    Parameters
    ----------
    g
        Conductance (S), frozen over the pulse.
    gamma
        Start of the programming pulse after the start of the other spike's heating pulse, in
        units of ``th``; ``gamma = inf`` for a device at rest.
    vp, vh
        Programming and heating amplitudes (V).
    ts, th
        Programming and heating durations (s).
    rser
        A resistance (ohm) in series with the device, *not in the paper* (0 there): the pulses
        reach the device as ``V/(1 + G rser)``, so every heating term is divided by
        ``(1 + G rser)^2`` and the power stops growing with ``G`` above ``1/rser``.
    """
    p = params or SecondOrderParams.from_library()
    if not math.isfinite(gamma):
        eta = 0.0
    elif gamma < 1.0:
        eta = math.exp(-ts / p.tau_b) * (1.0 - math.exp(-gamma * th / p.tau_b))
    else:
        eta = math.exp(-(ts + (gamma - 1.0) * th) / p.tau_b) * (1.0 - math.exp(-th / p.tau_b))
    if rser < 0 or not math.isfinite(rser):
        raise ValueError(f"series resistance {rser} ohm must be finite and >= 0")
    return p.t0 + g / (1.0 + g * rser) ** 2 * (
        vp * vp / p.kth1 + vp * vp / p.kth2 * (1.0 - math.exp(-ts / p.tau_b))
        + eta * vh * vh / p.kth2
    )


def pulse_variation(
    g: float,
    gamma: float,
    *,
    sign: int,
    vp: float,
    vh: float,
    ts: float,
    th: float,
    params: SecondOrderParams | None = None,
    rel_step: float = 0.0,
    rser: float = 0.0,
) -> float:
    """Change of ``G`` (S) by one programming pulse at the temperature of eq. 17.

    The paper's single-pulse accounting of a pair (eqs. 12-13, 17, 20-21): ``sign = +1`` for a
    potentiating pulse (post after pre, ``v < 0`` on the device), ``-1`` for a depressing one.
    The pulse is integrated in steps that move the radius by at most ``rel_step`` (relative),
    each at the temperature of eq. 17 for the conductance and the time at its middle.  The
    default ``rel_step = 0`` is the paper's accounting: ``G`` frozen over the pulse, one step at
    the end-of-pulse temperature (eq. 17 into eq. 12).  At the seed's rate constant (8e3) and
    2.2 V the two agree within 0.1 % of G; with pulses that move ``G`` by tens of per cent the
    frozen step misses the feedback ``G -> T -> rate`` (a depressing 3.0 V pulse at 1.2 mS:
    -72 % frozen, -21 % followed); ``rel_step = 0.01`` follows it.  The result is not clipped
    beyond what the radius bounds impose.  ``rser`` (ohm, not in the paper; default 0) is a
    resistance in series with the device (:func:`programming_temperature`).
    """
    p = params or SecondOrderParams.from_library()
    v = -vp if sign > 0 else vp
    r = p.r_of_g(g) * 1e9
    rmn = p.rm * 1e9
    gg = g
    if rel_step <= 0 or not math.isfinite(rel_step):
        temp = programming_temperature(g, gamma, vp=vp, vh=vh, ts=ts, th=th, params=p,
                                       rser=rser)
        r = _step_r(r, _rate_k(temp, v, p), v, ts, p)
        return p.g_of_r(r * 1e-9) - g
    t = 0.0
    while t < ts:
        temp = programming_temperature(gg, gamma, vp=vp, vh=vh, ts=t, th=th, params=p,
                                       rser=rser)
        k = _rate_k(temp, v, p)
        rel = k / max(r - rmn, 1e-3) / r
        h = min(ts - t, rel_step / rel if rel > 0 else ts)
        temp = programming_temperature(gg, gamma, vp=vp, vh=vh, ts=t + 0.5 * h, th=th, params=p,
                                       rser=rser)
        r = _step_r(r, _rate_k(temp, v, p), v, h, p)
        gg = p.g_of_r(r * 1e-9)
        t += h
        if (sign > 0 and gg >= p.gmax * (1 - 1e-12)) or (sign < 0 and gg <= p.gmin * (1 + 1e-12)):
            break
    return gg - g


# ---------------------------------------------------------------------------- full model


def device_current(v: float, r_nm: float, g_nm: float, p: SecondOrderParams) -> float:
    """Current (A) of eq. 1 for voltage ``v`` (V), radius ``r_nm`` and gap ``g_nm`` (nm).

    Solves ``v = R(r, g) i + V0 asinh((i/I0) exp(g/gm))`` (monotone in ``i``) by safeguarded
    Newton iterations; exactly 0 at ``v = 0``.
    """
    if v == 0.0:
        return 0.0
    s = 1.0 if v > 0 else -1.0
    va = abs(v)
    g_c = min(max(g_nm, 0.0), p.l0 * 1e9 - 0.05)
    res = p.rs * (1.0 + ((p.ll - p.l0) * 1e9 - g_c) / (p.l0 * 1e9) * (p.r0 * 1e9 / r_nm) ** 2)
    c = math.exp(g_c / (p.gm * 1e9)) / p.i0
    lo, hi = 0.0, va / res
    i = min(hi, va / (res + p.v0 * c))
    for _ in range(100):
        fi = res * i + p.v0 * math.asinh(c * i) - va
        if fi > 0:
            hi = i
        else:
            lo = i
        dfi = res + p.v0 * c / math.sqrt(1.0 + (c * i) ** 2)
        ni = i - fi / dfi
        if not lo <= ni <= hi:
            ni = 0.5 * (lo + hi)
        if abs(ni - i) <= 1e-15 + 1e-12 * abs(i):
            i = ni
            break
        i = ni
    return s * i


def _sp(x: float, s: float) -> float:
    return x if x / s > 30 else s * math.log1p(math.exp(min(x / s, 30.0)))


def gap_rate(g_nm: float, v: float, temp: float, p: SecondOrderParams) -> float:
    """Reconstructed ``dg/dt`` (nm/s) at gap ``g_nm`` (nm), voltage ``v`` (V), temperature (K).

    ``f [2a sinh(a v/(g kT)) exp(-Ea/kT) - alpha a^2 exp(-Ea/kT)/(L0 - g)]`` for ``g >> a``, with
    the lowered barriers floored at 0, the field length ``sqrt(g^2 + a^2)`` and the speed limit
    ``rate/(1 + |rate|/vgmax)`` (see the subcircuit).  Its zero ``g_hat(v, T)`` is the largest
    gap the device reaches (Appendix A).
    """
    an, dn, l0n = p.a * 1e9, p.dlt * 1e9, p.l0 * 1e9
    gapc = min(max(g_nm, 0.0), l0n - 0.05)
    kt = p.kb * temp
    field = an * v / math.sqrt(gapc * gapc + an * an)
    win = gapc / (gapc + dn)
    raw = p.f0 * (
        an * (math.exp(-_sp(p.ea - field, p.esm) / kt)
              - math.exp(-_sp(p.ea + field, p.esm) / kt) * win)
        - p.alpha * an * an * math.exp(-p.ea / kt) / (l0n - gapc) * win
    )
    return raw / (1.0 + abs(raw) / (p.vgmax * 1e9))


def _full_rhs(v: float, y: FloatArray, p: SecondOrderParams) -> list[float]:
    """Time derivatives of ``(w, g [nm], T [K], Tb [K])`` (the subcircuit's equations)."""
    w, gap, temp, tb = float(y[0]), float(y[1]), float(y[2]), float(y[3])
    r0n, rmn, an, dn = p.r0 * 1e9, p.rm * 1e9, p.a * 1e9, p.dlt * 1e9
    rad = rmn + (r0n - rmn) * min(max(w, 0.0), 1.0)
    radu = (r0n - rmn) * w
    i = device_current(v, rad, gap, p)
    pw = max(v * i, 0.0)
    temp_c = max(temp, 1.0)
    kt = p.kb * temp_c
    arr = math.exp(-p.ea / kt)
    th = math.tanh(v / p.vs)
    drdt = p.beta * p.f0 * an * an / 2.0 * arr * (
        -max(th, 0.0) * radu / (radu * radu + dn * dn)
        + max(-th, 0.0) * (r0n / rad) ** 2 / math.sqrt(radu * radu + dn * dn)
        * (1.0 - math.exp(min(-(1.0 - w) * (r0n - rmn) / dn, 80.0)))
    )
    dgdt = gap_rate(gap, v, temp_c, p)
    dtdt = (pw / p.kth1 + tb - temp) / p.tau_t
    dtbdt = (pw / p.kth2 + p.t0 - tb) / p.tau_b
    return [drdt / (r0n - rmn), dgdt, dtdt, dtbdt]


@dataclass(frozen=True)
class FullResult:
    """Full model over a protocol, sampled at the solver's steps.

    Attributes
    ----------
    t
        Time (s).
    w, gap, temp, tb
        Normalised radius (-), gap (nm), filament and bulk temperatures (K).
    g
        ``G(r)`` of eq. 10 (S), the conductance the simplified model tracks.
    """

    t: FloatArray
    w: FloatArray
    gap: FloatArray
    temp: FloatArray
    tb: FloatArray
    g: FloatArray

    @property
    def g_final(self) -> float:
        """``G(r)`` after the protocol (S)."""
        return float(self.g[-1])


def simulate_full(
    segments: Sequence[Segment],
    g0: float,
    params: SecondOrderParams | None = None,
    *,
    gap0: float = 0.0,
) -> FullResult:
    """Integrate the full model (eqs. 1, 5-6 and the reconstructed 2-4) over a protocol.

    Parameters
    ----------
    segments
        The protocol (V, s).
    g0
        Initial ``G(r)`` (S).
    params
        Device parameters (default: the library's).
    gap0
        Initial gap (nm).
    """
    p = params or SecondOrderParams.from_library()
    y = np.array([p.w_of_g(g0), gap0, p.t0, p.t0])
    ts_: list[FloatArray] = [np.array([0.0])]
    ys: list[FloatArray] = [y[:, None]]
    t = 0.0
    for seg in segments:
        v = seg.v
        if seg.duration <= 0:
            continue
        sol = solve_ivp(
            lambda _t, yy, v=v: _full_rhs(v, yy, p),
            (t, t + seg.duration), y, method="LSODA", rtol=1e-6,
            atol=[1e-7, 1e-6, 1e-3, 1e-3], max_step=max(seg.duration / 20, p.tau_t),
        )
        if not sol.success:
            raise RuntimeError(f"full model failed at t = {t:.4g} s: {sol.message}")
        ts_.append(sol.t[1:])
        ys.append(sol.y[:, 1:])
        y = sol.y[:, -1]
        t += seg.duration
    tt = np.concatenate(ts_)
    yy = np.concatenate(ys, axis=1)
    w = yy[0]
    rad = p.rm + (p.r0 - p.rm) * np.clip(w, 0.0, 1.0)
    g = 1.0 / (p.rs * (1.0 + (p.r0 / rad) ** 2))
    return FullResult(t=tt, w=w, gap=yy[1], temp=yy[2], tb=yy[3], g=g)
