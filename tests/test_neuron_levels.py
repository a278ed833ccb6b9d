"""Levels of neurons other than ``fhn`` from their own spikes (issue #20, docs/analysis.md 1).

The subcircuit alone is pulsed in ngspice (neurospice.report.neuron_levels); its rest and full
spike give the spike level (halfway), the trigger (a quarter) and the re-arm level (a tenth).
Spike counts are checked against counts made by eye on the plots of these runs
(docs/figures/analysis_hh_levels.png for the HH neuron).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from neurospice.analysis.spikes import thresholds_from_pulses
from neurospice.report import neuron_levels
from neurospice.report.summary import summarise
from neurospice.sim.ngspice import run_prepared
from neurospice.spice.deck import prepare_deck

ROOT = Path(__file__).resolve().parents[1]
HH = ROOT / "netlists" / "hh_neuron.cir"
USER = ROOT / "tests" / "data" / "decks" / "user_neuron.cir"


@pytest.fixture()
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEUROSPICE_CACHE", str(tmp_path))
    neuron_levels._MEMO.clear()
    yield tmp_path
    neuron_levels._MEMO.clear()


def test_hh_levels_from_its_own_spike_and_its_spikes_counted_as_by_hand(
        fresh_cache: Path) -> None:
    deck = prepare_deck(HH)
    wf = run_prepared(deck)
    s = summarise(deck, wf)
    (n,) = s.neurons
    th = n.thresholds
    assert th["source"] == "pulse response of hh"
    # rest is the patch's -65.0 mV (netlists/lib/hh.lib); the full spike peaks near +40 mV,
    # so the spike level lies about halfway, the re-arm level just above rest
    spike_v, on_v, off_v = (float(th[k]) for k in ("spike_v", "on_v", "off_v"))  # type: ignore[arg-type]
    rest = off_v - (on_v - off_v) * 10 / 15
    assert rest == pytest.approx(-0.065, abs=5e-4)
    peak = rest + 2 * (spike_v - rest)
    assert 0.030 < peak < 0.050
    # by eye on the 100 ms run at 10 uA/cm2: seven spikes (at 6.6, 21, 36, 50, 65, 80, 94 ms),
    # nothing else crosses the middle of the trace
    assert n.stats.count == 7
    assert n.partial == 0
    # cached by the subcircuit's text: a file was written and is read back without a run
    files = list((fresh_cache / "model").glob("levels-*.json"))
    assert len(files) == 1
    saved = json.loads(files[0].read_text())
    assert saved["spike_v"] == pytest.approx(spike_v)
    neuron_levels._MEMO.clear()
    again = neuron_levels.response_levels(deck, deck.neurons()[0])
    assert again is not None and again.thresholds.spike_v == pytest.approx(spike_v)


def _fhn_rest(iext: float) -> float:
    """The normalised FHN's equilibrium u: u - u^3/3 - (u + 0.7)/0.8 + iext = 0."""
    roots = np.roots([-1 / 3, 0.0, 1 - 1 / 0.8, iext - 0.7 / 0.8])
    return float(min(roots, key=lambda r: abs(r.imag)).real)


def test_a_user_written_neuron_gets_levels_of_its_own(fresh_cache: Path) -> None:
    deck = prepare_deck(USER)
    wf = run_prepared(deck)
    s = summarise(deck, wf)
    by = {n.name: n for n in s.neurons}
    exc, free = by["e"], by["f"]
    # the excitable copy: rest at the FHN equilibrium with iext = 0 (-1.199 V); 0.1 of the way
    # to a spike of about +1.9 V is the re-arm level
    rest_e = _fhn_rest(0.0)
    assert rest_e == pytest.approx(-1.199, abs=1e-3)
    th = exc.thresholds
    assert th["source"] == "pulse response of myfhn"
    a = (float(th["on_v"]) - float(th["off_v"])) / 0.15  # type: ignore[arg-type]
    assert float(th["off_v"]) == pytest.approx(rest_e + 0.1 * a, abs=2e-3)  # type: ignore[arg-type]
    assert 1.7 < rest_e + a < 2.1
    # by eye: one spike after each of the eight 4 mA pulses (20, 80, ..., 440 ms), none after
    # the 0.4 mA pulses (a 0.1 V bump each)
    assert exc.stats.count == 8
    assert exc.partial == 0
    # the free-running copy: levels from its own spikes, around its (unstable) equilibrium
    assert free.thresholds["source"] == "pulse response of myfhn (free-running)"
    assert float(free.thresholds["off_v"]) > _fhn_rest(0.5)  # type: ignore[arg-type]
    assert float(free.thresholds["spike_v"]) != pytest.approx(  # type: ignore[arg-type]
        float(th["spike_v"]), abs=0.05)  # type: ignore[arg-type]
    # both cached: a second summary (a new process: the files only) runs nothing
    neuron_levels._MEMO.clear()
    ran: list[str] = []
    real_measure = neuron_levels.measure

    def spy(*a, **kw):  # type: ignore[no-untyped-def]
        ran.append(a[1])
        return real_measure(*a, **kw)

    neuron_levels.measure = spy  # type: ignore[assignment]
    try:
        again = summarise(deck, wf)
    finally:
        neuron_levels.measure = real_measure  # type: ignore[assignment]
    assert ran == []
    assert again.thresholds["v(f)"].spike_v == pytest.approx(float(free.thresholds["spike_v"]))  # type: ignore[arg-type]
    # by eye: twelve full spikes before 0.48 s (period about 40 ms from 25 ms), none partial
    times = s.trains["v(f)"].times
    assert int(np.sum(times < 0.48)) == 12
    assert free.partial == 0


