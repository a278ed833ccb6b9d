"""The expression language of ngspice's behavioural sources, compiled to postfix programs.

The body compiler (:mod:`.network`) reads every ``B`` source's ``I =`` / ``V =`` expression and
``.param`` / ``.func`` card with :class:`_Parser`: numbers with SI suffixes, the parameters,
node voltages and branch currents (as the caller maps them), ``time``, ``+ - * / ^ **``,
comparisons, ``&& || !``, ``a ? b : c`` and the functions in :data:`FUNCTIONS`. An expression
becomes an :data:`Ast`, then a postfix program (``_program``: rows ``(opcode, operand)`` and
constants) that the numba kernel runs (:func:`neurospice.sim.model.network.evaluate_x`).

Anything else is refused with :class:`NotCompilable`, naming the card.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurospice.errors import ModelError

__all__ = ["FUNCTIONS", "NotCompilable"]

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
    """A body or expression the compiler cannot compile (``card`` says where)."""

    def __init__(self, message: str, card: Any = None) -> None:
        super().__init__(message)
        self.card = card


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


def _expr_of(card_text: str) -> str:
    """The expression of a B source's ``I =`` / ``V =``."""
    m = re.search(r"\b[iv]\s*=\s*(.*)$", card_text, re.IGNORECASE | re.DOTALL)
    if m is None:
        raise NotCompilable("a behavioural source without I = or V =")
    return m.group(1)
