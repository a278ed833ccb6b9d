"""Worst case: every part at the end of its tolerance that pushes the board furthest.

``simulate DECK --corners --tol R=5% --tol C=10%`` answers "how far can my board be off?"
beside the Monte Carlo's "how often". With N toleranced parts, trying all 2^N corners is out of
reach (the board has about 50), so the corners are sensitivity-guided:

1. the board as designed (nominal);
2. each toleranced part alone at ``1 + tol``: the relative change of each neuron's frequency
   per unit of relative part change is that part's sensitivity;
3. for each neuron, two corners: every part at the end of its tolerance whose sensitivity
   raises that neuron's frequency (``max``), and every part at the other end (``min``).

The linear prediction (the sum of each part's effect) is reported beside each corner's run, so
a board whose response is far from linear - a locking mode that changes inside the tolerance
box - shows it. Parts are clipped to their tolerance like the Monte Carlo's draws, so the
corners bound the builds of ``--runs N --tol ...`` wherever the response is monotonic in each
part.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from neurospice.batch.tolerance import Tolerance, tolerance_of
from neurospice.errors import NeurospiceInputError, SimulationError, UsageError, option
from neurospice.sim.options import RunOptions
from neurospice.spice.deck import PreparedDeck
from neurospice.spice.tolerances import component_slots, with_factors

__all__ = ["Corner", "CornerReport", "run_corners"]


@dataclass(frozen=True)
class Corner:
    """One run of the board with ``factors`` (instance path -> multiplier)."""

    name: str
    factors: dict[str, float]
    row: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.row.get("status") == "ok"


@dataclass(frozen=True)
class CornerReport:
    """The nominal run, each part's sensitivities, and the worst-case corners.

    ``sensitivities[path][key]``: relative change of the frequency ``key`` (``f_master_hz``)
    per relative change of the part (dimensionless; +1 means the frequency follows the value).
    ``predicted[name][key]``: the corner's frequency predicted by adding each part's effect.
    """

    nominal: Corner
    sensitivities: dict[str, dict[str, float]]
    corners: list[Corner]
    predicted: dict[str, dict[str, float]] = field(default_factory=dict)

    def frequency_range(self, key: str) -> tuple[float, float]:
        """(lowest, highest) of ``key`` over the nominal run and the corners (a neuron silenced
        by a corner counts as 0 Hz)."""
        vals = [float(c.row[key]) for c in [self.nominal, *self.corners]
                if c.ok and _finite(c.row.get(key))]
        return (min(vals), max(vals)) if vals else (math.nan, math.nan)

    def describe(self, top: int = 5) -> str:
        keys = [k for k in _frequency_keys(self.nominal.row) if float(self.nominal.row[k]) > 0]
        lines = [f"worst-case corners ({len(self.sensitivities)} toleranced parts, "
                 f"{2 + len(self.sensitivities) + len(self.corners) - 1} runs):"]
        nom = self.nominal.row
        lines.append("  nominal      " + "  ".join(f"{k[2:-3]} {float(nom[k]):.4g} Hz"
                                                  for k in keys)
                     + f"  mode {nom.get('mode', '-')}")
        for c in self.corners:
            if not c.ok:
                lines.append(f"  {c.name:<12} failed: {c.row.get('error', '')}")
                continue
            pred = self.predicted.get(c.name, {})
            figs = []
            for k in keys:
                f = float(c.row[k]) if _finite(c.row.get(k)) else math.nan
                rel = f / float(nom[k]) - 1 if _finite(nom.get(k)) else math.nan
                lin = f" (linear {100 * (pred[k] / float(nom[k]) - 1):+.2f} %)" if k in pred \
                    else ""
                figs.append(f"{k[2:-3]} {f:.4g} Hz {100 * rel:+.2f} %{lin}")
            lines.append(f"  {c.name:<12} " + "  ".join(figs) + f"  mode {c.row.get('mode', '-')}")
        for k in keys:
            ranked = sorted(self.sensitivities.items(), key=lambda kv: -abs(kv[1].get(k, 0.0)))
            text = ", ".join(f"{p} {s[k]:+.2f}" for p, s in ranked[:top] if k in s)
            lines.append(f"  most sensitive for {k[2:-3]} (d f/f per d value/value): {text}")
        return "\n".join(lines)


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _frequency_keys(row: dict[str, Any]) -> list[str]:
    return [k for k in row if k.startswith("f_") and k.endswith("_hz") and _finite(row[k])]


def _one(deck: PreparedDeck, name: str, factors: dict[str, float], o: RunOptions) -> Corner:
    from neurospice.report.locking import analyse_run
    from neurospice.report.summary import summarise
    from neurospice.sim.ngspice import run_prepared

    row: dict[str, Any] = {"corner": name}
    try:
        d = with_factors(deck, factors)
        wf = run_prepared(d, limits=o.run_limits())
        # each neuron's rate: its spikes, else its partial responses; 0 Hz when silent (a
        # corner that stops a neuron bounds the builds from below)
        for n in summarise(d, wf, t_skip=o.t_skip).neurons:
            row[f"f_{n.name}_hz"] = n.rate_hz
        pair = analyse_run(d, wf, t_skip=o.t_skip).as_row()
        row.update({k: pair[k] for k in ("mode", "ratio", "locked_fraction") if k in pair})
        row["status"] = "ok"
    except (SimulationError, NeurospiceInputError) as exc:
        row.update(status="failed", error=str(exc).replace("\n", " "))
    return Corner(name, factors, row)


def run_corners(deck: PreparedDeck, tols: Sequence[Tolerance],
                o: RunOptions | None = None) -> CornerReport:
    """The nominal run, one run per toleranced part, and two corners per neuron (see the
    module docstring), with the options ``o`` (workers, scheduler, timeout, t_skip, quiet).

    Raises
    ------
    UsageError
        No part has a tolerance, or a named part is not on the board.
    SimulationError
        The nominal run failed.
    """
    o = o or RunOptions(quiet=True)
    tol = _tolerances(deck, tols)
    first = _run_all(deck, [("nominal", {})] + [(f"+{p}", {p: 1 + f}) for p, f in tol.items()],
                     o, "corners: sensitivities")
    nominal = first["nominal"]
    if not nominal.ok:
        raise SimulationError(f"the board as designed failed: {nominal.row.get('error', '')}")
    keys = [k for k in _frequency_keys(nominal.row) if float(nominal.row[k]) > 0]
    sens: dict[str, dict[str, float]] = {}
    for p, f in tol.items():
        row = first[f"+{p}"].row
        sens[p] = {k: (float(row[k]) / float(nominal.row[k]) - 1) / f for k in keys
                   if first[f"+{p}"].ok and _finite(row.get(k))}
    jobs, predicted = _corner_jobs(nominal, sens, tol, keys)
    second = _run_all(deck, jobs, o, "corners")
    return CornerReport(nominal, sens, [second[n] for n, _ in jobs], predicted)


def _tolerances(deck: PreparedDeck, tols: Sequence[Tolerance]) -> dict[str, float]:
    """Each toleranced part's path -> its tolerance (a fraction); UsageError for a named part
    that is not on the board, or none with a tolerance."""
    slots = component_slots(deck)
    paths = {e.path for e in slots} | {e.name for e in slots}
    for t in tols:
        if not t.is_class and t.target not in paths:
            raise UsageError(f"{option('tols')} {t.target}: no resistor, capacitor or "
                             "inductor of that name on the board")
    tol = {e.path: tolerance_of(e, tols) for e in slots}
    tol = {p: f for p, f in tol.items() if f > 0}
    if not tol:
        raise UsageError(f"{option('corners')} needs {option('tols')} (e.g. R=5%, "
                         "C=10%): no part of the board has a tolerance")
    return tol


def _run_all(deck: PreparedDeck, jobs: list[tuple[str, dict[str, float]]], o: RunOptions,
             desc: str) -> dict[str, Corner]:
    """Run every ``(name, factors)`` job with a progress bar named ``desc``."""
    from neurospice.sim.pool import job_map

    out = {}
    with tqdm(total=len(jobs), desc=desc, unit="run", disable=True if o.quiet else None) as bar:
        for c in job_map(_one, [(deck, n, f, o) for n, f in jobs], workers=o.workers,
                         scheduler=o.scheduler):
            out[c.name] = c
            bar.update(1)
    return out


def _corner_jobs(nominal: Corner, sens: dict[str, dict[str, float]], tol: dict[str, float],
                 keys: list[str]
                 ) -> tuple[list[tuple[str, dict[str, float]]], dict[str, dict[str, float]]]:
    """Two corners per frequency (every part at the end of its tolerance that raises it, and
    that lowers it) and what the linear sensitivities predict there."""
    jobs: list[tuple[str, dict[str, float]]] = []
    predicted: dict[str, dict[str, float]] = {}
    for k in keys:
        for sign, label in ((1.0, "max"), (-1.0, "min")):
            name = f"{label} {k[2:-3]}"
            factors = {p: 1 + sign * math.copysign(f, sens[p].get(k, 0.0))
                       for p, f in tol.items() if sens[p].get(k, 0.0) != 0.0}
            jobs.append((name, factors))
            predicted[name] = {
                kk: float(nominal.row[kk]) * (1 + sum(sens[p].get(kk, 0.0) * (x - 1)
                                                     for p, x in factors.items()))
                for kk in keys}
    return jobs, predicted


