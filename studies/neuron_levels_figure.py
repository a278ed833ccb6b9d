"""docs/figures/analysis_hh_levels.png: how the HH neuron's spike levels are derived.

Left: the hh subcircuit alone, pulsed (0.5 ms) at two amplitudes per decade, as
neurospice.report.neuron_levels measures it; the regenerative response whose peak sets the levels
is drawn thick. Right: netlists/hh_neuron.cir (10 uA/cm2, 100 ms) with the derived levels and
the spikes counted at them. Prints the levels, the count and the characterisation's cost (first
run and cached).

    python studies/neuron_levels_figure.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neurospice.report import neuron_levels as nl  # noqa: E402
from neurospice.report.summary import summarise  # noqa: E402
from neurospice.sim.ngspice import run_prepared, run_text  # noqa: E402
from neurospice.spice.deck import prepare_deck  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "figures" / "analysis_hh_levels.png"


def main() -> None:
    os.environ["NEUROSPICE_CACHE"] = tempfile.mkdtemp()  # a first run: nothing cached
    deck = prepare_deck(ROOT / "netlists" / "hh_neuron.cir")
    inst = deck.neurons()[0]
    t0 = time.perf_counter()
    wf = run_prepared(deck)
    t_run = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = summarise(deck, wf)
    t_first = time.perf_counter() - t0
    nl._MEMO.clear()  # the next process: the file cache only
    t0 = time.perf_counter()
    summarise(deck, wf)
    t_cached = time.perf_counter() - t0
    res = nl.response_levels(deck, inst)
    assert res is not None
    th = res.thresholds
    n = summary.neurons[0]
    print(f"hh: rest {res.rest_v * 1e3:.2f} mV, full spike {res.peak_v * 1e3:.2f} mV "
          f"(pulse {res.amplitude_a * 1e6:.3g} uA), spike {th.spike_v * 1e3:.2f} mV, trigger "
          f"{th.on_v * 1e3:.2f} mV, re-arm {th.off_v * 1e3:.2f} mV; {n.stats.count} spikes, "
          f"{n.partial} partial")
    print(f"run {t_run:.2f} s; summary with the characterisation {t_first:.2f} s, "
          f"cached {t_cached:.3f} s")

    amps = nl._amplitudes(nl.AMP_MAX)
    defs = nl.neuron_definitions_text(deck.lines, inst.subckt)
    pins = tuple(deck.subckts()[inst.subckt][0])
    pw = run_text(nl.pulse_deck(defs, inst.subckt, pins, {"area": 1.0}, amps),
                  base_dir=Path(tempfile.gettempdir()), analysis="tran")
    t = np.asarray(pw.time)
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 1.4]})
    cmap = plt.get_cmap("viridis")
    for k, amp in enumerate(amps):
        if amp < 1e-7 or amp > 1e-3:
            continue
        v = np.asarray(pw[f"v(m{k})"]) * 1e3
        chosen = abs(amp - res.amplitude_a) < 1e-3 * amp
        a.plot((t - nl.T_ON) * 1e3, v, color=cmap(np.log10(amp / 1e-7) / 4),
               lw=2.4 if chosen else 0.9,
               label=f"{amp * 1e6:.3g} uA" + (" (full spike)" if chosen else ""))
    a.axvspan(0, nl.PULSE_WIDTH * 1e3, color="0.85")
    for y, name in ((th.spike_v, "spike"), (th.on_v, "trigger"), (th.off_v, "re-arm")):
        a.axhline(y * 1e3, ls="--", lw=0.8, color="k")
        b.axhline(y * 1e3, ls="--", lw=0.8, color="k")
        b.text(101, y * 1e3, f"{name} {y * 1e3:.1f} mV", va="center", fontsize=8)
    a.axhline(res.rest_v * 1e3, ls=":", color="0.4")
    a.set_xlim(-1, 12)
    a.set_xlabel("time after the pulse's start (ms)")
    a.set_ylabel("membrane (mV)")
    a.set_title("hh alone, 0.5 ms pulses (grey), 2 per decade")
    a.legend(fontsize=7, loc="upper right")
    tt = np.asarray(wf.time) * 1e3
    b.plot(tt, np.asarray(wf["v(mem)"]) * 1e3, lw=1)
    tr = summary.trains["v(mem)"]
    b.plot(tr.times * 1e3, tr.peaks * 1e3, "rv", ms=5, label=f"{tr.count} spikes")
    b.set_xlim(0, 100)
    b.set_xlabel("time (ms)")
    b.set_title("netlists/hh_neuron.cir, 10 uA/cm2: spikes at the derived levels")
    b.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(OUT, dpi=90)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
