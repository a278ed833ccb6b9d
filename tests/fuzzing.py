"""Fuzzing of the deck compiler and the network parser (shared by the test and the benchmark).

:func:`check_deck` and :func:`check_network` run one input and fail (``AssertionError``) on
anything but success or a documented input error, and on an input that takes over
``MAX_SECONDS`` of CPU time (wall time on a shared machine measures the neighbours).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from pathlib import Path

from neurospice.errors import NeurospiceInputError
from neurospice.network.assembler import compile_network
from neurospice.spice.deck import prepare_text

MAX_SECONDS = 1.0


@contextlib.contextmanager
def _own_time() -> Iterator[None]:
    """Keep the garbage collector out of the measured call: a collection of the fuzzer's own
    heap (hundreds of MB after 10^5 inputs) is not the input's cost; it runs between inputs."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def check_deck(text: str, base: Path) -> str:
    """Compile ``text``; return ``"ok"`` or the error class name."""
    with _own_time():
        return _check_deck(text, base)


def check_network(text: str, base: Path) -> str:
    """Compile network ``text`` and its deck; return ``"ok"`` or the error class name."""
    with _own_time():
        return _check_network(text, base)


def _check_deck(text: str, base: Path) -> str:
    start = time.process_time()
    try:
        deck = prepare_text(text, base_dir=base)
        _ = deck.text, deck.neurons(), deck.memristors(), deck.analyses()
        outcome = "ok"
    except NeurospiceInputError as exc:
        assert str(exc), "an input error without a message"
        outcome = type(exc).__name__
    elapsed = time.process_time() - start
    assert elapsed < MAX_SECONDS, f"{elapsed:.2f} s on {text[:200]!r}"
    if outcome == "ok":
        # what the compiler emits compiles again to the same deck
        assert prepare_text(deck.text, base_dir=base).text == deck.text
    return outcome


def _check_network(text: str, base: Path) -> str:
    start = time.process_time()
    try:
        deck = compile_network(text, base / "fuzz.nsn")
        prepare_text(deck.text, base_dir=base)
        outcome = "ok"
    except NeurospiceInputError as exc:
        assert str(exc)
        outcome = type(exc).__name__
    elapsed = time.process_time() - start
    assert elapsed < MAX_SECONDS, f"{elapsed:.2f} s on {text[:200]!r}"
    return outcome
