"""The locking verdict of a model-engine run from its online events (no waveform).

:mod:`neurospice.sim.model.online` detects every neuron's responses inside the integration.
This module says which detectors a run needs (each neuron at its own levels; each analysed
slave at its levels moved by the verdict's margin steps, after ``t_skip``), turns their events
into the :class:`~neurospice.analysis.spikes.Responses` that
:func:`~neurospice.analysis.spikes.detect_responses` and
:func:`~neurospice.analysis.modes.shifted_responses` give offline, and hands them to
:func:`~neurospice.report.locking.analyse_run`: the verdict is computed by the same code, from
the same kind of events.

:class:`LockingRows` is the picklable map reducer (``map_model(..., reduce=LockingRows(...))``):
with the model engine's online path it receives :class:`~neurospice.sim.model.online.Events`,
otherwise a waveform, and gives the same row either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurospice.analysis.spikes import Responses, Thresholds, margin_step
from neurospice.report.locking import (
    RunAnalysis,
    analyse_run,
    lock_pairs,
    with_master_margin,
)
from neurospice.report.summary import neuron_thresholds
from neurospice.sim.model.online import DetectorSpec, Events
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import PreparedDeck

__all__ = ["LockingRows", "analyse_events", "detector_plan", "locking_row"]

#: A timeline window longer than any record: the record is one window (``timeline=False``).
_ONE_WINDOW = 1e9
#: The threshold moves of the margin test, in :func:`shifted_responses`' order.
_SHIFTS = (("spike", -1.0), ("spike", 1.0), ("on", -1.0), ("on", 1.0), ("off", -1.0),
           ("off", 1.0))


class _Names:
    """Stands in for a waveform where only the vectors' presence is asked."""

    def __init__(self, names: Sequence[str], t0: float = 0.0, t1: float = 0.0) -> None:
        self.names = set(names)
        self.time = np.array([t0, t1])

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Any:
        raise KeyError(f"{name}: no waveform in an online run")


@dataclass(frozen=True)
class Plan:
    """What a run's online analysis needs: each neuron vector's levels and index, the slaves
    whose shifted responses are detected, and the detectors (in order)."""

    thresholds: dict[str, Thresholds]
    index: dict[str, int]
    slaves: tuple[str, ...]
    specs: tuple[DetectorSpec, ...]


def detector_plan(deck: PreparedDeck, vectors: Sequence[str], *, t_skip: float = 0.0,
                  spike_threshold: dict[str, float] | None = None) -> Plan | None:
    """The detectors of a run of ``deck`` whose neuron membrane vectors are ``vectors`` (in the
    compiled program's neuron order; a vector the run would not save is ``""``); None when a
    neuron's levels need its trace (no characterised I-V: the waveform path is used)."""
    avail = [v for v in vectors if v]
    try:
        ths = neuron_thresholds(deck, _Names(avail), spike_threshold)  # type: ignore[arg-type]
    except KeyError:
        return None
    index = {v: k for k, v in enumerate(vectors) if v}
    if any(v not in ths for v in avail):
        return None
    slaves: list[str] = []
    for _a, b in lock_pairs(deck):
        vec = f"v({b.nodes[0]})"
        if vec in ths and vec not in slaves:
            slaves.append(vec)
    specs = [DetectorSpec(index[v], ths[v].on_v, ths[v].off_v, 0.0) for v in avail]
    for vec in slaves:
        th = ths[vec]
        for which, sign in _SHIFTS:
            level = {"spike": th.spike_v, "on": th.on_v, "off": th.off_v}[which]
            th2 = th.shifted(which, sign * margin_step(level))
            specs.append(DetectorSpec(index[vec], th2.on_v, th2.off_v, max(t_skip, 0.0)))
    return Plan(ths, index, tuple(slaves), tuple(specs))


def _responses(ev: Events, d: int, th: Thresholds) -> Responses:
    """Detector ``d``'s events as :func:`detect_responses` returns them."""
    t, p, r = ev.times[d], ev.peaks[d], ev.troughs[d]
    if t.size > 1:
        ok = np.concatenate(([True], np.diff(t) > 0))
        t, p, r = t[ok], p[ok], r[ok]
    return Responses(t, p, r, p >= th.spike_v, th, ev.t_start[d], ev.t_stop[d])


