"""The figures of docs/hh.md: the HH memcircuit against its scipy reference, and its energy view.

Run: ``.venv/bin/python studies/hh_figures.py [-o studies/hh_figures.json]`` (about a minute on one
core; one ngspice run at a time). Prints a table per figure and writes them as JSON.

* f-I: steps of 0-50 uA/cm2 (200 ms, frequency from the spikes after 55 ms), circuit and scipy;
* the repetitive-firing onset from rest and the long-step single-spike threshold, each by
  bisection (0.002 %) on the circuit and on scipy;
* spike times with the deck's 10 us maximum step against 1 us;
* the power balance of hh_neuron.cir over 100 ms and the dissipation of each channel;
* the loop area of hh_k and hh_na under a sine drive at ten frequencies over 3 Hz - 3 kHz.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.analysis.energy import (
    Term,
    capacitor_energy,
    element_energy,
    loop_area,
    power_balance,
)
from neurospice.files import atomic_write_text
from neurospice.reference import hh as ref
from neurospice.sim.ngspice import run_deck
from neurospice.spice.resources import NETLISTS_DIR

NETLISTS = Path(NETLISTS_DIR)
HH_DECK = NETLISTS / "hh_neuron.cir"
IV_DECK = NETLISTS / "hh_channel_iv.cir"


def circuit_spikes(istim: float, tstop: float, **params: float) -> np.ndarray:
    """Spike times [s] (0 V upward crossings) of hh_neuron.cir under a step of ``istim`` A/cm2."""
    wf = run_deck(HH_DECK, params={"istim": istim, **params}, tstop=tstop)
    return ref.spike_times(wf.time, wf["v(mem)"])


def bisect(fires: Any, lo: float, hi: float, rel: float) -> float:
    """Smallest value in [lo, hi] for which ``fires`` is true (to ``rel``)."""
    while hi - lo > rel * hi:
        mid = 0.5 * (lo + hi)
        if fires(mid):
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args(argv)
    out: dict[str, Any] = {}

    # f-I -------------------------------------------------------------------------------------
    currents = [0.0, 2.5e-6, 5e-6, 7.5e-6, 10e-6, 15e-6, 20e-6, 30e-6, 40e-6, 50e-6]
    say("f-I (uA/cm2: circuit Hz, scipy Hz, relative difference)")
    expect = ref.fi_curve(currents, tstop=0.2, t_from=0.055)
    rows = []
    for i, fe in zip(currents, expect, strict=True):
        fc = ref.step_frequency(circuit_spikes(i, 0.2), 0.055)
        rel = (fc - fe) / fe if not (math.isnan(fc) or math.isnan(fe)) else math.nan
        rows.append({"i_ua_cm2": i * 1e6, "circuit_hz": fc, "scipy_hz": float(fe), "rel": rel})
        say(f"  {i * 1e6:5.1f}  {fc:9.4f}  {fe:9.4f}  {rel:+.2e}")
    out["fi"] = rows

    # thresholds ------------------------------------------------------------------------------
    onset_ref = ref.firing_onset(5e-6, 8e-6, rel=2e-5)
    onset_ckt = bisect(lambda i: ref.repetitive(circuit_spikes(i, 0.25), 0.25), 5e-6, 8e-6, 2e-5)
    thr_ref = ref.single_spike_threshold(1e-6, 4e-6, rel=2e-5)
    thr_ckt = bisect(lambda i: circuit_spikes(i, 0.1).size > 0, 1e-6, 4e-6, 2e-5)
    out["onset"] = {"circuit_ua": onset_ckt * 1e6, "scipy_ua": onset_ref * 1e6,
                    "rel": onset_ckt / onset_ref - 1}
    out["single_spike"] = {"circuit_ua": thr_ckt * 1e6, "scipy_ua": thr_ref * 1e6,
                           "rel": thr_ckt / thr_ref - 1}
    say(f"repetitive onset: circuit {onset_ckt * 1e6:.4f}, scipy {onset_ref * 1e6:.4f} uA/cm2")
    say(f"single spike:     circuit {thr_ckt * 1e6:.4f}, scipy {thr_ref * 1e6:.4f} uA/cm2")

    # time step -------------------------------------------------------------------------------
    coarse = circuit_spikes(10e-6, 0.1)
    fine = circuit_spikes(10e-6, 0.1, tmax=1e-6)
    sref = ref.simulate_hh(10e-6, 0.1).spikes
    out["time_step"] = {"max_dt_10u_vs_1u_s": float(np.max(np.abs(coarse - fine))),
                        "max_dt_10u_vs_scipy_s": float(np.max(np.abs(coarse - sref))),
                        "spikes": int(coarse.size)}
    say(f"spike times 10 us vs 1 us step: {out['time_step']['max_dt_10u_vs_1u_s'] * 1e6:.2f} us")

    # power balance ---------------------------------------------------------------------------
    wf = run_deck(HH_DECK)
    t, v = wf.time, wf["v(mem)"]
    lib = ref.HHParams()
    terms = [Term.source("istim", t, v, wf["i(vstim)"]),
             Term.storage("cm", capacitor_energy(v, lib.cm))]
    chans = {}
    for src, e in (("vena", lib.ena), ("vek", lib.ek), ("vel", lib.el)):
        ich = wf[f"i(v.xn.{src})"]
        terms.append(Term.source(src, t, np.full_like(t, e), -ich))
        terms.append(Term.dissipator("g" + src[1:], t, v - e, ich))
        ee = element_energy(t, v - e, ich)
        chans["g" + src[1:]] = {"e_diss_j": ee.e_diss, "eps_s": ee.eps, "bound_j": ee.bound}
    bal = power_balance(t, terms)
    out["power_balance"] = {"terms_j": bal.by_name(), "residual_j": bal.residual,
                            "gross_source_j": bal.gross_source_energy,
                            "relative_error": bal.relative_error, "channels": chans}
    say(f"power balance over 100 ms: residual {bal.residual:.3e} J, relative "
        f"{bal.relative_error:.2e}; terms {bal.by_name()}")

    # loop area vs frequency ------------------------------------------------------------------
    freqs = np.logspace(np.log10(3.0), np.log10(3000.0), 10)
    k_area, na_area = [], []
    for f in freqs:
        wfl = run_deck(IV_DECK, params={"freq": f, "ncyc": math.ceil(0.05 * f) + 2, "nper": 200})
        k_area.append(loop_area(wfl.time, wfl["v(pk)"], wfl["i(vsk)"], 1 / f))
        na_area.append(loop_area(wfl.time, wfl["v(pna)"], wfl["i(vsna)"], 1 / f))
    loops = {}
    for name, area in (("hh_k", np.array(k_area)), ("hh_na", np.array(na_area))):
        j = int(np.argmax(area))
        loops[name] = {"freq_hz": freqs.tolist(), "area_w": area.tolist(),
                       "peak_hz": float(freqs[j]), "ratio_peak_to_highest": area[j] / area[-1]}
        say(f"{name}: largest loop at {freqs[j]:.1f} Hz, {area[j]:.3e} W; ratio to "
            f"{freqs[-1]:.0f} Hz: {area[j] / area[-1]:.2f}; areas "
            + " ".join(f"{a:.2e}" for a in area))
    out["loops"] = loops

    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(out, indent=2))
    say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
