"""The model engine's online analysis (issue 21, item 6): responses detected inside the
integration give the verdict the offline analysis gives on the waveform."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from neurospice.analysis.modes import shifted_responses
from neurospice.analysis.spikes import detect_responses
from neurospice.report.locking import analyse_run
from neurospice.report.online import LockingRows, detector_plan
from neurospice.sim.model import compile_model
from neurospice.sim.model.maps import _vectors, map_model
from neurospice.sim.model.online import run_events
from neurospice.spice.deck import prepare_deck
from tests.helpers import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning")

BOARD = ROOT / "netlists" / "coupled_fhn.cir"
T_SKIP = 0.5
NOISE = {"mc": 1, "c2c": 1, "tc2c": 0.25}
#: points of different modes (5 s, offline verdicts in the comments), two of them noisy (in
#: the irregular regime, where the mode depends on the run's every detail)
POINTS = [
    {},                                                # 1:1 partial (period 2)
    {"amp": 2.0, **NOISE, "seed": 3},                  # noisy
    {"r2": 1e3, "amp": 1.8, **NOISE, "seed": 4},       # noisy
    {"r2": 300, "amp": 2.0},                           # 2:1 partial
    {"amp": 1.6, "pots": 0.54},                        # 2:1
    {"r2": 1e3, "amp": 2.2},                           # unlocked, the slave toggling
]


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    numba.set_num_threads(1)
    return compile_model(prepare_deck(BOARD))


@pytest.fixture(scope="module")
def runs(model):  # type: ignore[no-untyped-def]
    """Each point's waveform and its online events (5 s)."""
    wfs = model.run(POINTS, tstop=5.0)
    red = LockingRows(t_skip=T_SKIP)
    vecs = _vectors(model)
    out = []
    for pt, wf in zip(POINTS, wfs, strict=True):
        d = model._point_deck(pt)
        [ev] = run_events(model, [pt], [red.detectors(d, vecs, pt)], tstop=5.0)
        ev.info["vectors"] = vecs
        out.append((pt, d, wf, ev))
    return red, out


def test_online_verdict_equals_offline(runs) -> None:  # type: ignore[no-untyped-def]
    red, items = runs
    modes = set()
    for pt, d, wf, ev in items:
        off = analyse_run(d, wf, t_skip=T_SKIP).as_row()
        on = red(d, pt, ev)
        modes.add(off["mode"])
        assert on["mode"] == off["mode"], pt
        for key in ("cycles", "slave_spike_count", "partial", "subthreshold", "marginal"):
            assert on[key] == off[key], (pt, key)
        for key in ("f_master_hz", "f_slave_hz"):
            assert math.isclose(on[key], off[key], rel_tol=1e-3), (pt, key)
        assert on["locked_fraction"] == pytest.approx(off["locked_fraction"], abs=1e-6)
    # the points cover 1:1 partial, 2:1, 2:1 partial and unlocked verdicts
    assert {"2:1", "2:1 partial", "unlocked"} <= modes
    assert any(m.startswith("1:1 partial") for m in modes)


def test_compiled_timeline_equals_the_offline_code(runs) -> None:  # type: ignore[no-untyped-def]
    """fast=True (the verdict and timeline by report/fast_timeline.py) against fast=False
    (analyse_run itself on the same events): the same rows, descriptions, window modes and
    margin flags, ratios and synchronization indices to rounding."""
    red, items = runs
    slow = LockingRows(t_skip=T_SKIP, fast=False)
    assert red.fast
    locked_windows = 0
    for pt, d, _wf, ev in items:
        a, b = slow.analyse(d, ev, pt), red.analyse(d, ev, pt)
        pa, pb = a.pairs[0], b.pairs[0]
        assert pa.as_row() == pb.as_row(), pt
        assert pa.describe() == pb.describe(), pt
        assert pa.judgement.flips == pb.judgement.flips, pt
        wa, wb = pa.timeline.windows, pb.timeline.windows
        assert [(w.mode, w.marginal, w.n, w.m, w.partial) for w in wa] == \
            [(w.mode, w.marginal, w.n, w.m, w.partial) for w in wb], pt
        for x, y in zip(wa, wb, strict=True):
            for key in ("ratio", "sync_index", "drift", "margin_v"):
                u, v = getattr(x, key), getattr(y, key)
                assert (math.isnan(u) and math.isnan(v)) or abs(u - v) < 1e-9, (pt, key)
        assert len(wa) > 10
        locked_windows += sum(w.locked for w in wa)
    assert locked_windows > 10  # the windows compared include locked ones


def test_verdict_without_timeline(runs) -> None:  # type: ignore[no-untyped-def]
    """timeline=False: the same verdict, cycle counts and margins; no locked fraction (it would
    be the whole record's)."""
    red, items = runs
    quick = LockingRows(t_skip=T_SKIP, timeline=False)
    for pt, d, _wf, ev in items:
        full, row = red(d, pt, ev), quick(d, pt, ev)
        for key in ("mode", "cycles", "partial", "subthreshold", "marginal", "margin_v",
                    "f_master_hz", "f_slave_hz"):
            assert row[key] == full[key], (pt, key)
        assert row["locked_fraction"] == "" and full["locked_fraction"] != ""


