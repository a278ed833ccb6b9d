"""The model engine checks itself against ngspice on the first use of a netlist.

The first model-engine run of a deck (by the SHA-256 of its compiled text, libraries included)
runs a short ngspice reference - :data:`REF_TSTOP` = 0.5 s, the memristors' noise off (every
draw at its mean, in both engines) - and the same run in the model engine, and compares:

* each neuron's frequency (mean interval between the upward crossings of the level 3/4 up its
  membrane trace's range after :data:`REF_SKIP`, the same measure for both engines), within
  :data:`TOLERANCE` (1 %); a neuron that spikes in one engine and not in the other disagrees;
* a resting neuron's final membrane voltage, within 50 mV;
* each memristor's mean state ``w`` over the run, within 0.02.

A disagreement refuses the model engine for that deck (:class:`SelfCheckError`, exit status 2)
with the figures; the verdict (either way) is cached in the model cache
(:func:`~neurospice.sim.model.characterise.cache_dir`), so the reference runs once per netlist.
``simulate --no-self-check`` skips it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurospice.errors import ModelError
from neurospice.files import atomic_write_text
from neurospice.sim.model.characterise import cache_dir
from neurospice.spice.deck import PreparedDeck

__all__ = ["REF_SKIP", "REF_TSTOP", "TOLERANCE", "SelfCheck", "SelfCheckError", "self_check"]

#: Length of the reference run (s), the time its analysis skips (s), the largest relative
#: frequency difference accepted.
REF_TSTOP, REF_SKIP, TOLERANCE = 0.5, 0.1, 0.01
#: Largest difference of a resting membrane's final voltage (V) and of a device's mean state.
V_TOL, W_TOL = 0.05, 0.02
_VERSION = 2


class SelfCheckError(ModelError):
    """The model engine disagrees with ngspice on this deck (bad input for the model engine)."""


@dataclass
class SelfCheck:
    """The comparison: one line per neuron / device, and whether all agree."""

    key: str
    agree: bool
    lines: list[str] = field(default_factory=list)
    cached: bool = False


def _key(deck: PreparedDeck) -> str:
    from neurospice.sim.model.characterise import CHAR_VERSION

    # the engine's version is part of the key: a verdict is about this engine's equations
    h = hashlib.sha256(f"selfcheck v{_VERSION}.{CHAR_VERSION} {REF_TSTOP} {TOLERANCE}\n"
                       .encode())
    h.update(deck.text.encode())
    return h.hexdigest()[:24]


def _crossings(t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Upward crossings (s) of the level three quarters up the trace's range (full spikes
    reach it, sub-threshold responses of a driven neuron do not), interpolated; none for a
    trace whose range is below 1 V (a resting neuron)."""
    lo, hi = float(np.min(v)), float(np.max(v))
    if hi - lo < 1.0:
        return np.zeros(0)
    level = lo + 0.75 * (hi - lo)
    i = np.nonzero((v[:-1] < level) & (v[1:] >= level))[0]
    return t[i] + (level - v[i]) * (t[i + 1] - t[i]) / (v[i + 1] - v[i])


def _figures(deck: PreparedDeck, wf: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    t_all = np.asarray(wf.time, dtype=float)
    keep = t_all >= REF_SKIP
    t = t_all[keep]
    for inst in deck.neurons():
        vec = f"v({inst.nodes[0]})"
        if vec not in wf:
            continue
        v = np.asarray(wf[vec], dtype=float)[keep]
        times = _crossings(t, v)
        freq = float(1.0 / np.mean(np.diff(times))) if times.size >= 3 else None
        out[inst.name] = {"f": freq, "v_end": float(v[-1])}
    for inst in deck.memristors():
        vec = f"v({inst.name}.w)"
        if vec in wf:  # time average (ngspice's steps are not uniform)
            w = np.clip(np.asarray(wf[vec], dtype=float)[keep], 0, 1)
            out[inst.name] = {"w_mean": float(np.trapezoid(w, t) / (t[-1] - t[0]))}
    return out


def _compare(spice: dict[str, Any], model: dict[str, Any]) -> tuple[bool, list[str]]:
    ok = True
    lines = []
    for name, s in spice.items():
        m = model.get(name)
        if m is None:
            continue
        if "w_mean" in s:
            d = abs(m["w_mean"] - s["w_mean"])
            good = d <= W_TOL
            lines.append(f"{name}: mean state w {m['w_mean']:.3f} (model) / {s['w_mean']:.3f} "
                         f"(ngspice)")
        elif s["f"] is not None and m["f"] is not None:
            d = abs(m["f"] / s["f"] - 1)
            good = d <= TOLERANCE
            lines.append(f"{name}: {m['f']:.3f} Hz (model) / {s['f']:.3f} Hz (ngspice), "
                         f"{100 * d:+.2f} %".replace("+", ""))
        elif s["f"] is None and m["f"] is None:
            good = abs(m["v_end"] - s["v_end"]) <= V_TOL
            lines.append(f"{name}: rests at {m['v_end']:.3f} V (model) / {s['v_end']:.3f} V "
                         "(ngspice)")
        else:
            good = False
            lines.append(f"{name}: " + ("spikes in the model engine, not in ngspice"
                                        if m["f"] is not None else
                                        "spikes in ngspice, not in the model engine"))
        if not good:
            lines[-1] += "  <- disagrees"
        ok = ok and good
    return ok, lines


def self_check(deck: PreparedDeck, *, refresh: bool = False) -> SelfCheck:
    """Compare the model engine with a short ngspice run of ``deck`` (once per deck text).

    Raises
    ------
    SelfCheckError
        When they disagree (now or in the cached verdict), with the figures.
    UnmappableElementError
        When the deck cannot be mapped at all.
    """
    from neurospice.sim.model.engine import CompiledModel
    from neurospice.sim.ngspice import run_prepared
    from neurospice.sim.noise import with_shared_noise

    key = _key(deck)
    path = cache_dir() / f"selfcheck-{key}.json"
    result: SelfCheck | None = None
    if path.is_file() and not refresh:
        try:
            data = json.loads(path.read_text())
            result = SelfCheck(key, bool(data["agree"]), list(data["lines"]), cached=True)
        except (OSError, ValueError, KeyError):
            result = None
    if result is None:
        ref = deck.with_tstop(REF_TSTOP)
        model = CompiledModel(ref)  # refuses an unmappable deck before ngspice runs
        [wf_model] = model.run([{"noise": False}])
        wf_spice = run_prepared(with_shared_noise(ref, noise=False))
        agree, lines = _compare(_figures(ref, wf_spice), _figures(ref, wf_model))
        result = SelfCheck(key, agree, lines)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps({"agree": agree, "lines": lines}))
        except OSError:
            pass
    if not result.agree:
        raise SelfCheckError(
            f"the model engine disagrees with ngspice on this netlist by more than "
            f"{100 * TOLERANCE:g} % ({REF_TSTOP:g} s, noise off): " + "; ".join(result.lines),
            path=deck.source,
            hint="run it with --engine spice (or skip the check with --no-self-check)")
    return result
