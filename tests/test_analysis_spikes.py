"""Spike detection on synthetic waveforms with known spike times, widths and rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from neurospice.analysis.spikes import SpikeTrain, detect_spikes, half_widths, spike_stats

FWHM_PER_SIGMA = math.sqrt(2.0 * math.log(2.0))  # half of FWHM / sigma for a Gaussian


def fhn_like(
    t: NDArray[np.float64],
    times: NDArray[np.float64],
    *,
    rise: float = 0.004,
    fall: float = 0.009,
    base: float = -5.0,
    top: float = 4.0,
    noise: float = 0.0,
    seed: int = 0,
) -> NDArray[np.float64]:
    """Asymmetric Gaussian pulses (rise sigma, fall sigma in s) from ``base`` to ``top`` (V)."""
    v = np.full_like(t, base)
    for t0 in times:
        s = np.where(t < t0, rise, fall)
        v += (top - base) * np.exp(-0.5 * ((t - t0) / s) ** 2)
    if noise:
        v += noise * np.random.default_rng(seed).standard_normal(t.size)
    return v


T = np.arange(0.0, 3.0, 1e-4)


@pytest.mark.parametrize(
    ("freq", "rise", "fall"),
    [(10.0, 0.004, 0.009), (23.7, 0.004, 0.009), (33.0, 0.003, 0.008), (120.0, 0.0008, 0.0018)],
)
@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_fhn_like_count_frequency_width(
    freq: float, rise: float, fall: float, noise: float
) -> None:
    times = np.arange(0.05, 2.95, 1.0 / freq) + 3.3e-5
    v = fhn_like(T, times, rise=rise, fall=fall, noise=noise, seed=int(freq))
    stats = spike_stats(T, v)
    assert stats.count == times.size
    assert stats.frequency_hz == pytest.approx(freq, rel=0.01)
    true_width = FWHM_PER_SIGMA * (rise + fall)  # 3 to 15 ms
    assert stats.width_s == pytest.approx(true_width, rel=0.10)
    assert stats.vmin == pytest.approx(-5.0, abs=0.3)
    assert stats.vmax == pytest.approx(4.0, abs=0.3)
    assert stats.amplitude == pytest.approx(9.0, abs=0.5)
    assert stats.isi_cv < 0.05
    train = detect_spikes(T, v)
    np.testing.assert_allclose(train.times, times, atol=2e-3 if noise else 2e-4)
    np.testing.assert_allclose(train.peaks, 4.0, atol=0.25 if noise else 0.01)


def test_normalised_model_amplitude_two() -> None:
    """Normalised units: u between -2 and +2, times in model units."""
    t = np.arange(0.0, 200.0, 0.01)
    times = np.arange(5.0, 195.0, 12.3)
    v = fhn_like(t, times, rise=1.0, fall=2.0, base=-2.0, top=2.0, noise=0.02)
    stats = spike_stats(t, v)
    assert stats.count == times.size
    assert stats.frequency_hz == pytest.approx(1.0 / 12.3, rel=0.01)
    assert stats.width_s == pytest.approx(FWHM_PER_SIGMA * 3.0, rel=0.10)


def test_integrated_fhn_matches_period_from_zero_crossings() -> None:
    """The normalised FHN model (MODELS.md 1.2) integrated: one spike per cycle."""
    eps, alpha, beta, i_dep = 0.05, 0.5, 2.0, 0.1

    def rhs(_t: float, y: NDArray[np.float64]) -> list[float]:
        u, w = y
        g = alpha * u if u < 0 else beta * u
        return [u - u**3 / 3.0 - w, eps * (g - i_dep)]

    t = np.arange(0.0, 300.0, 0.02)
    sol = solve_ivp(rhs, (0.0, 300.0), [0.1, 0.0], t_eval=t, rtol=1e-8, atol=1e-10)
    u = sol.y[0]
    skip = 50.0
    stats = spike_stats(t, u, t_skip=skip)
    # Independent period: upward crossings of u = 0 after the transient.
    keep = t >= skip
    tt, uu = t[keep], u[keep]
    up = np.flatnonzero((uu[:-1] < 0) & (uu[1:] >= 0))
    crossings = tt[up] - uu[up] * (tt[up + 1] - tt[up]) / (uu[up + 1] - uu[up])
    period = float(np.mean(np.diff(crossings)))
    assert stats.count in (up.size - 1, up.size, up.size + 1)
    assert stats.frequency_hz == pytest.approx(1.0 / period, rel=0.01)
    assert stats.vmax == pytest.approx(2.0, abs=0.3)


def test_t_skip_removes_initial_transient() -> None:
    times = np.arange(0.05, 2.95, 0.05)
    v = fhn_like(T, times)
    stats = spike_stats(T, v, t_skip=1.025)
    assert stats.count == int(np.sum(times >= 1.025))
    train = detect_spikes(T, v, t_skip=1.025)
    assert train.times[0] == pytest.approx(1.05, abs=2e-4)
    assert train.t_start == pytest.approx(1.025, abs=1e-4)


@pytest.mark.parametrize(
    "trace",
    [
        np.zeros_like(T),
        np.full_like(T, -1.2),
        0.05 * np.random.default_rng(1).standard_normal(T.size),
        -1.0 + 0.1 * np.random.default_rng(2).standard_normal(T.size),
        # resting level with slow drift well below the spike scale
        -1.0 + 0.1 * np.sin(2 * np.pi * 0.7 * T),
    ],
    ids=["zero", "constant", "noise", "offset-noise", "slow-drift"],
)
def test_resting_traces_have_no_spikes(trace: NDArray[np.float64]) -> None:
    stats = spike_stats(T, trace)
    assert stats.count == 0
    assert math.isnan(stats.frequency_hz)
    assert math.isnan(stats.width_s)
    assert detect_spikes(T, trace).count == 0


def test_chatter_on_threshold_is_one_spike() -> None:
    """Strong noise on slow flanks: the hysteresis band must not double-count."""
    times = np.arange(0.1, 2.9, 0.1)
    v = fhn_like(T, times, rise=0.015, fall=0.025, noise=0.3, seed=7)
    assert detect_spikes(T, v).count == times.size


def test_min_interval_merges_and_prominence_filters() -> None:
    times = np.array([0.5, 0.52, 1.5])
    v = fhn_like(T, times, rise=0.002, fall=0.003)
    assert detect_spikes(T, v).count == 3
    merged = detect_spikes(T, v, min_interval=0.05)
    assert merged.count == 2
    # A small bump (2 V prominence) next to full spikes is dropped by prominence=4 V.
    small = v + 2.0 * np.exp(-0.5 * ((T - 2.5) / 0.005) ** 2)
    assert detect_spikes(T, small, hysteresis=(0.1, 0.2)).count == 4
    assert detect_spikes(T, small, hysteresis=(0.1, 0.2), prominence=4.0).count == 3


def test_partial_spike_at_start_is_ignored() -> None:
    times = np.array([0.0, 0.5, 1.0])  # the first pulse peaks at the first sample
    v = fhn_like(T, times)
    train = detect_spikes(T, v)
    np.testing.assert_allclose(train.times, [0.5, 1.0], atol=2e-4)


def test_non_uniform_sampling() -> None:
    rng = np.random.default_rng(3)
    t = np.sort(np.concatenate(([0.0, 3.0], rng.uniform(0.0, 3.0, 25000))))
    times = np.arange(0.1, 2.9, 1.0 / 17.0)
    v = fhn_like(t, times)
    train = detect_spikes(t, v)
    np.testing.assert_allclose(train.times, times, atol=5e-4)


def test_half_widths_per_spike() -> None:
    times = np.array([0.5, 1.5])
    v = fhn_like(T, times, rise=0.003, fall=0.012)
    w = half_widths(T, v, detect_spikes(T, v))
    np.testing.assert_allclose(w, FWHM_PER_SIGMA * 0.015, rtol=0.01)


def test_spike_train_helpers() -> None:
    tr = SpikeTrain(np.array([0.1, 0.2, 0.4]), np.array([4.0, 4.0, 4.0]), 0.0, 1.0)
    assert len(tr) == tr.count == 3
    np.testing.assert_allclose(tr.isi, [0.1, 0.2])
    assert tr.frequency_hz == pytest.approx(1.0 / 0.15)
    assert tr.isi_cv == pytest.approx(np.std([0.1, 0.2]) / 0.15)
    sub = tr.between(0.15, 0.5)
    assert sub.count == 2 and sub.duration == pytest.approx(0.35)
    with pytest.raises(ValueError):
        SpikeTrain(np.array([0.2, 0.1]), np.array([1.0, 1.0]))


@settings(max_examples=40, deadline=None)
@given(
    period=st.floats(min_value=1.0 / 150.0 * 2.5, max_value=0.1),
    phase=st.floats(min_value=0.0, max_value=1.0),
    rise=st.floats(min_value=0.001, max_value=0.004),
    ratio=st.floats(min_value=1.0, max_value=3.0),
    offset=st.floats(min_value=-3.0, max_value=3.0),
    scale=st.floats(min_value=2.0, max_value=12.0),
)
def test_property_detected_times_match_construction(
    period: float, phase: float, rise: float, ratio: float, offset: float, scale: float
) -> None:
    """Random period, phase, pulse shape and voltage scale: every spike found at its time."""
    fall = rise * ratio
    # Keep pulses separated enough to return below the lower threshold.
    period = max(period, 3.5 * (rise + fall))
    t = np.arange(0.0, 1.0, 1e-4)
    times = np.arange(0.05 + phase * period, 0.95, period)
    v = fhn_like(t, times, rise=rise, fall=fall, base=offset, top=offset + scale)
    train = detect_spikes(t, v)
    assert train.count == times.size
    np.testing.assert_allclose(train.times, times, atol=1e-4)


def test_local_window_follows_growing_amplitude() -> None:
    """Amplitude ramps from 1.6 V to 9 V peak-to-peak: global thresholds miss the
    small early spikes, running thresholds over a few periods find them all."""
    t = np.arange(0.0, 4.0, 1e-4)
    times = np.arange(0.05, 3.95, 0.05)
    unit = fhn_like(t, times, base=0.0, top=1.0)  # 0..1 pulses
    amp = np.interp(t, [0.0, 4.0], [1.6, 9.0])
    v = -amp * 5.0 / 9.0 + amp * unit  # from -0.9/+0.7 V to -5/+4 V
    assert detect_spikes(t, v).count < times.size
    local = detect_spikes(t, v, local_window=0.2)
    assert local.count == times.size
    np.testing.assert_allclose(local.times, times, atol=2e-4)
    # A resting stretch inside the record stays silent with running thresholds.
    quiet = np.where(t < 1.975, -amp * 5.0 / 9.0 + 0.01 * np.sin(2 * np.pi * 3 * t), v)
    found = detect_spikes(t, quiet, local_window=0.2)
    np.testing.assert_allclose(found.times, times[times > 1.975], atol=2e-4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60), st.sampled_from([3, 5]))
def test_median_filter_equals_scipy(values: list[float], size: int) -> None:
    from scipy.ndimage import median_filter

    from neurospice.analysis.spikes import _median_filter

    v = np.asarray(values)
    size = min(size, v.size)
    np.testing.assert_array_equal(_median_filter(v, size),
                                  median_filter(v, size=size, mode="nearest"))
