"""Checks that resolve names the way ngspice will, before it runs.

:func:`resolve_names` finds every subcircuit instance whose subcircuit is not defined and every
device whose ``.model`` is missing, and refuses the deck naming the card's line - the errors
ngspice would otherwise report after loading the whole deck, without saying where.
"""

from __future__ import annotations

import re

from neurospice.errors import DeckError
from neurospice.spice.compiler import CompiledCard
from neurospice.spice.deck import _NODE_COUNT, PreparedDeck

__all__ = ["control_analyses", "dangling_nodes", "preflight", "resolve_names",
           "undefined_params", "unit_warnings"]

# element letter -> positions (0-based token index) where its model name may stand
_MODEL_AT = {"d": (3,), "j": (4,), "z": (4,), "q": (4, 5), "m": (4, 5), "s": (5,), "w": (4,),
             "o": (5,), "u": (4,)}


def _plain(tokens: tuple[str, ...]) -> list[str]:
    return [t for t in tokens if "=" not in t and not t.lower().startswith("params:")]


# analysis commands of ngspice's control language (a deck run with --allow-control)
_CONTROL_ANALYSES = frozenset({"tran", "ac", "dc", "op", "noise", "tf", "pz", "sens", "disto",
                               "sp", "pss"})


def control_analyses(deck: PreparedDeck) -> list[str]:
    """The analysis commands of the deck's kept control block (``--allow-control``): a deck
    whose only analysis is ``tran`` inside ``.control`` has one."""
    if deck.control_mode != "allow":
        return []
    out = []
    for text, _ in deck.control:
        words = text.split()
        if words and words[0].lower() in _CONTROL_ANALYSES:
            out.append(words[0].lower())
    return out


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
    if not deck.analyses() and not control_analyses(deck):
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


# names ngspice's numparam or its B-source expressions know without a .param
# (ngspice 39 knows no pi or vt in a .param: "Undefined parameter [pi]")
_BUILTIN_NAMES = frozenset({"time", "temper", "hertz", "true", "false", "yes", "no", "temp"})
_BRACES_RE = re.compile(r"\{([^{}]*)\}")
_QUOTED_RE = re.compile(r"\"[^\"]*\"|'[^']*'")
_PROBE_RE = re.compile(r"\b[vi]\s*\([^()]*\)", re.IGNORECASE)
_TOKEN_RE = re.compile(
    r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?[a-z_]*)"
    r"|(?P<name>[a-z_][a-z0-9_.$]*)(?P<call>\s*\()?", re.IGNORECASE)
_FUNC_RE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*\(([^()]*)\)", re.IGNORECASE)


def _names_in(expr: str) -> list[str]:
    """Bare identifiers of an expression (no numbers, calls, probes or strings)."""
    expr = _PROBE_RE.sub(" 0 ", _QUOTED_RE.sub(" 0 ", expr))
    out = []
    for m in _TOKEN_RE.finditer(expr):
        if m.group("name") and not m.group("call"):
            out.append(m.group("name").lower())
    return out


def _defined(tokens: tuple[str, ...]) -> set[str]:
    """Names that ``name=value`` tokens of a card define."""
    out = set()
    for tok in tokens[1:]:
        name, sep, _ = tok.partition("=")
        if sep and name.strip():
            out.add(name.strip().lower())
    return out


