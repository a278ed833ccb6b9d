"""Seed 001 as published (issue #26): the figures of docs/second_order.md in one run.

* Pair STDP under the paper's accounting (a pair's change is its second spike's programming
  pulse, G frozen over it: eq. 17 into eq. 12) at the captions' VH = 0.8 V, tH/tau_b = 5.4,
  ts/tau_b = 0.108, for G0 = 0.5-1.5 mS and dt = +-(0.1-2) tH at several amplitudes; the full
  accounting's sign window (every pulse integrated, simplified model) beside it.
* 30 cycles of pairs, triplets and quadruplets (Figs. 8-12) at 1 mS, three rests tf, several
  amplitudes, paper accounting (and the full one at the default amplitude).
* The crossbar (N = 60, tH = 2 tau_b) at T/tH = 1.25, 1.3, 1.4, 1.45 with the defaults, the map
  against Proposition 1's solver; the issue's feedback-accounting settings; one-at-a-time
  sensitivity of the result to each setting the text does not give (tau_m, theta, Vpre, Vpost,
  initial G, VH, ts, tsh).
* Proposition 1's map of admissible P over (tau_m, theta) at the defaults' amplitudes:
  ``docs/figures/second_order_prop1_map.png``.

Writes ``studies/second_order_paper.json``.  ~2.5 min (1 min of CPU).

Usage::

    nice -n 10 python studies/second_order_paper.py
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.batch.stdp import PROTOCOLS, SpikeShape, StdpGrid, stdp_sweep
from neurospice.files import atomic_write_text
from neurospice.reference.crossbar import (
    CrossbarConfig,
    compare_prop1,
    prop1_admissible,
    prop1_solve,
    simulate_crossbar,
)
from neurospice.reference.second_order import SecondOrderParams

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).with_suffix(".json")
FIG = ROOT / "docs" / "figures" / "second_order_prop1_map.png"
RATIOS = (1.25, 1.3, 1.4, 1.45)
PAPER_P = {1.25: 2, 1.3: 3, 1.4: 4, 1.45: 5}
P = SecondOrderParams.from_library()


def pairs() -> dict[str, Any]:
    """Pair STDP, paper accounting: signs, dG/G over G0, and the full accounting's window."""
    g0s = [round(x, 4) for x in np.linspace(0.5e-3, 1.5e-3, 11)]
    dts = [-2.0, -1.0, -0.5, -0.2, -0.1, 0.1, 0.2, 0.5, 1.0, 2.0]
    out: dict[str, Any] = {"g0_s": g0s, "dt_over_th": dts, "paper": {}, "full_window_mS": {}}
    for vp in (2.2, 2.4, 2.6, 2.8, 3.0):
        sh = SpikeShape(vp=vp, vpost=vp)
        pts = stdp_sweep("pair", StdpGrid(dts, g0s=g0s), shape=sh)
        table = {f"{g0 * 1e3:.2f}": [round(q.dg_over_g, 6) for q in pts if q.g0_s == g0]
                 for g0 in g0s}
        wrong = [(q.g0_s, q.dt_over_th) for q in pts if (q.dg_over_g > 0) != (q.dt_over_th > 0)]
        trend = {}
        for dt in (-0.1, 0.1, 2.0):
            mags = [abs(q.dg_over_g) for q in pts if q.dt_over_th == dt]
            d = np.diff(mags)
            trend[str(dt)] = ("falling" if np.all(d < 0) else "rising" if np.all(d > 0)
                              else "mixed")
        out["paper"][str(vp)] = {"dg_over_g": table, "wrong_sign": wrong,
                                 "abs_dg_over_g_vs_g0": trend}
        # full accounting: widest G0 range (0.025 mS grid) with the right sign at every dt
        grid = np.arange(0.35e-3, P.gmax, 0.025e-3)
        full = stdp_sweep("pair", StdpGrid([-2.0, -1.0, -0.3, -0.1, -0.02, 0.02, 0.1, 0.3, 1.0,
                                            2.0], g0s=list(grid)), shape=sh, accounting="full")
        ok = [all((q.dg_over_g > 0) == (q.dt_over_th > 0) for q in full if q.g0_s == g)
              for g in grid]
        best: tuple[float, float] | None = None
        k = 0
        while k < len(grid):
            if ok[k]:
                j = k
                while j + 1 < len(grid) and ok[j + 1]:
                    j += 1
                if best is None or grid[j] - grid[k] > best[1] - best[0]:
                    best = (float(grid[k]), float(grid[j]))
                k = j + 1
            else:
                k += 1
        out["full_window_mS"][str(vp)] = (None if best is None
                                          else [round(best[0] * 1e3, 3), round(best[1] * 1e3, 3)])
        print(f"pairs {vp} V: paper wrong signs {len(wrong)}, |dG/G| vs G0 {trend}; full "
              f"accounting window {out['full_window_mS'][str(vp)]} mS", flush=True)
    return out


