"""From waveforms to what the designer reads: summaries, files and plots.

:func:`summarise` turns the waveforms of a deck's transient into per-neuron spike statistics and
per-memristor resistance ranges; :func:`write_outputs` writes the waveform table (CSV), a JSON
summary and a PNG of the traces into the output folder; :func:`format_summary` renders the
terminal summary.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from neurospice.analysis.spikes import (
    DEFAULT_MIN_AMPLITUDE,
    Responses,
    SpikeStats,
    SpikeTrain,
    Thresholds,
    detect_responses,
    spike_stats,
    threshold_override,
    thresholds_from_iv,
    thresholds_from_range,
)
from neurospice.files import atomic_write, atomic_write_text
from neurospice.report.jobs import ForkJob
from neurospice.report.resolution import DEFAULT_TOL, reduce_rows
from neurospice.sim.engines import DEFAULT_ENGINE
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import Instance, PreparedDeck

if TYPE_CHECKING:
    import pandas as pd

    from neurospice.sim.options import RunOptions

__all__ = [
    "NeuronSummary",
    "MemristorSummary",
    "RunSummary",
    "Column",
    "SCHEMA_VERSION",
    "summarise",
    "waveform_columns",
    "waveform_frame",
    "name_vectors",
    "write_summary_json",
    "write_batch_summary",
    "stdp_summary",
    "crossbar_summary",
    "write_outputs",
    "format_summary",
]


@dataclass(frozen=True)
class NeuronSummary:
    """Spike statistics of one neuron's membrane voltage ``vector``.

    ``stats`` counts the spikes at the neuron's own threshold ``spike_threshold_v`` (V);
    ``partial`` the responses that turned back before it; ``thresholds`` all the levels used
    and where they come from (:class:`~neurospice.analysis.spikes.Thresholds`)."""

    name: str
    vector: str
    stats: SpikeStats
    spike_threshold_v: float = math.nan
    partial: int = 0
    thresholds: dict[str, object] = field(default_factory=dict)
    #: rate (Hz) of all its responses, spikes and partial (NaN with fewer than two)
    response_hz: float = math.nan

    @property
    def rate_hz(self) -> float:
        """What the neuron does, as a rate (Hz): its spike frequency; for a neuron that only
        responds partially, its response rate; 0 for a silent neuron (fewer than two of
        either)."""
        for f in (self.stats.frequency_hz, self.response_hz):
            if math.isfinite(f):
                return f
        return 0.0


@dataclass(frozen=True)
class MemristorSummary:
    """Range of a memristor's state ``w`` (0..1) and 0.1 V-read resistance (ohm)."""

    name: str
    w_vector: str | None
    r_vector: str | None
    w_min: float
    w_max: float
    r_min: float
    r_max: float


@dataclass
class RunSummary:
    """Everything the terminal summary and ``summary.json`` report for one run."""

    deck: str
    tstop: float
    neurons: list[NeuronSummary] = field(default_factory=list)
    memristors: list[MemristorSummary] = field(default_factory=list)
    #: What else the run measured: ``sandbox`` (a line), ``measurements`` and
    #: ``measurements_failed`` (``.meas``), ``energy`` (the ``--energy`` report); a string is a
    #: line of the terminal summary under its key.
    extra: dict[str, object] = field(default_factory=dict)
    #: How the run was made: deck, parameters, seed, tstop, engine, versions, command line.
    run: dict[str, object] = field(default_factory=dict)
    #: One record per locking pair (:func:`neurospice.report.locking.pair_data`), ``text``
    #: its line in the terminal summary.
    pairs: list[dict[str, object]] = field(default_factory=list)
    #: The waveform table's columns: ``(name, vector, unit)`` (:func:`waveform_columns`).
    columns: list[Column] = field(default_factory=list)
    #: Spikes of each neuron vector over the whole record (t_skip = 0 only; not written).
    trains: dict[str, SpikeTrain] = field(default_factory=dict, repr=False, compare=False)
    #: Each neuron vector's thresholds and responses over the whole record (not written).
    thresholds: dict[str, Thresholds] = field(default_factory=dict, repr=False, compare=False)
    responses: dict[str, Responses] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> dict[str, object]:
        """``summary.json`` of the run, in the shape of ``neurospice/schema/summary.schema.json``
        (kind ``"run"``; docs/outputs.md): plain keys, units in the names of numbers."""
        names = {c.vector: c.name for c in self.columns}
        doc: dict[str, object] = {
            "schema_version": SCHEMA_VERSION,
            "kind": "run",
            "deck": self.deck,
            "tstop_s": self.tstop,
            "neurons": [_neuron_json(n, names) for n in self.neurons],
            "memristors": [_memristor_json(m, names) for m in self.memristors],
            "pairs": [dict(p) for p in self.pairs],
            "columns": [c._asdict() for c in self.columns],
        }
        notes = []
        for key, value in self.extra.items():
            if key in ("measurements", "measurements_failed", "sandbox"):
                doc[key] = value
            elif key == "energy" and isinstance(value, dict):
                doc["energy"] = _energy_json(value)
            elif isinstance(value, str):
                notes.append(f"{key}: {value}")
            else:  # an unknown record: written, and refused by the schema's test
                doc.setdefault("extra", {})[key] = value  # type: ignore[index]
        doc["notes"] = notes
        doc["run"] = run_json(self.run)
        return json_clean(doc)  # type: ignore[return-value]


