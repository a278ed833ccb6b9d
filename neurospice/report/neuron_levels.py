"""A neuron's spike levels from its own spikes: the subcircuit alone, pulsed, in ngspice, cached.

The library's ``fhn`` neurons take their levels from the knees of their measured I-V
(:func:`neurospice.report.summary.neuron_iv`). Every other neuron subcircuit (a subcircuit
whose first pin is ``mem``: the Hodgkin-Huxley patch ``hh``, a user's own) is measured here:

* a small deck holds :data:`N_COPIES` copies of the subcircuit with the instance's own
  parameters, each alone (its other pins to ground through 1 GOhm), each driven into ``mem`` by
  a current pulse of :data:`PULSE_WIDTH` s from :data:`T_ON` s, the amplitudes spaced two per
  decade from :data:`AMP_MIN` to :data:`AMP_MAX` A; every copy starts at the operating point;
* the deck is compiled by neurospice and run in the sandboxed ngspice worker like every run;
* :func:`neurospice.analysis.spikes.thresholds_from_pulses` finds rest (the operating point),
  the full spike (the largest regenerative response, or the neuron's own spikes when it runs
  free) and puts the levels at 50 % (spike), 25 % (trigger) and 10 % (re-arm) of the way from
  rest to the spike's peak.

The result is cached in memory and as a small JSON file in the model engine's cache folder
(:func:`neurospice.sim.model.characterise.cache_dir`), keyed by the SHA-256 of the definitions
the subcircuit needs (its ``.subckt`` blocks, the ``.func`` and ``.model`` cards and the
``.param`` cards they name), the instance's evaluated parameters, the deck's temperature cards and
:data:`LEVELS_VERSION`. A deck that ngspice cannot run with the largest pulses is measured again
without the top two decades; a neuron that gives no full spike gets None (the caller falls back
to the trace's range and says so).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import tempfile
from pathlib import Path

import numpy as np

from neurospice.analysis.spikes import PulseResponse, Thresholds, thresholds_from_pulses
from neurospice.spice.deck import Instance, PreparedDeck

__all__ = ["LEVELS_VERSION", "pulse_deck", "neuron_definitions_text", "response_levels"]

log = logging.getLogger("neurospice.report.neuron_levels")

#: Bump when the protocol or the rule changes (invalidates every cached result).
LEVELS_VERSION = 2
#: The pulse (s): start, width; the record (s), and the start of the free-running window.
T_ON, PULSE_WIDTH, T_STOP, T_LATE = 10e-3, 0.5e-3, 0.15, 0.08
#: Pulse amplitudes (A), two per decade.
AMP_MIN, AMP_MAX = 1e-9, 1e-1
#: Amplitudes of the finer second run, between the two of the largest jump in response.
N_FINE = 8
#: Largest time step (s) of the measuring run.
MAX_STEP = 50e-6

_MEMO: dict[str, PulseResponse | None] = {}


def _amplitudes(top: float) -> np.ndarray:
    n = int(round(2 * math.log10(top / AMP_MIN))) + 1
    return np.asarray(AMP_MIN * 10.0 ** (0.5 * np.arange(n)), dtype=np.float64)


def _blocks(lines: list[str]) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """The deck's ``.subckt`` blocks by name, its top-level ``.func`` and ``.model`` cards, and
    its top-level ``.param`` cards."""
    blocks: dict[str, list[str]] = {}
    funcs: list[str] = []
    params: list[str] = []
    current: list[str] | None = None
    depth = 0
    for line in lines[1:]:
        s = line.strip()
        low = s.lower()
        if not s or s.startswith("*"):
            continue
        if low.startswith(".subckt"):
            depth += 1
            if depth == 1:
                parts = low.split()
                current = [s]
                blocks[parts[1] if len(parts) > 1 else ""] = current
                continue
        if current is not None:
            current.append(s)
            if low.startswith(".ends"):
                depth -= 1
                if depth == 0:
                    current = None
            continue
        if low.startswith((".func", ".model")):
            funcs.append(s)
        elif low.startswith(".param"):
            params.append(s)
    return blocks, funcs, params



def needed_subckts(blocks: dict[str, list[str]], subckt: str) -> list[str]:
    """``subckt`` and every subcircuit it instantiates, recursively (names lower case), from
    ``blocks`` (name -> the definition's lines, the ``.subckt`` line first)."""
    need: list[str] = []
    todo = [subckt.lower()]
    while todo:
        name = todo.pop()
        if name in need or name not in blocks:
            continue
        need.append(name)
        for line in blocks[name][1:]:
            toks = line.split()
            if toks and toks[0].lower().startswith("x"):
                plain = [t for t in toks[1:] if "=" not in t and t.lower() != "params:"]
                if plain:
                    todo.append(plain[-1].lower())
    return need

def neuron_definitions_text(lines: list[str], subckt: str) -> str:
    """What a neuron subcircuit needs to run alone: its ``.subckt`` block and those it
    instantiates (recursively), the deck's ``.func`` and ``.model`` cards, and the top-level
    ``.param`` cards
    whose names those texts use. The deck's other parameters (a stimulus, a sweep's coupling)
    stay out, so they do not make a new measurement."""
    blocks, funcs, params = _blocks(lines)
    need = needed_subckts(blocks, subckt)
    body = "\n".join(funcs + [ln for n in sorted(need) for ln in blocks[n]])
    words = set(re.findall(r"[a-z_][a-z0-9_]*", body.lower()))
    used = [p for p in params
            if {m.lower() for m in re.findall(r"([A-Za-z_]\w*)\s*=", p)} & words]
    return "\n".join([*used, body]) + "\n"


def _environment(lines: list[str]) -> str:
    """The deck's temperature cards (``.temp``, ``.options temp= tnom=``), one a line."""
    out = []
    for line in lines[1:]:
        toks = line.split()
        if not toks:
            continue
        head = toks[0].lower()
        if head == ".temp":
            out.append(" ".join(toks))
        elif head == ".options":
            keep = [t for t in toks[1:] if t.lower().split("=", 1)[0] in ("temp", "tnom")]
            if keep:
                out.append(".options " + " ".join(keep))
    return "\n".join(out)


def _instance_values(deck: PreparedDeck, inst: Instance) -> dict[str, float]:
    """The instance card's ``name=value`` assignments, evaluated over the deck's parameters."""
    from neurospice.report.summary import _instance_params

    return {k: deck.evaluate(v) for k, v in _instance_params(deck, inst).items()}


def _pins(deck: PreparedDeck, subckt: str) -> tuple[str, ...]:
    return tuple(deck.subckts()[subckt][0])


def pulse_deck(definitions: str, subckt: str, pins: tuple[str, ...], params: dict[str, float],
               amplitudes: np.ndarray, environment: str = "") -> str:
    """The measuring deck: one copy of ``subckt`` per amplitude (A), each pulsed into its
    ``mem``; its other pins to ground through 1 GOhm. Saves ``v(m<k>)``."""
    pv = " ".join(f"{k}={v:.12g}" for k, v in sorted(params.items()))
    lines = [f"* neurospice: the response of {subckt} to current pulses", definitions.strip()]
    lines += [ln for ln in environment.splitlines() if ln.strip()]
    for k, a in enumerate(amplitudes):
        others = [f"p{k}_{j}" for j in range(1, len(pins))]
        lines.append(f"X{k} m{k} {' '.join(others)} {subckt} {pv}".rstrip())
        lines += [f"R{k}_{j} {n} 0 1g" for j, n in enumerate(others, start=1)]
        lines.append(f"I{k} 0 m{k} PULSE(0 {a:.6g} {T_ON:g} 1u 1u {PULSE_WIDTH:g} 10)")
    lines += [f".tran {MAX_STEP:g} {T_STOP:g} 0 {MAX_STEP:g}",
              ".save " + " ".join(f"v(m{k})" for k in range(len(amplitudes))), ".end"]
    return "\n".join(lines) + "\n"


def _cache_file(key: str) -> Path | None:
    try:
        from neurospice.sim.model.characterise import cache_dir
    except ImportError:
        return None
    return cache_dir() / f"levels-{key}.json"


def _load(path: Path | None) -> tuple[bool, PulseResponse | None]:
    if path is None or not path.is_file():
        return False, None
    try:
        d = json.loads(path.read_text())
        if d.get("version") != LEVELS_VERSION:
            return False, None
        if d.get("none"):
            return True, None
        th = Thresholds(float(d["spike_v"]), float(d["on_v"]), float(d["off_v"]),
                        str(d["source"]))
        amp = math.nan if d["amplitude_a"] is None else float(d["amplitude_a"])  # free-running
        return True, PulseResponse(th, float(d["rest_v"]), float(d["peak_v"]),
                                   bool(d["free_running"]), amp)
    except (OSError, ValueError, KeyError, TypeError):
        return False, None


def _save(path: Path | None, res: PulseResponse | None) -> None:
    if path is None:
        return
    from neurospice.files import atomic_write_text

    if res is None:
        d: dict[str, object] = {"version": LEVELS_VERSION, "none": True}
    else:
        d = {"version": LEVELS_VERSION, **res.thresholds.as_dict(), "rest_v": res.rest_v,
             "peak_v": res.peak_v, "free_running": res.free_running,
             "amplitude_a": res.amplitude_a if math.isfinite(res.amplitude_a) else None}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(d))
    except OSError:
        pass  # a read-only cache only costs a new measurement


