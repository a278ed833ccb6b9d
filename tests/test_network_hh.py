"""The network language's ``hh`` neuron kind: an HH patch drives an FHN neuron through the
board's memristive synapse, and the run reports the slave's locking ratio."""

from __future__ import annotations

import math

import pytest

import neurospice
from neurospice.network.loading import network_deck_text

from helpers import NETLISTS

NSN = NETLISTS / "coupled_hh.nsn"


def test_hh_is_a_neuron_kind_and_the_isource_drives_into_the_patch() -> None:
    text = network_deck_text(NSN)
    assert "Xhh hh_mem hh_out hh " in text
    # the stimulus pushes current into the patch's membrane (ngspice: I p n flows p -> n)
    assert "Istim 0 hh_mem pulse(" in text


@pytest.mark.slow
def test_hh_drives_fhn_and_a_ratio_is_reported() -> None:
    run = neurospice.simulate(NSN, tstop=0.8, t_skip=0.2)
    neurons = {n["name"]: n for n in run.summary["neurons"]}  # type: ignore[index]
    f_hh = neurons["hh"]["stats"]["frequency_hz"]
    f_slave = neurons["slave"]["stats"]["frequency_hz"]
    assert 60 < f_hh < 75  # the patch fires repetitively at 10 uA/cm2 (scipy: 68.3 Hz)
    assert f_slave > 5
    (pair,) = run.locking
    assert pair.master == "hh" and pair.slave == "slave"
    assert math.isfinite(pair.overall.ratio)
    assert 2.5 < pair.overall.ratio < 3.5  # about three HH spikes per FHN spike
