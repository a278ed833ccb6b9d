"""The reference board netlists/coupled_fhn.cir (issue #5): defaults, locking per memristor state,
and the stochastic 1:1 / 2:1 alternation of a >= 20 s run (studies/board_amplitude.py).

The slow tests run the board in ngspice (about 6 s of wall time per simulated second); together
they take about 4 minutes on 2 cores.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from neurospice.deck import prepare_deck
from neurospice.engine import run_prepared
from neurospice.locking_report import analyse_run

ROOT = Path(__file__).resolve().parents[1]
DECK = ROOT / "netlists" / "coupled_fhn.cir"
sys.path.insert(0, str(ROOT / "studies"))

REQUIRED = ("r2", "amp", "vpeak", "c0m", "c0s", "potm", "pots", "w0", "c2c", "tc2c")


def _params() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in DECK.read_text().splitlines():
        if line.lower().startswith(".param"):
            for name, value in re.findall(r"(\w+)=(\S+)", line):
                out[name.lower()] = value
    return out


def test_board_defaults_are_the_calibrated_ones() -> None:
    p = _params()
    assert all(name in p for name in REQUIRED)
    assert p["c2c"] == "1"  # cycle-to-cycle noise on: the study's premise
    assert p["mc"] == "0"  # nominal device: figures independent of a per-device draw
    assert 1.6 <= float(p["amp"]) <= 2.0  # default amplitude inside the paper's band
    text = DECK.read_text()
    for name in ("Xmaster", "Xm1", "Xslave", "R2", "Vsense"):
        assert re.search(rf"^{name}\s", text, re.M | re.I)
    assert ".control" not in text.lower() and "*#" not in text


def _run(tstop: float, seed: int = 1, **params: float | str):
    deck = prepare_deck(DECK).with_params(params).with_tstop(tstop).with_seed(seed)
    wf = run_prepared(deck)
    return wf, analyse_run(deck, wf, t_skip=0.5).pairs[0]


@pytest.mark.slow
def test_lrs_device_pulls_the_slave_to_1to1() -> None:
    # device held in LRS (no noise, starts at w = 1): the coupling is strong and the slave
    # (natural frequency well below the master's) fires once per master spike
    wf, pair = _run(3.0, c2c=0, w0=1)
    w = np.asarray(wf["v(xm1.w)"])[wf.time > 0.5]
    assert w.min() > 0.9  # below the RESET threshold at this amplitude: stays in LRS
    assert pair.timeline is not None
    assert pair.timeline.fraction("1:1") > 0.9
    assert pair.f_slave_hz == pytest.approx(pair.f_master_hz, rel=0.02)


@pytest.mark.slow
def test_weakly_coupled_slave_runs_near_half_the_master() -> None:
    # device in HRS and a high load: the slave barely feels the master and runs near half its
    # frequency (the 2:1 partner of the alternation)
    _, pair = _run(3.0, c2c=0, w0=0, r2="100k")
    ratio = pair.f_master_hz / pair.f_slave_hz
    assert 1.6 < ratio < 2.6  # measured 2.07 (3 s, seed 1)


@pytest.mark.slow
def test_calibrated_amplitude_1to1_episodes_last_1_to_3_s() -> None:
    from board_amplitude import run_point

    p = run_point(str(DECK), 1.8, 20.0, 1, 0.5, {})
    s11 = p.stats("1:1")
    # measured (seed 1): 6 episodes of 1:1, median 1.56 s; 38 LRS <-> HRS transitions of w
    assert s11["n"] >= 3
    assert 1.0 <= s11["median"] <= 3.0  # the paper's 1-3 s
    assert p.fraction["1:1"] < 0.95  # the slave leaves 1:1 while the device is in HRS
    assert p.w_transitions >= 10  # the device itself switches LRS <-> HRS, repeatedly
    assert 0.5 < p.lrs_fraction < 0.99