def measure(definitions: str, subckt: str, pins: tuple[str, ...], params: dict[str, float],
            environment: str = "") -> PulseResponse | None:
    """Run the pulse deck (the whole range, else without the top two decades) and derive the
    levels; when no copy gives a full spike, run :data:`N_FINE` amplitudes between the two
    whose responses differ most (a slow neuron goes from sub-threshold to carried past its
    spike within one step of the coarse run). None when ngspice cannot run it or no copy gives
    a full spike."""
    from neurospice.errors import NeurospiceError
    from neurospice.sim.ngspice import run_text

    def run(amps: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        text = pulse_deck(definitions, subckt, pins, params, amps, environment)
        try:
            wf = run_text(text, base_dir=Path(tempfile.gettempdir()), analysis="tran")
        except NeurospiceError as exc:
            log.info("pulse deck of %s up to %g A failed: %s", subckt, amps[-1], exc)
            return None
        traces = np.vstack([np.asarray(wf[f"v(m{k})"], dtype=float) for k in range(amps.size)])
        return np.asarray(wf.time, dtype=float), traces

    source = f"pulse response of {subckt}"
    for top in (AMP_MAX, AMP_MAX * 1e-2):
        amps = _amplitudes(top)
        got = run(amps)
        if got is None:
            continue
        t, traces = got
        res = thresholds_from_pulses(t, traces, amps, T_ON, PULSE_WIDTH, late=T_LATE,
                                     source=source)
        if res is not None:
            return res
        # a slow neuron can go from a sub-threshold response at one amplitude to being carried
        # past its spike at the next: measure again between the two, finer
        exc = np.max(traces[:, t >= T_ON], axis=1) - float(np.median(traces[:, 0]))
        ok = exc > 1e-3
        jumps = np.where(ok[1:] & ok[:-1], exc[1:] / np.where(exc[:-1] > 0, exc[:-1], 1.0), 0.0)
        if not np.any(jumps > 0):
            return None
        k = int(np.argmax(jumps)) + 1
        fine = amps[k - 1] * (amps[k] / amps[k - 1]) ** (np.arange(1, N_FINE + 1) / (N_FINE + 1))
        got = run(np.concatenate(([amps[k - 1]], fine, [amps[k]])))
        if got is None:
            return None
        t, traces = got
        return thresholds_from_pulses(t, traces, np.concatenate(([amps[k - 1]], fine, [amps[k]])),
                                      T_ON, PULSE_WIDTH, late=T_LATE, source=source)
    return None


def response_levels(deck: PreparedDeck, inst: Instance) -> PulseResponse | None:
    """The levels of neuron instance ``inst`` from its own spikes (see the module docstring),
    cached; None when they cannot be measured."""
    try:
        params = _instance_values(deck, inst)
        definitions = neuron_definitions_text(deck.lines, inst.subckt)
        pins = _pins(deck, inst.subckt)
    except (ValueError, KeyError, ZeroDivisionError) as exc:
        log.info("no pulse response for %s: %s", inst.name, exc)
        return None
    environment = _environment(deck.lines)
    h = hashlib.sha256()
    h.update(f"levels v{LEVELS_VERSION}\n{inst.subckt}\n{' '.join(pins)}\n".encode())
    h.update(definitions.encode())
    h.update(json.dumps(sorted(params.items())).encode())
    h.update(environment.encode())
    key = h.hexdigest()[:24]
    if key in _MEMO:
        return _MEMO[key]
    path = _cache_file(key)
    hit, res = _load(path)
    if not hit:
        res = measure(definitions, inst.subckt, pins, params, environment)
        _save(path, res)
    _MEMO[key] = res
    return res
