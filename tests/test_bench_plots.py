"""Plots that cannot mislead, opened as data: a state that does not move is drawn flat, many
devices get a colour bar (not a legend that names half of them), the memristor's energy has its
own panel, and --energy says how large its table will be before writing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurospice.cli.main import main
from neurospice.report.energy import energy_figure, energy_report, prepare, table_estimate
from neurospice.report.memristor import (
    STATE_MIN_SPAN,
    MemristorTrace,
    iv_scatter_figure,
    memristor_traces,
    resistance_figure,
)
from neurospice.sim.ngspice import run_prepared
from neurospice.spice.deck import prepare_deck

from helpers import NETLISTS


def _trace(w: np.ndarray, seed_scale: float = 1.0) -> MemristorTrace:
    t = np.linspace(0, 1, w.size)
    v = np.sin(2 * np.pi * 5 * t)
    return MemristorTrace("m1", t, v, seed_scale * v / 2e3, w, 2e3 + 1e3 * w)


def test_a_state_that_barely_moves_is_drawn_flat() -> None:
    fig = resistance_figure(_trace(1.0 - 1e-6 * np.linspace(0, 1, 500)))
    r_ax, w_ax = fig.axes
    lo, hi = w_ax.get_ylim()
    assert hi - lo >= STATE_MIN_SPAN * 0.999
    lo, hi = r_ax.get_ylim()
    assert (hi - lo) / 3.0 >= 0.05 * 0.999  # R about 3 kOhm: at least 5 % of it
    texts = [t.get_text() for t in w_ax.texts]
    assert any("w moves by" in t for t in texts)
    # a state that does move keeps its own range
    fig = resistance_figure(_trace(np.linspace(0.0, 1.0, 500)))
    lo, hi = fig.axes[1].get_ylim()
    assert lo <= 0.0 and hi >= 1.0 and hi - lo < 1.5


@pytest.mark.parametrize("n", [5, 20])
def test_every_device_of_the_scatter_is_named(n: int) -> None:
    traces = [(s, _trace(np.zeros(200), 1 + 0.01 * s)) for s in range(1, n + 1)]
    fig = iv_scatter_figure(traces)
    ax = fig.axes[0]
    if n <= 10:
        assert len(ax.get_legend().get_texts()) == n and len(fig.axes) == 1
    else:
        assert ax.get_legend() is None and len(fig.axes) == 2  # the colour bar
        assert "all 20 devices" in fig.axes[1].get_ylabel()


def test_the_energy_plot_shows_the_memristor_dissipation() -> None:
    deck = prepare_deck(NETLISTS / "memrc.cir")
    wf = run_prepared(prepare(deck))
    report = energy_report(deck, wf)
    assert memristor_traces(deck, wf)
    fig = energy_figure(report, title="memrc")
    assert len(fig.axes) == 3
    line = fig.axes[1].get_lines()[0]
    (e_diss,) = [e["e_diss_j"] for e in report["elements"].values()]
    assert e_diss > 0
    # the panel's unit makes the last value between 1 and 1000
    assert 1.0 <= line.get_ydata()[-1] < 1000.0
    ratio = line.get_ydata()[-1] / e_diss
    assert np.isclose(np.log10(ratio) % 3, 0, atol=1e-6) or np.isclose(
        np.log10(ratio) % 3, 3, atol=1e-6)


def test_the_energy_table_estimate_matches_what_is_written(tmp_path: Path) -> None:
    deck = NETLISTS / "memrc.cir"
    vectors, per_s = table_estimate(prepare_deck(deck))
    out = tmp_path / "out"
    assert main(["simulate", str(deck), "--energy", "--full-resolution", "--no-plot", "-q",
                 "-o", str(out)]) == 0
    tran = prepare_deck(deck).tran()
    assert tran is not None
    written = (out / "waveforms.csv").stat().st_size
    header = (out / "waveforms.csv").read_text().splitlines()[0]
    assert len(header.split(",")) - 1 == pytest.approx(vectors, rel=0.1)
    assert written == pytest.approx(per_s * tran[1], rel=0.3)


def test_the_dc_plot_names_the_swept_source_and_its_unit() -> None:
    from neurospice.report.analyses import dc_axis_label
    from neurospice.sim.ngspice import Waveforms

    wf = Waveforms("dc", "dc1", "v-sweep", np.linspace(0, 1, 3), {})
    assert dc_axis_label(wf, "Vmem") == "Vmem (V)"
    assert dc_axis_label(Waveforms("dc", "dc1", "i-sweep", wf.scale, {})) == \
        "swept current source (A)"
    assert dc_axis_label(Waveforms("dc", "dc1", "temp-sweep", wf.scale, {}), "temp") == "temp (C)"


def test_the_stdp_plot_marks_changes_held_at_the_device_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import neurospice.report.plots as plots
    from neurospice.batch.stdp import StdpPoint, plot_stdp

    shown = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: shown.append(fig))
    points = [StdpPoint("pair", dt, 1e-5, 1, 1.4e-3, g) for dt, g in
              ((-1.0, 0.3e-3), (-0.5, 0.3e-3), (0.5, 1.45e-3), (1.0, 1.5e-3))]
    plot_stdp(points, tmp_path / "stdp.png", g_limits=(0.3e-3, 1.5e-3))
    ax = shown[0].axes[0]
    assert "tH" in ax.get_xlabel() and "heating" in ax.get_xlabel()
    assert "(3 points)" in ax.get_title()  # two at Gmin, one at Gmax


def test_the_trace_plot_draws_a_still_state_flat(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    import neurospice.report.plots as plots

    shown = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: shown.append(fig))
    t = np.linspace(0, 2, 2001)
    w = 1.0 - 1e-5 * (np.sin(40 * t) > 0.9)
    plots.plot_traces(t, {"v": np.sin(40 * t), "m1 state w": w}, tmp_path / "t.png",
                      units={"v": "V", "m1 state w": "dimensionless"},
                      min_spans={"m1 state w": STATE_MIN_SPAN})
    axes = shown[0].axes  # whole record and zoom, per trace
    for ax in axes[2:]:
        lo, hi = ax.get_ylim()
        assert hi - lo >= STATE_MIN_SPAN * 0.999
    lo, hi = axes[0].get_ylim()
    assert hi - lo < 3  # the voltage keeps its own range
