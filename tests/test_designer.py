"""The designer's workflow: parts list, tolerances and yield, sweep forms, .meas, DC/AC decks,
and results a designer can trust (one test per defect of the issue, each failing before)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from neurospice.analysis.statistics import rank_effects, wilson_interval
from neurospice.batch.sweep import parse_sweep
from neurospice.batch.tolerance import draw_factors, parse_tolerance
from neurospice.cli.batches import _fraction
from neurospice.cli.main import main
from neurospice.errors import DeckError, UsageError
from neurospice.report.bom import bom_rows, snapped
from neurospice.spice.checks import resolve_names
from neurospice.spice.deck import prepare_deck, prepare_text
from neurospice.spice.flatten import flatten
from neurospice.spice.numbers import format_si, nearest_in_series, parse_si, series_values
from neurospice.spice.tolerances import component_slots, with_factors

from helpers import DATA, NETLISTS

BOARD = NETLISTS / "coupled_fhn.cir"
TOY = DATA / "decks" / "toy_pair.cir"


# --- parts list ----------------------------------------------------------------------------

def test_bom_lists_every_instance_with_its_own_value() -> None:
    rows = {r.path: r for r in bom_rows(prepare_deck(BOARD), "E24")}
    # the two neurons' membrane capacitors are different parts with different values
    assert rows["xmaster.c0"].value == pytest.approx(1e-6)
    assert rows["xslave.c0"].value == pytest.approx(3.3e-6)
    # a resistor computed from the subcircuit's parameters: r0/1.53*vcc/(0.77*v0-vd)
    r = rows["xmaster.xcub.r1pa"]
    assert r.value == pytest.approx(3.3e3 / 1.53 * 12 / (0.77 * 2.5 - 0.55), rel=1e-9)
    assert r.nearest == 18e3 and r.error == pytest.approx(18e3 / r.value - 1)
    # op-amps and the memristor are parts, not circuits to look into
    assert rows["xm1"].kind == "part" and rows["xm1"].model == "zro2"
    assert not any(p.startswith("xmaster.xcub.xu1.") for p in rows)
    assert sum(1 for r in rows.values() if r.model == "opamp") == 12


def test_snapped_deck_has_series_values_and_the_rest_unchanged() -> None:
    deck = prepare_deck(BOARD)
    before = {e.path: e for e in flatten(deck) if e.value}
    after = {e.path: e.value for e in flatten(snapped(deck, "E24")) if e.value}
    assert before.keys() == after.keys()
    for path, v in after.items():
        if before[path].pot_with is not None:  # a potentiometer is trimmed, not snapped
            assert v == before[path].value, path
        else:
            assert v == pytest.approx(nearest_in_series(before[path].value or 0, "E24"),
                                      rel=1e-9), path
    assert after["xmaster.xcub.r1pa"] == pytest.approx(18e3)
    assert after["xmaster.rpa"] == 4e3  # the master's V3 potentiometer keeps its setting


def test_potentiometers_are_one_part_each() -> None:
    rows = bom_rows(prepare_deck(BOARD), "E24")
    pots = [r for r in rows if r.kind == "pot"]
    assert sorted(r.path for r in pots) == ["xmaster.rka+rkb", "xmaster.rpa+rpb",
                                            "xslave.rka+rkb", "xslave.rpa+rpb"]
    assert all(r.value == pytest.approx(10e3, rel=1e-6) for r in pots)


def test_bom_command_counts_values_off_the_series(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bom.csv"
    assert main(["bom", str(BOARD), "--csv", str(out), "--snap", str(tmp_path / "s.cir"),
                 "--no-rerun"]) == 0
    text = capsys.readouterr().out
    assert "values are not E24 values" in text
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["instance"] for r in rows} >= {"xmaster.c0", "r2", "xm1"}
    assert prepare_deck(tmp_path / "s.cir").neurons()  # the snapped deck compiles again


def test_e_series() -> None:
    assert series_values("E12", 1e3, 3.3e3) == [1e3, 1.2e3, 1.5e3, 1.8e3, 2.2e3, 2.7e3, 3.3e3]
    assert nearest_in_series(4.6e3, "E24") == 4.7e3
    assert nearest_in_series(-1.05e-6, "E6") == -1e-6
    assert len(series_values("E96", 1.0, 9.99)) == 96


# --- tolerances ----------------------------------------------------------------------------

def test_every_instance_gets_its_own_factor_and_the_deck_still_runs_nominal() -> None:
    deck = prepare_deck(BOARD)
    slots = component_slots(deck)
    assert len(slots) > 50 and len({s.path for s in slots}) == len(slots)
    factors = {"xmaster.c0": 1.1, "xslave.xcub.rn": 0.95, "r2": 1.02}
    values = {e.path: e.value for e in flatten(with_factors(deck, factors))}
    nominal = {e.path: e.value for e in flatten(deck)}
    assert values["xmaster.c0"] == pytest.approx(1.1 * nominal["xmaster.c0"])
    assert values["xslave.c0"] == pytest.approx(nominal["xslave.c0"])  # the other instance
    assert values["xslave.xcub.rn"] == pytest.approx(0.95 * nominal["xslave.xcub.rn"])
    assert values["xmaster.xcub.rn"] == pytest.approx(nominal["xmaster.xcub.rn"])
    assert values["r2"] == pytest.approx(1.02 * 2e3)
    with pytest.raises(DeckError, match="no resistor"):
        with_factors(deck, {"xmaster.nosuch": 1.1})


def test_tolerance_draws_are_reproducible_bounded_and_per_class() -> None:
    slots = component_slots(prepare_deck(BOARD))
    tols = [parse_tolerance("R=5%"), parse_tolerance("C=10%"), parse_tolerance("r2=1%")]
    a = draw_factors(slots, tols, seed=7)
    assert a == draw_factors(slots, tols, seed=7) and a != draw_factors(slots, tols, seed=8)
    for s in slots:
        if s.pot_with is not None:
            assert s.path not in a  # potentiometers are trimmed: no class tolerance
            continue
        dev = a[s.path] - 1
        limit = 0.01 if s.path == "r2" else 0.05 if s.letter == "r" else 0.10
        assert abs(dev) <= limit + 1e-12
    devs = np.array([a[s.path] - 1 for s in slots
                     if s.letter == "r" and s.path != "r2" and s.pot_with is None])
    assert 0.005 < devs.std() < 0.03  # sigma = 5 % / 3
    u = draw_factors(slots, [parse_tolerance("R=5%")], seed=1, dist="uniform")
    assert max(abs(v - 1) for v in u.values()) > 0.04
    with pytest.raises(UsageError):
        parse_tolerance("R=150%")


def test_wilson_interval_and_rank_effects() -> None:
    lo, hi = wilson_interval(87, 100)
    assert lo == pytest.approx(0.790, abs=2e-3) and hi == pytest.approx(0.922, abs=2e-3)
    rows = [{"d:a": x, "d:b": 0.01 * ((k * 7) % 5)} for k, x in enumerate(np.linspace(-1, 1, 20))]
    outcome = [r["d:a"] > 0 for r in rows]
    (top, rho), *_ = rank_effects(rows, outcome)
    assert top == "a" and rho > 0.8


@pytest.mark.slow
def test_tolerance_run_reports_yield(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", str(TOY), "--runs", "6", "--tol", "R=5%", "--tol", "C=10%",
                   "--tstop", "1", "-q", "-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "1:1 in 6 of 6 builds, 100 %, 95 % interval 61-100 %" in out
    with (tmp_path / "runs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    freqs = {float(r["f_master_hz"]) for r in rows}
    assert len(freqs) == 6  # every build is a different board
    assert [int(r["seed"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert any(k.startswith("d:xmaster.") for k in rows[0])
    assert (tmp_path / "yield.png").read_bytes()[:4] == b"\x89PNG"


# --- sweeps as designers write them ----------------------------------------------------------

def test_sweep_forms() -> None:
    assert parse_sweep("r2=1k:3k:3").values == [1e3, 2e3, 3e3]
    assert parse_sweep("r2=log:1k:100k:3").values == pytest.approx([1e3, 1e4, 1e5])
    assert parse_sweep("r2=E12:1k:2k").values == [1e3, 1.2e3, 1.5e3, 1.8e3]
    assert parse_sweep("amp=1.4,1.8,2.2").values == [1.4, 1.8, 2.2]
    assert parse_sweep("r2=log:1k:100k:3").log


def test_a_component_can_be_swept_by_instance_name() -> None:
    deck = prepare_deck(BOARD)
    assert "r2" in deck.params()  # the board's own .param r2 wins over the resistor R2
    d = prepare_deck(TOY).with_values({"rb": 2.2e3})
    assert any(c.text == "Rb bin x 2200" for c in d.cards)


# --- results a designer trusts ---------------------------------------------------------------

def test_locked_fraction_zero_prints_as_zero() -> None:
    assert _fraction(0.0) == "0.00" and _fraction("0.0") == "0.00" and _fraction("") == "-"


def test_values_print_with_si_prefixes() -> None:
    assert format_si(5000.0) == "5k" and format_si(2.2e-6) == "2.2u"
    assert parse_si(format_si(3.3e3)) == 3.3e3


def test_check_names_the_line_of_an_unknown_subcircuit(tmp_path: Path) -> None:
    deck = tmp_path / "d.cir"
    deck.write_text("t\nV1 a 0 1\nX1 a 0 nosuchsub\n.op\n.end\n")
    with pytest.raises(DeckError) as err:
        resolve_names(prepare_deck(deck))
    assert err.value.line == 3 and "nosuchsub" in str(err.value)
    deck.write_text("t\nV1 a 0 1\nD1 a 0 dmissing\n.op\n.end\n")
    with pytest.raises(DeckError, match="unknown model 'dmissing'"):
        resolve_names(prepare_deck(deck))


def test_nsn_and_cir_runs_do_not_share_an_output_folder() -> None:
    from neurospice.cli.simulate import default_output_dir

    assert default_output_dir(NETLISTS / "coupled_fhn.nsn") != default_output_dir(BOARD)


def test_short_run_is_inconclusive_and_summary_records_the_run(tmp_path: Path) -> None:
    status = main(["simulate", str(BOARD), "--tstop", "0.3", "--param", "r2=2.2k", "--seed",
                   "3", "-q", "--no-plot", "-o", str(tmp_path)])
    assert status == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    data = summary["pairs"][0]
    assert data["mode"] == "inconclusive"
    run = summary["run"]
    assert run["params"] == {"r2": "2.2k"} and run["seed"] == 3
    assert run["tstop_s"] == pytest.approx(0.3) and run["engine"] == "spice"
    assert run["ngspice"] and run["neurospice"]
    assert "--param r2=2.2k" in run["command"] and "--seed 3" in run["command"]


def test_outputs_of_an_earlier_run_are_set_aside(tmp_path: Path) -> None:
    stale = tmp_path / "locking_old_pair.png"
    stale.write_bytes(b"old")
    import os
    import time

    os.utime(stale, (time.time() - 60, time.time() - 60))
    assert main(["simulate", str(DATA / "decks" / "rc.cir"), "-q", "-o", str(tmp_path)]) == 0
    assert not stale.exists()
    assert (tmp_path / "previous" / "locking_old_pair.png").read_bytes() == b"old"
    assert (tmp_path / "waveforms.csv").is_file()


# --- analyses and measurements -----------------------------------------------------------

MEAS_DECK = """RC step with measurements
V1 in 0 pwl(0 0 1u 1 1 1)
R1 in out 1k
C1 out 0 1u
.tran 10u 5m
.meas tran trise trig v(out) val=0.1 rise=1 targ v(out) val=0.9 rise=1
.meas tran vend find v(out) at=5m
.end
"""


def test_meas_results_are_printed_and_kept(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    deck = tmp_path / "meas.cir"
    deck.write_text(MEAS_DECK)
    assert main(["simulate", str(deck), "-q", "--no-plot", "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    meas = json.loads((tmp_path / "o" / "summary.json").read_text())["measurements"]
    tau = 1e3 * 1e-6
    assert meas["trise"] == pytest.approx(tau * math.log(9), rel=0.02)  # 10-90 % of an RC
    assert meas["vend"] == pytest.approx(1 - math.exp(-5), rel=0.01)
    assert "measurements" in out


def test_dc_and_ac_decks_run_with_tables_and_plots(tmp_path: Path) -> None:
    assert main(["simulate", str(NETLISTS / "fhn_cubic_dc.cir"), "-q", "-o",
                 str(tmp_path / "dc")]) == 0
    with (tmp_path / "dc" / "dc.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert len(rows) > 100 and (tmp_path / "dc" / "dc.png").is_file()
    assert main(["simulate", str(NETLISTS / "gyrator_ac.cir"), "-q", "-o",
                 str(tmp_path / "ac")]) == 0
    with (tmp_path / "ac" / "ac.csv").open() as fh:
        table = list(csv.DictReader(fh))
    f = np.array([float(r["frequency [Hz]"]) for r in table])
    mag = np.array([float(r["i(vin) magnitude [A]"]) for r in table])
    # the gyrator is an inductor of lval = 4.7 H with rs = 150 ohm: |Z| = |rs + j w L|
    z = np.hypot(150.0, 2 * np.pi * f * 4.7)
    assert np.allclose(1 / mag, z, rtol=0.05)
    assert (tmp_path / "ac" / "ac.png").is_file()


def test_op_deck_prints_the_operating_point(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    deck = tmp_path / "op.cir"
    deck.write_text("divider\nV1 a 0 10\nR1 a b 3k\nR2 b 0 1k\n.op\n.end\n")
    assert main(["simulate", str(deck), "-q", "-o", str(tmp_path / "o")]) == 0
    values = json.loads((tmp_path / "o" / "summary.json").read_text())["analyses"][0]["values"]
    assert {v["vector"]: v["value"] for v in values}["v(b)"] == pytest.approx(2.5)


def test_deck_text_can_be_compiled_from_a_string() -> None:
    d = prepare_text(MEAS_DECK, base_dir=Path("."))
    assert [k for k, _, _ in d.analyses()] == ["tran"]


def test_network_board_places_a_current_probe_like_the_deck() -> None:
    from neurospice.network.loading import load_deck

    nsn, cir = load_deck(NETLISTS / "coupled_fhn.nsn"), prepare_deck(BOARD)
    # the same parts in both: two neurons, the device, the load and a 0 V ammeter in series
    kinds = sorted(c.letter for c in nsn.top_cards if c.is_element)
    assert kinds == sorted(c.letter for c in cir.top_cards if c.is_element)
    saves = " ".join(c.text for c in nsn.cards if c.head == ".save")
    assert "i(vvsense)" in saves


def test_waveforms_as_parquet_carry_names_and_units(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    assert main(["simulate", str(BOARD), "--tstop", "0.2", "--format", "parquet", "-q",
                 "--no-plot", "-o", str(tmp_path)]) == 0
    table = pq.read_table(tmp_path / "waveforms.parquet")
    assert {"time", "master.mem", "slave.mem", "m1.w", "m1.r"} <= set(table.schema.names)
    assert table.schema.field("m1.r").metadata[b"unit"] == b"ohm"
    assert table.schema.field("m1.w").metadata[b"unit"] == b"1"
    assert table.schema.field("master.mem").metadata[b"vector"] == b"v(mmem)"
    assert not (tmp_path / "waveforms.csv").exists()


def test_network_tran_reltol_reaches_the_deck() -> None:
    from neurospice.network.assembler import compile_network
    from neurospice.network.errors import NetworkSemanticError

    text = "neuron a : fhn\nneuron b : fhn\na -> load(10k) -> b\ntran 1s reltol = {r}\n"
    deck = compile_network(text.format(r="5m"))
    assert ".options reltol=5m\n.tran" in deck.text
    with pytest.raises(NetworkSemanticError, match="between 0 and 1"):
        compile_network(text.format(r="2"))


def test_monte_carlo_rows_name_their_engine(tmp_path: Path) -> None:
    for engine in ("model", "spice"):
        out = tmp_path / engine
        assert main(["simulate", str(BOARD), "--runs", "2", "--engine", engine, "--tstop",
                     "0.6", "-q", "--no-plot", "-o", str(out)]) == 0
        with (out / "runs.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert [r["engine"] for r in rows] == [engine, engine]
        assert [int(r["seed"]) for r in rows] == [1, 2]
        assert all(35 < float(r["f_master_hz"]) < 45 for r in rows)
