"""The board's calibration checked in ngspice (and the model engine): 1:1 <-> 2:1 over 1.6-2.0 V.

Issue 11, item 4. Reruns the final check of the calibration found with the model engine
(``studies/model_calibration.py``; docs/model_engine.md, "The board's calibration"): the
reference board ``netlists/coupled_fhn.cir`` with the ``.param`` overrides :data:`CALIBRATION`
(the deck's defaults are not changed), 20 s per run, analysis after 0.5 s, at the master's
amplitudes 1.6, 1.7, 1.8, 1.9, 2.0 V x seeds, one ngspice run at a time; optionally the same
amplitudes x seeds with the model engine (``--model-seeds``). A run *alternates* when the slave
spends >= 10 % of the record in 1:1 and >= 10 % in 2:1, switches between the two at least twice
and the median of its pooled (bridged) 1:1 and 2:1 dwell times lies in 1-3 s - the reducer
``model_calibration.row``, the same for both engines.

Prints the table (amplitude x seed: fractions 1:1 / 2:1, 1:1 <-> 2:1 switches, median dwell,
alternates, device transitions), the amplitudes where each seed alternates and the pooled dwell
time distributions; writes ``studies/out/calibration_ngspice/results.json`` and ``report.md``.

Usage::

    python studies/calibration_ngspice.py                        # ngspice, 5 amps x seeds 1, 2
    python studies/calibration_ngspice.py --amps 1.6,2.0 --seeds 1
    python studies/calibration_ngspice.py --model-seeds 1-10     # and the model engine
    python studies/calibration_ngspice.py --param pots=0.534     # another setting
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from model_calibration import BAND, BOARD, MODES, TSTOP, row

from neurospice.errors import SimulationError
from neurospice.sim.ngspice import run_prepared
from neurospice.spice.deck import prepare_deck
from neurospice.spice.library import parse_si

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "studies" / "out" / "calibration_ngspice"
#: The calibration (``--param`` overrides of netlists/coupled_fhn.cir): master C0 2.2 uF (28.8 Hz,
#: peak 3.83 V, so ``vpeak`` keeps ``amp`` the true peak at the device), load 1.25 kOhm, slave
#: pot 0.533, transport draws held 1.25 s; the others as shipped (potm 0.6, c0s 3.3 uF, c2c 1).
CALIBRATION: dict[str, float] = {"c0m": 2.2e-6, "vpeak": 3.83, "r2": 1250.0, "pots": 0.533,
                                 "tc2c": 1.25}
PAPER_DWELL = (1.0, 3.0)


def _seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",") if s]


def run_spice(params: dict[str, float], amps: list[float], seeds: list[int]) -> list[dict]:
    """One 20 s ngspice run per amplitude x seed, one at a time; the rows of ``row``."""
    deck = prepare_deck(BOARD)
    rows = []
    for a in amps:
        for seed in seeds:
            p = {**params, "amp": a}
            d = deck.with_params(p).with_seed(seed).with_tstop(TSTOP)
            t0 = time.perf_counter()
            try:
                wf = run_prepared(d)
            except SimulationError as exc:  # recorded as a run that does not alternate
                print(f"| ngspice | {a:g} | {seed} | failed: {exc} |", flush=True)
                rows.append({**p, "seed": seed, "engine": "ngspice", "failed": str(exc),
                             "f11": 0.0, "f21": 0.0, "switches": 0, "dwell": {},
                             "alternates": False, "w_transitions": 0})
                continue
            r = row(d, {**p, "seed": seed}, wf)
            r["engine"] = "ngspice"
            r["wall_s"] = round(time.perf_counter() - t0, 1)
            print(_line(r), flush=True)
            rows.append(r)
    return rows


def run_model(params: dict[str, float], amps: list[float], seeds: list[int]) -> list[dict]:
    """The same points with the model engine (two worker processes)."""
    from neurospice.sim.model.maps import map_model

    points = [{**params, "amp": a, "seed": s} for a in amps for s in seeds]
    rows = map_model(prepare_deck(BOARD), points, reduce=row, workers=2, tstop=TSTOP, chunk=4)
    for r in rows:
        r["engine"] = "model"
    return rows


def _line(r: dict[str, Any]) -> str:
    dw = r["dwell"]
    return (f"| {r['engine']} | {r['amp']:g} | {r['seed']} | {r['f11']:.2f} / {r['f21']:.2f} | "
            f"{r['switches']} | {r.get('median_dwell', float('nan')):.2f} | "
            f"{'yes' if r['alternates'] else 'no'} | {r['w_transitions']} | "
            f"{', '.join(f'{x:g}' for x in dw.get('1:1', []))} | "
            f"{', '.join(f'{x:g}' for x in dw.get('2:1', []))} |")


HEADER = ("| engine | amp (V) | seed | 1:1 / 2:1 | 1:1<->2:1 switches | median dwell (s) | "
          "alternates | w transitions | 1:1 dwell times (s) | 2:1 dwell times (s) |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def summary(rows: list[dict[str, Any]]) -> str:
    """Per engine: alternating amplitudes per seed, and the pooled dwell-time distributions."""
    lines = []
    for eng in ("model", "ngspice"):
        rs = [r for r in rows if r["engine"] == eng]
        if not rs:
            continue
        lines.append(f"\n{eng}:")
        for s in sorted({r["seed"] for r in rs}):
            alt = [r["amp"] for r in rs if r["seed"] == s and r["alternates"]]
            n = len([r for r in rs if r["seed"] == s])
            lines.append(f"  seed {s}: alternates at {len(alt)} of {n} amplitudes {alt}")
        for a in sorted({r["amp"] for r in rs}):
            ra = [r for r in rs if r["amp"] == a]
            lines.append(f"  {a:g} V: {sum(r['alternates'] for r in ra)} of {len(ra)} runs "
                         f"alternate; mean 1:1 / 2:1 {np.mean([r['f11'] for r in ra]):.2f} / "
                         f"{np.mean([r['f21'] for r in ra]):.2f}")
        for mode in (*MODES, "pooled"):
            ms = MODES if mode == "pooled" else (mode,)
            d = np.asarray([x for r in rs for m in ms for x in r["dwell"].get(m, [])])
            if d.size == 0:
                continue
            q1, med, q3 = np.percentile(d, [25, 50, 75])
            inside = np.mean((d >= PAPER_DWELL[0]) & (d <= PAPER_DWELL[1]))
            hist, _ = np.histogram(d, bins=[0, 0.5, 1, 2, 3, 5, 1e9])
            lines.append(f"  {mode} dwell: n {d.size}, median {med:.2f} s (IQR {q1:.2f}-{q3:.2f})"
                         f", {inside:.0%} within 1-3 s; counts <0.5/0.5-1/1-2/2-3/3-5/>5 s: "
                         f"{'/'.join(str(int(h)) for h in hist)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--amps", default=",".join(f"{a:g}" for a in BAND))
    ap.add_argument("--seeds", default="1,2", help="ngspice seeds (e.g. 1,2 or 1-3; '' none)")
    ap.add_argument("--model-seeds", default="", help="model-engine seeds too (e.g. 1-10)")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="change one .param of the calibration")
    args = ap.parse_args(argv)
    params = dict(CALIBRATION)
    params.update({k.strip().lower(): parse_si(v)
                   for k, v in (x.split("=", 1) for x in args.param)})
    amps = [float(a) for a in args.amps.split(",")]
    print("calibration:", " ".join(f"{k}={v:g}" for k, v in params.items()))
    print(HEADER)
    rows: list[dict[str, Any]] = []
    if args.model_seeds:
        rows += run_model(params, amps, _seeds(args.model_seeds))
        for r in rows:
            print(_line(r))
    if args.seeds:
        rows += run_spice(params, amps, _seeds(args.seeds))
    text = summary(rows)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({"params": params, "rows": rows}, indent=1))
    report = [f"calibration: {params}", "", HEADER,
              *(_line(r) for r in rows if "failed" not in r), text]
    (OUT / "report.md").write_text("\n".join(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
