"""The compiled integrator: many parameter points of one board at once (numba).

One call integrates ``npts`` independent copies of the compiled board (each its own parameters,
random draws and initial state), in parallel over points (``numba.prange``; threads, no GIL).

Each step (of ``h`` s, fixed, or chosen by its error: :func:`integrate`):

* neurons (``V``, ``I_L``): Dormand-Prince 5(4) (7 stages, the last at the new point); every
  stage re-solves each branch's current (algebraic: ``i = G E / (1 + G R)`` for a device of
  conductance ``G`` in series with ``R``; the Poole-Frenkel conductance and the device
  temperature from the previous stage's device voltage);
* memristor state ``w``: held during the stage evaluations; advanced by ``h/2`` before them with
  the rates at the step's start and by ``h/2`` after them with the rates at its end (Strang
  splitting; at a fixed step, ``w`` lives at half steps). ``zro2``: exactly,
  ``w -> w_inf + (w - w_inf) exp(-(k_set + k_reset) h/2)`` (the two-rate equation is linear in
  ``w``; rates up to ``b0`` = 1e6 /s make it stiff, and this update is unconditionally stable and
  stays in [0, 1]); ``biolek``, ``pershin``: explicit Euler, clipped to [0, 1] (their windows
  stop the state there);
* device temperature quasi-static: ``T = t0 + dtmax tanh(rth max(v i, 0) / dtmax)`` (``tauth`` =
  1 us, far below ``h``);
* compiled bodies (:mod:`.network`): the device is solved on its path (:func:`_solve_compiled`:
  secant conductance, or Newton on the current of a series chain), its quasi-static states
  refreshed with that solution; each state steps by exponential Euler with a difference
  derivative (exact for a rate linear in the state), or, where the rate is flat over a large step,
  by backward Euler with the device re-solved at each trial state (:func:`_backward_euler`); a
  step neither can vouch for is recorded for the engine to refuse.

Tables (``F``, ``H``, ``B`` on a uniform voltage grid) are cubic splines through the measured
samples (:func:`spline_table`), extrapolated with their end slopes.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

from neurospice.sim.model.network import X_STATE, evaluate_x
from neurospice.sim.model.online import BIG, RING, detect_finish, detect_sample

__all__ = ["DEV_BIOLEK", "DEV_COMPILED", "DEV_PERSHIN", "DEV_ZRO2", "NPRM", "P",
           "integrate", "spline_table"]

FloatArray = NDArray[np.float64]

DEV_ZRO2, DEV_BIOLEK, DEV_PERSHIN, DEV_COMPILED = 0, 1, 2, 3


class P:
    """Slots of the per-device parameter vector (``prm[point, device, slot]``)."""

    # zro2
    ALPHA1, B0, ESM, BPF, AA, LAM, AREA, T0, RTH, DTMAX, KB, TC2C, TD2C = range(13)
    # biolek: ron, roff, k = uv*ron/d^2, p
    RON, ROFF, KMOB, PEXP = 0, 1, 2, 3
    # pershin: ron, roff, alpha, beta, vth, dlim
    PALPHA, PBETA, VTH, DLIM = 2, 3, 4, 5


NPRM = 13
# module-level copies of the slots (numba reads globals, not class attributes)
_ALPHA1, _B0, _ESM, _BPF, _AA, _LAM, _AREA, _T0, _RTH, _DTMAX, _KB, _TC2C, _TD2C = range(13)
_RON, _ROFF, _KMOB, _PEXP = 0, 1, 2, 3
_PALPHA, _PBETA, _VTH, _DLIM = 2, 3, 4, 5


def spline_table(y: FloatArray, dv: float) -> FloatArray:
    """A table on a uniform grid of ``dv`` as the kernel reads it: per cell the coefficients of
    ``u**0 .. u**3`` (``u`` the voltage above the cell's start) of the not-a-knot cubic spline
    through the samples (scipy's ``CubicSpline``), between two cells that continue the ends
    along their slopes. A spline, not the straight lines between samples: the adaptive steps'
    error estimate needs a right-hand side with continuous derivatives."""
    from scipy.interpolate import CubicSpline

    y = np.asarray(y, dtype=np.float64)
    x = np.arange(y.size) * dv
    cs = CubicSpline(x, y)
    out = np.zeros((y.size + 1, 4))
    out[1:-1] = cs.c[::-1].T
    out[0, :2] = y[0], cs(x[0], 1)
    out[-1, :2] = y[-1], cs(x[-1], 1)
    return out


@nb.njit(cache=True, fastmath=True, inline="always")
def _interp(tab: FloatArray, row: int, x: float, vmin: float, inv_dv: float) -> float:
    """Table ``row`` of ``tab`` (:func:`spline_table`) at ``x`` (grid from ``vmin``, step
    ``1 / inv_dv``)."""
    n = tab.shape[1] - 2  # cells inside the grid
    s = (x - vmin) * inv_dv
    i = int(math.floor(s))
    if i < 0:
        c = 0
        u = s / inv_dv
    elif i >= n:
        c = n + 1
        u = (s - n) / inv_dv
    else:
        c = i + 1
        u = (s - i) / inv_dv
    return ((tab[row, c, 3] * u + tab[row, c, 2]) * u + tab[row, c, 1]) * u + tab[row, c, 0]


@nb.njit(cache=True, fastmath=True, inline="always")
def _softplus(x: float, s: float) -> float:
    if x > 30.0 * s:
        return x
    return s * math.log1p(math.exp(x / s))


@nb.njit(cache=True, fastmath=True, inline="always")
def _zro2_gpf(v: float, eb: float, temp: float, prm: FloatArray, j: int) -> float:
    """Poole-Frenkel conductance of the whole area (S) at device voltage ``v`` (V)."""
    sq = math.sqrt(math.sqrt(v * v + 1e-8))
    ex = -(eb - prm[j, _BPF] * sq) / (prm[j, _KB] * temp)
    if ex > 80.0:
        ex = 80.0
    return prm[j, _AREA] * prm[j, _AA] * math.exp(ex)


@nb.njit(cache=True, fastmath=True, inline="always")
def _zro2_temp(p_el: float, prm: FloatArray, j: int) -> float:
    if p_el <= 0.0:
        return prm[j, _T0]
    x = prm[j, _RTH] * p_el / prm[j, _DTMAX]
    if x < 0.02:  # tanh's series (the next term, 17 x^7 / 315, is < 1e-13 x here)
        x2 = x * x
        th = x * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0)))
    else:
        th = math.tanh(x)
    return prm[j, _T0] + prm[j, _DTMAX] * th


@nb.njit(cache=True, fastmath=True, inline="always")
def _lin_g(w: float, model: int, prm: FloatArray, j: int) -> float:
    wc = min(max(w, 0.0), 1.0)
    if model == DEV_BIOLEK:
        return 1.0 / (prm[j, _RON] * wc + prm[j, _ROFF] * (1.0 - wc))
    return 1.0 / (prm[j, _ROFF] - (prm[j, _ROFF] - prm[j, _RON]) * wc)


@nb.njit(cache=True, fastmath=False)
def _solve_compiled(code: NDArray[np.int64], blen: NDArray[np.int64], consts: FloatArray,
                    xj: FloatArray, e: float, rt: float, sg: float, d0: float,
                    chain: bool) -> tuple[float, float]:
    """Current (A -> B) and device voltage ``d`` of a compiled device on a path of EMF ``e``
    and series resistance ``rt``: ``d = e - rt i(d)`` (secant conductance through the origin,
    the current is 0 at v = 0; exact at once for a current linear in v) or, for a series
    chain whose voltage is explicit in its current, ``rt i + V(i) = e`` (Newton on ``i`` kept
    in the bracket found so far). Leaves ``x[0]``, ``x[2]`` at the solution (p -> n)."""
    prog = code[0, : blen[0]]
    cst = consts[0]
    d = d0
    i = 0.0
    if chain:
        i = sg * xj[2]
        lo = -1e300
        hi = 1e300
        for _ in range(60):
            xj[2] = sg * i
            vd = sg * evaluate_x(prog, cst, xj)
            f = rt * i + vd - e
            if f > 0.0:
                hi = min(hi, i)
            else:
                lo = max(lo, i)
            di = 1e-12 + 1e-7 * abs(i)
            xj[2] = sg * (i + di)
            df = rt + (sg * evaluate_x(prog, cst, xj) - vd) / di
            i_new = i - f / df if df > 0.0 else lo
            if not (i_new > lo and i_new < hi):
                if lo > -1e299 and hi < 1e299:
                    i_new = 0.5 * (lo + hi)
                elif lo > -1e299:
                    i_new = lo + 2.0 * abs(lo) + 1e-9
                else:
                    i_new = hi - 2.0 * abs(hi) - 1e-9
            done = abs(i_new - i) <= 1e-12 * abs(i) + 1e-18
            i = i_new
            if done:
                break
        d = e - rt * i
    else:
        for _ in range(4):
            vv = d if abs(d) > 1e-9 else 1e-6
            xj[0] = sg * vv
            g = sg * evaluate_x(prog, cst, xj) / vv
            i = g * e / (1.0 + g * rt)
            dn = e - rt * i
            done = abs(dn - d) <= 1e-12 * (abs(d) + 1e-9)
            d = dn
            if done:
                break
    xj[0] = sg * d
    xj[2] = sg * i
    return i, d


@nb.njit(cache=True, fastmath=True, inline="always")
def _branch_currents(
    vn: FloatArray, w: FloatArray, temp: FloatArray, kout: FloatArray, rser: FloatArray,
    emf: FloatArray, end_kind: NDArray[np.int64], end_idx: NDArray[np.int64],
    dev: NDArray[np.int64], dev_model: NDArray[np.int64], prm: FloatArray, draws: FloatArray,
    tab_b: FloatArray, rout: FloatArray, tab_of: NDArray[np.int64], vmin: float, inv_dv: float,
    ib: FloatArray, vdev: FloatArray, gpf: FloatArray, refresh: bool,
    bcode: NDArray[np.int64], blen: NDArray[np.int64], bconst: FloatArray, t: float,
    xs: FloatArray, dev_meta: NDArray[np.int64], dev_sign: FloatArray,
    vcvs_ctl: NDArray[np.int64], vcvs_gain: FloatArray,
) -> None:
    """Branch currents A -> B (A) and device voltages (drop along A -> B, V) for voltages vn.

    ``zro2``: the conductance is ``w G_lin + (1 - w) G_pf`` with ``G_pf`` (the Poole-Frenkel
    part, weakly voltage- and temperature-dependent) and the quasi-static temperature refreshed
    when ``refresh`` is set (from the previous device voltage; twice per step), else reused.
    """
    nb_ = rser.shape[0]
    for b in range(nb_):
        e = emf[b]
        rt = rser[b]
        for side in range(2):
            kind = end_kind[b, side]
            k = end_idx[b, side]
            if kind == 1:
                vk = vn[k]
            elif kind == 2:
                vk = kout[k] * _interp(tab_b, tab_of[k], vn[k], vmin, inv_dv)
                rt += rout[tab_of[k]]
            elif kind == 3:  # an ideal VCVS to ground, controlled by (unloaded) neuron pins
                vk = 0.0
                for c in range(2):
                    ck = vcvs_ctl[k, 2 * c]
                    ci = vcvs_ctl[k, 2 * c + 1]
                    vc = 0.0
                    if ck == 1:
                        vc = vn[ci]
                    elif ck == 2:
                        vc = kout[ci] * _interp(tab_b, tab_of[ci], vn[ci], vmin, inv_dv)
                    vk += vc if c == 0 else -vc
                vk *= vcvs_gain[k]
            else:
                vk = 0.0
            if side == 0:
                e += vk
            else:
                e -= vk
        j = dev[b]
        if j < 0:
            i = e / rt
            ib[b] = i
            continue
        m = dev_model[j]
        if m == DEV_ZRO2:
            wc = min(max(w[j], 0.0), 1.0)
            g_lin = wc * prm[j, _AREA] / (draws[j, 2] * prm[j, _LAM])
            if refresh:  # from the last device voltage and temperature
                gpf[j] = _zro2_gpf(vdev[j], draws[j, 1], temp[j], prm, j)
            g = g_lin + (1.0 - wc) * gpf[j]
            i = g * e / (1.0 + g * rt)
            d = e - rt * i
            if refresh:
                temp[j] = _zro2_temp(d * i, prm, j)
        elif m == DEV_COMPILED:
            # on its path (rt holds the body's series resistance; x[4], x[5] keep the path
            # for the state's implicit step)
            sg = dev_sign[j]
            xj = xs[j]
            xj[3] = t
            ns = dev_meta[j, 0]
            nq = dev_meta[j, 1]
            for c in range(dev_meta[j, 2]):
                xj[X_STATE + ns + nq + c] = draws[j, c]
            xj[4] = e
            xj[5] = rt
            i, d = _solve_compiled(bcode[j], blen[j], bconst[j], xj, e, rt, sg, vdev[j],
                                   dev_meta[j, 3] == 1)
            if refresh:  # quasi-static states from this solution
                xj[0] = sg * d
                for q in range(nq):
                    k = 1 + ns + q
                    xj[X_STATE + ns + q] = evaluate_x(bcode[j, k, : blen[j, k]], bconst[j, k],
                                                      xj)
        else:
            g = _lin_g(w[j], m, prm, j)
            i = g * e / (1.0 + g * rt)
            d = e - rt * i
        ib[b] = i
        vdev[j] = d  # drop along A -> B; the caller applies the device's orientation


@nb.njit(cache=True, fastmath=True, inline="always")
def _derivs(
    vn: FloatArray, il: FloatArray, ib: FloatArray, end_kind: NDArray[np.int64],
    end_idx: NDArray[np.int64], c0: FloatArray, lval: FloatArray, rs: FloatArray,
    v3: FloatArray, tab_f: FloatArray, tab_h: FloatArray, tab_of: NDArray[np.int64],
    vmin: float, inv_dv: float, dv_out: FloatArray, di_out: FloatArray,
    cccs_idx: NDArray[np.int64], cccs_gain: FloatArray,
) -> None:
    nn = vn.shape[0]
    for k in range(nn):
        dv_out[k] = 0.0
    for b in range(ib.shape[0]):
        if end_kind[b, 0] == 1:
            dv_out[end_idx[b, 0]] -= ib[b]
        if end_kind[b, 1] == 1:
            dv_out[end_idx[b, 1]] += ib[b]
    for c in range(cccs_idx.shape[0]):  # controlled currents into membranes
        dv_out[cccs_idx[c, 0]] += cccs_idx[c, 2] * cccs_gain[c] * ib[cccs_idx[c, 1]]
    for k in range(nn):
        t = tab_of[k]
        v = vn[k]
        f = _interp(tab_f, t, v, vmin, inv_dv)
        h = _interp(tab_h, t, v, vmin, inv_dv)
        dv_out[k] = (dv_out[k] - f - il[k]) / c0[k]
        di_out[k] = (v - v3[k] - h - rs[k] * il[k]) / lval[k]


@nb.njit(cache=True, fastmath=False)
def _rate_at(code: NDArray[np.int64], cst: FloatArray, x: FloatArray, slot: int, u: float,
             dcode: NDArray[np.int64], dlen: NDArray[np.int64], dconst: FloatArray, sg: float,
             chain: bool) -> float:
    """The state's rate with ``x[slot] = u`` and the device re-solved on its path (EMF
    ``x[4]``, series resistance ``x[5]``): the state's feedback through the device voltage."""
    x[slot] = u
    _solve_compiled(dcode, dlen, dconst, x, x[4], x[5], sg, sg * x[0], chain)
    return evaluate_x(code, cst, x)


@nb.njit(cache=True, fastmath=False)
def _backward_euler(code: NDArray[np.int64], cst: FloatArray, x: FloatArray, slot: int,
                    s: float, h: float, f0: float, dcode: NDArray[np.int64],
                    dlen: NDArray[np.int64], dconst: FloatArray, sg: float,
                    chain: bool) -> float:
    """Solve ``u = s + h f(u)`` for ``x[slot]`` (``f`` the program ``code``, the device
    re-solved on its path at each ``u``: :func:`_rate_at`), bracketing the root of
    ``g(u) = u - s - h f(u)`` from the explicit guess, then Newton kept in the bracket.
    Leaves ``x[slot] = u``; returns 0 when ``u`` is an equilibrium the state relaxes to faster
    than the step (``h df/du < -3``), else ``|u - s|`` (an inaccurate step)."""
    sgn = 1.0 if f0 > 0.0 else -1.0
    lo = s  # g(lo) has the sign -sgn
    step = h * f0
    hi = s
    found = False
    for _ in range(80):
        u = s + step
        g = u - s - h * _rate_at(code, cst, x, slot, u, dcode, dlen, dconst, sg, chain)
        if g * sgn >= 0.0:
            hi = u
            found = True
            break
        lo = u
        step *= 2.0
    if not found or not math.isfinite(hi):
        _rate_at(code, cst, x, slot, s + h * f0, dcode, dlen, dconst, sg, chain)
        return abs(h * f0)
    u = 0.5 * (lo + hi)
    for _ in range(100):
        g = u - s - h * _rate_at(code, cst, x, slot, u, dcode, dlen, dconst, sg, chain)
        if g * sgn >= 0.0:
            hi = u
        else:
            lo = u
        du = 1e-7 * (1.0 + abs(u))
        dg = 1.0 - h * (_rate_at(code, cst, x, slot, u + du, dcode, dlen, dconst, sg,
                                  chain) - (u - s - g) / h) / du
        u_new = u - g / dg if dg > 0.0 else 0.5 * (lo + hi)
        if not ((u_new - lo) * (u_new - hi) < 0.0):
            u_new = 0.5 * (lo + hi)
        if abs(u_new - u) <= 1e-12 * (1.0 + abs(u)) or abs(hi - lo) <= 1e-12 * (1.0 + abs(u)):
            u = u_new
            break
        u = u_new
    du = 1e-7 * (1.0 + abs(u))
    jac = _rate_at(code, cst, x, slot, u + du, dcode, dlen, dconst, sg, chain)
    jac = (jac - _rate_at(code, cst, x, slot, u, dcode, dlen, dconst, sg, chain)) / du
    return 0.0 if h * jac < -3.0 else abs(u - s)


@nb.njit(cache=True, fastmath=True, inline="always")
def _update_state(
    w: FloatArray, vpn: FloatArray, ipn: FloatArray, temp: FloatArray,
    dev_model: NDArray[np.int64], prm: FloatArray, draws: FloatArray, h: float,
    skip_thr: FloatArray, bcode: NDArray[np.int64], blen: NDArray[np.int64],
    bconst: FloatArray, t: float, xs: FloatArray, dev_meta: NDArray[np.int64],
    dev_sign: FloatArray,
) -> None:
    for j in range(w.shape[0]):
        m = dev_model[j]
        v = vpn[j]
        if m == DEV_ZRO2:
            kt = prm[j, _KB] * temp[j]
            em = draws[j, 0]
            es = _softplus(em - prm[j, _ALPHA1] * v, prm[j, _ESM]) / kt
            er = _softplus(em + prm[j, _ALPHA1] * v, prm[j, _ESM]) / kt
            if min(es, er) > skip_thr[j]:
                continue  # both rates move w by < 1e-15 over this step
            ks = prm[j, _B0] * math.exp(-min(es, 700.0))
            kr = prm[j, _B0] * math.exp(-min(er, 700.0))
            ktot = ks + kr
            if ktot > 0.0:
                winf = ks / ktot
                w[j] = winf + (w[j] - winf) * math.exp(-ktot * h)
        elif m == DEV_COMPILED:
            # exponential Euler per state (Gauss-Seidel): s += h f phi1(h J), J = df/ds by a
            # difference; exact for a rate linear in the state (zro2's), explicit for J >= 0
            xj = xs[j]
            xj[0] = v
            xj[2] = ipn[j]
            xj[3] = t
            ns = dev_meta[j, 0]
            for k in range(ns):
                code = bcode[j, 1 + k, : blen[j, 1 + k]]
                cst = bconst[j, 1 + k]
                s = xj[X_STATE + k]
                f = evaluate_x(code, cst, xj)
                ds = 1e-7 * (1.0 + abs(s))
                xj[X_STATE + k] = s + ds
                z = h * (evaluate_x(code, cst, xj) - f) / ds
                phi = math.expm1(z) / z if z < -1e-12 else 1.0
                xj[X_STATE + k] = s + h * f * phi
                if z > -0.05 and abs(h * f) > 0.05:
                    # a large step where the rate is flat (a speed limit): backward Euler,
                    # u = s + h f(u), lands on the equilibrium the state relaxes to within
                    # the step; x[1] keeps the largest step it cannot vouch for
                    xj[1] = max(xj[1], _backward_euler(code, cst, xj, X_STATE + k, s, h, f,
                                                       bcode[j], blen[j], bconst[j],
                                                       dev_sign[j], dev_meta[j, 3] == 1))
            k = 1 + ns + dev_meta[j, 1]
            w[j] = evaluate_x(bcode[j, k, : blen[j, k]], bconst[j, k], xj)
        elif m == DEV_BIOLEK:
            i = ipn[j]
            stp = 1.0 if i <= 0.0 else 0.0
            x = w[j] - stp
            win = 1.0 - x ** (2.0 * prm[j, _PEXP])
            w[j] = min(max(w[j] + h * prm[j, _KMOB] * i * win, 0.0), 1.0)
        else:
            a = prm[j, _PALPHA]
            bt = prm[j, _PBETA]
            vth = prm[j, _VTH]
            f = bt * v + 0.5 * (a - bt) * (abs(v + vth) - abs(v - vth))
            w[j] = min(max(w[j] - h * f / (prm[j, _ROFF] - prm[j, _RON]), 0.0), 1.0)


# Dormand-Prince 5(4) (Dormand & Prince 1980; the tableau of scipy's RK45, which
# tests/test_model_step.py compares with these): stage times, stage weights, the fifth-order
# weights and the error weights (fifth minus fourth order, the seventh stage at the new point)
_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0])
_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [1 / 5, 0.0, 0.0, 0.0, 0.0],
    [3 / 40, 9 / 40, 0.0, 0.0, 0.0],
    [44 / 45, -56 / 15, 32 / 9, 0.0, 0.0],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0.0],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
])
_B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84])
_E = np.array([-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40])
#: Smallest adaptive step (s): a step this short is taken whatever its error.
H_MIN = 1e-9
#: Step controller (Hairer, Norsett & Wanner, Solving ODEs I, sec. II.4, and their DOPRI5):
#: ``h *= 0.9 err**-(1/5 - 0.75 beta) err_prev**beta``; ``beta`` 0.08, the value they give for
#: problems where the step is bounded by stability (here the neurons' fast branch, -F'(V)/C up
#: to ~2000 /s, bounds it), where 0.04 and the plain controller (0) reject more steps.
_BETA = 0.08
_EXP1 = 0.2 - 0.75 * _BETA


