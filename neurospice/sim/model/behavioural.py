"""Compile a behavioural memristor subcircuit from its text (B sources, state capacitor).

A two-pin ``p n`` subcircuit whose body is not one of the known bodies (:mod:`.bodies`) is
compiled when it has the shape of a one-state memristor:

* an optional sense source ``V<x> p pi dc 0`` (``i(V<x>)`` is the device current);
* one conduction source ``B<x> pi n I = f(...)`` (or between ``p`` and ``n``): the device
  current from ``p`` to ``n``;
* one state node ``w``: a capacitor ``C<x> w 0 C [IC=w0]``, behavioural current sources into it
  (``B<x> 0 w I = g``: +g, ``B<x> w 0 I = g``: -g) and optionally a leak ``R<x> w x R`` to a DC
  source ``V<x> x 0 w0`` (the operating-point pin of ``memristors.lib``):
  ``C dw/dt = sum g + (w0 - w)/R``;
* ``.param`` and ``.func`` cards (evaluated / inlined), and read-out sources
  ``B<x> node 0 V = ...`` whose node nothing else uses (ignored).

Expressions may use ``v(pi)``, ``v(p)``, ``v(n)`` (through the device voltage: they must be
invariant to a common shift of both pins, checked numerically), ``v(w)``, ``i(<sense>)`` (in the
state equation only), ``time``, the parameters, numbers with SI suffixes, ``+ - * / ^ **``,
comparisons, ``&& || !``, ``a ? b : c`` and the functions in :data:`FUNCTIONS`. They are
compiled to a postfix program that the numba kernel evaluates (:func:`evaluate`); the
state follows by explicit Euler steps of the engine's step (as the library's hand-written
``biolek``/``pershin`` equations do), clipped to nothing: the body's own window bounds it.

Anything else is refused, naming the card.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

from neurospice.errors import ModelError

__all__ = ["CompiledDevice", "FUNCTIONS", "NotCompilable", "compile_body", "evaluate",
           "stiffness"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# variables of a program
VAR_V, VAR_W, VAR_I, VAR_T = 0, 1, 2, 3
# opcodes: (code, operand)
(OP_CONST, OP_VAR, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_NEG, OP_LT, OP_LE, OP_GT, OP_GE,
 OP_EQ, OP_NE, OP_AND, OP_OR, OP_NOT, OP_SELECT, OP_FUNC1, OP_FUNC2) = range(20)
#: one-argument functions (index = operand of OP_FUNC1)
_F1 = ["exp", "ln", "log", "log10", "sqrt", "abs", "tanh", "sinh", "cosh", "sin", "cos", "tan",
       "atan", "sgn", "u", "floor", "ceil", "asinh"]
#: two-argument functions (index = operand of OP_FUNC2)
_F2 = ["min", "max", "pow", "pwr"]
#: The functions an expression may call.
FUNCTIONS = frozenset(_F1 + _F2)
_SI = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "m": 1e-3, "mil": 25.4e-6, "u": 1e-6,
       "n": 1e-9, "p": 1e-12, "f": 1e-15}


class NotCompilable(ModelError):
    """The body does not have the shape :func:`compile_body` compiles (``card`` says where)."""

    def __init__(self, message: str, card: Any = None) -> None:
        super().__init__(message)
        self.card = card


@dataclass(frozen=True)
class CompiledDevice:
    """A memristor body compiled to two postfix programs.

    ``current`` gives the device current (A) from ``V`` (V), ``W``, ``T`` (s); ``state`` gives
    ``dw/dt`` (1/s) from ``V``, ``W``, ``I`` (A), ``T``. ``w0`` is the initial state.
    """

    current: tuple[IntArray, FloatArray]
    state: tuple[IntArray, FloatArray]
    w0: float


# --------------------------------------------------------------------------- parsing

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:e[-+]?\d+)?[a-z]*|\.\d+(?:e[-+]?\d+)?[a-z]*)|"
                    r"([a-z_][\w.]*)|(\*\*|&&|\|\||<=|>=|==|!=|[-+*/^(),?:<>!{}]))",
                    re.IGNORECASE)


def _number(text: str) -> float:
    m = re.fullmatch(r"(\d+\.?\d*(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?)([a-z]*)", text.lower())
    if m is None:
        raise NotCompilable(f"not a number: {text}")
    value = float(m.group(1))
    suffix = m.group(2)
    for key in ("meg", "mil", "t", "g", "k", "m", "u", "n", "p", "f"):
        if suffix.startswith(key):
            return value * _SI[key]
    return value


def _tokens(text: str) -> list[str]:
    out = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise NotCompilable(f"cannot read '{text[pos:pos + 20]}'")
        out.append(m.group(m.lastindex or 0))
        pos = m.end()
    return out


Ast = tuple[Any, ...]


class _Parser:
    def __init__(self, text: str, scope: dict[str, float], funcs: dict[str, tuple[list[str], str]],
                 nodes: dict[str, Ast], currents: dict[str, Ast], depth: int = 0) -> None:
        # {expr} is a value substituted whole: it groups like parentheses
        self.toks = [{"{": "(", "}": ")"}.get(t, t) for t in _tokens(text)]
        self.i = 0
        self.scope = scope
        self.funcs = funcs
        self.nodes = nodes
        self.currents = currents
        self.depth = depth
        self.bound: dict[str, Ast] = {}

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (want is not None and tok.lower() != want):
            raise NotCompilable(f"expected {want or 'more'} in the expression")
        self.i += 1
        return tok

    def parse(self) -> Ast:
        node = self.ternary()
        if self.peek() is not None:
            raise NotCompilable(f"unexpected '{self.peek()}' in the expression")
        return node

    def ternary(self) -> Ast:
        cond = self.binary(0)
        if self.peek() == "?":
            self.take()
            a = self.ternary()
            self.take(":")
            b = self.ternary()
            return ("sel", cond, a, b)
        return cond

    _LEVELS = [("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/")]

    def binary(self, level: int) -> Ast:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() in self._LEVELS[level]:
            op = self.take()
            node = ("bin", op, node, self.binary(level + 1))
        return node

    def unary(self) -> Ast:
        tok = self.peek()
        if tok in ("-", "+", "!"):
            self.take()
            a = self.unary()
            return a if tok == "+" else ("neg" if tok == "-" else "not", a)
        return self.power()

    def power(self) -> Ast:
        base = self.atom()
        if self.peek() in ("^", "**"):
            self.take()
            return ("bin", "^", base, self.unary())
        return base

    def atom(self) -> Ast:
        tok = self.take()
        low = tok.lower()
        if tok == "(":
            node = self.ternary()
            self.take(")")
            return node
        if re.match(r"[\d.]", tok):
            return ("num", _number(tok))
        if low == "time":
            return ("var", VAR_T)
        if low in ("v", "i") and self.peek() == "(":
            self.take("(")
            args = [self.take().lower()]
            while self.peek() == ",":
                self.take()
                args.append(self.take().lower())
            self.take(")")
            table = self.nodes if low == "v" else self.currents
            parts = []
            for a in args:
                if a not in table:
                    raise NotCompilable(f"{low}({a}) is not a quantity the engine computes")
                parts.append(table[a])
            return parts[0] if len(parts) == 1 else ("bin", "-", parts[0], parts[1])
        if self.peek() == "(":
            self.take("(")
            fargs = [self.ternary()] if self.peek() != ")" else []
            while self.peek() == ",":
                self.take()
                fargs.append(self.ternary())
            self.take(")")
            if low in self.funcs:
                names, body = self.funcs[low]
                if len(names) != len(fargs) or self.depth > 20:
                    raise NotCompilable(f"{low}() called with {len(fargs)} arguments")
                inner = _Parser(body, self.scope, self.funcs, self.nodes, self.currents,
                                self.depth + 1)
                inner.bound = dict(zip(names, fargs, strict=True))
                return inner.parse()
            if low in _F1 and len(fargs) == 1:
                return ("f1", _F1.index(low), fargs[0])
            if low in _F2 and len(fargs) == 2:
                return ("f2", _F2.index(low), fargs[0], fargs[1])
            raise NotCompilable(f"the function {low}() is not compiled")
        if low in self.bound:
            return self.bound[low]
        if low in self.scope:
            return ("num", self.scope[low])
        if low == "pi":
            return ("num", math.pi)
        raise NotCompilable(f"'{tok}' is no parameter of the subcircuit")


def _postfix(node: Ast, code: list[tuple[int, int]], consts: list[float]) -> None:
    kind = node[0]
    if kind == "num":
        consts.append(float(node[1]))
        code.append((OP_CONST, len(consts) - 1))
    elif kind == "var":
        code.append((OP_VAR, int(node[1])))
    elif kind == "neg":
        _postfix(node[1], code, consts)
        code.append((OP_NEG, 0))
    elif kind == "not":
        _postfix(node[1], code, consts)
        code.append((OP_NOT, 0))
    elif kind == "bin":
        _postfix(node[2], code, consts)
        _postfix(node[3], code, consts)
        ops = {"+": OP_ADD, "-": OP_SUB, "*": OP_MUL, "/": OP_DIV, "^": OP_POW, "<": OP_LT,
               "<=": OP_LE, ">": OP_GT, ">=": OP_GE, "==": OP_EQ, "!=": OP_NE, "&&": OP_AND,
               "||": OP_OR}
        code.append((ops[node[1]], 0))
    elif kind == "sel":
        _postfix(node[1], code, consts)
        _postfix(node[2], code, consts)
        _postfix(node[3], code, consts)
        code.append((OP_SELECT, 0))
    elif kind == "f1":
        _postfix(node[2], code, consts)
        code.append((OP_FUNC1, int(node[1])))
    elif kind == "f2":
        _postfix(node[2], code, consts)
        _postfix(node[3], code, consts)
        code.append((OP_FUNC2, int(node[1])))
    else:  # pragma: no cover - the parser makes no other node
        raise NotCompilable(f"internal: node {kind}")


def _program(node: Ast) -> tuple[IntArray, FloatArray]:
    code: list[tuple[int, int]] = []
    consts: list[float] = []
    _postfix(node, code, consts)
    return (np.array(code, dtype=np.int64).reshape(-1, 2),
            np.array(consts or [0.0], dtype=np.float64))


# --------------------------------------------------------------------------- the evaluator


@nb.njit(cache=True, fastmath=False)
def evaluate(code: IntArray, consts: FloatArray, v: float, w: float, i: float,
             t: float) -> float:
    """Run a postfix program (``code`` rows ``(op, operand)``) on the variables."""
    stack = np.empty(code.shape[0] + 1)
    sp = 0
    for k in range(code.shape[0]):
        op = code[k, 0]
        arg = code[k, 1]
        if op == OP_CONST:
            stack[sp] = consts[arg]
            sp += 1
        elif op == OP_VAR:
            stack[sp] = v if arg == 0 else (w if arg == 1 else (i if arg == 2 else t))
            sp += 1
        elif op == OP_NEG:
            stack[sp - 1] = -stack[sp - 1]
        elif op == OP_NOT:
            stack[sp - 1] = 1.0 if stack[sp - 1] == 0.0 else 0.0
        elif op == OP_FUNC1:
            x = stack[sp - 1]
            if arg == 0:
                r = math.exp(min(x, 700.0))
            elif arg == 1 or arg == 2:
                r = math.log(x) if x > 0 else -math.inf
            elif arg == 3:
                r = math.log10(x) if x > 0 else -math.inf
            elif arg == 4:
                r = math.sqrt(x) if x >= 0 else math.nan
            elif arg == 5:
                r = abs(x)
            elif arg == 6:
                r = math.tanh(x)
            elif arg == 7:
                r = math.sinh(min(max(x, -700.0), 700.0))
            elif arg == 8:
                r = math.cosh(min(max(x, -700.0), 700.0))
            elif arg == 9:
                r = math.sin(x)
            elif arg == 10:
                r = math.cos(x)
            elif arg == 11:
                r = math.tan(x)
            elif arg == 12:
                r = math.atan(x)
            elif arg == 13:
                r = 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)
            elif arg == 14:
                r = 1.0 if x > 0 else 0.0
            elif arg == 15:
                r = math.floor(x)
            elif arg == 16:
                r = math.ceil(x)
            else:
                r = math.asinh(x)
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


# --------------------------------------------------------------------------- the body


def _expr_of(card_text: str) -> str:
    m = re.search(r"\b[iv]\s*=\s*(.*)$", card_text, re.IGNORECASE | re.DOTALL)
    if m is None:
        raise NotCompilable("a behavioural source without I = or V =")
    return m.group(1)


def compile_body(sub: Any, params: dict[str, float],
                 evaluate_param: Any) -> CompiledDevice:
    """Compile ``sub`` (a :class:`~neurospice.spice.flatten.Subckt`) for the parameter values
    ``params`` (the instance's over the defaults, evaluated).

    ``evaluate_param(text, scope)`` evaluates a ``.param`` expression in a scope of numbers.

    Raises
    ------
    NotCompilable
        With the offending card.
    """
    if sub.pins != ("p", "n"):
        raise NotCompilable("a memristor has the two pins p n", sub.card)
    scope = dict(params)
    funcs: dict[str, tuple[list[str], str]] = {}
    elements = []
    for card in sub.body:
        head = card.head.lower()
        if head == ".param":
            for tok in card.tokens[1:]:
                k, sep, v = tok.partition("=")
                if not sep:
                    raise NotCompilable("a .param without a value", card)
                try:
                    scope[k.strip().lower()] = float(evaluate_param(v.strip(), scope))
                except (ValueError, ZeroDivisionError) as exc:
                    raise NotCompilable(f".param {k}: {exc}", card) from None
        elif head == ".func":
            m = re.match(r"\s*\.func\s+(\w+)\s*\(([^)]*)\)\s*=?\s*(.*)$", card.text,
                         re.IGNORECASE | re.DOTALL)
            if m is None:
                raise NotCompilable("cannot read the .func", card)
            names = [a.strip().lower() for a in m.group(2).split(",") if a.strip()]
            funcs[m.group(1).lower()] = (names, m.group(3).strip())
        elif card.is_element:
            elements.append(card)
        else:
            raise NotCompilable(f"the card {card.head} has no meaning here", card)
    sense: dict[str, Any] = {}
    conduction = None
    caps = []
    state_sources = []
    leaks = []
    dc_nodes: dict[str, tuple[float, Any]] = {}
    readouts = []
    for card in elements:
        toks = [t.lower() for t in card.tokens]
        letter = card.letter
        n1, n2 = toks[1], toks[2]
        if letter == "v":
            rest = " ".join(toks[3:]).replace("dc", " ").strip() or "0"
            try:
                value = float(evaluate_param(rest, scope))
            except (ValueError, ZeroDivisionError):
                raise NotCompilable("only constant sources are compiled", card) from None
            if n1 == "p" and n2 not in ("n", "0", "w") and value == 0.0:
                sense[toks[0]] = n2
            elif n2 == "0":
                dc_nodes[n1] = (value, card)
            else:
                raise NotCompilable("a source that is neither the sense source nor a DC pin",
                                    card)
        elif letter == "b":
            expr = _expr_of(card.text)
            kind = re.search(r"\b([iv])\s*=", card.text, re.IGNORECASE)
            if kind and kind.group(1).lower() == "i" and {n1, n2} == {"0", "w"}:
                state_sources.append((1.0 if n2 == "w" else -1.0, expr, card))
            elif kind and kind.group(1).lower() == "i" and n2 == "n":
                if conduction is not None:
                    raise NotCompilable("a second conduction source", card)
                conduction = (n1, expr, card)
            elif kind and kind.group(1).lower() == "v" and n2 == "0":
                readouts.append((n1, card))
            else:
                raise NotCompilable("a behavioural source of no compiled role", card)
        elif letter == "c":
            if {n1, n2} != {"w", "0"}:
                raise NotCompilable("a capacitor other than the state's", card)
            caps.append(card)
        elif letter == "r":
            if "w" not in (n1, n2):
                raise NotCompilable("a resistor other than the state's leak", card)
            leaks.append((n2 if n1 == "w" else n1, card))
        else:
            raise NotCompilable("an element outside the compiled memristor shape", card)
    if conduction is None:
        raise NotCompilable("no conduction source B ... n I = ...", sub.card)
    cond_node = conduction[0]
    if cond_node != "p" and cond_node not in sense.values():
        raise NotCompilable("the conduction source does not start at p or at the sense node",
                            conduction[2])
    if len(caps) != 1:
        raise NotCompilable("not exactly one state capacitor on node w", sub.card)
    used = " ".join(c.text.lower() for c in elements if c.letter != "b" or c not in
                    [r[1] for r in readouts])
    for node, card in readouts:
        if re.search(rf"v\(\s*{re.escape(node)}\s*\)", used):
            raise NotCompilable(f"node {node} is used by the equations (only read-outs that "
                                "nothing uses are ignored)", card)
    v_dev: Ast = ("var", VAR_V)
    nodes: dict[str, Ast] = {"w": ("var", VAR_W), "0": ("num", 0.0)}
    shifted: dict[str, Ast] = dict(nodes)
    for name in ("p", "n", *sense.values()):
        nodes[name] = v_dev if name != "n" else ("num", 0.0)
        # the same device voltage, both pins shifted by 1.7 V: must give the same numbers
        shifted[name] = ("bin", "+", v_dev if name != "n" else ("num", 0.0), ("num", 1.7))
    currents = {name: ("var", VAR_I) for name in sense}
    try:
        cur = _Parser(conduction[1], scope, funcs, nodes, {}).parse()
        cur_shift = _Parser(conduction[1], scope, funcs, shifted, {}).parse()
    except NotCompilable as exc:
        raise NotCompilable(str(exc), conduction[2]) from None
    cap_card = caps[0]
    cap_toks = cap_card.tokens
    try:
        c_value = float(evaluate_param(cap_toks[3], scope))
    except (ValueError, ZeroDivisionError):
        raise NotCompilable("the state capacitor's value", cap_card) from None
    w0 = 0.0
    for tok in cap_toks[4:]:
        k, _, v = tok.partition("=")
        if k.lower() == "ic":
            w0 = float(evaluate_param(v, scope))
    terms: list[Ast] = []
    terms_shift: list[Ast] = []
    for sign, expr, card in state_sources:
        try:
            t1 = _Parser(expr, scope, funcs, nodes, currents).parse()
            t2 = _Parser(expr, scope, funcs, shifted, currents).parse()
        except NotCompilable as exc:
            raise NotCompilable(str(exc), card) from None
        terms.append(t1 if sign > 0 else ("neg", t1))
        terms_shift.append(t2 if sign > 0 else ("neg", t2))
    for node, card in leaks:
        if node not in dc_nodes:
            raise NotCompilable("the state's leak goes to no DC source", card)
        r = float(evaluate_param(card.tokens[3], scope))
        leak: Ast = ("bin", "/", ("bin", "-", ("num", dc_nodes[node][0]), ("var", VAR_W)),
                     ("num", r))
        terms.append(leak)
        terms_shift.append(leak)
    if not terms:
        raise NotCompilable("no source drives the state node w", cap_card)
    total: Ast = terms[0]
    total_shift: Ast = terms_shift[0]
    for t1, t2 in zip(terms[1:], terms_shift[1:], strict=True):
        total = ("bin", "+", total, t1)
        total_shift = ("bin", "+", total_shift, t2)
    total = ("bin", "/", total, ("num", c_value))
    total_shift = ("bin", "/", total_shift, ("num", c_value))
    current, state = _program(cur), _program(total)
    _check_invariant(current, _program(cur_shift), state, _program(total_shift), conduction[2])
    return CompiledDevice(current, state, w0)


def _check_invariant(cur: tuple[IntArray, FloatArray], cur_s: tuple[IntArray, FloatArray],
                     st: tuple[IntArray, FloatArray], st_s: tuple[IntArray, FloatArray],
                     card: Any) -> None:
    rng = np.random.default_rng(0)
    pairs: list[list[tuple[float, float]]] = [[], []]
    for _ in range(32):
        v, w, i, t = rng.uniform(-3, 3), rng.uniform(0, 1), rng.uniform(-1e-3, 1e-3), 1.0
        pairs[0].append((evaluate(cur[0], cur[1], v, w, i, t),
                         evaluate(cur_s[0], cur_s[1], v, w, i, t)))
        pairs[1].append((evaluate(st[0], st[1], v, w, i, t),
                         evaluate(st_s[0], st_s[1], v, w, i, t)))
    for group in pairs:  # relative to the group's scale: cancellations round differently
        finite = [abs(x) for pair in group for x in pair if math.isfinite(x)]
        scale = max(finite) if finite else 0.0
        for x, y in group:
            if x == y or (math.isnan(x) and math.isnan(y)):
                continue
            if not abs(x - y) <= 1e-6 * scale:
                raise NotCompilable("its equations depend on the pins' voltages to ground, not "
                                    "only on the device voltage", card)


def stiffness(dev: CompiledDevice) -> float:
    """Largest ``|dw/dt|`` (1/s) over device voltages within +-10 V and states in [0, 1] (the
    current from the device's own conduction), at ``time`` > 0: the explicit step must not
    let the state jump."""
    worst = 0.0
    for v in np.linspace(-10.0, 10.0, 81):
        for w in np.linspace(0.0, 1.0, 21):
            i = evaluate(dev.current[0], dev.current[1], v, w, 0.0, 1.0)
            rate = abs(evaluate(dev.state[0], dev.state[1], v, w, i, 1.0))
            if not math.isfinite(rate):
                return math.inf
            worst = max(worst, rate)
    return worst
