"""Phases, ratios and n:m locking on spike trains with known ratios."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from neurospice.analysis.locking import (
    best_ratio,
    classify_locking,
    frequency_ratio,
    instantaneous_phase,
    phase_difference,
    phase_locking,
    phase_ratio,
)
from neurospice.analysis.spikes import SpikeTrain

F_MASTER = 30.0  # Hz
DURATION = 10.0  # s


def train(
    freq: float, *, phase: float = 0.0, jitter: float = 0.0, seed: int = 0
) -> NDArray[np.float64]:
    """Periodic spike times (s) at ``freq`` (Hz) with Gaussian timing jitter (s)."""
    t = np.arange(0.01 + phase / freq, DURATION, 1.0 / freq)
    if jitter:
        t = t + jitter * np.random.default_rng(seed).standard_normal(t.size)
    return np.sort(t)


def test_instantaneous_phase_is_two_pi_per_spike_and_linear() -> None:
    spikes = np.array([1.0, 1.5, 2.5])
    ph = instantaneous_phase(spikes, [0.5, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0])
    assert math.isnan(ph[0]) and math.isnan(ph[-1])
    np.testing.assert_allclose(ph[1:-1], [0.0, math.pi, 2 * math.pi, 3 * math.pi, 4 * math.pi])
    assert np.all(np.isnan(instantaneous_phase([1.0], [1.0])))


@pytest.mark.parametrize(
    ("f_slave", "n", "m"),
    [(30.0, 1, 1), (15.0, 2, 1), (20.0, 3, 2), (60.0, 1, 2), (10.0, 3, 1), (22.5, 4, 3)],
)
def test_exact_ratios_recovered_and_locked(f_slave: float, n: int, m: int) -> None:
    master = train(F_MASTER)
    slave = train(f_slave, phase=0.37, jitter=2e-4, seed=n * 10 + m)
    assert frequency_ratio(master, slave) == pytest.approx(n / m, rel=5e-3)
    assert best_ratio(frequency_ratio(master, slave)) == (n, m)
    res = classify_locking(master, slave)
    assert (res.n, res.m) == (n, m)
    assert res.locked and res.mode == f"{n}:{m}"
    assert res.sync_index > 0.95
    assert abs(res.drift) < 0.2
    assert res.slips == 0
    # The same trains are not locked in a wrong mode.
    wrong = phase_locking(master, slave, n + 1, m)
    assert not wrong.locked and wrong.sync_index < 0.3


def test_two_to_one_means_master_fires_twice_per_slave_spike() -> None:
    master, slave = train(40.0), train(20.0, phase=0.2)
    res = classify_locking(master, slave)
    assert res.mode == "2:1"
    assert res.ratio == pytest.approx(2.0, rel=1e-3)
    # Reversing the roles gives 1:2.
    assert classify_locking(slave, master).mode == "1:2"


def test_perfect_locking_has_index_one_and_constant_phase() -> None:
    master, slave = train(F_MASTER), train(15.0, phase=0.25)
    res = phase_locking(master, slave, 2, 1)
    assert res.sync_index == pytest.approx(1.0, abs=1e-9)
    assert res.spread == pytest.approx(0.0, abs=1e-6)
    t = np.linspace(1.0, 9.0, 50)
    psi = phase_difference(master, slave, 2, 1, t)
    np.testing.assert_allclose(psi, psi[0], atol=1e-6)


def test_incommensurate_independent_trains_are_not_locked() -> None:
    master = train(F_MASTER, jitter=1e-3, seed=1)
    slave = train(F_MASTER / math.sqrt(2.0), phase=0.1, jitter=1e-3, seed=2)
    assert best_ratio(frequency_ratio(master, slave)) is None
    res = classify_locking(master, slave)
    assert not res.locked and res.mode == "unlocked"
    assert res.sync_index < 0.1
    assert res.slips > 10
    for n, m in [(1, 1), (3, 2), (4, 3), (2, 1)]:
        assert phase_locking(master, slave, n, m).sync_index < 0.1


def test_slightly_detuned_trains_slip() -> None:
    """1 % detuning over 10 s: 3 phase slips, not locked although the ratio rounds to 1:1."""
    master, slave = train(30.0), train(29.7)
    res = phase_locking(master, slave, 1, 1)
    assert not res.locked
    assert res.slips == 3
    assert res.drift == pytest.approx(2 * math.pi * 0.3 * (res.t1 - res.t0), rel=0.02)


def test_interval_restriction_and_phase_ratio() -> None:
    master = train(F_MASTER)
    slave = np.concatenate([train(30.0)[train(30.0) < 5.0], train(15.0)[train(15.0) >= 5.0]])
    assert phase_ratio(master, slave, 1.0, 4.0) == pytest.approx(1.0, rel=1e-6)
    assert phase_ratio(master, slave, 6.0, 9.0) == pytest.approx(2.0, rel=1e-6)
    assert classify_locking(master, slave, t0=1.0, t1=4.0).mode == "1:1"
    assert classify_locking(master, slave, t0=6.0, t1=9.0).mode == "2:1"
    assert not phase_locking(master, slave, 1, 1).locked


def test_accepts_spike_trains_and_handles_empty() -> None:
    m = SpikeTrain(train(F_MASTER), np.full(train(F_MASTER).size, 4.0), 0.0, DURATION)
    s = SpikeTrain(train(15.0), np.full(train(15.0).size, 4.0), 0.0, DURATION)
    assert classify_locking(m, s).mode == "2:1"
    empty = phase_locking(m, np.array([1.0]), 1, 1)
    assert not empty.locked and math.isnan(empty.sync_index)
    assert math.isnan(frequency_ratio(m, [1.0]))


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (1.0, (1, 1)),
        (0.99, (1, 1)),
        (2.03, (2, 1)),
        (1.49, (3, 2)),
        (0.5, (1, 2)),
        (0.67, (2, 3)),
        (1.25, (5, 4)),
        (math.sqrt(2.0), None),
        (math.pi, None),
        (0.0, None),
        (math.nan, None),
    ],
)
def test_best_ratio_table(x: float, expected: tuple[int, int] | None) -> None:
    assert best_ratio(x) == expected


def test_best_ratio_prefers_simplest_and_respects_limits() -> None:
    # 1.98 is within 2 % of 2/1; the denominator search stops at m = 1.
    assert best_ratio(1.98) == (2, 1)
    # 7/5 needs n = 7 > max_den = 5.
    assert best_ratio(1.4) is None
    assert best_ratio(1.4, max_den=7) == (7, 5)
    assert best_ratio(1.2, tol=0.25, max_den=1) == (1, 1)
    assert best_ratio(1.2, tol=0.05, max_den=1) is None


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5),
    m=st.integers(1, 5),
    err=st.floats(-0.015, 0.015),
)
def test_property_best_ratio_recovers_reduced_fraction(n: int, m: int, err: float) -> None:
    g = math.gcd(n, m)
    n0, m0 = n // g, m // g
    x = n0 / m0 * (1.0 + err)
    res = best_ratio(x)
    assert res is not None
    # The answer is within tolerance and no simpler than needed.
    assert abs(x - res[0] / res[1]) <= 0.02 * res[0] / res[1] + 1e-12
    assert res[1] <= m0
