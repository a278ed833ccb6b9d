"""Spikes defined by the neuron, the mode words, and the margin of a verdict (issue #20).

Synthetic slaves: one Gaussian response per master cycle on a -1.5 V baseline, each with its own
peak, so the expected class of every cycle is known; thresholds from an FHN cubic whose knees are
at +-1 V (current drawn ``u**3/3 - u``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurospice.analysis.modes import (
    classify_cycles,
    cycle_table,
    judge,
    mode_column,
    shape_tolerance,
)
from neurospice.analysis.spikes import (
    SpikeTrain,
    Thresholds,
    detect_responses,
    iv_knees,
    margin_step,
    threshold_override,
    thresholds_from_iv,
)

PERIOD = 0.025  # master period (s): 40 Hz
BASE = -1.5  # baseline of the synthetic slave (V)


def cubic_thresholds() -> Thresholds:
    u = np.linspace(-3, 3, 601)
    th = thresholds_from_iv(u, u ** 3 / 3 - u, source="cubic")
    assert th is not None
    return th


def master(n: int = 80) -> SpikeTrain:
    t = PERIOD * (np.arange(n) + 0.5)
    return SpikeTrain(t, np.full(n, 4.0), 0.0, PERIOD * n)


def slave(heights: list[float], n: int = 80, *, lag: float = 0.008, width: float = 0.003,
          dt: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """A response of peak ``BASE + h`` after each master spike, cycling through ``heights``
    (0 = no response in that cycle)."""
    t = np.arange(0.0, PERIOD * n, dt)
    v = np.full(t.size, BASE)
    for k in range(n):
        h = heights[k % len(heights)]
        if h:
            v += h * np.exp(-0.5 * ((t - PERIOD * (k + 0.5) - lag) / width) ** 2)
    return t, v


def verdict(heights: list[float], th: Thresholds | None = None) -> str:
    th = th or cubic_thresholds()
    t, v = slave(heights)
    r = detect_responses(t, v, th)
    return classify_cycles(master(), r).mode


def test_thresholds_sit_on_the_knees_of_the_cubic() -> None:
    th = cubic_thresholds()
    assert th.knees == pytest.approx((-1.0, 1.0), abs=0.011)
    assert th.spike_v == pytest.approx(1.0, abs=0.011)  # the excited branch starts there
    # the trigger straddles the middle of the negative-conductance region (0 V) by 10 % of
    # the knee-to-knee span
    assert th.on_v == pytest.approx(0.1, abs=0.002) and th.off_v == pytest.approx(-0.1, abs=0.002)
    # a monotonic I-V (a plain resistor) has no knees: no FHN-type thresholds
    assert iv_knees(np.linspace(-1, 1, 11), np.linspace(-1, 1, 11)) is None


def test_override_moves_the_spike_level_and_keeps_the_order() -> None:
    th = threshold_override(cubic_thresholds(), 0.05)
    assert th.spike_v == 0.05 and th.on_v <= 0.05 and th.off_v < th.on_v
    assert th.source == "--spike-threshold"


@pytest.mark.parametrize("heights, mode", [
    ([3.5], "1:1"),  # a spike after every master spike
    ([3.5, 0.0], "2:1"),  # a spike every second master cycle, nothing in between
    ([3.5, 1.9], "2:1 + partial"),  # spike, partial, spike, ...: one spike per two cycles
    ([2.0], "1:1 partial"),  # peaks at 0.5 V: through the trigger, short of the knee
    ([3.0, 4.0], "1:1 period 2"),  # spikes every cycle, alternating in height: alternans
    ([0.5], "sub-threshold"),  # peaks at -1.0 V: never through the trigger
])
def test_mode_words(heights: list[float], mode: str) -> None:
    assert verdict(heights) == mode


def test_alternans_is_never_folded_into_2to1() -> None:
    # the board: a response every master cycle whose shape alternates
    assert verdict([3.0, 4.0]) == "1:1 period 2"
    assert verdict([2.2, 2.4]) == "1:1 partial period 2"
    assert not verdict([3.0, 4.0]).startswith("2:1")


def test_cycle_table_counts_each_class() -> None:
    t, v = slave([3.5, 1.9, 0.0])
    r = detect_responses(t, v, cubic_thresholds())
    cy = cycle_table(master(), r)
    # spike, partial, nothing, spike, ...: a third of the cycles each
    counts = np.bincount(cy.code, minlength=3)
    assert abs(counts[0] - counts[1]) <= 1 and abs(counts[1] - counts[2]) <= 1
    assert 0.0 <= cy.boundary < 1.0


def test_margin_is_the_distance_of_the_nearest_feature() -> None:
    th = cubic_thresholds()
    t, v = slave([3.2])  # peaks at 1.7 V, 0.7 V above the spike level
    r = detect_responses(t, v, th)
    # identical responses: the shape test's distance (0 V) lies 0.1 V under its tolerance,
    # nearer than any peak to a level
    vd = classify_cycles(master(), r)
    assert vd.mode == "1:1"
    assert vd.feature == "shape change vs shape_tol" and vd.margin_v == pytest.approx(0.1)
    # with a wide shape tolerance the nearest feature is the peaks' 0.7 V above the knee
    vd = classify_cycles(master(), r, shape_tol=5.0)
    assert vd.feature == "peak vs spike_v" and vd.margin_v == pytest.approx(0.7, abs=0.02)
    assert vd.margin_rel == pytest.approx(vd.margin_v / th.spike_v)


@pytest.mark.parametrize("heights", [[3.2], [2.53], [2.47], [3.0, 4.0], [3.5, 1.9], [2.0],
                                     [3.5, 2.48], [2.52, 3.5]])
def test_verdict_does_not_flip_within_50_mV_unless_marginal(heights: list[float]) -> None:
    th = cubic_thresholds()
    t, v = slave(heights)
    m = master()
    j = judge(m, t, v, th)
    for which, _level in (("spike", th.spike_v), ("on", th.on_v), ("off", th.off_v)):
        for dv in (-0.05, 0.05):
            moved = detect_responses(t, v, th.shifted(which, dv))
            other = classify_cycles(m, moved).mode
            if other != j.mode:
                assert j.marginal, (heights, which, dv, other)
    # peaks 30 mV from the spike level are marginal; 0.7 V away are not
    if heights in ([2.53], [2.47]):
        assert j.marginal and j.flips
    if heights == [3.2]:
        assert not j.marginal and math.isfinite(j.verdict.margin_v)
        assert j.verdict.margin_v > margin_step(th.spike_v)


def test_noise_does_not_make_spikes() -> None:
    th = cubic_thresholds()
    rng = np.random.default_rng(3)
    t, v = slave([0.5])
    v = v + rng.normal(0.0, 0.05, v.size)  # 50 mV noise on a sub-threshold slave
    r = detect_responses(t, v, th)
    assert r.n_spikes == 0
    assert classify_cycles(master(), r).mode == "sub-threshold"


def test_mode_columns_and_shape_tolerance() -> None:
    assert mode_column("1:1") == "p_1_1"
    assert mode_column("1:1 period 2") == "p_1_1_period_2"
    assert mode_column("2:1 + partial") == "p_2_1_partial"
    assert mode_column("sub-threshold") == "p_sub_threshold"
    assert shape_tolerance(cubic_thresholds()) == pytest.approx(0.1)
