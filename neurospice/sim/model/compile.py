"""Compile a checked deck into the model engine's equations.

What is mapped (everything else is refused, naming the element):

* ``X`` instances of ``.subckt fhn`` (the electronic FHN neuron of ``fhn.lib``): two states per
  neuron, the membrane voltage ``V`` and the inductor current ``I_L``::

      C0 dV/dt   = -F(V) - I_L + I_ext
      L  dI_L/dt = V - (V3(pot) + H(V)) - Rs * I_L

  with ``F``, ``H``, ``V3`` and the gyrator's ``L``, ``Rs`` measured in ngspice on the deck's own
  library (:mod:`.characterise`); ``C0`` is the instance's ``c0``. The ``out`` pin is an ideal
  source ``kout * B(V)`` behind the measured output resistance.
* ``X`` instances of two-pin ``p n`` subcircuits (memristors), by their **body**: a body equal,
  card for card, to ``zro2``'s or ``biolek``'s in ``memristors.lib`` (frozen in :mod:`.bodies`)
  runs on the integrator's hand-written equations, proven equal to the compiled text; any other
  body (an edited ``zro2``, ``pershin``, the second-order devices, a user's own) is compiled
  from its text (:mod:`.network`), or refused naming the card it cannot compile. The
  parameters are the instance's over its own ``.subckt`` line's defaults.
* ``E`` sources from a node to ground controlled by neuron pins (an unloaded ``out`` or a
  ``mem``) - a path's terminal - and ``F`` sources into a membrane controlled by a path's
  voltage source (``coupled_fhn_2nd.cir``'s interface).
* Capacitors from a neuron's ``mem`` node to ground (added to its measured capacitance).
* ``.temp`` and ``.options temp= tnom=``: into the neuron's characterisation (and its cache key).
* Resistors, and independent voltage sources with a constant (DC) value, in series paths between
  neuron pins (``mem`` or ``out``) or ground: each path is one algebraic branch whose current
  follows from the pins' voltages, the series resistance and the (at most one) memristor on it.
* ``.param``, ``.options``, ``.tran``, ``.ic v(mem node)=...``, ``.save``, ``.subckt``/``.model``
  definitions, comments.

The result, :class:`ModelProgram`, keeps the parameter *expressions*; :meth:`ModelProgram.bind`
evaluates them for each parameter point (``--sweep`` values override the deck's ``.param``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurospice.errors import ModelError
from neurospice.sim.model.bodies import KNOWN_BODIES
from neurospice.spice.deck import PreparedDeck, split_tokens
from neurospice.spice.flatten import Subckt, subckt_table
from neurospice.spice.library import is_number, parse_library_text, parse_si

__all__ = [
    "Branch",
    "DeviceEq",
    "MEMRISTOR_MODELS",
    "ModelProgram",
    "NEURON_MODELS",
    "NeuronEq",
    "UnmappableElementError",
    "compile_deck",
    "known_body",
    "normalise_card",
]

#: Neuron subcircuits the engine maps.
NEURON_MODELS = frozenset({"fhn"})
#: Memristor bodies the engine recognises (:mod:`.bodies`).
MEMRISTOR_MODELS = frozenset(KNOWN_BODIES)
#: The known bodies that run on the integrator's hand-written equations, proven equal to the
#: compiled text (tests/test_model_compile.py, tests/test_model_engine.py); every other two-pin
#: body, ``pershin`` included (its hand-written update clips hard where its text limits
#: smoothly), is compiled from its text (:mod:`.network`).
HAND_WRITTEN = frozenset({"zro2", "biolek"})
_GROUND = frozenset({"0", "gnd"})
_DOT_OK = frozenset({".param", ".options", ".option", ".tran", ".ic", ".save", ".end", ".model",
                     ".title", ".global", ".temp", ".nodeset", ".csparam", ".probe", ".print",
                     ".plot", ".width", ".func", ".meas", ".measure"})


class UnmappableElementError(ModelError):
    """A deck element the model engine cannot map onto its equations (bad input for it).

    Attributes
    ----------
    element : str
        The element's name as written (``Bsyn``, ``C1``, ``Xfoo``), or a node name for a topology
        the engine does not support.
    """

    def __init__(self, element: str, message: str, *, path: Path | None = None,
                 line: int | None = None, snippet: str | None = None) -> None:
        super().__init__(
            f"the model engine cannot map {element}: {message}",
            path=path, line=line,
            context=("    " + snippet.strip()) if snippet else None,
            hint="run this deck with the ngspice engine (--engine spice)",
        )
        self.element = element


@dataclass(frozen=True)
class NeuronEq:
    """One FHN neuron instance.

    ``params`` maps the instance's parameter names to their expression text (instance
    assignments over the subcircuit's defaults).
    """

    name: str  #: instance name, lower case (``xmaster``)
    subckt: str
    mem: str  #: top-level node of the ``mem`` pin
    out: str  #: top-level node of the ``out`` pin
    params: dict[str, str]
    v_init: str | None  #: ``.ic`` expression for the mem node, if any


@dataclass(frozen=True)
class DeviceEq:
    """One memristor instance on a branch."""

    name: str  #: instance name, lower case (``xm1``)
    model: str  #: ``zro2``, ``biolek`` or ``pershin``
    p: str  #: top-level node of pin p
    n: str  #: top-level node of pin n
    params: dict[str, str]
    sign: int  #: +1 when the branch's direction enters the device at pin p, else -1
    draw_index: int = 0  #: the device's place among the deck's memristor cards (its draws)


@dataclass(frozen=True)
class Branch:
    """A series path between two terminals (a neuron pin or ground), directed A -> B.

    Terminals are ``("mem", k)``, ``("out", k)`` (neuron index ``k``), ``("vcvs", e)`` (the
    output of :attr:`ModelProgram.vcvs` ``e``) or ``("gnd", -1)``.
    ``walk`` lists the path's elements from A to B as ``(kind, name, node_before, node_after,
    value_expr)``; kind is ``"r"``, ``"v"`` (value: the EMF from node_before to node_after with
    its sign: + node first) or ``"x"`` (the memristor).
    """

    a: tuple[str, int]
    b: tuple[str, int]
    walk: tuple[tuple[str, str, str, str, str], ...]
    device: int  #: index into :attr:`ModelProgram.devices`, or -1

    @property
    def resistors(self) -> list[str]:
        """Expressions of the series resistors (ohm)."""
        return [w[4] for w in self.walk if w[0] == "r"]

    @property
    def sources(self) -> list[tuple[str, int]]:
        """Voltage sources on the path and the sign of their ngspice current against A -> B."""
        out = []
        for kind, name, _before, _after, sign_text in self.walk:
            if kind == "v":
                out.append((name, 1 if sign_text.startswith("+") else -1))
        return out


@dataclass
class ModelProgram:
    """The deck compiled to model equations (expressions not yet evaluated)."""

    deck: PreparedDeck
    neurons: list[NeuronEq]
    devices: list[DeviceEq]
    branches: list[Branch]
    uic: bool
    tran: tuple[float, float, float]  #: (tstep, tstop, tmax) of the deck's ``.tran`` (s)
    saves: list[str]
    definitions: str
    defaults: dict[str, dict[str, str]] = field(default_factory=dict)  #: subckt -> name -> expr
    source_signs: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: the deck's temperature cards, one a line (``.temp 60``, ``.options temp=60``)
    environment: str = ""
    #: neuron name -> (name, expression) of the top-level capacitors from its mem node to ground
    extra_caps: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: ideal VCVSs to ground driving a path: (name, output node, (+ control), (- control), gain
    #: expression); controls are terminals ``("mem", k)``, ``("out", k)`` or ``("gnd", -1)``
    vcvs: list[tuple[str, str, tuple[str, int], tuple[str, int], str]] = field(
        default_factory=list)
    #: CCCSs into a membrane: (name, neuron index, branch index, sign, gain expression); the
    #: current into the neuron's mem node is ``sign * gain * (branch current A -> B)``
    cccs: list[tuple[str, int, int, int, str]] = field(default_factory=list)

    def describe(self) -> str:
        """A short account of what was mapped."""
        parts = [f"{len(self.neurons)} FHN neuron(s) ("
                 + ", ".join(n.name for n in self.neurons) + ")"]
        if self.devices:
            parts.append(f"{len(self.devices)} memristor(s) ("
                         + ", ".join(f"{d.name}: {d.model}" for d in self.devices) + ")")
        parts.append(f"{len(self.branches)} branch(es)")
        return ", ".join(parts)


# --------------------------------------------------------------------------- reading the deck


@dataclass
class _Card:
    text: str
    path: Path | None
    line: int


def _top_level_cards(deck: PreparedDeck) -> list[_Card]:
    """Top-level logical lines (continuations joined, comments and subckt bodies dropped)."""
    joined: list[_Card] = []
    for line, org in zip(deck.lines[1:], deck.origin[1:], strict=True):
        s = line.strip()
        if not s or s.startswith("*"):
            continue
        s = re.split(r";|\s\$\s", s, maxsplit=1)[0].rstrip()
        if s.startswith("+") and joined:
            joined[-1].text += " " + s[1:].strip()
        else:
            joined.append(_Card(s, org.path, org.line))
    out = []
    depth = 0
    for card in joined:
        low = card.text.lower()
        if low.startswith(".subckt"):
            depth += 1
            continue
        if low.startswith(".ends"):
            depth = max(0, depth - 1)
            continue
        if depth == 0:
            out.append(card)
    return out


def _assignments(tokens: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for tok in tokens:
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k.strip().lower()] = v.strip()
    return out


def _refuse(card: _Card, element: str, message: str) -> UnmappableElementError:
    return UnmappableElementError(element, message, path=card.path, line=card.line,
                                  snippet=card.text)


def normalise_card(text: str) -> str:
    """A card's text for comparing bodies: lower case, no blanks around operators."""
    s = re.sub(r"\s+", " ", text.strip().lower())
    return re.sub(r"\s*([-+*/(),=<>?:{}^!&|])\s*", r"\1", s)