def undefined_params(deck: PreparedDeck) -> None:
    """Refuse an expression that uses a parameter no ``.param`` (or subcircuit parameter) defines.

    A parameter is visible where ngspice's numparam sees it: the top-level ``.param``\\s and
    ``.func``\\s anywhere in the deck, and inside a subcircuit definition its ``params:`` and
    its own ``.param``/``.func`` cards (and those of the definitions around it).

    Raises
    ------
    DeckError
        Naming the file and line of the first card that uses an undefined name, and the name.
    """
    cards = deck.cards
    # the names each definition (by index of its .subckt card) and the top level define
    scopes: dict[int, set[str]] = {-1: set()}
    stack = [-1]
    for i, card in enumerate(cards):
        if card.head == ".subckt":
            scopes[i] = _defined(card.tokens)
            stack.append(i)
        elif card.head == ".ends":
            if len(stack) > 1:
                stack.pop()
        elif card.head in (".param", ".csparam"):
            scopes[stack[-1]] |= _defined(card.tokens)
        elif card.head == ".func":
            m = _FUNC_RE.match(" ".join(card.tokens[1:]))
            if m:
                scopes[stack[-1]].add(m.group(1).lower())
    stack = [-1]
    for i, card in enumerate(cards):
        if card.head == ".subckt":
            stack.append(i)
        elif card.head == ".ends":
            if len(stack) > 1:
                stack.pop()
            continue
        known = set().union(*(scopes[s] for s in stack))
        exprs: list[str] = []
        if card.head == ".func":
            m = _FUNC_RE.match(" ".join(card.tokens[1:]))
            if m:
                known |= {a.strip().lower() for a in m.group(2).split(",")}
            exprs = _BRACES_RE.findall(card.text)
        elif card.head in (".param", ".csparam"):
            for tok in card.tokens[1:]:
                _, sep, value = tok.partition("=")
                if sep:
                    exprs.append(value.strip().strip("{}"))
        elif card.head in (".subckt",):
            for tok in card.tokens[1:]:
                _, sep, value = tok.partition("=")
                if sep:
                    exprs.extend(_BRACES_RE.findall(value))
        elif card.is_element and card.letter == "u":
            continue  # a PSPICE digital primitive's braces hold logic, not parameters
        else:
            exprs = _BRACES_RE.findall(card.text)
        for expr in exprs:
            for name in _names_in(expr):
                if name in known or name in _BUILTIN_NAMES:
                    continue
                org = card.origin
                where = "at the top level" if len(stack) == 1 else \
                    f"in subcircuit {cards[stack[-1]].tokens[1]}"
                raise DeckError(f"{card.tokens[0]}: '{name}' is no parameter {where} (no "
                                f".param {name}; define it or fix the name)",
                                org.path, org.line, snippet=card.text)


def preflight(deck: PreparedDeck) -> list[str]:
    """Everything ``check`` and ``simulate`` refuse before ngspice reads the deck: unknown
    subcircuits and models (:func:`resolve_names`), undefined parameters
    (:func:`undefined_params`); returns the warnings they print (:func:`unit_warnings`,
    :func:`dangling_nodes`)."""
    resolve_names(deck)
    undefined_params(deck)
    return unit_warnings(deck) + dangling_nodes(deck)


# a number and the letters glued to it (``2M``, ``10kk``, ``1.5uF``), not inside a name
_VALUE_RE = re.compile(r"(?<![\w.$])((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([A-Za-z]+)")
_SCALES = "tgkmunpf"
# what may follow a scale suffix (or stand alone) as a unit
_UNITS = frozenset({"ohm", "ohms", "v", "volt", "volts", "a", "amp", "amps", "s", "sec", "hz",
                    "f", "h", "w", "j", "c", "deg", "db"})


def _trap(number: str, letters: str, milli: bool = True) -> str | None:
    """Why ``number+letters`` is probably not what was meant, or None (``milli``: whether an
    upper-case M alone or before ohm is suspect here)."""
    low = letters.lower()
    if milli and letters[0] == "M" and low[1:] in ("", "ohm", "ohms", "hz"):
        return (f"{number}{letters} is {number} milli; {number}Meg is {number} mega "
                "(ngspice's M is milli, in any case)")
    if low.startswith("meg"):
        rest = low[3:]
    elif low.startswith("mil"):
        rest = low[3:]
    elif low[0] in _SCALES:
        rest = low[1:]
    else:
        return None
    if rest and rest not in _UNITS and rest != "m" and rest[0] in _SCALES:
        scale = letters[: len(letters) - len(rest)]
        return (f"{number}{letters} has two scale suffixes: ngspice reads {number}{scale} and "
                f"ignores '{letters[len(scale):]}'")
    return None


