"""Figures of docs/analysis.md: where a neuron's thresholds come from, and how the slave's
response in each master cycle is classed (issue #20).

    python studies/analysis_figures.py     # one 3 s ngspice run of the reference board

Writes docs/figures/analysis_thresholds.png (the fhn neuron's fast I-V, its knees and the three
levels) and docs/figures/analysis_cycles.png (the reference board's slave, 0.5-0.8 s, each
response marked spike / partial with the levels drawn).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIG = ROOT / "docs" / "figures"


def main() -> int:
    from matplotlib.figure import Figure

    import neurospice as ns
    from neurospice.analysis.modes import classify_cycles, cycle_table
    from neurospice.analysis.spikes import detect_responses, thresholds_from_iv
    from neurospice.report.plots import save_figure
    from neurospice.report.summary import neuron_iv

    run = ns.simulate(ROOT / "netlists" / "coupled_fhn.cir", tstop=3.0)
    inst = next(i for i in run.deck.neurons() if i.name == "xslave")
    iv = neuron_iv(run.deck, inst)
    assert iv is not None
    v, i = iv
    th = thresholds_from_iv(v, i)
    assert th is not None
    FIG.mkdir(parents=True, exist_ok=True)

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    sel = (v > -7) & (v < 7)
    ax.plot(v[sel], 1e3 * i[sel], color="k", lw=1.2, label="fast I-V of fhn (recovery open)")
    lo, hi = th.knees
    ax.axvspan(lo, hi, color="#ffe9c4", label="negative conductance (middle branch)")
    ax.axvline(th.spike_v, color="#d62728", lw=1.2,
               label=f"spike level: upper knee {th.spike_v:.2f} V")
    ax.axvline(th.on_v, color="#2ca02c", lw=1.0, ls="--",
               label=f"response trigger {th.on_v:+.2f} V")
    ax.axvline(th.off_v, color="#2ca02c", lw=1.0, ls=":",
               label=f"re-arm {th.off_v:+.2f} V")
    s = run["v(smem)"][run.time > 0.5]
    ax.axvspan(float(np.min(s)), float(np.max(s)), ymin=0.0, ymax=0.06, color="#1f77b4",
               alpha=0.6, label="the coupled slave's swing on the board")
    ax.set_xlabel("membrane voltage V (V)")
    ax.set_ylabel("current drawn by mem (mA)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("Where an FHN neuron's thresholds come from: the knees of its own I-V")
    save_figure(fig, FIG / "analysis_thresholds.png")

    t = run.time
    r = detect_responses(t, run["v(smem)"], th)
    mth = th
    master = detect_responses(t, run["v(mmem)"], mth).spikes()
    cy = cycle_table(master, r)
    t0, t1 = 0.5, 0.8
    verdict = classify_cycles(master, r, t0=t0, t1=t1)
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax = fig.add_subplot()
    k = (t >= t0) & (t <= t1)
    ax.plot(t[k], run["v(mmem)"][k] * 1.8 / 4.3, color="#bbbbbb", lw=0.8,
            label="master (scaled output)")
    ax.plot(t[k], run["v(smem)"][k], color="#1f77b4", lw=1.0, label="slave membrane")
    for lv, c, ls, name in ((th.spike_v, "#d62728", "-", "spike level"),
                            (th.on_v, "#2ca02c", "--", "trigger"),
                            (th.off_v, "#2ca02c", ":", "re-arm")):
        ax.axhline(lv, color=c, ls=ls, lw=0.8, label=name)
    for c0 in cy.t0[(cy.t0 >= t0) & (cy.t0 <= t1)]:
        ax.axvline(c0, color="#999999", lw=0.5, ls="-.")
    sel = (r.times >= t0) & (r.times <= t1)
    for tp, vp, sp in zip(r.times[sel], r.peaks[sel], r.is_spike[sel], strict=True):
        ax.plot(tp, vp, "o", color="#d62728" if sp else "#ff7f0e", ms=4)
        ax.annotate("S" if sp else "P", (tp, vp), xytext=(0, 5), textcoords="offset points",
                    ha="center", fontsize=7)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("V (V)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", ncol=3)
    ax.set_title(f"Reference board, {t0}-{t1} s: every master cycle (dash-dot) holds one partial "
                 f"response (P): '{verdict.mode}', margin {verdict.margin_v:.2f} V "
                 f"({verdict.feature})", fontsize=9)
    save_figure(fig, FIG / "analysis_cycles.png")
    print(f"thresholds {th}; verdict {verdict.mode}, margin {verdict.margin_v:.3f} V")
    return 0


if __name__ == "__main__":
    sys.exit(main())