def known_body(sub: Subckt) -> tuple[str | None, int]:
    """Which known memristor body ``sub`` has, and where its own-named one differs.

    Returns
    -------
    (model, index)
        ``model`` is the name in :data:`~neurospice.sim.model.bodies.KNOWN_BODIES` whose body
        equals ``sub``'s card for card (None if none does); ``index`` is, when ``sub`` carries a
        known name but not its body, the first differing card of ``sub``'s body (its length if
        the known body is longer), else -1.
    """
    cards = [normalise_card(c.text) for c in sub.body]
    for name, body in KNOWN_BODIES.items():
        if tuple(cards) == body:
            return name, -1
    known = KNOWN_BODIES.get(sub.name)
    if known is None:
        return None, -1
    for i, (mine, ref) in enumerate(zip(cards, known, strict=False)):
        if mine != ref:
            return None, i
    return None, min(len(cards), len(known))


def _body_refusal(head: str, sub: Subckt, index: int) -> UnmappableElementError:
    if index < len(sub.body):
        card = sub.body[index]
        org, text = card.origin, card.text
    else:  # the known body has more cards: point at the .subckt line
        org, text = sub.card.origin, sub.card.text
    where = f"line {org.line}" + (f" of {org.path.name}" if org.path is not None else "")
    return UnmappableElementError(
        head.lower(), f"subcircuit {sub.name} differs from the known body at {where} (the "
        "engine integrates the equations of that body, not of this one)",
        path=org.path, line=org.line, snippet=text)


