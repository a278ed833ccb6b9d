"""Compile a two-pin behavioural subcircuit (a memristor body) from its node network.

This module compiles the node-network pattern the bodies of ``netlists/lib/memristors.lib`` use
(the one-state shape - a conduction source and a state capacitor - is its simplest case), so
that a body runs in the model engine from its text whatever its arrangement:

**The device's pins.** Nodes joined by ``0`` V sources (``Vs p pi dc 0``: sense sources, their
``i(Vs)`` is the current they carry) form one group. The *core* is the group from which the
conduction elements go to pin ``n``'s group: behavioural current sources (``B a b I = f``),
resistors (a parallel leak), linear VCCSs (``G``); their sum is the device current, an explicit
function of the core voltage ``v`` (the engine's ``x[V]``), the states and the inputs. Resistors
in series between ``p`` and the core (a contact resistor) are summed into
:attr:`NetworkDevice.r_series` (the engine adds them to the branch's series resistance and solves
the current with them), so node ``p`` is at ``v + r_series * i``. A voltage source across the
device (``B m n V = f(i)``), a series element that is not a resistor, or a current that depends
on itself is refused, naming the card.

**Inner nodes** (everything else; one group per node or set of nodes joined by 0 V sources):

* a *defined* node: ``B x 0 V = f``, ``E x 0 c+ c- gain``, ``V x 0 [dc] value`` (a constant), or
  ``V x 0 ... trrandom(2 ts td sigma mean)`` (a noise input: ``mean + sigma * z`` with ``z`` the
  engine's shared cycle-to-cycle normal of that source, held ``ts`` after ``td``);
* a *state*: a capacitor to ground ``C`` (``C x 0 value [IC=x0]``) with the currents into the
  node (``B``/``G`` sources, resistors to other nodes ``R``): ``C dx/dt = sum i_in``;
* a *quasi-static* state: a state whose time constant ``C / G`` (``G`` the node's conductance
  to the rest) is below ``quasi_static_tau`` (default :data:`QUASI_STATIC_TAU`, a tenth of the
  engine's default step): solved algebraically, ``x = (sum of the sources' currents + sum
  v_k/R_k) / G``, from the last solution of the device (the engine refreshes it with the device
  current; ``zro2``'s thermal node, 1 us);
* an *algebraic* node: no capacitor, ``x = (sum of the sources' currents + sum v_k/R_k) / G``,
  evaluated in dependency order (inlined); a node that depends on itself is refused.

``.param`` cards are evaluated (``agauss(nom, var, sigma)`` is ``nom + var/sigma * g_k`` with
``g_k`` the ``k``-th per-device normal of the engine's shared noise, :mod:`neurospice.sim.noise`,
in card order), ``.func`` cards inlined; the expression language is :mod:`.behavioural`'s. The
equations must depend on the pins only through the device voltage (checked numerically).

The result is a set of postfix programs over one variable vector per device
(:func:`evaluate_x`): ``x[0]`` the core voltage (V), ``x[2]`` the device current (A, an input
of a series chain's voltage), ``x[3]`` the time (s), then (from :data:`X_STATE`) the states,
the quasi-static states and the noise inputs. Programs: the device current, each state's rate,
each quasi-static state's value and the read-out of node ``w`` (the state the engine records).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from neurospice.sim.model.behavioural import (
    OP_ADD,
    OP_AND,
    OP_CONST,
    OP_DIV,
    OP_EQ,
    OP_FUNC1,
    OP_GE,
    OP_GT,
    OP_LE,
    OP_LT,
    OP_MUL,
    OP_NE,
    OP_NEG,
    OP_NOT,
    OP_OR,
    OP_POW,
    OP_SELECT,
    OP_SUB,
    OP_VAR,
    VAR_I,
    VAR_T,
    VAR_V,
    Ast,
    NotCompilable,
    _expr_of,
    _Parser,
    _program,
)

__all__ = ["QUASI_STATIC_TAU", "X_STATE", "NetworkDevice", "compile_network", "evaluate_x",
           "run"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Program = tuple[IntArray, FloatArray]

#: Time constant (s) below which a capacitor node is solved as quasi-static: a tenth of the
#: engine's default step (50 us).
QUASI_STATIC_TAU = 5e-6
#: Index of the first state in the variable vector (0: v, 2: i, 3: time; 1, 4, 5: the
#: engine's: its largest unvouched step, the path's EMF and series resistance).
X_STATE = 6
#: Most agauss draws / trrandom sources per device (the shared noise's triples).
MAX_DRAWS = 3
_GROUND = frozenset({"0", "gnd"})


@dataclass(frozen=True)
class NetworkDevice:
    """A two-pin body compiled to programs over the variable vector ``x`` (module docstring).

    Attributes
    ----------
    current
        Device current p -> n (A) through the core, from ``x``.
    rates
        ``d state / dt`` (state units per s), one per state.
    quasi
        Value of each quasi-static state (its units).
    readout
        Value of node ``w`` (the recorded state), or of the first state if ``w`` is none.
    x0
        Initial variable vector (states from their ``IC=``, else their operating-point pin or 0;
        quasi-static states solved at ``v = 0``, ``time = 0``).
    states, quasi_nodes, noise_nodes
        Node names, in ``x`` order.
    r_series
        Resistance (ohm) in series between pin ``p`` and the core.
    noise_hold
        ``(ts, td)`` of the ``trrandom`` sources (s), or None.
    """

    current: Program
    rates: tuple[Program, ...]
    quasi: tuple[Program, ...]
    readout: Program
    x0: FloatArray
    states: tuple[str, ...]
    quasi_nodes: tuple[str, ...]
    noise_nodes: tuple[str, ...]
    r_series: float
    noise_hold: tuple[float, float] | None
    #: True: :attr:`current` is the device *voltage* from its current ``x[I]`` (a series chain)
    voltage_mode: bool = False

    @property
    def nvars(self) -> int:
        return X_STATE + len(self.states) + len(self.quasi_nodes) + len(self.noise_nodes)

    @property
    def programs(self) -> list[Program]:
        """Current, rates, quasi-static values, read-out: the engine's program slots."""
        return [self.current, *self.rates, *self.quasi, self.readout]

    def x(self, v: float = 0.0, t: float = 0.0, **values: float) -> FloatArray:
        """A variable vector: ``x0`` with ``v``, ``t`` and nodes by name set."""
        out = self.x0.copy()
        out[VAR_V] = v
        out[VAR_T] = t
        names = [*self.states, *self.quasi_nodes, *self.noise_nodes]
        for name, value in values.items():
            out[X_STATE + names.index(name)] = value
        return out


