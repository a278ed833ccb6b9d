"""Proposition 1 over the crossbar's free settings (issue #26): which spatial periods P it admits.

For each programming pair (Vpre, Vpost), accounting (``rel_step`` 0: the paper's, G frozen over a
pulse; 0.01: G following the heating within the pulse) and input period ratio R = T/tH
(1.25, 1.3, 1.4, 1.45; tH = 2 tau_b, ts = tsh = 0.108 tau_b, VH = 0.8 V, all synapses starting at
Gmax), the levels of eqs. 25-27 are computed on a grid of sigma (they do not depend on tau_m or
theta); then for every (tau_m, theta) on a grid, P is admissible where eq. 28 has a root sigma in
(0, 1] that meets eq. 29 (eq. 33 at q = P - 1).  The paper's targets are P = 2, 3, 4, 5.

Writes ``studies/second_order_prop1_scan.json``: per setting, the admissible P at each R over the
(tau_m, theta) grid, and the settings that admit the most of the paper's periods (the
candidates ``studies/second_order_crossbar.py`` checks with the map).  ~3 min of CPU.

Usage::

    nice -n 10 python studies/second_order_prop1_scan.py
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.files import atomic_write_text
from neurospice.reference.crossbar import CrossbarConfig, _pair_map, _stable_level
from neurospice.reference.second_order import SecondOrderParams

OUT = Path(__file__).with_suffix(".json")
RATIOS = (1.25, 1.3, 1.4, 1.45)
TARGET = {1.25: 2, 1.3: 3, 1.4: 4, 1.45: 5}
PERIODS = range(1, 8)
SIGMAS = np.linspace(1 / 40, 1.0, 40)
TAUS = np.round(np.arange(0.5, 4.01, 0.25), 3)
THETAS = np.round(np.arange(0.20, 1.001, 0.01), 3)


def levels_table(cfg: CrossbarConfig, p: SecondOrderParams) -> dict[int, np.ndarray]:
    """``{P: array (len(SIGMAS), P)}`` of G^{1/2}_p for every sigma (eqs. 25-27)."""
    grid = np.linspace(p.gmin, p.gmax, 98)[1:-1]
    tb = p.tau_b
    th, tsh = cfg.th_ratio * tb, cfg.ts_ratio * tb
    big_t = cfg.period_ratio * th
    cache: dict[tuple[int, int, int], float] = {}
    out: dict[int, np.ndarray] = {}
    for period in PERIODS:
        arr = np.empty((len(SIGMAS), period))
        for k, s in enumerate(SIGMAS):
            for q in range(1, period + 1):
                key = (q, period - q, k)
                if key not in cache:
                    gd = (q * big_t - s * th - 2 * tsh) / th
                    gp = ((period - q) * big_t + s * th) / th
                    g0 = _stable_level(cfg, p, gd, gp, grid)
                    cache[key] = _pair_map(cfg, p, g0, gd, gp)[0]
                arr[k, q - 1] = cache[key]
        out[period] = arr
    return out


def admissible(cfg: CrossbarConfig, p: SecondOrderParams,
               table: dict[int, np.ndarray]) -> np.ndarray:
    """Boolean ``(len(TAUS), len(THETAS), len(PERIODS))``: P admitted at (tau_m, theta)."""
    tb = p.tau_b
    th = cfg.th_ratio * tb
    big_t = cfg.period_ratio * th
    res = np.zeros((len(TAUS), len(THETAS), len(PERIODS)), dtype=bool)
    for i, taur in enumerate(TAUS):
        tau = taur * tb
        for period in PERIODS:
            halves = table[period]
            u = np.empty(len(SIGMAS))
            up = np.empty(len(SIGMAS))
            for k, s in enumerate(SIGMAS):
                hv = halves[k]
                dec = math.exp(-(s - 1) * th / tau) - math.exp(-s * th / tau)
                u[k] = hv[-1] * (1 - math.exp(-s * th / tau)) + sum(
                    hv[q - 1] * math.exp(-(period - q) * big_t / tau) * dec
                    for q in range(1, period))
                up[k] = sum(hv[q - 1] * math.exp(-(period - 1 - q) * big_t / tau)
                            * (1 - math.exp(-th / tau)) for q in range(1, period))
            u /= p.gmax
            up /= p.gmax
            for k in range(len(SIGMAS) - 1):
                lo, hi = sorted((u[k], u[k + 1]))
                sel = (THETAS >= lo) & (THETAS <= hi) & (THETAS > max(up[k], up[k + 1]))
                res[i, sel, period - 1] = True
            # sigma -> 0: u -> the decayed sum of the others
    return res


def main() -> None:
    t_start = time.time()
    settings: list[dict[str, Any]] = []
    for rel in (0.0, 0.01):
        for vp in (2.2, 2.4, 2.6, 2.7):
            for ratio in (0.95, 0.99, 1.0):
                settings.append({"rel_step": rel, "vp": vp, "vpost": round(vp * ratio, 4)})
    p = SecondOrderParams.from_library()
    doc: dict[str, Any] = {"taus": TAUS.tolist(), "thetas": THETAS.tolist(),
                           "periods": list(PERIODS), "ratios": list(RATIOS), "settings": []}
    best: list[tuple[int, int, dict[str, Any]]] = []
    for st in settings:
        adm = {}
        for r in RATIOS:
            cfg = CrossbarConfig(n=60, period_ratio=r, th_ratio=2.0, vp=st["vp"],
                                 vpost=st["vpost"], g_init=p.gmax, rel_step=st["rel_step"])
            adm[r] = admissible(cfg, p, levels_table(cfg, p))
        # score: how many of the four targets are admitted; how many uniquely
        hits = sum((adm[r][:, :, TARGET[r] - 1]).astype(int) for r in RATIOS)
        uniq = sum((adm[r][:, :, TARGET[r] - 1] & (adm[r].sum(axis=2) == 1)).astype(int)
                   for r in RATIOS)
        i, j = np.unravel_index(np.argmax(hits * 10 + uniq), hits.shape)
        entry = dict(st)
        entry["best"] = {"tau_m_ratio": float(TAUS[i]), "theta": float(THETAS[j]),
                         "targets_admitted": int(hits[i, j]), "targets_unique": int(uniq[i, j]),
                         "admitted": {str(r): [int(q) for q in np.nonzero(adm[r][i, j])[0] + 1]
                                      for r in RATIOS}}
        entry["max_targets"] = int(hits.max())
        entry["cells_with_4"] = int((hits == 4).sum())
        entry["cells_with_3_unique"] = int((uniq >= 3).sum())
        entry["admitted_map"] = {str(r): [["".join(str(q + 1) for q in np.nonzero(adm[r][a, b])[0])
                                           for b in range(len(THETAS))] for a in range(len(TAUS))]
                                 for r in RATIOS}
        doc["settings"].append(entry)
        best.append((int(hits[i, j]), int(uniq[i, j]), entry))
        print(f"rel {st['rel_step']:g} vp {st['vp']} vpost {st['vpost']}: "
              f"max targets {hits.max()} (cells with 4: {(hits == 4).sum()}), best at "
              f"tau_m {TAUS[i]} theta {THETAS[j]}: {entry['best']['admitted']} "
              f"unique {uniq[i, j]}", flush=True)
    doc["cpu_s"] = round(time.time() - t_start, 1)
    atomic_write_text(OUT, json.dumps(doc))


if __name__ == "__main__":
    main()
