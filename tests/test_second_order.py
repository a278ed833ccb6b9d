"""The second-order memristor: shipped constants, the subcircuit in ngspice (pinched, passive,
bounded, agreeing with the SciPy full model), the reconstructed gap law, and the simplified (G, T)
model against the full model on single pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from neurospice.batch.stdp import SpikeShape, protocol_segments, pwl_deck
from neurospice.reference.second_order import (
    SecondOrderParams,
    Segment,
    gap_rate,
    simulate_full,
    simulate_simplified,
)
from neurospice.sim.ngspice import run_text
from neurospice.spice.deck import prepare_text

P = SecondOrderParams.from_library()
SHAPE = SpikeShape()


def _netlists():
    from neurospice.reference.second_order import LIB_PATH

    return LIB_PATH.parents[1]


def test_shipped_constants() -> None:
    assert P.tau_t == pytest.approx(0.325e-9, rel=0.01)
    assert P.tau_b == pytest.approx(0.185e-6, rel=0.005)
    assert P.rs == pytest.approx(280.0, rel=0.002)
    assert P.gmax == pytest.approx(1.0 / 560.0, rel=0.002)
    assert P.gmin == pytest.approx(1.0 / (280.0 * (1 + (2.5 / 0.8) ** 2)), rel=0.002)
    # eq. 11 inverts eq. 10
    for g in (0.4e-3, 1e-3, 1.7e-3):
        assert P.g_of_r(P.r_of_g(g)) == pytest.approx(g, rel=1e-12)


def test_subcircuit_is_detected_as_memristor() -> None:
    deck = prepare_text(
        "* title\n.include lib/memristors.lib\nV1 a 0 dc 0\nXd a 0 second_order\n"
        ".tran 1n 10n\n.end\n",
        base_dir=_netlists(),
    )
    assert [m.name.lower() for m in deck.memristors()] == ["xd"]


def test_gap_zero_matches_appendix_a() -> None:
    """alpha = 3e4 on the closing term puts g_hat(1 V, 400 K) at ~0.4 nm, g_hat(2 V) < 0.8 nm."""

    def ghat(v: float, temp: float) -> float:
        return brentq(lambda g: gap_rate(g, v, temp, P), 0.01, 2.4)

    assert 0.35 < ghat(1.0, 400.0) < 0.4
    assert 0.7 < ghat(2.0, 400.0) < 0.8
    assert ghat(2.0, 700.0) < ghat(2.0, 500.0) < ghat(2.0, 400.0)  # falls with T
    assert ghat(0.5, 400.0) < ghat(1.0, 400.0)  # grows with v
    for g in (0.05, 0.5, 1.5):  # negative voltages only close the gap
        assert gap_rate(g, -1.0, 500.0, P) < 0


def _pair_segments(dt_over_th: float, vp: float = SHAPE.vp) -> list[Segment]:
    sh = SpikeShape(vp=vp, vpost=vp if vp != SHAPE.vp else SHAPE.vpost)
    return protocol_segments("pair", dt_over_th * sh.th, sh, interval=1.5e-6)


def test_ngspice_pair_pinched_passive_bounded_and_matches_scipy() -> None:
    segs = _pair_segments(-0.1, vp=3.0)  # post/pre: both polarities, heated second pulse
    g0 = 1.5e-3
    wf = run_text(pwl_deck(segs, g0, P), base_dir=_netlists())
    v = wf["v(p)"]
    i = -wf["i(vd)"]  # current p -> n
    assert np.max(np.abs(i[np.abs(v) < 1e-9])) < 1e-12  # pinched at v = 0
    assert np.min(v * i) > -1e-12  # passive at every sample
    w, gap, tk, tb = wf["v(xd.w)"], wf["v(xd.gap)"], wf["v(xd.tk)"], wf["v(xd.tb)"]
    assert -0.01 < w.min() and w.max() < 1.01
    assert gap.min() > -0.2 and gap.max() < P.l0 * 1e9
    assert tb.min() > 299.9 and tk.min() > 299.5 and tk.max() < 1600
    # the filament is never colder than the bulk (but for the solver's step as a 3 V pulse
    # ends: measured -0.51 K)
    assert np.all(tk >= tb - 1.0)
    g_spice = float(wf["v(xd.ghat)"][-1])
    g_full = simulate_full(segs, g0, P).g_final
    assert (g_spice - g0) / g0 < -0.02  # depression
    assert g_spice == pytest.approx(g_full, rel=0.02)


def test_ngspice_strong_drive_stays_bounded() -> None:
    """+-4 V pulses of 200 ns drive r to its bounds; states stay in range, no runaway."""
    segs = [Segment(-4.0, 200e-9), Segment(0.0, 200e-9), Segment(4.0, 200e-9),
            Segment(0.0, 300e-9)]
    wf = run_text(pwl_deck(segs, 1.0e-3, P), base_dir=_netlists())
    w = wf["v(xd.w)"]
    ghat = wf["v(xd.ghat)"]
    assert w.max() < 1.01 and w.min() > -0.01
    assert ghat.max() <= P.gmax * 1.001 and ghat.min() >= P.gmin * 0.999
    assert ghat.max() > 0.95 * P.gmax  # the -4 V pulse reaches Gmax
    assert ghat[-1] < 0.5 * P.gmax  # the +4 V pulse depresses it again
    assert 1500 < wf["v(xd.tk)"].max() < 1800  # P/kth1 at Gmax and 4 V, plus the bulk


@pytest.mark.parametrize("g0", [1.0e-3, 1.1e-3, 1.3e-3])
def test_simplified_follows_full_on_pairs(g0: float) -> None:
    """Single pairs at the default pulses (2.6/2.6 V), every pulse integrated (the full
    accounting): the simplified and the full model agree in sign at every dt and within
    |dG/G| <= 0.025 (measured max 0.020, at 1.3 mS and dt = +0.05 tH, where the simplified
    model's potentiation runs ahead: no tunnelling drop).  Both potentiate on post/pre pairs
    at these G0 (the full accounting's sign window starts higher, docs/second_order.md)."""
    for dt in (-1.0, -0.3, -0.05, 0.05, 0.3, 1.0):
        segs = _pair_segments(dt)
        a = simulate_simplified(segs, g0, P).g_final
        b = simulate_full(segs, g0, P).g_final
        assert np.sign(a - g0) == np.sign(b - g0), (g0, dt, a, b)
        assert abs(a - b) / g0 <= 0.025, (g0, dt, a, b)
        if dt > 0:
            assert a > g0


def test_simplified_temperature_is_eq16() -> None:
    """During a lone programming pulse T = Tb + G v^2/kth1 (eq. 16), Tb barely moved."""
    g0 = 1.0e-3
    res = simulate_simplified([Segment(-1.0, 20e-9)], g0, P)  # 1 V: G does not move
    assert res.g_final == pytest.approx(g0, rel=1e-3)
    expected = P.t0 + g0 / P.kth1 + g0 / P.kth2 * (1 - math.exp(-20e-9 / P.tau_b))
    assert res.temp[0] == pytest.approx(expected, abs=1.5)


def test_simplified_subcircuit_shares_defaults_and_follows_python() -> None:
    from neurospice.reference.second_order import LIB_PATH
    from neurospice.spice.library import subckt_defaults

    full = subckt_defaults(LIB_PATH, "second_order")
    gt = subckt_defaults(LIB_PATH, "second_order_gt")
    assert gt and all(full[k] == v for k, v in gt.items())
    for dt in (-0.1, 0.1):
        segs = _pair_segments(dt)
        deck = pwl_deck(segs, 1.0e-3, P).replace("second_order w0", "second_order_gt w0")
        deck = deck.replace(" v(xd.gap)", "")
        wf = run_text(deck, base_dir=_netlists())
        g_py = simulate_simplified(segs, 1.0e-3, P).g_final
        # measured 2.5 % at dt = +0.1 tH (a steep, self-heating potentiation), 0.2 % at -0.1
        assert float(wf["v(xd.ghat)"][-1]) == pytest.approx(g_py, rel=0.03)


def test_board_deck_is_accepted() -> None:
    from neurospice.spice.deck import prepare_deck

    deck = prepare_deck(_netlists() / "coupled_fhn_2nd.cir")
    assert [m.subckt for m in deck.memristors()] == ["second_order"]
    assert {n.name for n in deck.neurons()} == {"xmaster", "xslave"}


@pytest.mark.slow
def test_board_short_run_device_in_range() -> None:
    """0.25 s of the board (~1.5 s CPU): the interface keeps the device within +-1.5 V."""
    from neurospice.sim.ngspice import run_deck

    wf = run_deck(_netlists() / "coupled_fhn_2nd.cir", tstop=0.25)
    v = wf["v(dp)"]
    assert 0.2 < np.max(np.abs(v)) < 1.5
    g = wf["v(xm1.ghat)"]
    assert P.gmin * 0.999 <= g.min() and g.max() <= P.gmax * 1.001
    assert 299.0 < wf["v(xm1.tk)"].min() and wf["v(xm1.tk)"].max() < 400.0


def test_pulse_variation_follows_the_heating_feedback() -> None:
    """eq. 17 with G frozen over a 3.0 V depressing pulse at 1.2 mS (the paper's accounting)
    drops G by 72 %; followed step by step (T falls with G) it drops by 21 %, converged.  At
    the paper's rate constant and 2.2 V the two agree within 0.1 % of G (the frozen
    accounting is the paper's assumption that G barely moves within a pulse)."""
    from neurospice.reference.second_order import pulse_variation

    kw = {"gamma": 2.0, "sign": -1, "vp": 3.0, "vh": 0.8, "ts": 0.108 * P.tau_b,
          "th": 2 * P.tau_b, "params": P}
    frozen = pulse_variation(1.2e-3, **kw) / 1.2e-3  # type: ignore[arg-type]
    fine = pulse_variation(1.2e-3, rel_step=0.01, **kw) / 1.2e-3  # type: ignore[arg-type]
    finer = pulse_variation(1.2e-3, rel_step=0.002, **kw) / 1.2e-3  # type: ignore[arg-type]
    assert frozen < -0.6
    assert -0.23 < fine < -0.18
    assert abs(fine - finer) < 0.01
    kw["vp"] = 2.2
    frozen = pulse_variation(1.2e-3, **kw) / 1.2e-3  # type: ignore[arg-type]
    fine = pulse_variation(1.2e-3, rel_step=0.01, **kw) / 1.2e-3  # type: ignore[arg-type]
    assert -0.01 < frozen < fine < 0 and abs(frozen - fine) < 1e-3


def test_rate_constant_is_the_papers() -> None:
    """beta = 8e3 (seed 001 Sec. II), alpha = 3e4; a 20 ns programming pulse of 2.2 V at 1 mS
    (unheated) moves G by well under 1 % (Sec. III: G barely changes within a pulse)."""
    from neurospice.reference.second_order import pulse_variation

    assert P.beta == 8e3 and P.alpha == 3e4
    for sign in (-1, 1):
        dg = pulse_variation(1.0e-3, math.inf, sign=sign, vp=2.2, vh=0.8, ts=20e-9, th=1e-6,
                             params=P)
        assert 0 < sign * dg < 0.01 * 1.0e-3
