"""The parts list of a board: what to buy, and how far each value is from a real part.

:func:`bom_rows` lists every R, C, L, diode, transistor and bought subcircuit (op-amp,
memristor) of the flattened board with its instance path and value, the nearest value of an
E-series and the error; values that the series does not meet within its tolerance (E24 5 %,
E96 1 %, E12 10 %, E6 20 %) are flagged. Resistors are compared with the chosen series;
capacitors and inductors with their own (default E12: film and ceramic capacitors and
inductors are stocked in E6/E12 values, so a 470 nF part is on-series even when the resistors
are E96). A potentiometer (its two halves marked ``* neurospice
potentiometer A B`` in the library) is one part with its track resistance, trimmed by the
designer: not snapped, not flagged. :func:`snapped` gives the deck with every other value moved
to its series value, to simulate what will be built.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.analysis.energy import netlist_branches
from neurospice.analysis.stress import (
    POWER_DERATING,
    POWER_RATINGS_W,
    VOLTAGE_DERATING,
    VOLTAGE_RATINGS_V,
    OutputStress,
    PartStress,
    instance_path,
    output_stress,
    part_stress,
    rating_for,
)
from neurospice.files import atomic_write
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import PreparedDeck
from neurospice.spice.flatten import flatten
from neurospice.spice.numbers import format_si, nearest_in_series
from neurospice.spice.tolerances import with_factors

__all__ = ["BomRow", "bom_rows", "format_bom", "write_bom_csv", "snapped", "SERIES_TOLERANCE",
           "DEFAULT_CAP_SERIES", "Ratings", "write_order_csv", "format_ratings", "snap_factors",
           "ratings_from_run"]

#: The tolerance each series is made for (fraction).
SERIES_TOLERANCE = {"E6": 0.20, "E12": 0.10, "E24": 0.05, "E96": 0.01}
#: The series capacitors and inductors are compared with unless told otherwise.
DEFAULT_CAP_SERIES = "E12"
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
    #: the E-series this part was compared with ("" for parts without a value)
    series: str = ""
    #: a potentiometer's wiper setting: the first half's share of the track (0..1)
    wiper: float | None = None

    @property
    def tolerance(self) -> float | None:
        """The tolerance of a part of its series (fraction), None for parts without one."""
        return SERIES_TOLERANCE.get(self.series) if self.kind != "pot" else None

    @property
    def part(self) -> str:
        """What one buys: ``resistor 3.3k``, ``diode d1n913``, ``part opamp``."""
        if self.value is not None:
            if self.kind == "pot":
                return f"potentiometer {_with_unit(self.nearest or self.value, self.unit)}"
            return f"{self.kind} {_with_unit(self.nearest or self.value, self.unit)}"
        return f"{self.kind} {self.model}"


def bom_rows(deck: PreparedDeck, series: str = "E24",
             cap_series: str = DEFAULT_CAP_SERIES) -> list[BomRow]:
    """Every part of the flattened board (see the module docstring): resistors against
    ``series``, capacitors and inductors against ``cap_series``."""
    series = series.upper()
    cap_series = cap_series.upper()
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
                               nearest_in_series(total, "E6"), None, "", False, "E6",
                               (el.value or 0.0) / total if total > 0 else None))
            continue
        if el.letter == "x":
            from neurospice.spice.flatten import is_part, subckt_table

            sub = subckt_table(deck).get(el.model or "")
            if sub is None or not is_part(sub):
                continue
        value = el.value
        nearest = error = None
        off = False
        own = (cap_series if el.letter in "cl" else series) if el.letter in "rcl" else ""
        if own and value is not None and value > 0:
            nearest = nearest_in_series(value, own)
            error = (nearest - value) / value
            off = abs(error) > SERIES_TOLERANCE.get(own, 0.05)
        rows.append(BomRow(el.path, kind, value, unit, nearest, error, el.model or "", off,
                           own))
    return rows


def format_bom(rows: Sequence[BomRow], series: str,
               cap_series: str = DEFAULT_CAP_SERIES) -> str:
    """The table, the count per distinct part, and how many values are off their series."""
    lines = [f"{'instance':<28} {'kind':<10} {'value':>10} {'nearest':>9} {'series':>6} "
             f"{'error':>8}  model"]
    for r in rows:
        val = _with_unit(r.value, r.unit) if r.value is not None else "-"
        near = f"{format_si(r.nearest)}" if r.nearest is not None else "-"
        err = f"{100 * r.error:+.1f}%" if r.error is not None else "-"
        flag = "  OFF SERIES" if r.off_series else ""
        if r.wiper is not None:
            flag = f"wiper at {100 * r.wiper:.1f} % of the track from {r.path.split('+')[0]}"
        lines.append(f"{r.path:<28} {r.kind:<10} {val:>10} {near:>9} {r.series or '-':>6} "
                     f"{err:>8}  {r.model}{flag}")
    counts = Counter(r.part for r in rows)
    lines.append("")
    lines.append(f"{len(rows)} parts, {len(counts)} distinct:")
    for part, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {n:>4} x {part}")
    for kinds, name in ((("resistor",), series.upper()),
                        (("capacitor", "inductor"), cap_series.upper())):
        valued = [r for r in rows if r.value is not None and r.kind in kinds]
        if not valued:
            continue
        off = [r for r in valued if r.off_series]
        not_on = [r for r in valued if r.error is not None and abs(r.error) > 1e-3]
        tol = SERIES_TOLERANCE.get(name, 0.05)
        what = " and ".join(f"{k}s" for k in kinds)
        lines.append(f"{what}: {len(not_on)} of {len(valued)} values are not {name} values; "
                     f"{len(off)} of them are off the series by more than its {100 * tol:g} %")
    return "\n".join(lines)


def _with_unit(value: float, unit: str) -> str:
    text = format_si(value)
    return f"{text} {unit}" if unit == "ohm" else f"{text}{unit}"


def write_bom_csv(rows: Sequence[BomRow], path: Path, ratings: Ratings | None = None) -> Path:
    """The parts list as CSV (one row per part instance, with its series and, when the board
    was run for its stresses, the stress and the rating chosen)."""
    with atomic_write(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["instance", "kind", "value", "unit", "series", "nearest", "error", "model",
                    "off_series", "stress", "rating"])
        for r in rows:
            stress, rating = ratings.of(r) if ratings else ("", "")
            w.writerow([r.path, r.kind, "" if r.value is None else f"{r.value:.6g}", r.unit,
                        r.series, "" if r.nearest is None else f"{r.nearest:.6g}",
                        "" if r.error is None else f"{r.error:.6f}", r.model,
                        int(r.off_series), stress, rating])
    return path


#: An op-amp must have this multiple of its output's signal frequency as gain-bandwidth
#: product: a closed-loop gain up to 10 with a loop gain of 10 left at the signal's frequency.
GBW_FACTOR = 100.0
#: A resistor is also rated for this fraction of its peak power (film resistors take about
#: 2.5x their rating for seconds; the board's peaks last milliseconds).
PEAK_OVERLOAD = 2.5


@dataclass(frozen=True)
class Ratings:
    """The stresses of a board's run and the ratings chosen from them.

    ``parts``: two-terminal parts by instance path; ``outputs``: each op-amp's output; ``rails``:
    for each supply voltage (V), the mean and peak current drawn from it (A), counting the
    sources that hold it and the current the op-amps' outputs source (positive rail) or sink
    (negative rail); the op-amps' own quiescent current is not modelled and comes on top.
    """

    parts: dict[str, PartStress]
    outputs: dict[str, OutputStress]
    rails: dict[float, tuple[float, float]]
    tstop: float

    def need(self, row: BomRow) -> tuple[str, tuple[float, ...]]:
        """(the stress as text, the rating needed: (W,) for resistors and potentiometers,
        (V,) for capacitors, (GBW Hz, slew V/s) for op-amps; () when not rated)."""
        if row.kind in ("resistor", "pot"):
            st = self.parts.get(row.path.split("+", 1)[0])
            if st is None:
                return "", ()
            watts = max(POWER_DERATING * st.p_mean, st.p_peak / PEAK_OVERLOAD)
            return f"{st.p_mean:.3g} W mean, {st.p_peak:.3g} W peak", (watts,)
        st = self.parts.get(row.path)
        if row.kind == "capacitor" and st is not None:
            return f"{st.v_peak:.3g} V peak", (VOLTAGE_DERATING * st.v_peak,)
        out = self.outputs.get(row.path)
        if out is not None:
            return (f"swing {out.v_min:+.2f}..{out.v_max:+.2f} V, slew "
                    f"{out.slew / 1e6:.3g} V/us",
                    (GBW_FACTOR * out.signal_frequency(), 2 * out.slew))
        return "", ()

    def of(self, row: BomRow) -> tuple[str, str]:
        """(the stress, the rating) of one parts-list row, as text; empty when not rated."""
        stress, need = self.need(row)
        return stress, _rating_text(row.kind, need)

    def strictest(self, rows: Sequence[BomRow]) -> str:
        """The rating that serves every one of ``rows`` (parts bought as one line)."""
        needs = [n for n in (self.need(r)[1] for r in rows) if n]
        if not needs:
            return ""
        worst = tuple(max(n[k] for n in needs) for k in range(len(needs[0])))
        return _rating_text(rows[0].kind, worst)


def _rating_text(kind: str, need: tuple[float, ...]) -> str:
    if not need:
        return ""
    if kind in ("resistor", "pot"):
        return _rating(rating_for(need[0], POWER_RATINGS_W, 1.0), "W")
    if kind == "capacitor":
        return _rating(rating_for(need[0], VOLTAGE_RATINGS_V, 1.0), "V")
    return f"GBW >= {format_si(need[0])}Hz, SR >= {need[1] / 1e6:.2g} V/us"


def _rating(value: float | None, unit: str) -> str:
    return f"{format_si(value)}{unit}" if value is not None else f"over the largest {unit} rating"


def format_ratings(rows: Sequence[BomRow], ratings: Ratings) -> str:
    """The parts whose ratings the run decided, the op-amps' needs and each rail's current."""
    lines = [f"ratings from the simulated stress ({format_si(ratings.tstop)}s of the run; "
             f"resistors at >= {POWER_DERATING:g}x their mean power, capacitors at >= "
             f"{VOLTAGE_DERATING:g}x their peak voltage):"]
    for r in rows:
        stress, rating = ratings.of(r)
        if rating:
            lines.append(f"  {r.path:<28} {r.kind:<10} {stress:<42} -> {rating}")
    for volts, (mean, peak) in sorted(ratings.rails.items(), reverse=True):
        lines.append(f"  rail {volts:+g} V: {1e3 * mean:.3g} mA mean, {1e3 * peak:.3g} mA peak "
                     "(plus each op-amp's quiescent current)")
    return "\n".join(lines)


def write_order_csv(rows: Sequence[BomRow], path: Path, ratings: Ratings | None = None) -> Path:
    """A parts list to upload to a distributor: one line per distinct part with its quantity,
    value, tolerance, rating, an empty package column to fill in, and the instances using it.

    Each part is ordered at its series value (``nearest``), since that is what can be bought;
    potentiometers at their track value. Parts of one line get the most demanding rating any
    of them needs.
    """
    groups: dict[tuple[str, str, str], list[BomRow]] = {}
    for r in rows:
        value = r.nearest if r.nearest is not None else r.value
        value_text = _with_unit(value, r.unit) if value is not None else r.model
        tol = f"{100 * r.tolerance:g}%" if r.tolerance is not None and r.value else ""
        groups.setdefault((r.kind, value_text, tol), []).append(r)
    with atomic_write(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Quantity", "Description", "Value", "Tolerance", "Rating", "Package",
                    "Designators"])
        for (kind, value_text, tol), members in sorted(groups.items()):
            rating = ratings.strictest(members) if ratings else ""
            w.writerow([len(members), kind, value_text, tol, rating, "",
                        " ".join(r.path for r in members)])
    return path


def snapped(deck: PreparedDeck, series: str = "E24",
            cap_series: str = DEFAULT_CAP_SERIES) -> PreparedDeck:
    """``deck`` with every resistor moved to the nearest value of ``series`` and every
    capacitor and inductor to the nearest of ``cap_series``."""
    return with_factors(deck, snap_factors(deck, series, cap_series))


def snap_factors(deck: PreparedDeck, series: str = "E24",
                 cap_series: str = DEFAULT_CAP_SERIES) -> dict[str, float]:
    """Instance path -> the factor that moves its value to its series (changed parts only)."""
    factors = {}
    for r in bom_rows(deck, series, cap_series):  # potentiometers are not in these kinds
        if r.kind in ("resistor", "capacitor", "inductor") and r.value and r.nearest:
            if abs(r.nearest / r.value - 1) > 1e-12:
                factors[r.path] = r.nearest / r.value
    return factors


def ratings_from_run(deck: PreparedDeck, wf: Waveforms) -> Ratings:
    """The :class:`Ratings` of a transient run of ``deck`` that saved every node voltage and
    device current (a deck from :func:`neurospice.report.energy.prepare`)."""
    t = wf.time
    branches = netlist_branches(deck.text)
    parts = part_stress(t, wf, branches)
    outputs: dict[str, OutputStress] = {}
    out_current: list[np.ndarray] = []
    elements = flatten(deck)  # parts (op-amps, memristors) not expanded: their sources are
    supplies = {el.path for el in elements if el.letter == "v"}  # model internals, not rails
    for el in elements:
        if el.letter != "x" or not (el.model or "").startswith("opamp"):
            continue
        inside = f"{el.path}."
        ro = next((b for b in branches if b.name == f"r.{el.path}.ro"), None)
        node = next((n for n in (ro.nodes if ro else ()) if n != "0"
                     and not n.startswith(inside)), None)
        if node is None or f"v({node})" not in wf:
            continue
        outputs[el.path] = output_stress(t, wf[f"v({node})"], el.path)
        # the current the output delivers: what flows into the rest of the circuit there
        i = np.zeros(t.size)
        for b in branches:
            if b.name.partition(".")[2].startswith(inside) or b.name.startswith(inside):
                continue
            for n, vec, sign in b.terminals:
                if n == node and vec in wf:
                    i += sign * np.asarray(wf[vec], dtype=float)
        out_current.append(i)
    rails: dict[float, np.ndarray] = {}
    for b in branches:
        if instance_path(b.name) not in supplies or len(b.terminals) != 2:
            continue
        (na, vec, _), (nb, _, _) = b.terminals
        va = np.asarray(wf[f"v({na})"], dtype=float) if na != "0" else np.zeros(t.size)
        vb = np.asarray(wf[f"v({nb})"], dtype=float) if nb != "0" else np.zeros(t.size)
        v = va - vb
        if vec not in wf or abs(float(v.mean())) < 1.0 or float(np.ptp(v)) > 1e-6:
            continue  # not a supply: a signal, a sense source or one without its current
        volts = round(float(v.mean()), 3)
        drawn = -np.asarray(wf[vec], dtype=float) * math.copysign(1.0, volts)
        rails[volts] = rails.get(volts, np.zeros(t.size)) + drawn
    if rails and out_current:
        top, bottom = max(rails), min(rails)
        total = np.sum(out_current, axis=0)
        if top > 0:
            rails[top] = rails[top] + np.clip(total, 0, None)
        if bottom < 0:
            rails[bottom] = rails[bottom] + np.clip(-total, 0, None)
    span = float(t[-1] - t[0]) if t.size > 1 else 1.0
    figures = {v: (float(np.trapezoid(i, t) / span), float(np.max(i))) for v, i in rails.items()}
    return Ratings(parts, outputs, figures, span)


@dataclass(frozen=True)
class PartsList:
    """A board's parts list: :class:`BomRow` per part, the series compared with, and the
    ratings when the board was run for its stresses (:func:`neurospice.parts_list`)."""

    rows: list[BomRow]
    series: str
    cap_series: str = DEFAULT_CAP_SERIES
    ratings: Ratings | None = None

    def __str__(self) -> str:
        text = format_bom(self.rows, self.series, self.cap_series)
        if self.ratings is not None:
            text += "\n" + format_ratings(self.rows, self.ratings)
        return text

    def __repr__(self) -> str:
        off = sum(r.off_series for r in self.rows)
        rated = "rated from a run" if self.ratings else "not rated"
        return (f"<PartsList {len(self.rows)} parts, {self.series}/{self.cap_series}, "
                f"{off} off series, {rated}>")

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per part (the columns of :func:`write_bom_csv`)."""
        out = []
        for r in self.rows:
            stress, rating = self.ratings.of(r) if self.ratings else ("", "")
            out.append({"instance": r.path, "kind": r.kind, "value": r.value, "unit": r.unit,
                        "series": r.series, "nearest": r.nearest, "error": r.error,
                        "model": r.model, "off_series": r.off_series, "stress": stress,
                        "rating": rating})
        return out

    def _repr_html_(self) -> str:
        from html import escape

        head = ("<tr><th>instance</th><th>kind</th><th>value</th><th>nearest</th>"
                "<th>series</th><th>error</th><th>rating</th></tr>")
        body = []
        for rec in self.to_records():
            err = rec["error"]
            cells = [rec["instance"], rec["kind"],
                     "" if rec["value"] is None else format_si(rec["value"]),
                     "" if rec["nearest"] is None else format_si(rec["nearest"]),
                     rec["series"], "" if err is None else f"{100 * err:+.1f} %",
                     rec["rating"]]
            style = ' style="color:#b00"' if rec["off_series"] else ""
            body.append(f"<tr{style}>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells)
                        + "</tr>")
        return (f"<p>{escape(repr(self))}</p><table>{head}{''.join(body)}</table>")
