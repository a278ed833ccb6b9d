"""A short fuzzing run of the deck compiler and the network parser (the long run, 100,000+
inputs, is benchmarks/fuzz.py): only documented input errors, no input over 1 s, and a
compiled deck compiles again to itself; of output names made of instance names (nothing
written outside the output folder) and of resumed sweep tables (nothing but numbers reused)."""

from __future__ import annotations

from pathlib import Path

from fuzzing import (
    check_deck,
    check_network,
    check_output_name,
    check_resumed_table,
    instance_names,
    sweep_tables,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import garbage_text, spice_decks, valid_networks

BASE = Path(__file__).resolve().parent / "data" / "decks"
#: What compiling a deck may end in: success or one of the documented input errors.
OUTCOMES = ("ok", "DeckError", "LimitError")
FUZZ = settings(max_examples=400, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(spice_decks())
def test_compiler_raises_only_input_errors(text: str) -> None:
    assert check_deck(text, BASE) in OUTCOMES


@FUZZ
@given(st.text(max_size=300))
def test_compiler_on_arbitrary_text(text: str) -> None:
    assert check_deck(text, BASE) in OUTCOMES


@FUZZ
@given(st.one_of(garbage_text(), valid_networks().map(lambda n: n.text)))
def test_network_compiler_raises_only_input_errors(text: str) -> None:
    assert check_network(text, BASE) in ("ok", "NetworkSyntaxError", "NetworkSemanticError",
                                         "UnknownModelError", "InvalidParameterError",
                                         *OUTCOMES)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(instance_names)
def test_output_names_stay_in_the_output_folder(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    assert check_output_name(name, out) in ("ok", "refused", "bad name")


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(sweep_tables())
def test_resumed_tables_reuse_only_numbers(tmp_path: Path, text: str) -> None:
    assert check_resumed_table(text, tmp_path) in ("reused", "rejected", "nothing")


def test_output_name_and_table_fuzzing_reach_every_outcome(tmp_path: Path) -> None:
    """Not vacuous: a climbing name is refused raw and written sanitised; a clean row is
    reused, a row with a word for a number is not."""
    out = tmp_path / "out"
    out.mkdir()
    assert check_output_name("a/../../../x", out) == "refused"
    assert check_output_name("master", out) == "ok"
    assert not list(tmp_path.glob("x*")) and sorted(p.name for p in out.iterdir()) == []
    head = "point,rc,status,f_master_hz,mode,ratio,key\n"
    assert check_resumed_table(head + "0,2,ok,25.1,1:1,1:1,KEY\n", tmp_path) == "reused"
    assert check_resumed_table(head + "0,2,ok,abc,1:1,1:1,KEY\n", tmp_path) == "rejected"
    assert check_resumed_table(head + "0,2,ok,1,\x1b[2J,1:1,KEY\n", tmp_path) == "rejected"


def test_fuzzing_finds_both_outcomes() -> None:
    """The generator reaches accepted decks as well as refused ones (it is not vacuous)."""
    ok = check_deck("t\nR1 a 0 1k\n.op\n", BASE)
    bad = check_deck("t\n.controlx\n", BASE)
    assert ok == "ok" and bad == "DeckError"
