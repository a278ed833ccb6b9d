"""How close are the model engine's adaptive steps to a fine fixed step? (issue 21, item 6)

Forty board points, 5 s each (the reference board, four in the 2:1 and toggling regimes, one
noisy point in the irregular regime, 35 random points of the benchmark map's range amp
1.4-2.2 V x pots 0.54-0.58 with random seeds), are run at a fixed step of 5 us (the reference)
and at each step setting below. Per setting: how many verdicts equal the reference's, the
largest difference of the slave's frequency on the locked points, and the integration's CPU
time per 20 s of board (mean over the points, one thread).

Usage::

    nice -n 10 python studies/model_steps.py      # ~6 min of CPU; writes studies/model_steps.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np

from neurospice.report.locking import analyse_run
from neurospice.sim.model import compile_model
from neurospice.spice.deck import prepare_deck

ROOT = Path(__file__).resolve().parents[1]
T = 5.0
N_RANDOM = 35
NOISE = {"mc": 1, "c2c": 1, "tc2c": 0.25}
SETTINGS: list[dict[str, Any]] = [
    {"dt": 5e-5, "record_step": 7e-5},  # the fixed step of the previous engine
    {"rtol": 3e-5, "wtol": 1e-3, "dwmax": 0.04},
    {"rtol": 3e-5, "wtol": 3e-3, "dwmax": 0.1},
    {},  # the defaults (DEFAULT_RTOL, DEFAULT_WTOL, DEFAULT_DWMAX, DEFAULT_HMAX)
    {"rtol": 3e-5, "wtol": 1e-3, "dwmax": 0.02},
    {"rtol": 1e-5, "wtol": 3e-4, "dwmax": 0.04},
]


def points() -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    pts: list[dict[str, Any]] = [{}, {"r2": 300, "amp": 2.0}, {"amp": 1.6, "pots": 0.54},
                                 {"r2": 1e3, "amp": 2.2},
                                 {"r2": 1e3, "amp": 1.8, **NOISE, "seed": 4}]
    pts += [{"amp": float(a), "pots": float(p), "seed": int(s)}
            for a, p, s in zip(rng.uniform(1.4, 2.2, N_RANDOM), rng.uniform(0.54, 0.58, N_RANDOM),
                               rng.integers(1, 100, N_RANDOM), strict=True)]
    return pts


def main() -> int:
    numba.set_num_threads(1)
    model = compile_model(prepare_deck(ROOT / "netlists" / "coupled_fhn.cir"))
    model.run([{}], tstop=0.01)
    pts = points()

    def verdict(pt: dict[str, Any], **cfg: Any) -> dict[str, Any]:
        [wf] = model.run([pt], tstop=T, **cfg)
        return analyse_run(model._point_deck(pt), wf, t_skip=0.5).as_row()

    ref = [verdict(pt, dt=5e-6, record_step=7e-5) for pt in pts]
    rows = []
    for cfg in SETTINGS:
        same, worst, cpu, diff = 0, 0.0, 0.0, []
        for pt, rr in zip(pts, ref, strict=True):
            bound = model.bind([pt], tstop=T, **cfg)
            c0 = time.process_time()
            model.integrate(bound, waveforms=False)
            cpu += time.process_time() - c0
            r = verdict(pt, **cfg)
            same += r["mode"] == rr["mode"]
            if rr["mode"] != "unlocked":
                worst = max(worst, abs(r["f_slave_hz"] / rr["f_slave_hz"] - 1))
            if r["mode"] != rr["mode"]:
                diff.append({"point": pt, "reference": rr["mode"], "mode": r["mode"]})
        row = {"setting": cfg or "defaults", "same_mode": same, "points": len(pts),
               "worst_locked_slave_f_rel": worst,
               "cpu_ms_per_20s": 1e3 * cpu / len(pts) * 20.0 / T, "differ": diff}
        rows.append(row)
        print(f"{cfg or 'defaults'}: same mode {same}/{len(pts)}, worst locked slave f "
              f"{100 * worst:.4f} %, {row['cpu_ms_per_20s']:.1f} ms CPU per 20 s", flush=True)
    out = {"tstop_s": T, "reference": "fixed 5 us", "points": pts,
           "reference_modes": [r["mode"] for r in ref], "settings": rows}
    (ROOT / "studies" / "model_steps.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