def _value_texts(card: CompiledCard) -> list[str]:
    """The parts of a card that hold values (not its name, nodes or model names)."""
    toks = card.tokens
    if card.is_element and card.letter in "rcl":
        return list(toks[3:])
    if card.is_element:
        return [t.partition("=")[2] for t in toks[1:] if "=" in t] + _BRACES_RE.findall(
            " ".join(t for t in toks[1:] if "=" not in t))
    if card.head in (".param", ".subckt", ".model", ".options", ".option", ".opt", ".csparam"):
        return [t for t in toks[1:] if "=" in t]  # (name=value: the name says which)
    if card.head in (".tran", ".ac", ".dc"):
        return list(toks[1:])
    return []


def unit_warnings(deck: PreparedDeck) -> list[str]:
    """Values that are legal SPICE but probably not what was meant, each naming its file and
    line: ``2M`` (2 milli, not 2 mega), ``10kk`` (two scale suffixes: 10k), and in a
    ``.param`` card a unit after a blank (``.param amp=1.5 V``: the ``V`` is no part of the
    value)."""
    out: list[str] = []
    for card in deck.cards:
        org = card.origin
        for text in _value_texts(card):
            for m in _VALUE_RE.finditer(_QUOTED_RE.sub(" ", text)):
                why = _trap(m.group(1), m.group(2),
                            milli=card.head not in (".model", ".tran", ".ac", ".dc"))
                if why:
                    what = text.partition("=")[0] if card.head.startswith(".") else \
                        card.tokens[0]
                    out.append(f"{org}: {card.tokens[0] if what == text else what}: {why}")
        if card.head == ".param":
            toks = card.tokens
            for i, tok in enumerate(toks[1:], start=1):
                if "=" not in tok and i > 1 and "=" in toks[i - 1]:
                    out.append(f"{org}: .param {toks[i - 1]} {tok}: '{tok}' after a blank is "
                               f"no part of the value (write {toks[i - 1]}{tok} or leave the "
                               "unit out)")
    return out


_PROBED_RE = re.compile(r"\bv[a-z]{0,2}\s*\(([^()]*)\)", re.IGNORECASE)


def dangling_nodes(deck: PreparedDeck) -> list[str]:
    """Top-level nodes with one connection, each naming the file and line of the card that
    holds it: a typo (``smen`` for ``smem``) or a part left unconnected. A subcircuit's pin
    alone on a node is not reported (an output left open is common)."""
    seen: dict[str, list[CompiledCard]] = {}
    loose: set[str] = set()  # names on cards whose node positions are not known here
    for card in deck.top_cards:
        if not card.is_element or card.letter == "k":
            continue
        toks = list(card.tokens)
        if card.letter == "x":
            nodes = _plain(card.tokens)[1:-1]
        elif card.letter in _NODE_COUNT:
            n = _NODE_COUNT[card.letter]
            nodes = [t for t in toks[1:1 + n] if "(" not in t and "=" not in t]
        else:
            loose |= {t.lower().strip("[]") for t in toks[1:]}
            continue
        for node in dict.fromkeys(t.lower() for t in nodes):
            seen.setdefault(node, []).append(card)
    # a node read by an expression, .save, .print, .meas or the control block is in use
    texts = [c.text for c in deck.cards if not c.is_element or c.letter in "begfh"]
    texts += [t for t, _ in deck.control]
    for m in _PROBED_RE.finditer("\n".join(texts)):
        loose |= {n.strip().lower() for n in m.group(1).split(",")}
    out = []
    for node, cards in seen.items():
        if node in ("0", "gnd") or len(cards) != 1 or node in loose:
            continue
        card = cards[0]
        if card.letter == "x":
            continue
        out.append(f"{card.origin}: node '{node}' has one connection ({card.tokens[0]}): a "
                   "typo, or a part left unconnected?")
    return out
