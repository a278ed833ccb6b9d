"""Spike-timing protocols for the second-order memristor: pairs, triplets, quadruplets.

A spike on the device (seed 001, Fig. 5) is a programming pulse (amplitude ``vp``, ``ts`` ~ 20 ns)
followed at once (``tsh = ts``) by a heating pulse of opposite polarity (``vh = 0.8 V``,
``th`` ~ 1 us).  With the device's pin p on the presynaptic side and pin n on the postsynaptic
side, a presynaptic spike is ``+vp`` then ``-vh`` across the device and a postsynaptic spike is
``-vp`` then ``+vh`` (``v > 0`` depresses, ``v < 0`` potentiates; ``docs/second_order.md``).

``dt`` is the paper's ``(gamma - 1) th``: the time from the end of one spike's heating pulse to
the start of the next spike's programming pulse.  Protocols (``dt > 0``; a pair with ``dt < 0`` is
post/pre with ``|dt|``):

==================== ========================================================================
``pair``             pre, dt, post (dt > 0)  or  post, |dt|, pre (dt < 0)
``post-pre-post``    post, dt, pre, dt, post
``pre-post-pre``     pre, dt, post, dt, pre
``post-pre-pre-post`` post, dt, pre, tq, pre, dt, post  (two pairs ``tq`` apart)
``pre-post-post-pre`` pre, dt, post, tq, post, dt, pre
==================== ========================================================================

The block is repeated ``cycles`` times with a rest ``interval`` (s) from the end of one block to the
start of the next.  Engines: ``model`` (the simplified (G, T) model), ``full`` (the full model in
SciPy) and ``spice`` (a PWL deck through ngspice, :func:`neurospice.sim.ngspice.run_text`).

Command: :func:`add_stdp_arguments` / :func:`stdp_command` (``neurospice stdp``) write
``stdp.csv`` (``protocol, dt_over_th, interval_s, cycles, g0_s, g_final_s, dg_over_g``) and
``stdp.png``.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurospice.errors import NeurospiceInputError
from neurospice.files import atomic_write
from neurospice.reference.second_order import (
    SecondOrderParams,
    Segment,
    pulse_variation,
    simulate_full,
    simulate_simplified,
)

__all__ = [
    "PROTOCOLS",
    "ENGINES",
    "SynapseEngine",
    "StdpGrid",
    "get_synapse_engine",
    "SpikeShape",
    "StdpPoint",
    "spike_segments",
    "protocol_segments",
    "pwl_deck",
    "run_protocol",
    "protocol_spikes",
    "run_protocol_paper",
    "resolve_accounting",
    "stdp_sweep",
    "write_csv",
    "plot_stdp",
    "parse_range",
]

log = logging.getLogger("neurospice.stdp")

#: Protocol name -> the spike sequence ("pre"/"post") and the gap kinds between them.
PROTOCOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pair": (("pre", "post"), ("dt",)),
    "post-pre-post": (("post", "pre", "post"), ("dt", "dt")),
    "pre-post-pre": (("pre", "post", "pre"), ("dt", "dt")),
    "post-pre-pre-post": (("post", "pre", "pre", "post"), ("dt", "tq", "dt")),
    "pre-post-post-pre": (("pre", "post", "post", "pre"), ("dt", "tq", "dt")),
}

#: ``paper``: one programming pulse per pair, G frozen over it (eq. 17 into eq. 12);
#: ``full``: every pulse integrated, G following the heating (the engines).
ACCOUNTINGS = ("paper", "full")


@dataclass(frozen=True)
class SpikeShape:
    """Shape of one spike: programming ``vp`` (V) for ``ts`` (s), heating ``vh`` (V) for ``th``.

    ``vpost`` (V) is the postsynaptic programming amplitude (the paper's ``Vpost``; ``vp`` is
    ``Vpre``); ``tq`` (s) is the time between the two pairs of a quadruplet.  ``ts``, ``vh``
    and ``th`` are the captions of the seed's Figs. 6-12 (VH = 0.8 V, tH/tau_b = 5.4,
    ts/tau_b = 0.108 with tau_b = 0.185 us); the amplitudes are not given there ("different
    programming voltages"): 2.6/2.6 V is our choice (docs/second_order.md section 3: a pair at
    1 mS moves G by a few per cent under the paper's rate constant).

    ``rser`` (ohm) is a resistance in series with the device that the paper does not have
    (default 0): under the paper's accounting it divides eq. 17's heating by ``(1 + G rser)^2``;
    1 kOhm with 5 V pulses makes ``|dG/G|`` of a pair fall with ``G0`` (docs/second_order.md
    section 3).  The full accounting does not take it.
    """

    vp: float = 2.6
    vpost: float = 2.6
    ts: float = 20e-9
    vh: float = 0.8
    th: float = 1.0e-6
    tq: float = 1.0e-6
    rser: float = 0.0


def spike_segments(kind: str, shape: SpikeShape) -> list[Segment]:
    """The two segments of a ``"pre"`` or ``"post"`` spike across the device (V, s)."""
    if kind == "pre":
        return [Segment(shape.vp, shape.ts), Segment(-shape.vh, shape.th)]
    return [Segment(-shape.vpost, shape.ts), Segment(shape.vh, shape.th)]


def _order(protocol: str, dt: float) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The protocol's spike kinds in order and the gaps between them (``"dt"`` or ``"tq"``);
    a pair with a negative ``dt`` is post/pre."""
    if protocol not in PROTOCOLS:
        raise NeurospiceInputError(
            f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}"
        )
    spikes, gaps = PROTOCOLS[protocol]
    if protocol == "pair" and dt < 0:
        spikes = ("post", "pre")
    return tuple(spikes), tuple(gaps)


