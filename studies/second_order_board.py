"""The FHN board with the second-order memristor (issue #14, item 5): a short locking map.

Runs ``netlists/coupled_fhn_2nd.cir`` for each master amplitude ``amp`` (V) for ``--tstop``
seconds (default 3 s: ~15 s of CPU each), detects the spikes of master and slave, classifies the
master -> slave mode in consecutive windows (``--window`` s) after the first second, and records
the device's conductance and temperature ranges. Merges the rows into
``studies/second_order_board.json`` (one row per amplitude, run length and parameter set).

Usage::

    python studies/second_order_board.py --amps 1.4 1.8 2.2 --tstop 3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.analysis.locking import classify_locking, mode_label
from neurospice.analysis.spikes import detect_spikes
from neurospice.sim.ngspice import run_deck

DECK = Path(__file__).resolve().parents[1] / "netlists" / "coupled_fhn_2nd.cir"
OUT = Path(__file__).with_suffix(".json")


def run_one(amp: float, tstop: float, window: float, extra: dict[str, str]) -> dict[str, Any]:
    """One board run at master amplitude ``amp`` (V); modes per window and device ranges."""
    wf = run_deck(DECK, params={"amp": amp, **extra}, tstop=tstop)
    t = wf.time
    sm = detect_spikes(t, wf["v(mmem)"], t_skip=0.2)
    ss = detect_spikes(t, wf["v(smem)"], t_skip=0.2)
    modes = []
    t0 = 1.0
    while t0 + window <= tstop + 1e-9:
        res = classify_locking(sm, ss, t0=t0, t1=t0 + window)
        locked = bool(res.locked)
        modes.append({"t0": t0, "mode": mode_label(res.n, res.m), "ratio": round(res.ratio, 3),
                      "locked": locked, "sync_index": round(float(res.sync_index), 3)})
        t0 += window
    late = t >= 1.0
    g = wf["v(xm1.ghat)"]
    return {
        "amp": amp,
        "master_hz": float(len(sm.times[sm.times > 1.0]) / (tstop - 1.0)),
        "slave_hz": float(len(ss.times[ss.times > 1.0]) / (tstop - 1.0)),
        "windows": modes,
        "g_ms_range_late": [float(np.min(g[late]) * 1e3), float(np.max(g[late]) * 1e3)],
        "g_ms_end": float(g[-1] * 1e3),
        "t_k_max": float(np.max(wf["v(xm1.tk)"])),
        "v_device_range": [float(np.min(wf["v(dp)"])), float(np.max(wf["v(dp)"]))],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--amps", type=float, nargs="+", default=[1.4, 1.8, 2.2])
    ap.add_argument("--tstop", type=float, default=3.0)
    ap.add_argument("--window", type=float, default=0.5)
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    extra = dict(p.split("=", 1) for p in args.param)
    for amp in args.amps:
        row = run_one(amp, args.tstop, args.window, extra)
        print(f"amp {amp:.2f} V: master {row['master_hz']:.2f} Hz, slave {row['slave_hz']:.2f} Hz,"
              f" modes {[w['mode'] + ('*' if w['locked'] else '') for w in row['windows']]},"
              f" G {row['g_ms_range_late'][0]:.3f}-{row['g_ms_range_late'][1]:.3f} mS,"
              f" Tmax {row['t_k_max']:.0f} K", flush=True)
        # merge into the results file by (amplitude, tstop, params): runs are expensive
        old = json.loads(OUT.read_text())["rows"] if OUT.exists() else []
        key = (amp, args.tstop, json.dumps(extra, sort_keys=True))
        old = [r for r in old
               if (r["amp"], r["tstop"], json.dumps(r["params"], sort_keys=True)) != key]
        row.update({"tstop": args.tstop, "params": extra})
        merged = sorted(old + [row], key=lambda r: (json.dumps(r["params"]), r["tstop"], r["amp"]))
        OUT.write_text(json.dumps({"deck": DECK.name, "rows": merged}, indent=1))


if __name__ == "__main__":
    main()
