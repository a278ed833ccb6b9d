"""The parts list a designer buys from: each part against its own series, ratings from the
simulated stress, a distributor's order file, and what snapping to real values changes."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurospice
from neurospice.cli.main import main
from neurospice.report.bom import bom_rows
from neurospice.spice.deck import prepare_deck

from helpers import NETLISTS

BOARD = NETLISTS / "coupled_fhn.cir"

DIVIDER = """divider, capacitor and follower: stresses known by hand
.include lib/parts.lib
V1 vcc 0 12
R1 vcc a 1k
R2 a 0 1k
C1 vcc 0 100n
Vs in 0 sin(0 1 1k)
XU1 in out out opamp
Rl out 0 10k
.tran 2u 3m
.end
"""

TOY = """two normalised FHN oscillators with values off the series
.param rc=2.13 eps1=0.08 eps2=0.06
.subckt toyfhn mem out params: eps=0.08 cm=1.07m iext=0.5
C1 mem 0 {cm}
B1 0 mem I = v(mem) - v(mem)*v(mem)*v(mem)/3 - v(rec) + {iext}
C2 rec 0 {cm}
B2 0 rec I = {eps}*(v(mem) + 0.7 - 0.8*v(rec))
Eout out 0 mem 0 1
.ends
Xmaster m mo toyfhn eps={eps1}
Xslave s so toyfhn eps={eps2} cm=1m
Rc mo s {rc}
.ic v(m)=1 v(s)=-1
.tran 0.2m 1 0 0.2m
.save v(m) v(s)
.end
"""


def test_capacitors_are_compared_with_their_own_series() -> None:
    rows = {r.path: r for r in bom_rows(prepare_deck(BOARD), "E96")}
    cap = rows["xmaster.xgyr.cg"]  # a standard 470 nF part
    assert cap.series == "E12" and cap.nearest == pytest.approx(470e-9) and not cap.off_series
    assert rows["r2"].series == "E96"
    rows24 = {r.path: r for r in bom_rows(prepare_deck(BOARD), "E96", cap_series="E24")}
    assert rows24["xmaster.xgyr.cg"].series == "E24"


def test_potentiometers_report_their_wiper_setting() -> None:
    rows = {r.path: r for r in bom_rows(prepare_deck(BOARD))}
    # fhn.lib: Rpa = (1 - pot) * rpot; the board sets pot = 0.6 (master), 0.562 (slave)
    assert rows["xmaster.rpa+rpb"].wiper == pytest.approx(0.4, abs=1e-9)
    assert rows["xslave.rpa+rpb"].wiper == pytest.approx(0.438, abs=1e-9)


def test_ratings_come_from_the_stress_each_part_sees(tmp_path: Path) -> None:
    deck = tmp_path / "div.cir"
    deck.write_text(DIVIDER)
    parts = neurospice.parts_list(deck, stress=True)
    assert parts.ratings is not None
    rec = {r["instance"]: r for r in parts.to_records()}
    st = parts.ratings.parts
    # 6 mA through 1k: 36 mW each, rated at >= 2x the mean -> 0.1 W
    assert st["r1"].p_mean == pytest.approx(0.036, rel=1e-3)
    assert rec["r1"]["rating"] == "100mW"
    # 12 V across the capacitor, rated at >= 1.5x -> 25 V
    assert st["c1"].v_peak == pytest.approx(12, rel=1e-6) and rec["c1"]["rating"] == "25V"
    # a follower of a 1 V, 1 kHz sine: its steepest slope is 2 pi 1k V/s
    out = parts.ratings.outputs["xu1"]
    assert out.slew == pytest.approx(2 * math.pi * 1e3, rel=0.02)
    assert out.signal_frequency() == pytest.approx(1e3, rel=0.02)
    # the +12 V rail feeds the divider (6 mA) and the op-amp's positive half-waves (mean
    # 1 V / 10k / pi)
    mean, peak = parts.ratings.rails[12.0]
    assert mean == pytest.approx(6e-3 + 1e-4 / math.pi, rel=0.01)
    assert 12.0 in parts.ratings.rails and len(parts.ratings.rails) == 1
    assert "rated from a run" in repr(parts) and "<table>" in parts._repr_html_()


def test_the_order_file_has_one_line_per_part_with_its_quantity(tmp_path: Path) -> None:
    order = tmp_path / "order.csv"
    assert main(["bom", str(BOARD), "--order", str(order)]) == 0
    with order.open() as fh:
        lines = list(csv.DictReader(fh))
    assert sum(int(r["Quantity"]) for r in lines) == len(bom_rows(prepare_deck(BOARD)))
    cg = [r for r in lines if r["Value"] == "470nF"]
    assert len(cg) == 1 and cg[0]["Quantity"] == "2" and cg[0]["Tolerance"] == "10%"
    assert cg[0]["Designators"].split() == ["xmaster.xgyr.cg", "xslave.xgyr.cg"]
    assert {r["Package"] for r in lines} == {""}  # left for the designer


def test_snapping_reports_what_changed_and_which_parts_moved_it(tmp_path: Path) -> None:
    deck = tmp_path / "toy.cir"
    deck.write_text(TOY)
    report = neurospice.snap(deck)
    # the master's two capacitors go 1.07m -> 1m (E12): the toy's frequency scales as 1/C
    factor = 1e-3 / 1.07e-3
    assert report.shifts()["f_master_hz"] == pytest.approx(1 / factor - 1, abs=0.005)
    assert {e.path for e in report.effects} == {"xmaster.c1", "xmaster.c2", "rc"}
    # the coupling resistor hardly moves the master; the capacitors do
    assert report.effects[-1].path == "rc"
    assert abs(report.effects[-1].shift(report.nominal)["f_master_hz"]) < 1e-3
    assert not report.mode_changed() and "the parts that moved it most" in report.describe()


def test_simulate_prints_its_version() -> None:
    out = subprocess.run([sys.executable, "-c",
                          "import sys; from neurospice.cli.main import simulate_main; "
                          "sys.exit(simulate_main(['--version']))"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"simulate {neurospice.__version__}"


def test_corners_bound_the_monte_carlo_builds_of_the_same_tolerances(tmp_path: Path) -> None:
    deck = tmp_path / "toy.cir"
    deck.write_text(TOY)
    report = neurospice.corners(deck, ["R=5%", "C=10%"])
    # smaller capacitors, a faster neuron: the max corner puts the master's at -10 %
    top = next(c for c in report.corners if c.name == "max master")
    assert top.factors["xmaster.c1"] == pytest.approx(0.9)
    assert top.factors["xmaster.c2"] == pytest.approx(0.9)
    assert report.sensitivities["xmaster.c2"]["f_master_hz"] < -0.3
    lo, hi = report.frequency_range("f_master_hz")
    builds = neurospice.monte_carlo(deck, 40, tol=["R=5%", "C=10%"])
    freqs = list(builds.loc[builds["status"] == "ok", "f_master_hz"])
    assert len(freqs) == 40
    assert lo <= min(freqs) and max(freqs) <= hi
    # the builds fill a good part of the box: the corners are not loose by construction
    assert max(freqs) - min(freqs) > 0.3 * (hi - lo)


def test_corners_command_writes_its_table_and_refuses_without_tolerances(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = tmp_path / "toy.cir"
    deck.write_text(TOY)
    out = tmp_path / "out"
    assert main(["simulate", str(deck), "--corners", "--tol", "C=10%", "-q", "-o",
                 str(out)]) == 0
    with (out / "corners.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["corner"] for r in rows][:1] == ["nominal"] and len(rows) == 1 + 4
    assert "max master" in capsys.readouterr().out
    assert main(["simulate", str(deck), "--corners", "-q", "-o", str(out)]) == 2
    assert "--corners needs --tol" in capsys.readouterr().err


def test_sensitivities_are_reported_only_where_the_builds_support_them() -> None:
    from neurospice.analysis.statistics import significant_effects
    from neurospice.batch.tolerance import yield_report

    rng = np.random.default_rng(3)

    def builds(n: int, depends: bool) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for _ in range(n):
            d = {f"d:r{k}": float(rng.uniform(-0.05, 0.05)) for k in range(40)}
            ok = d["d:r7"] > 0 if depends else rng.uniform() < 0.5
            rows.append({**d, "mode": "1:1" if ok else "2:1"})
        return rows

    # 12 builds of noise over 40 parts: some |rho| near 0.5 by chance, none significant
    noise = builds(12, depends=False)
    eff = significant_effects(noise, [r["mode"] == "1:1" for r in noise])
    assert eff.significant == [] and eff.strongest is not None
    assert abs(eff.strongest[1]) < eff.rho_needed and 0.8 < eff.rho_needed < 1.0
    assert any("no component separates" in line for line in yield_report(noise))
    # 80 builds whose mode is decided by one part: that part, and only it, is significant
    real = builds(80, depends=True)
    eff = significant_effects(real, [r["mode"] == "1:1" for r in real])
    assert [p for p, _, _ in eff.significant] == ["r7"]
    assert eff.significant[0][2] < 1e-6


def test_a_potentiometer_track_tolerance_moves_both_halves_together() -> None:
    from neurospice.batch.tolerance import draw_factors, parse_tolerance
    from neurospice.spice.tolerances import component_slots

    slots = component_slots(prepare_deck(BOARD))
    tols = [parse_tolerance("R=5%"), parse_tolerance("pots=20%")]
    factors = draw_factors(slots, tols, seed=4)
    pots = [(s.path, s.pot_with) for s in slots if s.pot_with is not None]
    assert len(pots) == 8  # four potentiometers, two halves each
    spread = []
    for a, b in pots:
        assert factors[a] == factors[b]  # the wiper's setting (the ratio) stays as trimmed
        spread.append(factors[a] - 1)
    assert max(abs(d) for d in spread) <= 0.2 and len(set(spread)) == 4
    # without pots=..., the tracks keep their value
    assert not any(a in draw_factors(slots, tols[:1], seed=4) for a, _ in pots)