def protocol_segments(
    protocol: str,
    dt: float,
    shape: SpikeShape,
    *,
    cycles: int = 1,
    interval: float = 10e-6,
) -> list[Segment]:
    """The whole protocol as constant-voltage segments.

    Parameters
    ----------
    protocol
        A key of :data:`PROTOCOLS`.
    dt
        Spike interval (s): end of a heating pulse to the next programming pulse. For ``pair`` a
        negative ``dt`` gives post/pre; the other protocols use ``|dt|``.
    shape
        Spike shape.
    cycles
        Repetitions of the block.
    interval
        Rest between blocks (s), end of one block to the start of the next; also the rest after
        the last block.
    """
    spikes, gaps = _order(protocol, dt)
    block: list[Segment] = []
    for k, kind in enumerate(spikes):
        block += spike_segments(kind, shape)
        if k < len(gaps):
            gap = abs(dt) if gaps[k] == "dt" else shape.tq
            if gap > 0:
                block.append(Segment(0.0, gap))
    out: list[Segment] = []
    for _ in range(cycles):
        out += block
        out.append(Segment(0.0, interval))
    return out


def pwl_deck(segments: Sequence[Segment], g0: float, params: SecondOrderParams,
             *, edge: float = 1e-9, lead: float = 10e-9, max_step: float = 2e-9) -> str:
    """An ngspice deck driving ``second_order`` with the protocol (PWL source, ``edge`` s ramps).

    Saves ``v(p)``, the device current ``i(vd)`` (negative for current p -> n), ``v(xd.w)``,
    ``v(xd.ghat)``, ``v(xd.gap)``, ``v(xd.tk)``, ``v(xd.tb)``.
    """
    durations = [seg.duration for seg in segments if seg.duration > 0]
    if durations:
        edge = min(edge, 0.25 * min(durations))  # keep the PWL times increasing
    pts: list[tuple[float, float]] = [(0.0, 0.0), (lead, 0.0)]
    t = lead
    for seg in segments:
        if seg.duration <= 0:
            continue
        pts.append((t + edge, seg.v))
        t += seg.duration
        pts.append((t, seg.v))
    body = " ".join(f"{a:.6e} {b:.6g}" for a, b in pts)
    lines = [
        "* neurospice stdp: second-order memristor under a spike protocol (generated)",
        ".include lib/memristors.lib",
        ".options method=gear",
        f"Vd p 0 pwl({body})",
        f"Xd p 0 second_order w0={params.w_of_g(g0):.9g}",
        f".tran 1n {t:.6e} 0 {max_step:.3e}",
        ".save v(p) i(vd) v(xd.w) v(xd.ghat) v(xd.gap) v(xd.tk) v(xd.tb)",
        ".end",
    ]
    return "\n".join(lines) + "\n"


def _final_model(segments: Sequence[Segment], g0: float, p: SecondOrderParams) -> float:
    return simulate_simplified(segments, g0, p).g_final


