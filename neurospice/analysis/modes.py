"""What the slave does per master cycle, and the mode words that say it.

Every master cycle gets one response class from the slave's responses
(:func:`~neurospice.analysis.spikes.detect_responses`, at the slave's own thresholds):

* ``spike`` - a response whose peak reached the slave's excited branch (``spike_v``);
* ``partial`` - a response that rose through the middle of the negative-conductance region and
  turned back before the excited branch;
* ``sub-threshold`` - no response in that cycle.

A master cycle runs from one master spike to the next, shifted by a fixed phase: the boundary
sits in the middle of the widest gap of the slave's response phases, so a locked response never
straddles it.

Mode words (:func:`classify_cycles`), the same in the summary line, summary.json, sweep.csv, the
plots and the README:

* ``"n:m"`` - locked: the master fires ``n`` times while the slave *spikes* ``m`` times
  (``f_master / f_slave ~ n / m``), every response a spike;
* ``"n:m period k"`` - the same, but the slave's response shape (peak, trough, class) repeats
  only every ``k`` n:m cycles (``"1:1 period 2"``: a spike every master cycle, alternating in
  shape - alternans, not 2:1);
* ``"n:m + partial"`` - spikes locked n:m, with partial responses in the other cycles;
* ``"n:m partial"`` - fewer than two spikes: the slave's *partial* responses are locked n:m;
* ``"unlocked"``, ``"irregular"`` (see :mod:`~neurospice.analysis.timeline`), ``"sub-threshold"``
  (no response at all while the master spikes), ``"silent"`` (the master does not spike).

Every verdict carries its margin: the distance (V) of the feature that lay nearest to a threshold
(a peak to ``spike_v`` or ``on_v``, a trough to ``off_v``, the deciding shape change to the shape
tolerance), and ``marginal`` when the verdict changes with a threshold (or the shape tolerance)
moved by max(50 mV, 5 %) (:func:`judge`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from neurospice.analysis.locking import (
    DEFAULT_MAX_DEN,
    DEFAULT_MAX_DRIFT,
    DEFAULT_MIN_INDEX,
    DEFAULT_RATIO_TOL,
    LockResult,
    classify_locking,
)
from neurospice.analysis.spikes import (
    Responses,
    SpikeTrain,
    Thresholds,
    detect_responses,
    margin_step,
)

__all__ = [
    "MAX_PERIOD",
    "SUBTHRESHOLD",
    "CycleTable",
    "Judgement",
    "Verdict",
    "base_ratio",
    "classify_cycles",
    "cycle_table",
    "judge",
    "mode_column",
    "shape_shifts",
    "shape_tolerance",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

SUBTHRESHOLD = "sub-threshold"
SILENT = "silent"
UNLOCKED = "unlocked"
#: Longest shape period (in n:m cycles) looked for.
MAX_PERIOD = 4
#: Class codes of a master cycle.
CODE_NONE, CODE_PARTIAL, CODE_SPIKE = 0, 1, 2


def mode_column(mode: str) -> str:
    """The sweep.csv column of P(mode): ``p_`` + the mode with ``:``, spaces and ``+`` as ``_``
    (``"1:1 period 2"`` -> ``p_1_1_period_2``)."""
    s = mode.replace(":", "_").replace("+", "").replace("-", "_").split()
    return "p_" + "_".join(s)


def base_ratio(mode: str) -> str:
    """The ``n:m`` of a mode word (``"1:1 period 2"`` -> ``"1:1"``), or the word itself."""
    head = mode.split()[0] if mode else mode
    return head if ":" in head else mode


def shape_tolerance(th: Thresholds) -> float:
    """Largest change (V) of a response's peak or trough that still counts as the same shape:
    5 % of the span from the re-arm level to the spike level, at least 0.1 V."""
    return max(0.1, 0.05 * (th.spike_v - th.off_v))


@dataclass(frozen=True, eq=False)
class CycleTable:
    """The slave's response per master cycle.

    Attributes
    ----------
    t0 : ndarray of float
        Start (s) of each cycle.
    code : ndarray of int
        2 spike, 1 partial, 0 sub-threshold (the largest response of the cycle).
    n_spikes, n_responses : ndarray of int
        Spikes and responses (spikes + partial) whose peak lies in the cycle.
    peak, trough : ndarray of float
        Highest response peak and lowest trough after a response (V); NaN without one.
    boundary : float
        Phase (0..1 of the master period) after a master spike where cycles start.
    """

    t0: FloatArray
    code: IntArray
    n_spikes: IntArray
    n_responses: IntArray
    peak: FloatArray
    trough: FloatArray
    boundary: float

    def __len__(self) -> int:
        return int(self.t0.size)

    def select(self, t0: float, t1: float) -> CycleTable:
        """The cycles starting in ``[t0, t1)``."""
        k = (self.t0 >= t0) & (self.t0 < t1)
        return CycleTable(self.t0[k], self.code[k], self.n_spikes[k], self.n_responses[k],
                          self.peak[k], self.trough[k], self.boundary)


def cycle_table(master: SpikeTrain | FloatArray, responses: Responses) -> CycleTable:
    """Assign the slave's responses to master cycles (see the module docstring)."""
    tm = master.times if isinstance(master, SpikeTrain) else np.asarray(master, dtype=float)
    z = np.zeros(0, dtype=np.int64)
    e = np.zeros(0)
    if tm.size < 3:
        return CycleTable(e, z, z, z, e, e, 0.0)
    tr = responses.times
    inside = (tr >= tm[0]) & (tr < tm[-1])
    tr_in = tr[inside]
    k = np.searchsorted(tm, tr_in, side="right") - 1
    period = tm[k + 1] - tm[k]
    phase = (tr_in - tm[k]) / period
    boundary = 0.0
    if phase.size:
        ph = np.sort(phase)
        gaps = np.diff(np.concatenate((ph, [ph[0] + 1.0])))
        g = int(np.argmax(gaps))
        boundary = float((ph[g] + 0.5 * gaps[g]) % 1.0)
    # cycle c spans [tm[c] + b*T_c, tm[c+1] + b*T_{c+1}); the last full one ends at tm[-1]
    n_cyc = tm.size - 2
    starts = tm[:-1] + boundary * np.diff(tm)
    starts = starts[: n_cyc + 1]
    c = np.searchsorted(starts, tr, side="right") - 1
    ok = (c >= 0) & (c < n_cyc)
    idx = c[ok]
    spk = responses.is_spike[ok]
    n_resp = np.bincount(idx, minlength=n_cyc).astype(np.int64)
    n_spk = np.bincount(idx, weights=spk.astype(float), minlength=n_cyc).astype(np.int64)
    peak = np.full(n_cyc, -np.inf)
    np.maximum.at(peak, idx, responses.peaks[ok])
    trough = np.full(n_cyc, np.inf)
    tro = responses.troughs[ok]
    fin = np.isfinite(tro)
    np.minimum.at(trough, idx[fin], tro[fin])
    peak[~np.isfinite(peak)] = np.nan
    trough[~np.isfinite(trough)] = np.nan
    code = np.where(n_spk > 0, CODE_SPIKE, np.where(n_resp > 0, CODE_PARTIAL, CODE_NONE))
    return CycleTable(starts[:n_cyc], code.astype(np.int64), n_spk, n_resp, peak, trough,
                      boundary)


