"""What snapping a board to real part values changes: ``neurospice bom DECK --snap FILE``.

Every resistor moves to its E-series value and every capacitor and inductor to its own series
(:func:`neurospice.report.bom.snap_factors`). The board is run as designed, as snapped, and once
with each snapped part alone at its series value: the report gives each neuron's frequency and
the first pair's mode before and after, and ranks the parts by how far each moved a neuron's
frequency on its own (one part at a time: interactions between parts are left out; the
snapped run shows them all together).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from neurospice.batch.montecarlo import build_row
from neurospice.errors import SimulationError
from neurospice.report.bom import DEFAULT_CAP_SERIES, snap_factors
from neurospice.sim.ngspice import run_prepared
from neurospice.sim.options import RunOptions
from neurospice.sim.pool import local_map
from neurospice.spice.deck import PreparedDeck
from neurospice.spice.tolerances import with_factors

__all__ = ["SnapEffect", "SnapReport", "snap_report"]


@dataclass(frozen=True)
class SnapEffect:
    """One part moved alone to its series value, and what that did to the board."""

    path: str
    factor: float  #: series value / designed value
    row: dict[str, Any]

    def shift(self, nominal: dict[str, Any]) -> dict[str, float]:
        """Relative change of each neuron's frequency against ``nominal``."""
        return _shifts(nominal, self.row)

    def largest(self, nominal: dict[str, Any]) -> float:
        """The largest relative frequency change of any neuron (signed)."""
        shifts = self.shift(nominal)
        return max(shifts.values(), key=abs) if shifts else 0.0


@dataclass(frozen=True)
class SnapReport:
    """The board as designed (``nominal``), as snapped (``snapped``), and one
    :class:`SnapEffect` per snapped part, the most influential first."""

    nominal: dict[str, Any]
    snapped: dict[str, Any]
    effects: list[SnapEffect] = field(default_factory=list)
    tstop: float = 0.0

    def shifts(self) -> dict[str, float]:
        """Relative frequency change of each neuron, snapped against nominal."""
        return _shifts(self.nominal, self.snapped)

    def mode_changed(self) -> bool:
        return self.nominal.get("mode") != self.snapped.get("mode")

    def describe(self, top: int = 5) -> str:
        """The report as text: frequencies and mode before and after, and the parts that
        moved the board most."""
        lines = [f"snapping every part to its series ({len(self.effects)} parts change; "
                 f"{self.tstop:g} s simulated):"]
        for key, rel in self.shifts().items():
            name = key[2:-3]
            lines.append(f"  {name:<10} {self.nominal[key]:.4g} Hz -> {self.snapped[key]:.4g} Hz"
                         f" ({100 * rel:+.2f} %)")
        if "mode" in self.nominal or "mode" in self.snapped:
            word = "CHANGED" if self.mode_changed() else "unchanged"
            lines.append(f"  mode       {self.nominal.get('mode', '-')} -> "
                         f"{self.snapped.get('mode', '-')} ({word})")
        if self.effects:
            lines.append(f"  the parts that moved it most, each snapped alone (of "
                         f"{len(self.effects)}):")
            for e in self.effects[:top]:
                shifts = e.shift(self.nominal)
                text = ", ".join(f"{k[2:-3]} {100 * v:+.2f} %" for k, v in shifts.items())
                mode = e.row.get("mode", "")
                flip = f", mode {mode}" if mode != self.nominal.get("mode") else ""
                lines.append(f"    {e.path:<26} x{e.factor:.4f}: {text}{flip}")
        return "\n".join(lines)


def _shifts(nominal: dict[str, Any], row: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, f0 in nominal.items():
        if key.startswith("f_") and key.endswith("_hz") and f0 and key in row and row[key]:
            out[key] = float(row[key]) / float(f0) - 1.0
    return out


def _row(deck: PreparedDeck, label: str, o: RunOptions) -> tuple[str, dict[str, Any]]:
    try:
        wf = run_prepared(deck, limits=o.run_limits())
    except SimulationError as exc:
        return label, {"status": "failed", "error": str(exc).replace("\n", " ")}
    return label, build_row(deck, wf, engine="spice")


def snap_report(deck: PreparedDeck, series: str = "E24", cap_series: str = DEFAULT_CAP_SERIES,
                options: RunOptions | None = None,
                progress: Callable[[int], object] | None = None) -> SnapReport:
    """Run ``deck`` as designed, snapped, and with each snapped part alone (see the module
    docstring), with ``options``' workers and limits. Raises :class:`SimulationError` when the
    designed or the snapped board fails."""
    o = options or RunOptions()
    factors = snap_factors(deck, series, cap_series)
    jobs: list[tuple[PreparedDeck, str, RunOptions]] = [
        (deck, "", o), (with_factors(deck, factors), "*", o)]
    jobs += [(with_factors(deck, {p: f}), p, o) for p, f in factors.items()]
    rows: dict[str, dict[str, Any]] = {}
    for label, row in local_map(_row, jobs, o.workers):
        rows[label] = row
        if progress is not None:
            progress(1)
    for label, what in (("", "the board as designed"), ("*", "the snapped board")):
        if rows[label].get("status") != "ok":
            raise SimulationError(f"{what} failed: {rows[label].get('error', '')}")
    nominal = rows[""]
    effects = [SnapEffect(p, f, rows[p]) for p, f in factors.items()
               if rows[p].get("status") == "ok"]
    effects.sort(key=lambda e: -abs(e.largest(nominal)))
    return SnapReport(nominal, rows["*"], effects, _tstop(deck))


def snap_report_with_bar(deck: PreparedDeck, series: str, cap_series: str,
                         options: RunOptions) -> SnapReport:
    """:func:`snap_report` with a progress bar (one step per run; none when
    ``options.quiet``)."""
    total = 2 + len(snap_factors(deck, series, cap_series))
    with tqdm(total=total, desc="snap runs", unit="run",
              disable=True if options.quiet else None) as bar:
        return snap_report(deck, series, cap_series, options, bar.update)


def _tstop(deck: PreparedDeck) -> float:
    tran = deck.tran()
    return tran[1] if tran else 0.0