#: The version of ``summary.json``'s shape (``neurospice/schema/summary.schema.json``): the
#: major number changes when a reader of the previous version would break.
SCHEMA_VERSION = "1.0"


def json_clean(x: object) -> object:
    """``x`` with every non-finite float as None (JSON has no NaN) and tuples as lists."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.floating | np.integer | np.bool_):
        return json_clean(x.item())
    if isinstance(x, dict):
        return {str(k): json_clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_clean(v) for v in x]
    return x


def _neuron_json(n: NeuronSummary, names: dict[str, str]) -> dict[str, object]:
    s = n.stats
    return {
        "name": n.name, "column": names.get(n.vector, n.vector), "vector": n.vector,
        "spike_threshold_v": n.spike_threshold_v, "partial": n.partial,
        "response_hz": n.response_hz, "rate_hz": n.rate_hz,
        "thresholds": dict(n.thresholds) or None,
        "stats": {"count": s.count, "frequency_hz": s.frequency_hz, "width_s": s.width_s,
                  "vmin_v": s.vmin, "vmax_v": s.vmax, "amplitude_v": s.amplitude,
                  "isi_cv": s.isi_cv},
    }


def _memristor_json(m: MemristorSummary, names: dict[str, str]) -> dict[str, object]:
    return {
        "name": m.name,
        "w_column": names.get(m.w_vector, m.w_vector) if m.w_vector else None,
        "r_column": names.get(m.r_vector, m.r_vector) if m.r_vector else None,
        "w_vector": m.w_vector, "r_vector": m.r_vector, "w_min": m.w_min, "w_max": m.w_max,
        "r_min_ohm": m.r_min, "r_max_ohm": m.r_max,
    }


def _energy_json(report: dict[str, object]) -> dict[str, object]:
    """The ``--energy`` report with its elements as a list of records."""
    out = dict(report)
    elements = out.get("elements")
    if isinstance(elements, dict):
        out["elements"] = [{"name": k, **dict(v)} for k, v in elements.items()]
    return out


#: ``run`` keys renamed in ``summary.json`` to say their unit
_RUN_UNITS = {"tstop": "tstop_s", "t_skip": "t_skip_s"}


def run_json(run: dict[str, object]) -> dict[str, object]:
    """The ``run`` record as ``summary.json`` writes it (times with their unit in the name)."""
    return {_RUN_UNITS.get(k, k): v for k, v in run.items()}


def neuron_vectors(deck: PreparedDeck, wf: Waveforms) -> list[tuple[str, str]]:
    """``(label, vector)`` for each neuron instance whose membrane voltage was saved."""
    out = []
    for inst in deck.neurons():
        vec = f"v({inst.nodes[0]})"
        if vec in wf:
            out.append((_label(inst), vec))
    return out


def memristor_vectors(
    deck: PreparedDeck, wf: Waveforms
) -> list[tuple[str, str | None, str | None]]:
    """``(label, w vector, r vector)`` for each memristor instance (None where not saved)."""
    out = []
    for inst in deck.memristors():
        w = f"v({inst.name}.w)"
        r = f"v({inst.name}.r)"
        out.append((_label(inst), w if w in wf else None, r if r in wf else None))
    return out


def _label(inst: Instance) -> str:
    return inst.name[1:] if inst.name.startswith("x") and len(inst.name) > 1 else inst.name


#: Smallest spike amplitude (V) counted for a neuron subcircuit: the FHN circuit's spikes span
#: volts (the detector's default floor), the Hodgkin-Huxley patch's about 0.1 V.
SPIKE_FLOOR = {"hh": 0.05}


def spike_floor(deck: PreparedDeck, vector: str) -> float:
    """The amplitude floor for the neuron whose membrane voltage is ``vector``."""
    for inst in deck.neurons():
        if f"v({inst.nodes[0]})" == vector:
            return SPIKE_FLOOR.get(inst.subckt, DEFAULT_MIN_AMPLITUDE)
    return DEFAULT_MIN_AMPLITUDE


def _instance_params(deck: PreparedDeck, inst: Instance) -> dict[str, str]:
    """The ``name=value`` assignments on an instance's card (lower-case names)."""
    from neurospice.spice.deck import split_tokens

    depth = 0
    for line in deck.lines[1:]:
        toks = split_tokens(line)
        head = toks[0].lower() if toks else ""
        if head == ".subckt":
            depth += 1
        elif head == ".ends":
            depth = max(depth - 1, 0)
        elif depth == 0 and head == inst.name:  # top level: fhn's gyrator holds an 'XA' too
            return {k.lower(): v for k, _, v in (t.partition("=") for t in toks[1:] if "=" in t)}
    return {}


#: Neuron subcircuits whose levels come from their I-V knees; every other one is pulsed alone
#: (:mod:`neurospice.report.neuron_levels`).
_IV_NEURONS = frozenset({"fhn"})

_IV_CACHE: dict[tuple[str, str, tuple[tuple[str, float], ...]], tuple[np.ndarray, np.ndarray]] = {}


