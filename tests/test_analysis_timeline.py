"""Locking timelines on spike trains that switch modes at known times."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from neurospice.analysis.spikes import SpikeTrain
from neurospice.analysis.timeline import (
    IRREGULAR,
    SILENT,
    UNLOCKED,
    local_variation,
    locking_timeline,
)

F = 30.0  # master frequency (Hz)
WINDOW = 0.5  # default window (s)
STEP = 0.25  # default step (s)


def master(duration: float = 10.0, f: float = F) -> NDArray[np.float64]:
    return np.arange(0.0, duration, 1.0 / f) + 1e-3


def slave_from_segments(
    segments: list[tuple[float, float, int]], f: float = F, lag: float = 0.3
) -> NDArray[np.float64]:
    """Slave spikes: in [t0, t1) it fires once every ``k`` master periods (k=1: 1:1, k=2: 2:1)."""
    out = []
    for t0, t1, k in segments:
        t = np.arange(0.0, t1 + 1.0, k / f) + 1e-3 + lag / f
        out.append(t[(t >= t0) & (t < t1)])
    return np.concatenate(out)


def test_switching_one_two_one_dwell_times() -> None:
    switch1, switch2, end = 3.0, 5.2, 10.0
    tl = locking_timeline(
        master(end),
        slave_from_segments([(0, switch1, 1), (switch1, switch2, 2), (switch2, end, 1)]),
    )
    locked = [e for e in tl.episodes if e.locked]
    assert [e.mode for e in locked] == ["1:1", "2:1", "1:1"]
    # Dwell times within one window of the truth.
    assert locked[1].duration == pytest.approx(switch2 - switch1, abs=WINDOW)
    assert not locked[1].censored and locked[0].censored and locked[2].censored
    assert tl.dwell_times("2:1", complete_only=True) == [locked[1].duration]
    assert tl.dwell_times("2:1", bridged=True) == [pytest.approx(switch2 - switch1, abs=STEP)]
    assert locked[0].duration == pytest.approx(switch1 - tl.t_start, abs=WINDOW)
    assert locked[2].duration == pytest.approx(tl.t_stop - switch2, abs=WINDOW)
    # Switch times within one step; only the two real switches between locked modes.
    sw = tl.locked_switches()
    assert [(s.from_mode, s.to_mode) for s in sw] == [("1:1", "2:1"), ("2:1", "1:1")]
    assert sw[0].time == pytest.approx(switch1, abs=STEP)
    assert sw[1].time == pytest.approx(switch2, abs=STEP)
    # Every raw switch lies near a true one.
    for s in tl.switches:
        assert min(abs(s.time - switch1), abs(s.time - switch2)) <= WINDOW
    # Fractions: 2:1 for 2.2 s of ~10 s; the rest 1:1 but for about one window per switch.
    assert tl.fraction("2:1") == pytest.approx(2.2 / tl.duration, abs=WINDOW / tl.duration)
    assert tl.locked_fraction >= 1.0 - 2 * WINDOW / tl.duration
    assert tl.locked_fraction <= 1.0
    assert sum(e.duration for e in tl.episodes) == pytest.approx(tl.duration)
    assert tl.mode_at(4.0) == "2:1" and tl.mode_at(1.0) == "1:1" and tl.mode_at(8.0) == "1:1"
    assert 1.0 < tl.overall_ratio < 2.0 and not tl.overall.locked


def test_alternating_modes_dwell_distribution() -> None:
    """The paper's regime: 1:1 and 2:1 alternate with dwell times of 1-3 s."""
    durations = [1.5, 2.0, 1.0, 3.0, 2.5, 1.25, 2.75]
    edges = np.concatenate(([0.0], np.cumsum(durations)))
    segs = [(float(edges[i]), float(edges[i + 1]), 1 + i % 2) for i in range(len(durations))]
    tl = locking_timeline(master(float(edges[-1])), slave_from_segments(segs))
    sw = tl.locked_switches()
    assert len(sw) == len(durations) - 1
    for s, t_true in zip(sw, edges[1:-1], strict=True):
        assert s.time == pytest.approx(t_true, abs=STEP)
    inner_true = {"1:1": [1.0, 2.5], "2:1": [2.0, 3.0, 1.25]}  # uncensored episodes
    for mode, truth in inner_true.items():
        # Raw episodes lose about half a window at each switch ...
        raw = tl.dwell_times(mode, complete_only=True)
        assert len(raw) == len(truth)
        np.testing.assert_allclose(raw, np.asarray(truth) - WINDOW / 2, atol=WINDOW / 2 + 1e-9)
        # ... bridged ones are accurate to about one step.
        got = tl.dwell_times(mode, complete_only=True, bridged=True)
        np.testing.assert_allclose(got, truth, atol=STEP)
        stats = tl.dwell_stats(mode, complete_only=True, bridged=True)
        assert stats.count == len(truth)
        assert stats.mean == pytest.approx(np.mean(truth), abs=STEP)
        assert stats.total == pytest.approx(sum(truth), abs=len(truth) * STEP)
        counts, _ = tl.dwell_histogram(mode, bins=[0.0, 1.5, 4.0], complete_only=True, bridged=True)
        assert counts.tolist() == [
            sum(d < 1.5 for d in truth),
            sum(d >= 1.5 for d in truth),
        ]
    bridged = tl.bridged_episodes()
    assert [e.mode for e in bridged] == ["1:1", "2:1"] * 3 + ["1:1"]
    assert sum(e.duration for e in bridged) == pytest.approx(tl.duration)
    assert set(tl.dwell) >= {"1:1", "2:1"}