def test_online_responses_match_the_offline_detector(runs) -> None:  # type: ignore[no-untyped-def]
    """Every detector's events against detect_responses on the trace: the same responses and
    troughs; after t_skip most peaks the same to rounding, all within 5 us and 2 mV; before
    it, while the trace's span is still growing (the online peak fit's ``drop``), within 20 us
    and 5 mV."""
    red, items = runs
    for pt, d, wf, ev in items:
        plan = detector_plan(d, ev.info["vectors"], t_skip=T_SKIP)
        assert plan is not None
        t = wf.time
        for k, vec in enumerate(plan.index):
            ref = detect_responses(t, wf[vec], plan.thresholds[vec])
            assert ev.times[k].size == len(ref) > 20, (pt, vec)
            late = ref.times >= T_SKIP
            dt = np.abs(ev.times[k] - ref.times)
            dv = np.abs(ev.peaks[k] - ref.peaks)
            # the span still grows now and then (a slave's largest response): within 5 us
            assert np.max(dt[late]) < 5e-6 and np.max(dv[late]) < 2e-3, (pt, vec)
            assert np.mean((dt[late] < 1e-9) & (dv[late] < 1e-9)) > 0.8, (pt, vec)
            assert np.max(dt) < 20e-6 and np.max(dv) < 5e-3, (pt, vec)
            np.testing.assert_array_equal(ev.troughs[k], ref.troughs)
        # the slave's shifted detectors (after t_skip) against shifted_responses
        slave = plan.slaves[0]
        base = detect_responses(t, wf[slave], plan.thresholds[slave]).after(T_SKIP)
        shifted = shifted_responses(t, np.asarray(wf[slave]), plan.thresholds[slave], base,
                                    t_skip=T_SKIP)
        for j, (_name, _dv, r2) in enumerate(shifted):
            d_ = len(plan.index) + j
            spec = plan.specs[d_]
            assert spec.t_from == T_SKIP
            if spec.on_v == plan.thresholds[slave].on_v and \
                    spec.off_v == plan.thresholds[slave].off_v:
                continue  # a relabelled spike level: no detection of its own
            assert ev.times[d_].size == len(r2)
            assert np.max(np.abs(ev.times[d_] - r2.times), initial=0.0) < 5e-6
            assert np.max(np.abs(ev.peaks[d_] - r2.peaks), initial=0.0) < 2e-3


def test_map_with_and_without_online_path_gives_the_same_modes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    deck = prepare_deck(BOARD)
    points = [{"amp": a, "pots": p} for a in (1.6, 2.0) for p in (0.54, 0.562)]
    points += [{"amp": 1.8, **NOISE, "seed": s} for s in (1, 2)]
    off = map_model(deck, points, reduce=LockingRows(t_skip=T_SKIP, online=False), workers=1,
                    tstop=3.0)
    from neurospice.sim.model import engine

    def no_waveforms(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("the online path built a waveform")

    monkeypatch.setattr(engine.CompiledModel, "_waveforms", no_waveforms)
    on = map_model(deck, points, reduce=LockingRows(t_skip=T_SKIP), workers=1, tstop=3.0)
    assert [r["mode"] for r in on] == [r["mode"] for r in off]
    assert [r["cycles"] for r in on] == [r["cycles"] for r in off]
    assert len({r["mode"] for r in off}) >= 2


def test_overflowing_detectors_fall_back_to_waveforms(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Room for 10 responses per detector: every point overflows, is rerun with its waveform
    and gets the offline row (not a verdict from incomplete events)."""
    from neurospice.sim.model import online

    deck = prepare_deck(BOARD)
    points = [{"amp": 1.6, "pots": 0.54}]
    ref = map_model(deck, points, reduce=LockingRows(t_skip=T_SKIP, online=False), workers=1,
                    tstop=2.0)
    monkeypatch.setattr(online, "max_events", lambda tstop: 10)
    rows = map_model(deck, points, reduce=LockingRows(t_skip=T_SKIP), workers=1, tstop=2.0)
    assert rows == ref
    assert rows[0]["cycles"] > 10


def test_online_detection_on_a_coarser_record(model) -> None:  # type: ignore[no-untyped-def]
    """record_step 0.2 ms (every 4th step): the detectors see the samples the waveform holds,
    and the verdict is the offline one on that waveform."""
    red = LockingRows(t_skip=T_SKIP)
    vecs = _vectors(model)
    pt = {"r2": 1e3, "amp": 1.8, **NOISE, "seed": 4}
    d = model._point_deck(pt)
    [wf] = model.run([pt], tstop=3.0, record_step=2e-4)
    assert wf.time[1] - wf.time[0] == pytest.approx(2e-4)
    [ev] = run_events(model, [pt], [red.detectors(d, vecs, pt)], tstop=3.0, record_step=2e-4)
    ev.info["vectors"] = vecs
    assert ev.sample_step == pytest.approx(2e-4)
    off, on = analyse_run(d, wf, t_skip=T_SKIP).as_row(), red(d, pt, ev)
    for key in ("mode", "cycles", "partial", "subthreshold", "slave_spike_count", "marginal"):
        assert on[key] == off[key], key
    assert on["f_slave_hz"] == pytest.approx(off["f_slave_hz"], rel=1e-3)


def test_seed_modes_judge_online_as_offline() -> None:
    """--seeds with the model engine (report.locking.seed_modes) judges each seed inside the
    integration: the same mode words as analyse_run on each seed's waveform."""
    from neurospice.report.locking import seed_modes
    from neurospice.sim.options import RunOptions

    deck = prepare_deck(BOARD).with_params({"amp": 2.0}).with_tstop(3.0)
    seeds = [1, 2, 3, 4]
    got = seed_modes(deck, seeds, RunOptions(engine="model", t_skip=T_SKIP))
    wfs = compile_model(deck).run([{"seed": s} for s in seeds])
    want = [{(p.master, p.slave): p.mode
             for p in analyse_run(deck.with_seed(s), wf, t_skip=T_SKIP).pairs}
            for s, wf in zip(seeds, wfs, strict=True)]
    assert got == want
    assert len({m for row in got for m in row.values()}) >= 2  # the seeds differ (amp 2.0)