# --------------------------------------------------------------------------- the evaluator


@nb.njit(cache=True, fastmath=False)
def evaluate_x(code: IntArray, consts: FloatArray, x: FloatArray) -> float:
    """Run a postfix program (rows ``(op, operand)``) on the variable vector ``x``."""
    stack = np.empty(code.shape[0] + 1)
    sp = 0
    for k in range(code.shape[0]):
        op = code[k, 0]
        arg = code[k, 1]
        if op == OP_CONST:
            stack[sp] = consts[arg]
            sp += 1
        elif op == OP_VAR:
            stack[sp] = x[arg]
            sp += 1
        elif op == OP_NEG:
            stack[sp - 1] = -stack[sp - 1]
        elif op == OP_NOT:
            stack[sp - 1] = 1.0 if stack[sp - 1] == 0.0 else 0.0
        elif op == OP_FUNC1:
            y = stack[sp - 1]
            if arg == 0:
                r = math.exp(min(y, 700.0))
            elif arg == 1 or arg == 2:
                r = math.log(y) if y > 0 else -math.inf
            elif arg == 3:
                r = math.log10(y) if y > 0 else -math.inf
            elif arg == 4:
                r = math.sqrt(y) if y >= 0 else math.nan
            elif arg == 5:
                r = abs(y)
            elif arg == 6:
                r = math.tanh(y)
            elif arg == 7:
                r = math.sinh(min(max(y, -700.0), 700.0))
            elif arg == 8:
                r = math.cosh(min(max(y, -700.0), 700.0))
            elif arg == 9:
                r = math.sin(y)
            elif arg == 10:
                r = math.cos(y)
            elif arg == 11:
                r = math.tan(y)
            elif arg == 12:
                r = math.atan(y)
            elif arg == 13:
                r = 1.0 if y > 0 else (-1.0 if y < 0 else 0.0)
            elif arg == 14:
                r = 1.0 if y > 0 else 0.0
            elif arg == 15:
                r = math.floor(y)
            elif arg == 16:
                r = math.ceil(y)
            else:  # asinh
                r = math.asinh(y)
            stack[sp - 1] = r
        elif op == OP_SELECT:
            b = stack[sp - 1]
            a = stack[sp - 2]
            c = stack[sp - 3]
            sp -= 2
            stack[sp - 1] = a if c != 0.0 else b
        else:
            b = stack[sp - 1]
            a = stack[sp - 2]
            sp -= 1
            if op == OP_ADD:
                r = a + b
            elif op == OP_SUB:
                r = a - b
            elif op == OP_MUL:
                r = a * b
            elif op == OP_DIV:
                r = a / b if b != 0.0 else (math.inf if a > 0 else (-math.inf if a < 0 else 0.0))
            elif op == OP_POW:
                if a < 0.0 and b != math.floor(b):
                    r = math.nan
                elif a == 0.0 and b < 0.0:
                    r = math.inf
                else:
                    r = a ** b
            elif op == OP_LT:
                r = 1.0 if a < b else 0.0
            elif op == OP_LE:
                r = 1.0 if a <= b else 0.0
            elif op == OP_GT:
                r = 1.0 if a > b else 0.0
            elif op == OP_GE:
                r = 1.0 if a >= b else 0.0
            elif op == OP_EQ:
                r = 1.0 if a == b else 0.0
            elif op == OP_NE:
                r = 1.0 if a != b else 0.0
            elif op == OP_AND:
                r = 1.0 if (a != 0.0 and b != 0.0) else 0.0
            elif op == OP_OR:
                r = 1.0 if (a != 0.0 or b != 0.0) else 0.0
            elif arg == 0:  # OP_FUNC2: min
                r = min(a, b)
            elif arg == 1:  # max
                r = max(a, b)
            elif arg == 2:  # pow
                r = a ** b if a >= 0.0 or b == math.floor(b) else math.nan
            else:  # pwr: sign-preserving power
                r = math.copysign(abs(a) ** b, a)
            stack[sp - 1] = r
    return stack[0]


def run(prog: Program, x: FloatArray) -> float:
    """:func:`evaluate_x` of a ``(code, consts)`` pair."""
    return float(evaluate_x(prog[0], prog[1], x))


# --------------------------------------------------------------------------- the network


@dataclass
class _El:
    card: Any
    letter: str
    name: str
    nodes: tuple[str, ...]
    kind: str  # "r", "c", "bi", "bv", "g", "e", "v"
    value: float = 0.0
    expr: str = ""
    ic: float | None = None
    noise: tuple[float, float, float, float] | None = None  # ts, td, sigma, mean