def test_steady_one_to_one_is_one_episode() -> None:
    tl = locking_timeline(master(), slave_from_segments([(0.0, 10.0, 1)]))
    assert [e.mode for e in tl.episodes] == ["1:1"]
    assert tl.locked_fraction == pytest.approx(1.0)
    assert tl.switches == ()
    assert tl.overall.mode == "1:1"
    assert tl.overall_ratio == pytest.approx(1.0, rel=1e-6)
    assert all(w.sync_index > 0.99 for w in tl.windows)


@pytest.mark.parametrize(("fs", "label"), [(20.0, "3:2"), (60.0, "1:2"), (10.0, "3:1")])
def test_other_ratios_are_labelled(fs: float, label: str) -> None:
    s = np.arange(0.0, 10.0, 1.0 / fs) + 0.004
    tl = locking_timeline(master(), s)
    assert tl.fraction(label) == pytest.approx(1.0)


def test_incommensurate_trains_are_unlocked() -> None:
    rng = np.random.default_rng(4)
    m = master() + 1e-3 * rng.standard_normal(master().size)
    s = np.arange(0.01, 10.0, math.sqrt(2.0) / F)
    s = np.sort(s + 1e-3 * rng.standard_normal(s.size))
    tl = locking_timeline(np.sort(m), s)
    assert tl.locked_fraction < 0.1
    assert tl.fraction(UNLOCKED) > 0.9
    assert tl.overall_ratio == pytest.approx(math.sqrt(2.0), rel=0.01)


def test_irregular_slave_is_flagged() -> None:
    rng = np.random.default_rng(5)
    isi = rng.gamma(shape=2.0, scale=0.5 / F, size=400)  # mean ISI one master period, CV 0.7
    s = 0.01 + np.cumsum(isi)
    s = s[s < 10.0]
    tl = locking_timeline(master(), s)
    assert tl.fraction(IRREGULAR) > 0.8
    assert tl.locked_fraction < 0.1
    assert all(w.slave_lv > 0.25 for w in tl.windows if w.mode == IRREGULAR)


def test_silent_slave_gap() -> None:
    s = slave_from_segments([(0.0, 4.0, 1), (6.0, 10.0, 1)])
    tl = locking_timeline(master(), s)
    modes = [e.mode for e in tl.episodes]
    assert modes[0] == modes[-1] == "1:1" and SILENT in modes
    assert set(modes) <= {"1:1", SILENT, UNLOCKED}
    # Windows that still see a slave spike at one edge are unlocked, not silent.
    assert tl.time_in(SILENT) == pytest.approx(2.0 - WINDOW, abs=WINDOW)
    assert tl.fraction("1:1") == pytest.approx(8.0 / tl.duration, abs=2 * WINDOW / tl.duration)
    # Bridging the silence is not allowed when it is longer than a window.
    assert tl.locked_switches() == ()


