"""Assembling networks into SPICE decks: every pin wired as declared, readable text.

The decks are read back with a small SPICE element-line parser (not compared as strings).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from neurospice.network import NetworkSemanticError, parse_network
from neurospice.network.assembler import Deck, build_deck, compile_file, compile_network
from neurospice.spice import Registry

try:
    from strategies import GeneratedNetwork, valid_networks
except ImportError:  # tests/ is a package
    from tests.strategies import GeneratedNetwork, valid_networks

DATA = Path(__file__).parent / "data"
LIB = DATA / "lib"
NETWORKS = DATA / "networks"
REGISTRY = Registry.default(LIB)


# --- a small SPICE element-line reader ---------------------------------------------------------

def elements(text: str) -> dict[str, dict[str, str]]:
    """Element name (without its letter) -> {pin: node, plus 'model'/'value'/'spec'/params}."""
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip()[0] in "*.+":
            continue
        tokens = line.split()
        letter, name = tokens[0][0].upper(), tokens[0][1:].lower()
        assert name not in out, f"element {tokens[0]} twice"
        if letter == "X":
            positional = [t for t in tokens[1:] if "=" not in t]
            model = REGISTRY.get(positional[-1])
            nodes = positional[:-1]
            assert len(nodes) == len(model.pins), line
            entry = dict(zip(model.pins, nodes, strict=True))
            entry["model"] = model.name
            entry.update(t.split("=", 1) for t in tokens[1:] if "=" in t)  # type: ignore[arg-type]
        elif letter == "R":
            entry = {"p": tokens[1], "n": tokens[2], "value": tokens[3]}
        elif letter in "VI":
            entry = {"p": tokens[1], "n": tokens[2], "spec": " ".join(tokens[3:])}
        else:
            raise AssertionError(f"unexpected element line {line!r}")
        entry["letter"] = letter
        out[name] = entry
    return out


def node(deck_elements: dict[str, dict[str, str]], pin: str) -> str:
    name, _, p = pin.partition(".")
    return deck_elements[name][p]


def groups(deck_elements: dict[str, dict[str, str]]) -> set[frozenset[str]]:
    """The pins of the deck grouped by the node they are on."""
    by_node: dict[str, set[str]] = {}
    for name, entry in deck_elements.items():
        pins = REGISTRY.get(entry["model"]).pins if entry["letter"] == "X" else ("p", "n")
        for p in pins:
            by_node.setdefault(entry[p], set()).add(f"{name}.{p}")
    return {frozenset(g) for g in by_node.values()}


def expected_groups(pins: Iterable[str], joined: Iterable[tuple[str, str]]) -> set[frozenset[str]]:
    parent = {p: p for p in pins}

    def find(p: str) -> str:
        while parent[p] != p:
            p = parent[p]
        return p

    for a, b in joined:
        parent[find(a)] = find(b)
    out: dict[str, set[str]] = {}
    for p in parent:
        out.setdefault(find(p), set()).add(p)
    return {frozenset(g) for g in out.values()}


def deck_of(name: str) -> Deck:
    return compile_file(NETWORKS / name, library_dir=LIB)


# --- the four reference topologies --------------------------------------------------------------

def test_reference_board_wiring() -> None:
    deck = deck_of("reference.nsn")
    el = elements(deck.text)
    assert node(el, "master.out") == node(el, "m1.p")
    assert node(el, "m1.n") == node(el, "r2.p")
    assert node(el, "r2.n") == node(el, "slave.mem")
    assert groups(el) == expected_groups(
        ["master.mem", "master.out", "slave.mem", "slave.out", "m1.p", "m1.n", "r2.p", "r2.n"],
        [("master.out", "m1.p"), ("m1.n", "r2.p"), ("r2.n", "slave.mem")])
    # readable node names
    assert (node(el, "master.mem"), node(el, "master.out")) == ("master_mem", "master_out")
    assert (node(el, "m1.n"), node(el, "slave.mem")) == ("m1_n", "slave_mem")
    # explicit overrides, params and values
    assert el["master"]["model"] == "fhn"
    assert (el["master"]["v3"], el["master"]["kout"]) == ("0.35", "{amp}")
    assert (el["slave"]["v3"], el["m1"]["seed"], el["m1"]["w0"]) == ("0.20", "7", "0.5")
    assert "v3" not in el["m1"] and set(el["slave"]) == {"mem", "out", "model", "v3", "letter"}
    assert el["r2"]["value"] == "10k"
    assert re.search(r"^\.param amp=1\.0$", deck.text, re.M)
    assert re.search(r"^\.tran 50us 5s 0 50us$", deck.text, re.M)
    assert deck.tran == (pytest.approx(50e-6), 5.0, None, pytest.approx(50e-6))
    assert deck.probes == [("master", "v(master_mem)"), ("slave", "v(slave_mem)"),
                           ("m1.w", "v(xm1.w)")]
    assert re.search(r"^\.save v\(master_mem\) v\(slave_mem\) v\(xm1\.w\)$", deck.text, re.M)
    assert deck.lock_pairs == [("master", "slave")]
    assert deck.nodes["m1.p"] == "master_out"
    assert ".options" not in deck.text  # zro2 of the fixture has its own seed parameter


def test_chain_of_three_neurons() -> None:
    el = elements(deck_of("chain3.nsn").text)
    assert groups(el) == expected_groups(
        [f"{n}.{p}" for n in ("n1", "n2", "n3") for p in ("mem", "out")]
        + [f"{e}.{p}" for e in ("m1", "m2", "load1", "load2") for p in ("p", "n")],
        [("n1.out", "m1.p"), ("m1.n", "load1.p"), ("load1.n", "n2.mem"),
         ("n2.out", "m2.p"), ("m2.n", "load2.p"), ("load2.n", "n3.mem")])
    assert node(el, "n2.mem") != node(el, "n2.out")  # the middle neuron receives and sends
    assert (el["load1"]["value"], el["load2"]["value"]) == ("10k", "10k")
    assert (el["m2"]["model"], el["m2"]["ron"], el["m2"]["w0"]) == ("biolek", "200", "0.1")


def test_two_masters_onto_one_slave() -> None:
    deck = deck_of("fan_in.nsn")
    el = elements(deck.text)
    assert node(el, "ra.n") == node(el, "rb.n") == node(el, "s.mem") == "s_mem"
    assert node(el, "a.out") == node(el, "ma.p") != node(el, "b.out") == node(el, "mb.p")
    assert len(groups(el)) == 8
    assert re.search(r"^\.tran 1ms 1s$", deck.text, re.M)
    assert [label for label, _ in deck.probes] == ["a", "b", "s"]  # default: every neuron


def test_one_master_onto_two_slaves() -> None:
    deck = deck_of("fan_out.nsn")
    el = elements(deck.text)
    assert node(el, "master.out") == node(el, "m1.p") == node(el, "m2.p") == "master_out"
    assert node(el, "load1.n") == node(el, "s1.mem")
    assert node(el, "load2.n") == node(el, "s2.mem")
    assert node(el, "s1.mem") != node(el, "s2.mem")
    assert el["s2"]["model"] == "fhn_eq" and el["m2"]["ron"] == "2k"
    assert re.search(r"^\.tran 100us 1s 0\.5s 100us$", deck.text, re.M)


def test_links_nodes_sources_and_ground() -> None:
    deck = deck_of("layout.nsn")
    el = elements(deck.text)
    assert node(el, "drive.mem") == node(el, "load2.n") == "tap"  # a declared node keeps its name
    assert (el["vin"]["letter"], el["vin"]["n"], el["vin"]["p"]) == ("V", "0", "vin_p")
    assert node(el, "load2.p") == "vin_p"  # the source pushes toward the arrow
    assert el["vin"]["spec"] == "sin(0 1 10)"
    # a current source pushes its current toward the arrow, into `sense`: ngspice's I p n
    # drives current from p through the source to n, so the card reads "Iibias 0 sense"
    assert re.search(r"^Iibias 0 sense dc 1u$", deck.text, re.M)
    assert node(el, "follower.mem") == "sense"
    assert (node(el, "load3.p"), node(el, "load3.n")) == ("follower_out", "0")
    assert el["load1"]["value"] == "{rload}" and el["follower"]["kout"] == "{rload}"
    assert el["syn"]["w0"] == "0"
    assert deck.probes == [("drive", "v(tap)"), ("follower.out", "v(follower_out)"),
                           ("tap", "v(tap)"), ("syn.p", "v(drive_out)"), ("syn.n", "v(syn_n)"),
                           ("syn.w", "v(xsyn.w)")]
    assert re.search(r"^\.tran 10us 100ms 0 10us uic$", deck.text, re.M)


def test_crlf_and_inline_loads() -> None:
    el = elements(deck_of("crlf.nsn").text)
    assert node(el, "a.out") == node(el, "load1.p") and node(el, "load1.n") == node(el, "b.mem")


def test_load_names_skip_declared_names() -> None:
    deck = compile_network("neuron a : fhn\nresistor load1 : 1k\na -> load1 -> load(2k) -> a\n",
                           library_dir=LIB)
    el = elements(deck.text)
    assert (el["load1"]["value"], el["load2"]["value"]) == ("1k", "2k")


# --- includes ------------------------------------------------------------------------------------

def includes(text: str) -> list[str]:
    return re.findall(r'^\.include "([^"]+)"$', text, re.M)


def test_includes_relative_beside_the_network(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    for f in LIB.glob("*.lib"):
        shutil.copy(f, tmp_path / "lib" / f.name)
    net = tmp_path / "board.nsn"
    net.write_text((NETWORKS / "reference.nsn").read_text())
    deck = compile_file(net, library_dir=LIB)
    # the used files resolve beside the network; parts.lib (needed by fhn) comes from the
    # package library, as an absolute path
    assert includes(deck.text) == ["lib/fhn.lib", "lib/memristors.lib",
                                   (LIB / "parts.lib").resolve().as_posix()]
    assert deck.includes == [tmp_path.resolve() / "lib" / "fhn.lib",
                             tmp_path.resolve() / "lib" / "memristors.lib",
                             (LIB / "parts.lib").resolve()]
    assert deck.base_dir == tmp_path.resolve()
    assert deck.text.startswith("* neurospice network board.nsn\n")


def test_includes_absolute_from_the_package_library() -> None:
    deck = compile_network("neuron a : fhn\nmemristor m : zro2\na -> m -> a\n",
                           "/elsewhere/net.nsn", library_dir=LIB)
    assert includes(deck.text) == [(LIB / n).resolve().as_posix()
                                   for n in ("fhn.lib", "memristors.lib", "parts.lib")]


# --- seeds, params, warnings ------------------------------------------------------------------

def test_seed_of_models_without_seed_becomes_options_seed() -> None:
    deck = compile_network(
        "neuron a : fhn\nmemristor p : pershin(seed = 11)\nmemristor z : zro2(seed = 3)\n"
        "a -> p -> a\na -> z -> a\nseed 11\n", library_dir=LIB)
    el = elements(deck.text)
    assert "seed" not in el["p"] and el["z"]["seed"] == "3"
    assert re.findall(r"^\.options seed=(\d+)$", deck.text, re.M) == ["11"]


def test_mega_versus_milli_warning() -> None:
    deck = compile_network("neuron a : fhn\na -> load(1M) -> a\n", library_dir=LIB)
    assert any("milli" in w for w in deck.warnings)


def test_netlist_has_no_analysis() -> None:
    deck = deck_of("reference.nsn")
    assert deck.text.startswith(deck.netlist)
    assert ".tran" not in deck.netlist and ".end" not in deck.netlist


def test_semantic_error_for_probe_on_ground() -> None:
    with pytest.raises(NetworkSemanticError) as info:
        compile_network("neuron a : fhn\na -> load(1k) -> gnd\nprobe load1.n\n", library_dir=LIB)
    assert (info.value.line, info.value.column, info.value.name) == (3, 7, "load1.n")


# --- random valid networks ----------------------------------------------------------------------

def _expected_pins(case: GeneratedNetwork) -> tuple[list[str], list[tuple[str, str]]]:
    neurons = {n.lower() for n in case.neurons}
    declared = {n.lower() for n in (*case.neurons, *case.memristors, *case.resistors)}
    pins = [f"{n}.{p}" for n in neurons for p in ("mem", "out")]
    pins += [f"{e.lower()}.{p}" for e in (*case.memristors, *case.resistors) for p in ("p", "n")]
    pins.append("@gnd")
    joined: list[tuple[str, str]] = []
    counter = 0
    for chain in case.chains:
        cur = f"{chain[0].lower()}.out"
        for item in chain[1:]:
            if item.startswith("load("):
                counter += 1
                while f"load{counter}" in declared:
                    counter += 1
                name = f"load{counter}"
                pins += [f"{name}.p", f"{name}.n"]
            else:
                name = item.lower()
            if name == "gnd":
                joined.append((cur, "@gnd"))
            elif name in neurons:
                joined.append((cur, f"{name}.mem"))
                cur = f"{name}.out"
            else:
                joined.append((cur, f"{name}.p"))
                cur = f"{name}.n"
    return pins, joined


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_networks(neuron_models=("fhn", "fhn_eq"),
                      memristor_models=("zro2", "biolek", "pershin")))
def test_random_valid_networks_compile_and_wire_as_declared(case: GeneratedNetwork) -> None:
    deck = compile_network(case.text, "random.nsn", library_dir=LIB)
    el = elements(deck.text)
    pins, joined = _expected_pins(case)
    expected = {g - {"@gnd"} for g in expected_groups(pins, joined)} - {frozenset()}
    assert groups(el) == expected
    labels = {label for label, _ in deck.probes}
    for a, b in deck.lock_pairs:
        assert a in labels and b in labels


def test_parse_network_is_separate_from_checks() -> None:
    net = parse_network("neuron a : nosuchmodel\n")  # parses: the meaning is checked later
    with pytest.raises(NetworkSemanticError):
        build_deck(net, library_dir=LIB)


# --- ngspice reads the decks ----------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("ngspice") is None, reason="ngspice not installed")
@pytest.mark.parametrize("name", sorted(p.name for p in NETWORKS.glob("*.nsn")))
def test_ngspice_accepts_the_deck(name: str, tmp_path: Path) -> None:
    deck = deck_of(name)
    cir = tmp_path / "op.cir"
    cir.write_text(deck.netlist.replace('.include "lib/', f'.include "{LIB}/')
                   + ".op\n.end\n")
    run = subprocess.run(["ngspice", "-b", str(cir)], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    assert not re.search(r"^\s*error", log, re.I | re.M), log
    assert "singular matrix" not in log.lower(), log


REAL_MEMRISTORS = Path(__file__).resolve().parents[1] / "netlists" / "lib" / "memristors.lib"


@pytest.mark.skipif(shutil.which("ngspice") is None or not REAL_MEMRISTORS.exists(),
                    reason="needs ngspice and netlists/lib/memristors.lib")
def test_shipped_memristors_are_included_and_seeded(tmp_path: Path) -> None:
    """zro2 of the shipped library draws with agauss: its seed becomes .options seed."""
    for name in ("fhn.lib", "parts.lib"):  # beside the network file: its tree
        shutil.copy(LIB / name, tmp_path / name)
    text = ('use "fhn.lib", "parts.lib"\n'
            "neuron master : fhn(v3 = 0.35)\nneuron slave : fhn(v3 = 0.2)\n"
            "memristor m1 : zro2(seed = 7, w0 = 0.5)\n"
            "master -> m1 -> load(10k) -> slave\nprobe m1.w\n")
    deck = compile_network(text, tmp_path / "net.nsn")  # package library: netlists/lib
    assert REAL_MEMRISTORS.resolve() in deck.includes
    assert re.findall(r"^\.options seed=(\d+)$", deck.text, re.M) == ["7"]
    el = elements(deck.text)
    assert "seed" not in el["m1"] and el["m1"]["w0"] == "0.5"
    assert deck.probes == [("m1.w", "v(xm1.w)")]
    cir = tmp_path / "op.cir"
    cir.write_text(deck.netlist + ".op\n.end\n")
    run = subprocess.run(["ngspice", "-b", str(cir)], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert run.returncode == 0 and not re.search(r"^\s*error", run.stdout + run.stderr,
                                                 re.I | re.M), run.stdout + run.stderr