def analyse_events(deck: PreparedDeck, ev: Events, plan: Plan, *,
                   t_skip: float = 0.0, window: float | None = None,
                   fast: bool = True) -> RunAnalysis:
    """:func:`~neurospice.report.locking.analyse_run` of a run known by its events; ``fast``:
    each pair's timeline by :mod:`neurospice.report.fast_timeline` (the same steps with the
    phase-locking test and the shape distance compiled)."""
    if ev.overflow:
        raise ValueError("the online detectors overflowed: rerun the point with waveforms")
    ths = plan.thresholds
    resp: dict[str, Responses] = {}
    order = list(plan.index)
    for d, vec in enumerate(v for v in order if v in ths):
        resp[vec] = _responses(ev, d, ths[vec])
    shifted: dict[str, list[tuple[str, float, Responses]]] = {}
    d = len(resp)
    t0 = ev.t_start[0] if ev.t_start else 0.0
    for vec in plan.slaves:
        th = ths[vec]
        base = resp[vec].after(t0 + t_skip) if t_skip > 0 else resp[vec]
        out = []
        for which, sign in _SHIFTS:
            level = {"spike": th.spike_v, "on": th.on_v, "off": th.off_v}[which]
            step = sign * margin_step(level)
            th2 = th.shifted(which, step)
            if which == "spike" and th2.on_v == th.on_v and th2.off_v == th.off_v:
                r2 = base.with_thresholds(th2)
            else:
                r2 = _responses(ev, d, th2)
            out.append((f"{which}_v", step, r2))
            d += 1
        shifted[vec] = out
    t1 = ev.t_stop[0] if ev.t_stop else 0.0
    if fast:
        return _analyse_fast(deck, resp, ths, shifted, t0, t_skip, window)
    stub = _Names(list(resp), t0, t1)
    return analyse_run(deck, stub, t_skip=t_skip, window=window,  # type: ignore[arg-type]
                       thresholds=ths, responses=resp, shifted=shifted)


def _analyse_fast(deck: PreparedDeck, resp: dict[str, Responses], ths: dict[str, Thresholds],
                  shifted: dict[str, list[tuple[str, float, Responses]]], t0: float,
                  t_skip: float, window: float | None) -> RunAnalysis:
    """:func:`analyse_run`'s steps for a run whose responses are known, with the verdict and
    the timeline by :mod:`neurospice.report.fast_timeline` (``window`` >= ``_ONE_WINDOW``: no
    timeline)."""
    from neurospice.analysis.locking import classify_locking
    from neurospice.report.fast_timeline import judge, locking_timeline
    from neurospice.report.locking import PairAnalysis

    out = RunAnalysis()
    after: dict[str, Responses] = {}
    vec_of: dict[str, str] = {}
    for inst in deck.neurons():
        vec = f"v({inst.nodes[0]})"
        if vec not in resp:
            continue
        vec_of[inst.name] = vec
        out.thresholds[inst.name] = ths[vec]
        r = resp[vec]
        after[inst.name] = r.after(t0 + t_skip) if t_skip > 0 else r
        out.trains[inst.name] = after[inst.name].spikes()
    for a, b in lock_pairs(deck):
        if a.name not in out.trains or b.name not in out.trains:
            continue
        ta, tb = out.trains[a.name], out.trains[b.name]
        rb = after[b.name]
        sh = shifted.get(vec_of[b.name], [])
        j = judge(ta, rb, sh)
        j = with_master_margin(j, a.name[1:], after.get(a.name))
        used = rb.train() if " partial" in j.mode or j.verdict.spikes < 2 else tb
        overall = j.verdict.lock or classify_locking(ta, used)
        timeline = None
        if (window is None or window < _ONE_WINDOW) and len(ta) >= 4 and len(used) >= 2:
            timeline = locking_timeline(ta, rb.train(), responses=rb, shifted=sh, window=window)
        out.pairs.append(PairAnalysis(a.name[1:], b.name[1:], ta.frequency_hz,
                                      rb.train().frequency_hz, overall, timeline,
                                      slave_spikes=len(tb), judgement=j,
                                      slave_responses=len(rb)))
    return out


