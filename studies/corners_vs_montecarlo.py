"""Do the worst-case corners bound what real builds do? (the designer's bench)

Runs the reference board ``netlists/coupled_fhn.cir`` with the same part tolerances two ways -
``--corners`` (sensitivity-guided worst case) and a Monte Carlo of ``--runs`` builds - in
ngspice, and compares the spread of each neuron's frequency: the builds should lie inside the
corners' range wherever the board responds monotonically to each part.

Writes ``studies/corners_vs_montecarlo.json`` (the corners, the builds' frequencies, and the
comparison). Usage::

    python studies/corners_vs_montecarlo.py                    # 200 builds, 2 s, R 5 % C 10 %
    python studies/corners_vs_montecarlo.py --runs 50 --tstop 1
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import neurospice
from neurospice.files import atomic_write_text

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--tstop", type=float, default=2.0)
    ap.add_argument("--tol", action="append", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "corners_vs_montecarlo.json")
    args = ap.parse_args()
    tols = args.tol or ["R=5%", "C=10%"]
    deck = neurospice.load(neurospice.NETLISTS_DIR / "coupled_fhn.cir").with_tstop(args.tstop)
    t0 = time.process_time(), time.time()
    corners = neurospice.corners(deck, tols)
    t1 = time.process_time(), time.time()
    builds = neurospice.monte_carlo(deck, args.runs, tol=tols)
    t2 = time.process_time(), time.time()
    ok = builds[builds["status"] == "ok"]
    out: dict[str, object] = {
        "deck": "netlists/coupled_fhn.cir", "tstop_s": args.tstop, "tolerances": tols,
        "runs": args.runs, "builds_ok": int(len(ok)),
        "corner_runs": 1 + len(corners.sensitivities) + len(corners.corners),
        "wall_s": {"corners": t1[1] - t0[1], "monte_carlo": t2[1] - t1[1]},
        "corners": [{"name": c.name, **{k: v for k, v in c.row.items()
                                        if isinstance(v, (int, float, str))}}
                    for c in [corners.nominal, *corners.corners]],
        "neurons": {},
    }
    for key in ("f_master_hz", "f_slave_hz"):
        lo, hi = corners.frequency_range(key)
        freqs = [float(f) for f in ok[key] if math.isfinite(float(f))]
        inside = sum(lo <= f <= hi for f in freqs)
        out["neurons"][key] = {  # type: ignore[index]
            "corners_min": lo, "corners_max": hi,
            "builds_min": min(freqs), "builds_max": max(freqs), "builds_inside": inside,
            "builds": len(freqs),
            "modes": {str(m): int(n) for m, n in ok["mode"].value_counts().items()},
        }
        print(f"{key}: corners {lo:.3f}..{hi:.3f} Hz; builds {min(freqs):.3f}.."
              f"{max(freqs):.3f} Hz; {inside} of {len(freqs)} inside")
    atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
