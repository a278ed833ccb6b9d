"""Board calibration with the model engine: where do 1:1 and 2:1 alternate over 1.6-2.0 V?

Issue 11, item 4: the shipped board (docs/board.md) alternates 1:1 <-> 2:1 at 1.8 V only. The
model engine makes the search cheap (a 20 s point costs ~0.2 s of CPU with its analysis):

``--scan``
    r2 x slave pot x amp (1.6, 1.7, 1.8, 1.9, 2.0 V) x seeds, device noise on (``c2c=1``,
    ``tc2c`` 1 s as shipped), 20 s per point; a setting *alternates* at an amplitude when the
    slave spends >= 10 % of the record in 1:1 and >= 10 % in 2:1, switches between them at least
    twice, and the median of the pooled (bridged) 1:1 and 2:1 dwell times lies in 1-3 s. Scores
    each (r2, pots) by the number of amplitudes where it alternates for every seed.
``--map``
    the amplitude (1.4-2.2 V) x slave pot map at the chosen r2: fraction of time in 1:1, in 2:1,
    unlocked/other, and the median dwell time; figure ``docs/figures/model_calibration_map.png``.
``--confirm``
    the chosen calibration at 1.6 ... 2.0 V, 20 s, seeds 1-3 with the model engine, and at 1.6
    and 2.0 V in ngspice (seed 1); the dwell-time distributions.

Outputs in ``studies/out/model_calibration`` (gitignored): ``scan.json``, ``map.json``,
``confirm.json``, ``report.md``.

Usage::

    python studies/model_calibration.py --scan
    python studies/model_calibration.py --map --r2 2k
    python studies/model_calibration.py --confirm --r2 2k --pots 0.56
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.spice.deck import PreparedDeck, prepare_deck
from neurospice.spice.library import parse_si

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "netlists" / "coupled_fhn.cir"
OUT = ROOT / "studies" / "out" / "model_calibration"
FIG = ROOT / "docs" / "figures" / "model_calibration_map.png"
TSTOP = 20.0
T_SKIP = 0.5
BAND = (1.6, 1.7, 1.8, 1.9, 2.0)
MODES = ("1:1", "2:1")


def row(deck: PreparedDeck, point: dict[str, Any], wf: Any) -> dict[str, Any]:
    """Reducer: mode fractions, dwell times and switches of one 20 s run."""
    from neurospice.report.locking import analyse_run

    a = analyse_run(deck, wf, t_skip=T_SKIP)
    out: dict[str, Any] = dict(point)
    w = wf["v(xm1.w)"][wf.time >= T_SKIP]
    out["w_transitions"] = int(np.count_nonzero(np.diff((w > 0.5).astype(int))))
    out["r_min"] = float(np.min(wf["v(xm1.r)"]))
    out["r_max"] = float(np.max(wf["v(xm1.r)"]))
    pair = a.pairs[0] if a.pairs else None
    tl = pair.timeline if pair is not None else None
    if tl is None:
        out.update({"f11": 0.0, "f21": 0.0, "dwell": {}, "switches": 0, "alternates": False})
        return out
    out["f11"] = tl.fraction("1:1") if "1:1" in tl.modes else 0.0
    out["f21"] = tl.fraction("2:1") if "2:1" in tl.modes else 0.0
    out["dwell"] = {m: [round(x, 3) for x in tl.dwell_times(m, bridged=True)] for m in MODES}
    out["switches"] = sum(1 for s in tl.locked_switches()
                          if {s.from_mode, s.to_mode} == set(MODES))
    pooled = out["dwell"]["1:1"] + out["dwell"]["2:1"]
    out["median_dwell"] = float(np.median(pooled)) if pooled else float("nan")
    out["alternates"] = bool(out["f11"] >= 0.1 and out["f21"] >= 0.1 and out["switches"] >= 2
                             and 1.0 <= out["median_dwell"] <= 3.0)
    return out


def _run(points: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
    from tqdm import tqdm

    from neurospice.sim.model.maps import map_model

    deck = prepare_deck(BOARD)
    t0 = time.perf_counter()
    with tqdm(total=len(points), desc=what, unit="pt") as bar:
        rows = map_model(deck, points, reduce=row, workers=2, tstop=TSTOP, chunk=4,
                         progress=bar.update)
    print(f"{what}: {len(points)} points, {time.perf_counter() - t0:.0f} s wall")
    return rows


def scan(r2s: list[float], pots: list[float], seeds: list[int],
         fixed: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """The r2 x pots x amp x seed scan (``fixed``: other .params); prints the best settings."""
    points = [{**(fixed or {}), "r2": r2, "pots": p, "amp": a, "seed": s}
              for r2 in r2s for p in pots for a in BAND for s in seeds]
    rows = _run(points, "scan")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "scan.json").write_text(json.dumps(rows))
    print(score_table(rows, seeds))
    return rows


def score_table(rows: list[dict[str, Any]], seeds: list[int]) -> str:
    """Per (r2, pots): amplitudes where every seed alternates, and where any seed does."""
    keys = sorted({(r["r2"], r["pots"]) for r in rows})
    lines = ["| r2 | pots | alternating amps (all seeds) | (any seed) | median dwell (s) |",
             "| --- | --- | --- | --- | --- |"]
    scored = []
    for key in keys:
        sub = [r for r in rows if (r["r2"], r["pots"]) == key]
        all_amps, any_amps, dw = [], [], []
        for a in BAND:
            rs = [r for r in sub if abs(r["amp"] - a) < 1e-9]
            if rs and all(r["alternates"] for r in rs):
                all_amps.append(a)
            if any(r["alternates"] for r in rs):
                any_amps.append(a)
            dw += [x for r in rs for m in MODES for x in r["dwell"].get(m, [])]
        scored.append((len(all_amps), len(any_amps), key, all_amps, any_amps,
                       float(np.median(dw)) if dw else float("nan")))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    for n_all, _n_any, (r2, p), all_amps, any_amps, med in scored[:15]:
        lines.append(f"| {r2 / 1e3:g}k | {p:.4g} | {n_all}: {all_amps} | {any_amps} | "
                     f"{med:.2f} |")
    return "\n".join(lines)


def amp_map(r2: float, pots: list[float], seed: int, fixed: dict[str, float] | None = None,
            fig: Path = FIG) -> list[dict[str, Any]]:
    """The amplitude x slave pot map at ``r2`` (``fixed``: other .params); writes ``fig``."""
    amps = [round(x, 3) for x in np.linspace(1.4, 2.2, 17)]
    points = [{**(fixed or {}), "r2": r2, "pots": p, "amp": a, "seed": seed}
              for p in pots for a in amps]
    rows = _run(points, "map")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"map_{fig.stem}.json").write_text(json.dumps(rows))
    _figure(rows, amps, pots, r2, fixed or {}, fig)
    return rows


def _figure(rows: list[dict[str, Any]], amps: list[float], pots: list[float], r2: float,
            fixed: dict[str, float], fig_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = {k: np.full((len(pots), len(amps)), np.nan) for k in ("f11", "f21", "other", "dw")}
    alt = np.zeros((len(pots), len(amps)), dtype=bool)
    for r in rows:
        i = int(np.argmin(np.abs(np.asarray(pots) - r["pots"])))
        j = int(np.argmin(np.abs(np.asarray(amps) - r["amp"])))
        grid["f11"][i, j] = r["f11"]
        grid["f21"][i, j] = r["f21"]
        grid["other"][i, j] = 1.0 - r["f11"] - r["f21"]
        grid["dw"][i, j] = r.get("median_dwell", np.nan)
        alt[i, j] = r["alternates"]
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.4), sharey=True)
    titles = {"f11": "fraction of time in 1:1", "f21": "fraction in 2:1",
              "other": "fraction unlocked / other", "dw": "median 1:1 / 2:1 dwell (s)"}
    extent = (amps[0], amps[-1], pots[0], pots[-1])
    for ax, key in zip(axes, ("f11", "f21", "other", "dw"), strict=True):
        vmax = 5.0 if key == "dw" else 1.0
        im = ax.imshow(grid[key], origin="lower", aspect="auto", extent=extent, vmin=0,
                       vmax=vmax, cmap="viridis")
        ys, xs = np.nonzero(alt)
        ax.scatter(np.asarray(amps)[xs], np.asarray(pots)[ys], marker="o", s=14,
                   facecolors="none", edgecolors="r", label="alternates")
        ax.axvspan(1.6, 2.0, color="w", alpha=0.08)
        ax.set_title(titles[key])
        ax.set_xlabel("amp (V)")
        fig.colorbar(im, ax=ax, fraction=0.046)
    axes[0].set_ylabel("slave pot (pots)")
    axes[0].legend(loc="lower left", fontsize=7)
    extra = ", ".join(f"{k} = {v:g}" for k, v in fixed.items())
    fig.suptitle(f"Model engine, board with r2 = {r2 / 1e3:g} kOhm{', ' + extra if extra else ''}, "
                 "device noise on (tc2c 1 s), 20 s per point; circles: 1:1 <-> 2:1 alternation, "
                 "dwell 1-3 s")
    fig.tight_layout()
    fig_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(fig_path, dpi=100)
    plt.close(fig)


def confirm(r2: float, pots: float, seeds: list[int], spice_amps: list[float],
            fixed: dict[str, float] | None = None,
            spice_seeds: tuple[int, ...] = (1,)) -> dict[str, Any]:
    """Model runs over the band and seeds; ngspice runs at ``spice_amps`` (``spice_seeds``)."""
    from neurospice.sim.ngspice import run_prepared

    fx = fixed or {}
    points = [{**fx, "r2": r2, "pots": pots, "amp": a, "seed": s} for a in BAND for s in seeds]
    model_rows = _run(points, "confirm (model)")
    spice_rows = []
    deck = prepare_deck(BOARD)
    for a in spice_amps:
        for seed in spice_seeds:
            p: dict[str, str | float] = {**fx, "r2": r2, "pots": pots, "amp": a}
            d = deck.with_params(p).with_seed(seed).with_tstop(TSTOP)
            t0 = time.perf_counter()
            wf = run_prepared(d)
            r = row(d, {**p, "seed": seed}, wf)
            r["wall_s"] = time.perf_counter() - t0
            spice_rows.append(r)
            print("ngspice", {k: v for k, v in r.items() if k != "dwell"}, r["dwell"], flush=True)
    out = {"r2": r2, "pots": pots, "fixed": fx, "model": model_rows, "ngspice": spice_rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "confirm.json").write_text(json.dumps(out, indent=1))
    lines = [f"r2 {r2:g} ohm, pots {pots:g}, {fx}", "",
             "| engine | amp | seed | 1:1 | 2:1 | switches | median dwell (s) | alternates | "
             "1:1 dwell (s) | 2:1 dwell (s) |", "| --- | --- | --- | --- | --- | --- | --- | "
             "--- | --- | --- |"]
    for eng, rows in (("model", model_rows), ("ngspice", spice_rows)):
        for r in rows:
            lines.append(f"| {eng} | {r['amp']:g} | {r['seed']} | {r['f11']:.2f} | "
                         f"{r['f21']:.2f} | {r['switches']} | {r.get('median_dwell', 0):.2f} | "
                         f"{'yes' if r['alternates'] else 'no'} | {r['dwell'].get('1:1')} | "
                         f"{r['dwell'].get('2:1')} |")
    text = "\n".join(lines)
    (OUT / "report.md").write_text(text + "\n")
    print(text)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scan", action="store_true")
    ap.add_argument("--map", action="store_true")
    ap.add_argument("--confirm", action="store_true")
    ap.add_argument("--r2s", default="1k,1.5k,2k,3k")
    ap.add_argument("--pots-range", default="0.545:0.58:15")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--r2", default="2k")
    ap.add_argument("--pots", type=float, default=0.562)
    ap.add_argument("--spice-amps", default="1.6,2.0")
    ap.add_argument("--spice-seeds", default="1")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="another .param for every point of the scan (e.g. c0s=2.2u)")
    args = ap.parse_args(argv)
    fixed = {k.strip().lower(): parse_si(v) for k, v in (x.split("=", 1) for x in args.set)}
    lo, hi, n = args.pots_range.split(":")
    pots = [round(float(x), 5) for x in np.linspace(float(lo), float(hi), int(n))]
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.scan:
        scan([parse_si(x) for x in args.r2s.split(",")], pots, seeds, fixed)
    if args.map:
        fig = FIG if not fixed else FIG.with_name("model_calibration_map_calibrated.png")
        amp_map(parse_si(args.r2), pots, seeds[0], fixed, fig)
    if args.confirm:
        confirm(parse_si(args.r2), args.pots, seeds,
                [float(x) for x in args.spice_amps.split(",")], fixed,
                tuple(int(x) for x in args.spice_seeds.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
