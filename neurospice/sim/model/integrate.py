"""The compiled integrator: many parameter points of one board at once (numba, fixed step).

One call integrates ``npts`` independent copies of the compiled board (each its own parameters,
random draws and initial state), in parallel over points (``numba.prange``; threads, no GIL).

Per step ``h`` (s):

* neurons (``V``, ``I_L``): classical Runge-Kutta 4; every stage re-solves each branch's current
  (algebraic: ``i = G E / (1 + G R)`` for a device of conductance ``G`` in series with ``R``, two
  fixed-point passes for the Poole-Frenkel conductance and the device temperature);
* memristor state ``w``: held during the stage evaluations, then advanced over ``h`` with the rates
  of the mid-step stage. ``zro2``: exactly, ``w -> w_inf + (w - w_inf) exp(-(k_set + k_reset) h)``
  (the two-rate equation is linear in ``w``; rates up to ``b0`` = 1e6 /s make it stiff, and this
  update is unconditionally stable and stays in [0, 1]); ``biolek``, ``pershin``: explicit Euler,
  clipped to [0, 1] (their windows stop the state there);
* device temperature quasi-static: ``T = t0 + dtmax tanh(rth max(v i, 0) / dtmax)`` (``tauth`` =
  1 us, far below ``h``);
* compiled bodies (:mod:`.network`): the device is solved on its path (:func:`_solve_compiled`:
  secant conductance, or Newton on the current of a series chain), its quasi-static states
  refreshed with that solution; each state steps by exponential Euler with a difference
  derivative (exact for a rate linear in the state), or, where the rate is flat over a large step,
  by backward Euler with the device re-solved at each trial state (:func:`_backward_euler`); a
  step neither can vouch for is recorded for the engine to refuse.

Tables (``F``, ``H``, ``B`` on a uniform voltage grid) are interpolated linearly and extrapolated
with their end slopes.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

from neurospice.sim.model.network import X_STATE, evaluate_x
from neurospice.sim.model.online import BIG, RING, detect_finish, detect_sample

__all__ = ["DEV_BIOLEK", "DEV_COMPILED", "DEV_PERSHIN", "DEV_ZRO2", "NPRM", "P", "integrate"]

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


@nb.njit(cache=True, fastmath=True, inline="always")
def _interp(tab: FloatArray, row: int, x: float, vmin: float, inv_dv: float) -> float:
    n = tab.shape[1]
    s = (x - vmin) * inv_dv
    i = int(math.floor(s))
    if i < 0:
        i = 0
    elif i > n - 2:
        i = n - 2
    f = s - i
    return tab[row, i] + f * (tab[row, i + 1] - tab[row, i])


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
    return prm[j, _T0] + prm[j, _DTMAX] * math.tanh(prm[j, _RTH] * p_el / prm[j, _DTMAX])


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
            if refresh:
                gpf[j] = _zro2_gpf(vdev[j], draws[j, 1], temp[j], prm, j)
            wc = min(max(w[j], 0.0), 1.0)
            g = wc * prm[j, _AREA] / (draws[j, 2] * prm[j, _LAM]) + (1.0 - wc) * gpf[j]
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


@nb.njit(cache=True, fastmath=True, parallel=True)
def integrate(
    nsteps: int, h: float, rec_every: int,
    dev_meta: NDArray[np.int64], dev_x0: FloatArray,
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
    ev_n: NDArray[np.int64],
) -> None:
    """Integrate every point over ``nsteps`` steps of ``h`` seconds, recording every
    ``rec_every`` steps (record 0 is the initial state), and run the online response detectors
    (:mod:`.online`) on the same samples.

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
    ``tab_f, tab_h, tab_b`` (ntab, ngrid) on ``vmin + dv*k`` (V), ``rout`` (ntab), the branch
    ends ``end_kind`` (nb, 2: 0 ground, 1 mem, 2 out) and ``end_idx`` (neuron), ``dev`` (nb:
    device or -1), ``dev_branch``, ``dev_sign`` (+1: the branch enters at pin p), ``dev_model``.
    Outputs: ``rec_v`` (npts, 2*nn: V then I_L, nrec), ``rec_w`` (npts, nd, nrec), ``rec_i``
    (npts, nb, nrec), ``rec_vd`` (npts, nd, nrec: v(p) - v(n)); ``nrec`` may be 0 (no
    waveforms). Detectors (``ndet``, may be 0): ``det_nrn`` (neuron), ``det_k0`` (first sample),
    ``det_on``/``det_off`` (npts, ndet: V); outputs ``ev_t``/``ev_pk``/``ev_tr`` (npts, ndet,
    maxev) and the counts ``ev_n`` (npts, ndet).
    """
    npts = v_init.shape[0]
    nn = v_init.shape[1]
    nbr = rser.shape[1]
    nd = w_init.shape[1]
    ni = draw_tab.shape[2]
    inv_dv = 1.0 / dv
    nrec = rec_v.shape[2]
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
        k1v = np.empty(nn)
        k1i = np.empty(nn)
        k2v = np.empty(nn)
        k2i = np.empty(nn)
        k3v = np.empty(nn)
        k3i = np.empty(nn)
        k4v = np.empty(nn)
        k4i = np.empty(nn)
        sv = np.empty(nn)
        si = np.empty(nn)
        prm_p = prm[p].copy()
        xs = dev_x0[p].copy()  # compiled devices' variables (network.py)
        vcvs_gain_p = vcvs_gain[p].copy()
        cccs_gain_p = cccs_gain[p].copy()
        skip_thr = np.empty(nd)
        for j in range(nd):
            # exponent above which b0 * exp(-E/kT) * h < 1e-15
            skip_thr[j] = math.log(max(prm_p[j, _B0] * h, 1e-300)) + 34.54
        kout_p = kout[p].copy()
        rser_p = rser[p].copy()
        emf_p = emf[p].copy()
        c0_p = c0[p].copy()
        lval_p = lval[p].copy()
        rs_p = rs[p].copy()
        v3_p = v3[p].copy()
        tab_p = tab_of[p].copy()
        bconst_p = bconst[p].copy()
        # online detectors (one point's state)
        ndet = det_nrn.shape[0]
        k_last = nsteps // rec_every
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
        dt_rec = rec_every * h
        r = 0
        for step in range(nsteps + 1):
            t = step * h
            for j in range(nd):
                if dev_model[j] == DEV_ZRO2 or dev_model[j] == DEV_COMPILED:
                    tc = prm_p[j, _TC2C]
                    td = prm_p[j, _TD2C]
                    q = 0
                    if t >= td and tc > 0.0:
                        q = int((t - td) / tc)
                    if q > ni - 1:
                        q = ni - 1
                    draws[j, 0] = draw_tab[p, j, q, 0]
                    draws[j, 1] = draw_tab[p, j, q, 1]
                    draws[j, 2] = draw_tab[p, j, q, 2]
            if step == 0:
                _branch_currents(vn, w, temp, kout_p, rser_p, emf_p, end_kind, end_idx, dev,
                                 dev_model, prm_p, draws, tab_b, rout, tab_p, vmin, inv_dv,
                                 ib, vdev, gpf, True, bcode, blen, bconst_p, t, xs, dev_meta,
                                 dev_sign, vcvs_ctl, vcvs_gain_p)
            # memristor state, staggered: w lives at half steps; advance it over h (h/2 at the
            # start) with the rates at v(t) (the last evaluation, the previous step's end
            # stage), then hold it through the RK4 stages of [t, t + h]
            if nd > 0 and step < nsteps:
                for j in range(nd):
                    vpn[j] = dev_sign[j] * vdev[j]
                    ipn[j] = dev_sign[j] * ib[dev_branch[j]]
                _update_state(w, vpn, ipn, temp, dev_model, prm_p, draws,
                              0.5 * h if step == 0 else h, skip_thr, bcode, blen, bconst_p, t, xs,
                              dev_meta, dev_sign)
            _branch_currents(vn, w, temp, kout_p, rser_p, emf_p, end_kind, end_idx, dev,
                             dev_model, prm_p, draws, tab_b, rout, tab_p, vmin, inv_dv,
                             ib, vdev, gpf, False, bcode, blen, bconst_p, t, xs, dev_meta,
                             dev_sign, vcvs_ctl, vcvs_gain_p)
            if step % rec_every == 0 and r < nrec:
                for k in range(nn):
                    rec_v[p, k, r] = vn[k]
                    rec_v[p, nn + k, r] = il[k]
                for j in range(nd):
                    rec_w[p, j, r] = w[j]
                    rec_vd[p, j, r] = dev_sign[j] * vdev[j]
                for b in range(nbr):
                    rec_i[p, b, r] = ib[b]
                r += 1
            if ndet > 0 and step % rec_every == 0:
                detect_sample(step // rec_every, vn, ring, dt_rec, k_last, det_nrn, det_k0,
                              on_p, off_p, d_st, d_kstart, d_kmax, d_vmax, d_done, d_rmin,
                              d_rmax, d_trmin, d_n, ev_t[p], ev_pk[p], ev_tr[p])
            if step == nsteps:
                break
            _derivs(vn, il, ib, end_kind, end_idx, c0_p, lval_p, rs_p, v3_p, tab_f, tab_h,
                    tab_p, vmin, inv_dv, k1v, k1i, cccs_idx, cccs_gain_p)
            for k in range(nn):
                sv[k] = vn[k] + 0.5 * h * k1v[k]
                si[k] = il[k] + 0.5 * h * k1i[k]
            _branch_currents(sv, w, temp, kout_p, rser_p, emf_p, end_kind, end_idx, dev,
                             dev_model, prm_p, draws, tab_b, rout, tab_p, vmin, inv_dv,
                             ib, vdev, gpf, True, bcode, blen, bconst_p, t, xs, dev_meta,
                             dev_sign, vcvs_ctl, vcvs_gain_p)
            _derivs(sv, si, ib, end_kind, end_idx, c0_p, lval_p, rs_p, v3_p, tab_f, tab_h,
                    tab_p, vmin, inv_dv, k2v, k2i, cccs_idx, cccs_gain_p)
            for k in range(nn):
                sv[k] = vn[k] + 0.5 * h * k2v[k]
                si[k] = il[k] + 0.5 * h * k2i[k]
            _branch_currents(sv, w, temp, kout_p, rser_p, emf_p, end_kind, end_idx, dev,
                             dev_model, prm_p, draws, tab_b, rout, tab_p, vmin, inv_dv,
                             ib, vdev, gpf, False, bcode, blen, bconst_p, t, xs, dev_meta,
                             dev_sign, vcvs_ctl, vcvs_gain_p)
            _derivs(sv, si, ib, end_kind, end_idx, c0_p, lval_p, rs_p, v3_p, tab_f, tab_h,
                    tab_p, vmin, inv_dv, k3v, k3i, cccs_idx, cccs_gain_p)
            for k in range(nn):
                sv[k] = vn[k] + h * k3v[k]
                si[k] = il[k] + h * k3i[k]
            _branch_currents(sv, w, temp, kout_p, rser_p, emf_p, end_kind, end_idx, dev,
                             dev_model, prm_p, draws, tab_b, rout, tab_p, vmin, inv_dv,
                             ib, vdev, gpf, True, bcode, blen, bconst_p, t, xs, dev_meta,
                             dev_sign, vcvs_ctl, vcvs_gain_p)
            _derivs(sv, si, ib, end_kind, end_idx, c0_p, lval_p, rs_p, v3_p, tab_f, tab_h,
                    tab_p, vmin, inv_dv, k4v, k4i, cccs_idx, cccs_gain_p)
            for k in range(nn):
                vn[k] += h / 6.0 * (k1v[k] + 2.0 * k2v[k] + 2.0 * k3v[k] + k4v[k])
                il[k] += h / 6.0 * (k1i[k] + 2.0 * k2i[k] + 2.0 * k3i[k] + k4i[k])
        if ndet > 0:
            detect_finish(k_last, ring, dt_rec, det_nrn, det_k0, on_p, off_p, d_st, d_kstart,
                          d_kmax, d_vmax, d_done, d_rmin, d_rmax, d_trmin, d_n, ev_t[p],
                          ev_pk[p], ev_tr[p])
            for d in range(ndet):
                ev_n[p, d] = d_n[d]
        for j in range(nd):  # compiled devices' final variables (x[1]: largest explicit step)
            for q in range(xs.shape[1]):
                dev_x0[p, j, q] = xs[j, q]