def pairs_g0_trend() -> dict[str, Any]:
    """Why |dG/G| of a pair rises with G0 under eq. 17, and a setting that makes it fall.

    d ln|dG/G| / d ln G0 = (Ea/k)(T - 300)/T^2 + d ln phi / d ln G (eq. 17: T - 300 = G c):
    both terms at 2.6 V, dt = +0.1 tH; then the paper accounting with a resistance ``rser`` in
    series (not in the paper; eq. 17's heating divided by (1 + G rser)^2) over a grid of
    amplitudes: the trend of |dG/G| over G0 = 0.5-1.5 mS at every dt of :func:`pairs`, the wrong
    signs, and dG/G at 1 mS.
    """
    from neurospice.reference.second_order import programming_temperature

    sh0 = SpikeShape()
    ea_k = P.ea / P.kb

    def phi(g: float, sign: int) -> float:
        x = P.rs * g
        base = np.sqrt((1 - x) ** 3 / x) / (np.sqrt(x / (1 - x)) - P.rm / P.r0)
        return float(base * ((1 - x) / x if sign > 0 else 1.0))

    terms = {}
    for g in (0.5e-3, 0.75e-3, 1.0e-3, 1.25e-3, 1.5e-3):
        temp = programming_temperature(g, 1.1, vp=2.6, vh=sh0.vh, ts=sh0.ts, th=sh0.th,
                                       params=P)
        h = 1e-4 * g
        el = {sgn: (np.log(phi(g + h, s)) - np.log(phi(g - h, s))) / (np.log(g + h) -
                                                                       np.log(g - h))
              for sgn, s in (("pot", 1), ("dep", -1))}
        terms[f"{g * 1e3:.2f}"] = {"T_K": round(temp, 1),
                                   "arrhenius_elasticity": round(ea_k * (temp - 300) / temp**2, 2),
                                   "phi_elasticity_pot": round(float(el["pot"]), 2),
                                   "phi_elasticity_dep": round(float(el["dep"]), 2)}
    g0s = [round(x, 4) for x in np.linspace(0.5e-3, 1.5e-3, 11)]
    dts = [-2.0, -1.0, -0.5, -0.2, -0.1, 0.1, 0.2, 0.5, 1.0, 2.0]
    scan: dict[str, Any] = {}
    for rser in (0.0, 500.0, 1000.0, 2000.0):
        for vp in (2.6, 3.0, 4.0, 5.0, 6.0):
            sh = SpikeShape(vp=vp, vpost=vp, rser=rser)
            pts = stdp_sweep("pair", StdpGrid(dts, g0s=g0s), shape=sh)
            wrong = sum((q.dg_over_g > 0) != (q.dt_over_th > 0) for q in pts)
            clipped = sum(not P.gmin < q.g_final_s < P.gmax for q in pts)
            trends = set()
            for dt in dts:
                d = np.diff([abs(q.dg_over_g) for q in pts if q.dt_over_th == dt])
                trends.add("falling" if np.all(d < 0) else "rising" if np.all(d > 0)
                           else "mixed")
            by = {(q.g0_s, q.dt_over_th): q.dg_over_g for q in pts}
            scan[f"{rser:g}/{vp:g}"] = {
                "trend_over_g0": sorted(trends), "wrong_sign": int(wrong),
                "held_at_bound": int(clipped),
                "dg_over_g_1mS_dt+0.1": float(f"{by[(1.0e-3, 0.1)]:.4g}"),
                "dg_over_g_1mS_dt-0.1": float(f"{by[(1.0e-3, -0.1)]:.4g}"),
            }
            print(f"rser {rser:g} ohm, {vp} V: |dG/G| over G0 {sorted(trends)}, wrong {wrong}, "
                  f"at bounds {clipped}", flush=True)
    chosen = SpikeShape(vp=5.0, vpost=5.0, rser=1000.0)
    pts = stdp_sweep("pair", StdpGrid(dts, g0s=g0s), shape=chosen)
    table = {f"{g0 * 1e3:.2f}": [round(q.dg_over_g, 6) for q in pts if q.g0_s == g0]
             for g0 in g0s}
    return {"terms_2.6V_dt+0.1": terms, "scan_rser_ohm/vp_V": scan,
            "rser_1000_vp_5": {"g0_s": g0s, "dt_over_th": dts, "dg_over_g": table}}