def locking_row(deck: PreparedDeck, point: dict[str, Any], analysis: RunAnalysis
                ) -> dict[str, Any]:
    """The default row: the point's parameters and the first pair's figures."""
    return {**point, **analysis.as_row()}


@dataclass(frozen=True, eq=False)
class LockingRows:
    """A map reducer: ``row(point_deck, point, analysis)`` of each point's locking analysis.

    Given :class:`~neurospice.sim.model.online.Events` (the model engine's online path) it
    analyses them; given a waveform it runs :func:`analyse_run` on it: the same row either way.
    ``detectors(point_deck, vectors)`` tells the engine what to detect (None: waveforms).

    ``fast`` (default) runs the verdict and the timeline by :mod:`.fast_timeline` (the same
    steps as :func:`analyse_run`, the phase-locking test and shape distance compiled: ~5x
    cheaper, equal to rounding). ``timeline=False`` gives the verdict alone (mode, margins,
    frequencies, cycle counts) without the sliding-window timeline (~85 % of the analysis of a
    20 s point): the record is then judged as one window, and ``locked_fraction`` is left empty
    in the row."""

    row: Callable[[PreparedDeck, dict[str, Any], RunAnalysis], dict[str, Any]] = locking_row
    t_skip: float = 0.0
    spike_threshold: dict[str, float] | None = None
    window: float | None = None
    online: bool = True
    timeline: bool = True
    fast: bool = True
    _plans: dict[Any, Plan | None] = field(default_factory=dict, init=False, repr=False)

    def _key(self, deck: PreparedDeck, point: dict[str, Any] | None,
             vectors: Sequence[str]) -> Any:
        # the levels depend on the deck's parameters, not on the noise draws or a build's
        # tolerances (the neurons' levels are the nominal I-V's, as offline)
        if point is None:
            return (deck.text, tuple(vectors))
        params = tuple(sorted((k, repr(v)) for k, v in point.items()
                              if k not in ("seed", "tol", "noise")))
        return (params, tuple(vectors))

    def plan(self, deck: PreparedDeck, vectors: Sequence[str],
             point: dict[str, Any] | None = None) -> Plan | None:
        """The online plan of a run of ``deck`` (``point``: its map point, whose parameters
        key the cache), None for the waveform path."""
        if not self.online:
            return None
        key = self._key(deck, point, vectors)
        if key not in self._plans:
            self._plans[key] = detector_plan(deck, vectors, t_skip=self.t_skip,
                                             spike_threshold=self.spike_threshold)
        return self._plans[key]

    def detectors(self, deck: PreparedDeck, vectors: Sequence[str],
                  point: dict[str, Any] | None = None) -> list[DetectorSpec] | None:
        """The detectors a run of ``deck`` needs, or None for the waveform path."""
        plan = self.plan(deck, vectors, point)
        return list(plan.specs) if plan is not None else None

    def analyse(self, deck: PreparedDeck, data: Waveforms | Events,
                point: dict[str, Any] | None = None) -> RunAnalysis:
        """The run's analysis from its events (``data.info["vectors"]``: the neuron vectors
        it was planned for) or its waveform."""
        if isinstance(data, Events):
            plan = self.plan(deck, data.info["vectors"], point)
            if plan is None:
                raise ValueError("no online plan for this deck")
            return analyse_events(deck, data, plan, t_skip=self.t_skip, window=self._window,
                                  fast=self.fast)
        return analyse_run(deck, data, t_skip=self.t_skip, window=self._window,
                           spike_threshold=self.spike_threshold)

    @property
    def _window(self) -> float | None:
        return self.window if self.timeline else _ONE_WINDOW

    def __call__(self, deck: PreparedDeck, point: dict[str, Any],
                 data: Waveforms | Events) -> dict[str, Any]:
        row = self.row(deck, point, self.analyse(deck, data, point))
        if not self.timeline and "locked_fraction" in row:
            row["locked_fraction"] = ""  # no timeline: the fraction would be the whole record's
        return row
