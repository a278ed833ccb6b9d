"""The network language: grammar, typed records, and errors with exact positions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from neurospice.errors import NeurospiceInputError
from neurospice.network import (
    RESERVED_WORDS,
    Ground,
    Load,
    NetworkSemanticError,
    NetworkSyntaxError,
    Ref,
    load_network,
    parse_network,
)
from neurospice.network.assembler import build_deck, compile_network

try:
    from strategies import RESERVED, garbage_text, valid_networks
except ImportError:  # tests/ is a package
    from tests.strategies import RESERVED, garbage_text, valid_networks

DATA = Path(__file__).parent / "data"
LIB = DATA / "lib"
GOOD = sorted((DATA / "networks").glob("*.nsn"))
BAD = sorted((DATA / "bad").glob("*.nsn"))

_EXPECT_RE = re.compile(
    r"^# expect: (NetworkSyntaxError|NetworkSemanticError) (\d+):(\d+)(?: (name|text)=(.*))?$"
)


def test_reserved_words_agree_with_strategies() -> None:
    assert RESERVED == RESERVED_WORDS


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_networks_parse_and_build(path: Path) -> None:
    network = load_network(path)
    assert network.path == path
    assert network.neurons, "every example declares neurons"
    deck = build_deck(network, source_path=path, library_dir=LIB)
    assert deck.text.startswith(f"* neurospice network {path.name}\n")
    assert deck.text.rstrip().endswith(".end")
    for neuron in network.neurons:
        assert re.search(rf"^X{neuron.name.lower()} \S+ \S+ ", deck.text, re.M)


def test_enough_bad_inputs() -> None:
    assert len(BAD) >= 10
    kinds = {_expectation(p)[0] for p in BAD}
    assert kinds == {"NetworkSyntaxError", "NetworkSemanticError"}


def _expectation(path: Path) -> tuple[str, int, int, str | None, str | None]:
    first = path.read_text().splitlines()[0]
    m = _EXPECT_RE.match(first)
    assert m, f"{path.name}: first line must be '# expect: <Error> line:col [name=...]'"
    return m.group(1), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_networks_report_file_line_column(path: Path) -> None:
    kind, line, column, key, value = _expectation(path)
    with pytest.raises(NeurospiceInputError) as info:
        build_deck(load_network(path), source_path=path, library_dir=LIB)
    err = info.value
    assert type(err).__name__ == kind, str(err)
    assert (err.path, err.line, err.column) == (path, line, column), str(err)
    if key == "name":
        assert isinstance(err, NetworkSemanticError)
        assert err.name == value
    if key == "text":
        assert isinstance(err, NetworkSyntaxError)
        assert err.text == (value or "").replace("\\n", "\n")
    rendered = str(err)
    assert rendered.startswith(f"{path}:{line}:{column}: ")
    assert "^" in rendered  # a context snippet with a caret
    assert "Traceback" not in rendered


def test_syntax_error_says_what_was_expected() -> None:
    with pytest.raises(NetworkSyntaxError) as info:
        parse_network("neuron a : fhn\na -> b c\n", "net.nsn")
    err = info.value
    assert (err.line, err.column, err.text) == (2, 8, "c")
    assert err.expected == ["end of line", "'->'"]
    assert "expected one of: end of line, '->'" in str(err)
    assert str(err).splitlines()[1:3] == ["a -> b c", "       ^"]


def test_syntax_error_in_a_model_call() -> None:
    with pytest.raises(NetworkSyntaxError) as info:
        parse_network("neuron a : fhn(v3 0.3)\n")
    err = info.value
    assert (err.line, err.column, err.text) == (1, 19, "0.3")
    assert err.expected == ["'='"]
    assert str(err).startswith("<input>:1:19: unexpected text '0.3'; expected '='")


def test_misspelt_statement_word_gets_a_hint() -> None:
    with pytest.raises(NetworkSyntaxError) as info:
        parse_network("memristr m1 : zro2\n")
    assert "did you mean 'memristor'?" in str(info.value)


def test_records_carry_positions() -> None:
    text = (
        "use \"lib/fhn.lib\"\n"
        "# comment\n"
        "neuron  master : fhn(v3 = 0.35, kout = {amp})\n"
        "\n"
        "master -> m1 -> load(10k) -> slave.mem -> gnd\n"
        "tran 5s max_step = 50us uic\n"
        "probe master, m1.w\n"
        "lock master slave\n"
        "seed 3\n"
    )
    net = parse_network(text, "x.nsn")
    (use,) = net.uses
    assert (use.path, use.line, use.column) == ("lib/fhn.lib", 1, 5)
    (neuron,) = net.neurons
    assert (neuron.name, neuron.model, neuron.line, neuron.column) == ("master", "fhn", 3, 1)
    assert (neuron.name_column, neuron.model_line, neuron.model_column) == (9, 3, 18)
    v3, kout = neuron.overrides
    assert (v3.name, v3.value.number, v3.line, v3.column) == ("v3", 0.35, 3, 22)
    assert (kout.value.kind, kout.value.text) == ("expr", "{amp}")
    (chain,) = net.connections
    assert chain.kind == "chain" and (chain.line, chain.column) == (5, 1)
    a, m1, load, slave, gnd = chain.items
    assert a == Ref("master", None, 5, 1)
    assert m1 == Ref("m1", None, 5, 11)
    assert isinstance(load, Load) and load.value.number == 1e4 and load.column == 17
    assert slave == Ref("slave", "mem", 5, 30)
    assert isinstance(gnd, Ground) and gnd.column == 43
    tran = net.tran
    assert tran is not None and tran.stop.number == 5.0
    assert [(o.name, o.value.number if o.value else None) for o in tran.options] == [
        ("max_step", pytest.approx(50e-6)), ("uic", None)]
    assert [str(t) for t in net.probes[0].targets] == ["master", "m1.w"]
    assert (net.lock_pairs[0].master.name, net.lock_pairs[0].slave.name) == ("master", "slave")
    assert net.seeds[0].value.number == 3


def test_sources_and_continuations() -> None:
    text = ("source vin : pulse(0 5 1m 1u 1u 10m 20m)   # pulse train\n"
            "isource ib : dc 1u\n"
            "a ->\n"
            "   # a comment between\n"
            "   b -> c\n"
            "probe a,\n  b\n")
    net = parse_network(text)
    vin, ib = net.sources
    assert (vin.kind, vin.spec, vin.spec_column) == ("v", "pulse(0 5 1m 1u 1u 10m 20m)", 14)
    assert (ib.kind, ib.spec) == ("i", "dc 1u")
    (chain,) = net.connections
    assert [(i.name, i.line) for i in chain.items] == [("a", 3), ("b", 5), ("c", 5)]
    assert [t.name for t in net.probes[0].targets] == ["a", "b"]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment", "  \n# a\n\n# b\n"])
def test_empty_networks_parse(text: str) -> None:
    net = parse_network(text)
    assert net.declarations() == [] and net.connections == []


@pytest.mark.parametrize("word", sorted(RESERVED_WORDS))
def test_reserved_words_cannot_name_things(word: str) -> None:
    with pytest.raises(NetworkSyntaxError) as info:
        parse_network(f"neuron {word} : fhn\n")
    assert (info.value.line, info.value.column) == (1, 8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage_text())
def test_garbage_only_raises_network_errors(text: str) -> None:
    try:
        compile_network(text, "garbage.nsn", library_dir=LIB)
    except (NetworkSyntaxError, NetworkSemanticError) as err:
        assert err.line is None or err.line >= 1
        str(err)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_networks(neuron_models=("fhn", "fhn_eq"), memristor_models=("zro2", "biolek")),
       garbage_text())
def test_mutated_networks_only_raise_network_errors(case: object, noise: str) -> None:
    text = case.text  # type: ignore[attr-defined]
    cut = len(text) // 2
    mutated = text[:cut] + noise + text[cut:]
    try:
        compile_network(mutated, "mutated.nsn", library_dir=LIB)
    except (NetworkSyntaxError, NetworkSemanticError) as err:
        # the only errors are the clear ones, located inside the mutated text
        assert str(err).startswith("mutated.nsn")
        assert err.line is None or 1 <= err.line <= mutated.count("\n") + 1


def test_grammar_header_example_compiles() -> None:
    """The example at the top of network.lark is a valid network."""
    from neurospice.network.transformer import GRAMMAR_FILE

    header = GRAMMAR_FILE.read_text().split("start:")[0]
    example = "\n".join(line[4:] for line in header.splitlines() if line.startswith("//   "))
    deck = compile_network(example, DATA / "networks" / "example.nsn", library_dir=LIB)
    assert [label for label, _ in deck.probes] == ["master", "slave", "m1.w"]
    assert deck.lock_pairs == [("master", "slave")]
