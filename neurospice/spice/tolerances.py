"""Per-instance component values: a factor for every R, C and L of the flattened board.

A subcircuit's elements are written once but built once per instance: a 5 % resistor inside
the neuron is a different resistor in the master and in the slave. :func:`with_factors` gives
every such element its own multiplier without flattening the deck: each subcircuit gets a
parameter ``nstol_<slot>=1`` per element it (or a subcircuit inside it) holds, its elements'
values are multiplied by it, and each instance passes its own values down. Top-level elements
are multiplied directly. Tolerance draws (:mod:`neurospice.batch.tolerance`) and snapping to
an E-series (``neurospice bom --snap``) both use it.
"""

from __future__ import annotations

import math
from dataclasses import replace

from neurospice.errors import DeckError
from neurospice.spice.compiler import CompiledCard
from neurospice.spice.deck import PreparedDeck
from neurospice.spice.flatten import FlatElement, Subckt, flatten, is_part, subckt_table

__all__ = ["component_slots", "with_factors", "PREFIX"]

PREFIX = "nstol_"
_LETTERS = "rcl"


def component_slots(deck: PreparedDeck) -> list[FlatElement]:
    """Every R, C and L of the flattened board (outside part models), with its value."""
    return [e for e in flatten(deck) if e.letter in _LETTERS]


def _slot_name(path: str) -> str:
    return PREFIX + path.replace(".", "__")


def _scale_token(tok: str, factor_text: str) -> str:
    key, sep, value = tok.partition("=")
    if not sep:
        key, value = "", tok
    inner = value[1:-1] if value.startswith("{") and value.endswith("}") else value
    scaled = f"{{({inner})*{factor_text}}}"
    return f"{key}={scaled}" if sep else scaled


def _subckt_slots(subs: dict[str, Subckt]) -> dict[str, list[str]]:
    """Relative slot paths of each (non-part) subcircuit, e.g. ``["r1", "xcub.rn"]``."""
    memo: dict[str, list[str]] = {}

    def slots(name: str, stack: tuple[str, ...]) -> list[str]:
        if name in memo:
            return memo[name]
        sub = subs[name]
        out: list[str] = []
        for card in sub.body:
            if not card.is_element:
                continue
            el = card.tokens[0].lower()
            if card.letter in _LETTERS and len(card.tokens) >= 4:
                out.append(el)
            elif card.letter == "x":
                inner = _instance_of(card, subs)
                if inner is not None and inner not in stack:
                    out += [f"{el}.{s}" for s in slots(inner, (*stack, name))]
        memo[name] = out
        return out

    return {name: slots(name, ()) for name, sub in subs.items() if not is_part(sub)}


def _instance_of(card: CompiledCard, subs: dict[str, Subckt]) -> str | None:
    plain = [t for t in card.tokens if "=" not in t and t.lower() not in ("params:", "param:")]
    name = plain[-1].lower() if len(plain) >= 2 else ""
    sub = subs.get(name)
    return name if sub is not None and not is_part(sub) else None


def with_factors(deck: PreparedDeck, factors: dict[str, float]) -> PreparedDeck:
    """A copy of ``deck`` in which the element at each path has its value multiplied.

    Parameters
    ----------
    deck
        A compiled deck.
    factors
        Instance path (``xmaster.xcub.r1``, ``r2``) -> multiplier (1 = nominal).

    Raises
    ------
    DeckError
        A path that names no R, C or L of the board, or a factor that is not positive.
    """
    known = {e.path for e in component_slots(deck)}
    for path, f in factors.items():
        if path not in known:
            raise DeckError(f"no resistor, capacitor or inductor at '{path}' on this board",
                            path=deck.source)
        if not (math.isfinite(f) and f > 0):
            raise DeckError(f"factor {f} for '{path}' is not a positive number",
                            path=deck.source)
    subs = subckt_table(deck)
    slots = _subckt_slots(subs)
    cards = list(deck.cards)
    current: list[str] = []  # stack of subckt names we are inside
    for i, card in enumerate(cards):
        if card.head == ".subckt":
            name = card.tokens[1].lower()
            current.append(name)
            if name in slots and slots[name]:
                toks = list(card.tokens)
                if not any(t.lower() in ("params:", "param:") for t in toks) and not any(
                        "=" in t for t in toks):
                    toks.append("params:")
                toks += [f"{_slot_name(s)}=1" for s in slots[name]]
                cards[i] = replace(card, tokens=tuple(toks))
            continue
        if card.head == ".ends":
            if current:
                current.pop()
            continue
        if not card.is_element:
            continue
        owner = current[-1] if current else None
        if owner is not None and owner not in slots:
            continue  # inside a part model: left alone
        el = card.tokens[0].lower()
        if card.letter in _LETTERS and len(card.tokens) >= 4:
            toks = list(card.tokens)
            if owner is None:
                f = factors.get(el, 1.0)
                if f != 1.0:
                    toks[3] = _scale_token(toks[3], repr(f))
            else:
                toks[3] = _scale_token(toks[3], _slot_name(el))
            cards[i] = replace(card, tokens=tuple(toks))
        elif card.letter == "x":
            inner = _instance_of(card, subs)
            if inner is None or not slots.get(inner):
                continue
            toks = list(card.tokens)  # ngspice takes k=v after the name without 'params:'
            for s in slots[inner]:
                if owner is None:
                    value = repr(factors.get(f"{el}.{s}", 1.0))
                else:
                    value = "{" + _slot_name(f"{el}.{s}") + "}"
                toks.append(f"{_slot_name(s)}={value}")
            cards[i] = replace(card, tokens=tuple(toks))
    return replace(deck, cards=cards)
