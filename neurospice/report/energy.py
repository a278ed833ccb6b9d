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

from neurospice.analysis.energy import element_energy, netlist_balance, netlist_branches
from neurospice.report.memristor import memristor_traces
from neurospice.report.plots import save_figure
from neurospice.sim.ngspice import Waveforms
from neurospice.spice.compiler import CompiledCard, Origin
from neurospice.spice.deck import PreparedDeck

__all__ = ["prepare", "energy_report", "plot_energy"]


def prepare(deck: PreparedDeck) -> PreparedDeck:
    """``deck`` saving every node voltage and device current (what the balance needs)."""
    from dataclasses import replace

    org = Origin(deck.source, 1)
    extra = [CompiledCard(".options", (".options", "savecurrents"), org, 0),
             CompiledCard(".save", (".save", "all"), org, 0)]
    return replace(deck, cards=[*deck.cards, *extra])


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
    for tr in memristor_traces(deck, wf):
        i = _current(wf, f"x{tr.name}" if not tr.name.startswith("x") else tr.name, tr.i)
        if i is None:
            continue
        e = element_energy(t, tr.v, i)
        elements[tr.name] = {"e_diss_j": e.e_diss, "eps_s": e.eps, "bound_j": e.bound,
                             "margin_j": e.margin, "co_content_w": e.co_content}
    out: dict[str, Any] = {"elements": elements}
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
    """Cumulative source, stored and dissipated energy, and their residual, over time."""
    bal = report.get("_balance")
    if bal is None:
        return None
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    scale, unit = (1e3, "mJ") if abs(bal.sources[-1]) > 1e-3 else (1e6, "uJ")
    # the sources' line is wide and light: the dissipated energy (dashed) runs on top of it
    ax.plot(bal.t, scale * bal.sources, lw=4, alpha=0.45, label="delivered by sources")
    ax.plot(bal.t, scale * bal.stored, label="stored (capacitors, inductors)")
    ax.plot(bal.t, scale * bal.dissipated, ls="--", color="k", lw=1, label="dissipated")
    ax.set_ylabel(f"cumulative energy ({unit})")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    resid = bal.sources - bal.stored - bal.dissipated
    ax2.plot(bal.t, scale * resid, color="k", lw=0.8)
    ax2.set_ylabel(f"residual ({unit})")
    ax2.set_xlabel("time (s)")
    ax2.grid(True, alpha=0.3)
    return save_figure(fig, path)
