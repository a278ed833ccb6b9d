"""Spike-timing protocols on the second-order memristor (simplified model unless stated)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest

from neurospice.batch.stdp import (
    SpikeShape,
    add_stdp_arguments,
    protocol_segments,
    run_protocol,
    stdp_command,
    stdp_sweep,
)
from neurospice.reference.second_order import SecondOrderParams

P = SecondOrderParams.from_library()
G0 = 1.0e-3  # the paper's initial conductance of the 30-cycle protocols


def test_protocol_shapes() -> None:
    sh = SpikeShape()
    segs = protocol_segments("pair", 0.2 * sh.th, sh, interval=3e-6)
    assert [s.v for s in segs] == [sh.vp, -sh.vh, 0.0, -sh.vpost, sh.vh, 0.0]
    segs = protocol_segments("pair", -0.2 * sh.th, sh, interval=3e-6)
    assert [s.v for s in segs][:2] == [-sh.vpost, sh.vh]  # post first
    quad = protocol_segments("post-pre-pre-post", 0.1 * sh.th, sh, cycles=2)
    assert sum(1 for s in quad if abs(s.v) == sh.vh) == 8


DTS = [-2.0, -1.0, -0.5, -0.3, -0.1, -0.02, 0.0, 0.02, 0.1, 0.3, 0.5, 1.0, 2.0]


def test_pair_sign_right_for_every_dt() -> None:
    """pre/post potentiates for every dt >= 0, post/pre depresses for every dt < 0, for every
    G0 from 1.0 mS to Gmax (1.785 mS) at the default pulses (2.25/2.17 V)."""
    for g0 in (1.0e-3, 1.1e-3, 1.2e-3, 1.4e-3, 1.6e-3, 1.75e-3):
        pts = stdp_sweep("pair", DTS, g0s=[g0])
        for pt in pts:
            assert (pt.dg_over_g > 0) == (pt.dt_over_th >= 0), pt
        by = {pt.dt_over_th: pt.dg_over_g for pt in pts}
        assert by[-0.02] < by[-2.0] < 0  # the heated second pulse depresses most
        if g0 <= 1.1e-3:  # below the potentiation's saturation the timing matters both ways
            assert by[0.02] > 2 * by[2.0] > 0


def test_pair_sign_limit_below_the_window() -> None:
    """The documented limit (docs/second_order.md section 3): far apart (|dt| >= 1 tH, the bulk
    has cooled) the two spikes of a pair act in either order almost alike, so at 0.9 mS a
    post/pre pair still potentiates; the right sign there holds only for |dt| <~ 0.1 tH."""
    by = {pt.dt_over_th: pt.dg_over_g for pt in stdp_sweep("pair", DTS, g0s=[0.9e-3])}
    assert by[-2.0] > 0 and by[-1.0] > 0
    assert by[-0.02] < 0 < by[0.02]
    assert abs(by[-2.0] - by[2.0]) < 0.06  # order-independent to first order


def test_pair_change_depends_on_initial_g_and_stays_in_bounds() -> None:
    pts = stdp_sweep("pair", [-0.05, 0.05], g0s=[0.5e-3, 0.8e-3, 1.0e-3, 1.2e-3, 1.6e-3])
    pot = {pt.g0_s: pt.dg_over_g for pt in pts if pt.dt_over_th > 0}
    assert pot[1.0e-3] > 1.5 * pot[0.5e-3]  # hotter (larger G) devices program faster
    for pt in pts:
        assert P.gmin * (1 - 1e-9) <= pt.g_final_s <= P.gmax * (1 + 1e-9)
    # 30 strongly potentiating cycles end at Gmax, not beyond
    strong = stdp_sweep("pair", [0.02], g0s=[G0], cycles=30, intervals=[3e-6])
    assert strong[0].g_final_s == pytest.approx(P.gmax, rel=2e-3)


def test_pair_potentiation_falls_as_frequency_rises() -> None:
    """30 pairs at 1 mS: Gmax with 3 us between pairs, clearly less with 0.3 us (dt >= 0.5 tH;
    at smaller dt both saturate at Gmax)."""
    for dt in (0.5, 1.0, 2.0):
        fast, slow = stdp_sweep("pair", [dt], g0s=[G0], cycles=30, intervals=[0.3e-6, 3e-6])
        assert slow.g_final_s == pytest.approx(P.gmax, rel=2e-3)
        assert slow.dg_over_g > fast.dg_over_g + 0.1 > 0.1


def test_triplets_and_quadruplets() -> None:
    # post-pre-post: long-term potentiation at every dt, saturating at Gmax at the default
    # pulses for dt >= 0.3 tH
    ppp = {pt.dt_over_th: pt for pt in stdp_sweep("post-pre-post", [0.02, 0.1, 0.3, 1.0],
                                                  g0s=[G0], cycles=30, intervals=[3e-6])}
    assert ppp[0.02].dg_over_g > 0.3 and ppp[0.1].dg_over_g > 0.5
    for dt in (0.3, 1.0):
        assert ppp[dt].g_final_s == pytest.approx(P.gmax, rel=2e-3)
    dts = [0.02, 0.1, 0.3]
    # post-pre-pre-post: potentiation
    assert all(pt.dg_over_g > 0.03 for pt in stdp_sweep("post-pre-pre-post", dts, g0s=[G0],
                                                         cycles=30))
    # pre-post-pre and pre-post-post-pre: little or no potentiation
    for prot in ("pre-post-pre", "pre-post-post-pre"):
        for tf in (0.3e-6, 3e-6):
            for pt in stdp_sweep(prot, dts + [1.0], g0s=[G0], cycles=30, intervals=[tf]):
                assert pt.dg_over_g < 0.02, pt


@pytest.mark.slow
def test_spice_engine_agrees_with_full_model_on_a_pair() -> None:
    sh = SpikeShape()
    for dt in (-0.1, 0.1):
        segs = protocol_segments("pair", dt * sh.th, sh, interval=1e-6)
        g_sp = run_protocol(segs, G0, engine="spice")
        g_full = run_protocol(segs, G0, engine="full")
        assert np.sign(g_sp - G0) == np.sign(dt)
        assert g_sp == pytest.approx(g_full, rel=0.02)


def test_command_writes_csv_and_plot(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_stdp_arguments(parser)
    args = parser.parse_args(["--protocol", "pair", "--dt=-0.5:0.5:5", "--g0", "1e-3",
                              "--g0", "1.2e-3", "-o", str(tmp_path)])
    assert stdp_command(args) == 0
    with open(tmp_path / "stdp.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["protocol", "dt_over_th", "interval_s", "cycles", "g0_s",
                             "g_final_s", "dg_over_g"]
    assert len(rows) == 10
    assert (tmp_path / "stdp.png").stat().st_size > 1000
    bad = parser.parse_args(["--g0", "5e-3", "-o", str(tmp_path)])
    assert stdp_command(bad) == 2
