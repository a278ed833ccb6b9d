"""Statistics of many runs: proportions with intervals, and what separates two outcomes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["wilson_interval", "rank_effects", "Effects", "significant_effects"]


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


@dataclass(frozen=True)
class Effects:
    """The components whose deviations separate two outcomes, with their significance.

    ``significant``: ``(path, rho, p)`` with ``p`` the Holm-adjusted p-value of Spearman's rho
    (the chance of so strong a correlation among ``tested`` components that do not matter),
    below ``alpha``; ``strongest``: the largest ``|rho|`` seen whether significant or not;
    ``rho_needed``: the ``|rho|`` that one component would need to be significant with
    ``builds`` builds (Bonferroni, two-sided).
    """

    significant: list[tuple[str, float, float]]
    strongest: tuple[str, float] | None
    tested: int
    builds: int
    alpha: float
    rho_needed: float


def significant_effects(rows: Sequence[Mapping[str, object]], outcome: Sequence[bool],
                        alpha: float = 0.05, top: int = 3) -> Effects:
    """Like :func:`rank_effects`, keeping only correlations that ``len(rows)`` builds can
    support: each component's Spearman p-value, adjusted by Holm's method for the number of
    components tested, below ``alpha``.
    """
    from scipy.stats import spearmanr
    from scipy.stats import t as student

    y = np.asarray(outcome, dtype=float)
    n = len(y)
    found: list[tuple[str, float, float]] = []
    if n >= 4 and y.min() != y.max():
        for k in sorted({k for r in rows for k in r if k.startswith("d:")}):
            x = np.array([float(str(r.get(k, 0.0))) for r in rows])
            if np.ptp(x) == 0:
                continue
            res = spearmanr(x, y)
            if math.isfinite(float(res.statistic)):
                found.append((k[2:], float(res.statistic), float(res.pvalue)))
    m = len(found)
    ranked = sorted(found, key=lambda e: e[2])
    adjusted: list[tuple[str, float, float]] = []
    running = 0.0
    for i, (path, rho, p) in enumerate(ranked):  # Holm: step down, kept monotonic
        running = max(running, min(1.0, (m - i) * p))
        adjusted.append((path, rho, running))
    significant = sorted([e for e in adjusted if e[2] < alpha], key=lambda e: -abs(e[1]))[:top]
    strongest = max(((p, r) for p, r, _ in found), key=lambda e: abs(e[1]), default=None)
    need = math.nan
    if m and n > 3:
        tc = float(student.ppf(1 - alpha / (2 * m), n - 2))
        need = tc / math.sqrt(n - 2 + tc * tc)
    return Effects(significant, strongest, m, n, alpha, need)