def neuron_definitions(text: str, subckt: str) -> str:
    """The ``.subckt`` blocks a neuron subcircuit needs (itself and what it instantiates, by
    name, recursively) and every ``.model`` card of a library text: what its characterisation
    depends on. A deck's other definitions (the per-seed copies of a noisy memristor, say) stay
    out, so they do not make a new measurement."""
    blocks: dict[str, list[str]] = {}
    models: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        low = line.strip().lower()
        if low.startswith(".subckt"):
            parts = low.split()
            current = [line]
            blocks[parts[1] if len(parts) > 1 else ""] = current
        elif current is not None:
            current.append(line)
            if low.startswith(".ends"):
                current = None
        else:
            models.append(line)
    from neurospice.report.neuron_levels import needed_subckts

    need = needed_subckts(blocks, subckt)
    return "\n".join([*models, *("\n".join(blocks[n]) for n in sorted(need))]) + "\n"


def neuron_iv(deck: PreparedDeck, inst: Instance) -> tuple[np.ndarray, np.ndarray] | None:
    """The fast I-V ``(V, I)`` of an FHN-type neuron instance (V; A drawn by ``mem``), as the
    model engine characterises it (a DC sweep in ngspice with the recovery branch opened,
    cached); None for a subcircuit it does not characterise or when the measurement fails."""
    try:
        from neurospice.sim.model.characterise import (
            DYNAMIC_PARAMS,
            characterise_fhn,
            library_text,
        )
        from neurospice.sim.model.compile import NEURON_MODELS
    except ImportError:
        return None
    if inst.subckt not in NEURON_MODELS:
        return None
    try:
        static: dict[str, float] = {}
        for k, v in _instance_params(deck, inst).items():
            if k not in DYNAMIC_PARAMS:
                static[k] = deck.evaluate(v)
        definitions = neuron_definitions(library_text(deck.lines), inst.subckt)
        key = (definitions, inst.subckt, tuple(sorted(static.items())))
        if key not in _IV_CACHE:
            tb = characterise_fhn(definitions, static, subckt=inst.subckt,
                                  base_dir=deck.base_dir)
            _IV_CACHE[key] = (np.asarray(tb.v_grid, dtype=float),
                              np.asarray(tb.f_cubic, dtype=float))
        return _IV_CACHE[key]
    except Exception:  # noqa: BLE001 - any failure means: no characterised I-V, say so
        return None


def neuron_thresholds(deck: PreparedDeck, wf: Waveforms,
                      overrides: dict[str, float] | None = None) -> dict[str, Thresholds]:
    """Thresholds of every saved neuron vector: ``overrides`` (neuron name, or ``"*"`` for all,
    in V) first, else the neuron's characterised I-V (:func:`neuron_iv`), else the trace's
    range (a neuron the library cannot characterise; the summary says so)."""
    over = {k.lower(): v for k, v in (overrides or {}).items()}
    names = {n for inst in deck.neurons() for n in (inst.name, _label(inst).lower())}
    unknown = sorted(set(over) - names - {"*"})
    if unknown:
        from neurospice.errors import UsageError

        raise UsageError(f"--spike-threshold {unknown[0]}=...: no neuron of that name "
                         f"(neurons: {', '.join(_label(i) for i in deck.neurons()) or 'none'})")
    out: dict[str, Thresholds] = {}
    for inst in deck.neurons():
        vec = f"v({inst.nodes[0]})"
        if vec not in wf:
            continue
        th: Thresholds | None = None
        iv = neuron_iv(deck, inst)
        if iv is not None:
            th = thresholds_from_iv(iv[0], iv[1], source=f"I-V knee of {inst.subckt}")
        if th is None and inst.subckt not in _IV_NEURONS:
            from neurospice.report.neuron_levels import response_levels

            pulse = response_levels(deck, inst)
            th = pulse.thresholds if pulse is not None else None
        if th is None:
            th = thresholds_from_range(wf[vec], source="trace range (no full spike measured)")
        label = _label(inst).lower()
        level = over.get(label, over.get(inst.name, over.get("*")))
        if level is not None:
            th = threshold_override(th, level)
        if th is not None:
            out[vec] = th
    return out


def summarise(deck: PreparedDeck, wf: Waveforms, *, t_skip: float = 0.0,
              spike_threshold: dict[str, float] | None = None) -> RunSummary:
    """Spike statistics for every neuron (at its own thresholds, :func:`neuron_thresholds`;
    ``spike_threshold`` overrides them, V per neuron name or ``"*"``) and resistance ranges
    for every memristor."""
    t = wf.time
    summary = RunSummary(deck=str(deck.source or deck.title),
                         tstop=float(t[-1]) if len(t) else 0.0, columns=name_vectors(deck, wf))
    summary.thresholds = neuron_thresholds(deck, wf, spike_threshold)
    for label, vec in neuron_vectors(deck, wf):
        floor = spike_floor(deck, vec)
        th = summary.thresholds.get(vec)
        if th is None:  # a flat trace: nothing can cross a level drawn from it
            stats = spike_stats(t, wf[vec], t_skip=t_skip, min_amplitude=floor)
            summary.neurons.append(NeuronSummary(label, vec, stats))
            continue
        resp = detect_responses(t, wf[vec], th)
        summary.responses[vec] = resp
        summary.trains[vec] = resp.spikes()
        spikes = resp.after(t[0] + t_skip).spikes() if t_skip > 0 else resp.spikes()
        stats = spike_stats(t, wf[vec], t_skip=t_skip, min_amplitude=floor, train=spikes)
        analysed = resp.after(t[0] + t_skip) if t_skip > 0 else resp
        summary.neurons.append(NeuronSummary(label, vec, stats, th.spike_v, analysed.n_partial,
                                             th.as_dict(), analysed.train().frequency_hz))
    for label, wvec, rvec in memristor_vectors(deck, wf):
        w = np.asarray(wf[wvec]) if wvec else np.array([math.nan])
        r = np.asarray(wf[rvec]) if rvec else np.array([math.nan])
        keep = t >= t_skip
        w = w[keep] if wvec else w
        r = r[keep] if rvec else r
        summary.memristors.append(
            MemristorSummary(label, wvec, rvec, float(np.min(w)), float(np.max(w)),
                             float(np.min(r)), float(np.max(r)))
        )
    return summary


