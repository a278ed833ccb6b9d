"""Load a deck or a network file into a compiled deck: the one entry for both kinds of file."""

from __future__ import annotations

from pathlib import Path

from neurospice.errors import UsageError
from neurospice.spice.compiler import ControlMode, Limits
from neurospice.spice.deck import PreparedDeck

__all__ = ["NETWORK_SUFFIXES", "load_deck", "network_deck_text"]

NETWORK_SUFFIXES = (".nsn",)


def load_deck(path: Path, *, control: ControlMode = "refuse",
              limits: Limits | None = None) -> PreparedDeck:
    """A compiled deck from a ``.cir`` deck or a ``.nsn`` network file."""
    from neurospice.spice.deck import prepare_deck, prepare_text

    if path.suffix.lower() in NETWORK_SUFFIXES:
        return prepare_text(network_deck_text(path), base_dir=path.absolute().parent,
                            source=path, control=control, limits=limits)
    return prepare_deck(path, control=control, limits=limits)


def network_deck_text(path: Path) -> str:
    """Compile a network file to deck text, with a ``* neurospice lock A B`` line per pair."""
    from neurospice.network.assembler import compile_file

    if not path.is_file():
        raise UsageError(f"no such network file: {path}", path=path)
    deck = compile_file(path)
    title, _, rest = deck.text.partition("\n")
    locks = "".join(f"* neurospice lock {a} {b}\n" for a, b in deck.lock_pairs)
    return f"{title}\n{locks}{rest}"
