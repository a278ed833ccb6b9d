"""The crossbar's discrete-time map (seed 001, eqs. 18-28) on small cases."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from neurospice.reference.crossbar import (
    CrossbarConfig,
    add_crossbar_arguments,
    crossbar_command,
    simulate_crossbar,
    spatial_period,
)
from neurospice.reference.second_order import SecondOrderParams

P = SecondOrderParams.from_library()


def test_spatial_period_helper() -> None:
    assert spatial_period(np.array([1.0, 2.0, 3.0] * 4)) == 3
    assert spatial_period(np.full(6, 2.0)) == 1
    assert spatial_period(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])) == 0


def test_small_crossbar_settles_on_period_two() -> None:
    """N = 12, tH = 2 tau_b, T = 1.25 tH, tau_m = 2.5 tau_b, u_th = 0.3 R vh Gmax: P = 2."""
    cfg = CrossbarConfig(n=12, period_ratio=1.25, tau_m_ratio=2.5, theta=0.3)
    res = simulate_crossbar(cfg)
    assert res.spatial_period == 2
    assert res.post_period_over_t == pytest.approx(2.0, abs=1e-6)
    assert len(res.post_times) > 12 * cfg.presentations / 2 - 20  # a short transient
    assert np.all((res.g >= P.gmin) & (res.g <= P.gmax))
    # two distinct levels, each strictly inside (Gmin, Gmax)
    levels = np.unique(np.round(res.g, 9))
    assert len(levels) == 2 and levels[0] < 0.95 * levels[1]
    assert P.gmin < levels[0] and levels[1] < P.gmax


def test_command_writes_json(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_crossbar_arguments(parser)
    args = parser.parse_args(["--n", "12", "--period-ratio", "1.25", "--th-ratio", "2",
                              "--tau-m-ratio", "2.5", "--theta", "0.3", "-o", str(tmp_path)])
    assert crossbar_command(args) == 0
    doc = json.loads((tmp_path / "crossbar.json").read_text())
    assert doc["spatial_period"] == 2
    assert doc["post_period_s"] == pytest.approx(2 * 1.25 * 2 * P.tau_b, rel=1e-6)
    assert (tmp_path / "crossbar.png").stat().st_size > 1000


def test_feedback_variations_drive_the_pth_synapse_to_gmax() -> None:
    """With the single-pulse variations following the heating feedback (rel_step = 0.01) the
    synapse that triggers the postsynaptic spike reaches Gmax (Proposition 1's premise), the
    others settle inside: T = 1.3 tH, tau_m = 3 tau_b, theta = 0.34 gives P = 2, post period 2T
    (the paper: 3); with G frozen over a pulse (the default) no synapse passes 0.97 mS."""
    cfg = CrossbarConfig(n=12, period_ratio=1.3, rel_step=0.01, presentations=60)
    res = simulate_crossbar(cfg)
    assert res.spatial_period == 2
    assert res.post_period_over_t == pytest.approx(2.0, abs=1e-6)
    assert res.g.max() == pytest.approx(P.gmax, rel=1e-6)
    assert P.gmin < res.g.min() < 0.97 * P.gmax
    frozen = simulate_crossbar(CrossbarConfig(n=12, period_ratio=1.3, presentations=60))
    assert frozen.g.max() < 0.97e-3
