"""Energy analysis of elements and circuits (neurospice.analysis.energy) on analytic cases."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from neurospice.analysis.energy import (
    Term,
    capacitor_energy,
    cumulative_energy,
    element_energy,
    loop_area,
    netlist_balance,
    netlist_branches,
    pinch_current,
    power_balance,
)
from neurospice.sim.ngspice import run_text
from neurospice.spice.deck import prepare_text

from helpers import NETLISTS


def test_resistor_constant_voltage_energy_is_exact() -> None:
    """A resistor at constant V for T seconds dissipates V^2 T / R (trapezoid: exact)."""
    r, volts, tt = 2.2e3, 1.7, 0.35
    t = np.sort(np.random.default_rng(3).uniform(0.0, tt, 500))
    t = np.concatenate(([0.0], t, [tt]))
    v = np.full_like(t, volts)
    e = element_energy(t, v, v / r)
    assert e.e_diss == pytest.approx(volts**2 * tt / r, rel=1e-12)
    assert e.eps == pytest.approx(1.0 / r, rel=1e-12)
    assert e.bound == pytest.approx(e.e_diss, rel=1e-12)
    assert e.co_content == 0.0  # v never moved


def test_resistor_sine_energy_and_cocontent() -> None:
    """Over whole periods of V sin(wt) a resistor dissipates V^2 T / (2 R); a ramp 0 -> V gives
    the co-content V^2 / (2 R)."""
    r, amp, f = 1e3, 2.0, 50.0
    t = np.linspace(0.0, 3 / f, 30001)
    v = amp * np.sin(2 * np.pi * f * t)
    e = element_energy(t, v, v / r)
    assert e.e_diss == pytest.approx(amp**2 * (3 / f) / (2 * r), rel=1e-6)
    assert e.co_content_1g == pytest.approx(0.5 * amp**2 * (3 / f) / 2, rel=1e-6)
    ramp = np.linspace(0.0, amp, 101)
    e2 = element_energy(np.linspace(0.0, 1.0, 101), ramp, ramp / r)
    assert e2.co_content == pytest.approx(amp**2 / (2 * r), rel=1e-12)


def test_rc_charge_balance_matches_analytic_terms() -> None:
    """Charging C through R from a DC source V: delivered C V^2 (1 - e^-T/tau), stored
    C v(T)^2 / 2, dissipated C V^2 (1 - e^-2T/tau) / 2; the balance closes."""
    r, c, volts = 1e3, 1e-6, 5.0
    tau = r * c
    tt = 3 * tau
    t = np.linspace(0.0, tt, 20001)
    i = volts / r * np.exp(-t / tau)
    vc = volts * (1 - np.exp(-t / tau))
    terms = [
        Term.source("v1", t, np.full_like(t, volts), i),
        Term.dissipator("r1", t, volts - vc, i),
        Term.storage("c1", capacitor_energy(vc, c)),
    ]
    bal = power_balance(t, terms)
    x = math.exp(-tt / tau)
    assert bal.sources[-1] == pytest.approx(c * volts**2 * (1 - x), rel=1e-6)
    assert bal.stored[-1] == pytest.approx(0.5 * c * volts**2 * (1 - x) ** 2, rel=1e-9)
    assert bal.dissipated[-1] == pytest.approx(0.5 * c * volts**2 * (1 - x * x), rel=1e-6)
    assert bal.relative_error < 1e-6
    # storage from the capacitor's power v*i gives the same change
    alt = Term.storage_from_power("c1", t, vc, i)
    assert alt.energy[-1] == pytest.approx(terms[2].energy[-1], rel=1e-6)


def test_balance_with_a_missing_branch_does_not_close() -> None:
    r, c, volts = 1e3, 1e-6, 5.0
    t = np.linspace(0.0, 5e-3, 5001)
    i = volts / r * np.exp(-t / (r * c))
    vc = volts * (1 - np.exp(-t / (r * c)))
    bal = power_balance(t, [Term.source("v1", t, np.full_like(t, volts), i),
                            Term.storage("c1", capacitor_energy(vc, c))])
    assert bal.relative_error > 0.3


def test_ellipse_loop_area() -> None:
    """v = A sin(wt), i = B sin(wt + phi): area pi A B |sin phi|."""
    a, b, phi, f = 1.5, 2e-3, 0.4, 10.0
    t = np.linspace(0.0, 4 / f, 40001)
    v = a * np.sin(2 * np.pi * f * t)
    i = b * np.sin(2 * np.pi * f * t + phi)
    assert loop_area(t, v, i, 1 / f) == pytest.approx(math.pi * a * b * math.sin(phi), rel=1e-5)
    # a line (phi = 0) has no area
    assert loop_area(t, v, b * np.sin(2 * np.pi * f * t), 1 / f) < 1e-9 * a * b


def test_pinched_figure_eight_area_counts_both_lobes() -> None:
    """i = g0 (1 + k cos wt) v with v = A sin wt: two lobes of area (2/3) k g0 A^2 each, of
    opposite orientation (the signed integral is 0)."""
    a, g0, k, f = 1.0, 1e-3, 0.5, 5.0
    t = np.linspace(0.0, 3 / f, 60001)
    th = 2 * np.pi * f * t
    v = a * np.sin(th)
    i = g0 * (1 + k * np.cos(th)) * v
    assert loop_area(t, v, i, 1 / f) == pytest.approx(4 / 3 * k * g0 * a * a, rel=1e-5)
    last = t >= t[-1] - 1 / f
    assert abs(element_energy(t[last], v[last], i[last]).co_content) < 1e-6 * g0 * a * a
    # pinched: the current at every zero crossing of v vanishes
    assert np.max(np.abs(pinch_current(t, v, i))) < 1e-9 * g0 * a


@pytest.mark.parametrize("start, end", [(0.0, -1e-15), (1e-15, -1e-15), (-1e-15, 0.0),
                                        (0.0, 1e-15)])
def test_loop_area_with_a_crossing_on_the_window_edge(start: float, end: float) -> None:
    """A zero crossing that falls on the window's first or last sample (rounding decides on
    which side) still separates the lobes."""
    a, g0, k, f = 1.0, 1e-3, 0.5, 1000.0
    t = np.linspace(0.0, 2 / f, 401)
    th = 2 * np.pi * f * t
    v = a * np.sin(th)
    v[200], v[-1] = start, end
    i = g0 * (1 + k * np.cos(th)) * v
    assert loop_area(t, v, i, 1 / f) == pytest.approx(4 / 3 * k * g0 * a * a, rel=1e-3)


def test_memristive_dissipation_bound() -> None:
    """g(t) >= eps: E_diss >= eps * integral of v^2 dt, with eps from g or from i/v."""
    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 1.0, 5001)
    v = np.cumsum(rng.standard_normal(t.size)) * 1e-2
    g = 1e-3 * (1.2 + np.sin(7 * t) + 0.3 * np.cos(31 * t) ** 2)
    i = g * v
    e = element_energy(t, v, i, g=g)
    assert e.eps == pytest.approx(float(g.min()))
    assert e.e_diss >= e.bound > 0
    e2 = element_energy(t, v, i)
    assert e2.eps >= e.eps - 1e-15
    assert e2.e_diss >= e2.bound


def test_cumulative_energy_and_length_checks() -> None:
    t = np.array([0.0, 1.0, 3.0])
    np.testing.assert_allclose(cumulative_energy(t, [2.0, 2.0, 4.0]), [0.0, 2.0, 8.0])
    with pytest.raises(ValueError):
        cumulative_energy(t, [1.0, 2.0])
    with pytest.raises(ValueError):
        loop_area(t, t, t, period=10.0)


# --------------------------------------------------------------------------- whole netlists

_MIXED = """* every kind of branch
V1 a 0 SIN(0 1 1k)
R1 a b 1k
C1 b 0 1u
B1 0 c I = 1m*v(a)
R2 c 0 1k
E1 d 0 a 0 2
R3 d 0 1k
G1 0 e a 0 1m
R4 e 0 1k
D1 a f dmod
R5 f 0 1k
I1 0 g dc 1m
R6 g 0 1k
L1 b h 1m
R7 h 0 1k
X1 a k half
.subckt half p n
Rh p m 500
Bv m n V = 0.5*v(p, n)
.ends half
Rk k 0 2k
.model dmod D
.options savecurrents
.save all
.tran 10u 3m
.end
"""


def test_netlist_balance_of_every_branch_kind() -> None:
    """Sources (V, I, B, E, G, a B voltage source inside a subcircuit) deliver what the
    resistors, the diode, C and L take (Tellegen on ngspice's saved currents), and each
    resistor's term equals v^2/R integrated from the node voltages."""
    wf = run_text(_MIXED, base_dir=NETLISTS)
    branches = netlist_branches(prepare_text(_MIXED, base_dir=NETLISTS).text)
    names = {b.name: b for b in branches}
    assert {"v1", "b1", "e1", "g1", "i1", "d1", "l1", "r.x1.rh", "b.x1.bv"} <= set(names)
    assert names["b.x1.bv"].terminals[0][1] == "i(b.x1.bv)"
    bal = netlist_balance(wf.time, wf, branches)
    assert bal.relative_error < 1e-4
    terms = bal.by_name()
    assert all(terms[b.name] > 0 for b in branches if b.kind in ("source", "dissipator")
               and b.name != "b.x1.bv")
    assert terms["i1"] == pytest.approx(1e-3 * 3e-3, rel=1e-6)  # 1 mA into 1 kOhm, 3 ms
    t = wf.time
    # the subcircuit's voltage source takes the current Rh passes: it absorbs energy
    i_rh = (wf["v(a)"] - wf["v(x1.m)"]) / 500.0
    absorbed = cumulative_energy(t, (wf["v(x1.m)"] - wf["v(k)"]) * i_rh)[-1]
    assert absorbed > 0
    assert terms["b.x1.bv"] == pytest.approx(-absorbed, rel=1e-5)
    for r, (n1, n2), ohm in (("r1", ("a", "b"), 1e3), ("r3", ("d", "0"), 1e3),
                             ("r.x1.rh", ("a", "x1.m"), 500.0)):
        va = wf[f"v({n1})"]
        vb = wf[f"v({n2})"] if n2 != "0" else 0.0 * va
        expect = cumulative_energy(t, (va - vb) ** 2 / ohm)[-1]
        assert terms[r] == pytest.approx(expect, rel=1e-5), r


@pytest.mark.slow
def test_board_power_balance_closes_over_1s() -> None:
    """The reference board (coupled_fhn.cir, 1 s, savecurrents): the circuit connected to the
    master's membrane without passing through ground (both neurons, the memristor's conduction
    path, R2) closes its balance within 1 % of the source energy; the memristor's dissipation
    from the balance equals the one from its terminal voltage and the sense current."""
    body = (NETLISTS / "coupled_fhn.cir").read_text()
    body = re.sub(r"(?m)^\.tran .*$", ".tran 0.1m 1 0 0.1m uic", body)
    body = re.sub(r"(?m)^\.save .*$", ".options savecurrents\n.save all", body)
    wf = run_text(body, base_dir=NETLISTS)
    t = wf.time
    assert t[-1] == pytest.approx(1.0)
    branches = netlist_branches(prepare_text(body, base_dir=NETLISTS).text, memristors=["zro2"])
    bal = netlist_balance(t, wf, branches, around="mmem")
    names = bal.by_name()
    assert any("xslave" in n for n in names) and "r2" in names and "b.xm1.bi" in names
    assert not any(n in names for n in ("b.xm1.bw", "c.xm1.cw", "b.xm1.bpth"))  # state, heat
    assert bal.relative_error < 0.01
    dev = element_energy(t, wf["v(mn)"] - wf["v(mp)"], -wf["i(vsense)"])
    assert dev.e_diss > 0
    assert names["b.xm1.bi"] == pytest.approx(dev.e_diss, rel=1e-3)