def test_a_passive_membrane_has_no_full_spike() -> None:
    t = np.linspace(0.0, 0.15, 3001)
    amps = 1e-9 * 10.0 ** (0.5 * np.arange(17))
    # an RC membrane (1 uF, 10 kOhm) at -70 mV: it charges during the pulse and decays after
    tau, r = 10e-3, 1e4
    on, w = 10e-3, 0.5e-3
    rise = np.where(t < on, 0.0, 1 - np.exp(-(np.minimum(t, on + w) - on) / tau))
    decay = np.where(t > on + w, np.exp(-(t - on - w) / tau), 1.0)
    traces = -0.07 + np.outer(amps * r, rise * decay)
    assert thresholds_from_pulses(t, traces, amps, on, w, late=0.08) is None
    # the same membrane firing a stereotyped spike to +40 mV after every pulse above 10 uA
    # (a pulse that charges it higher than that carries it past the spike)
    spike = -0.07 + 0.11 * np.exp(-(((t - 12e-3) / 0.5e-3) ** 2))
    with_spikes = np.where((amps > 1e-5)[:, None], np.maximum(traces, spike[None, :]), traces)
    res = thresholds_from_pulses(t, with_spikes, amps, on, w, late=0.08)
    assert res is not None and not res.free_running
    assert res.rest_v == pytest.approx(-0.07)
    assert res.peak_v == pytest.approx(0.04, abs=5e-3)
    assert res.thresholds.spike_v == pytest.approx(-0.015, abs=3e-3)
    assert math.isfinite(res.amplitude_a)
    # a copy left ringing by 1 mV long after its pulse is not a free-running neuron
    ring = with_spikes + np.outer(amps > 1e-2, 1e-3 * np.sin(2 * np.pi * 200 * t) * (t > 0.08))
    again = thresholds_from_pulses(t, ring, amps, on, w, late=0.08)
    assert again is not None and not again.free_running
    assert again.peak_v == pytest.approx(res.peak_v)


def test_an_fhn_instance_named_like_a_card_inside_fhn_keeps_its_iv_levels(
        tmp_path: Path) -> None:
    # fhn's gyrator holds an 'XA' card: an instance Xa must be read from its own top-level card
    from neurospice.report.summary import _instance_params, neuron_thresholds

    text = (ROOT / "netlists" / "fhn_neuron.cir").read_text()
    text = text.replace("Xn1 mem out fhn", "Xa mem out fhn").replace("v(xn1.", "v(xa.")
    text = text.replace(".include lib/", f".include {ROOT / 'netlists' / 'lib'}/")
    deck_path = tmp_path / "xa.cir"
    deck_path.write_text(text)
    deck = prepare_deck(deck_path)
    (inst,) = deck.neurons()
    assert _instance_params(deck, inst) == {"pot": "{pot}", "c0": "{c0}", "kout": "{kout}"}
    wf = run_prepared(deck.with_tstop(0.05))
    th = neuron_thresholds(deck, wf)["v(mem)"]
    assert th.source == "I-V knee of fhn"
    assert th.spike_v == pytest.approx(1.90, abs=0.02)


def test_the_hh_patch_driving_fhn_counts_its_spikes_as_by_eye(fresh_cache: Path,
                                                              tmp_path: Path) -> None:
    from neurospice.cli.main import main

    out = tmp_path / "out"
    code = main(["simulate", str(ROOT / "netlists" / "coupled_hh.nsn"), "-o", str(out),
                 "--tstop", "0.2", "-q", "--no-plot"])
    assert code == 0
    by = {n["name"]: n for n in json.loads((out / "summary.json").read_text())["neurons"]}
    hh = by["hh"]
    assert hh["thresholds"]["source"] == "pulse response of hh"
    # by eye on the first 0.2 s: fourteen spikes, one every 14.6 ms from 7 ms (the last at
    # 197 ms), the first to +40 mV and the others to +30 mV; nothing else
    assert hh["stats"]["count"] == 14 and hh["partial"] == 0
    # the FHN slave keeps the levels of its I-V
    assert by["slave"]["thresholds"]["source"] == "I-V knee of fhn"
