"""The FHN board with the second-order memristor (issue #14, item 5): the locking map.

Runs ``netlists/coupled_fhn_2nd.cir`` for each master amplitude ``amp`` (V) for ``--tstop``
seconds (~2.2 s of CPU per second of board: 13 s for 6 s), detects the spikes of master and
slave, classifies the master -> slave mode in consecutive windows (``--window`` s) after the
first second, and records the device's conductance and temperature ranges. Each run also gets
the locking timeline of ``neurospice.analysis.timeline.locking_timeline`` after ``--t-skip`` s
(0.5 s windows sliding by 0.25 s, as ``neurospice.report.locking`` and
``studies/board_amplitude.py`` for the first-order board): the modes seen (n:m up to 5,
"unlocked", "irregular", "silent"), the episodes, the number of switches, the dwell times of
each mode (bridged over the windows that straddle a switch) and the fraction of time in each;
and over the last second, the slave's inter-spike intervals (a period-2 1:1 shows as
consecutive ISIs that differ while ISIs two apart do not) and G at the master's spikes. Merges
the rows into ``studies/second_order_board.json`` (one row per amplitude, run length and
parameter set).

Usage::

    python studies/second_order_board.py --amps 1.4 1.8 2.2 --tstop 6
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.analysis.locking import classify_locking, mode_label
from neurospice.analysis.spikes import SpikeTrain, detect_spikes
from neurospice.analysis.timeline import local_variation, locking_timeline
from neurospice.reference.second_order import SecondOrderParams
from neurospice.sim.ngspice import run_deck

DECK = Path(__file__).resolve().parents[1] / "netlists" / "coupled_fhn_2nd.cir"
OUT = Path(__file__).with_suffix(".json")


def timeline_record(sm: SpikeTrain, ss: SpikeTrain, t_skip: float) -> dict[str, Any]:
    """Locking timeline of slave ``ss`` to master ``sm`` after ``t_skip`` s: modes, episodes,
    switches, dwell times (s, bridged) and the fraction of the record in each mode."""
    tl = locking_timeline(sm.after(t_skip), ss.after(t_skip))
    eps = tl.bridged_episodes()
    modes = list(dict.fromkeys(e.mode for e in eps))
    late = ss.after(t_skip).isi
    return {
        "t_skip": t_skip, "window": tl.window, "step": tl.step,
        "overall_ratio": round(float(tl.overall_ratio), 4),
        "overall": tl.overall.mode,
        "modes": modes,
        "fraction": {m: round(sum(e.duration for e in eps if e.mode == m) / tl.duration, 4)
                     for m in modes},
        "dwell_s": {m: [round(e.duration, 4) for e in eps if e.mode == m] for m in modes},
        "episodes": [[e.mode, round(e.t_start, 4), round(e.t_end, 4), e.censored] for e in eps],
        "switches": len(eps) - 1,
        "switch_times": [[round(b.t_start, 4), a.mode, b.mode]
                         for a, b in zip(eps[:-1], eps[1:], strict=True)],
        "raw_modes": list(tl.modes),
        "raw_switches": len(tl.switches),
        "window_modes": [w.mode for w in tl.windows],
        "slave_isi_ms_range": [round(float(np.min(late)) * 1e3, 3),
                               round(float(np.max(late)) * 1e3, 3)] if late.size else [],
        "slave_isi_lv": round(local_variation(late), 4) if late.size > 1 else None,
    }


def run_one(amp: float, tstop: float, window: float, extra: dict[str, str],
            t_skip: float = 0.5) -> dict[str, Any]:
    """One board run at master amplitude ``amp`` (V); modes per window, the locking timeline
    and device ranges."""
    wf = run_deck(DECK, params={"amp": amp, **extra}, tstop=tstop)
    t = wf.time
    sm = detect_spikes(t, wf["v(mmem)"], t_skip=0.2)
    ss = detect_spikes(t, wf["v(smem)"], t_skip=0.2)
    g = wf["v(xm1.ghat)"]
    modes = []
    t0 = 1.0
    while t0 + window <= tstop + 1e-9:
        res = classify_locking(sm, ss, t0=t0, t1=t0 + window)
        locked = bool(res.locked)
        inw = (t >= t0) & (t < t0 + window)
        modes.append({"t0": t0, "mode": mode_label(res.n, res.m), "ratio": round(res.ratio, 3),
                      "locked": locked, "sync_index": round(float(res.sync_index), 3),
                      "g_ms_min": round(float(np.min(g[inw])) * 1e3, 4)})
        t0 += window
    late = t >= 1.0
    # steady state, the last second: does the slave's ISI alternate from spike to spike
    # (period 2: consecutive ISIs differ, ISIs two apart do not), and G at the master's spikes
    s_end = ss.after(tstop - 1.0)
    m_end = sm.after(tstop - 1.0)
    isi = s_end.isi
    g_spk = np.interp(m_end.times, t, g) * 1e3
    return {
        "amp": amp,
        "master_hz": float(len(sm.times[sm.times > 1.0]) / (tstop - 1.0)),
        "slave_hz": float(len(ss.times[ss.times > 1.0]) / (tstop - 1.0)),
        "windows": modes,
        "g_ms_range_late": [float(np.min(g[late]) * 1e3), float(np.max(g[late]) * 1e3)],
        "g_ms_end": float(g[-1] * 1e3),
        "t_k_max": float(np.max(wf["v(xm1.tk)"])),
        "v_device_range": [float(np.min(wf["v(dp)"])), float(np.max(wf["v(dp)"]))],
        "timeline": timeline_record(sm, ss, t_skip),
        "last_s": {
            "slave_isi_ms": [round(float(np.min(isi)) * 1e3, 3),
                             round(float(np.max(isi)) * 1e3, 3)] if isi.size else [],
            "slave_isi_step1_ms": round(float(np.mean(np.abs(np.diff(isi)))) * 1e3, 3)
            if isi.size > 1 else None,
            "slave_isi_step2_ms": round(float(np.mean(np.abs(isi[2:] - isi[:-2]))) * 1e3, 3)
            if isi.size > 2 else None,
            "g_ms_at_master_spikes": [round(float(np.min(g_spk)), 4),
                                      round(float(np.max(g_spk)), 4)] if g_spk.size else [],
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--amps", type=float, nargs="+", default=[1.4, 1.8, 2.2])
    ap.add_argument("--tstop", type=float, default=3.0)
    ap.add_argument("--window", type=float, default=0.5)
    ap.add_argument("--t-skip", type=float, default=0.5,
                    help="start of the locking timeline (s); 0.5 s as for the first-order board")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    extra = dict(p.split("=", 1) for p in args.param)
    for amp in args.amps:
        row = run_one(amp, args.tstop, args.window, extra, t_skip=args.t_skip)
        tl = row["timeline"]
        dwell = "; ".join(f"{m} {100 * tl['fraction'][m]:.0f} % {tl['dwell_s'][m]}"
                          for m in tl["modes"])
        print(f"amp {amp:.4g} V: master {row['master_hz']:.2f} Hz, slave {row['slave_hz']:.2f} Hz,"
              f" modes {[w['mode'] + ('*' if w['locked'] else '') for w in row['windows']]},"
              f" G {row['g_ms_range_late'][0]:.3f}-{row['g_ms_range_late'][1]:.3f} mS,"
              f" Tmax {row['t_k_max']:.0f} K; timeline after {tl['t_skip']} s: {dwell},"
              f" {tl['switches']} switches, slave LV {tl['slave_isi_lv']}; last second: slave ISI"
              f" {row['last_s']['slave_isi_ms']} ms, G at master spikes"
              f" {row['last_s']['g_ms_at_master_spikes']} mS", flush=True)
        # merge into the results file by (amplitude, tstop, params): runs are expensive
        # rows before issue #26 were run with the radius-rate multiplier beta = 1e6
        beta = SecondOrderParams.from_library().beta
        old = json.loads(OUT.read_text())["rows"] if OUT.exists() else []
        key = (amp, args.tstop, json.dumps(extra, sort_keys=True), beta)
        old = [r for r in old
               if (r["amp"], r["tstop"], json.dumps(r["params"], sort_keys=True),
                   r.get("beta", 1e6)) != key]
        row.update({"tstop": args.tstop, "params": extra, "beta": beta})
        merged = sorted(old + [row], key=lambda r: (r.get("beta", 1e6), json.dumps(r["params"]),
                                                    r["tstop"], r["amp"]))
        OUT.write_text(json.dumps({"deck": DECK.name, "rows": merged}, indent=1))


if __name__ == "__main__":
    main()