def _final_full(segments: Sequence[Segment], g0: float, p: SecondOrderParams) -> float:
    return simulate_full(segments, g0, p).g_final


def _final_spice(segments: Sequence[Segment], g0: float, p: SecondOrderParams) -> float:
    from neurospice.sim.ngspice import run_text

    lib_dir = Path(__file__).resolve().parents[1] / "netlists"
    wf = run_text(pwl_deck(segments, g0, p), base_dir=lib_dir)
    return float(wf["v(xd.ghat)"][-1])


@dataclass(frozen=True)
class SynapseEngine:
    """An engine of one synapse's protocol: ``final_g(segments, g0, params)`` is ``G(r)`` (S)
    after the protocol.

    ``paper_accounting``: it can compute the paper's accounting (one programming pulse per
    pair, eqs. 12 and 17), the default then; an engine that integrates every pulse takes the
    full accounting only. ``slow``: a sweep shows a progress bar."""

    name: str
    final_g: Callable[[Sequence[Segment], float, SecondOrderParams], float]
    paper_accounting: bool
    slow: bool
    description: str


#: The synapse engines by name (``--engine`` of ``neurospice stdp``).
SYNAPSE_ENGINES: dict[str, SynapseEngine] = {e.name: e for e in (
    SynapseEngine("model", _final_model, True, False, "the simplified (G, T) model"),
    SynapseEngine("full", _final_full, False, True, "the full model in SciPy"),
    SynapseEngine("spice", _final_spice, False, True, "a PWL deck through ngspice"),
)}
ENGINES = tuple(SYNAPSE_ENGINES)


def get_synapse_engine(engine: str | SynapseEngine) -> SynapseEngine:
    """The synapse engine of that name (or the engine itself); NeurospiceInputError naming
    the choices for any other."""
    if isinstance(engine, SynapseEngine):
        return engine
    found = SYNAPSE_ENGINES.get(engine)
    if found is None:
        raise NeurospiceInputError(
            f"unknown engine {engine!r}; choose one of {', '.join(SYNAPSE_ENGINES)}")
    return found


def run_protocol(
    segments: Sequence[Segment],
    g0: float,
    *,
    engine: str | SynapseEngine = "model",
    params: SecondOrderParams | None = None,
) -> float:
    """Final conductance ``G(r)`` (S) after the protocol, with the chosen engine."""
    return get_synapse_engine(engine).final_g(segments, g0,
                                              params or SecondOrderParams.from_library())


def protocol_spikes(
    protocol: str,
    dt: float,
    shape: SpikeShape,
    *,
    cycles: int = 1,
    interval: float = 10e-6,
) -> list[tuple[str, float]]:
    """The protocol's spikes as ``(kind, start time)`` (s), as :func:`protocol_segments` lays
    them out."""
    spikes, gaps = _order(protocol, dt)
    out: list[tuple[str, float]] = []
    t = 0.0
    for _ in range(cycles):
        for k, kind in enumerate(spikes):
            out.append((kind, t))
            t += shape.ts + shape.th
            if k < len(gaps):
                t += abs(dt) if gaps[k] == "dt" else shape.tq
        t += interval
    return out


def run_protocol_paper(
    protocol: str,
    dt: float,
    g0: float,
    shape: SpikeShape,
    *,
    cycles: int = 1,
    interval: float = 10e-6,
    params: SecondOrderParams | None = None,
) -> float:
    """Final ``G`` (S) under the paper's accounting (seed 001, Sec. IV and eqs. 20-21).

    A spike's programming pulse changes ``G`` only when the spike before it on the device was of
    the other kind: a postsynaptic spike after a presynaptic one potentiates (pulse ``vpost``), a
    presynaptic one after a postsynaptic one depresses (``vp``); ``G`` is frozen over the pulse,
    whose temperature is eq. 17 with ``gamma tH`` the time from the start of the earlier spike's
    heating pulse (``tsh = ts`` after its programming pulse) to the pulse, so a pair's change is
    its second spike's pulse alone (eq. 17 into eq. 12; ``dt = (gamma - 1) tH``).  Two spikes of
    the same kind in a row (the second ``pre`` of ``post-pre-pre-post``, the first spike of a
    block after a block ending in the same kind) leave ``G`` alone, as the network map does.
    ``G`` is held in ``[Gmin, Gmax]`` (eq. 20).  ``shape.rser`` (not in the paper) is a series
    resistance in eq. 17 (:func:`neurospice.reference.second_order.programming_temperature`).
    """
    p = params or SecondOrderParams.from_library()
    g = g0
    prev: tuple[str, float] | None = None
    for kind, t in protocol_spikes(protocol, dt, shape, cycles=cycles, interval=interval):
        if prev is not None and prev[0] != kind:
            gamma = (t - prev[1] - shape.ts) / shape.th
            if kind == "post":
                g = min(p.gmax, g + pulse_variation(g, gamma, sign=+1, vp=shape.vpost,
                                                    vh=shape.vh, ts=shape.ts, th=shape.th,
                                                    params=p, rser=shape.rser))
            else:
                g = max(p.gmin, g + pulse_variation(g, gamma, sign=-1, vp=shape.vp,
                                                    vh=shape.vh, ts=shape.ts, th=shape.th,
                                                    params=p, rser=shape.rser))
        prev = (kind, t)
    return g