def _fmt(x: float, unit: str, scale: float = 1.0, digits: int = 4) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x * scale:.{digits}g} {unit}"


def _ohms(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    for factor, prefix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"{x / factor:.4g} {prefix}ohm"
    return f"{x:.4g} ohm"


def format_summary(summary: RunSummary) -> str:
    """The terminal summary: one block per neuron and per memristor."""
    lines = [f"{summary.deck}: {summary.tstop:g} s simulated"]
    if not summary.neurons:
        lines.append("  no neuron (subcircuit with a 'mem' pin) was found or saved in this deck")
    for n in summary.neurons:
        s = n.stats
        state = "spiking" if s.count >= 2 else ("1 spike" if s.count == 1 else
                                                 "partial" if n.partial else "resting")
        line = (
            f"  neuron {n.name:<10} {state:<8} spikes {s.count:>4}   "
            f"f {_fmt(s.frequency_hz, 'Hz')}   width {_fmt(s.width_s, 'ms', 1e3)}   "
            f"min {_fmt(s.vmin, 'V')}   max {_fmt(s.vmax, 'V')}"
        )
        if n.thresholds:
            th = n.thresholds
            if n.partial:
                line += f"   partial {n.partial} (responses {_fmt(n.response_hz, 'Hz')})"
            line += (f"   spike threshold {n.spike_threshold_v:.3g} V "
                     f"(re-arm {float(th['off_v']):.3g} / trigger {float(th['on_v']):.3g} V; "  # type: ignore[arg-type]
                     f"{th['source']})")
        lines.append(line)
    for m in summary.memristors:
        lines.append(
            f"  memristor {m.name:<7} w {m.w_min:.3g}..{m.w_max:.3g}   "
            f"R(0.1 V read) {_ohms(m.r_min)} .. {_ohms(m.r_max)}"
        )
    for pair in summary.pairs:
        lines.append(f"  locking {pair['master']}->{pair['slave']}: {pair['text']}")
    for key, value in summary.extra.items():
        if isinstance(value, str):
            lines.append(f"  {key}: {value}")
    meas = summary.extra.get("measurements")
    if isinstance(meas, dict) and meas:
        lines.append("  measurements (.meas): " + ", ".join(f"{k} = {v:.6g}"
                                                           for k, v in meas.items()))
    failed = summary.extra.get("measurements_failed")
    if isinstance(failed, dict) and failed:
        lines.append("  measurements FAILED (the condition never occurred in the run): "
                     + "; ".join(str(card) for card in failed.values()))
    return "\n".join(lines)


#: A run writes Parquet instead of CSV above this many values (samples x vectors).
PARQUET_THRESHOLD = 2_000_000


class Column(NamedTuple):
    """One vector of a run as every output names it: ``name`` (``"slave.mem"``, ``"m1.r"``),
    ngspice's ``vector`` (``"v(smem)"``, ``"v(xm1.r)"``) and its true ``unit`` (``"V"``,
    ``"A"``, ``"ohm"``, ``"1"`` for a dimensionless state)."""

    name: str
    vector: str
    unit: str


def waveform_columns(deck: PreparedDeck | None, wf: Waveforms, *,
                     real_only: bool = True) -> list[Column]:
    """The one naming of a run's vectors: the columns of ``waveforms.csv`` and
    ``waveforms.parquet``, of ``Run.to_dataframe()`` and the labels of the plots.

    A neuron's membrane voltage is ``<neuron>.mem`` (V), a memristor's state ``<memristor>.w``
    (unit ``1``) and its read resistance ``<memristor>.r`` (ohm); other vectors keep their
    ngspice names (``v(out)``, ``i(v1)``). A name that another column or the scale already has
    falls back to the vector's own. ``real_only``: leave out complex (AC) vectors.
    """
    friendly: dict[str, tuple[str, str]] = {}
    if deck is not None:
        for inst in deck.neurons():
            friendly[f"v({inst.nodes[0]})"] = (f"{_label(inst)}.mem", "V")
        for label, wvec, rvec in memristor_vectors(deck, wf):
            if wvec:
                friendly[wvec] = (f"{label}.w", "1")
            if rvec:
                friendly[rvec] = (f"{label}.r", "ohm")
    taken = {wf.scale_name, *(n for n in wf.names if n not in friendly)}
    out = []
    for n in wf.names:
        if real_only and np.iscomplexobj(wf.vectors[n]):
            continue
        name, unit = friendly.get(n, (n, wf.units.get(n, "")))
        if name != n and name in taken:
            name = n
        taken.add(name)
        out.append(Column(name, n, unit))
    return out


def name_vectors(deck: PreparedDeck | None, wf: Waveforms) -> list[Column]:
    """Give ``wf`` the names and true units of :func:`waveform_columns` (``wf["slave.mem"]``
    then works, ``wf.units`` says ohm for a read resistance); return the columns."""
    columns = waveform_columns(deck, wf, real_only=False)
    wf.label(columns)
    return [c for c in columns if not np.iscomplexobj(wf.vectors[c.vector])]


def waveform_frame(deck: PreparedDeck | None, wf: Waveforms) -> pd.DataFrame:
    """The vectors as a pandas DataFrame indexed by the scale, one column per vector under the
    name of :func:`waveform_columns`; ``df.attrs["units"]`` maps each column to its unit and
    ``df.attrs["ngspice"]`` to ngspice's vector name."""
    import pandas as pd

    columns = waveform_columns(deck, wf, real_only=False)
    df = pd.DataFrame({c.name: np.asarray(wf.vectors[c.vector]) for c in columns},
                      index=pd.Index(np.real(wf.scale), name=wf.scale_name))
    df.attrs["units"] = {c.name: c.unit for c in columns}
    df.attrs["ngspice"] = {c.name: c.vector for c in columns}
    return df


def _format_rows(table: np.ndarray) -> str:
    line = ",".join(["%.9g"] * table.shape[1]) + "\n"
    # one %-format per block of rows: about twice as fast as np.savetxt's row loop
    return "".join((line * len(block)) % tuple(block.ravel().tolist())
                   for block in (table[k:k + 20_000] for k in range(0, len(table), 20_000)))


def write_waveforms_csv(wf: Waveforms, path: Path, deck: PreparedDeck | None = None,
                        rows: np.ndarray | None = None, split: bool = False) -> Path:
    """Write the scale and every real vector as columns (header: ``name [unit]``, the names of
    :func:`waveform_columns`: ``time [s],master.mem [V],m1.r [ohm]``); only
    ``rows`` (indices) when given. ``split``: a forked child formats the second half of a
    large table meanwhile (number formatting is the cost of a CSV)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = waveform_columns(deck, wf)
    cols = [np.real(wf.scale)] + [np.asarray(wf.vectors[v]) for _, v, _ in columns]
    if rows is not None:
        cols = [c[rows] for c in cols]
    header = [f"{wf.scale_name} [{'s' if wf.analysis == 'tran' else ''}]"] + [
        f"{name} [{unit}]" for name, _, unit in columns
    ]
    table = np.column_stack(cols).astype(float)
    half = len(table) // 2 if split and table.size >= PARALLEL_TABLE_VALUES else len(table)
    rest = ForkJob(lambda: _format_rows(table[half:]), what="the waveform table",
                   parallel=half < len(table))
    with atomic_write(path, "w", newline="") as fh:
        fh.write(",".join(header) + "\n")
        fh.write(_format_rows(table[:half]))
        fh.write(rest.wait())
    return path


def write_waveforms_parquet(wf: Waveforms, path: Path, deck: PreparedDeck | None = None,
                            rows: np.ndarray | None = None) -> Path:
    """Write the vectors as Parquet (pyarrow): columns by recognisable name, each field's
    metadata holding its ``unit`` and ngspice ``vector`` name; only ``rows`` when given."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from neurospice.files import atomic_write_with

    columns = waveform_columns(deck, wf)
    scale_unit = "s" if wf.analysis == "tran" else ""
    fields = [pa.field(wf.scale_name, pa.float64(),
                       metadata={"unit": scale_unit, "vector": wf.scale_name})]
    take = slice(None) if rows is None else rows
    arrays = [pa.array(np.real(wf.scale).astype(np.float64)[take])]
    for name, vec, unit in columns:
        fields.append(pa.field(name, pa.float64(), metadata={"unit": unit, "vector": vec}))
        arrays.append(pa.array(np.asarray(wf.vectors[vec], dtype=np.float64)[take]))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    return atomic_write_with(path, lambda tmp: pq.write_table(table, tmp))


def waveform_rows(wf: Waveforms, deck: PreparedDeck | None = None,
                  tol: float = DEFAULT_TOL) -> np.ndarray | None:
    """The rows of a transient the table keeps (:func:`~neurospice.report.resolution.reduce_rows`
    over the table's columns), or None for every row (``tol <= 0``, or not a transient)."""
    if tol <= 0 or wf.analysis != "tran":
        return None
    cols = [np.asarray(wf.vectors[v]) for _, v, _ in waveform_columns(deck, wf)]
    return reduce_rows(np.real(wf.scale), cols, tol)


def write_waveforms(wf: Waveforms, outdir: Path, deck: PreparedDeck | None = None, *,
                    fmt: str = "auto", tol: float = 0.0, rows: np.ndarray | None = None,
                    split: bool = False) -> Path:
    """``waveforms.csv``, or ``waveforms.parquet`` for a large table (``fmt="auto"``: more than
    :data:`PARQUET_THRESHOLD` values) or when asked (``fmt="parquet"``). A transient keeps the
    rows that give every vector back within ``tol`` of its range (``tol=0``: every row), or
    ``rows`` when given; ``split`` as for :func:`write_waveforms_csv`."""
    if rows is None:
        rows = waveform_rows(wf, deck, tol)
    n = len(wf.scale) if rows is None else len(rows)
    size = n * (len(wf.vectors) + 1)
    if fmt == "parquet" or (fmt == "auto" and size > PARQUET_THRESHOLD):
        return write_waveforms_parquet(wf, outdir / "waveforms.parquet", deck, rows)
    return write_waveforms_csv(wf, outdir / "waveforms.csv", deck, rows, split=split)


#: Tables of fewer values than this are written in the calling process (a fork costs more).
PARALLEL_TABLE_VALUES = 200_000


def start_table(wf: Waveforms, outdir: Path, deck: PreparedDeck | None, *, fmt: str = "auto",
                tol: float = 0.0, parallel: bool = True
                ) -> ForkJob[tuple[Path, dict[str, float]]]:
    """Write the waveform table (see :func:`write_waveforms`), in a forked child for a large
    one (:class:`~neurospice.report.jobs.ForkJob`); ``wait()`` gives the file and
    ``{"rows", "of", "tol"}``."""
    size = len(wf.scale) * (len(wf.vectors) + 1)
    return ForkJob(lambda: _write_table(wf, outdir, deck, fmt, tol), what="the waveform table",
                   parallel=parallel and size >= PARALLEL_TABLE_VALUES)


def _write_table(wf: Waveforms, outdir: Path, deck: PreparedDeck | None, fmt: str,
                 tol: float) -> tuple[Path, dict[str, float]]:
    rows = waveform_rows(wf, deck, tol)
    info = {"rows": len(wf.scale) if rows is None else int(len(rows)), "of": len(wf.scale),
            "tol": tol if rows is not None else 0.0}
    return write_waveforms(wf, outdir, deck, fmt=fmt, rows=rows, split=True), info


def run_title(deck: PreparedDeck, summary: RunSummary) -> str:
    """``coupled_fhn.cir - r2=2k amp=1.8 - seed 3``: the deck, what was changed, the seed."""
    name = deck.source.name if deck.source else deck.title or "deck"
    run = summary.run
    parts = [name]
    params = run.get("params") if isinstance(run, dict) else None
    if params:
        parts.append(" ".join(f"{k}={v}" for k, v in dict(params).items()))  # type: ignore[call-overload]
    if run.get("seed") is not None:
        parts.append(f"seed {run['seed']}")
    return " - ".join(parts)


def write_outputs(
    deck: PreparedDeck, wf: Waveforms, summary: RunSummary, outdir: Path, *, plot: bool = True,
    fmt: str = "auto", tol: float = 0.0,
    table: ForkJob[tuple[Path, dict[str, float]]] | None = None,
) -> list[Path]:
    """Write the waveforms (CSV or Parquet; ``tol`` as for :func:`write_waveforms`; or the
    result of ``table``, started earlier), ``summary.json`` and ``traces.png``."""
    outdir.mkdir(parents=True, exist_ok=True)
    if table is None:
        table = start_table(wf, outdir, deck, fmt=fmt, tol=tol, parallel=False)
    path, info = table.wait()
    summary.run["waveform_table"] = info
    written = [path]
    written.append(write_summary_json(outdir, summary.to_json()))
    if plot:
        written.append(plot_run_traces(deck, wf, outdir, run_title(deck, summary)))
    return written


def plot_run_traces(deck: PreparedDeck, wf: Waveforms, outdir: Path, title: str) -> Path:
    """``traces.png``: every neuron's membrane voltage and every memristor's state (or the
    first six vectors of a deck without either)."""
    from neurospice.report.plots import plot_traces

    traces: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    names = {c.vector: c.name for c in waveform_columns(deck, wf)}
    for _, vec in neuron_vectors(deck, wf):
        traces[names[vec]] = wf[vec]
        units[names[vec]] = "V"
    for _, wvec, _ in memristor_vectors(deck, wf):
        if wvec:
            traces[names[wvec]] = wf[wvec]
            units[names[wvec]] = "dimensionless"
    if not traces:
        traces = {names[n]: wf[n] for n in wf.names[:6] if n in names}
        units = {names[n]: wf.units.get(n, "") or "-" for n in wf.names[:6] if n in names}
    from neurospice.report.memristor import STATE_MIN_SPAN

    spans = {name: STATE_MIN_SPAN for name, unit in units.items() if unit == "dimensionless"}
    return plot_traces(wf.time, traces, outdir / "traces.png", units=units, title=title,
                       min_spans=spans)


def write_summary_json(outdir: Path, doc: dict[str, object]) -> Path:
    """Write ``doc`` as ``outdir/summary.json`` (atomically; non-finite numbers as null)."""
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "summary.json"
    atomic_write_text(path, json.dumps(json_clean(doc), indent=2) + "\n")
    return path


# ----------------------------------------------------------------- batch folders' summary.json

#: The table each batch kind writes into its folder.
BATCH_TABLES = {"sweep": "sweep.csv", "runs": "runs.csv", "tolerance": "runs.csv",
                "corners": "corners.csv"}

#: The command-line option of each setting a batch's command repeats (value options).
_BATCH_FLAGS = (("tstop", "--tstop"), ("seed", "--seed"), ("seeds", "--seeds"),
                ("runs", "--runs"), ("t_skip", "--t-skip"), ("engine", "--engine"),
                ("tol_dist", "--tol-dist"), ("verify", "--verify"), ("timeout", "--timeout"),
                ("workers", "--workers"), ("scheduler", "--scheduler"))


def options_command(path: Path, options: RunOptions,
                    params: Mapping[str, str] | None = None) -> list[str]:
    """The ``simulate`` command line that repeats a run of ``path`` with ``options`` (for a
    run started from Python, which has no command line of its own)."""
    from neurospice.sim.options import RunOptions

    default = RunOptions()
    command = ["simulate", str(path)]
    for k, v in (params or {}).items():
        command += ["--param", f"{k}={v}"]
    for name, flag in _BATCH_FLAGS:
        value = getattr(options, name)
        if value is not None and value != getattr(default, name):
            command += [flag, repr(value) if isinstance(value, float) else str(value)]
    for spec in options.sweeps:
        command += ["--sweep", spec]
    for spec in options.tols:
        command += ["--tol", spec]
    if options.corners:
        command.append("--corners")
    if options.resume:
        command.append("--resume")
    if not options.plot:
        command.append("--no-plot")
    return command


def _read_rows(path: Path) -> list[dict[str, str]]:
    import csv

    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _number(text: str | None) -> float | None:
    try:
        x = float(text or "")
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _ranges(rows: Sequence[dict[str, str]], suffix: str) -> list[dict[str, object]]:
    """``{"column", "min_<unit>", "max_<unit>", "mean_<unit>"}`` of each numeric column whose
    name ends in ``_<unit>`` (``suffix``), over the rows that have a value."""
    unit = suffix.lstrip("_")
    out: list[dict[str, object]] = []
    for col in dict.fromkeys(k for r in rows for k in r):
        if not col.endswith(suffix):
            continue
        vals = [x for r in rows if (x := _number(r.get(col))) is not None]
        if vals:
            out.append({"column": col, f"min_{unit}": min(vals), f"max_{unit}": max(vals),
                        f"mean_{unit}": sum(vals) / len(vals), "count": len(vals)})
    return out


def batch_summary(outdir: Path, options: RunOptions, *, deck_path: Path, status: int,
                  command: Sequence[str] | None = None,
                  params: Mapping[str, str] | None = None) -> dict[str, object]:
    """``summary.json`` of a batch folder (kind ``sweep``, ``runs``, ``tolerance`` or
    ``corners``; the schema's ``batch``), read from the table the batch wrote: how many
    points ran and failed, the modes found, the range of every frequency and resistance
    column, the sweep's axes, and under ``run`` the command that repeats it."""
    from neurospice.meta import __version__

    kind = options.kind
    table = BATCH_TABLES[kind]
    rows = _read_rows(outdir / table)
    ok = [r for r in rows if r.get("status") == "ok"]
    modes: dict[str, int] = {}
    for r in ok:
        if r.get("mode"):
            modes[r["mode"]] = modes.get(r["mode"], 0) + 1
    axes = []
    for spec in options.sweeps:
        name = spec.partition("=")[0].strip().lower()
        values = sorted({x for r in rows if (x := _number(r.get(name))) is not None})
        axes.append({"name": name, "spec": spec, "values": values})
    doc: dict[str, object] = {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "deck": str(deck_path),
        "table": table,
        "status": status,
        "points": {"total": len(rows), "ok": len(ok), "failed": len(rows) - len(ok)},
        "modes": [{"mode": m, "count": n} for m, n in sorted(modes.items())],
        "axes": axes,
        "frequencies": _ranges(ok, "_hz"),
        "resistances": _ranges(ok, "_ohm"),
        "run": {
            "deck": str(deck_path),
            "params": dict(params or {}),
            "seed": options.seed,
            "tstop_s": options.tstop,
            "t_skip_s": options.t_skip,
            "engine": options.engine,
            "runs": options.runs,
            "seeds": options.seeds,
            "sweeps": list(options.sweeps),
            "tols": list(options.tols),
            "tol_dist": options.tol_dist,
            "neurospice": __version__,
            "command": shlex.join(command if command is not None
                                  else options_command(deck_path, options, params)),
        },
    }
    if kind == "sweep" and options.verify:  # --verify K: the points rerun in ngspice
        checks = _read_rows(outdir / "verify.csv")
        doc["verified"] = {"table": "verify.csv", "points": len(checks),
                           "agree": sum(1 for c in checks
                                        if c.get("agree", "").lower() in ("1", "true"))}
    return doc


def write_batch_summary(outdir: Path, options: RunOptions, *, deck_path: Path, status: int,
                        command: Sequence[str] | None = None,
                        params: Mapping[str, str] | None = None) -> int:
    """Write the batch folder's ``summary.json`` (:func:`batch_summary`); return ``status``
    (the batch's exit status), so that the call can wrap the batch's."""
    write_summary_json(outdir, batch_summary(outdir, options, deck_path=deck_path,
                                             status=status, command=command, params=params))
    return status


# ------------------------------------------------------ the stdp and crossbar commands' summaries

def settings_command(words: Sequence[str], settings: Mapping[str, object]) -> list[str]:
    """A command line from a command's ``words`` (``["neurospice", "stdp"]``) and its settings
    (option name -> value, as argparse keeps them: ``period_ratio`` is ``--period-ratio``;
    True a flag, a list the option repeated, None and False left out)."""
    command = list(words)
    for name, value in settings.items():
        flag = "--" + name.replace("_", "-")
        for v in value if isinstance(value, list | tuple) else [value]:
            if v is None or v is False:
                continue
            if v is True:
                command.append(flag)
                continue
            text = repr(v) if isinstance(v, float) else str(v)
            command += [f"{flag}={text}"] if text.startswith("-") else [flag, text]
    return command


def _command_text(command: Sequence[str] | None, words: Sequence[str],
                  settings: Mapping[str, object]) -> str:
    return shlex.join(command if command is not None else settings_command(words, settings))


def stdp_summary(points: Sequence[Any], *, settings: Mapping[str, object], accounting: str,
                 command: Sequence[str] | None = None) -> dict[str, object]:
    """``summary.json`` of ``neurospice stdp`` (the schema's ``stdp``): every point of
    ``stdp.csv`` as a record, the extremes of dG/G, and under ``run`` the settings and the
    command that repeats it. ``points``: :class:`~neurospice.batch.stdp.StdpPoint`\\ s."""
    from neurospice.meta import __version__

    records = [{"protocol": p.protocol, "dt_over_th": p.dt_over_th, "interval_s": p.interval_s,
                "cycles": p.cycles, "g0_s": p.g0_s, "g_final_s": p.g_final_s,
                "dg_over_g": p.dg_over_g} for p in points]
    changes = [float(p.dg_over_g) for p in points if math.isfinite(p.dg_over_g)]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "stdp",
        "table": "stdp.csv",
        "points": records,
        "dg_over_g_min": min(changes) if changes else None,
        "dg_over_g_max": max(changes) if changes else None,
        "run": {"protocol": settings.get("protocol"), "engine": settings.get("engine"),
                "accounting": accounting, "cycles": settings.get("cycles"),
                "neurospice": __version__,
                "command": _command_text(command, ["neurospice", "stdp"], settings)},
    }