def _shape_distance(cy: CycleTable, lag: int) -> float:
    """Median over cycles of the largest change of (class, peak, trough) after ``lag`` cycles."""
    if len(cy) <= lag:
        return math.inf
    a, b = slice(None, -lag), slice(lag, None)
    same = cy.code[a] == cy.code[b]
    dp = np.abs(np.nan_to_num(cy.peak[a], nan=0.0) - np.nan_to_num(cy.peak[b], nan=0.0))
    dt = np.abs(np.nan_to_num(cy.trough[a], nan=0.0) - np.nan_to_num(cy.trough[b], nan=0.0))
    d = np.where(same, np.maximum(dp, dt), np.inf)
    return float(np.median(d))


@dataclass(frozen=True)
class Verdict:
    """The mode of a stretch of master cycles.

    Attributes
    ----------
    mode : str
        The mode word (module docstring).
    n, m : int
        Master and slave counts of the n:m tested (0 when none).
    period : int
        Shape period in n:m cycles (1 when the shape repeats every n:m cycle).
    cycles, spikes, partial, subthreshold : int
        Master cycles judged; the slave's spikes and partial responses in them; cycles without
        any response.
    ratio : float
        ``f_master / f_slave``, from the slave's spikes (its responses for a partial mode).
    sync_index : float
        Synchronization index of the n:m test.
    margin_v : float
        Distance (V) of the feature nearest to a threshold among the cycles judged.
    feature : str
        Which one (``"peak vs spike_v"``, ``"peak vs on_v"``, ``"trough vs off_v"``).
    threshold_v : float
        That threshold's value (V).
    lock : LockResult or None
        The n:m phase-locking test.
    """

    mode: str
    n: int = 0
    m: int = 0
    period: int = 1
    cycles: int = 0
    spikes: int = 0
    partial: int = 0
    subthreshold: int = 0
    ratio: float = math.nan
    sync_index: float = math.nan
    margin_v: float = math.nan
    feature: str = ""
    threshold_v: float = math.nan
    lock: LockResult | None = field(default=None, compare=False)

    @property
    def locked(self) -> bool:
        return ":" in self.mode

    @property
    def margin_rel(self) -> float:
        """``margin_v`` relative to the threshold's magnitude (NaN at a 0 V threshold)."""
        if not math.isfinite(self.threshold_v) or abs(self.threshold_v) < 1e-9:
            return math.nan
        return self.margin_v / abs(self.threshold_v)