def cycles30() -> dict[str, Any]:
    """30 cycles at 1 mS: every protocol, three rests, several amplitudes."""
    dts = [0.02, 0.1, 0.3, 0.5, 1.0, 2.0]
    out: dict[str, Any] = {"dt_over_th": dts, "gmax_dg_over_g": round(P.gmax / 1e-3 - 1, 4)}
    for acc, vps in (("paper", (2.4, 2.6, 2.8, 3.0)), ("full", (2.6,))):
        for vp in vps:
            sh = SpikeShape(vp=vp, vpost=vp)
            for prot in PROTOCOLS:
                for tf in (0.3e-6, 1e-6, 3e-6):
                    pts = stdp_sweep(prot, StdpGrid(dts, g0s=[1e-3], intervals=[tf], cycles=30),
                                     shape=sh, accounting=acc)
                    out[f"{acc} {vp} {prot} tf={tf * 1e6:g}us"] = [round(q.dg_over_g, 4)
                                                                   for q in pts]
        print(f"30 cycles ({acc}) done", flush=True)
    return out


def crossbar_row(cfg: CrossbarConfig, solve: bool = False) -> dict[str, Any]:
    res = simulate_crossbar(cfg)
    row: dict[str, Any] = {"P": res.spatial_period, "post_over_T": round(res.post_period_over_t, 6),
                           "post_spikes": len(res.post_times)}
    if solve:
        sols = prop1_solve(cfg)
        row["prop1"] = [{"P": s.period, "sigma": round(s.sigma, 5),
                         "levels_mS": [round(x * 1e3, 6) for x in s.levels],
                         "u_prev_max": round(s.u_prev_max, 5)} for s in sols]
        row["map_vs_prop1"] = compare_prop1(res, sols)
    return row


def crossbar() -> dict[str, Any]:
    out: dict[str, Any] = {"defaults": dataclasses.asdict(CrossbarConfig())}
    out["at_defaults"] = {str(r): crossbar_row(CrossbarConfig(period_ratio=r), solve=True)
                          for r in RATIOS}
    print("crossbar defaults:", {r: (v["P"], v["post_over_T"]) for r, v in
                                 out["at_defaults"].items()}, flush=True)
    issue = {"vp": 2.65, "vpost": 2.6235, "tau_m_ratio": 2.5, "theta": 0.6, "g_init": P.gmax,
             "accounting": "feedback"}
    out["issue_feedback_setting"] = {"setting": issue, "rows": {
        str(r): crossbar_row(CrossbarConfig(period_ratio=r, **issue)) for r in RATIOS}}
    base = CrossbarConfig()
    sweeps: dict[str, list[Any]] = {
        "tau_m_ratio": [2.0, 2.5, 2.75, 3.0, 3.25, 3.5, 4.0],
        "theta": [0.55, 0.58, 0.59, 0.6, 0.605, 0.61, 0.62, 0.65, 0.7],
        "vp": [2.3, 2.4, 2.45, 2.5, 2.6],
        "vpost": [2.40, 2.425, 2.45, 2.4745, 2.5],
        "g_init": [1.2e-3, 1.4e-3, 1.45e-3, 1.5e-3, 1.55e-3, 1.6e-3, round(P.gmax, 9)],
        "vh": [0.6, 0.7, 0.8, 0.9, 1.0],
        "ts_ratio": [0.054, 0.108, 0.162],
        "tsh_ratio": [0.108, 0.2, 0.5],
        "accounting": ["paper", "feedback", "full"],
    }
    sens: dict[str, Any] = {}
    for name, values in sweeps.items():
        sens[name] = {}
        for v in values:
            cfgs = [dataclasses.replace(base, period_ratio=r, **{name: v}) for r in RATIOS]
            if name == "accounting":
                cfgs = [CrossbarConfig(period_ratio=r, accounting=str(v)) for r in RATIOS]
            rows = [crossbar_row(c) for c in cfgs]
            sens[name][str(v)] = [[r["P"], r["post_over_T"]] for r in rows]
            hits = sum(r["P"] == PAPER_P[ratio] and abs(r["post_over_T"] - PAPER_P[ratio]) < 1e-6
                       for r, ratio in zip(rows, RATIOS, strict=True))
            sens[name][str(v)].append(hits)
        print(f"sensitivity {name}: " + "; ".join(
            f"{k}: {[x[0] for x in v[:4]]}" for k, v in sens[name].items()), flush=True)
    out["sensitivity"] = sens
    return out


