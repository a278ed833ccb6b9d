"""Proposition 1 over the crossbar's free settings (issue #26): which spatial periods P it admits.

For each programming pair (Vpre, Vpost) and accounting (``paper``: G frozen over a pulse;
``feedback``: G following the heating within the pulse; both with the paper's pairing), and each
input period ratio R = T/tH (1.25, 1.3, 1.4, 1.45; N = 60, tH = 2 tau_b, ts = tsh = 0.108 tau_b,
VH = 0.8 V, all synapses starting at Gmax), :func:`neurospice.reference.crossbar.prop1_admissible`
gives the P admitted at every (tau_m, theta) of a grid.  The paper's targets are P = 2, 3, 4, 5.
Per setting the JSON records how many grid cells admit all four targets, how many admit three
or four of them *uniquely* (no other P: the map cannot pick another), and the best cell.

Writes ``studies/second_order_prop1_scan.json``.  ~3 min of CPU.

Usage::

    nice -n 10 python studies/second_order_prop1_scan.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.files import atomic_write_text
from neurospice.reference.crossbar import CrossbarConfig, prop1_admissible
from neurospice.reference.second_order import SecondOrderParams

OUT = Path(__file__).with_suffix(".json")
RATIOS = (1.25, 1.3, 1.4, 1.45)
TARGET = {1.25: 2, 1.3: 3, 1.4: 4, 1.45: 5}
TAUS = np.round(np.arange(0.5, 4.01, 0.25), 3)
THETAS = np.round(np.arange(0.20, 1.001, 0.01), 3)


def main() -> None:
    t_start = time.time()
    p = SecondOrderParams.from_library()
    doc: dict[str, Any] = {"taus": TAUS.tolist(), "thetas": THETAS.tolist(),
                           "ratios": list(RATIOS), "g_init": p.gmax, "settings": []}
    for acc in ("paper", "feedback"):
        for vp in (2.2, 2.4, 2.5, 2.6, 2.7):
            for ratio in (0.95, 0.99, 1.0, 1.01):
                vpost = round(vp * ratio, 4)
                adm = {r: prop1_admissible(CrossbarConfig(period_ratio=r, vp=vp, vpost=vpost,
                                                          g_init=p.gmax, accounting=acc),
                                           TAUS, THETAS) for r in RATIOS}
                hit = {r: adm[r][:, :, TARGET[r] - 1] for r in RATIOS}
                uniq = {r: hit[r] & (adm[r].sum(axis=2) == 1) for r in RATIOS}
                hits = sum(h.astype(int) for h in hit.values())
                nuniq = sum(u.astype(int) for u in uniq.values())
                i, j = np.unravel_index(np.argmax(hits * 10 + nuniq), hits.shape)
                entry = {"accounting": acc, "vp": vp, "vpost": vpost,
                         "cells_all_four_admitted": int((hits == 4).sum()),
                         "cells_all_four_unique": int((nuniq == 4).sum()),
                         "cells_three_unique": int((nuniq >= 3).sum()),
                         "best": {"tau_m_ratio": float(TAUS[i]), "theta": float(THETAS[j]),
                                  "admitted": {str(r): [int(q) + 1 for q in
                                                        np.nonzero(adm[r][i, j])[0]]
                                               for r in RATIOS}}}
                doc["settings"].append(entry)
                print(f"{acc} {vp}/{vpost} V: all four admitted in "
                      f"{entry['cells_all_four_admitted']} cells, uniquely in "
                      f"{entry['cells_all_four_unique']}, three uniquely in "
                      f"{entry['cells_three_unique']}; best {entry['best']}", flush=True)
    doc["cpu_s"] = round(time.time() - t_start, 1)
    atomic_write_text(OUT, json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