def _margin(cy: CycleTable, th: Thresholds) -> tuple[float, str, float]:
    cands: list[tuple[float, str, float]] = []
    pk = cy.peak[np.isfinite(cy.peak)]
    tr = cy.trough[np.isfinite(cy.trough)]
    if pk.size:
        cands.append((float(np.min(np.abs(pk - th.spike_v))), "peak vs spike_v", th.spike_v))
        cands.append((float(np.min(np.abs(pk - th.on_v))), "peak vs on_v", th.on_v))
    if tr.size:
        cands.append((float(np.min(np.abs(tr - th.off_v))), "trough vs off_v", th.off_v))
    if not cands:
        return math.nan, "", math.nan
    return min(cands, key=lambda c: c[0])


def classify_cycles(
    master: SpikeTrain,
    responses: Responses,
    *,
    t0: float | None = None,
    t1: float | None = None,
    cycles: CycleTable | None = None,
    tol: float = DEFAULT_RATIO_TOL,
    max_den: int = DEFAULT_MAX_DEN,
    min_index: float = DEFAULT_MIN_INDEX,
    max_drift: float = DEFAULT_MAX_DRIFT,
    shape_tol: float | None = None,
    memo: dict[tuple[bytes, float, float], LockResult] | None = None,
) -> Verdict:
    """The mode word of the master cycles in ``[t0, t1)`` (default: the whole record).

    n:m comes from the slave's *spikes* per master cycles, tested for phase locking
    (:func:`~neurospice.analysis.locking.classify_locking`); with fewer than two spikes, from
    the partial responses (``"n:m partial"``). The shape period is the smallest multiple ``k`` of
    the n:m cycle over which the slave's (class, peak, trough) repeats within
    :func:`shape_tolerance` (median over the cycles; ``shape_tol`` V instead when given). The
    shape test is a threshold too: when its deciding distance lies nearer to the tolerance than
    the nearest voltage feature to its level, it is the verdict's margin. ``memo`` keeps the
    phase-locking tests by train and interval (the moved thresholds mostly leave the train as
    it was).
    """
    lo = master.t_start if t0 is None else t0
    hi = master.t_stop if t1 is None else t1
    if cycles is None:
        cycles = cycle_table(master, responses)
    cy = cycles.select(lo, hi)
    th = responses.thresholds
    margin, feature, level = _margin(cy, th)
    n_cyc = len(cy)
    spikes = int(np.sum(cy.n_spikes))
    partial = int(np.sum(cy.n_responses - cy.n_spikes))
    sub = int(np.sum(cy.code == CODE_NONE))
    common = dict(cycles=n_cyc, spikes=spikes, partial=partial, subthreshold=sub,
                  margin_v=margin, feature=feature, threshold_v=level)
    if n_cyc < 2:
        return Verdict(SILENT, **common)  # type: ignore[arg-type]
    if spikes + partial == 0:
        return Verdict(SUBTHRESHOLD, **common)  # type: ignore[arg-type]
    # n:m from the spikes; from every response when there are fewer than two spikes
    use_partial = spikes < 2
    train = responses.train() if use_partial else responses.spikes()
    key = (train.times.tobytes(), float(lo), float(hi))
    res = memo.get(key) if memo is not None else None
    if res is None:
        res = classify_locking(master, train, t0=lo, t1=hi, tol=tol, max_den=max_den,
                               min_index=min_index, max_drift=max_drift)
        if memo is not None:
            memo[key] = res
    if not res.locked:
        return Verdict(UNLOCKED, res.n, res.m, 1, ratio=res.ratio, sync_index=res.sync_index,
                       lock=res, **common)  # type: ignore[arg-type]
    word = f"{res.n}:{res.m}"
    if use_partial:
        word += " partial"
    elif partial > 0:
        word += " + partial"
    tol_v = shape_tolerance(th) if shape_tol is None else shape_tol
    period = 1
    d1 = _shape_distance(cy, res.n)
    decisive = d1
    if d1 > tol_v:
        for j in range(2, MAX_PERIOD + 1):
            dj = _shape_distance(cy, j * res.n)
            if dj <= tol_v:
                period = j
                decisive = dj if abs(dj - tol_v) < abs(d1 - tol_v) else d1
                break
    if period > 1:
        word += f" period {period}"
    if math.isfinite(decisive) and not abs(decisive - tol_v) >= margin:
        common.update(margin_v=abs(decisive - tol_v), feature="shape change vs shape_tol",
                      threshold_v=tol_v)
    return Verdict(word, res.n, res.m, period, ratio=res.ratio, sync_index=res.sync_index,
                   lock=res, **common)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Judgement:
    """A verdict with its robustness to the thresholds.

    Attributes
    ----------
    verdict : Verdict
        At the neuron's thresholds.
    marginal : bool
        True when a threshold moved by max(50 mV, 5 %) changes the mode word.
    flips : tuple of (str, float, str)
        ``(threshold, shift V, mode there)`` for each move that changed it.
    """

    verdict: Verdict
    marginal: bool
    flips: tuple[tuple[str, float, str], ...] = ()

    @property
    def mode(self) -> str:
        return self.verdict.mode


