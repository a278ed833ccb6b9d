"""The model engine's adaptive steps (sim/model/integrate.py): the method's tableau, the record
grid, the tolerances' effect, agreement with a fine fixed step, and which decks step adaptively."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from scipy.integrate import RK45

from neurospice.report.locking import analyse_run
from neurospice.sim.model import compile_model
from neurospice.sim.model.integrate import _A, _B, _C, _E, spline_table
from neurospice.spice.deck import prepare_deck
from tests.helpers import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::numba.NumbaPerformanceWarning")

BOARD = ROOT / "netlists" / "coupled_fhn.cir"


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    numba.set_num_threads(1)
    return compile_model(prepare_deck(BOARD))


def test_the_tableau_is_dormand_and_princes() -> None:
    """The kernel's constants against scipy's RK45 (the same method): a typo in one digit of
    one coefficient would fail here."""
    np.testing.assert_allclose(_C, RK45.C, rtol=0, atol=1e-15)
    np.testing.assert_allclose(_A, RK45.A, rtol=0, atol=1e-15)
    np.testing.assert_allclose(_B, RK45.B, rtol=0, atol=1e-15)
    np.testing.assert_allclose(_E, RK45.E, rtol=0, atol=1e-15)


def test_spline_tables_pass_through_their_samples_and_continue_straight() -> None:
    from neurospice.sim.model.integrate import _interp

    v = np.linspace(-2.0, 2.0, 41)
    y = np.tanh(v) + 0.1 * v**3
    tab = spline_table(y, float(v[1] - v[0]))[None]
    inv_dv = 1.0 / float(v[1] - v[0])
    got = np.array([_interp(tab, 0, x, -2.0, inv_dv) for x in v])
    np.testing.assert_allclose(got, y, atol=1e-12)
    # between samples, close to the function (a straight line between samples is 4e-3 off here)
    mid = v[:-1] + 0.05
    f_mid = np.tanh(mid) + 0.1 * mid**3
    assert np.max(np.abs([_interp(tab, 0, x, -2.0, inv_dv) for x in mid] - f_mid)) < 2e-4
    # outside the grid: straight on with the end's slope
    a, b = _interp(tab, 0, 3.0, -2.0, inv_dv), _interp(tab, 0, 4.0, -2.0, inv_dv)
    c = _interp(tab, 0, 5.0, -2.0, inv_dv)
    assert b - a == pytest.approx(c - b, rel=1e-12) and b > a


def test_the_record_is_a_uniform_grid_ending_at_tstop(model) -> None:  # type: ignore[no-untyped-def]
    [wf] = model.run([{"c2c": 0}], tstop=0.05)
    t = np.asarray(wf.time)
    assert t[0] == 0.0 and t[-1] == pytest.approx(0.05, abs=1e-12)
    assert np.ptp(np.diff(t)) < 1e-12  # uniform
    assert 50e-6 <= t[1] <= 70e-6  # the deck's .tran step (70 us), shortened to end on tstop
    assert "adaptive steps" in wf.log[0]


def test_a_tighter_tolerance_takes_more_steps(model) -> None:  # type: ignore[no-untyped-def]
    counts = []
    for rtol in (1e-3, 1e-4, 1e-5):
        bound = model.bind([{"c2c": 0}], tstop=1.0, rtol=rtol)
        counts.append(int(model.integrate(bound, waveforms=False)["steps"][0, 0]))
    assert counts[0] < counts[1] < counts[2]
    # far fewer than the fixed 50 us step's 20,000
    assert counts[1] < 20_000 / 5


def test_adaptive_steps_agree_with_a_fine_fixed_step(model) -> None:  # type: ignore[no-untyped-def]
    """The reference board, noise off, 3 s: the default steps against a fixed 5 us step."""
    pt = {"c2c": 0}
    d = model._point_deck(pt)
    [fine] = model.run([pt], tstop=3.0, dt=5e-6, record_step=7e-5)
    [adaptive] = model.run([pt], tstop=3.0)
    a, b = analyse_run(d, fine, t_skip=0.5).as_row(), analyse_run(d, adaptive, t_skip=0.5).as_row()
    assert a["mode"] == b["mode"]
    for key in ("f_master_hz", "f_slave_hz"):
        assert b[key] == pytest.approx(a[key], rel=5e-4)
    # every upward zero crossing over 3 s within 1 % of a period for the master, 2 % for the
    # slave (its partial responses cross zero slowly; measured: 0.11 and 0.33 ms)
    from neurospice.sim.model.selfcheck import _crossings

    for vec, tol in (("v(mmem)", 2.5e-4), ("v(smem)", 5e-4)):
        cf = _crossings(np.asarray(fine.time), np.asarray(fine[vec]))
        ca = _crossings(np.asarray(adaptive.time), np.asarray(adaptive[vec]))
        assert len(cf) == len(ca) > 100, vec
        assert np.max(np.abs(cf - ca)) < tol, vec


def test_compiled_bodies_run_at_the_fixed_step(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_model_compile import _board_copy

    edited = _board_copy(tmp_path, ".param em_d  = {em  *", ".param em_d  = {0.75*em  *")
    m = compile_model(edited)
    assert m.program.devices[0].model == "compiled:zro2" and not m.adaptive
    [wf] = m.run([{}], tstop=0.01)
    assert "step 5e-05 s" in wf.log[0] and "adaptive" not in wf.log[0]
    assert compile_model(prepare_deck(BOARD)).adaptive
