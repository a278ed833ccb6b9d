"""Network files end to end: random valid networks run in ngspice; build and simulate .nsn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings

from neurospice.network.assembler import compile_network
from neurospice.sim.ngspice import run_all
from neurospice.spice.deck import prepare_text

from helpers import NETLISTS, run_cli
from strategies import GeneratedNetwork, valid_networks


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(valid_networks(neuron_models=("fhn",), memristor_models=("zro2", "biolek", "pershin"),
                     max_neurons=3))
def test_random_networks_pass_an_operating_point_in_ngspice(case: GeneratedNetwork) -> None:
    deck = compile_network(case.text, NETLISTS / "generated.nsn")
    text = deck.netlist + ".op\n.end\n"
    plots = run_all(prepare_text(text, base_dir=deck.base_dir), timeout=180)
    op = plots[-1]
    assert op.analysis == "op"
    # every neuron's membrane node got a finite operating point within the rails
    for name in case.neurons:
        node = deck.nodes[f"{name.lower()}.mem"]
        if node == "0":
            continue
        v = float(op[f"v({node})"][0])
        assert abs(v) < 15.0, (name, v)


def test_build_prints_a_deck_that_names_every_instance(tmp_path: Path) -> None:
    net = tmp_path / "chain.nsn"
    net.write_text(
        'use "lib/fhn.lib", "lib/memristors.lib"\n'
        "neuron a : fhn\nneuron b : fhn\nneuron c : fhn\n"
        "memristor m1 : zro2\nmemristor m2 : zro2\n"
        "a -> m1 -> load(10k) -> b -> m2 -> load(10k) -> c\n"
        "tran 50ms max_step = 100us\n"
        "lock a b\nlock b c\n"
    )
    proc = run_cli("build", net)
    assert proc.returncode == 0, proc.stderr
    x_lines = {ln.split()[0].lower(): ln.split() for ln in proc.stdout.splitlines()
               if ln.lower().startswith("x")}
    assert {"xa", "xb", "xc", "xm1", "xm2"} <= set(x_lines)
    # b receives on mem from m1's load and sends from out into m2
    assert x_lines["xm2"][1] == x_lines["xb"][2]
    assert "* neurospice lock a b" in proc.stdout and "* neurospice lock b c" in proc.stdout


def test_simulate_accepts_a_network_file_and_reports_its_pairs(tmp_path: Path) -> None:
    net = tmp_path / "pair.nsn"
    net.write_text(
        'use "lib/fhn.lib", "lib/memristors.lib"\n'
        "neuron a : fhn\nneuron b : fhn\n"
        "memristor m1 : zro2\n"
        "a -> m1 -> load(10k) -> b\n"
        "tran 300ms max_step = 100us\n"
        "lock a b\n"
    )
    proc = run_cli("simulate", net, "-o", tmp_path / "out", "-q", "--no-plot")
    assert proc.returncode == 0, proc.stderr
    assert "neuron a" in proc.stdout and "neuron b" in proc.stdout
    assert "a -> b:" in proc.stdout


def test_network_syntax_error_exit_status_and_location(tmp_path: Path) -> None:
    net = tmp_path / "bad.nsn"
    net.write_text("neuron a : fhn\nneuron b : fhn\na -> -> b\n")
    proc = run_cli("simulate", net, "-q")
    assert proc.returncode == 2
    assert f"{net}:3:6" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_reference_board_network_file_matches_the_deck() -> None:
    """coupled_fhn.nsn and coupled_fhn.cir: same parameters, same spike times (within 0.5 %)."""
    from neurospice.analysis.spikes import detect_spikes
    from neurospice.network.loading import load_deck
    from neurospice.sim.ngspice import run_prepared

    cir = load_deck(NETLISTS / "coupled_fhn.cir").with_tstop(1.0)
    nsn = load_deck(NETLISTS / "coupled_fhn.nsn").with_tstop(1.0)
    assert {k: cir.evaluate(v) for k, v in cir.params().items()} == {
        k: nsn.evaluate(v) for k, v in nsn.params().items()}
    wa, wb = run_prepared(cir), run_prepared(nsn)
    for va, vb in (("v(mmem)", "v(master_mem)"), ("v(smem)", "v(slave_mem)")):
        ta = detect_spikes(wa.time, wa[va]).times
        tb = detect_spikes(wb.time, wb[vb]).times
        assert len(ta) == len(tb) and len(ta) >= 10
        isi = float(np.mean(np.diff(ta)))
        assert np.max(np.abs(ta - tb)) <= 0.005 * isi
