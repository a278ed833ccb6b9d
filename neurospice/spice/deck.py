"""Check, sanitise and expand a SPICE deck before ngspice ever sees it.

Netlists are code: an ngspice ``.control`` block (or a ``*#`` control line) can run shell
commands, ``codemodel``/``osdi`` load shared objects, and ``.include`` can read any file. This
module reads a deck, refuses those constructs with a message naming the file and line, expands
``.include``/``.lib`` itself (only from the deck's own directory tree or the shipped library in
``netlists/``), and keeps, for every line of the expanded text, the file and line it came from so
that ngspice's messages can be mapped back to what the user wrote.

The result, :class:`PreparedDeck`, also knows the deck's ``.param`` values, its analyses, and the
neurons and memristors it instantiates (subcircuits whose pins are ``mem out`` and ``p n``).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from neurospice.errors import NeurospiceInputError
from neurospice.spice.library import parse_si as spice_number
from neurospice.spice.resources import NETLISTS_DIR

__all__ = [
    "DeckError",
    "Origin",
    "PreparedDeck",
    "Instance",
    "prepare_deck",
    "prepare_text",
    "spice_number",
]

_MAX_INCLUDE_DEPTH = 16

_INCLUDE_RE = re.compile(r"^\s*\.(include|incl|inc)\b\s*(.*)$", re.IGNORECASE)
_LIB_RE = re.compile(r"^\s*\.lib\b\s*(.*)$", re.IGNORECASE)
_ENDL_RE = re.compile(r"^\s*\.endl\b", re.IGNORECASE)
_END_RE = re.compile(r"^\s*\.end\s*$", re.IGNORECASE)
_CONTROL_RE = re.compile(r"^\s*\.(control|endc)\b", re.IGNORECASE)
_FORBIDDEN_COMMANDS = {
    "codemodel": "loads a compiled code model (shared object)",
    "osdi": "loads a compiled OSDI device (shared object)",
    "pre_osdi": "loads a compiled OSDI device (shared object)",
    "pre_codemodel": "loads a compiled code model (shared object)",
    "shell": "runs a shell command",
}
_FILE_ATTR_RE = re.compile(r"""\bfile\s*=\s*["']?([^"'\s)]+)""", re.IGNORECASE)
_PARAM_RE = re.compile(r"^\s*\.param\b", re.IGNORECASE)
_ASSIGN_RE = re.compile(r"([A-Za-z_][\w]*)\s*=\s*(\{[^}]*\}|'[^']*'|\"[^\"]*\"|[^\s=]+)")

class DeckError(NeurospiceInputError):
    """A deck that must not, or cannot, be given to ngspice (bad input: exit status 2).

    ``DeckError(message, path, line, snippet=text)``: the offending line's text is shown under
    the message.
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        *,
        snippet: str | None = None,
    ) -> None:
        context = "    " + snippet.strip() if snippet else None
        super().__init__(message, path=path, line=line, column=column, context=context)


@dataclass(frozen=True)
class Origin:
    """Where one line of an expanded deck came from (``path`` None for in-memory text)."""

    path: Path | None
    line: int

    def __str__(self) -> str:
        return f"{self.path if self.path else '<deck>'}:{self.line}"


@dataclass(frozen=True)
class Instance:
    """A subcircuit instance (an ``X`` line) of a neuron or memristor subcircuit."""

    name: str  #: instance name as ngspice reports it (lower case, e.g. ``xmaster``)
    subckt: str  #: subcircuit name (lower case)
    nodes: tuple[str, ...]  #: top-level nodes on its pins, lower case
    internal: tuple[str, ...]  #: internal node names of the subcircuit (for probes)


@dataclass
class PreparedDeck:
    """A checked, fully expanded deck, ready for ngspice.

    ``lines[0]`` is the title. ``origin[i]`` says where ``lines[i]`` came from.
    """

    lines: list[str]
    origin: list[Origin]
    source: Path | None
    base_dir: Path
    overrides: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ text
    @property
    def text(self) -> str:
        """The deck as ngspice reads it, ending with ``.end``."""
        body = list(self.lines)
        return "\n".join(body) + "\n.end\n"

    @property
    def title(self) -> str:
        return self.lines[0].strip() if self.lines else ""

    def origin_of(self, line_number: int) -> Origin | None:
        """Origin of 1-based ``line_number`` of :attr:`text` (as ngspice numbers it)."""
        i = line_number - 1
        if 0 <= i < len(self.origin):
            return self.origin[i]
        return None

    def find_text(self, fragment: str) -> Origin | None:
        """Origin of the first line whose text contains ``fragment`` (case-insensitive)."""
        frag = fragment.strip().lower()
        if not frag:
            return None
        for line, org in zip(self.lines, self.origin, strict=True):
            if frag in line.lower():
                return org
        return None

    # ---------------------------------------------------------------- params
    def params(self) -> dict[str, str]:
        """Top-level ``.param`` names (lower case) and their value text."""
        out: dict[str, str] = {}
        for logical, _ in self._logical_lines(top_level_only=True):
            if _PARAM_RE.match(logical):
                body = logical.split(None, 1)[1] if len(logical.split(None, 1)) > 1 else ""
                for name, value in _ASSIGN_RE.findall(body):
                    out[name.lower()] = value
        return out

    def with_params(self, overrides: dict[str, str | float]) -> PreparedDeck:
        """A copy in which each ``.param NAME`` named in ``overrides`` takes the new value.

        Raises
        ------
        DeckError
            If a name is not a top-level ``.param`` of the deck.
        """
        known = self.params()
        lines = list(self.lines)
        done: dict[str, str] = {}
        for raw_name, raw_value in overrides.items():
            name = raw_name.lower()
            value = _format_value(raw_value)
            if name not in known:
                avail = ", ".join(sorted(known)) or "none"
                raise DeckError(
                    f"--param {raw_name}: the deck has no top-level .param {raw_name} "
                    f"(its .params: {avail})",
                    path=self.source,
                )
            pattern = re.compile(
                rf"(?<![\w.])({re.escape(name)}\s*=\s*)(\{{[^}}]*\}}|'[^']*'|\"[^\"]*\"|[^\s=]+)",
                re.IGNORECASE,
            )
            depth = 0
            for i, line in enumerate(lines):
                depth = _subckt_depth(line, depth)
                if depth == 0 and (_PARAM_RE.match(line) or _is_continuation_of_param(lines, i)):
                    new, n = pattern.subn(_keep_prefix(value), line, count=1)
                    if n:
                        lines[i] = new
            done[name] = value
        return replace(self, lines=lines, overrides={**self.overrides, **done})

    def with_seed(self, seed: int) -> PreparedDeck:
        """A copy whose random draws use ``seed``.

        Sets ``.param seed`` when the deck has one, else the ``seed`` of an ``.options`` line
        (ngspice's random-number seed), else adds ``.options seed=SEED``.
        """
        if "seed" in self.params():
            return self.with_params({"seed": seed})
        lines = list(self.lines)
        origin = list(self.origin)
        pattern = re.compile(r"(\bseed\s*=\s*)(\S+)", re.IGNORECASE)
        for i, line in enumerate(lines):
            if re.match(r"^\s*\.options?\b", line, re.IGNORECASE) and pattern.search(line):
                lines[i] = pattern.sub(lambda m: m.group(1) + str(int(seed)), line, count=1)
                return replace(self, lines=lines)
        lines.insert(1, f".options seed={int(seed)}")
        origin.insert(1, Origin(self.source, 1))
        return replace(self, lines=lines, origin=origin)

    # ------------------------------------------------------------- analyses
    def analyses(self) -> list[tuple[str, list[str], Origin]]:
        """Analysis cards (``tran``, ``ac``, ``dc``, ``op``, ...) with their fields."""
        out = []
        for logical, org in self._logical_lines(top_level_only=True):
            m = re.match(r"^\s*\.(tran|ac|dc|op|noise|tf|disto|pz|sens)\b(.*)$", logical, re.I)
            if m:
                out.append((m.group(1).lower(), split_tokens(m.group(2)), org))
        return out

    def tran(self) -> tuple[float, float] | None:
        """``(tstep, tstop)`` of the deck's ``.tran`` card in seconds, or None."""
        for kind, fields, org in self.analyses():
            if kind == "tran":
                numeric = [f for f in fields if f.lower() != "uic"]
                if len(numeric) < 2:
                    raise DeckError(".tran needs at least TSTEP and TSTOP", *_where(org))
                try:
                    return self.evaluate(numeric[0]), self.evaluate(numeric[1])
                except ValueError as exc:
                    raise DeckError(f".tran: {exc}", *_where(org)) from None
        return None

    def evaluate(self, text: str) -> float:
        r"""Value of a number or ``{expression}`` over the deck's top-level ``.param``\s.

        Supports + - * / ** (and ``^``), parentheses, SI-suffixed numbers, the params, and
        ``min max abs sqrt exp log``.

        Raises
        ------
        ValueError
            For anything else (the deck's own ngspice will still evaluate it).
        """
        return _evaluate(text, self.params(), depth=0)

    def with_tstop(self, tstop: float) -> PreparedDeck:
        """A copy whose ``.tran`` stops at ``tstop`` seconds."""
        if tstop <= 0:
            raise DeckError(f"--tstop must be positive (got {tstop:g} s)", path=self.source)
        lines = list(self.lines)
        for i, line in enumerate(lines):
            m = re.match(r"^(\s*\.tran\s+)(\S+)(\s+)(\S+)(.*)$", line, re.I)
            if m:
                try:
                    tstep = self.evaluate(m.group(2))
                except ValueError as exc:
                    raise DeckError(f".tran: {exc}", self.origin[i].path,
                                    self.origin[i].line) from None
                new_step = min(tstep, tstop / 10)
                lines[i] = (
                    f"{m.group(1)}{_format_value(new_step) if new_step != tstep else m.group(2)}"
                    f"{m.group(3)}{_format_value(tstop)}{m.group(5)}"
                )
                return replace(self, lines=lines)
        raise DeckError("--tstop given but the deck has no .tran card", path=self.source)

    # ------------------------------------------------------------ instances
    def subckts(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Subcircuits defined in the deck: name -> (pins, internal nodes)."""
        out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        current: str | None = None
        pins: tuple[str, ...] = ()
        internal: list[str] = []
        for logical, _ in self._logical_lines(top_level_only=False):
            low = logical.strip().lower()
            if low.startswith(".subckt"):
                toks = split_tokens(low)
                names = []
                for tok in toks[2:]:
                    if tok.startswith("params:") or "=" in tok:
                        break
                    names.append(tok)
                current, pins, internal = toks[1], tuple(names), []
            elif low.startswith(".ends") and current:
                out[current] = (pins, tuple(dict.fromkeys(internal)))
                current = None
            elif current and low and low[0] in "rclbvieghdjqmsxw":
                for node in _element_nodes(low):
                    if node not in pins and node not in ("0", "gnd"):
                        internal.append(node)
        return out

    def instances(self) -> list[Instance]:
        """Top-level ``X`` instances of neuron (pins ``mem out``) or memristor subcircuits."""
        subs = self.subckts()
        out = []
        for logical, _ in self._logical_lines(top_level_only=True):
            toks = split_tokens(logical)
            if not toks or not toks[0].lower().startswith("x"):
                continue
            plain = [t for t in toks[1:] if "=" not in t and not t.lower().startswith("params:")]
            if not plain:
                continue
            model = plain[-1].lower()
            if model in subs:
                pins, internal = subs[model]
                nodes = tuple(n.lower() for n in plain[:-1])
                out.append(Instance(toks[0].lower(), model, nodes, internal))
        return out

    def neurons(self) -> list[Instance]:
        """Instances whose subcircuit's first pin is ``mem`` (the FHN neuron convention)."""
        subs = self.subckts()
        return [i for i in self.instances() if subs[i.subckt][0][:1] == ("mem",)]

    def memristors(self) -> list[Instance]:
        """Instances of two-pin ``p n`` subcircuits with an internal state node ``w``."""
        subs = self.subckts()
        return [
            i for i in self.instances() if subs[i.subckt][0] == ("p", "n") and "w" in i.internal
        ]

    # --------------------------------------------------------------- helpers
    def _logical_lines(self, *, top_level_only: bool) -> list[tuple[str, Origin]]:
        """Join ``+`` continuation lines; drop comments; optionally skip subcircuit bodies."""
        joined: list[tuple[str, Origin]] = []
        for line, org in zip(self.lines[1:], self.origin[1:], strict=True):
            stripped = _strip_comment(line)
            if not stripped.strip():
                continue
            if stripped.lstrip().startswith("+") and joined:
                text, o = joined[-1]
                joined[-1] = (text + " " + stripped.lstrip()[1:], o)
            else:
                joined.append((stripped, org))
        if not top_level_only:
            return joined
        out = []
        depth = 0
        for text, org in joined:
            low = text.strip().lower()
            if low.startswith(".subckt"):
                depth += 1
                continue
            if low.startswith(".ends"):
                depth = max(0, depth - 1)
                continue
            if depth == 0:
                out.append((text, org))
        return out


# --------------------------------------------------------------------------- reading


def prepare_deck(path: str | Path) -> PreparedDeck:
    """Read, check and expand the deck in ``path``.

    Raises
    ------
    DeckError
        For a missing file, a refused construct, or an include that cannot be resolved,
        naming the file and line.
    """
    p = Path(path)
    if not p.is_file():
        raise DeckError(f"no such deck file: {p}", path=p)
    try:
        text = p.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise DeckError(f"the deck is not UTF-8 text ({exc.reason})", path=p) from None
    return prepare_text(text, base_dir=p.resolve().parent, source=p)


def prepare_text(text: str, *, base_dir: str | Path, source: Path | None = None) -> PreparedDeck:
    """Check and expand deck ``text`` whose includes resolve relative to ``base_dir``."""
    base = Path(base_dir).resolve()
    raw = text.splitlines()
    if not raw or not any(line.strip() for line in raw):
        raise DeckError("the deck is empty", path=source)
    # Check every line of the file first, including lines after .end: ngspice still
    # executes .control sections placed there.
    _check_lines(raw, source, start=1)
    lines: list[str] = [raw[0]]
    origin: list[Origin] = [Origin(source, 1)]
    for i, line in enumerate(raw[1:], start=2):
        if _END_RE.match(line):
            break
        _expand_line(line, Origin(source, i), base, lines, origin, depth=0, stack=(), top=base)
    return PreparedDeck(lines=lines, origin=origin, source=source, base_dir=base)


def _check_lines(raw: list[str], path: Path | None, *, start: int) -> None:
    for i, line in enumerate(raw, start=start):
        stripped = line.lstrip()
        where = (path, i)
        if stripped.startswith("*#"):
            raise DeckError(
                "'*#' lines are ngspice control lines (they can run shell commands) and are "
                "refused; remove the line or make it an ordinary '*' comment",
                *where,
                snippet=line,
            )
        if _CONTROL_RE.match(stripped):
            raise DeckError(
                "ngspice .control blocks can run shell commands and are refused; describe "
                "analyses with .tran/.ac/.dc/.op cards and use simulate's options instead",
                *where,
                snippet=line,
            )
        first = stripped.split(None, 1)[0].lower() if stripped else ""
        if first in _FORBIDDEN_COMMANDS:
            raise DeckError(
                f"'{first}' {_FORBIDDEN_COMMANDS[first]} and is refused in a deck",
                *where,
                snippet=line,
            )


def _expand_line(
    line: str,
    org: Origin,
    base: Path,
    lines: list[str],
    origin: list[Origin],
    *,
    depth: int,
    stack: tuple[Path, ...],
    top: Path,
) -> None:
    inc = _INCLUDE_RE.match(line)
    lib = _LIB_RE.match(line) if not inc else None
    if inc:
        target = _resolve_include(inc.group(2), org, base, top=top)
        _inline_file(target, None, org, lines, origin, depth=depth, stack=stack, top=top)
        return
    if lib:
        args = _split_path_args(lib.group(1))
        if len(args) >= 1 and (len(args) == 2 or _looks_like_path(args[0])):
            target = _resolve_include(args[0], org, base, top=top)
            section = args[1] if len(args) > 1 else None
            _inline_file(target, section, org, lines, origin, depth=depth, stack=stack, top=top)
            return
    for m in _FILE_ATTR_RE.finditer(line):
        _resolve_include(m.group(1), org, base, top=top, what="file=")
    lines.append(line)
    origin.append(org)


def _inline_file(
    target: Path,
    section: str | None,
    org: Origin,
    lines: list[str],
    origin: list[Origin],
    *,
    depth: int,
    stack: tuple[Path, ...],
    top: Path,
) -> None:
    if depth >= _MAX_INCLUDE_DEPTH or target in stack:
        raise DeckError(f"include loop or nesting deeper than {_MAX_INCLUDE_DEPTH}: {target}",
                        *_where(org))
    try:
        raw = target.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DeckError(f"cannot read included file {target}: {exc}", *_where(org)) from None
    _check_lines(raw, target, start=1)
    selected: list[tuple[int, str]] = []
    if section is None:
        selected = list(enumerate(raw, start=1))
    else:
        inside = False
        found = False
        for i, text in enumerate(raw, start=1):
            m = _LIB_RE.match(text)
            if m and not inside:
                args = _split_path_args(m.group(1))
                if len(args) == 1 and args[0].lower() == section.lower():
                    inside = found = True
                    continue
            if inside and _ENDL_RE.match(text):
                inside = False
                continue
            if inside:
                selected.append((i, text))
        if not found:
            raise DeckError(f"library {target} has no section '.lib {section}'", *_where(org))
    for i, text in selected:
        if _END_RE.match(text):
            continue
        _expand_line(
            text,
            Origin(target, i),
            target.parent,
            lines,
            origin,
            depth=depth + 1,
            stack=(*stack, target),
            top=top,
        )


def _resolve_include(
    arg: str, org: Origin, base: Path, *, top: Path, what: str = ".include"
) -> Path:
    """Resolve an include path; only the deck's tree (``top``) and the library are allowed.

    Relative names are looked up beside the including file (``base``), then beside the top
    deck, then in the shipped ``netlists/`` folder.
    """
    args = _split_path_args(arg)
    if not args:
        raise DeckError(f"{what} without a file name", *_where(org))
    name = args[0]
    if name.startswith("~") or "$" in name or "%" in name:
        raise DeckError(
            f"{what} '{name}': home-relative and environment-variable paths are refused; use a "
            "path relative to the deck",
            *_where(org),
        )
    library = NETLISTS_DIR.resolve()
    roots = (top, library)
    if Path(name).is_absolute():
        candidates = [Path(name)]
    else:
        candidates = list(dict.fromkeys([base / name, top / name, library / name]))
    outside = []
    for cand in candidates:
        resolved = cand.resolve()
        if not any(_inside(resolved, root) for root in roots):
            outside.append(resolved)
            continue
        if resolved.is_file():
            return resolved
    if outside and (Path(name).is_absolute() or ".." in Path(name).parts
                    or any(p.exists() for p in outside)):
        raise DeckError(
            f"{what} '{name}' resolves outside the deck's directory tree ({top}) and the "
            f"neurospice library ({library}); refused - copy the file next to the deck",
            *_where(org),
        )
    raise DeckError(
        f"{what} '{name}': file not found (looked beside the deck and in {library})",
        *_where(org),
    )


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _split_path_args(text: str) -> list[str]:
    text = _strip_comment(text).strip()
    out = []
    for m in re.finditer(r"\"([^\"]*)\"|'([^']*)'|(\S+)", text):
        out.append(next(g for g in m.groups() if g is not None))
    return out


def _looks_like_path(text: str) -> bool:
    return "/" in text or "." in text


def _strip_comment(line: str) -> str:
    s = line
    if s.lstrip().startswith("*"):
        return ""
    for marker in (";", "$ "):
        # ngspice end-of-line comments: ';' anywhere, '$' preceded by a space
        idx = s.find(marker)
        if idx >= 0 and (marker == ";" or idx > 0):
            s = s[:idx]
    return s


def split_tokens(text: str) -> list[str]:
    """Split a SPICE line on white space outside ``{...}``, ``(...)`` and quotes.

    ``x1 a b fhn tau0={tau0*(1 + d)}`` gives ``['x1', 'a', 'b', 'fhn', 'tau0={tau0*(1 + d)}']``;
    ``k = v`` around an equals sign is kept as one token ``k=v``.
    """
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    quote = ""
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "{(":
            depth += 1
        elif ch in "})":
            depth = max(0, depth - 1)
        elif ch.isspace() and depth == 0:
            if cur:
                out.append("".join(cur))
                cur = []
            continue
        cur.append(ch)
    if cur:
        out.append("".join(cur))
    # join "k = v" and "k= v" / "k =v" into one token
    joined: list[str] = []
    for tok in out:
        if joined and (tok.startswith("=") or joined[-1].endswith("=")):
            joined[-1] += tok
        else:
            joined.append(tok)
    return joined


def _element_nodes(low: str) -> list[str]:
    toks = split_tokens(low)
    kind = toks[0][0]
    n = {"r": 2, "c": 2, "l": 2, "b": 2, "v": 2, "i": 2, "d": 2, "e": 4, "g": 4, "h": 2,
         "f": 2, "j": 3, "q": 3, "m": 4, "s": 4, "w": 2}.get(kind)
    if kind == "x":
        plain = [t for t in toks[1:] if "=" not in t and not t.startswith("params:")]
        return plain[:-1]
    if n is None:
        return []
    return [t for t in toks[1 : 1 + n] if "(" not in t and "=" not in t]


def _subckt_depth(line: str, depth: int) -> int:
    low = line.strip().lower()
    if low.startswith(".subckt"):
        return depth + 1
    if low.startswith(".ends"):
        return max(0, depth - 1)
    return depth


def _is_continuation_of_param(lines: list[str], i: int) -> bool:
    if not lines[i].lstrip().startswith("+"):
        return False
    j = i - 1
    while j > 0 and lines[j].lstrip().startswith("+"):
        j -= 1
    return bool(_PARAM_RE.match(lines[j]))


def _keep_prefix(value: str) -> Callable[[re.Match[str]], str]:
    def sub(m: re.Match[str]) -> str:
        return m.group(1) + value

    return sub


_FUNCS: dict[str, Callable[..., float]] = {
    "min": min, "max": max, "abs": abs, "sqrt": math.sqrt, "exp": math.exp, "log": math.log,
}


def _evaluate(text: str, params: dict[str, str], *, depth: int) -> float:
    if depth > 20:
        raise ValueError(f"parameter nesting too deep in {text!r}")
    expr = text.strip()
    if expr.startswith("{") and expr.endswith("}"):
        expr = expr[1:-1]
    expr = expr.strip().strip("'\"")
    try:
        return spice_number(expr)
    except ValueError:
        pass
    expr = expr.replace("^", "**")

    def number(m: re.Match[str]) -> str:
        return repr(spice_number(m.group(0)))

    # SI-suffixed numbers first (e.g. 2.2u), then names
    expr = re.sub(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:meg|mil|[tgkmunpf])"
                  r"[a-zA-Z]*", number, expr, flags=re.IGNORECASE)
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ValueError(f"cannot evaluate {text!r}") from None

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            ops = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}
            if type(node.op) in ops:
                return ops[type(node.op)]
            if isinstance(node.op, ast.Div):
                return a / b
            if isinstance(node.op, ast.Pow):
                return float(a**b)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Name):
            key = node.id.lower()
            if key in params:
                return _evaluate(params[key], params, depth=depth + 1)
            raise ValueError(f"unknown parameter {node.id!r} in {text!r}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id.lower() in _FUNCS and not node.keywords):
            return float(_FUNCS[node.func.id.lower()](*[ev(a) for a in node.args]))
        raise ValueError(f"cannot evaluate {text!r}")

    return ev(tree)


def _format_value(value: str | float) -> str:
    if isinstance(value, str):
        return value.strip()
    return f"{value:.12g}"


def _where(org: Origin) -> tuple[Path | None, int]:
    return org.path, org.line