class _Groups:
    """Union-find of nodes joined by 0 V sources."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, a: str) -> str:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _add(terms: Sequence[Ast]) -> Ast:
    if not terms:
        return ("num", 0.0)
    out = terms[0]
    for t in terms[1:]:
        out = ("bin", "+", out, t)
    return out


def _mul(a: Ast, b: Ast) -> Ast:
    return ("bin", "*", a, b)


def _div(a: Ast, b: Ast) -> Ast:
    return ("bin", "/", a, b)


def _num(x: float) -> Ast:
    return ("num", float(x))


class _Resolving(NotCompilable):
    """A node met again while its own value is being resolved (an implicit equation): caught
    by the parser, which names the source card."""

    def __init__(self, node: str) -> None:
        super().__init__(node)
        self.node = node


def _subst_agauss(text: str, counter: list[int], card: Any) -> str:
    def repl(m: re.Match[str]) -> str:
        args = [a.strip() for a in m.group(1).split(",")]
        if len(args) != 3:
            raise NotCompilable("agauss() takes three arguments (nominal, variation, sigma)",
                                card)
        k = counter[0]
        if k >= MAX_DRAWS:
            raise NotCompilable(f"more than {MAX_DRAWS} agauss() draws in one device (the "
                                "shared noise gives each device three)", card)
        counter[0] += 1
        return f"(({args[0]})+({args[1]})/({args[2]})*nsg{k})"

    return re.sub(r"\bagauss\s*\(([^()]*)\)", repl, text, flags=re.IGNORECASE)


def global_funcs(cards: Any) -> dict[str, tuple[list[str], str]]:
    """The top-level ``.func`` definitions among ``cards`` (a library's, e.g. ``hh.lib``'s
    rate functions), for :func:`compile_network`."""
    out: dict[str, tuple[list[str], str]] = {}
    for card in cards:
        if getattr(card, "depth", 0) == 0 and card.head.lower() == ".func":
            m = _FUNC.match(card.text)
            if m is not None:
                out[m.group(1).lower()] = ([a.strip().lower() for a in m.group(2).split(",")
                                            if a.strip()], m.group(3).strip())
    return out


_FUNC = re.compile(r"\s*\.func\s+(\w+)\s*\(([^)]*)\)\s*=?\s*(.*)$", re.IGNORECASE | re.DOTALL)


def compile_network(sub: Any, params: dict[str, float], evaluate_param: Any, *,
                    normals: Sequence[float] | None = None,
                    quasi_static_tau: float = QUASI_STATIC_TAU,
                    funcs: dict[str, tuple[list[str], str]] | None = None) -> NetworkDevice:
    """Compile ``sub`` (a :class:`~neurospice.spice.flatten.Subckt` with pins ``p n``) for the
    parameter values ``params`` (the instance's over the defaults, evaluated).

    Parameters
    ----------
    evaluate_param
        ``evaluate_param(text, scope) -> float`` for ``.param`` expressions.
    normals
        The device's per-device standard normals (``agauss`` draws, in card order); default 0.
    quasi_static_tau
        Time constant (s) below which a capacitor node is solved algebraically.
    funcs
        ``.func`` definitions outside the body (:func:`global_funcs`), the body's own first.

    Raises
    ------
    NotCompilable
        Naming the card that cannot be compiled (``.card``).
    """
    if sub.pins != ("p", "n"):
        raise NotCompilable("a memristor has the two pins p n", sub.card)
    draws = list(normals) if normals is not None else []
    scope = dict(params)
    for k in range(MAX_DRAWS):
        scope[f"nsg{k}"] = float(draws[k]) if k < len(draws) else 0.0
    funcs = dict(funcs or {})
    counter = [0]

    def value(text: str, card: Any, what: str) -> float:
        try:
            out = float(evaluate_param(text, scope))
        except (ValueError, ZeroDivisionError, KeyError) as exc:
            try:  # with the .func definitions (the deck's evaluator knows none of a library's)
                out = run(_program(_Parser(text, scope, funcs, {}, {}).parse()),
                          np.zeros(X_STATE))
            except NotCompilable:
                raise NotCompilable(f"{what} cannot be evaluated ({exc})", card) from None
        if not math.isfinite(out):
            raise NotCompilable(f"{what} is not finite", card)
        return out

    els: list[_El] = []
    for card in sub.body:
        head = card.head.lower()
        if head == ".param":
            for tok in card.tokens[1:]:
                k, sep, v = tok.partition("=")
                if not sep:
                    raise NotCompilable("a .param without a value", card)
                text = _subst_agauss(v.strip(), counter, card)
                scope[k.strip().lower()] = value(text, card, f".param {k.strip()}")
        elif head == ".func":
            m = _FUNC.match(card.text)
            if m is None:
                raise NotCompilable("cannot read the .func", card)
            names = [a.strip().lower() for a in m.group(2).split(",") if a.strip()]
            funcs[m.group(1).lower()] = (names, m.group(3).strip())
        elif card.is_element:
            els.append(_element(card, value))
        else:
            raise NotCompilable(f"the card {card.head} has no meaning in a compiled body", card)
    return _Network(sub, els, scope, funcs, quasi_static_tau).compile()


def _element(card: Any, value: Any) -> _El:
    toks = [t.lower() for t in card.tokens]
    letter = card.letter
    name = toks[0]
    if letter == "r":
        if len(toks) != 4:
            raise NotCompilable("a resistor is compiled with two nodes and a value only", card)
        r = value(card.tokens[3], card, "the resistance")
        if r == 0:
            raise NotCompilable("a zero resistance", card)
        return _El(card, letter, name, (toks[1], toks[2]), "r", r)
    if letter == "c":
        ic = None
        for tok in card.tokens[4:]:
            k, sep, v = tok.partition("=")
            if sep and k.lower() == "ic":
                ic = value(v, card, "the initial condition")
            else:
                raise NotCompilable(f"the capacitor's {tok} is not compiled", card)
        return _El(card, letter, name, (toks[1], toks[2]), "c",
                   value(card.tokens[3], card, "the capacitance"), ic=ic)
    if letter == "b":
        kind = re.search(r"\b([iv])\s*=", card.text, re.IGNORECASE)
        if kind is None:
            raise NotCompilable("a behavioural source without I = or V =", card)
        return _El(card, letter, name, (toks[1], toks[2]),
                   "bi" if kind.group(1).lower() == "i" else "bv", expr=_expr_of(card.text))
    if letter in ("g", "e"):
        if len(toks) != 6:
            raise NotCompilable("a linear controlled source n+ n- c+ c- gain is compiled only",
                                card)
        return _El(card, letter, name, tuple(toks[1:5]), letter,
                   value(card.tokens[5], card, "the gain"))
    if letter == "v":
        rest = " ".join(card.tokens[3:])
        m = re.search(r"trrandom\s*\(([^)]*)\)", rest, re.IGNORECASE)
        if m is not None:
            args = [a for a in re.split(r"[\s,]+", m.group(1).strip()) if a]
            nums = [value(a, card, "a trrandom argument") for a in args]
            if not nums or nums[0] != 2:
                raise NotCompilable("only gaussian trrandom sources (type 2) are compiled", card)
            nums += [0.0] * (5 - len(nums))
            dc = rest[:m.start()].replace("dc", " ").replace("DC", " ").strip() or "0"
            return _El(card, letter, name, (toks[1], toks[2]), "v",
                       value(dc, card, "the source's DC value"),
                       noise=(nums[1], nums[2], nums[3] if len(args) > 3 else 1.0, nums[4]))
        text = re.sub(r"^\s*dc\s+", "", rest, flags=re.IGNORECASE).strip() or "0"
        if re.search(r"\b(sin|pulse|pwl|exp|sffm|am|trnoise|ac)\b", text, re.IGNORECASE):
            raise NotCompilable("only constant and trrandom sources are compiled", card)
        return _El(card, letter, name, (toks[1], toks[2]), "v",
                   value(text, card, "the source's value"))
    raise NotCompilable(f"the element {card.tokens[0]} is outside the compiled body shapes "
                        "(R, C, B, G, E, V)", card)


class _Nodes(Mapping[str, Ast]):
    """Node voltages for the expression parser, resolved on first use."""

    def __init__(self, net: _Network, shift: float,
                 override: dict[str, float] | None = None) -> None:
        self.net = net
        self.shift = shift
        self.override = override or {}

    def __getitem__(self, node: str) -> Ast:
        if node not in _GROUND and self.net.g(node) in self.override:
            return _num(self.override[self.net.g(node)])
        return self.net.node_ast(node, self.shift)

    def __contains__(self, node: object) -> bool:
        return isinstance(node, str) and (node in _GROUND or node in self.net.known_nodes)

    def __iter__(self) -> Iterator[str]:
        return iter(self.net.known_nodes)

    def __len__(self) -> int:
        return len(self.net.known_nodes)


class _Currents(Mapping[str, Ast]):
    def __init__(self, net: _Network, shift: float) -> None:
        self.net = net
        self.shift = shift

    def __getitem__(self, name: str) -> Ast:
        return self.net.sense_ast(name, self.shift)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.net.senses

    def __iter__(self) -> Iterator[str]:
        return iter(self.net.senses)

    def __len__(self) -> int:
        return len(self.net.senses)


class _Network:
    def __init__(self, sub: Any, els: list[_El], scope: dict[str, float],
                 funcs: dict[str, tuple[list[str], str]], qs_tau: float) -> None:
        self.sub = sub
        self.els = els
        self.scope = scope
        self.funcs = funcs
        self.qs_tau = qs_tau
        self.groups = _Groups()
        self.senses: dict[str, _El] = {}
        for el in els:
            for n in el.nodes:
                self.groups.find(n)
            if el.kind == "v" and el.noise is None and el.value == 0.0 and not (
                    set(el.nodes) & _GROUND):
                self.groups.union(el.nodes[0], el.nodes[1])
                self.senses[el.name] = el
        self.known_nodes = {n for el in els for n in el.nodes if n not in _GROUND} | {"p", "n"}
        self.memo: dict[tuple[str, float], Ast] = {}
        self.busy: list[str] = []
        self.states: list[str] = []  # group roots
        self.quasi: list[str] = []
        self.noise: list[str] = []
        self.kinds: dict[str, str] = {}
        self._data: dict[str, Any] = {}
        self.voltage_mode = False
        self.series: list[tuple[str, _El]] = []
        self.chain_groups: list[str] = []
        self.attach = "p"
        self.linear_checks: list[tuple[Ast, Ast, _El]] = []
        self.r_series = 0.0
        self.offset: dict[str, float] = {}  # pin-side group -> series resistance to the core
        self._pins()
        for el in els:  # the noise inputs in card order (the shared noise's columns)
            if el.kind == "v" and el.noise is not None:
                self.classify(self.g(el.nodes[0]))

    # ------------------------------------------------------------------ the pins
    def g(self, node: str) -> str:
        return "0" if node in _GROUND else self.groups.find(node)

    def conducting(self, el: _El) -> tuple[str, str] | None:
        if el.kind in ("r", "c", "bi", "bv", "g", "e"):
            return el.nodes[0], el.nodes[1]
        if el.kind == "v" and el.name not in self.senses:
            return el.nodes[0], el.nodes[1]
        return None

    def _pins(self) -> None:
        gp, gn = self.g("p"), self.g("n")
        if gp == gn:
            raise NotCompilable("its pins p and n are joined by a 0 V source", self.sub.card)
        touching: dict[str, list[_El]] = {}
        for el in self.els:
            ends = self.conducting(el)
            if ends is None:
                continue
            for node in ends:
                touching.setdefault(self.g(node), []).append(el)
        group = gp
        came: _El | None = None
        racc = 0.0
        chain: list[tuple[str, float]] = []
        series: list[tuple[str, _El]] = []  # (group before it, element) from p toward n
        self.entry = "p"
        self.voltage_mode = False
        while True:
            mine = [el for el in touching.get(group, []) if el is not came]
            if not mine:
                raise NotCompilable("nothing conducts from pin p to pin n", self.sub.card)
            if all(self.g(el.nodes[1 if self.g(el.nodes[0]) == group else 0]) == gn
                   for el in mine):
                break
            if len(mine) == 1 and mine[0].kind in ("r", "bi", "bv"):
                el = mine[0]
                series.append((group, el))
                if el.kind == "r":
                    chain.append((group, el.value))
                    racc += el.value
                came = el
                inside = el.nodes[0] if self.g(el.nodes[0]) == group else el.nodes[1]
                other = el.nodes[1] if inside == el.nodes[0] else el.nodes[0]
                if self.g(other) in (gp, "0") or any(self.g(other) == c for c, _ in series):
                    raise NotCompilable("an element that is no series path of the device",
                                        el.card)
                group = self.g(other)
                self.entry = other
                continue
            bad = next((el for el in mine if self.g(el.nodes[0]) != gn
                        and self.g(el.nodes[1]) != gn), mine[0])
            raise NotCompilable("the path from pin p to pin n is neither a series chain nor "
                                "a core of parallel elements", bad.card)
        if any(el.kind != "r" for _, el in series):
            self._series_chain(series, group, came, touching, gp, gn)
            return
        self.core = group
        self.gn = gn
        self.r_series = racc
        rest = racc
        for grp, r in chain:
            self.offset[grp] = rest
            rest -= r
        self.offset[group] = 0.0
        self.core_els = [el for el in touching.get(group, []) if el is not came]
        for el in self.core_els:
            if el.kind not in ("bi", "r", "g"):
                what = {"c": "a capacitor across the device (the engine solves a current, "
                        "not a charge)", "bv": "a voltage source across the device's core "
                        "(its current is implicit)", "e": "a voltage source across the "
                        "device's core (its current is implicit)",
                        "v": "a voltage source across the device"}[el.kind]
                raise NotCompilable(what, el.card)
        for el in touching.get(gn, []):
            if el not in self.core_els:
                raise NotCompilable("an element between pin n and a node other than the "
                                    "device's core (only the core's elements reach pin n)",
                                    el.card)
        pin_groups = set(self.offset) | {gn}
        for grp in self.offset:
            if grp == self.core:
                continue
            for el in touching.get(grp, []):
                if el.kind != "r":
                    raise NotCompilable("an element on the device's series path", el.card)
        for el in self.els:
            ends = self.conducting(el)
            if ends is None or el in self.core_els:
                continue
            gs = {self.g(n) for n in ends}
            if gs & pin_groups and el.kind != "r":
                raise NotCompilable("an element joins the device's pins to an inner node "
                                    "(only the core's elements conduct between the pins)",
                                    el.card)
            if gs & pin_groups and el.kind == "r" and not gs <= pin_groups:
                raise NotCompilable("a resistor joins the device's pins to an inner node",
                                    el.card)
        for name, el in self.senses.items():
            if self.g(el.nodes[0]) != self.core:
                raise NotCompilable(f"the sense source {name} is not in the device's core "
                                    "(i() is compiled for the core's sense sources)", el.card)

    def _series_chain(self, series: list[tuple[str, _El]], group: str, came: _El | None,
                      touching: dict[str, list[_El]], gp: str, gn: str) -> None:
        """Voltage mode: the device is one series chain from p to n (``second_order``'s
        ohmic part and tunnelling drop); its voltage is explicit in its current ``x[I]``."""
        last = [el for el in touching.get(group, []) if el is not came]
        if len(last) != 1 or last[0].kind not in ("r", "bi", "bv"):
            bad = last[1] if len(last) > 1 else last[0]
            raise NotCompilable("a series chain that ends in parallel elements (its current "
                                "is implicit)", bad.card)
        self.series = [*series, (group, last[0])]
        self.voltage_mode = True
        self.chain_groups = [grp for grp, _ in self.series]
        self.core = gp
        self.gn = gn
        self.r_series = 0.0
        self.core_els = []
        chain_els = {id(el) for _, el in self.series}
        pin_groups = set(self.chain_groups) | {gn}
        for el in self.els:
            ends = self.conducting(el)
            if ends is None or id(el) in chain_els:
                continue
            if {self.g(n) for n in ends} & pin_groups:
                raise NotCompilable("an element beside the device's series chain", el.card)
        for name, el in self.senses.items():
            if self.g(el.nodes[0]) != gp:
                raise NotCompilable(f"the sense source {name} is not at pin p (i() is "
                                    "compiled for the device current)", el.card)
        first = self.series[0][1]
        self.attach = first.nodes[0] if self.g(first.nodes[0]) == gp else first.nodes[1]

    def drop(self, k: int, shift: float) -> Ast:
        """Voltage across series element ``k`` in the direction p -> n, from ``x[I]``."""
        grp, el = self.series[k]
        i_dev: Ast = ("var", VAR_I)
        if el.kind == "r":
            return _mul(_num(el.value), i_dev)
        forward = self.g(el.nodes[0]) == grp
        if el.kind == "bv":
            v = self.parse(el.expr, el, shift)
            return v if forward else ("neg", v)
        # a conduction element linear in its own voltage: i = G v
        ga, gb = self.g(el.nodes[0]), self.g(el.nodes[1])
        unit = self.parse(el.expr, el, shift, {ga: 1.0 + shift, gb: shift})
        twice = self.parse(el.expr, el, shift, {ga: 2.0 + shift, gb: shift})
        self.linear_checks.append((unit, twice, el))
        return _div(i_dev, unit)

    def chain_voltage(self, grp: str, shift: float) -> Ast:
        k = self.chain_groups.index(grp)
        if k == 0:
            return ("bin", "+", ("var", VAR_V), _num(shift))
        return ("bin", "+", _num(shift),
                _add([self.drop(m, shift) for m in range(k, len(self.series))]))

    # ------------------------------------------------------------------ the core
    def el_current(self, el: _El, shift: float) -> Ast:
        """Current of a core element from the core to pin n (A)."""
        into_n = self.g(el.nodes[1]) == self.gn
        if el.kind == "r":
            cur: Ast = _div(("bin", "-", self.node_ast(el.nodes[0], shift),
                             self.node_ast(el.nodes[1], shift)), _num(el.value))
        elif el.kind == "bi":
            cur = self.parse(el.expr, el, shift)
        else:  # g
            cur = _mul(_num(el.value), ("bin", "-", self.node_ast(el.nodes[2], shift),
                                        self.node_ast(el.nodes[3], shift)))
        return cur if into_n else ("neg", cur)

    def core_current(self, shift: float) -> Ast:
        """The device current (current mode), or its voltage from ``x[I]`` (voltage mode)."""
        if self.voltage_mode:
            return _add([self.drop(m, shift) for m in range(len(self.series))])
        key = ("#core", shift)
        if key not in self.memo:
            if "#core" in self.busy:
                raise _Resolving("#core")
            self.busy.append("#core")
            try:
                self.memo[key] = _add([self.el_current(el, shift) for el in self.core_els])
            finally:
                self.busy.pop()
        return self.memo[key]

    def sense_ast(self, name: str, shift: float) -> Ast:
        el = self.senses[name]
        side = self._side(el)  # the nodes on the n- side of this source
        if self.voltage_mode:
            if (self.attach in side) == ("p" in side):
                return _num(0.0)
            return ("var", VAR_I) if self.attach in side else ("neg", ("var", VAR_I))
        entry_b = self.entry in side
        members = [el2 for el2 in self.core_els
                   if (el2.nodes[0] in side or el2.nodes[1] in side) != entry_b]
        cur = _add([self.el_current(el2, shift) for el2 in members])
        return ("neg", cur) if entry_b else cur

    def _side(self, el: _El) -> set[str]:
        """The nodes on the n- side of 0 V source ``el`` (through the other 0 V sources)."""
        a, b = el.nodes[0], el.nodes[1]
        side = {b}
        todo = [b]
        while todo:
            node = todo.pop()
            for other in self.senses.values():
                if other is el or node not in other.nodes:
                    continue
                nxt = other.nodes[1] if other.nodes[0] == node else other.nodes[0]
                if nxt == a:
                    raise NotCompilable("a loop of 0 V sources", el.card)
                if nxt not in side:
                    side.add(nxt)
                    todo.append(nxt)
        return side

    # ------------------------------------------------------------------ inner nodes
    def node_ast(self, node: str, shift: float) -> Ast:
        if node in _GROUND:
            return _num(0.0)
        grp = self.g(node)
        if grp == self.gn:
            return _num(shift)
        if self.voltage_mode and grp in self.chain_groups:
            if grp == self.core:
                return self.chain_voltage(grp, shift)
            key = (grp, shift)
            if key not in self.memo:
                if grp in self.busy:
                    raise _Resolving(grp)
                self.busy.append(grp)
                try:
                    self.memo[key] = self.chain_voltage(grp, shift)
                finally:
                    self.busy.pop()
            return self.memo[key]
        if grp in self.offset:
            v: Ast = ("bin", "+", ("var", VAR_V), _num(shift))
            if self.offset[grp]:
                try:
                    i_dev = self.core_current(shift)
                except _Resolving:
                    raise NotCompilable(f"the device current depends on node {node}, which is "
                                        "behind a series resistance (an implicit current)"
                                        ) from None
                v = ("bin", "+", v, _mul(_num(self.offset[grp]), i_dev))
            return v
        key = (grp, shift)
        if key in self.memo:
            return self.memo[key]
        if grp in self.busy:
            raise _Resolving(grp)
        self.busy.append(grp)
        try:
            out = self._inner(grp, shift)
        finally:
            self.busy.pop()
        self.memo[key] = out
        return out

    def _inner(self, grp: str, shift: float) -> Ast:
        kind, data = self.classify(grp)
        if kind in ("state", "quasi"):
            lst = self.states if kind == "state" else self.quasi
            return ("var", ("state" if kind == "state" else "quasi", lst.index(grp)))
        if kind == "noise":
            el = data
            assert el.noise is not None
            return ("bin", "+", _num(el.noise[3]),
                    _mul(_num(el.noise[2]), ("var", ("noise", self.noise.index(grp)))))
        if kind == "dc":
            return _num(data.value)
        if kind == "defined":
            el = data
            if el.kind == "bv":
                return self.parse(el.expr, el, shift)
            return _mul(_num(el.value), ("bin", "-", self.node_ast(el.nodes[2], shift),
                                         self.node_ast(el.nodes[3], shift)))
        # algebraic: (sum of currents + sum v_k/R_k) / G
        inflow, gsum = self.inflow(grp, shift)
        return _div(inflow, _num(gsum))

    def inflow(self, grp: str, shift: float, *, with_self: bool = False) -> tuple[Ast, float]:
        """Sum of the currents into ``grp`` from its sources and resistors (not counting the
        ``-v/R`` terms: their conductance is returned; ``with_self`` adds them)."""
        terms: list[Ast] = []
        gsum = 0.0
        for el in self.els:
            if el.kind in ("bi", "g"):
                out_, in_ = self.g(el.nodes[0]), self.g(el.nodes[1])
                if grp not in (out_, in_) or out_ == in_:
                    continue
                if el.kind == "bi":
                    cur = self.parse(el.expr, el, shift)
                else:
                    cur = _mul(_num(el.value), ("bin", "-", self.node_ast(el.nodes[2], shift),
                                                self.node_ast(el.nodes[3], shift)))
                terms.append(cur if in_ == grp else ("neg", cur))
            elif el.kind == "r":
                ga, gb = self.g(el.nodes[0]), self.g(el.nodes[1])
                if grp not in (ga, gb) or ga == gb:
                    continue
                other = el.nodes[1] if ga == grp else el.nodes[0]
                gsum += 1.0 / el.value
                terms.append(_div(self.node_ast(other, shift), _num(el.value)))
        total = _add(terms)
        if with_self:
            total = ("bin", "-", total, _mul(_num(gsum), ("var", ("self", grp))))
        return total, gsum

    def classify(self, grp: str) -> tuple[str, Any]:
        if grp in self.kinds:
            return self.kinds[grp], self._data[grp]
        definers = [el for el in self.els if el.kind in ("bv", "e", "v")
                    and el.name not in self.senses and self.g(el.nodes[0]) == grp]
        wrong = [el for el in self.els if el.kind in ("bv", "e", "v")
                 and el.name not in self.senses and self.g(el.nodes[1]) == grp]
        if wrong:
            raise NotCompilable("a voltage source is compiled from an inner node to ground "
                                "only", wrong[0].card)
        for el in definers:
            if self.g(el.nodes[1]) != "0":
                raise NotCompilable("a voltage source between two inner nodes", el.card)
        if len(definers) > 1:
            raise NotCompilable(f"node {grp} is set by two voltage sources", definers[1].card)
        caps = [el for el in self.els if el.kind == "c" and grp in
                (self.g(el.nodes[0]), self.g(el.nodes[1]))]
        for el in caps:
            if "0" not in (self.g(el.nodes[0]), self.g(el.nodes[1])):
                raise NotCompilable("a capacitor between two inner nodes", el.card)
        if definers:
            el = definers[0]
            if el.kind == "v":
                kind = "noise" if el.noise is not None else "dc"
                if kind == "noise":
                    self.noise.append(grp)
            else:
                kind = "defined"
            data: Any = el
        elif caps:
            cval = sum(el.value for el in caps)
            gsum = sum(1.0 / el.value for el in self.els if el.kind == "r" and grp in
                       (self.g(el.nodes[0]), self.g(el.nodes[1])))
            tau = cval / gsum if gsum > 0 else math.inf
            ic = next((el.ic for el in caps if el.ic is not None), None)
            kind = "quasi" if tau < self.qs_tau else "state"
            (self.quasi if kind == "quasi" else self.states).append(grp)
            data = (cval, ic, caps[0])
        else:
            kind = "algebraic"
            data = None
            gsum = sum(1.0 / el.value for el in self.els if el.kind == "r" and grp in
                       (self.g(el.nodes[0]), self.g(el.nodes[1])))
            if gsum == 0:
                card = next((el.card for el in self.els if grp in
                             {self.g(n) for n in el.nodes[:2]}), self.sub.card)
                raise NotCompilable(f"node {grp} has no resistance to the rest (a floating "
                                    "node)", card)
        self.kinds[grp] = kind
        self._data[grp] = data
        return kind, data

    # ------------------------------------------------------------------ parsing
    def parse(self, expr: str, el: _El, shift: float,
              override: dict[str, float] | None = None) -> Ast:
        try:
            return _Parser(expr, self.scope, self.funcs,
                           _Nodes(self, shift, override),  # type: ignore[arg-type]
                           _Currents(self, shift)).parse()  # type: ignore[arg-type]
        except _Resolving as exc:
            raise NotCompilable(f"node {exc.node} depends on itself through this source (an "
                                "implicit equation)", el.card) from None
        except NotCompilable as exc:
            if exc.card is None:
                raise NotCompilable(str(exc), el.card) from None
            raise

    # ------------------------------------------------------------------ programs
    def compile(self) -> NetworkDevice:
        progs: dict[float, dict[str, Any]] = {}
        for shift in (0.0, 1.7):
            cur = self.core_current(shift)
            out: dict[str, Any] = {"current": cur}
            # classify every inner node (so every card is read), then the state equations
            for el in self.els:
                for node in el.nodes[:2]:
                    grp = self.g(node)
                    if grp != "0" and grp not in self.offset and grp != self.gn:
                        self.node_ast(node, shift)
            rates = []
            for k, grp in enumerate(self.states):
                cval, _ic, _card = self._data[grp]
                total, gsum = self.inflow(grp, shift)
                total = ("bin", "-", total, _mul(_num(gsum), ("var", ("state", k))))
                rates.append(_div(total, _num(cval)))
            quasi = []
            for grp in self.quasi:
                total, gsum = self.inflow(grp, shift)
                quasi.append(_div(total, _num(gsum)))
            out["rates"] = rates
            out["quasi"] = quasi
            if "w" in self.known_nodes and self.g("w") not in self.offset:
                out["readout"] = self.node_ast("w", shift)
            elif self.states:
                out["readout"] = ("var", ("state", 0))
            else:
                raise NotCompilable("a body without a state (no capacitor node)", self.sub.card)
            progs[shift] = out
        ns, nq = len(self.states), len(self.quasi)

        def fix(node: Ast) -> Ast:
            if node[0] == "var" and isinstance(node[1], tuple):
                where, k = node[1]
                base = {"state": X_STATE, "quasi": X_STATE + ns, "noise": X_STATE + ns + nq}
                return ("var", base[where] + k)
            return tuple(fix(c) if isinstance(c, tuple) else c for c in node)

        def prog(node: Ast) -> Program:
            return _program(_fold(fix(node)))

        p0, p1 = progs[0.0], progs[1.7]
        dev = NetworkDevice(
            current=prog(p0["current"]), rates=tuple(prog(a) for a in p0["rates"]),
            quasi=tuple(prog(a) for a in p0["quasi"]), readout=prog(p0["readout"]),
            x0=np.zeros(X_STATE + ns + nq + len(self.noise)), states=tuple(self.states),
            quasi_nodes=tuple(self.quasi), noise_nodes=tuple(self.noise),
            r_series=self.r_series, noise_hold=self._hold(), voltage_mode=self.voltage_mode)
        shifted = [prog(p1["current"]), *(prog(a) for a in p1["rates"]),
                   *(prog(a) for a in p1["quasi"]), prog(p1["readout"])]
        x0 = self._initial(dev)
        dev = NetworkDevice(dev.current, dev.rates, dev.quasi, dev.readout, x0, dev.states,
                            dev.quasi_nodes, dev.noise_nodes, dev.r_series, dev.noise_hold,
                            dev.voltage_mode)
        _check_invariant(dev, shifted, self.sub.card)
        self._check_linear(dev, fix)
        if not dev.voltage_mode:
            _check_pinched(dev, self.core_els[0].card if self.core_els else self.sub.card)
        return dev

    def _check_linear(self, dev: NetworkDevice, fix: Any) -> None:
        """A conduction element in a series chain must be linear in its own voltage."""
        rng = np.random.default_rng(1)
        for unit, twice, el in self.linear_checks:
            pu, pt = _program(fix(unit)), _program(fix(twice))
            for _ in range(16):
                x = dev.x0.copy()
                x[VAR_I] = rng.uniform(-1e-3, 1e-3)
                x[VAR_T] = 1.0
                for k in range(len(dev.states)):
                    x[X_STATE + k] = dev.x0[X_STATE + k] * rng.uniform(0.5, 1.5) + \
                        rng.uniform(0, 1)
                a, b = run(pu, x), run(pt, x)
                if math.isfinite(a) and not abs(b - 2 * a) <= 1e-9 * abs(b):
                    raise NotCompilable("a conduction element in series that is not linear in "
                                        "its voltage (its current would be implicit)", el.card)

    def _hold(self) -> tuple[float, float] | None:
        holds = []
        for grp in self.noise:
            el = self._data[grp]
            holds.append(((el.noise[0], el.noise[1]), el))
        if len(holds) > MAX_DRAWS:
            raise NotCompilable(f"more than {MAX_DRAWS} trrandom sources in one device (the "
                                "shared noise gives each device three per hold interval)",
                                holds[MAX_DRAWS][1].card)
        for h, el in holds[1:]:
            if h != holds[0][0]:
                raise NotCompilable("trrandom sources of one device with different hold "
                                    "times", el.card)
        return holds[0][0] if holds else None

    def _initial(self, dev: NetworkDevice) -> FloatArray:
        x = dev.x0.copy()
        for k, grp in enumerate(self.states):
            _cval, ic, _card = self._data[grp]
            if ic is None:  # its operating-point pin (a resistor to a constant node), else 0
                ic = 0.0
                for el in self.els:
                    if el.kind == "r" and grp in (self.g(el.nodes[0]), self.g(el.nodes[1])):
                        other = self.g(el.nodes[1] if self.g(el.nodes[0]) == grp
                                       else el.nodes[0])
                        if self.kinds.get(other) == "dc":
                            ic = self._data[other].value
            x[X_STATE + k] = ic
        for k, grp in enumerate(self.quasi):
            _cval, ic, _card = self._data[grp]
            x[X_STATE + len(self.states) + k] = ic if ic is not None else 0.0
        for _ in range(20):  # quasi-static states at v = 0, time = 0
            for k in range(len(self.quasi)):
                x[X_STATE + len(self.states) + k] = run(dev.quasi[k], x)
        return x


def _fold(node: Ast) -> Ast:
    """Constant subexpressions evaluated once (parameters' arithmetic, a ``?:`` on a constant)."""
    kind = node[0]
    if kind in ("num", "var"):
        return node
    new = tuple(_fold(c) if isinstance(c, tuple) else c for c in node)
    kids = [c for c in new[1:] if isinstance(c, tuple)]
    if kind == "sel" and kids[0][0] == "num":
        return kids[1] if kids[0][1] != 0.0 else kids[2]
    if all(c[0] == "num" for c in kids):
        return ("num", run(_program(new), np.zeros(X_STATE)))
    return new


def _check_pinched(dev: NetworkDevice, card: Any) -> None:
    """The engine solves a device's current with its conductance through the origin: the
    current must vanish at 0 V (a memristor's pinched loop), whatever the states."""
    rng = np.random.default_rng(2)
    for _ in range(16):
        x = dev.x0.copy()
        x[VAR_T] = 1.0
        for k in range(len(dev.states)):
            x[X_STATE + k] = dev.x0[X_STATE + k] * rng.uniform(0.5, 1.5) + rng.uniform(0, 1)
        scale = max(abs(run(dev.current, _at(x, 1.0))), abs(run(dev.current, _at(x, -1.0))))
        i0 = run(dev.current, _at(x, 0.0))
        if not abs(i0) <= 1e-9 * scale + 1e-18:
            raise NotCompilable(f"its current at 0 V is {i0:.3g} A, not 0 (the engine solves a "
                                "memristor's current through the origin; a device with a "
                                "source inside is not compiled)", card)


def _at(x: FloatArray, v: float) -> FloatArray:
    out = x.copy()
    out[VAR_V] = v
    return out


def _check_invariant(dev: NetworkDevice, shifted: list[Program], card: Any) -> None:
    rng = np.random.default_rng(0)
    samples: list[list[tuple[float, float]]] = [[] for _ in shifted]
    for _ in range(32):
        x = dev.x0.copy()
        x[VAR_V] = rng.uniform(-3, 3)
        x[VAR_T] = 1.0
        for k in range(len(dev.states)):
            x[X_STATE + k] = dev.x0[X_STATE + k] * rng.uniform(0.5, 1.5) + rng.uniform(0, 1)
        for idx, (pa, pb) in enumerate(zip(dev.programs, shifted, strict=True)):
            samples[idx].append((run(pa, x), run(pb, x)))
    for group in samples:  # relative to the group's scale: cancellations round differently
        finite = [abs(v) for pair in group for v in pair if math.isfinite(v)]
        scale = max(finite) if finite else 0.0
        for a, b in group:
            if a == b or (math.isnan(a) and math.isnan(b)):
                continue
            if not abs(a - b) <= 1e-6 * scale:
                raise NotCompilable("its equations depend on the pins' voltages to ground, not "
                                    "only on the device voltage", card)

