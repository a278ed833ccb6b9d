"""Statistics of many runs: proportions with intervals, and what separates two outcomes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["wilson_interval", "rank_effects"]


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n (95 % for z = 1.96)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def rank_effects(rows: Sequence[Mapping[str, object]], outcome: Sequence[bool],
                 top: int = 3) -> list[tuple[str, float]]:
    """Components whose deviations correlate most with ``outcome`` (Spearman's rho).

    Returns ``[(path, rho), ...]`` by decreasing ``|rho|``; empty when every build has the
    same outcome.
    """
    from scipy.stats import spearmanr

    y = np.asarray(outcome, dtype=float)
    if len(y) < 3 or y.min() == y.max():
        return []
    keys = sorted({k for r in rows for k in r if k.startswith("d:")})
    out = []
    for k in keys:
        x = np.array([float(str(r.get(k, 0.0))) for r in rows])
        if np.ptp(x) == 0:
            continue
        rho = float(spearmanr(x, y).statistic)
        if math.isfinite(rho):
            out.append((k[2:], rho))
    out.sort(key=lambda kv: -abs(kv[1]))
    return out[:top]