def test_window_spikes_for_normalised_time() -> None:
    """Model time units: master period 12.3, windows of 10 master spikes."""
    m = np.arange(0.0, 2000.0, 12.3)
    s = np.concatenate([m[(m < 900.0)][::1], m[(m >= 900.0)][::2]]) + 3.0
    tl = locking_timeline(m, s, window_spikes=10)
    assert tl.window == pytest.approx(123.0, rel=1e-6)
    assert tl.step == pytest.approx(61.5, rel=1e-6)
    sw = tl.locked_switches()
    assert len(sw) == 1 and (sw[0].from_mode, sw[0].to_mode) == ("1:1", "2:1")
    assert sw[0].time == pytest.approx(900.0, abs=tl.step)


def test_spike_train_inputs_set_the_record() -> None:
    m = master()
    s = slave_from_segments([(0.0, 10.0, 2)])
    tm = SpikeTrain(m, np.full(m.size, 4.0), 0.0, 10.0)
    ts = SpikeTrain(s, np.full(s.size, 4.0), 0.0, 10.0)
    tl = locking_timeline(tm, ts)
    assert tl.t_start == 0.0 and tl.t_stop == 10.0
    assert tl.fraction("2:1") == pytest.approx(1.0)


def test_local_variation_values() -> None:
    assert local_variation([1.0, 1.0, 1.0]) == 0.0
    assert local_variation([1.0, 2.0, 1.0, 2.0]) == pytest.approx(3.0 / 9.0)
    assert math.isnan(local_variation([1.0]))
    rng = np.random.default_rng(0)
    assert local_variation(rng.exponential(1.0, 20000)) == pytest.approx(1.0, abs=0.05)


@settings(max_examples=15, deadline=None)
@given(
    t_switch=st.floats(min_value=2.0, max_value=8.0),
    lag=st.floats(min_value=0.0, max_value=0.9),
    f=st.floats(min_value=12.0, max_value=60.0),
)
def test_property_switch_time_recovered(t_switch: float, lag: float, f: float) -> None:
    tl = locking_timeline(
        master(10.0, f), slave_from_segments([(0.0, t_switch, 1), (t_switch, 10.0, 2)], f, lag)
    )
    sw = tl.locked_switches()
    assert len(sw) == 1
    assert (sw[0].from_mode, sw[0].to_mode) == ("1:1", "2:1")
    assert sw[0].time == pytest.approx(t_switch, abs=STEP + 1.0 / f)


def test_plots_write_files_without_pyplot(tmp_path: Path) -> None:
    import sys

    from neurospice.report.plots import mode_colors, plot_map, plot_timeline, plot_traces

    t = np.arange(0.0, 4.0, 1e-3)
    m = master(4.0)
    s = slave_from_segments([(0.0, 2.0, 1), (2.0, 4.0, 2)])
    v_m = -5.0 + 9.0 * np.exp(-0.5 * ((t[:, None] - m[None, :]) / 0.004) ** 2).sum(axis=1)
    v_s = -5.0 + 9.0 * np.exp(-0.5 * ((t[:, None] - s[None, :]) / 0.004) ** 2).sum(axis=1)
    tl = locking_timeline(m, s)
    traces = {"master": v_m, "slave": v_s}
    p1 = plot_traces(t, traces, tmp_path / "a" / "traces.png", title="two neurons")
    p2 = plot_timeline(t, traces, tl, tmp_path / "timeline.png")
    modes = np.array([["1:1", "2:1", "3:2"], ["unlocked", "irregular", "1:1"]], dtype=object)
    p3 = plot_map([0.02, 0.05, 0.08], [1.6, 2.0], modes, tmp_path / "map2.png", "d", "A (V)")
    p4 = plot_map([0.02, 0.05, 0.08], None, modes[0], tmp_path / "map1.svg", "d", "mode")
    for p in (p1, p2, p3):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert p4.read_text().lstrip().startswith("<?xml")
    assert "matplotlib.pyplot" not in sys.modules
    colors = mode_colors(["2:1", "1:1", "unlocked", "5:3"])
    assert colors["1:1"] == "#1f77b4" and colors["2:1"] == "#ff7f0e"
    assert len(set(colors.values())) == 4
    with pytest.raises(ValueError):
        plot_map([0.0, 1.0], [1.0], modes, tmp_path / "bad.png", "d", "A")