@dataclass(frozen=True)
class StdpPoint:
    """One row of ``stdp.csv`` (conductances in S, interval in s)."""

    protocol: str
    dt_over_th: float
    interval_s: float
    cycles: int
    g0_s: float
    g_final_s: float

    @property
    def dg_over_g(self) -> float:
        """Relative change ``(G_final - G0)/G0`` (-)."""
        return (self.g_final_s - self.g0_s) / self.g0_s


def resolve_accounting(accounting: str | None, engine: str | SynapseEngine) -> str:
    """The accounting to use: ``paper`` by default with an engine that computes it (``model``),
    else ``full``.

    Raises :class:`NeurospiceInputError` for an unknown name, or ``paper`` with an engine that
    integrates every pulse.
    """
    eng = get_synapse_engine(engine)
    if accounting is None:
        return "paper" if eng.paper_accounting else "full"
    if accounting not in ACCOUNTINGS:
        raise NeurospiceInputError(
            f"unknown accounting {accounting!r}; choose one of {', '.join(ACCOUNTINGS)}")
    if accounting == "paper" and not eng.paper_accounting:
        raise NeurospiceInputError(
            f"--accounting paper (one programming pulse per pair, G frozen over it) is computed "
            f"from eqs. 12 and 17 alone; the {eng.name!r} engine integrates every pulse of the "
            f"protocol. Use --accounting full with --engine {eng.name}, or --engine model.")
    return accounting


@dataclass(frozen=True)
class StdpGrid:
    """The points of an STDP sweep: every ``dt/tH`` x ``G0`` (S) x rest ``interval`` (s), the
    protocol's block repeated ``cycles`` times at each."""

    dts_over_th: Sequence[float]
    g0s: Sequence[float] = (1e-3,)
    intervals: Sequence[float] = (10e-6,)
    cycles: int = 1

    def __post_init__(self) -> None:
        if self.cycles < 1:
            raise NeurospiceInputError("--cycles must be >= 1")

    def __len__(self) -> int:
        return len(self.g0s) * len(self.intervals) * len(self.dts_over_th)


