"""Board study (issue #5): the master's amplitude against the slave's locking timeline.

Runs the reference board ``netlists/coupled_fhn.cir`` (master FHN -> ZrO2 memristor -> R2 ->
slave FHN, cycle-to-cycle memristor noise on) once per amplitude ``amp`` of the master's signal
at the device, for ``--tstop`` seconds each (>= 20 s for the paper's comparison), and reads the
master -> slave locking timeline: the modes (1:1, 2:1, ...), their dwell times (bridged over the
windows that straddle a switch, see ``neurospice.analysis.timeline``), the number of switches,
and the memristor's state (fraction of time in LRS, number of LRS <-> HRS transitions of
``w`` across 0.5, resistance range).

Outputs in ``--out`` (default ``studies/out/board_amplitude``):

``table.csv`` / ``table.md``
    one row per amplitude;
``results.json``
    the rows, every dwell time per mode and the episodes of each run;
``dwell_hist.png``
    histogram of the 1:1 and 2:1 dwell times pooled over 1.6 <= amp <= 2.0 V (the paper's band,
    with its 1-3 s shaded), and the dwell times per amplitude;
``timelines.png``
    the mode timeline and the memristor state of every run.

Usage::

    python studies/board_amplitude.py                 # 1.4:2.2:9, 20 s each, 2 workers
    python studies/board_amplitude.py --quick         # 3 amplitudes, 6 s each
    python studies/board_amplitude.py --amps 1.8 --tstop 40 --seed 3
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.analysis.timeline import Timeline
from neurospice.report.locking import analyse_run
from neurospice.sim.ngspice import run_prepared
from neurospice.spice.deck import prepare_deck

ROOT = Path(__file__).resolve().parents[1]
DECK = ROOT / "netlists" / "coupled_fhn.cir"
OUT = ROOT / "studies" / "out" / "board_amplitude"
#: The paper's band of amplitudes (V) where 1:1 and 2:1 alternate, and its dwell times (s).
PAPER_BAND = (1.6, 2.0)
PAPER_DWELL = (1.0, 3.0)
MODES = ("1:1", "2:1")


@dataclass
class PointResult:
    """One run of the board at one amplitude."""

    amp: float
    seed: int
    tstop: float
    wall_s: float
    f_master_hz: float
    f_slave_hz: float
    overall: str
    locked_fraction: float
    fraction: dict[str, float]
    dwell: dict[str, list[float]]
    switches: int
    switches_11_21: int
    lrs_fraction: float
    w_transitions: int
    r_min: float
    r_max: float
    episodes: list[tuple[str, float, float]] = field(default_factory=list)
    trace: dict[str, list[float]] = field(default_factory=dict)

    def stats(self, mode: str) -> dict[str, float]:
        d = np.asarray(self.dwell.get(mode, []), dtype=float)
        if d.size == 0:
            return {"n": 0, "mean": math.nan, "median": math.nan, "min": math.nan,
                    "max": math.nan}
        return {"n": int(d.size), "mean": float(d.mean()), "median": float(np.median(d)),
                "min": float(d.min()), "max": float(d.max())}

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "amp_V": self.amp, "seed": self.seed, "tstop_s": self.tstop,
            "f_master_Hz": round(self.f_master_hz, 3), "f_slave_Hz": round(self.f_slave_hz, 3),
            "overall": self.overall, "locked_fraction": round(self.locked_fraction, 3),
        }
        for mode in MODES:
            s = self.stats(mode)
            key = mode.replace(":", "to")
            out[f"frac_{key}"] = round(self.fraction.get(mode, 0.0), 3)
            out[f"n_{key}"] = s["n"]
            out[f"mean_{key}_s"] = _r(s["mean"])
            out[f"median_{key}_s"] = _r(s["median"])
            out[f"min_{key}_s"] = _r(s["min"])
            out[f"max_{key}_s"] = _r(s["max"])
        su = self.stats("unlocked")
        out.update({"n_unlocked": su["n"], "median_unlocked_s": _r(su["median"])})
        out.update({
            "switches": self.switches, "switches_1to1_2to1": self.switches_11_21,
            "lrs_fraction": round(self.lrs_fraction, 3), "w_transitions": self.w_transitions,
            "r_min_ohm": round(self.r_min), "r_max_ohm": round(self.r_max),
            "wall_s": round(self.wall_s, 1),
        })
        return out


def _r(x: float) -> float | None:
    return None if not math.isfinite(x) else round(x, 3)


def run_point(deck_path: str, amp: float, tstop: float, seed: int, t_skip: float,
              params: dict[str, str]) -> PointResult:
    """Run the board at amplitude ``amp`` (V) for ``tstop`` s and read its locking timeline."""
    deck = prepare_deck(deck_path).with_params({**params, "amp": amp}).with_tstop(tstop)
    deck = deck.with_seed(seed)
    t0 = time.time()
    wf = run_prepared(deck)
    wall = time.time() - t0
    analysis = analyse_run(deck, wf, t_skip=t_skip)
    pair = analysis.pairs[0]
    tl: Timeline | None = pair.timeline
    t = wf.time
    keep = t >= t_skip
    w = np.asarray(wf["v(xm1.w)"])[keep]
    r = np.asarray(wf["v(xm1.r)"])[keep]
    tk = t[keep]
    lrs = w > 0.5
    # time-weighted fraction in LRS and the number of LRS <-> HRS transitions of w
    dt = np.diff(tk)
    lrs_fraction = float(np.sum(dt * lrs[:-1]) / max(tk[-1] - tk[0], 1e-12))
    w_transitions = int(np.count_nonzero(lrs[1:] != lrs[:-1]))
    fraction: dict[str, float] = {}
    dwell: dict[str, list[float]] = {}
    episodes: list[tuple[str, float, float]] = []
    switches = switches_11_21 = 0
    if tl is not None:
        eps = tl.bridged_episodes()
        episodes = [(e.mode, round(e.t_start, 4), round(e.t_end, 4)) for e in eps]
        for mode in tl.modes:
            fraction[mode] = tl.fraction(mode)
            dwell[mode] = [round(x, 4) for x in tl.dwell_times(mode, bridged=True)]
        switches = len(eps) - 1
        locked = [e.mode for e in eps if e.locked]
        switches_11_21 = sum(1 for a, b in zip(locked[:-1], locked[1:], strict=True)
                             if {a, b} == set(MODES))
    # decimated traces for the timeline figure (one sample per 10 ms)
    grid = np.arange(tk[0], tk[-1], 0.01)
    trace = {"t": grid.round(4).tolist(), "w": np.interp(grid, tk, w).round(3).tolist()}
    return PointResult(
        amp=amp, seed=seed, tstop=tstop, wall_s=wall, f_master_hz=pair.f_master_hz,
        f_slave_hz=pair.f_slave_hz, overall=pair.overall.mode,
        locked_fraction=pair.locked_fraction, fraction=fraction, dwell=dwell,
        switches=switches, switches_11_21=switches_11_21, lrs_fraction=lrs_fraction,
        w_transitions=w_transitions, r_min=float(r.min()), r_max=float(r.max()),
        episodes=episodes, trace=trace,
    )


def _amps(text: str) -> list[float]:
    if ":" in text:
        a, b, n = text.split(":")
        return [round(float(x), 4) for x in np.linspace(float(a), float(b), int(n))]
    return [float(x) for x in text.split(",")]


def write_outputs(results: list[PointResult], out: Path) -> dict[str, Any]:
    """Write table.csv, table.md, results.json, dwell_hist.png, timelines.png; return the JSON."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [p.row() for p in results]
    with open(out / "table.csv", "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    cols = ["amp_V", "f_slave_Hz", "frac_1to1", "frac_2to1", "n_1to1", "median_1to1_s",
            "n_2to1", "median_2to1_s", "n_unlocked", "median_unlocked_s", "switches_1to1_2to1",
            "lrs_fraction", "w_transitions", "r_min_ohm", "r_max_ohm"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in cols) + " |"
              for r in rows]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    band = [p for p in results if PAPER_BAND[0] - 1e-9 <= p.amp <= PAPER_BAND[1] + 1e-9]
    pooled = {m: sorted(x for p in band for x in p.dwell.get(m, [])) for m in MODES}
    summary: dict[str, Any] = {
        "paper": {"band_V": PAPER_BAND, "dwell_s": PAPER_DWELL},
        "band_pooled": {
            m: {"n": len(d), "mean": _r(float(np.mean(d))) if d else None,
                "median": _r(float(np.median(d))) if d else None,
                "min": min(d) if d else None, "max": max(d) if d else None,
                "in_1_3_s": (sum(1 for x in d if PAPER_DWELL[0] <= x <= PAPER_DWELL[1])
                             / len(d)) if d else None}
            for m, d in pooled.items()
        },
        "rows": rows,
        "runs": [{"amp": p.amp, "seed": p.seed, "dwell": p.dwell, "episodes": p.episodes}
                 for p in results],
    }
    (out / "results.json").write_text(json.dumps(summary, indent=1))
    _plots(results, pooled, out)
    return summary