@nb.njit(cache=True, inline="always")
def _copy_state(w: FloatArray, temp: FloatArray, gpf: FloatArray, vdev: FloatArray,
                xs: FloatArray, ib: FloatArray, w_to: FloatArray, temp_to: FloatArray,
                gpf_to: FloatArray, vdev_to: FloatArray, xs_to: FloatArray,
                ib_to: FloatArray) -> None:
    """Copy the state an adaptive step starts from (the memristor states, the quasi-static
    device temperature and conductance, the last device voltages, the compiled devices'
    variables, the branch currents) into the second set of arrays: kept when a step is
    accepted, restored when one is rejected."""
    w_to[:] = w
    temp_to[:] = temp
    gpf_to[:] = gpf
    vdev_to[:] = vdev
    xs_to[:, :] = xs
    ib_to[:] = ib


@nb.njit(cache=True, fastmath=True, inline="always")
def _set_draws(t: float, nd: int, dev_model: NDArray[np.int64], prm_p: FloatArray,
               draw_tab_p: FloatArray, draws: FloatArray) -> None:
    """The draws in force at time ``t`` (the hold interval containing it)."""
    ni = draw_tab_p.shape[1]
    for j in range(nd):
        if dev_model[j] == DEV_ZRO2 or dev_model[j] == DEV_COMPILED:
            tc = prm_p[j, _TC2C]
            td = prm_p[j, _TD2C]
            q = 0
            if t >= td and tc > 0.0:
                q = int((t - td) / tc)
            if q > ni - 1:
                q = ni - 1
            draws[j, 0] = draw_tab_p[j, q, 0]
            draws[j, 1] = draw_tab_p[j, q, 1]
            draws[j, 2] = draw_tab_p[j, q, 2]