def scalar_scope(deck: PreparedDeck, params: dict[str, str]) -> dict[str, float]:
    """An instance's parameters (expressions over the deck's ``.param``) as numbers."""
    return {k: evaluate(deck, v) for k, v in params.items()}


def evaluate_in(text: str, scope: dict[str, float]) -> float:
    """A subcircuit's ``.param`` expression over numbers."""
    from neurospice.spice.deck import evaluate_expression

    return evaluate_expression(text, {k: repr(v) for k, v in scope.items()})


def _behavioural_refusal(deck: PreparedDeck, sub: Subckt, params: dict[str, str]
                         ) -> tuple[str, Any, str | None] | None:
    """None when :mod:`.network` compiles ``sub`` with these parameters, else why (and the
    card's origin and text)."""
    from neurospice.sim.model.behavioural import NotCompilable
    from neurospice.sim.model.network import compile_network, global_funcs

    try:
        compile_network(sub, scalar_scope(deck, params), evaluate_in,
                        funcs=global_funcs(deck.cards))
    except NotCompilable as exc:
        card = exc.card
        return str(exc), getattr(card, "origin", None), getattr(card, "text", None)
    except (ValueError, ZeroDivisionError) as exc:
        return f"its parameters cannot be evaluated ({exc})", None, None
    return None


def _environment(toks: list[str]) -> str | None:
    """The temperature part of a ``.temp`` / ``.options`` card, or None."""
    head = toks[0].lower()
    if head == ".temp":
        return " ".join(toks)
    keep = [t for t in toks[1:] if t.lower().split("=", 1)[0] in ("temp", "tnom")]
    return ".options " + " ".join(keep) if keep else None


