"""An HH patch and an electronic FHN neuron coupled through the board's memristive synapse.

Run: ``.venv/bin/python studies/hh_coupled.py [--tstop 2] [--direction hh-fhn|fhn-hh]``.

The circuit is the reference board (netlists/coupled_fhn.cir) with one neuron replaced by a
Hodgkin-Huxley patch of netlists/lib/hh.lib:

* ``hh-fhn``: the HH patch (step ``istim`` A/cm2 from 5 ms) drives the synapse from its scaled
  output ``out = kout*(v(mem) - voff)`` (kout = 40, voff = -65 mV: rest 0 V, spike peak about
  4.2 V), the device's current flows through R2 into the FHN slave's membrane;
* ``fhn-hh``: the FHN master's output drives the synapse, the current flows through R2 into the
  HH patch's membrane (``area`` cm2 turns the mA-scale synapse current into uA/cm2).

It prints both neurons' spike statistics and the n:m locking of the slave to the master over the
second half of the run: what ``netlists/coupled_hh.nsn`` (the network language's ``hh`` kind)
should reproduce.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from neurospice.analysis.locking import classify_locking
from neurospice.analysis.spikes import detect_spikes
from neurospice.reference.hh import spike_times
from neurospice.sim.ngspice import run_text
from neurospice.spice.resources import NETLISTS_DIR

HEAD = """* HH <-> FHN through the memristive synapse
.include lib/parts.lib
.include lib/fhn.lib
.include lib/memristors.lib
.include lib/hh.lib
.options seed=1
"""

HH_TO_FHN = HEAD + """.param istim={istim} area=1 r2={r2} c0s={c0s} pots={pots}
Istim 0 hmem PULSE(0 {{istim*area}} 5m 1u 1u 100 200)
Xhh hmem hout hh area={{area}} kout=40 voff=-65m
Vsense hout mp dc 0
Xm1 mn mp zro2 w0=1 mc=0 c2c=0
R2 mn smem {{r2}}
Xslave smem sout fhn pot={{pots}} c0={{c0s}}
.tran 20u {tstop} 0 20u
.save v(hmem) v(smem) i(vsense) v(xm1.w)
.end
"""

FHN_TO_HH = HEAD + """.param area={area} r2={r2} c0m={c0m} potm={potm} amp=1.8 vpeak=4.3
Xmaster mmem mout fhn pot={{potm}} c0={{c0m}} kout={{amp/vpeak}}
Vsense mout mp dc 0
Xm1 mn mp zro2 w0=1 mc=0 c2c=0
R2 mn hmem {{r2}}
Xhh hmem hout hh area={{area}}
.ic v(mmem)=0.1
.tran 20u {tstop} 0 20u uic
.save v(hmem) v(mmem) i(vsense) v(xm1.w)
.end
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--direction", choices=["hh-fhn", "fhn-hh"], default="hh-fhn")
    ap.add_argument("--tstop", type=float, default=2.0, help="run length [s]")
    ap.add_argument("--istim", type=float, default=10e-6, help="HH step [A/cm2] (hh-fhn)")
    ap.add_argument("--area", type=float, default=20.0, help="HH patch area [cm2] (fhn-hh)")
    ap.add_argument("--r2", type=float, default=2e3, help="load resistor [ohm]")
    args = ap.parse_args(argv)
    if args.direction == "hh-fhn":
        text = HH_TO_FHN.format(istim=args.istim, r2=args.r2, c0s="3.3u", pots=0.562,
                                tstop=args.tstop)
    else:
        text = FHN_TO_HH.format(area=args.area, r2=args.r2, c0m="1u", potm=0.6,
                                tstop=args.tstop)
    wf = run_text(text, base_dir=NETLISTS_DIR)
    t = wf.time
    hh = spike_times(t, wf["v(hmem)"])
    fhn_vec = "v(smem)" if args.direction == "hh-fhn" else "v(mmem)"
    fhn = detect_spikes(t, wf[fhn_vec]).times
    master, slave = (hh, fhn) if args.direction == "hh-fhn" else (fhn, hh)
    half = 0.5 * float(t[-1])
    res = classify_locking(master, slave, t0=half)
    for label, s in (("HH", hh), ("FHN", fhn)):
        late = s[s >= half]
        f = (late.size - 1) / (late[-1] - late[0]) if late.size > 1 else float("nan")
        print(f"{label:<4} {s.size:4d} spikes, {f:7.2f} Hz over the second half")
    w = np.asarray(wf["v(xm1.w)"])
    print(f"memristor w {w.min():.3f}..{w.max():.3f}; synapse current "
          f"{np.min(wf['i(vsense)']) * 1e3:.3f}..{np.max(wf['i(vsense)']) * 1e3:.3f} mA")
    print(f"{args.direction}: ratio {res.ratio:.4f}, mode {res.mode}, index {res.sync_index:.3f}, "
          f"drift {res.drift:.2f} rad")
    return 0


if __name__ == "__main__":
    sys.exit(main())
