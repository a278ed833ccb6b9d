"""The power balance of the reference board (netlists/coupled_fhn.cir) from ngspice's own currents.

Run: ``.venv/bin/python studies/hh_board_energy.py [--tstop 1] [-o studies/hh_board_energy.json]``
(a few seconds per simulated second). The board's deck is run as it is, with its ``.save`` line
replaced by ``.options savecurrents`` + ``.save all`` (every node voltage and every device
current), flattened into branches by :func:`neurospice.analysis.energy.netlist_branches`, and
balanced by :func:`~neurospice.analysis.energy.netlist_balance` over the part of the circuit
connected to the master's membrane node without passing through ground (both neurons, the
memristor's conduction path and R2; the memristor's state integrator and thermal node are
computation, connected to the rest only through ground, and balance on their own).

The same is done for hh_neuron.cir (whose hand-written balance is in studies/hh_figures.py) as a
cross-check of the flattener.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from neurospice.analysis.energy import element_energy, netlist_balance, netlist_branches
from neurospice.files import atomic_write_text
from neurospice.sim.ngspice import run_text
from neurospice.spice.deck import prepare_text
from neurospice.spice.resources import NETLISTS_DIR

NETLISTS = Path(NETLISTS_DIR)


def with_all_currents(deck: Path, tstop: float | None) -> str:
    """The deck's text saving every node voltage and device current (and a new stop time)."""
    body = deck.read_text()
    if tstop is not None:
        body = re.sub(r"(?m)^(\.tran\s+\S+\s+)(\S+)", lambda m: f"{m.group(1)}{tstop:g}", body)
    body = re.sub(r"(?m)^\.save\b.*(\n\+.*)*$", ".options savecurrents\n.save all", body)
    return body


def balance(deck: Path, around: str, memristors: list[str], tstop: float | None) -> Any:
    text = with_all_currents(deck, tstop)
    wf = run_text(text, base_dir=NETLISTS)
    branches = netlist_branches(prepare_text(text, base_dir=NETLISTS).text,
                                memristors=memristors)
    bal = netlist_balance(wf.time, wf, branches, around=around)
    return wf, bal


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tstop", type=float, default=1.0, help="board run length [s]")
    ap.add_argument("-o", "--output", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args(argv)
    out: dict[str, Any] = {}

    wf, bal = balance(NETLISTS / "coupled_fhn.cir", "mmem", ["zro2"], args.tstop)
    t = wf.time
    dev = element_energy(t, wf["v(mn)"] - wf["v(mp)"], -wf["i(vsense)"])
    names = bal.by_name()
    top = sorted(names.items(), key=lambda kv: -abs(kv[1]))[:10]
    out["board"] = {
        "tstop_s": float(t[-1]), "branches": len(bal.terms),
        "sources_j": float(bal.sources[-1]), "stored_j": float(bal.stored[-1]),
        "dissipated_j": float(bal.dissipated[-1]), "residual_j": bal.residual,
        "relative_error": bal.relative_error,
        "memristor_j": names["b.xm1.bi"], "memristor_eps_s": dev.eps,
        "memristor_bound_j": dev.bound, "r2_j": names["r2"], "largest_terms_j": dict(top),
    }
    print(f"board, {t[-1]:g} s, {len(bal.terms)} branches: sources {bal.sources[-1]:.6g} J = "
          f"stored {bal.stored[-1]:.4g} J + dissipated {bal.dissipated[-1]:.6g} J; residual "
          f"{bal.residual:.3g} J, relative {bal.relative_error:.2e}")
    print(f"  memristor {names['b.xm1.bi']:.4g} J (eps {dev.eps:.4g} S, bound {dev.bound:.4g} J),"
          f" R2 {names['r2']:.4g} J")
    for k, v in top:
        print(f"  {k:<28} {v:.4g} J")

    wf, bal = balance(NETLISTS / "hh_neuron.cir", "mem", ["hh_k", "hh_na"], None)
    out["hh_neuron"] = {"branches": len(bal.terms), "relative_error": bal.relative_error,
                        "terms_j": bal.by_name()}
    print(f"hh_neuron, flattened: {len(bal.terms)} branches, relative {bal.relative_error:.2e}")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(out, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
