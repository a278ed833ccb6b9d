"""``simulate --energy``: the energy view of every memristive element and of the circuit.

For each memristive element (a memristor of the deck, an HH channel): the dissipated energy
``integral v i dt``, its lower bound ``eps * integral v^2 dt`` (``eps`` the smallest
conductance seen) and the co-content; for the circuit: the power balance - energy delivered by
the sources = change of energy stored in capacitors and inductors + energy dissipated - over
the part of the circuit around the first neuron's membrane (memristors' state integrators are
computation and close their own balance). The run must save every current: :func:`prepare`
adds ``.options savecurrents`` and ``.save all``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from neurospice.analysis.energy import (
    cumulative_energy,
    element_energy,
    netlist_balance,
    netlist_branches,
)
from neurospice.report.memristor import memristor_traces
from neurospice.report.plots import save_figure
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.compiler import CompiledCard, Origin
from neurospice.spice.deck import PreparedDeck

__all__ = ["prepare", "energy_report", "plot_energy", "energy_figure", "table_estimate"]


def prepare(deck: PreparedDeck) -> PreparedDeck:
    """``deck`` saving every node voltage and device current (what the balance needs)."""
    from dataclasses import replace

    org = Origin(deck.source, 1)
    extra = [CompiledCard(".options", (".options", "savecurrents"), org, 0),
             CompiledCard(".save", (".save", "all"), org, 0)]
    return replace(deck, cards=[*deck.cards, *extra])


#: Bytes a value takes in the CSV waveform table (a signed number in %.6g and its comma).
CSV_BYTES_PER_VALUE = 13


def table_estimate(deck: PreparedDeck) -> tuple[int, float]:
    """(the number of vectors a run of :func:`prepare`'s deck saves, the bytes of its CSV
    waveform table per simulated second): one row per ``.tran`` step, which the table's
    reduction rarely thins when every current is saved."""
    branches = netlist_branches(deck.text)
    nodes = {n for b in branches for n in b.nodes if n != "0"}
    vectors = len(nodes) + len({vec for b in branches for _, vec, _ in b.terminals})
    tran = deck.tran()
    rows_per_s = 1.0 / tran[0] if tran and tran[0] > 0 else 0.0
    return vectors, (vectors + 1) * rows_per_s * CSV_BYTES_PER_VALUE


def _current(wf: Waveforms, inst_name: str, fallback: np.ndarray | None) -> np.ndarray | None:
    if fallback is not None:
        return fallback
    for vec in (f"@b.{inst_name}.bi[i]", f"i(b.{inst_name}.bi)"):
        if vec in wf:
            return np.asarray(wf[vec], dtype=float)
    return None


def energy_report(deck: PreparedDeck, wf: Waveforms) -> dict[str, Any]:
    """Energy figures of the run (J, S): per memristive element and the circuit's balance."""
    t = wf.time
    elements: dict[str, Any] = {}
    cumulative: dict[str, np.ndarray] = {}
    for tr in memristor_traces(deck, wf):
        i = _current(wf, f"x{tr.name}" if not tr.name.startswith("x") else tr.name, tr.i)
        if i is None:
            continue
        e = element_energy(t, tr.v, i)
        elements[tr.name] = {"e_diss_j": e.e_diss, "eps_s": e.eps, "bound_j": e.bound,
                             "margin_j": e.margin, "co_content_w": e.co_content}
        cumulative[tr.name] = cumulative_energy(t, np.asarray(tr.v) * i)
    out: dict[str, Any] = {"elements": elements, "_t": t, "_elements": cumulative}
    mem_subckts = sorted({m.subckt for m in deck.memristors()})
    neurons = deck.neurons()
    around = neurons[0].nodes[0] if neurons else None
    try:
        branches = netlist_branches(deck.text, memristors=mem_subckts)
        bal = netlist_balance(t, wf, branches, around=around)
    except (KeyError, ValueError) as exc:
        out["balance"] = {"error": f"cannot close the balance: {exc}"}
        return out
    out["balance"] = {
        "around": around, "branches": len(bal.terms), "sources_j": float(bal.sources[-1]),
        "stored_j": float(bal.stored[-1]), "dissipated_j": float(bal.dissipated[-1]),
        "residual_j": bal.residual, "relative_error": bal.relative_error,
    }
    out["_balance"] = bal
    return out


