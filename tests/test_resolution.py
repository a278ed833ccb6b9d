"""The reduced waveform table: every vector within its tolerance, spike timing kept, every row
on request."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurospice.report.resolution import reduce_rows
from neurospice.report.summary import start_table
from neurospice.sim.ngspice import Waveforms

from helpers import DATA, run_cli

TOY = DATA / "decks" / "toy_pair.cir"


def _max_error(t: np.ndarray, y: np.ndarray, keep: np.ndarray) -> float:
    """Largest deviation of the linear interpolation through the kept rows, in units of the
    vector's peak-to-peak range."""
    span = np.ptp(y)
    return float(np.max(np.abs(np.interp(t, t[keep], y[keep]) - y)) / span) if span else 0.0


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 3000), seed=st.integers(0, 2**31), tol=st.sampled_from([1e-2, 1e-3]),
       stride=st.sampled_from([1, 7, 32]))
def test_every_vector_stays_within_its_tolerance(n: int, seed: int, tol: float,
                                                 stride: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.1, 2.0, n))  # non-uniform steps, like ngspice's
    spiky = np.tanh(20 * np.sin(t / 30.0)) + 0.01 * rng.normal(size=n)
    smooth = 1e-3 * np.cos(t / 100.0)  # tiny range: its own tolerance, not the other's
    flat = np.full(n, 3.0)
    keep = reduce_rows(t, [spiky, smooth, flat], tol, stride)
    assert keep[0] == 0 and keep[-1] == n - 1
    assert np.all(np.diff(keep) > 0)
    for y in (spiky, smooth, flat):
        assert _max_error(t, y, keep) <= tol * (1 + 1e-9)


def test_smooth_waveforms_shrink_and_zero_tolerance_keeps_everything() -> None:
    t = np.linspace(0.0, 1.0, 20001)
    y = np.sin(2 * np.pi * 5 * t)
    keep = reduce_rows(t, [y], 1e-3)
    # a sine needs ~ pi / sqrt(2 tol) ~ 70 points per half period at 1e-3
    assert len(keep) < 0.1 * len(t)
    assert len(reduce_rows(t, [y], 0.0)) == len(t)


def test_nan_rows_are_kept_with_their_neighbours() -> None:
    t = np.arange(100.0)
    y = np.zeros(100)
    y[50] = np.nan
    keep = set(reduce_rows(t, [y], 1e-3).tolist())
    assert {49, 50, 51} <= keep


def _table(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open() as fh:
        header = next(csv.reader(fh))
    return header, np.loadtxt(path, delimiter=",", skiprows=1)


def _crossings(t: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    i = np.nonzero((y[:-1] < level) & (y[1:] >= level))[0]
    return t[i] + (level - y[i]) * (t[i + 1] - t[i]) / (y[i + 1] - y[i])


def test_default_table_keeps_spike_timing_and_full_resolution_keeps_every_row(
        tmp_path: Path) -> None:
    reduced, full = tmp_path / "reduced", tmp_path / "full"
    for out, extra in ((reduced, []), (full, ["--full-resolution"])):
        proc = run_cli("simulate", TOY, "-o", out, "-q", "--no-plot", "--tstop", "1", *extra)
        assert proc.returncode == 0, proc.stderr
    h_red, red = _table(reduced / "waveforms.csv")
    h_full, tab = _table(full / "waveforms.csv")
    assert h_red == h_full
    info = json.loads((reduced / "summary.json").read_text())["run"]["waveform_table"]
    assert info["rows"] == len(red) and info["of"] == len(tab) and info["tol"] == 1e-3
    assert len(red) < 0.5 * len(tab)
    # every kept row is one ngspice computed, unchanged
    rows = np.searchsorted(tab[:, 0], red[:, 0])
    np.testing.assert_array_equal(tab[rows], red)
    for k, name in enumerate(h_full[1:], start=1):
        if "mem" not in name:
            continue
        y = tab[:, k]
        level = 0.5 * (y.min() + y.max())
        ref = _crossings(tab[:, 0], y, level)
        got = _crossings(red[:, 0], red[:, k], level)
        assert len(ref) >= 10 and len(got) == len(ref)
        period = float(np.median(np.diff(ref)))
        assert np.max(np.abs(got - ref)) < 1e-3 * period, name


def test_waveform_tol_is_checked(tmp_path: Path) -> None:
    proc = run_cli("simulate", TOY, "-o", tmp_path, "-q", "--waveform-tol", "0.7")
    assert proc.returncode == 2 and "--waveform-tol" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("tol", ["1e-2", "0"])
def test_waveform_tol_sets_the_rows(tmp_path: Path, tol: str) -> None:
    proc = run_cli("simulate", TOY, "-o", tmp_path, "-q", "--no-plot", "--tstop", "0.5",
                   "--waveform-tol", tol)
    assert proc.returncode == 0, proc.stderr
    info = json.loads((tmp_path / "summary.json").read_text())["run"]["waveform_table"]
    if tol == "0":
        assert info["rows"] == info["of"]
    else:
        assert info["rows"] < 0.3 * info["of"] and info["tol"] == pytest.approx(1e-2)


def _big_waveforms() -> Waveforms:
    t = np.linspace(0.0, 1.0, 100_001)
    vectors = {"v(a)": np.sin(2 * np.pi * 7 * t), "v(b)": np.tanh(10 * np.cos(2 * np.pi * t))}
    return Waveforms("tran", "tran1", "time", t, vectors, {"v(a)": "V", "v(b)": "V"})


@pytest.mark.parametrize("tol", [1e-3, 0.0], ids=["reduced", "full: formatted in two halves"])
def test_table_written_in_a_child_equals_the_one_written_in_place(tmp_path: Path,
                                                                 tol: float) -> None:
    wf = _big_waveforms()
    forked = start_table(wf, tmp_path / "forked", None, tol=tol)
    inline = start_table(wf, tmp_path / "inline", None, tol=tol, parallel=False)
    (p1, info1), (p2, info2) = forked.wait(), inline.wait()
    assert forked.forked and not inline.forked
    assert p1.read_bytes() == p2.read_bytes() and info1 == info2
    assert info1["of"] == 100_001
    assert info1["rows"] == 100_001 if tol == 0 else info1["rows"] < 100_001


def test_table_child_error_reaches_the_caller_as_the_same_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    job = start_table(_big_waveforms(), blocker / "out", None, tol=1e-3)
    assert job.forked
    with pytest.raises(OSError):
        job.wait()
    assert blocker.read_text() == "x"


def test_fork_job_returns_results_and_reports_errors() -> None:
    from neurospice.report.jobs import ForkJob

    job = ForkJob(lambda: [k * k for k in range(5)])
    assert job.forked and job.wait() == [0, 1, 4, 9, 16]

    def fail() -> None:
        raise ValueError("no such curve")

    bad = ForkJob(fail, what="the test plot")
    with pytest.raises(RuntimeError, match="the test plot failed: ValueError: no such curve"):
        bad.wait()
