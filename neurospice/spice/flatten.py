"""The deck's hierarchy walked instance by instance: every element with its path and value.

:func:`flatten` expands each subcircuit instance (recursively) and yields every element of the
board as a :class:`FlatElement` - its instance path (``xmaster.xcub.r1``), its card, and its
value evaluated in the scope ngspice would use (the deck's ``.param``\\s, the subcircuit's
``params:`` defaults, the instance's overrides, the subcircuit's own ``.param``\\s). The parts
list and the tolerance analysis are built on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurospice.errors import DeckError
from neurospice.spice.compiler import CompiledCard
from neurospice.spice.deck import PreparedDeck, evaluate_expression

__all__ = ["FlatElement", "Subckt", "flatten", "subckt_table", "is_part", "PART_LIBRARIES"]

#: Library files whose subcircuits are parts one buys (an op-amp, a memristor), not circuits
#: to look into: their insides are behavioural models, not components.
PART_LIBRARIES = ("parts.lib", "memristors.lib")

_MAX_DEPTH = 32
_MAX_ELEMENTS = 200_000


@dataclass(frozen=True)
class Subckt:
    """One ``.subckt`` definition: its pins, parameter defaults and body cards."""

    name: str
    pins: tuple[str, ...]
    defaults: tuple[tuple[str, str], ...]
    body: tuple[CompiledCard, ...]
    card: CompiledCard


def is_part(sub: Subckt) -> bool:
    """True for a subcircuit that models one bought part (op-amp, memristor).

    Those defined in :data:`PART_LIBRARIES`, named ``opamp...``, or two-pin ``p n``
    subcircuits with a state node ``w`` (the memristor convention).
    """
    path = sub.card.origin.path
    if path is not None and path.name in PART_LIBRARIES:
        return True
    if sub.name.startswith("opamp"):
        return True
    nodes = {t.lower() for c in sub.body if c.is_element for t in c.tokens[1:3]}
    return sub.pins == ("p", "n") and "w" in nodes

@dataclass(frozen=True)
class FlatElement:
    """One element of the flattened board.

    Attributes
    ----------
    path
        Instance path, lower case, as ngspice names it (``xmaster.xcub.r1``).
    card
        The element's card (inside its subcircuit definition, or at top level).
    value
        The primary value evaluated in the element's scope (ohm, F, H for R, C, L; None when
        it is not a plain value or cannot be evaluated here).
    value_text
        The value as written (``{r0}``, ``3.3k``).
    model
        The ``.model`` name of a device (D, J, Q, M ...), or the subcircuit of an X instance.
    """

    path: str
    card: CompiledCard
    value: float | None
    value_text: str
    model: str | None
    #: the other half's path when this resistor is half of a potentiometer
    pot_with: str | None = None

    @property
    def letter(self) -> str:
        return self.card.letter

    @property
    def name(self) -> str:
        return self.card.tokens[0].lower()


def _plain(tokens: tuple[str, ...]) -> list[str]:
    return [t for t in tokens if "=" not in t and t.lower() not in ("params:", "param:")]


def _assignments(tokens: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for t in tokens:
        if "=" in t:
            k, _, v = t.partition("=")
            out.append((k.strip().lower(), v.strip()))
    return out


def subckt_table(deck: PreparedDeck) -> dict[str, Subckt]:
    """Every subcircuit definition of the deck, by lower-case name."""
    out: dict[str, Subckt] = {}
    stack: list[tuple[CompiledCard, list[CompiledCard]]] = []
    for card in deck.cards:
        if card.head == ".subckt":
            stack.append((card, []))
            continue
        if card.head == ".ends" and stack:
            head, body = stack.pop()
            toks = head.tokens
            pins = []
            for t in toks[2:]:
                if "=" in t or t.lower() in ("params:", "param:"):
                    break
                pins.append(t.lower())
            out[toks[1].lower()] = Subckt(toks[1].lower(), tuple(pins),
                                          tuple(_assignments(toks[2:])), tuple(body), head)
            continue
        if stack and card.depth == stack[-1][0].depth + 1:
            stack[-1][1].append(card)
    return out


_MODEL_INDEX = {"d": 3, "j": 4, "z": 4, "q": 4, "m": 5}


def _value(card: CompiledCard, scope: dict[str, str]) -> tuple[float | None, str]:
    toks = card.tokens
    if card.letter not in "rcl" or len(toks) < 4:
        return None, ""
    text = toks[3]
    if "=" in text:
        key, _, text = text.partition("=")
    try:
        return evaluate_expression(text, scope), toks[3]
    except ValueError:
        return None, toks[3]


def flatten(deck: PreparedDeck, *, into_parts: bool = False) -> list[FlatElement]:
    """Every element of the deck with its instance path and evaluated value.

    Instances of part subcircuits (:func:`is_part`) are listed but not expanded unless
    ``into_parts``.

    Raises
    ------
    DeckError
        A subcircuit that instantiates itself, nesting deeper than 32, or more than 200,000
        elements in all.
    """
    subs = subckt_table(deck)
    top_scope = dict(deck.params())
    out: list[FlatElement] = []
    halves: dict[tuple[str, str], str] = {}
    for scope_name, a, b in deck.pots:
        halves[(scope_name, a)] = b
        halves[(scope_name, b)] = a

    def walk(cards: tuple[CompiledCard, ...] | list[CompiledCard], prefix: str,
             scope: dict[str, str], stack: tuple[str, ...]) -> None:
        local = dict(scope)
        for card in cards:
            if card.head == ".param":
                for k, v in _assignments(card.tokens[1:]):
                    local[k] = v
        for card in cards:
            if not card.is_element:
                continue
            path = f"{prefix}{card.tokens[0].lower()}"
            if len(out) >= _MAX_ELEMENTS:
                raise DeckError(f"the board flattens to more than {_MAX_ELEMENTS} elements",
                                card.origin.path, card.origin.line)
            if card.letter == "x":
                plain = _plain(card.tokens)
                name = plain[-1].lower() if len(plain) >= 2 else ""
                out.append(FlatElement(path, card, None, "", name))
                sub = subs.get(name)
                if sub is None or (is_part(sub) and not into_parts):
                    continue
                if name in stack or len(stack) >= _MAX_DEPTH:
                    raise DeckError(f"subcircuit {name} instantiates itself or nests deeper "
                                    f"than {_MAX_DEPTH}", card.origin.path, card.origin.line)
                inner = {**top_scope}
                for k, v in sub.defaults:
                    inner[k] = _in_scope(v, local)
                for k, v in _assignments(card.tokens[1:]):
                    inner[k] = _in_scope(v, local)
                walk(sub.body, f"{path}.", inner, (*stack, name))
                continue
            value, text = _value(card, local)
            model = None
            idx = _MODEL_INDEX.get(card.letter)
            if idx is not None:
                plain = _plain(card.tokens)
                if idx < len(plain):
                    model = plain[idx].lower()
            other = halves.get((stack[-1] if stack else "", card.tokens[0].lower()))
            out.append(FlatElement(path, card, value, text, model,
                                   f"{prefix}{other}" if other else None))

    walk([c for c in deck.cards if c.depth == 0 and c.head not in (".subckt", ".ends")], "",
         top_scope, ())
    return out


def _in_scope(text: str, scope: dict[str, str]) -> str:
    """``text`` evaluated in ``scope`` when possible (as a number), else kept as text."""
    try:
        return repr(evaluate_expression(text, scope))
    except ValueError:
        return text
