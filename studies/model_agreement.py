"""Model engine against ngspice: one neuron's frequency, and a 6 x 6 map of the board.

Two parts, each cached in ``studies/out/model_agreement`` (gitignored):

``--ngspice``
    runs the circuit in ngspice (serially, one process: ~36 x 13 s CPU for the map, plus five
    1.5 s neuron runs) and keeps, per point, the spike times of both neurons, the classified
    mode (``neurospice.report.locking.analyse_run``, as ``simulate`` does) and the device's
    state range. Run it once; the model side reads it.
``--model`` (default)
    runs the same points with the model engine (:mod:`neurospice.sim.model`), classifies them the
    same way, writes ``table.md`` / ``results.json`` there and the figure
    ``docs/figures/model_agreement_map.png``.

The board map: r2 x amp (6 x 6), 5 s per point, analysis after 0.5 s, the deck's other defaults
with the device's noise off (``c2c=0``, ``mc=0``): the two engines draw different random numbers
(ngspice's generator cannot be reproduced), so a point-by-point comparison needs the deterministic
device.

Usage::

    python studies/model_agreement.py --ngspice      # once (~8 min on one core)
    python studies/model_agreement.py                # model side, table, figure
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.analysis.spikes import detect_spikes
from neurospice.report.locking import analyse_run
from neurospice.sim.ngspice import Waveforms, run_prepared
from neurospice.spice.deck import PreparedDeck, prepare_deck

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "netlists" / "coupled_fhn.cir"
NEURON = ROOT / "netlists" / "fhn_neuron.cir"
OUT = ROOT / "studies" / "out" / "model_agreement"
FIG = ROOT / "docs" / "figures" / "model_agreement_map.png"

#: Load resistor (ohm) and master amplitude (V) of the 6 x 6 map.
R2_GRID = (1e3, 2e3, 3e3, 4e3, 6e3, 10e3)
AMP_GRID = (1.4, 1.6, 1.8, 2.0, 2.2, 2.4)
#: Board run length and analysis start (s).
BOARD_TSTOP = 5.0
T_SKIP = 0.5
#: Neuron settings (pot, C0 in F) of the frequency check; neuron run length and skip (s).
NEURON_SETTINGS = ((0.55, 2.2e-6), (0.6, 2.2e-6), (0.7, 2.2e-6), (0.6, 1e-6), (0.562, 3.3e-6))
NEURON_TSTOP = 1.5
NEURON_SKIP = 0.5
BOARD_FIXED: dict[str, str | float] = {"c2c": 0, "mc": 0}


def board_points() -> list[dict[str, str | float]]:
    """The map's points, amp fastest."""
    return [{"r2": r2, "amp": amp} for r2 in R2_GRID for amp in AMP_GRID]


def neuron_points() -> list[dict[str, str | float]]:
    """The neuron settings as deck parameters."""
    return [{"pot": pot, "c0": c0} for pot, c0 in NEURON_SETTINGS]


def classify_board(deck: PreparedDeck, wf: Waveforms) -> dict[str, Any]:
    """Mode and figures of one board run, as ``simulate`` reports them."""
    analysis = analyse_run(deck, wf, t_skip=T_SKIP)
    row = analysis.as_row()
    w = wf["v(xm1.w)"]
    sel = wf.time >= T_SKIP
    row["w_min"] = float(np.min(w[sel]))
    row["w_max"] = float(np.max(w[sel]))
    row["w_transitions"] = int(np.count_nonzero(np.diff((w[sel] > 0.5).astype(int))))
    pair = analysis.pairs[0] if analysis.pairs else None
    if pair is not None and pair.timeline is not None:
        row["fractions"] = {m: pair.timeline.fraction(m) for m in pair.timeline.modes}
    row["spikes_master"] = analysis.trains["xmaster"].times.tolist()
    row["spikes_slave"] = analysis.trains["xslave"].times.tolist()
    return row


def neuron_frequency(wf: Waveforms) -> float:
    """Free-running frequency (Hz) after NEURON_SKIP."""
    return float(detect_spikes(wf.time, wf["v(mem)"]).after(NEURON_SKIP).frequency_hz)


def run_ngspice() -> None:
    """The circuit side: neuron frequencies and the board map (cached as JSON)."""
    OUT.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"neuron": [], "board": []}
    path = OUT / "ngspice.json"
    if path.is_file():
        out = json.loads(path.read_text())
    base = prepare_deck(NEURON)
    done = {(p["pot"], p["c0"]) for p in out["neuron"]}
    for p in neuron_points():
        if (p["pot"], p["c0"]) in done:
            continue
        t0 = time.process_time()
        wf = run_prepared(base.with_params(p).with_tstop(NEURON_TSTOP))
        out["neuron"].append({**p, "f_hz": neuron_frequency(wf),
                              "cpu_s": time.process_time() - t0})
        print("neuron", out["neuron"][-1], flush=True)
        path.write_text(json.dumps(out, indent=1))
    board = prepare_deck(BOARD).with_params(BOARD_FIXED)
    done_b = {(p["r2"], p["amp"]) for p in out["board"]}
    for p in board_points():
        if (p["r2"], p["amp"]) in done_b:
            continue
        t0 = time.time()
        deck = board.with_params(p).with_tstop(BOARD_TSTOP)
        wf = run_prepared(deck)
        row = {**p, **classify_board(deck, wf), "wall_s": time.time() - t0}
        out["board"].append(row)
        print("board", {k: v for k, v in row.items() if not k.startswith("spikes")}, flush=True)
        path.write_text(json.dumps(out, indent=1))