@nb.njit(cache=True, fastmath=True, inline="always")
def _next_boundary(t: float, nd: int, dev_model: NDArray[np.int64], prm_p: FloatArray,
                   ni: int) -> float:
    """The first change of the held draws after ``t`` (``BIG`` when none follows)."""
    tb = BIG
    for j in range(nd):
        if dev_model[j] == DEV_ZRO2 or dev_model[j] == DEV_COMPILED:
            tc = prm_p[j, _TC2C]
            td = prm_p[j, _TD2C]
            if tc <= 0.0:
                continue
            q = 0
            if t >= td:
                q = int((t - td) / tc) + 1
            if q > ni - 1:
                continue  # the last interval lasts to the end
            tq = td + q * tc
            if tq <= t * (1.0 + 1e-12) + 1e-15:
                tq += tc
            tb = min(tb, tq)
    return tb


@nb.njit(cache=True, fastmath=True, parallel=True)
def integrate(
    nsteps: int, h: float, rec_every: int, rtol: float, hmax: float, wtol: float,
    dwmax: float, dev_meta: NDArray[np.int64], dev_x0: FloatArray,
    vcvs_ctl: NDArray[np.int64], vcvs_gain: FloatArray, cccs_idx: NDArray[np.int64],
    cccs_gain: FloatArray,
    v_init: FloatArray, il_init: FloatArray, w_init: FloatArray,
    c0: FloatArray, lval: FloatArray, rs: FloatArray, v3: FloatArray, kout: FloatArray,
    tab_of: NDArray[np.int64], tab_f: FloatArray, tab_h: FloatArray, tab_b: FloatArray,
    rout: FloatArray, vmin: float, dv: float,
    rser: FloatArray, emf: FloatArray, end_kind: NDArray[np.int64], end_idx: NDArray[np.int64],
    dev: NDArray[np.int64], dev_branch: NDArray[np.int64], dev_sign: FloatArray,
    dev_model: NDArray[np.int64], prm: FloatArray, draw_tab: FloatArray,
    rec_v: FloatArray, rec_w: FloatArray, rec_i: FloatArray, rec_vd: FloatArray,
    bcode: NDArray[np.int64], blen: NDArray[np.int64], bconst: FloatArray,
    det_nrn: NDArray[np.int64], det_k0: NDArray[np.int64], det_on: FloatArray,
    det_off: FloatArray, ev_t: FloatArray, ev_pk: FloatArray, ev_tr: FloatArray,
    ev_n: NDArray[np.int64], nstep_out: NDArray[np.int64],
) -> None:
    """Integrate every point over ``[0, nsteps h]`` and record it on the grid of
    ``rec_every h`` seconds (record 0 is the initial state), running the online response
    detectors (:mod:`.online`) on the same samples.

    Steps: Dormand-Prince 5(4). With ``rtol > 0`` each step is chosen by its error (the RMS
    over the neurons' ``V`` and ``I_L`` of the error over ``atol + rtol |y|``, ``atol`` =
    ``rtol`` x 1 V for ``V`` and that over the neuron's ``sqrt(L / C)`` for ``I_L``), at most
    ``hmax``, a memristor state moving by at most ``dwmax``, and ending on every change
    of the held draws; the record is the steps' cubic Hermite interpolant. With ``rtol == 0``
    every step is ``h``. ``dwmax``: the largest move of a memristor state in one adaptive step
    (its update is first order in the step). ``wtol``: a memristor state's tolerance per
    adaptive step: a step is rejected where the moves of its two half steps differ by more (the
    splitting's error grows with that difference: the rates, exponential in the device voltage,
    change over the step). The memristor states advance by half a step before the stages and
    half a step after, each with the rates at the step's end it starts from (Strang splitting; with
    a fixed step, the staggered scheme: ``w`` at half steps).

    Compiled devices (:mod:`.network`): ``dev_meta`` (nd, 4: states, quasi-static states,
    noise inputs, 1 for a series chain solved for its current), ``dev_x0`` (npts, nd, nvars:
    their variables, overwritten with the final ones; ``x[1]`` then holds the largest change of
    a state in one explicit step). Controlled sources: a branch end of kind 3 is VCVS ``e``,
    ``vcvs_gain[p, e] * (v(+) - v(-))`` with ``vcvs_ctl`` (ne, 4: kind and index of the + and -
    controls, kinds as the branch ends'); ``cccs_idx`` (nf, 3: neuron, branch, sign) injects
    ``sign * cccs_gain[p, f] * i(branch)`` into the neuron's membrane.

    Shapes: ``npts`` points, ``nn`` neurons, ``nb`` branches, ``nd`` devices, ``ni`` draw
    intervals. Per point: ``v_init, il_init, c0, lval, rs, v3, kout, tab_of`` (npts, nn);
    ``w_init`` (npts, nd); ``rser, emf`` (npts, nb); ``prm`` (npts, nd, NPRM); ``draw_tab``
    (npts, nd, ni, 3): Em (eV), Eb (eV), rho (ohm m) in force in each hold interval of
    ``prm[TC2C]`` seconds after ``prm[TD2C]`` (interval 0 before it). Shared: tables
    ``tab_f, tab_h, tab_b`` (ntab, ngrid + 1, 4: :func:`spline_table`) on ``vmin + dv*k``
    (V), ``rout`` (ntab), the branch ends ``end_kind`` (nb, 2: 0 ground, 1 mem, 2 out) and
    ``end_idx`` (neuron), ``dev`` (nb: device or -1), ``dev_branch``, ``dev_sign`` (+1: the
    branch enters at pin p), ``dev_model``.
    Outputs: ``rec_v`` (npts, 2*nn: V then I_L, nrec), ``rec_w`` (npts, nd, nrec), ``rec_i``
    (npts, nb, nrec), ``rec_vd`` (npts, nd, nrec: v(p) - v(n)); ``nrec`` may be 0 (no
    waveforms). Detectors (``ndet``, may be 0): ``det_nrn`` (neuron), ``det_k0`` (first sample),
    ``det_on``/``det_off`` (npts, ndet: V); outputs ``ev_t``/``ev_pk``/``ev_tr`` (npts, ndet,
    maxev) and the counts ``ev_n`` (npts, ndet). ``nstep_out`` (npts, 3): steps taken, steps
    rejected for their error, and for a memristor state's move.
    """
    npts = v_init.shape[0]
    nn = v_init.shape[1]
    nbr = rser.shape[1]
    nd = w_init.shape[1]
    ni = draw_tab.shape[2]
    inv_dv = 1.0 / dv
    nrec = rec_v.shape[2]
    adaptive = rtol > 0.0
    t_end = nsteps * h
    dt_rec = rec_every * h
    k_last = nsteps // rec_every
    for p in nb.prange(npts):
        vn = v_init[p].copy()
        il = il_init[p].copy()
        w = w_init[p].copy()
        temp = np.empty(nd)
        draws = np.zeros((nd, 3))
        for j in range(nd):
            temp[j] = prm[p, j, _T0] if dev_model[j] == DEV_ZRO2 else 300.0
        ib = np.zeros(nbr)
        vdev = np.zeros(nd)
        gpf = np.zeros(nd)
        vpn = np.zeros(nd)
        ipn = np.zeros(nd)
        kv = np.zeros((7, nn))
        ki = np.zeros((7, nn))
        sv = np.empty(nn)
        si = np.empty(nn)
        v_new = np.empty(nn)
        il_new = np.empty(nn)
        atol_i = np.empty(nn)
        prm_p = prm[p].copy()
        draw_tab_p = draw_tab[p].copy()
        xs = dev_x0[p].copy()  # compiled devices' variables (network.py)
        vcvs_gain_p = vcvs_gain[p].copy()
        cccs_gain_p = cccs_gain[p].copy()
        skip_thr = np.empty(nd)
        h_skip = hmax if adaptive else h
        for j in range(nd):
            # exponent above which b0 * exp(-E/kT) * h < 1e-15 at the longest step
            skip_thr[j] = math.log(max(prm_p[j, _B0] * h_skip, 1e-300)) + 34.54
        kout_p = kout[p].copy()
        rser_p = rser[p].copy()
        emf_p = emf[p].copy()
        c0_p = c0[p].copy()
        lval_p = lval[p].copy()
        rs_p = rs[p].copy()
        v3_p = v3[p].copy()
        tab_p = tab_of[p].copy()
        bconst_p = bconst[p].copy()
        for k in range(nn):
            atol_i[k] = rtol / math.sqrt(lval_p[k] / c0_p[k])
        # the state at the start of a step (a rejected step goes back to it; set below, after
        # the initial state's branch currents)
        w_sync = w.copy()
        temp_s = temp.copy()
        gpf_s = gpf.copy()
        xs_s = xs.copy()
        ib_s = ib.copy()
        vdev_s = vdev.copy()
        w_end = w.copy()
        w_r = w.copy()  # a record's interpolated state and its branches
        ib_r = ib.copy()
        vdev_r = vdev.copy()
        # online detectors (one point's state)
        ndet = det_nrn.shape[0]
        ring = np.zeros((nn, RING))
        d_st = np.zeros(ndet, dtype=np.int64)
        d_kstart = np.zeros(ndet, dtype=np.int64)
        d_kmax = np.zeros(ndet, dtype=np.int64)
        d_vmax = np.zeros(ndet)
        d_done = np.zeros(ndet, dtype=np.int64)
        d_rmin = np.full(ndet, BIG)
        d_rmax = np.full(ndet, -BIG)
        d_trmin = np.full(ndet, BIG)
        d_n = np.zeros(ndet, dtype=np.int64)
        on_p = det_on[p].copy()
        off_p = det_off[p].copy()
        # the initial state: its branch currents, record 0
        _set_draws(0.0, nd, dev_model, prm_p, draw_tab_p, draws)
        _branch_currents(vn, w, temp, kout_p, rser_p, emf_p, end_kind, end_idx, dev,
                         dev_model, prm_p, draws, tab_b, rout, tab_p, vmin, inv_dv,
                         ib, vdev, gpf, True, bcode, blen, bconst_p, 0.0, xs, dev_meta,
                         dev_sign, vcvs_ctl, vcvs_gain_p)
        _copy_state(w, temp, gpf, vdev, xs, ib, w_sync, temp_s, gpf_s, vdev_s, xs_s, ib_s)
        if nrec > 0:
            for k in range(nn):
                rec_v[p, k, 0] = vn[k]
                rec_v[p, nn + k, 0] = il[k]
            for j in range(nd):
                rec_w[p, j, 0] = w[j]
                rec_vd[p, j, 0] = dev_sign[j] * vdev[j]
            for b in range(nbr):
                rec_i[p, b, 0] = ib[b]
        if ndet > 0:
            detect_sample(0, vn, ring, dt_rec, k_last, det_nrn, det_k0, on_p, off_p, d_st,
                          d_kstart, d_kmax, d_vmax, d_done, d_rmin, d_rmax, d_trmin, d_n,
                          ev_t[p], ev_pk[p], ev_tr[p])
        r = 1  # the next record
        t = 0.0
        n_acc = 0
        n_rej = 0
        n_rej_w = 0
        hh = h  # the step to try
        fresh = False  # kv[6], ki[6] hold the derivatives at (vn, il) with the current w
        rejected = False
        err_old = 1e-4
        while t_end - t > 1e-12 * t_end:
            if adaptive:
                hh = min(hh, hmax, t_end - t)
                tb = _next_boundary(t, nd, dev_model, prm_p, ni)
                if t + hh > tb:
                    hh = tb - t
                if t_end - (t + hh) < 1e-9 * hh:
                    hh = t_end - t
            else:
                hh = min(h, t_end - t)
            _set_draws(t + 0.5 * hh, nd, dev_model, prm_p, draw_tab_p, draws)
            # memristor states: the first half step, with the rates at the step's start
            for j in range(nd):
                vpn[j] = dev_sign[j] * vdev[j]
                ipn[j] = dev_sign[j] * ib[dev_branch[j]]
            _update_state(w, vpn, ipn, temp, dev_model, prm_p, draws, 0.5 * hh, skip_thr,
                          bcode, blen, bconst_p, t, xs, dev_meta, dev_sign)
            moved = 0.0
            for j in range(nd):
                moved = max(moved, abs(w[j] - w_sync[j]))
            if adaptive and moved > 0.5 * dwmax and hh > H_MIN:
                n_rej_w += 1
                rejected = True
                hh = max(H_MIN, hh * max(0.2, 0.9 * 0.5 * dwmax / moved))
                _copy_state(w_sync, temp_s, gpf_s, vdev_s, xs_s, ib_s, w, temp, gpf, vdev, xs, ib)
                continue
            if moved > 0.0 or not fresh:
                _branch_currents(vn, w, temp, kout_p, rser_p, emf_p, end_kind, end_idx, dev,
                                 dev_model, prm_p, draws, tab_b, rout, tab_p, vmin, inv_dv,
                                 ib, vdev, gpf, True, bcode, blen, bconst_p, t, xs, dev_meta,
                                 dev_sign, vcvs_ctl, vcvs_gain_p)
                _derivs(vn, il, ib, end_kind, end_idx, c0_p, lval_p, rs_p, v3_p, tab_f,
                        tab_h, tab_p, vmin, inv_dv, kv[0], ki[0], cccs_idx, cccs_gain_p)
            else:
                for k in range(nn):
                    kv[0, k] = kv[6, k]
                    ki[0, k] = ki[6, k]
            for s in range(1, 7):
                for k in range(nn):
                    av = 0.0
                    ai = 0.0
                    if s < 6:
                        for q in range(s):
                            av += _A[s, q] * kv[q, k]
                            ai += _A[s, q] * ki[q, k]
                        sv[k] = vn[k] + hh * av
                        si[k] = il[k] + hh * ai
                    else:
                        for q in range(6):
                            av += _B[q] * kv[q, k]
                            ai += _B[q] * ki[q, k]
                        v_new[k] = vn[k] + hh * av
                        il_new[k] = il[k] + hh * ai
                        sv[k] = v_new[k]
                        si[k] = il_new[k]
                ts = t + hh * (_C[s] if s < 6 else 1.0)
                _branch_currents(sv, w, temp, kout_p, rser_p, emf_p, end_kind, end_idx, dev,
                                 dev_model, prm_p, draws, tab_b, rout, tab_p, vmin, inv_dv,
                                 ib, vdev, gpf, True, bcode, blen, bconst_p, ts, xs, dev_meta,
                                 dev_sign, vcvs_ctl, vcvs_gain_p)
                _derivs(sv, si, ib, end_kind, end_idx, c0_p, lval_p, rs_p, v3_p, tab_f,
                        tab_h, tab_p, vmin, inv_dv, kv[s], ki[s], cccs_idx, cccs_gain_p)
            err = 0.0
            if adaptive:
                for k in range(nn):
                    ev = 0.0
                    ei = 0.0
                    for q in range(7):
                        ev += _E[q] * kv[q, k]
                        ei += _E[q] * ki[q, k]
                    sc = rtol + rtol * max(abs(vn[k]), abs(v_new[k]))
                    x = hh * ev / sc
                    err += x * x
                    sc = atol_i[k] + rtol * max(abs(il[k]), abs(il_new[k]))
                    x = hh * ei / sc
                    err += x * x
                err = math.sqrt(err / (2 * nn))
            # the second half step of the states, with the rates at the new point
            t_new = (n_acc + 1) * h if not adaptive else t + hh
            if not adaptive or t_end - t_new < 1e-12 * t_end:
                t_new = min(t_new, t_end)
            for j in range(nd):
                w_end[j] = w[j]
                vpn[j] = dev_sign[j] * vdev[j]
                ipn[j] = dev_sign[j] * ib[dev_branch[j]]
            _update_state(w, vpn, ipn, temp, dev_model, prm_p, draws, 0.5 * hh, skip_thr,
                          bcode, blen, bconst_p, t_new, xs, dev_meta, dev_sign)
            # the splitting's error: the two half steps' moves differ as the rates change
            # over the step
            err_w = 0.0
            for j in range(nd):
                err_w = max(err_w, abs((w[j] - w_end[j]) - (w_end[j] - w_sync[j])))
            err_w /= wtol if adaptive else 1.0
            if adaptive and max(err, err_w) > 1.0 and hh > H_MIN:
                if err > 1.0:
                    n_rej += 1
                else:
                    n_rej_w += 1
                rejected = True
                f_err = 0.9 * err ** -_EXP1 if err > 1.0 else 1.0
                f_w = 0.9 / math.sqrt(err_w) if err_w > 1.0 else 1.0
                hh = max(H_MIN, hh * max(0.2, min(f_err, f_w)))
                # back to the step's start
                _copy_state(w_sync, temp_s, gpf_s, vdev_s, xs_s, ib_s, w, temp, gpf, vdev, xs, ib)
                fresh = False
                continue
            fresh = True
            for j in range(nd):
                if w[j] != w_end[j]:
                    fresh = False
            # the records in (t, t_new]: cubic Hermite between the step's ends
            while r <= k_last and r * dt_rec <= t_new * (1.0 + 1e-12):
                th = (r * dt_rec - t) / hh
                if th > 1.0:
                    th = 1.0
                h00 = (1.0 + 2.0 * th) * (1.0 - th) * (1.0 - th)
                h10 = th * (1.0 - th) * (1.0 - th)
                h01 = th * th * (3.0 - 2.0 * th)
                h11 = th * th * (th - 1.0)
                for k in range(nn):
                    sv[k] = (h00 * vn[k] + h10 * hh * kv[0, k] + h01 * v_new[k]
                             + h11 * hh * kv[6, k])
                if r < nrec:
                    for k in range(nn):
                        rec_v[p, k, r] = sv[k]
                        rec_v[p, nn + k, r] = (h00 * il[k] + h10 * hh * ki[0, k]
                                               + h01 * il_new[k] + h11 * hh * ki[6, k])
                    for j in range(nd):
                        w_r[j] = w_sync[j] + th * (w[j] - w_sync[j])
                        vdev_r[j] = vdev[j]
                    for b in range(nbr):
                        ib_r[b] = ib[b]
                    if th < 1.0:  # the branches at the interpolated state
                        for k in range(nn):
                            si[k] = rec_v[p, nn + k, r]
                        _branch_currents(sv, w_r, temp, kout_p, rser_p, emf_p, end_kind,
                                         end_idx, dev, dev_model, prm_p, draws, tab_b, rout,
                                         tab_p, vmin, inv_dv, ib_r, vdev_r, gpf, False, bcode,
                                         blen, bconst_p, r * dt_rec, xs, dev_meta, dev_sign,
                                         vcvs_ctl, vcvs_gain_p)
                    for j in range(nd):
                        rec_w[p, j, r] = w_r[j]
                        rec_vd[p, j, r] = dev_sign[j] * vdev_r[j]
                    for b in range(nbr):
                        rec_i[p, b, r] = ib_r[b]
                if ndet > 0:
                    detect_sample(r, sv, ring, dt_rec, k_last, det_nrn, det_k0, on_p, off_p,
                                  d_st, d_kstart, d_kmax, d_vmax, d_done, d_rmin, d_rmax,
                                  d_trmin, d_n, ev_t[p], ev_pk[p], ev_tr[p])
                r += 1
            for k in range(nn):
                vn[k] = v_new[k]
                il[k] = il_new[k]
            t = t_new
            n_acc += 1
            _copy_state(w, temp, gpf, vdev, xs, ib, w_sync, temp_s, gpf_s, vdev_s, xs_s, ib_s)
            if adaptive:  # the PI controller of Hairer's DOPRI5 (Gustafsson's, stabilised)
                e_now = max(err, 1e-10)
                fac = min(10.0, max(0.2, 0.9 * e_now ** -_EXP1 * err_old ** _BETA))
                err_old = max(err, 1e-4)
                if rejected:
                    fac = min(fac, 1.0)
                if moved > 0.0:  # nor grow past the memristor states' bound
                    fac = min(fac, max(1.0, 0.9 * 0.5 * dwmax / moved))
                if err_w > 1e-10:  # nor past their splitting's (second-order) error
                    fac = min(fac, max(0.2, 0.9 / math.sqrt(err_w)))
                hh *= fac
                rejected = False
        if ndet > 0:
            detect_finish(k_last, ring, dt_rec, det_nrn, det_k0, on_p, off_p, d_st, d_kstart,
                          d_kmax, d_vmax, d_done, d_rmin, d_rmax, d_trmin, d_n, ev_t[p],
                          ev_pk[p], ev_tr[p])
            for d in range(ndet):
                ev_n[p, d] = d_n[d]
        nstep_out[p, 0] = n_acc
        nstep_out[p, 1] = n_rej
        nstep_out[p, 2] = n_rej_w
        for j in range(nd):  # compiled devices' final variables (x[1]: largest explicit step)
            for q in range(xs.shape[1]):
                dev_x0[p, j, q] = xs[j, q]
