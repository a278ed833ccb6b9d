"""P(mode) over the device noise in both engines (issue #20): the model engine over 32 seeds
against ngspice's 95 % Wilson interval over 8 seeds, at five settings of the reference board.

    python studies/verdict_probabilities.py [--tstop 3] [--model-seeds 32] [--spice-seeds 8]

Each setting is run 3 s (t_skip 0.5 s) with seeds 1..N; the verdict of each draw is the mode
word of ``simulate`` (neurospice.report.locking.analyse_run). Writes
studies/verdict_probabilities.json and prints one line per setting and mode.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "netlists" / "coupled_fhn.cir"
SETTINGS: list[dict[str, float]] = [
    {"amp": 1.6, "r2": 2e3},
    {"amp": 1.8, "r2": 2e3},
    {"amp": 2.0, "r2": 2e3},
    {"amp": 1.8, "r2": 1e3},
    {"amp": 1.8, "r2": 3e3},
]
T_SKIP = 0.5


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tstop", type=float, default=3.0)
    ap.add_argument("--model-seeds", type=int, default=32)
    ap.add_argument("--spice-seeds", type=int, default=8)
    args = ap.parse_args()

    from neurospice.analysis.statistics import wilson_interval
    from neurospice.report.locking import mode_probabilities, seed_modes
    from neurospice.sim.options import RunOptions
    from neurospice.spice.deck import prepare_deck

    base = prepare_deck(BOARD).with_tstop(args.tstop)
    out = []
    for setting in SETTINGS:
        deck = base.with_values(dict(setting))
        t0 = time.time()
        model = [m.get(("master", "slave"), "silent") for m in seed_modes(
            deck, list(range(1, args.model_seeds + 1)), RunOptions(engine="model", t_skip=T_SKIP))]
        t1 = time.time()
        spice = [m.get(("master", "slave"), "silent") for m in seed_modes(
            deck, list(range(1, args.spice_seeds + 1)), RunOptions(engine="spice", t_skip=T_SKIP))]
        t2 = time.time()
        pm, ps = mode_probabilities(model), mode_probabilities(spice)
        rows = []
        for mode in sorted(set(pm) | set(ps)):
            p = pm.get(mode, (0.0, 0.0, 0.0))[0]
            lo, hi = ps[mode][1:] if mode in ps else wilson_interval(0, len(spice))
            rows.append({"mode": mode, "p_model": p, "model_lo": pm.get(mode, (0, 0, 0))[1],
                         "model_hi": pm.get(mode, (0, 0, 0))[2],
                         "p_spice": ps.get(mode, (0.0,))[0], "spice_lo": lo, "spice_hi": hi,
                         "inside": bool(lo - 1e-9 <= p <= hi + 1e-9)})
        out.append({"setting": setting, "model_seeds": args.model_seeds,
                    "spice_seeds": args.spice_seeds, "model_s": round(t1 - t0, 1),
                    "spice_s": round(t2 - t1, 1), "modes": rows,
                    "model_draws": model, "spice_draws": spice})
        for r in rows:
            print(f"amp {setting['amp']:.2f} r2 {setting['r2']:.0f}: {r['mode']:<22} "
                  f"model P {r['p_model']:.2f} ({args.model_seeds} draws)   ngspice P "
                  f"{r['p_spice']:.2f} [{r['spice_lo']:.2f}, {r['spice_hi']:.2f}] "
                  f"({args.spice_seeds} draws)   {'inside' if r['inside'] else 'OUTSIDE'}")
        sys.stdout.flush()
    (ROOT / "studies" / "verdict_probabilities.json").write_text(json.dumps(out, indent=1))
    inside = sum(all(r["inside"] for r in o["modes"]) for o in out)
    print(f"model P(mode) inside ngspice's interval at {inside} of {len(out)} settings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