def format_energy(report: dict[str, Any]) -> list[str]:
    """Summary lines of :func:`energy_report`."""
    lines = []
    for name, e in report["elements"].items():
        ok = "holds" if e["margin_j"] >= -1e-15 * max(1.0, abs(e["e_diss_j"])) else "VIOLATED"
        lines.append(f"  energy {name:<8} dissipated {e['e_diss_j']:.4g} J >= eps*int v^2 dt "
                     f"{e['bound_j']:.4g} J (eps {e['eps_s']:.3g} S): {ok}")
    b = report.get("balance", {})
    if "error" in b:
        lines.append(f"  power balance: {b['error']}")
    elif b:
        rel = b["relative_error"]
        lines.append(f"  power balance around {b['around']}: sources {b['sources_j']:.6g} J = "
                     f"stored {b['stored_j']:.4g} J + dissipated {b['dissipated_j']:.6g} J; "
                     f"residual {b['residual_j']:.3g} J"
                     + (f" ({100 * rel:.2g} % of the source energy)" if math.isfinite(rel)
                        else ""))
    return lines


def plot_energy(report: dict[str, Any], path: Path, *, title: str) -> Path | None:
    """Cumulative source, stored and dissipated energy, the energy each memristive element
    dissipates (its own panel: it is orders of magnitude below the board's), and the
    balance's residual, over time."""
    bal = report.get("_balance")
    if bal is None:
        return None
    fig = energy_figure(report, title=title)
    return save_figure(fig, path)


def _scale(joules: float) -> tuple[float, str]:
    for scale, unit in ((1.0, "J"), (1e3, "mJ"), (1e6, "uJ"), (1e9, "nJ")):
        if abs(joules) * scale >= 1.0:
            return scale, unit
    return 1e12, "pJ"


def energy_figure(report: dict[str, Any], *, title: str) -> Figure:
    """The figure of :func:`plot_energy`."""
    bal = report["_balance"]
    elements = report.get("_elements", {})
    rows = 3 if elements else 2
    fig = Figure(figsize=(9, 7 if elements else 5.5), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, height_ratios=[3, 2, 1][:rows] if elements
                        else [3, 1])
    ax, ax2 = axes[0], axes[-1]
    scale, unit = _scale(float(bal.sources[-1]))
    # the sources' line is wide and light: the dissipated energy (dashed) runs on top of it
    ax.plot(bal.t, scale * bal.sources, lw=4, alpha=0.45, label="delivered by sources")
    ax.plot(bal.t, scale * bal.stored, label="stored (capacitors, inductors)")
    ax.plot(bal.t, scale * bal.dissipated, ls="--", color="k", lw=1, label="dissipated")
    ax.set_ylabel(f"cumulative energy ({unit})")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    if elements:
        axm = axes[1]
        top = max(float(np.max(np.abs(e))) for e in elements.values())
        mscale, munit = _scale(top)
        for name, e in elements.items():
            axm.plot(report["_t"], mscale * e, label=f"{name}: dissipated")
        axm.set_ylabel(f"memristive ({munit})")
        axm.legend(fontsize=8)
        axm.grid(True, alpha=0.3)
    resid = bal.sources - bal.stored - bal.dissipated
    ax2.plot(bal.t, scale * resid, color="k", lw=0.8)
    ax2.set_ylabel(f"residual ({unit})")
    ax2.set_xlabel("time (s)")
    ax2.grid(True, alpha=0.3)
    return fig
