"""Every kind of plot neurospice draws, made from short runs into docs/figures/gallery/.

Each picture comes from the command a designer types (through ``neurospice.cli.main.main``),
on the shipped decks or the test suite's toy pair, kept short: the board for 1 s, a 4 x 3 sweep
of the toy pair with a log axis, 16 tolerance builds of the toy pair, 12 Monte Carlo devices.
Open them and look: that is what they are for.

Usage: ``python docs/plot_gallery.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from neurospice.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
NET = ROOT / "netlists"
TOY = ROOT / "tests" / "data" / "decks" / "toy_pair.cir"
OUT = ROOT / "docs" / "figures" / "gallery"

#: (command arguments, {file the command writes: name in the gallery})
RUNS: list[tuple[list[str], dict[str, str]]] = [
    (["simulate", str(NET / "coupled_fhn.cir"), "--tstop", "1", "--energy"],
     {"traces.png": "traces.png", "locking_master_slave.png": "locking.png",
      "iv_m1.png": "iv_cycles.png", "resistance_m1.png": "resistance.png",
      "energy.png": "energy.png"}),
    (["simulate", str(NET / "fhn_cubic_dc.cir")], {"dc.png": "dc.png"}),
    (["simulate", str(NET / "gyrator_ac.cir")], {"ac.png": "ac.png"}),
    (["simulate", str(TOY), "--sweep", "rc=log:0.2:20:4",
      "--sweep", "eps2=0.04,0.06,0.08"], {"sweep_map.png": "sweep_map_2d_log.png"}),
    (["simulate", str(TOY), "--sweep", "rc=log:0.05:20:8"],
     {"sweep_map.png": "sweep_map_1d_log.png"}),
    (["simulate", str(TOY), "--runs", "16", "--tol", "R=5%",
      "--tol", "C=10%"], {"yield.png": "yield.png"}),
    (["simulate", str(NET / "memristor_iv.cir"), "--runs", "12", "--seed", "1"],
     {"iv_scatter.png": "iv_scatter.png", "iv_scatter_log.png": "iv_scatter_log.png"}),
    (["stdp", "--protocol", "pair", "--dt=-2:2:9", "--g0", "1e-3", "--g0", "1.4e-3",
      "--vp", "3", "--vpost", "3"], {"stdp.png": "stdp.png"}),
    (["crossbar", "--n", "12", "--period-ratio", "1.3", "--th-ratio", "2"],
     {"crossbar.png": "crossbar.png"}),
]


def main_gallery() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for k, (args, files) in enumerate(RUNS):
            out = Path(tmp) / f"run{k}"
            status = main([*args, "-q", "-o", str(out)] if args[0] == "simulate"
                          else [*args, "-o", str(out)])
            if status != 0:
                raise SystemExit(f"{' '.join(args)}: exit {status}")
            for src, dst in files.items():
                shutil.copyfile(out / src, OUT / dst)
                print(f"wrote {OUT / dst}")


if __name__ == "__main__":
    main_gallery()
