"""Checks that resolve names the way ngspice will, before it runs.

:func:`resolve_names` finds every subcircuit instance whose subcircuit is not defined and every
device whose ``.model`` is missing, and refuses the deck naming the card's line - the errors
ngspice would otherwise report after loading the whole deck, without saying where.
"""

from __future__ import annotations

from neurospice.errors import DeckError
from neurospice.spice.deck import PreparedDeck

__all__ = ["resolve_names"]

# element letter -> positions (0-based token index) where its model name may stand
_MODEL_AT = {"d": (3,), "j": (4,), "z": (4,), "q": (4, 5), "m": (4, 5), "s": (5,), "w": (4,),
             "o": (5,), "u": (4,)}


def _plain(tokens: tuple[str, ...]) -> list[str]:
    return [t for t in tokens if "=" not in t and not t.lower().startswith("params:")]


def resolve_names(deck: PreparedDeck) -> None:
    """Refuse instances of unknown subcircuits and devices of unknown models.

    Raises
    ------
    DeckError
        Naming the file and line of the first card whose subcircuit or model is unknown, and
        the names that are known.
    """
    subckts = {c.tokens[1].lower() for c in deck.cards if c.head == ".subckt"}
    models = {c.tokens[1].lower() for c in deck.cards if c.head == ".model"}
    if not deck.analyses():
        raise DeckError("the deck has no analysis card (.tran, .ac, .dc or .op); add one",
                        path=deck.source)
    for card in deck.cards:
        if not card.is_element:
            continue
        org = card.origin
        if card.letter == "x":
            plain = _plain(card.tokens)
            name = plain[-1].lower() if len(plain) >= 2 else ""
            if name not in subckts:
                known = ", ".join(sorted(subckts)) or "none"
                raise DeckError(f"{card.tokens[0]}: unknown subcircuit '{name}' (defined: "
                                f"{known})", org.path, org.line, snippet=card.text)
        elif card.letter == "a":
            plain = _plain(card.tokens)
            name = plain[-1].lower()
            if name not in models:
                raise DeckError(f"{card.tokens[0]}: unknown code model '{name}' (no .model "
                                f"{name})", org.path, org.line, snippet=card.text)
        elif card.letter in _MODEL_AT:
            toks = _plain(card.tokens)
            cands = [toks[i].lower() for i in _MODEL_AT[card.letter] if i < len(toks)]
            if cands and not any(c in models for c in cands):
                raise DeckError(f"{card.tokens[0]}: unknown model '{cands[0]}' (models: "
                                f"{', '.join(sorted(models)) or 'none'})", org.path, org.line,
                                snippet=card.text)