def run_model_side(dt: float | None = None) -> dict[str, Any]:
    """The model side of both checks; writes the table, JSON and figure. Returns the summary."""
    from neurospice.sim.model import compile_model

    ng = json.loads((OUT / "ngspice.json").read_text())
    neuron_model = compile_model(prepare_deck(NEURON))
    neuron_rows = []
    for ref in ng["neuron"]:
        p = {"pot": ref["pot"], "c0": ref["c0"]}
        [wf] = neuron_model.run([p], tstop=NEURON_TSTOP, dt=dt)
        f = neuron_frequency(wf)
        neuron_rows.append({**p, "f_spice_hz": ref["f_hz"], "f_model_hz": f,
                            "error_pct": 100 * (f / ref["f_hz"] - 1)})
    board = prepare_deck(BOARD).with_params(BOARD_FIXED)
    model = compile_model(board)
    pts = board_points()
    t0 = time.process_time()
    wfs = model.run(pts, tstop=BOARD_TSTOP, dt=dt)
    cpu = time.process_time() - t0
    by_key = {(r["r2"], r["amp"]): r for r in ng["board"]}
    rows = []
    for p, wf in zip(pts, wfs, strict=True):
        deck = board.with_params(p)
        m = classify_board(deck, wf)
        s = by_key[(p["r2"], p["amp"])]
        rows.append({"r2": p["r2"], "amp": p["amp"], "mode_spice": s["mode"],
                     "mode_model": m["mode"], "f_slave_spice": s["f_slave_hz"],
                     "f_slave_model": m["f_slave_hz"], "ratio_spice": s["ratio_value"],
                     "ratio_model": m["ratio_value"], "lf_spice": s["locked_fraction"],
                     "lf_model": m["locked_fraction"], "wtr_spice": s["w_transitions"],
                     "wtr_model": m["w_transitions"], "same": s["mode"] == m["mode"]})
    same = sum(r["same"] for r in rows)
    summary = {"neuron": neuron_rows, "board": rows, "same": same, "total": len(rows),
               "model_cpu_s": cpu}
    (OUT / "results.json").write_text(json.dumps(summary, indent=1))
    lines = ["| pot | C0 (uF) | ngspice (Hz) | model (Hz) | error |",
             "| --- | --- | --- | --- | --- |"]
    for r in neuron_rows:
        lines.append(f"| {r['pot']:g} | {r['c0'] * 1e6:g} | {r['f_spice_hz']:.3f} | "
                     f"{r['f_model_hz']:.3f} | {r['error_pct']:+.2f} % |")
    lines += ["", f"Board map: same mode at {same} of {len(rows)} points "
              f"(model CPU {cpu:.2f} s for all 36 points).", "",
              "| r2 | amp | ngspice | model | f slave ngspice / model (Hz) | locked fraction | "
              "w transitions |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        mark = "" if r["same"] else " **differs**"
        lines.append(f"| {r['r2'] / 1e3:g}k | {r['amp']:g} | {r['mode_spice']} | "
                     f"{r['mode_model']}{mark} | {r['f_slave_spice']} / {r['f_slave_model']} | "
                     f"{r['lf_spice']} / {r['lf_model']} | {r['wtr_spice']} / {r['wtr_model']} |")
    (OUT / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    _figure(rows)
    return summary


def _figure(rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = sorted({r["mode_spice"] for r in rows} | {r["mode_model"] for r in rows})
    colours = {m: plt.get_cmap("tab10")(k % 10) for k, m in enumerate(modes)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    for ax, key, title in ((axes[0], "mode_spice", "ngspice (circuit)"),
                           (axes[1], "mode_model", "model engine")):
        for r in rows:
            i = AMP_GRID.index(r["amp"])
            j = R2_GRID.index(r["r2"])
            ax.add_patch(plt.Rectangle((i - 0.5, j - 0.5), 1, 1, color=colours[r[key]],
                                       alpha=0.55))
            ax.text(i, j, r[key], ha="center", va="center", fontsize=8,
                    fontweight="normal" if r["same"] else "bold")
            if not r["same"]:
                ax.add_patch(plt.Rectangle((i - 0.5, j - 0.5), 1, 1, fill=False, lw=2,
                                           edgecolor="k"))
        ax.set_xlim(-0.5, len(AMP_GRID) - 0.5)
        ax.set_ylim(-0.5, len(R2_GRID) - 0.5)
        ax.set_xticks(range(len(AMP_GRID)), [f"{a:g}" for a in AMP_GRID])
        ax.set_yticks(range(len(R2_GRID)), [f"{r / 1e3:g}k" for r in R2_GRID])
        ax.set_xlabel("amp: master amplitude at the device (V)")
        ax.set_title(title)
    axes[0].set_ylabel("r2: load resistor (ohm)")
    same = sum(r["same"] for r in rows)
    fig.suptitle(f"Board, 5 s per point, device noise off: same mode at {same}/{len(rows)} "
                 "points (framed: different)")
    fig.tight_layout()
    FIG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIG, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ngspice", action="store_true", help="run the ngspice side (slow)")
    args = ap.parse_args(argv)
    if args.ngspice:
        run_ngspice()
        return 0
    summary = run_model_side()
    return 0 if summary["same"] >= 32 else 1


if __name__ == "__main__":
    sys.exit(main())
