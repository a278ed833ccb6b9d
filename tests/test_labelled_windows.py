"""The classifier against the labelled windows of studies/labelled_windows.py (issue #20).

Each ``tests/data/windows/*.npz`` holds a 0.4 s window of a slave (or a neuron alone), the
master's spike times around it, the neuron's levels (spike / trigger / re-arm, from its I-V;
from the trace range for the HH master) and its label by the documented rule (docs/analysis.md),
drawn in docs/figures/labelled_windows_*.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neurospice.analysis.modes import classify_cycles
from neurospice.analysis.spikes import SpikeTrain, Thresholds, detect_responses

DATA = Path(__file__).resolve().parent / "data" / "windows"
WINDOWS = sorted(DATA.glob("*.npz"))


def _load(path: Path) -> tuple[np.ndarray, np.ndarray, SpikeTrain, Thresholds, dict]:
    with np.load(path) as z:
        v = np.asarray(z["slave"], dtype=np.float64)
        t = float(z["t0"]) + float(z["dt"]) * np.arange(v.size)
        spike_v, on_v, off_v = (float(x) for x in z["thresholds"])
        mt = np.asarray(z["master_times"], dtype=np.float64)
        label = json.loads(str(z["label"]))
    master = SpikeTrain(mt, np.zeros(mt.size), float(mt[0]), float(mt[-1]))
    return t, v, master, Thresholds(spike_v, on_v, off_v, "fixture"), label


def test_the_set_is_large_and_varied() -> None:
    names = [p.stem for p in WINDOWS]
    assert len(names) >= 30
    for kind in ("board_spice", "board_model", "neuron_free", "neuron_pulses", "hh_fhn"):
        assert any(n.startswith(kind) for n in names), kind
    labels = {_load(p)[4]["mode"] for p in WINDOWS}
    # every class of the vocabulary the set can show
    for mode in ("1:1", "1:1 partial", "1:1 partial period 2", "unlocked", "sub-threshold"):
        assert mode in labels, mode
    assert all(p.stat().st_size < 20_000 for p in WINDOWS)  # small fixtures


@pytest.mark.parametrize("path", WINDOWS, ids=[p.stem for p in WINDOWS])
def test_classifier_agrees_with_the_label(path: Path) -> None:
    t, v, master, th, label = _load(path)
    resp = detect_responses(t, v, th)
    verdict = classify_cycles(master, resp, t0=t[0], t1=t[-1])
    assert verdict.mode == label["mode"], (verdict, label)
    # responses counted alike, but for one at an edge of the window (the labeller counts a
    # rise cut by the window's end, the trigger needs the fall below its re-arm level)
    win = (resp.times >= t[0]) & (resp.times < t[-1])
    assert abs(int(np.sum(resp.is_spike[win])) - label["spikes"]) <= 1
    assert abs(int(np.sum(~resp.is_spike[win])) - label["partial"]) <= 1


@pytest.mark.parametrize("path", WINDOWS, ids=[p.stem for p in WINDOWS])
def test_a_verdict_that_flips_within_50_mV_says_it_is_marginal(path: Path) -> None:
    from neurospice.analysis.modes import judge

    t, v, master, th, _ = _load(path)
    j = judge(master, t, v, th, t0=t[0], t1=t[-1])
    for which in ("spike", "on", "off"):
        for dv in (-0.05, 0.05):
            moved = detect_responses(t, v, th.shifted(which, dv))
            other = classify_cycles(master, moved, t0=t[0], t1=t[-1]).mode
            assert other == j.mode or j.marginal, (which, dv, other, j)