def _plots(results: list[PointResult], pooled: dict[str, list[float]], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"1:1": "tab:blue", "2:1": "tab:orange"}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    top = max([x for d in pooled.values() for x in d] + [4.0])
    bins = np.arange(0.0, top + 0.5, 0.5)
    ax1.axvspan(*PAPER_DWELL, color="0.9", label="paper: 1-3 s")
    ax1.hist([pooled[m] for m in MODES], bins=bins, label=[f"{m} (n={len(pooled[m])})"
             for m in MODES], color=[colors[m] for m in MODES])
    ax1.set_xlabel("dwell time (s)")
    ax1.set_ylabel("episodes")
    ax1.set_title(f"dwell times, amp {PAPER_BAND[0]}-{PAPER_BAND[1]} V pooled")
    ax1.legend()
    ax2.axhspan(*PAPER_DWELL, color="0.9")
    for k, m in enumerate(MODES):
        for p in results:
            d = p.dwell.get(m, [])
            ax2.plot([p.amp + (k - 0.5) * 0.02] * len(d), d, "o", color=colors[m], ms=4,
                     label=m if p is results[0] else None)
    ax2.set_xlabel("master amplitude at the device (V)")
    ax2.set_ylabel("dwell time (s)")
    ax2.set_title("dwell times per amplitude")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out / "dwell_hist.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(len(results), 1, figsize=(11, 1.1 * len(results) + 0.6),
                             sharex=True, squeeze=False)
    shade = {"1:1": "tab:blue", "2:1": "tab:orange", "unlocked": "0.8", "irregular": "tab:red",
             "silent": "k"}
    for ax, p in zip(axes[:, 0], results, strict=True):
        for mode, a, b in p.episodes:
            ax.axvspan(a, b, color=shade.get(mode, "tab:green"), alpha=0.5, lw=0)
        ax.plot(p.trace["t"], p.trace["w"], "k", lw=0.6)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel(f"{p.amp:g} V", rotation=0, ha="right", va="center")
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("time (s)   [shading: blue 1:1, orange 2:1, grey unlocked, "
                           "red irregular; line: memristor state w]")
    fig.tight_layout()
    fig.savefig(out / "timelines.png", dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deck", default=str(DECK))
    ap.add_argument("--amps", default="1.4:2.2:9",
                    help="amplitudes (V): a:b:n (inclusive) or a comma list")
    ap.add_argument("--tstop", type=float, default=20.0, help="run length (s), default 20")
    ap.add_argument("--t-skip", type=float, default=0.5, help="transient dropped (s)")
    ap.add_argument("--seed", type=int, default=1, help="memristor random seed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="override a deck .param (repeatable)")
    ap.add_argument("--quick", action="store_true",
                    help="3 amplitudes (1.4, 1.8, 2.2 V), 6 s each")
    ap.add_argument("-o", "--out", default=str(OUT))
    args = ap.parse_args(argv)
    amps = _amps(args.amps)
    tstop = args.tstop
    if args.quick:
        amps, tstop = [1.4, 1.8, 2.2], min(tstop, 6.0)
    params = dict(p.split("=", 1) for p in args.param)
    results: list[PointResult] = []
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as ex:
        futs = [ex.submit(run_point, args.deck, a, tstop, args.seed, args.t_skip, params)
                for a in amps]
        for k, f in enumerate(futs):
            p = f.result()
            results.append(p)
            s11, s21 = p.stats("1:1"), p.stats("2:1")
            print(f"[{k + 1}/{len(amps)} {time.time() - t0:6.0f} s] amp {p.amp:.3f} V: "
                  f"f {p.f_master_hz:.2f}/{p.f_slave_hz:.2f} Hz, 1:1 {s11['n']}x median "
                  f"{s11['median']:.2f} s, 2:1 {s21['n']}x median {s21['median']:.2f} s, "
                  f"1:1<->2:1 switches {p.switches_11_21}, LRS {p.lrs_fraction:.2f}, "
                  f"w transitions {p.w_transitions}", flush=True)
    summary = write_outputs(results, Path(args.out))
    for m, s in summary["band_pooled"].items():
        print(f"band {PAPER_BAND} V pooled {m}: {s}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
