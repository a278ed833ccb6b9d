"""Second-order memristor (issue #14): the figures of the first docs/second_order.md in one run.

Superseded by ``studies/second_order_paper.py`` (issue #26): ``second_order_figures.json`` holds
the figures measured with the radius-rate multiplier beta = 1e6 and SpikeShape 2.25/2.17 V
(before the library took the seed's 8e3); re-running this script now measures the new
calibration with the old protocol.

* STDP of single pairs (simplified model, G0 = 0.6 ... 1.75 mS), the G0 window in which the sign
  is right for every dt, and that window for other programming amplitudes;
* 30-cycle protocols at two intervals (pairs, triplets, quadruplets), simplified and full model;
* the cost of one pair: ngspice (subcircuit, PWL deck, worker process), the SciPy full model,
  the simplified model;
* the crossbar map, N = 60, tH = 2 tau_b, T/tH = 1.25, 1.3, 1.4, 1.45, with the paper's
  single-pulse variations (G frozen over a pulse) and with the heating feedback followed.

Writes ``studies/second_order_figures.json`` and prints a summary.  ~35 s of CPU.

Usage::

    python studies/second_order_figures.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from neurospice.batch.stdp import (
    PROTOCOLS,
    SpikeShape,
    StdpGrid,
    protocol_segments,
    run_protocol,
    stdp_sweep,
)
from neurospice.reference.crossbar import CrossbarConfig, simulate_crossbar
from neurospice.reference.second_order import SecondOrderParams

OUT = Path(__file__).with_suffix(".json")


def _timed(fn: Any, repeat: int) -> float:
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def _window(sh: SpikeShape, dts: list[float], p: SecondOrderParams) -> list[float]:
    """Widest G0 range (mS, 0.025 mS grid up to Gmax) in which every pair has the right sign."""
    grid = [round(0.5 + 0.025 * k, 3) for k in range(52) if 0.5 + 0.025 * k < p.gmax * 1e3]
    ok = []
    for g in grid:
        pts = stdp_sweep("pair", StdpGrid(dts, g0s=[g * 1e-3]), shape=sh, params=p)
        ok.append(all((q.dg_over_g > 0) == (q.dt_over_th >= 0) for q in pts))
    best: list[float] = []
    lo = 0
    for k in range(len(grid) + 1):
        if k == len(grid) or not ok[k]:
            if k > lo and (not best or grid[k - 1] - grid[lo] > best[1] - best[0]):
                best = [grid[lo], grid[k - 1]]
            lo = k + 1
    return best


def main() -> None:
    p = SecondOrderParams.from_library()
    sh = SpikeShape()
    out: dict[str, Any] = {"tau_t_s": p.tau_t, "tau_b_s": p.tau_b, "rs_ohm": p.rs,
                           "gmin_s": p.gmin, "gmax_s": p.gmax, "shape": sh.__dict__}
    dts = [-2.0, -1.0, -0.5, -0.3, -0.1, -0.02, 0.0, 0.02, 0.1, 0.3, 0.5, 1.0, 2.0]
    pairs = {}
    for g0 in (0.6e-3, 0.8e-3, 0.9e-3, 1.0e-3, 1.1e-3, 1.2e-3, 1.4e-3, 1.6e-3, 1.75e-3):
        pairs[f"{g0:.2e}"] = {f"{q.dt_over_th:+.2f}": round(q.dg_over_g, 4)
                              for q in stdp_sweep("pair", StdpGrid(dts, g0s=[g0]))}
    out["pairs_dg_over_g"] = pairs
    win = {}
    for vp, vpost in ((2.2, 2.08), (2.2, 2.16), (2.25, 2.17), (2.3, 2.21), (2.35, 2.24)):
        win[f"{vp}/{vpost}"] = _window(SpikeShape(vp=vp, vpost=vpost), dts, p)
    out["sign_window_mS"] = win
    cyc: dict[str, Any] = {}
    for prot in PROTOCOLS:
        for tf in (0.3e-6, 3e-6):
            cyc[f"{prot} tf={tf:g}"] = {
                f"{q.dt_over_th:.2f}": round(q.dg_over_g, 4)
                for q in stdp_sweep(prot, StdpGrid([0.02, 0.1, 0.3, 0.5, 1.0, 2.0], g0s=[1e-3],
                                                     cycles=30, intervals=[tf]))}
    out["cycles30_dg_over_g"] = cyc
    full: dict[str, Any] = {}  # the same protocols with the full model (SciPy), ~11 s
    for prot in PROTOCOLS:
        for tf in (0.3e-6, 3e-6):
            full[f"{prot} tf={tf:g}"] = {
                f"{q.dt_over_th:.2f}": round(q.dg_over_g, 4)
                for q in stdp_sweep(prot, StdpGrid([0.02, 0.1, 0.3, 0.5, 1.0, 2.0], g0s=[1e-3],
                                                     cycles=30, intervals=[tf]),
                                    engine="full", params=p)}
    out["cycles30_full_model_dg_over_g"] = full
    segs = protocol_segments("pair", 0.1 * sh.th, sh, interval=1e-6)
    out["cost_per_pair_s"] = {
        "ngspice_worker": _timed(lambda: run_protocol(segs, 1e-3, engine="spice", params=p), 3),
        "scipy_full": _timed(lambda: run_protocol(segs, 1e-3, engine="full", params=p), 5),
        "simplified": _timed(lambda: run_protocol(segs, 1e-3, engine="model", params=p), 50),
    }
    cb = {}
    for ratio in (1.25, 1.3, 1.4, 1.45):
        res = simulate_crossbar(CrossbarConfig(period_ratio=ratio))
        cb[str(ratio)] = {"spatial_period": res.spatial_period,
                          "post_period_over_t": round(res.post_period_over_t, 3),
                          "g_ms": [round(float(x) * 1e3, 4) for x in res.g[:12]]}
    out["crossbar"] = {"config": CrossbarConfig().__dict__, "results": cb}
    cbf = {}  # the same with the single-pulse variations following the heating feedback
    for ratio in (1.25, 1.3, 1.4, 1.45):
        res = simulate_crossbar(CrossbarConfig(period_ratio=ratio, rel_step=0.01))
        cbf[str(ratio)] = {"spatial_period": res.spatial_period,
                           "post_period_over_t": round(res.post_period_over_t, 3),
                           "g_ms": [round(float(x) * 1e3, 4) for x in res.g[:12]]}
    out["crossbar_rel_step_0.01"] = cbf
    OUT.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("cost_per_pair_s", "sign_window_mS", "crossbar",
                                          "crossbar_rel_step_0.01")}, indent=1))


if __name__ == "__main__":
    main()
