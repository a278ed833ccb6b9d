"""Reports of ``.op``, ``.dc`` and ``.ac`` decks: tables, plots and a summary.

A transient is reported by :mod:`neurospice.report.summary` (neurons, memristors, locking);
the other analyses get what a designer reads off them: the operating point's node voltages and
source currents, a DC sweep's curves, an AC analysis's magnitude (dB) and phase (degrees).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from neurospice.files import atomic_write
from neurospice.report.plots import save_figure
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import PreparedDeck
from neurospice.spice.numbers import format_si

__all__ = ["report_analyses", "write_table", "plot_dc", "plot_ac", "dc_axis_label"]

_MAX_CURVES = 8


def _columns(wf: Waveforms) -> tuple[list[str], list[np.ndarray]]:
    header = [f"{wf.scale_name} [{'Hz' if wf.analysis == 'ac' else ''}]"]
    cols = [np.real(wf.scale)]
    for name in wf.names:
        vec = np.asarray(wf.vectors[name])
        unit = wf.units.get(name, "")
        if np.iscomplexobj(vec):
            mag = np.abs(vec)
            with np.errstate(divide="ignore"):
                header += [f"{name} magnitude [{unit}]", f"{name} magnitude [dB]",
                           f"{name} phase [deg]"]
                cols += [mag, 20 * np.log10(np.where(mag > 0, mag, np.nan)),
                         np.degrees(np.unwrap(np.angle(vec)))]
        else:
            header.append(f"{name} [{unit}]")
            cols.append(np.real(vec))
    return header, cols


def write_table(wf: Waveforms, path: Path) -> Path:
    """The analysis as CSV: the scale and every vector (AC: magnitude, dB and phase)."""
    header, cols = _columns(wf)
    table = np.column_stack(cols) if len(cols[0]) else np.zeros((0, len(cols)))
    with atomic_write(path, "w", newline="") as fh:
        fh.write(",".join(header) + "\n")
        np.savetxt(fh, table, fmt="%.9g", delimiter=",")
    return path


def _pick(wf: Waveforms) -> list[str]:
    names = [n for n in wf.names if n.startswith("v(") and "#" not in n and "." not in n]
    return (names or wf.names)[:_MAX_CURVES]


#: ngspice's scale of a DC sweep -> what was swept and its unit.
_SWEPT = {"v-sweep": ("voltage source", "V"), "i-sweep": ("current source", "A"),
          "temp-sweep": ("temperature", "C"), "res-sweep": ("resistor", "ohm")}


def dc_axis_label(wf: Waveforms, swept: str | None = None) -> str:
    """The x label of a DC sweep: the swept element and its unit (``vin (V)``)."""
    kind, unit = _SWEPT.get(wf.scale_name.lower(), ("", ""))
    if swept:
        return f"{swept} ({unit})" if unit else swept
    return f"swept {kind} ({unit})" if kind else wf.scale_name


def plot_dc(wf: Waveforms, path: Path, *, title: str, swept: str | None = None) -> Path:
    """DC sweep: each node voltage (and source current, on its own axis) against the sweep
    of ``swept`` (the element the ``.dc`` card names)."""
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    x = np.real(wf.scale)
    volts = [n for n in _pick(wf) if wf.units.get(n) == "V"]
    amps = [n for n in wf.names if wf.units.get(n) == "A"][:_MAX_CURVES]
    for n in volts:
        ax.plot(x, np.real(wf.vectors[n]), label=n)
    ax.set_xlabel(dc_axis_label(wf, swept))
    ax.set_ylabel("voltage (V)")
    ax.grid(True, alpha=0.3)
    if amps:
        ax2 = ax.twinx()
        for n in amps:
            ax2.plot(x, 1e3 * np.real(wf.vectors[n]), ls="--", label=f"{n} (mA)")
        ax2.set_ylabel("current (mA)")
        ax2.legend(loc="lower right", fontsize=8)
    if volts:
        ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)
    return save_figure(fig, path)


def plot_ac(wf: Waveforms, path: Path, *, title: str) -> Path:
    """AC analysis: Bode plot (magnitude in dB and phase in degrees) of the node voltages."""
    fig = Figure(figsize=(8, 6), layout="constrained")
    mag_ax, ph_ax = fig.subplots(2, 1, sharex=True)
    f = np.real(wf.scale)
    names = _pick(wf) + [n for n in wf.names if wf.units.get(n) == "A"][:_MAX_CURVES]
    for n in dict.fromkeys(names):
        vec = np.asarray(wf.vectors[n])
        mag = np.abs(vec)
        unit = wf.units.get(n) or "unit"
        with np.errstate(divide="ignore"):
            mag_ax.semilogx(f, 20 * np.log10(np.where(mag > 0, mag, np.nan)),
                            label=f"{n} (dB re 1 {unit})")
        ph_ax.semilogx(f, np.degrees(np.unwrap(np.angle(vec))), label=n)
    mag_ax.set_ylabel("magnitude (dB)")
    ph_ax.set_ylabel("phase (deg)")
    ph_ax.set_xlabel("frequency (Hz)")
    for ax in (mag_ax, ph_ax):
        ax.grid(True, which="both", alpha=0.3)
    mag_ax.legend(fontsize=8)
    mag_ax.set_title(title)
    return save_figure(fig, path)


def report_analyses(deck: PreparedDeck, plots: list[Waveforms], path: Path, outdir: Path, *,
                    plot: bool, run: Mapping[str, object] | None = None) -> int:
    """Write a table (and a plot) per analysis and ``summary.json`` (the schema's kind
    ``analyses``; ``run``: how the run was made, as a transient's); print a digest."""
    from neurospice.report.summary import SCHEMA_VERSION, run_json, write_summary_json

    summary: dict[str, object] = {"schema_version": SCHEMA_VERSION, "kind": "analyses",
                                  "deck": str(path), "analyses": []}
    written: list[Path] = []
    name = deck.source.name if deck.source else "deck"
    for wf in plots:
        entry: dict[str, object] = {"analysis": wf.analysis, "points": int(len(wf.scale))}
        summary["analyses"].append(entry)  # type: ignore[attr-defined]
        if wf.analysis == "op":
            values = {n: float(np.real(np.asarray(v).ravel()[0])) for n, v in wf.vectors.items()
                      if np.asarray(v).size}
            entry["values"] = [{"vector": n, "value": v, "unit": wf.units.get(n, "")}
                               for n, v in values.items()]
            print(f"{path}: operating point")
            for n, v in values.items():
                print(f"  {n:<24} {format_si(v)}{wf.units.get(n, '')}")
        else:
            table = outdir / f"{wf.analysis}.csv"
            written.append(write_table(wf, table))
            entry["table"] = table.name
            if not len(wf.scale):
                print(f"{path}: {wf.analysis} analysis with no points (as the deck asks)")
                continue
            print(f"{path}: {wf.analysis} analysis, {len(wf.scale)} points from "
                  f"{format_si(float(np.real(wf.scale[0])))} to "
                  f"{format_si(float(np.real(wf.scale[-1])))} ({wf.scale_name})")
            if plot and wf.analysis == "dc":
                swept = next((fields[0] for kind, fields, _ in deck.analyses()
                              if kind == "dc" and fields), None)
                written.append(plot_dc(wf, outdir / "dc.png", title=f"{name}: DC sweep",
                                       swept=swept))
            if plot and wf.analysis == "ac":
                written.append(plot_ac(wf, outdir / "ac.png", title=f"{name}: AC response"))
    meas = plots[-1].measurements if plots else {}
    if meas:
        summary["measurements"] = meas
        for k, v in meas.items():
            print(f"  .meas {k} = {v:.6g}")
    if run is not None:
        summary["run"] = run_json(dict(run))
    written.append(write_summary_json(outdir, summary))
    print(f"  wrote {', '.join(p.name for p in written)} in {outdir}")
    return 0
