"""Parse network text with the lark grammar and turn the tree into :mod:`.network` records.

>>> net = parse_network("neuron a : fhn\\nneuron b : fhn\\na -> b\\n")
>>> [n.name for n in net.neurons]
['a', 'b']
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.lexer import PatternStr

from neurospice.errors import NeurospiceInputError, source_context
from neurospice.network.errors import NetworkSemanticError, NetworkSyntaxError
from neurospice.network.network import (
    ChainItem,
    Connection,
    Ground,
    Load,
    LockPair,
    Memristor,
    Network,
    Neuron,
    NodeDecl,
    Param,
    ParamOverride,
    Probe,
    Ref,
    Resistor,
    Seed,
    Source,
    Tran,
    TranOption,
    Use,
    Value,
)
from neurospice.spice.library import parse_si

__all__ = ["parse_network", "load_network", "RESERVED_WORDS", "network_parser"]

GRAMMAR_FILE = Path(__file__).with_name("network.lark")

#: Words of the language that cannot name anything.
RESERVED_WORDS = frozenset(
    {"use", "param", "neuron", "memristor", "synapse", "resistor", "source", "isource", "node",
     "link", "tran", "probe", "lock", "seed", "gnd", "load"}
)

_STATEMENT_WORDS = ("use", "param", "neuron", "memristor", "synapse", "resistor", "source",
                    "isource", "node", "link", "tran", "probe", "lock", "seed")

_FRIENDLY = {
    "_NL": "end of line",
    "$END": "end of file",
    "NAME": "a name",
    "SI_NUMBER": "a number (e.g. 10k, 2.2u)",
    "EXPR": "an {expression}",
    "STRING": 'a quoted path (e.g. "lib/fhn.lib")',
    "SOURCE_SPEC": "a source in ngspice syntax (e.g. sin(0 1 10), dc 1)",
    "_ARROW": "'->'",
    "_COMMA": "','",
}


@functools.cache
def network_parser() -> Lark:
    """The LALR parser of the network grammar (built once per process)."""
    return Lark(
        GRAMMAR_FILE.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )


def _value(tok: Token) -> Value:
    text = str(tok)
    if tok.type == "SI_NUMBER":
        return Value(text, "number", parse_si(text), tok.line or 0, tok.column or 0)
    if tok.type == "EXPR":
        return Value(text, "expr", None, tok.line or 0, tok.column or 0)
    return Value(text, "param", None, tok.line or 0, tok.column or 0)


class _ReservedWord(NeurospiceInputError):
    def __init__(self, tok: Token, what: str) -> None:
        super().__init__(str(tok))
        self.tok = tok
        self.what = what


def _name(tok: Token, what: str) -> str:
    if str(tok).lower() in RESERVED_WORDS:
        raise _ReservedWord(tok, what)
    return str(tok)


@v_args(meta=True)
class NetworkTransformer(Transformer[Token, Network]):
    """Turn the parse tree of a network file into a :class:`Network` (typed records)."""

    def __init__(self, path: Path | None, text: str) -> None:
        super().__init__()
        self.path = path
        self.text = text

    # values and references
    def value(self, meta: Any, children: list[Token]) -> Value:
        return _value(children[0])

    def ref(self, meta: Any, children: list[Token]) -> Ref:
        name = _name(children[0], "a name")
        pin = str(children[1]) if len(children) > 1 else None
        return Ref(name, pin, meta.line, meta.column)

    def ground(self, meta: Any, children: list[Token]) -> Ground:
        return Ground(meta.line, meta.column)

    def load(self, meta: Any, children: list[Value]) -> Load:
        return Load(children[0], meta.line, meta.column)

    def arg(self, meta: Any, children: list[Any]) -> ParamOverride:
        return ParamOverride(str(children[0]), children[1], meta.line, meta.column)

    def model_call(self, meta: Any, children: list[Any]) -> tuple[Token, tuple[ParamOverride, ...]]:
        return children[0], tuple(children[1:])

    # statements
    def use_stmt(self, meta: Any, children: list[Token]) -> list[Use]:
        return [Use(str(t)[1:-1], t.line or 0, t.column or 0) for t in children]

    def param_stmt(self, meta: Any, children: list[Any]) -> Param:
        return Param(name=_name(children[0], "a param"), value=children[1], line=meta.line,
                     column=meta.column, name_column=children[0].column)

    def neuron_decl(self, meta: Any, children: list[Any]) -> Neuron:
        model, overrides = children[1]
        return Neuron(name=_name(children[0], "a neuron"), model=str(model), overrides=overrides,
                      line=meta.line, column=meta.column, name_column=children[0].column,
                      model_line=model.line, model_column=model.column)

    def memristor_decl(self, meta: Any, children: list[Any]) -> Memristor:
        model, overrides = children[1]
        return Memristor(name=_name(children[0], "a memristor"), model=str(model),
                         overrides=overrides, line=meta.line, column=meta.column,
                         name_column=children[0].column, model_line=model.line,
                         model_column=model.column)

    def resistor_decl(self, meta: Any, children: list[Any]) -> Resistor:
        return Resistor(name=_name(children[0], "a resistor"), value=children[1],
                        line=meta.line, column=meta.column, name_column=children[0].column)

    def _source(self, meta: Any, children: list[Token], kind: str) -> Source:
        spec = children[1]
        return Source(name=_name(children[0], "a source"), kind=kind,  # type: ignore[arg-type]
                      spec=str(spec).strip(), line=meta.line, column=meta.column,
                      name_column=children[0].column or 0, spec_line=spec.line or 0,
                      spec_column=spec.column or 0)

    def source_decl(self, meta: Any, children: list[Token]) -> Source:
        return self._source(meta, children, "v")

    def isource_decl(self, meta: Any, children: list[Token]) -> Source:
        return self._source(meta, children, "i")

    def node_decl(self, meta: Any, children: list[Token]) -> list[NodeDecl]:
        return [NodeDecl(_name(t, "a node"), t.line or 0, t.column or 0) for t in children]

    def chain(self, meta: Any, children: list[ChainItem]) -> Connection:
        return Connection("chain", tuple(children), meta.line, meta.column)

    def link_stmt(self, meta: Any, children: list[ChainItem]) -> Connection:
        return Connection("link", tuple(children), meta.line, meta.column)

    def tran_option(self, meta: Any, children: list[Any]) -> TranOption:
        return TranOption(str(children[0]), children[1], meta.line, meta.column)

    def tran_flag(self, meta: Any, children: list[Token]) -> TranOption:
        return TranOption(str(children[0]), None, meta.line, meta.column)

    def tran_stmt(self, meta: Any, children: list[Any]) -> Tran:
        return Tran(children[0], tuple(children[1:]), meta.line, meta.column)

    def probe_stmt(self, meta: Any, children: list[Ref]) -> Probe:
        return Probe(tuple(children), meta.line, meta.column)

    def lock_stmt(self, meta: Any, children: list[Ref]) -> LockPair:
        return LockPair(children[0], children[1], meta.line, meta.column)

    def seed_stmt(self, meta: Any, children: list[Value]) -> Seed:
        return Seed(children[0], meta.line, meta.column)

    def start(self, meta: Any, children: list[Any]) -> Network:
        net = Network(path=self.path, text=self.text)
        for stmt in children:
            items = stmt if isinstance(stmt, list) else [stmt]
            for item in items:
                match item:
                    case Use():
                        net.uses.append(item)
                    case Param():
                        net.params.append(item)
                    case Neuron():
                        net.neurons.append(item)
                    case Memristor():
                        net.memristors.append(item)
                    case Resistor():
                        net.resistors.append(item)
                    case Source():
                        net.sources.append(item)
                    case NodeDecl():
                        net.nodes.append(item)
                    case Connection():
                        net.connections.append(item)
                    case Tran():
                        net.trans.append(item)
                    case Probe():
                        net.probes.append(item)
                    case LockPair():
                        net.lock_pairs.append(item)
                    case Seed():
                        net.seeds.append(item)
                    case _:  # pragma: no cover - the grammar has no other statement
                        raise TypeError(f"unexpected statement {item!r}")
        return net


def _describe_expected(names: set[str]) -> list[str]:
    parser = network_parser()
    words: list[str] = []
    for name in names:
        if name in _FRIENDLY:
            words.append(_FRIENDLY[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            words.append(name)
            continue
        if isinstance(pattern, PatternStr):
            words.append(f"'{pattern.value}'")
        else:
            words.append(name.lower())
    order = {w: i for i, w in enumerate(_FRIENDLY.values())}
    return sorted(set(words), key=lambda w: (w in order, order.get(w, 0), w))


def _is_keyword(terminal: str) -> bool:
    try:
        return isinstance(network_parser().get_terminal(terminal).pattern, PatternStr)
    except KeyError:
        return False


def _end_position(text: str) -> tuple[int, int]:
    """Line and column just after the last non-blank character of ``text``."""
    body = text.rstrip()
    line = body.count("\n") + 1
    column = len(body) - (body.rfind("\n") + 1) + 1
    return line, column


def _syntax_error(exc: UnexpectedInput, text: str, path: Path | None) -> NetworkSyntaxError:
    expected: list[str] = []
    hint: str | None = None
    line, column = exc.line, exc.column
    context = exc.get_context(text)
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        offending = text[pos] if pos < len(text) else ""
        expected = _describe_expected(set(exc.allowed or ()))
        what = f"unexpected character {offending!r}"
    elif isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        tok = exc.token
        expected = _describe_expected(set(exc.expected or ()))
        if tok.type == "$END" or isinstance(exc, UnexpectedEOF):
            offending = ""
            what = "unexpected end of file"
            line, column = _end_position(text)
            context = source_context(text, line, column)
            if text.rstrip().endswith(("->", ",")):
                hint = "a line ending in '->' or ',' continues on the next line"
        elif tok.type == "_NL":
            offending = "\n"
            what = "unexpected end of line"
        elif tok.type == "SOURCE_SPEC":
            # lark re-lexed the rest of the line with every terminal: report only its start
            m = re.match(r"[A-Za-z0-9_.+-]+|\S", str(tok))
            offending = m.group() if m else str(tok)
            kind = "character" if len(offending) == 1 and not offending.isalnum() else "text"
            what = f"unexpected {kind} '{offending}'"
        else:
            offending = str(tok)
            what = f"unexpected {'word' if _is_keyword(tok.type) else 'text'} '{offending}'"
            hint = _keyword_hint(text, tok)
    else:  # pragma: no cover - lark raises only the classes above
        offending = ""
        what = str(exc)
    message = what
    if expected:
        message += "; expected " + ("" if len(expected) == 1 else "one of: ") + ", ".join(expected)
    return NetworkSyntaxError(message, path, line, column, text=offending, expected=expected,
                              context=context, hint=hint)


def _keyword_hint(text: str, tok: Token) -> str | None:
    """Suggest a statement word when a line starts with a misspelt one (``nueron a : fhn``)."""
    if tok.line is None or tok.column is None:
        return None
    line = text.splitlines()[tok.line - 1] if tok.line <= len(text.splitlines()) else ""
    words = line[: tok.column - 1].split()
    if len(words) == 1 and words[0].isidentifier():
        close = difflib.get_close_matches(words[0].lower(), _STATEMENT_WORDS, n=1, cutoff=0.7)
        if close:
            return f"did you mean '{close[0]}'?"
    return None


def parse_network(text: str, path: str | Path | None = None) -> Network:
    """Parse network text into a :class:`Network`.

    Only the syntax is checked here; :func:`neurospice.network.build_deck` checks
    the meaning (models, names, wiring).

    Parameters
    ----------
    text
        The network source.
    path
        Where it came from: used in error messages and to resolve ``use`` paths.

    Raises
    ------
    NetworkSyntaxError
        With file, line, column, context and what was expected.
    """
    p = Path(path) if path is not None else None
    source = text if text.endswith("\n") else text + "\n"
    _refuse_odd_characters(source, p)
    try:
        tree = network_parser().parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source, p) from None
    try:
        return NetworkTransformer(p, source).transform(tree)
    except VisitError as exc:
        orig = exc.orig_exc
        if isinstance(orig, _ReservedWord):
            tok = orig.tok
            raise NetworkSyntaxError(
                f"'{tok}' is a reserved word and cannot be used as {orig.what}",
                p, tok.line, tok.column, text=str(tok), expected=["a name"],
                context=source_context(source, tok.line or 1, tok.column or 1),
                hint="reserved words: " + ", ".join(sorted(RESERVED_WORDS)),
            ) from None
        if isinstance(orig, ValueError):  # pragma: no cover - SI_NUMBER always parses
            raise NetworkSemanticError(str(orig), p) from None
        raise


def _refuse_odd_characters(source: str, path: Path | None) -> None:
    """Refuse control characters and Unicode line or paragraph separators anywhere.

    Readers disagree on whether vertical tab, form feed, U+0085, U+2028 or U+2029 end a line;
    a field holding one could reach the SPICE deck as a second card. None belongs in a
    network file.
    """
    for number, line in enumerate(source.replace("\r\n", "\n").split("\n"), start=1):
        for col, ch in enumerate(line, start=1):
            cat = unicodedata.category(ch)
            if (cat == "Cc" and ch not in "\t\r") or cat in ("Zl", "Zp"):
                raise NetworkSyntaxError(
                    f"character U+{ord(ch):04X} ({unicodedata.name(ch, 'control character')}) "
                    "is not allowed in a network file", path, number, col, text=ch,
                    context=source_context(source, number, col),
                    hint="remove it; statements end at a plain line break")


def load_network(path: str | Path) -> Network:
    """Read and parse a network file (UTF-8).

    Raises
    ------
    NetworkSyntaxError
        For syntax errors, and for a file that cannot be read.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NetworkSyntaxError(f"cannot read the network file: {exc}", p) from None
    return parse_network(text, p)