def stdp_sweep(
    protocol: str,
    grid: StdpGrid | Sequence[float],
    *,
    shape: SpikeShape | None = None,
    engine: str | SynapseEngine = "model",
    params: SecondOrderParams | None = None,
    progress: bool | None = None,
    accounting: str | None = None,
) -> list[StdpPoint]:
    """Run ``protocol`` at every point of ``grid`` (a :class:`StdpGrid`, or its ``dt/tH``
    values alone: G0 1 mS, one block).

    ``accounting``: ``"paper"`` (:func:`run_protocol_paper`; the default with the ``model``
    engine) or ``"full"`` (every pulse integrated by ``engine``; the only one the ``full`` and
    ``spice`` engines have).  ``progress`` shows a progress bar (tqdm, on stderr; by default
    with the slow engines).
    """
    g = grid if isinstance(grid, StdpGrid) else StdpGrid(tuple(grid))
    eng = get_synapse_engine(engine)
    acc = resolve_accounting(accounting, eng)
    sh = shape or SpikeShape()
    if not (sh.rser >= 0 and np.isfinite(sh.rser)):
        raise NeurospiceInputError(f"--rseries {sh.rser:g} ohm must be a finite value >= 0")
    if sh.rser > 0 and acc != "paper":
        raise NeurospiceInputError(
            f"--rseries {sh.rser:g} ohm (a resistance in series with the device, divided into "
            f"eq. 17's heating) is only in the paper's accounting; the full accounting and the "
            f"full and spice engines drive the device directly. Use --accounting paper with "
            f"--engine model, or drop --rseries.")
    p = params or SecondOrderParams.from_library()
    for g0 in g.g0s:
        if not p.gmin < g0 <= p.gmax:
            raise NeurospiceInputError(
                f"--g0 {g0:g} S is outside (Gmin, Gmax] = ({p.gmin:.4g}, {p.gmax:.4g}] S")
    out: list[StdpPoint] = []
    bar = None
    if eng.slow if progress is None else progress:
        from tqdm import tqdm

        bar = tqdm(total=len(g), unit="point", desc=f"stdp {protocol} ({eng.name})")
    for g0 in g.g0s:
        for interval in g.intervals:
            for x in g.dts_over_th:
                if acc == "paper":
                    gf = run_protocol_paper(protocol, x * sh.th, g0, sh, cycles=g.cycles,
                                            interval=interval, params=p)
                else:
                    segs = protocol_segments(protocol, x * sh.th, sh, cycles=g.cycles,
                                             interval=interval)
                    gf = eng.final_g(segs, g0, p)
                out.append(StdpPoint(protocol, float(x), float(interval), g.cycles, g0, gf))
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    return out


def write_csv(points: Sequence[StdpPoint], path: Path) -> None:
    """Write ``stdp.csv`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["protocol", "dt_over_th", "interval_s", "cycles", "g0_s", "g_final_s",
                     "dg_over_g"])
        for pt in points:
            wr.writerow([pt.protocol, f"{pt.dt_over_th:.6g}", f"{pt.interval_s:.6g}", pt.cycles,
                         f"{pt.g0_s:.6g}", f"{pt.g_final_s:.6g}", f"{pt.dg_over_g:.6g}"])


def plot_stdp(points: Sequence[StdpPoint], path: Path,
              g_limits: tuple[float, float] | None = None) -> None:
    """``dG/G`` against ``dt/tH``, one curve per (protocol, G0, interval); written atomically.

    ``g_limits`` (S): the device's (Gmin, Gmax); points whose final G sits there are drawn
    open and noted: their change is the bound's, not the protocol's.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurospice.report.plots import save_figure

    fig, ax = plt.subplots(figsize=(6.5, 4.4))
    keys = sorted({(pt.protocol, pt.g0_s, pt.interval_s) for pt in points})
    saturated = 0
    for key in keys:
        sel = sorted((pt for pt in points if (pt.protocol, pt.g0_s, pt.interval_s) == key),
                     key=lambda q: q.dt_over_th)
        line, = ax.plot([q.dt_over_th for q in sel], [q.dg_over_g for q in sel], "o-", ms=3,
                        label=f"{key[0]}, G0 {key[1] * 1e3:.2f} mS, tf {key[2] * 1e6:.3g} us")
        if g_limits is not None:
            at = [q for q in sel if _at_limit(q.g_final_s, g_limits)]
            saturated += len(at)
            ax.plot([q.dt_over_th for q in at], [q.dg_over_g for q in at], "o", ms=7,
                    mfc="white", mec=line.get_color(), zorder=3)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xlabel("dt / tH  (dt: post - pre spike time; tH: a spike's heating time at VH)")
    ax.set_ylabel("dG / G")
    if saturated:
        ax.set_title(f"open markers: G ended at Gmin or Gmax ({saturated} points): the change "
                     "there is the device's bound", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _at_limit(g: float, limits: tuple[float, float]) -> bool:
    lo, hi = limits
    return g <= lo * (1 + 1e-6) or g >= hi * (1 - 1e-6)


def parse_range(text: str) -> list[float]:
    """``START:STOP:COUNT`` (inclusive, linear) or a single number -> list of floats."""
    parts = text.split(":")
    try:
        if len(parts) == 1:
            return [float(parts[0])]
        if len(parts) == 3:
            start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
            if count < 1:
                raise ValueError
            return [float(x) for x in np.linspace(start, stop, count)]
    except ValueError:
        pass
    raise NeurospiceInputError(f"bad range {text!r}: expected START:STOP:COUNT or a number")