def compile_deck(deck: PreparedDeck) -> ModelProgram:
    """Map ``deck`` onto the model engine's equations.

    Parameters
    ----------
    deck
        A checked, expanded deck (:func:`neurospice.spice.deck.prepare_deck`).

    Returns
    -------
    ModelProgram
        Neurons, memristors and branches with their parameter expressions.

    Raises
    ------
    UnmappableElementError
        Naming the first element (or node) the engine cannot map, with its file and line.
    """
    from neurospice.sim.model.characterise import library_text

    definitions = library_text(deck.lines)
    lib = parse_library_text(definitions, deck.source or Path("<deck>"))
    defaults = {s.name: {k: (v if isinstance(v, str) else repr(v)) for k, v in s.params.items()}
                for s in lib.subckts}
    pins_of = {s.name: s.pins for s in lib.subckts}
    subs = subckt_table(deck)
    cards = _top_level_cards(deck)
    environment: list[str] = []
    caps: list[tuple[_Card, str, str, str, str]] = []

    neurons: list[NeuronEq] = []
    device_cards: list[tuple[_Card, str, str, str, str, dict[str, str]]] = []
    elements: list[tuple[_Card, str, str, str, str, str]] = []  # kind, name, n1, n2, value
    ics: dict[str, str] = {}
    vcvs_cards: list[tuple[_Card, str, str, str, str, str]] = []
    cccs_cards: list[tuple[_Card, str, str, str, str, str]] = []
    uic = False
    tran: tuple[float, float, float] | None = None
    saves: list[str] = []
    for card in cards:
        toks = split_tokens(card.text)
        head = toks[0]
        low = head.lower()
        if low.startswith("."):
            if low not in _DOT_OK:
                raise _refuse(card, head, f"the control card {head} has no model-engine meaning")
            if low in (".temp", ".options", ".option"):
                env = _environment(toks)
                if env is not None:
                    environment.append(env)
            if low == ".tran":
                nums = [t for t in toks[1:] if t.lower() != "uic"]
                uic = uic or any(t.lower() == "uic" for t in toks[1:])
                try:
                    vals = [deck.evaluate(t) for t in nums[:4]]
                    tstep, tstop = vals[0], vals[1]
                except (ValueError, IndexError, ZeroDivisionError) as exc:
                    raise _refuse(card, head, f"cannot read its times ({exc})") from None
                tmax = vals[3] if len(vals) >= 4 else tstep
                tran = (tstep, tstop, tmax)
            elif low == ".ic":
                for tok in toks[1:]:
                    m = re.fullmatch(r"v\(([^)]+)\)=(.+)", tok, re.IGNORECASE)
                    if m:
                        ics[m.group(1).lower()] = m.group(2)
            elif low == ".save":
                saves += [t.lower() for t in toks[1:]]
            continue
        kind = low[0]
        if kind == "x":
            plain = [t for t in toks[1:] if "=" not in t and not t.lower().startswith("params:")]
            model = plain[-1].lower() if plain else ""
            nodes = [n.lower() for n in plain[:-1]]
            assigned = _assignments(toks[1:])
            if model in NEURON_MODELS:
                if len(nodes) != 2:
                    raise _refuse(card, head, f"a {model} instance has two pins (mem out)")
                params = {**defaults.get(model, {}), **assigned}
                neurons.append(NeuronEq(low, model, nodes[0], nodes[1], params, None))
            elif model in subs and pins_of.get(model) == ("p", "n") and (
                    known_body(subs[model])[0] in HAND_WRITTEN):
                equations = str(known_body(subs[model])[0])
                if len(nodes) != 2:
                    raise _refuse(card, head, f"a {model} instance has two pins (p n)")
                device_cards.append((card, low, equations, nodes[0], nodes[1],
                                     {**defaults.get(model, {}), **assigned}))
                elements.append((card, "x", low, nodes[0], nodes[1], equations))
            else:
                known = ", ".join(sorted(NEURON_MODELS | MEMRISTOR_MODELS))
                what = "neuron" if pins_of.get(model, ())[:1] == ("mem",) else "subcircuit"
                if pins_of.get(model) == ("p", "n") and model in subs:
                    params = {**defaults.get(model, {}), **assigned}
                    why = _behavioural_refusal(deck, subs[model], params)
                    if why is None:
                        if len(nodes) != 2:
                            raise _refuse(card, head, f"a {model} instance has two pins (p n)")
                        device_cards.append((card, low, "compiled:" + model, nodes[0],
                                             nodes[1], params))
                        elements.append((card, "x", low, nodes[0], nodes[1], model))
                        continue
                    differs = known_body(subs[model])[1]
                    if differs >= 0:  # an edited copy of a known body, not compilable
                        sub = subs[model]
                        org = (sub.body[differs] if differs < len(sub.body) else sub.card).origin
                        where = f"line {org.line}" + (f" of {org.path.name}" if org.path
                                                      is not None else "")
                        raise UnmappableElementError(
                            low, f"subcircuit {model} differs from the known body at {where} "
                            f"and cannot be compiled: {why[0]}",
                            path=why[1].path if why[1] else card.path,
                            line=why[1].line if why[1] else card.line,
                            snippet=why[2] or card.text)
                    raise UnmappableElementError(
                        low, f"subcircuit {model} is a two-pin device whose body is none of the "
                        f"memristor bodies the engine implements (those of "
                        f"{', '.join(sorted(KNOWN_BODIES))}) and not a behavioural memristor "
                        f"it compiles: {why[0]}",
                        path=why[1].path if why[1] else card.path,
                        line=why[1].line if why[1] else card.line, snippet=why[2] or card.text)
                raise _refuse(card, head, f"{what} '{model}' has no model equations (the engine "
                              f"maps {known})")
        elif kind == "r":
            if len(toks) < 4:
                raise _refuse(card, head, "a resistor needs two nodes and a value")
            value = next((t for t in toks[3:] if "=" not in t), None) or \
                _assignments(toks[3:]).get("r", "")
            extra = [t for t in toks[3:] if t != value and t.lower() != f"r={value}".lower()]
            if extra:
                raise _refuse(card, head, f"the resistor's {' '.join(extra)} is not mapped "
                              "(only a plain resistance is)")
            elements.append((card, "r", low, toks[1].lower(), toks[2].lower(), value))
        elif kind == "c" and len(toks) == 4 and (toks[1].lower() in _GROUND) != (
                toks[2].lower() in _GROUND):
            node = toks[2].lower() if toks[1].lower() in _GROUND else toks[1].lower()
            caps.append((card, low, node, toks[3], ""))
        elif kind == "v":
            rest = " ".join(toks[3:]).strip()
            m = re.fullmatch(r"(?:dc\s+)?(\S+)", rest, re.IGNORECASE) if rest else None
            if rest == "":
                value = "0"
            elif m is not None and (is_number(m.group(1)) or m.group(1).startswith("{")):
                value = m.group(1)
            else:
                raise _refuse(card, head, "only constant (DC) voltage sources are mapped; "
                              "transient sources (sin, pulse, pwl, trrandom, ...) are not")
            elements.append((card, "v", low, toks[1].lower(), toks[2].lower(), value))
        elif kind == "e":
            if len(toks) != 6 or toks[2].lower() not in _GROUND or toks[1].lower() in _GROUND:
                raise _refuse(card, head, "a voltage-controlled voltage source is mapped from a "
                              "node to ground with two control nodes and a gain only "
                              "(E out 0 c+ c- gain)")
            vcvs_cards.append((card, low, toks[1].lower(), toks[3].lower(), toks[4].lower(),
                               toks[5]))
        elif kind == "f":
            n1, n2 = toks[1].lower(), toks[2].lower() if len(toks) > 2 else ""
            if len(toks) != 5 or (n1 in _GROUND) == (n2 in _GROUND):
                raise _refuse(card, head, "a current-controlled current source is mapped "
                              "between a membrane node and ground with one controlling "
                              "source and a gain only (F 0 mem Vx gain)")
            cccs_cards.append((card, low, n1, n2, toks[3].lower(), toks[4]))
        else:
            names = {"c": "capacitor", "l": "inductor", "b": "behavioural source",
                     "e": "controlled source", "f": "controlled source",
                     "g": "controlled source", "h": "controlled source", "i": "current source",
                     "d": "diode", "j": "JFET", "q": "BJT", "m": "MOSFET", "k": "coupling",
                     "s": "switch", "w": "switch", "a": "XSPICE model", "t": "line",
                     "n": "device", "y": "device", "o": "line", "u": "line"}
            raise _refuse(card, head, f"a top-level {names.get(kind, 'element')} is outside the "
                          "mapped equations (FHN neurons, memristors, resistors, DC sources)")
    if not neurons:
        raise UnmappableElementError(
            "the deck", "it instantiates no FHN neuron (.subckt fhn)", path=deck.source)
    if tran is None:
        raise UnmappableElementError("the deck", "it has no .tran card", path=deck.source)

    ic_neurons = []
    for nrn in neurons:
        ic_neurons.append(NeuronEq(nrn.name, nrn.subckt, nrn.mem, nrn.out, nrn.params,
                                   ics.get(nrn.mem)))
    neurons = ic_neurons
    extra_caps: dict[str, list[tuple[str, str]]] = {}
    mems = {nrn.mem: nrn.name for nrn in neurons}
    for card, name, node, value, _ in caps:
        if node not in mems:
            raise _refuse(card, name, f"a capacitor is mapped only from a neuron's mem node to "
                          f"ground ('{node}' is no neuron's mem node)")
        extra_caps.setdefault(mems[node], []).append((name, value))
    terminals_extra = {c[2]: ("vcvs", i) for i, c in enumerate(vcvs_cards)}
    branches, devices, signs = _branches(neurons, elements, device_cards, terminals_extra)
    vcvs, cccs = _controlled(neurons, branches, signs, elements, vcvs_cards, cccs_cards)
    order = [d[1] for d in device_cards]
    devices = [DeviceEq(d.name, d.model, d.p, d.n, d.params, d.sign, order.index(d.name))
               for d in devices]
    return ModelProgram(deck, neurons, devices, branches, uic, tran, saves, definitions,
                        defaults, signs, "\n".join(environment), extra_caps, vcvs, cccs)


