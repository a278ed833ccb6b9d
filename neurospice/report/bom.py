"""The parts list of a board: what to buy, and how far each value is from a real part.

:func:`bom_rows` lists every R, C, L, diode, transistor and bought subcircuit (op-amp,
memristor) of the flattened board with its instance path and value, the nearest value of an
E-series and the error; values that the series does not meet within its tolerance (E24 5 %,
E96 1 %, E12 10 %, E6 20 %) are flagged. A potentiometer (its two halves marked ``* neurospice
potentiometer A B`` in the library) is one part with its track resistance, trimmed by the
designer: not snapped, not flagged. :func:`snapped` gives the deck with every other value moved
to its series value, to simulate what will be built.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from neurospice.files import atomic_write
from neurospice.spice.deck import PreparedDeck
from neurospice.spice.flatten import flatten
from neurospice.spice.numbers import format_si, nearest_in_series
from neurospice.spice.tolerances import with_factors

__all__ = ["BomRow", "bom_rows", "format_bom", "write_bom_csv", "snapped", "SERIES_TOLERANCE"]

#: The tolerance each series is made for (fraction).
SERIES_TOLERANCE = {"E6": 0.20, "E12": 0.10, "E24": 0.05, "E96": 0.01}
_KIND = {"r": ("resistor", "ohm"), "c": ("capacitor", "F"), "l": ("inductor", "H"),
         "d": ("diode", ""), "j": ("JFET", ""), "q": ("BJT", ""), "m": ("MOSFET", ""),
         "x": ("part", "")}


@dataclass(frozen=True)
class BomRow:
    """One part of the flattened board."""

    path: str
    kind: str
    value: float | None
    unit: str
    nearest: float | None
    error: float | None  #: (nearest - value) / value
    model: str
    off_series: bool

    @property
    def part(self) -> str:
        """What one buys: ``resistor 3.3k``, ``diode d1n913``, ``part opamp``."""
        if self.value is not None:
            if self.kind == "pot":
                return f"potentiometer {_with_unit(self.nearest or self.value, self.unit)}"
            return f"{self.kind} {_with_unit(self.nearest or self.value, self.unit)}"
        return f"{self.kind} {self.model}"


def bom_rows(deck: PreparedDeck, series: str = "E24") -> list[BomRow]:
    """Every part of the flattened board (see the module docstring)."""
    series = series.upper()
    tol = SERIES_TOLERANCE.get(series, 0.05)
    rows = []
    elements = flatten(deck)
    by_path = {e.path: e for e in elements}
    for el in elements:
        if el.letter not in _KIND:
            continue
        kind, unit = _KIND[el.letter]
        if el.pot_with is not None:
            # a potentiometer is one part: listed once, at its first half, with its track
            # resistance (both halves); the designer trims it, so it is neither snapped nor
            # flagged
            other = by_path.get(el.pot_with)
            if other is None or el.path > el.pot_with:
                continue
            total = (el.value or 0.0) + (other.value or 0.0)
            rows.append(BomRow(f"{el.path}+{other.name}", "pot", total, unit,
                               nearest_in_series(total, "E6"), None, "", False))
            continue
        if el.letter == "x":
            from neurospice.spice.flatten import is_part, subckt_table

            sub = subckt_table(deck).get(el.model or "")
            if sub is None or not is_part(sub):
                continue
        value = el.value
        nearest = error = None
        off = False
        if value is not None and value > 0:
            nearest = nearest_in_series(value, series)
            error = (nearest - value) / value
            off = abs(error) > tol
        rows.append(BomRow(el.path, kind, value, unit, nearest, error, el.model or "", off))
    return rows


def format_bom(rows: Sequence[BomRow], series: str) -> str:
    """The table, the count per distinct part, and how many values are off the series."""
    lines = [f"{'instance':<28} {'kind':<10} {'value':>10} {series:>9} {'error':>8}  model"]
    for r in rows:
        val = _with_unit(r.value, r.unit) if r.value is not None else "-"
        near = f"{format_si(r.nearest)}" if r.nearest is not None else "-"
        err = f"{100 * r.error:+.1f}%" if r.error is not None else "-"
        flag = "  OFF SERIES" if r.off_series else ""
        lines.append(f"{r.path:<28} {r.kind:<10} {val:>10} {near:>9} {err:>8}  {r.model}{flag}")
    counts = Counter(r.part for r in rows)
    lines.append("")
    lines.append(f"{len(rows)} parts, {len(counts)} distinct:")
    for part, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {n:>4} x {part}")
    valued = [r for r in rows if r.value is not None and r.kind != "pot"]
    off = [r for r in valued if r.off_series]
    tol = SERIES_TOLERANCE.get(series.upper(), 0.05)
    not_on = [r for r in valued if r.error is not None and abs(r.error) > 1e-3]
    lines.append(f"{len(not_on)} of {len(valued)} values are not {series} values; {len(off)} "
                 f"of them are off the series by more than its {100 * tol:g} %")
    return "\n".join(lines)


def _with_unit(value: float, unit: str) -> str:
    text = format_si(value)
    return f"{text} {unit}" if unit == "ohm" else f"{text}{unit}"


def write_bom_csv(rows: Sequence[BomRow], path: Path, series: str) -> Path:
    """The parts list as CSV (one row per part instance)."""
    with atomic_write(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["instance", "kind", "value", "unit", f"nearest_{series.lower()}",
                    "error", "model", "off_series"])
        for r in rows:
            w.writerow([r.path, r.kind, "" if r.value is None else f"{r.value:.6g}", r.unit,
                        "" if r.nearest is None else f"{r.nearest:.6g}",
                        "" if r.error is None else f"{r.error:.6f}", r.model,
                        int(r.off_series)])
    return path


def snapped(deck: PreparedDeck, series: str = "E24") -> PreparedDeck:
    """``deck`` with every R, C and L moved to the nearest value of ``series``."""
    factors = {}
    for r in bom_rows(deck, series):  # potentiometers are not in this list's kinds
        if r.kind in ("resistor", "capacitor", "inductor") and r.value and r.nearest:
            if abs(r.nearest / r.value - 1) > 1e-12:
                factors[r.path] = r.nearest / r.value
    return with_factors(deck, factors)