def crossbar_summary(result: Mapping[str, Any], *, settings: Mapping[str, object],
                     command: Sequence[str] | None = None) -> dict[str, object]:
    """``summary.json`` of ``neurospice crossbar`` (the schema's ``crossbar``): the pattern
    the crossbar learned (its spatial period, the postsynaptic period, the range of the final
    conductances), Proposition 1's admissible periods when solved, and under ``run`` the
    settings and the command that repeats it. ``result``: the ``crossbar.json`` document."""
    from neurospice.meta import __version__

    g = [float(x) for x in result.get("g_s", [])]
    config = dict(result.get("config", {}))
    doc: dict[str, object] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "crossbar",
        "result": "crossbar.json",
        "n": config.get("n"),
        "presentations": config.get("presentations"),
        "spatial_period": result.get("spatial_period"),
        "post_period_s": result.get("post_period_s"),
        "post_period_over_t": result.get("post_period_over_t"),
        "period_s": result.get("period_s"),
        "post_spikes": result.get("post_spikes"),
        "g_min_s": min(g) if g else None,
        "g_max_s": max(g) if g else None,
    }
    prop1 = result.get("prop1")
    if isinstance(prop1, Mapping):
        cmp = prop1.get("comparison")
        doc["prop1"] = {
            "periods": sorted({int(s["period"]) for s in prop1.get("solutions", [])}),
            "max_rel_diff": cmp.get("max_rel_diff") if isinstance(cmp, Mapping) else None,
        }
    doc["run"] = {"engine": result.get("engine"), "accounting": config.get("accounting"),
                  "neurospice": __version__,
                  "command": _command_text(command, ["neurospice", "crossbar"], settings)}
    return doc