def shifted_responses(t: FloatArray, v: FloatArray, th: Thresholds, base: Responses, *,
                      t_skip: float = 0.0) -> list[tuple[str, float, Responses]]:
    """The slave's responses with each threshold moved by ``-step`` and ``+step``
    (:func:`~neurospice.analysis.spikes.margin_step`): ``[(name, shift, responses), ...]``."""
    out = []
    for which, level in (("spike", th.spike_v), ("on", th.on_v), ("off", th.off_v)):
        step = margin_step(level)
        for sign in (-1.0, 1.0):
            th2 = th.shifted(which, sign * step)
            if which == "spike" and th2.on_v == th.on_v and th2.off_v == th.off_v:
                r2 = base.with_thresholds(th2)
            else:
                r2 = detect_responses(t, v, th2, t_skip=t_skip)
            out.append((f"{which}_v", sign * step, r2))
    return out


def judge(master: SpikeTrain, t: FloatArray, v_slave: FloatArray, th: Thresholds, *,
          t_skip: float = 0.0, t0: float | None = None, t1: float | None = None,
          responses: Responses | None = None,
          shifted: Sequence[tuple[str, float, Responses]] | None = None) -> Judgement:
    """:func:`classify_cycles` at ``th`` and at each threshold moved by max(50 mV, 5 %)."""
    base = responses if responses is not None else detect_responses(t, v_slave, th,
                                                                    t_skip=t_skip)
    memo: dict[tuple[bytes, float, float], LockResult] = {}
    verdict = classify_cycles(master, base, t0=t0, t1=t1, memo=memo)
    if shifted is None:
        shifted = shifted_responses(t, v_slave, th, base, t_skip=t_skip)
    flips = []
    for name, dv, r2 in shifted:
        v2 = classify_cycles(master, r2, t0=t0, t1=t1, memo=memo)
        if v2.mode != verdict.mode:
            flips.append((name, dv, v2.mode))
    tol = shape_tolerance(th)
    for dv in shape_shifts(tol):
        v2 = classify_cycles(master, base, t0=t0, t1=t1, shape_tol=tol + dv, memo=memo)
        if v2.mode != verdict.mode:
            flips.append(("shape_tol", dv, v2.mode))
    return Judgement(verdict, bool(flips), tuple(flips))


def shape_shifts(tol: float) -> tuple[float, float]:
    """The moves of the shape tolerance a verdict must survive: -+max(50 mV, 5 %), the
    tolerance kept above 10 mV."""
    step = margin_step(tol)
    return (max(-step, 0.01 - tol), step)
