"""A short fuzzing run of the deck compiler and the network parser (the long run, 100,000+
inputs, is benchmarks/fuzz.py): only documented input errors, no input over 1 s, and a
compiled deck compiles again to itself."""

from __future__ import annotations

from pathlib import Path

from fuzzing import check_deck, check_network
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


def test_fuzzing_finds_both_outcomes() -> None:
    """The generator reaches accepted decks as well as refused ones (it is not vacuous)."""
    ok = check_deck("t\nR1 a 0 1k\n.op\n", BASE)
    bad = check_deck("t\n.controlx\n", BASE)
    assert ok == "ok" and bad == "DeckError"