def _controlled(
    neurons: list[NeuronEq], branches: list[Branch], signs: dict[str, tuple[int, int]],
    elements: list[tuple[_Card, str, str, str, str, str]],
    vcvs_cards: list[tuple[_Card, str, str, str, str, str]],
    cccs_cards: list[tuple[_Card, str, str, str, str, str]],
) -> tuple[list[tuple[str, str, tuple[str, int], tuple[str, int], str]],
           list[tuple[str, int, int, int, str]]]:
    """The controlled sources' terminals (see :class:`ModelProgram`)."""
    pins: dict[str, tuple[str, int]] = {}
    for k, nrn in enumerate(neurons):
        pins[nrn.mem] = ("mem", k)
        pins[nrn.out] = ("out", k)
    loaded = {n for _c, _k, _name, n1, n2, _v in elements for n in (n1, n2)}
    vcvs = []
    for card, name, out, cp, cm, gain in vcvs_cards:
        ctl = []
        for node in (cp, cm):
            if node in _GROUND:
                ctl.append(("gnd", -1))
            elif node in pins:
                if pins[node][0] == "out" and node in loaded:
                    raise _refuse(card, name, f"its control node '{node}' is a neuron output "
                                  "that also drives a path (only an unloaded output or a "
                                  "membrane is mapped as a control)")
                ctl.append(pins[node])
            else:
                raise _refuse(card, name, f"its control node '{node}' is no neuron pin (a "
                              "controlled source is mapped with neuron pins as controls)")
        vcvs.append((name, out, ctl[0], ctl[1], gain))
    cccs = []
    for card, name, n1, n2, src, gain in cccs_cards:
        node = n2 if n1 in _GROUND else n1
        if node not in pins or pins[node][0] != "mem":
            raise _refuse(card, name, f"'{node}' is no neuron's membrane node (a current-"
                          "controlled source is mapped into a membrane only)")
        if src not in signs:
            raise _refuse(card, name, f"its controlling source '{src}' is on no mapped path")
        b, sign_v = signs[src]
        # the current flows from n+ through the source to n-: into the membrane when it is n-
        into = 1 if node == n2 else -1
        cccs.append((name, pins[node][1], b, into * sign_v, gain))
    del branches
    return vcvs, cccs


