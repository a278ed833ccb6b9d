"""The coupled normalised model (netlists/coupled_model.cir and neurospice.reference.coupled).

Paper (MODELS.md 1.4): 1:1 synchronization for d = 0.02-0.06, fractional for d = 0.06-0.095.
The shipped calibration reproduces the unlocked -> 1:1 transition at d = 0.02; the 1:1 band of
this model does not close at 0.06 and no fractional band follows it (an accepted finding, see
docs/coupling.md): the tests assert 1:1 from d = 0.019 up to 0.15.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neurospice.analysis.locking import classify_locking
from neurospice.analysis.spikes import detect_spikes
from neurospice.reference.coupled import (
    DECK_PATH,
    CoupledParams,
    MasterRun,
    PointResult,
    classify_run,
    find_edge,
    simulate_master,
    simulate_slaves,
)
from neurospice.sim.ngspice import run_deck

T_SKIP = 0.5
#: Coupling strengths checked: two below the paper's 1:1 band, three inside it, two above.
D_GRID = (0.005, 0.012, 0.03, 0.045, 0.058, 0.08, 0.12)


@pytest.fixture(scope="module")
def params() -> CoupledParams:
    return CoupledParams.from_deck()


@pytest.fixture(scope="module")
def master(params: CoupledParams) -> MasterRun:
    return simulate_master(params)


@pytest.fixture(scope="module")
def grid(params: CoupledParams, master: MasterRun) -> dict[float, PointResult]:
    run = simulate_slaves(params, master, D_GRID)
    return {r.d: r for r in classify_run(run, t_skip=T_SKIP)}


def test_defaults_come_from_the_deck(params: CoupledParams) -> None:
    text = DECK_PATH.read_text()
    assert ".control" not in text.lower()
    assert "**" not in text
    assert not any(line.startswith("*#") for line in text.splitlines())
    assert params.tau0 == pytest.approx(1.1302e-3)
    assert params.iref == pytest.approx(0.5e-3)
    assert 0.0 < params.detune < 0.1


def test_master_fires_at_25_hz_and_drives_the_memristor_through_set_and_reset(
    master: MasterRun,
) -> None:
    sel = master.t >= T_SKIP
    train = detect_spikes(master.t, master.u1).after(T_SKIP)
    assert train.frequency_hz == pytest.approx(25.0, rel=0.01)
    # the device is in LRS during each spike and back in HRS at rest
    assert master.w[sel].max() > 0.99
    assert master.w[sel].min() < 0.01
    spiking = master.u1[sel] > 1.5
    resting = master.u1[sel] < -1.5
    # LRS 2 kOhm at amp*u1 = 2*u1 volts: about 1.5-1.9 mA; the Poole-Frenkel HRS passes a few
    # per cent of that at -3 to -4 V (the device rectifies)
    assert master.i_mem[sel][spiking].max() == pytest.approx(1.9e-3, rel=0.05)
    leak = float(np.median(np.abs(master.i_mem[sel][resting])))
    assert 0.005 * 1.9e-3 < leak < 0.05 * 1.9e-3


def test_uncoupled_slave_is_detuned(grid: dict[float, PointResult], params: CoupledParams) -> None:
    r = grid[0.005]
    assert r.mode == "unlocked"
    # nearly the free slave: 25 Hz / (1 + detune)
    assert r.f_slave_hz == pytest.approx(25.0 / (1 + params.detune), rel=0.01)


@pytest.mark.parametrize("d", [0.005, 0.012])
def test_unlocked_below_the_paper_band(grid: dict[float, PointResult], d: float) -> None:
    r = grid[d]
    assert r.mode == "unlocked"
    assert r.lock.ratio > 1.02  # the slave drifts behind the master


@pytest.mark.parametrize("d", [0.03, 0.045, 0.058])
def test_one_to_one_inside_the_paper_band(grid: dict[float, PointResult], d: float) -> None:
    r = grid[d]
    assert r.mode == "1:1"
    assert r.lock.sync_index > 0.99
    assert r.f_slave_hz == pytest.approx(r.f_master_hz, rel=1e-3)


def test_lower_edge_of_the_one_to_one_band(params: CoupledParams) -> None:
    edge = find_edge(0.01, 0.03, "1:1", params, tol=0.004, batch=5, t_skip=T_SKIP)
    assert edge == pytest.approx(0.02, abs=0.01)
    assert edge == pytest.approx(0.0195, abs=0.003)  # the shipped calibration


@pytest.mark.parametrize("d", [0.019, 0.08, 0.15])
def test_one_to_one_from_0019_and_still_at_015(
    params: CoupledParams, master: MasterRun, d: float
) -> None:
    # What this model does (accepted finding, docs/coupling.md, MODELS.md 1.4): 1:1 from
    # d = 0.019 (the paper's 0.02) and no band above it - still 1:1 at the paper's fractional
    # d = 0.06-0.095 and at 0.15. The paper's fractional band is left to the second-order device.
    r = classify_run(simulate_slaves(params, master, [d]), t_skip=T_SKIP)[0]
    assert r.mode == "1:1"
    assert r.lock.sync_index > 0.99
    # at 0.019, 2e-4 above the edge, the slave is still pulling in after 0.5 s (-0.16 %)
    assert r.f_slave_hz == pytest.approx(r.f_master_hz, rel=3e-3 if d < 0.02 else 1e-4)


@pytest.mark.parametrize("d", [0.01, 0.04, 0.1])
def test_ngspice_deck_agrees_with_the_reference(
    params: CoupledParams, master: MasterRun, d: float
) -> None:
    ref = classify_run(simulate_slaves(params, master, [d]), t_skip=T_SKIP)[0]
    wf = run_deck(DECK_PATH, params={"d": d})
    t = wf.time
    tm = detect_spikes(t, wf["v(m1)"]).after(T_SKIP)
    ts = detect_spikes(t, wf["v(m2)"]).after(T_SKIP)
    lock = classify_locking(tm, ts)
    assert lock.mode == ref.mode
    assert tm.frequency_hz == pytest.approx(ref.f_master_hz, rel=0.005)
    assert ts.frequency_hz == pytest.approx(ref.f_slave_hz, rel=0.02)


@pytest.mark.slow
def test_two_to_one_needs_a_slower_slave(params: CoupledParams, master: MasterRun) -> None:
    # where this model's fractional band lives: slave 1.7x slower, strong coupling
    slow = replace(params, detune=0.7)
    res = classify_run(simulate_slaves(slow, master, [0.05, 0.18]), t_skip=T_SKIP)
    assert res[0].mode == "unlocked"
    assert res[1].mode == "2:1"
    assert res[1].lock.ratio == pytest.approx(2.0, rel=1e-3)