_NGSPICE_RE = re.compile(r"ngspice-(\d+[\w.+-]*)")


def run_record(path: Path, deck: PreparedDeck, wf: Waveforms, options: RunOptions, *,
               params: dict[str, str], command: Sequence[str] | None = None
               ) -> dict[str, object]:
    """What ``summary.json`` needs to repeat the run: inputs, settings and versions.

    ``command``: the command line as typed (every option kept); without it (a run from
    Python) the command that repeats the run is built from the settings."""
    from neurospice.meta import __version__

    ngspice = next((m.group(1) for line in wf.stdout for m in [_NGSPICE_RE.search(line)] if m),
                   None)
    tran = deck.tran()
    return {
        "deck": str(path),
        "params": dict(params),
        "seed": options.seed,
        "tstop": tran[1] if tran else None,
        "t_skip": options.t_skip,
        "engine": options.engine,
        "neurospice": __version__,
        "ngspice": ngspice,
        "control": deck.control_mode,
        "command": shlex.join(command if command is not None
                              else _command(path, deck, options, params)),
    }


def _command(path: Path, deck: PreparedDeck, o: RunOptions, params: dict[str, str]
             ) -> list[str]:
    """The ``simulate`` command that repeats a run made from Python."""
    command = ["simulate", str(path)]
    for k, v in params.items():
        command += ["--param", f"{k}={v}"]
    for flag, value, given in (("--seed", o.seed, o.seed is not None),
                               ("--tstop", o.tstop, o.tstop is not None),
                               ("--t-skip", o.t_skip, bool(o.t_skip)),
                               ("--engine", o.engine, o.engine != DEFAULT_ENGINE)):
        if given:
            command += [flag, value if isinstance(value, str) else repr(value)]
    if deck.control_mode != "refuse":
        command.append(f"--{deck.control_mode}-control")
    return command