def prop1_map() -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from neurospice.report.plots import save_figure

    taus = np.round(np.arange(0.5, 4.001, 0.125), 4)
    thetas = np.round(np.arange(0.30, 1.0001, 0.005), 4)
    out: dict[str, Any] = {"taus": taus.tolist(), "thetas": thetas.tolist()}
    fig, axes = plt.subplots(1, 4, figsize=(15, 4.8), sharey=True)
    cmap = ListedColormap(["#ffffff", "#cccccc", "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728",
                           "#9467bd", "#8c564b"])
    counts: dict[str, Any] = {}
    for ax, r in zip(axes, RATIOS, strict=True):
        adm = prop1_admissible(CrossbarConfig(period_ratio=r), taus, thetas)
        n_adm = adm.sum(axis=2)
        smallest = np.where(n_adm > 0, np.argmax(adm, axis=2) + 1, 0)
        want = PAPER_P[r]
        counts[str(r)] = {
            "cells": int(n_adm.size),
            "target_admitted": int(adm[:, :, want - 1].sum()),
            "target_unique": int((adm[:, :, want - 1] & (n_adm == 1)).sum()),
            "multistable": int((n_adm > 1).sum()),
        }
        ax.pcolormesh(thetas, taus, smallest, cmap=cmap, vmin=-0.5, vmax=7.5, shading="nearest")
        multi = np.argwhere(n_adm > 1)
        ax.scatter(thetas[multi[:, 1]][::3], taus[multi[:, 0]][::3], s=1.5, c="k", lw=0,
                   label="more than one P")
        tgt = adm[:, :, want - 1].astype(float)
        if tgt.any():
            ax.contour(thetas, taus, tgt, levels=[0.5], colors="k", linewidths=1.2)
        d = CrossbarConfig()
        ax.plot([d.theta], [d.tau_m_ratio], "*", ms=12, mfc="yellow", mec="k")
        ax.set_title(f"T/tH = {r:g} (paper: P = {want})", fontsize=10)
        ax.set_xlabel("theta = u_th / (R VH Gmax)")
    axes[0].set_ylabel("tau_m / tau_b")
    handles = [plt.Rectangle((0, 0), 1, 1, fc=cmap(k), ec="0.5") for k in range(1, 8)]
    fig.legend(handles + [plt.Line2D([], [], color="k", lw=1.2),
                          plt.Line2D([], [], ls="", marker="*", ms=10, mfc="yellow", mec="k")],
               [f"P = {k} (smallest admitted)" for k in range(1, 8)]
               + ["edge of the paper's P", "defaults"],
               loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.suptitle("Proposition 1 (eqs. 25-29): admissible spatial periods, N = 60, tH = 2 tau_b, "
                 "2.45/2.4745 V, paper's accounting, all synapses from 1.5 mS; white: none; "
                 "black dots: multistable", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    save_figure(fig, FIG)
    plt.close(fig)
    out["counts"] = counts
    print("prop1 map:", counts, flush=True)
    return out


def main() -> None:
    t0 = time.time()
    doc: dict[str, Any] = {"beta": P.beta, "alpha": P.alpha, "tau_b_s": P.tau_b}
    doc["pairs"] = pairs()
    doc["pairs_g0_trend"] = pairs_g0_trend()
    doc["cycles30"] = cycles30()
    doc["crossbar"] = crossbar()
    doc["prop1_map"] = prop1_map()
    doc["cpu_s"] = round(time.time() - t0, 1)
    atomic_write_text(OUT, json.dumps(doc, indent=1))
    print(f"wrote {OUT} in {doc['cpu_s']} s")


if __name__ == "__main__":
    main()