def _branches(
    neurons: list[NeuronEq],
    elements: list[tuple[_Card, str, str, str, str, str]],
    device_cards: list[tuple[_Card, str, str, str, str, dict[str, str]]],
    extra: dict[str, tuple[str, int]] | None = None,
) -> tuple[list[Branch], list[DeviceEq], dict[str, tuple[int, int]]]:
    terminals: dict[str, tuple[str, int]] = {}
    for k, nrn in enumerate(neurons):
        for pin, node in (("mem", nrn.mem), ("out", nrn.out)):
            if node in _GROUND:
                raise UnmappableElementError(nrn.name, f"its {pin} pin is grounded")
            if node in terminals:
                other = terminals[node]
                raise UnmappableElementError(
                    nrn.name, f"node '{node}' joins its {pin} pin to the {other[0]} pin of "
                    f"{neurons[other[1]].name}; only series paths between pins are mapped")
            terminals[node] = (pin, k)
    for node, term_ in (extra or {}).items():
        if node in terminals:
            raise UnmappableElementError(node, "a controlled source drives a neuron pin "
                                         "directly")
        terminals[node] = term_
    incident: dict[str, list[int]] = {}
    for i, (_card, _kind, _name, n1, n2, _v) in enumerate(elements):
        for node in (n1, n2):
            incident.setdefault(node, []).append(i)
    for node, members in incident.items():
        if node in terminals or node in _GROUND:
            continue
        if len(members) != 2:
            card = elements[members[0]][0]
            names = ", ".join(split_tokens(elements[i][0].text)[0] for i in members)
            what = "ends an open path" if len(members) == 1 else f"joins {len(members)} elements"
            raise _refuse(card, f"node '{node}'", f"it {what} ({names}); the engine maps series "
                          "paths between neuron pins and ground only")
    used = [False] * len(elements)
    branches: list[Branch] = []
    devices: list[DeviceEq] = []
    signs: dict[str, tuple[int, int]] = {}
    dev_by_name = {d[1]: d for d in device_cards}

    def term(node: str) -> tuple[str, int]:
        return ("gnd", -1) if node in _GROUND else terminals[node]

    starts = [n for n in list(terminals) + sorted(_GROUND) if n in incident]
    for start in starts:
        for first in incident[start]:
            if used[first]:
                continue
            walk: list[tuple[str, str, str, str, str]] = []
            node, idx = start, first
            dev_here: list[tuple[str, int]] = []
            while True:
                used[idx] = True
                card, kind, name, n1, n2, value = elements[idx]
                after = n2 if n1 == node else n1
                if kind == "v":
                    walk.append(("v", name, node, after, ("+" if n1 == node else "-") + value))
                elif kind == "x":
                    dev_here.append((name, 1 if n1 == node else -1))
                    walk.append(("x", name, node, after, ""))
                else:
                    walk.append(("r", name, node, after, value))
                node = after
                if node in terminals or node in _GROUND:
                    break
                nxt = [i for i in incident[node] if i != idx]
                idx = nxt[0]
            if len(dev_here) > 1:
                card = dev_by_name[dev_here[1][0]][0]
                raise _refuse(card, dev_here[1][0], "a second memristor on the same series path "
                              f"as {dev_here[0][0]} (one per path is mapped)")
            a, b = term(start), term(node)
            if a == b:
                card = elements[first][0]
                raise _refuse(card, elements[first][2], f"its path returns to the same pin "
                              f"('{start}')")
            if not any(w[0] in "rx" for w in walk) and "mem" in (a[0], b[0]):
                card = elements[first][0]
                raise _refuse(card, elements[first][2], "it ties a membrane node to a source "
                              "without resistance")
            dev_index = -1
            if dev_here:
                card, name, model, p, n, params = dev_by_name[dev_here[0][0]]
                dev_index = len(devices)
                devices.append(DeviceEq(name, model, p, n, params, dev_here[0][1]))
            br = Branch(a, b, tuple(walk), dev_index)
            for kind, name, _b4, _af, text in walk:
                if kind == "v":
                    signs[name] = (len(branches), 1 if text.startswith("+") else -1)
            branches.append(br)
    for i, done in enumerate(used):
        if not done:
            card, _kind, name = elements[i][0], elements[i][1], elements[i][2]
            raise _refuse(card, name, "it is on a loop that reaches no neuron pin or ground")
    return branches, devices, signs


def evaluate(deck: PreparedDeck, expr: str) -> float:
    """Value of an instance parameter expression over the deck's ``.param`` values."""
    text = expr.strip()
    try:
        return parse_si(text)
    except ValueError:
        pass
    value = deck.evaluate(text)
    if not math.isfinite(value):
        raise ValueError(f"{expr!r} is not finite")
    return value
