"""Load a deck or a network file into a compiled deck: the one entry for both kinds of file."""

from __future__ import annotations

from pathlib import Path

from neurospice.errors import UsageError
from neurospice.files import printable, shared_folder
from neurospice.spice.compiler import ControlMode, Limits
from neurospice.spice.deck import PreparedDeck

__all__ = ["NETWORK_SUFFIXES", "load_deck", "network_deck_text"]

NETWORK_SUFFIXES = (".nsn",)


def load_deck(path: Path, *, control: ControlMode = "refuse",
              limits: Limits | None = None) -> PreparedDeck:
    """A compiled deck from a ``.cir`` deck or a ``.nsn`` network file.

    Raises
    ------
    UsageError
        The file lies directly in the root, temporary or home folder (see :func:`check_tree`).
    """
    from neurospice.spice.deck import prepare_deck, prepare_text

    check_tree(path)

    if path.suffix.lower() in NETWORK_SUFFIXES:
        return prepare_text(network_deck_text(path), base_dir=path.absolute().parent,
                            source=path, control=control, limits=limits)
    return prepare_deck(path, control=control, limits=limits)


def check_tree(path: Path) -> None:
    """Refuse a deck or network file saved directly in a folder many files share.

    A deck's tree - what its includes may name and what the sandboxed worker may read - is its
    folder. For a deck saved in ``/tmp``, ``$HOME`` or ``/`` that is every file there
    (``.netrc``, keys, another user's downloads), so such a deck is refused with what to do.
    """
    folder = Path(path).absolute().parent
    what = shared_folder(folder)
    if what is not None:
        raise UsageError(
            f"{printable(path)}: the file lies directly in {what} ({printable(folder)}); its "
            "tree (what it may include and the simulator may read) would be the whole folder. "
            "Put it in a folder of its own with the files it uses (mkdir "
            f"{printable(folder / Path(path).stem)} and move it there)", path=path)


def network_deck_text(path: Path) -> str:
    """Compile a network file to deck text, with a ``* neurospice lock A B`` line per pair."""
    from neurospice.network.assembler import compile_file

    if not path.is_file():
        raise UsageError(f"no such network file: {printable(path)}", path=path)
    check_tree(path)
    deck = compile_file(path)
    title, _, rest = deck.text.partition("\n")
    locks = "".join(f"* neurospice lock {a} {b}\n" for a, b in deck.lock_pairs)
    return f"{title}\n{locks}{rest}"
