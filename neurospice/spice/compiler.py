"""The allow-list deck compiler: SPICE text in, a canonical deck for ngspice out.

Netlists are code: ngspice reads dot-cards by prefix, follows includes, runs ``.control``
blocks and reaches the shell from control code. So nothing a user wrote reaches ngspice as
they wrote it. This module

1. lexes the deck and every file it includes with :mod:`neurospice.spice.lexer`;
2. classifies each card: an element by its first letter (of the kinds in :data:`ELEMENTS`), or
   a dot-card whose name is exactly one of :data:`DOT_CARDS`; ``.options`` names must be in
   :data:`OPTIONS`; anything else is refused with file, line, column and the card's text;
3. expands ``.include``/``.lib`` itself, only from the deck's tree or the shipped library, and
   resolves XSPICE file attributes (any ``...file...=PATH``) the same way;
4. applies the limits of :class:`Limits` (file size, number of cards, include depth, ``.func``
   expansion, points of an analysis, infinite numbers);
5. re-emits one card per line from its tokens, under neurospice's own title, with no comment
   and no text of the user's outside a checked card.

``.control`` blocks and ``*#`` lines are refused unless the caller asks to drop them
(``control="ignore"``: their ``tran``/``ac``/``dc``/``op`` commands become cards when the
deck has no analysis of its own) or to keep them (``control="allow"``, for trusted decks; the
run is still sandboxed).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from neurospice.errors import DeckError, LimitError, option
from neurospice.spice.lexer import Card, LexError, check_card_text, lex, split_tokens
from neurospice.spice.resources import NETLISTS_DIR

__all__ = [
    "ELEMENTS",
    "DOT_CARDS",
    "OPTIONS",
    "ControlMode",
    "Limits",
    "Origin",
    "CompiledCard",
    "CompiledDeck",
    "compile_text",
    "TITLE",
    "COMPAT_FLAGS",
    "check_compat",
    "escape_controls",
]

ControlMode = Literal["refuse", "ignore", "allow"]

log = logging.getLogger(__name__)

#: The first line of every deck neurospice gives to ngspice.
TITLE = "* neurospice canonical deck"

#: Element letters and the fewest tokens each card needs (name included).
ELEMENTS: dict[str, tuple[int, str]] = {
    "r": (4, "resistor"), "c": (4, "capacitor"), "l": (4, "inductor"),
    "k": (4, "coupled inductors"), "v": (3, "voltage source"), "i": (3, "current source"),
    "e": (4, "VCVS"), "f": (4, "CCCS"), "g": (4, "VCCS"), "h": (4, "CCVS"),
    "b": (4, "behavioural source"), "d": (4, "diode"), "j": (5, "JFET"),
    "q": (5, "bipolar transistor"), "m": (5, "MOSFET"), "z": (5, "MESFET"),
    "x": (3, "subcircuit instance"), "s": (5, "voltage switch"), "w": (5, "current switch"),
    "t": (5, "lossless line"), "o": (5, "lossy line"), "u": (5, "RC line"),
    "p": (4, "coupled lines"), "a": (3, "XSPICE code-model instance"),
    "y": (6, "TXL/CPL lossy line"),
}

#: Dot-cards, by their exact names (ngspice would also take any longer word).
DOT_CARDS = frozenset({
    ".param", ".func", ".subckt", ".ends", ".model", ".tran", ".dc", ".ac", ".op", ".tf",
    ".noise", ".sens", ".pz", ".disto", ".four", ".options", ".option", ".opt", ".save",
    ".meas", ".measure", ".ic", ".nodeset", ".global", ".end", ".temp", ".include", ".inc",
    ".lib", ".endl", ".print", ".plot", ".width", ".title", ".probe", ".csparam", ".if",
    ".elseif", ".else", ".endif", ".sp",
})
#: Cards that only shape ngspice's batch printout: accepted and not passed on.
_DROPPED_CARDS = frozenset({".print", ".plot", ".width", ".title"})
ANALYSES = frozenset({".tran", ".dc", ".ac", ".op", ".tf", ".noise", ".sens", ".pz", ".disto",
                      ".sp"})

#: ``.options`` names ngspice may be given.
OPTIONS = frozenset({
    "abstol", "reltol", "vntol", "chgtol", "trtol", "gmin", "gmindc", "gminsteps", "srcsteps",
    "itl1", "itl2", "itl3", "itl4", "itl5", "itl6", "method", "maxord", "temp", "tnom", "seed",
    "interp", "noopiter", "noopac", "acct", "norefvalue", "savecurrents", "rshunt", "cshunt",
    "rseries", "ramptime", "keepopinfo", "pivtol", "pivrel", "xmu", "numdgt", "warn",
    "maxwarns", "nopage", "list", "node", "opts", "sparse", "klu", "trytocompact", "autostop",
    "noinit", "minbreak", "defad", "defas", "defl", "defw", "scale", "bypass", "badmos3",
    "cktcheck", "abserr", "relerr", "noacct", "nomod", "seedinfo", "convstep", "convabsstep",
    "maxeviter", "maxopalter", "noopalter", "indverbosity", "gshunt",
})

#: ``.options`` names that are ngspice front-end variables steering files, programs, the shell,
#: the reader or the output (from the ``cp_getvar`` names and special variables of ngspice's
#: ``src/frontend``): refused, not merely dropped - a deck that sets them is aiming at
#: ngspice, not at its circuit. Other unknown names are dropped with a notice.
FRONTEND_VARIABLES = frozenset({
    "unixcom", "sourcepath", "spicepath", "helppath", "rawfile", "filetype", "appendwrite",
    "noclobber", "noglob", "nonomatch", "history", "histsubst", "no_histsubst", "echo",
    "prompt", "program", "cpdebug", "editor", "rhost", "rprogram", "remote_shell",
    "interactive", "controlswait", "addcontrol", "addescape", "ngbehavior", "no_spiceinit",
    "no_spinit", "modelcard", "modelline", "measoutfile", "mingwpath", "silent_fileio",
    "display", "device", "lprps", "lprplot5", "noparse", "nosubckt", "no_auto_gnd",
    "no_auto_braces", "substart", "subend", "subinvoke", "moremode", "askquit", "brief",
    "gnuplot_terminal", "sim_status", "nosighandling", "no_mem_check", "debug-out-short",
    "plainwrite", "plainplot", "plainlet", "sanelet", "statlocal", "renumber",
})
_FRONTEND_PREFIXES = ("hcopy", "pyplot_", "svg_", "help", "ps_", "wr_", "probe_")

#: Values of ngspice's ``ngbehavior`` variable (its compatibility mode) neurospice sets: each
#: a run of the flags ngspice's ``set_compat_mode`` knows (``hs`` HSPICE, ``ps`` PSPICE, ``xs``
#: XSPICE, ``lt`` LTspice, ``ki`` KiCad, ``a`` the whole netlist, ``s3`` Spice3, ``eg`` EAGLE,
#: ``spe`` Spectre), or ``all``.
COMPAT_FLAGS = ("spe", "hs", "ps", "xs", "lt", "ki", "s3", "eg", "ll", "a")
_COMPAT_RE = re.compile(r"^(?:all|(?:spe|hs|ps|xs|lt|ki|s3|eg|ll|a){1,5})$")


def check_compat(value: str) -> str:
    """``value`` as an ngspice compatibility mode (lower case), or ValueError."""
    low = value.strip().lower()
    if not _COMPAT_RE.match(low):
        raise ValueError(f"compatibility mode {value!r} is none of ngspice's: a run of "
                         f"{', '.join(COMPAT_FLAGS)} (e.g. ltpsa, ps, lt, kia), or all")
    return low

#: Parameters of XSPICE code models that name a file (from the ``Parameter_Name`` entries of
#: type string in ngspice's ``src/xspice/icm/*/ifspec.ifs``: ``file`` of filesource, table2D,
#: table3D and xfer, ``input_file`` of d_source, ``state_file`` of d_state); any other
#: parameter name containing ``file`` is treated as one too.
FILE_PARAMETERS = frozenset({"file", "input_file", "state_file"})
#: CIDER's numerical device models: ngspice reads their ``+`` lines one by one (each line is
#: one of CIDER's own cards), so they are emitted with their lines kept.
CIDER_MODELS = frozenset({"numd", "nbjt", "numos"})
#: Code models that start a program or load a shared library: refused.
REFUSED_MODELS = {"d_process": "starts an external program (process_file)",
                  "d_cosim": "loads a shared library (simulation)"}
#: A ``.probe`` field: a node or device name, or ``v(...)``/``i(...)``-style access to one.
_PROBE_RE = re.compile(r"^(?:[A-Za-z]{1,3}\(\s*[\w.:#+/\-][\w.:#+/\- ]*"
                       r"(?:,\s*[\w.:#+/\-][\w.:#+/\- ]*)?\)|[\w.:#+/\-]+)$")

_CONTROL_ANALYSES = {"tran", "ac", "dc", "op", "tf", "noise", "pz", "sens", "disto", "sp"}
_FILE_ATTR_RE = re.compile(
    r"""(?<![\w])([A-Za-z_]*file[A-Za-z_]*)\s*=\s*("[^"]*"|'[^']*'|[^\s()\[\]]+)""",
    re.IGNORECASE,
)
#: On a ``.model`` card ngspice separates a parameter from its value by blanks, ``=`` or
#: ``,`` (``file "x"``, ``file x``, ``FILE,"x"``); the name stands after a separator.
_MODEL_FILE_RE = re.compile(
    r"""(?<![^\s=,(])([A-Za-z_]*file[A-Za-z_]*)(?:[\s=,]+|(?=["']))"""
    r"""("[^"]*"|'[^']*'|[^\s=,()\[\]"']+)""",
    re.IGNORECASE,
)
_NUMBER_LITERAL_RE = re.compile(r"(?<![\w.])(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?")
_PLAIN_NAME_RE = re.compile(r"^[\w+\-][\w.+\-]{0,63}$")
_LOCK_RE = re.compile(r"^\*\s*neurospice\s+lock\s+(\S+)\s+(\S+)\s*$", re.IGNORECASE)
_POT_RE = re.compile(r"^\s*neurospice\s+potentiometer\s+(\S+)\s+(\S+)\s*$", re.IGNORECASE)
_NAME_RE = re.compile(r"^[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class Limits:
    """Bounds on what a deck may ask for; each has a command-line option to raise it.

    Attributes
    ----------
    max_file_bytes
        Largest deck or included file (bytes).
    max_cards
        Most cards after expanding includes.
    max_include_depth
        Deepest chain of includes.
    max_includes
        Most ``.include``/``.lib`` expansions in all (a file included twice counts twice).
    max_card_chars
        Longest card (characters, continuations joined).
    max_func_expansion
        Largest text a ``.func`` expands to when its calls are inlined (characters).
    max_points
        Most time points (``(tstop - tstart) / min(tstep, tmax)``), frequency points or DC
        sweep points of one analysis.
    """

    max_file_bytes: int = 20_000_000
    max_cards: int = 500_000
    max_include_depth: int = 16
    max_includes: int = 10_000
    max_card_chars: int = 200_000
    max_func_expansion: int = 1_000_000
    max_points: float = 5e7
    #: ngspice's compatibility mode (``ngbehavior``) for the run, set before the deck loads
    #: (None: read it from a ``.spiceinit`` next to the deck, else ngspice's default)
    compat: str | None = None


@dataclass(frozen=True)
class Origin:
    """Where a card came from (``path`` None for in-memory text); 1-based line and column."""

    path: Path | None
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path if self.path else '<deck>'}:{self.line}"


@dataclass(frozen=True)
class CompiledCard:
    """One checked card.

    Attributes
    ----------
    head
        ``".tran"``, ``".model"`` ... for dot-cards; the element name (lower case) otherwise.
    tokens
        The card's tokens as emitted (file attributes already resolved).
    origin
        Where the card was written.
    depth
        Subcircuit nesting depth (0 at top level).
    """

    head: str
    tokens: tuple[str, ...]
    origin: Origin
    depth: int

    @property
    def text(self) -> str:
        """The card as ngspice will read it: its tokens joined by spaces."""
        return " ".join(self.tokens)

    @property
    def is_element(self) -> bool:
        return not self.head.startswith(".")

    @property
    def letter(self) -> str:
        """The element letter (``"r"``, ``"x"`` ...), or ``""`` for a dot-card."""
        return "" if self.head.startswith(".") else self.head[0]


@dataclass
class CompiledDeck:
    """The result of :func:`compile_text`."""

    cards: list[CompiledCard]
    source: Path | None
    base_dir: Path
    title: str
    lock_pairs: list[tuple[str, str, Origin]] = field(default_factory=list)
    control: list[tuple[str, Origin]] = field(default_factory=list)
    dropped: list[tuple[str, Origin]] = field(default_factory=list)
    control_mode: ControlMode = "refuse"
    #: ``* neurospice potentiometer A B`` directives: (subcircuit or "", a, b), lower case
    pots: list[tuple[str, str, str]] = field(default_factory=list)
    #: what the compiler left out and says so (unknown ``.options`` names): (message, where)
    notices: list[tuple[str, Origin]] = field(default_factory=list)


def _error(message: str, origin: Origin, snippet: str | None = None, *,
           hint: str | None = None, limit: bool = False) -> DeckError:
    cls = LimitError if limit else DeckError
    return cls(escape_controls(message), origin.path, origin.line, origin.column,
               snippet=None if snippet is None else escape_controls(snippet), hint=hint)


_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """``text`` with control characters (ESC, NUL, CR ... but not tab) shown as ``\\xNN``,
    so that a message quoting a deck cannot drive the terminal."""
    return _CONTROL_CHARS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}"
                                 if ord(m.group(0)) < 256 else f"\\u{ord(m.group(0)):04x}",
                                 text)


class _Compiler:
    def __init__(self, top: Path, control: ControlMode, limits: Limits) -> None:
        self.top = top
        self.library = NETLISTS_DIR.resolve()
        self.control_mode = control
        self.limits = limits
        self.cards: list[CompiledCard] = []
        self.control: list[tuple[str, Origin]] = []
        self.dropped: list[tuple[str, Origin]] = []
        self.lock_pairs: list[tuple[str, str, Origin]] = []
        self.depth = 0
        self.includes = 0
        self._texts: dict[Path, str] = {}
        self.pots: list[tuple[str, str, str]] = []
        self._scopes: list[str] = []
        self.notices: list[tuple[str, Origin]] = []
        self._resolved: dict[tuple[str, Path], Path] = {}
        #: ngspice runs in PSPICE mode: ``$`` is no comment, and names may start with it
        self.ps = bool(limits.compat and "ps" in limits.compat)

    # ------------------------------------------------------------------ files
    def read_file(self, path: Path, origin: Origin | None) -> str:
        where = origin or Origin(path, 1)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise _error(f"cannot read {path}: {exc.strerror}", where) from None
        if size > self.limits.max_file_bytes:
            raise _error(f"{path} is {size} bytes, over the limit of "
                         f"{self.limits.max_file_bytes} ({option('max_deck_bytes')} raises it)",
                         where, limit=True)
        try:
            return path.read_text(encoding="utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise _error(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                         where) from None
        except OSError as exc:
            raise _error(f"cannot read {path}: {exc.strerror}", where) from None

    def compile_file_text(self, text: str, path: Path | None, base: Path, *, has_title: bool,
                          section: str | None, stack: tuple[Path, ...],
                          origin: Origin | None) -> None:
        try:
            _, cards = lex(text, has_title=has_title, ps=self.ps)
        except LexError as exc:
            raise DeckError(exc.message, path, exc.line, exc.column) from None
        if section is not None:
            cards = self._section(cards, section, path, origin)
        in_control = False
        control_origin: Origin | None = None
        after_end = False
        for card in cards:
            org = Origin(path, card.line)
            head = card.head
            if has_title and not card.control_line:
                # directives neurospice itself writes in comments: kept as data
                for comment in card.comments:
                    m = _LOCK_RE.match("* " + comment)
                    if m:
                        self.lock_pairs.append((m.group(1).lower(), m.group(2).lower(), org))
            if in_control:
                if head in (".endc", ".endcontrol"):
                    in_control = False
                    continue
                self._control_line(card.text, org, card.raw)
                continue
            if card.control_line:
                self._control_line(card.text, org, card.raw, star_hash=True)
                continue
            if head == ".control":
                if len(card.text.split()) > 1:
                    raise _error("text after .control on the same line", org, card.raw)
                if self.control_mode == "refuse":
                    raise _error(
                        "ngspice .control blocks run commands (and can reach the shell) and "
                        "are refused", org, card.raw,
                        hint=f"{option('ignore_control')} drops the block (its tran/ac/dc/op "
                             f"commands become analysis cards); {option('allow_control')} runs "
                             "it, for decks you trust")
                in_control = True
                control_origin = org
                continue
            if head == ".endc":
                raise _error(".endc without .control", org, card.raw)
            if after_end:
                continue
            for comment in card.comments:
                m = _POT_RE.match(comment)
                if m:
                    scope = self._scopes[-1] if self._scopes else ""
                    self.pots.append((scope, m.group(1).lower(), m.group(2).lower()))
            if head == ".end":
                if has_title:
                    after_end = True
                continue
            self._card(card, org, path, base, stack)
        if in_control and control_origin is not None:
            raise _error(".control block without .endc", control_origin)

    def _section(self, cards: list[Card], section: str, path: Path | None,
                 origin: Origin | None) -> list[Card]:
        out: list[Card] = []
        inside = found = False
        for card in cards:
            toks = card.text.split()
            head = toks[0].lower() if toks else ""
            if head == ".lib" and len(toks) == 2 and not inside:
                if toks[1].lower() == section.lower():
                    inside = found = True
                continue
            if head == ".endl":
                inside = False
                continue
            if inside:
                out.append(card)
        if not found:
            raise _error(f"library {path} has no section '.lib {section}'",
                         origin or Origin(path, 1))
        return out

    def _control_line(self, text: str, org: Origin, raw: str, *, star_hash: bool = False) -> None:
        what = "'*#' lines are ngspice control lines" if star_hash else "control code"
        if self.control_mode == "refuse":
            raise _error(f"{what} (they can reach the shell) are refused", org, raw,
                         hint=f"{option('ignore_control')} drops them; "
                              f"{option('allow_control')} runs them, for decks you trust")
        bad = check_card_text(text)
        if self.control_mode == "allow":
            if bad is not None:
                raise _error(f"control line refused: {bad[1]}", org, raw)
            self.control.append((text, org))
        else:
            self.dropped.append((text, org))

    # ------------------------------------------------------------------ cards
    def _card(self, card: Card, org: Origin, path: Path | None, base: Path,
              stack: tuple[Path, ...]) -> None:
        text = card.text
        if len(text) > self.limits.max_card_chars:
            raise _error(f"card of {len(text)} characters, over the limit of "
                         f"{self.limits.max_card_chars}", org, card.raw[:120], limit=True)
        first = text.split(None, 1)[0].lower() if text.strip() else ""
        # PSPICE's $G_ names, in element lines and .subckt pins only, in PSPICE mode only
        names = self.ps and (first[:1] in ELEMENTS or first == ".subckt")
        bad = check_card_text(text, dollar_names=names)
        if bad is not None and text[:6].lower() == ".model" and bad[1] == "unbalanced ')'":
            # a ')' too many at the end of a vendor's .model: ngspice reads the card
            text = text[:bad[0]] + text[bad[0] + 1:]
            bad = check_card_text(text)
        if bad is not None and text[:6].lower() == ".model" and bad[1] == "unclosed bracket" \
                and text.count("(") == text.count(")") + 1:
            # a .model whose ')' was forgotten: ngspice reads it to the end of the card
            text += " )"
            bad = check_card_text(text)
        if bad is not None:
            col = _column(card.raw, text, bad[0])
            raise _error(f"refused: {bad[1]}", Origin(path, card.line, col), card.raw)
        toks = split_tokens(text)
        head = toks[0].lower()
        if head.startswith("."):
            if head not in DOT_CARDS:
                near = _near(head)
                raise _error(f"unknown card '{toks[0]}'" + (f" (did you mean {near}?)" if near
                                                             else ""),
                             org, card.raw,
                             hint="neurospice passes only the cards it knows to ngspice: "
                                  + ", ".join(sorted(c for c in DOT_CARDS
                                                     if c not in _DROPPED_CARDS)))
            if head in (".include", ".inc"):
                self._include(toks, org, base, stack, card.raw)
                return
            if head == ".lib":
                if len(toks) >= 3 or (len(toks) == 2 and _looks_like_path(toks[1])):
                    self._include(toks, org, base, stack, card.raw, section=(
                        toks[2] if len(toks) >= 3 else None))
                    return
                raise _error("'.lib NAME' opens a library section; it belongs in a library "
                             "file included by '.lib FILE NAME'", org, card.raw)
            if head == ".endl":
                return
            if head in _DROPPED_CARDS:
                self.dropped.append((text, org))
                return
            if head in (".options", ".option", ".opt"):
                toks = self._options(toks, org, card.raw)
                if len(toks) == 1:
                    return
            if head == ".probe":
                self._probe(toks, org, card.raw)
            if head in (".if", ".elseif") and len(toks) < 2:
                raise _error(f"{head} needs a condition", org, card.raw)
            if head == ".model" and len(toks) >= 3:
                kind = toks[2].split("(", 1)[0].lower()
                if kind in REFUSED_MODELS:
                    raise _error(f"code model {kind} {REFUSED_MODELS[kind]}; refused", org,
                                 card.raw)
            if head == ".subckt":
                if len(toks) < 3:
                    raise _error(".subckt needs a name and pins", org, card.raw)
                self.depth += 1
                self._scopes.append(toks[1].lower())
            elif head == ".ends":
                if self.depth == 0:
                    raise _error(".ends without .subckt", org, card.raw)
                self.depth -= 1
                if self._scopes:
                    self._scopes.pop()
                self._emit(head, toks, org, self.depth)
                return
            elif head == ".model" and len(toks) < 3:
                raise _error(".model needs a name and a type", org, card.raw)
        else:
            letter = head[0]
            if letter not in ELEMENTS:
                raise _error(
                    f"unknown element '{toks[0]}': an element's first letter names its kind, "
                    f"and '{letter.upper()}' is none neurospice supports",
                    org, card.raw,
                    hint="supported: " + ", ".join(f"{k.upper()} {v[1]}"
                                                   for k, v in ELEMENTS.items()))
            need, kind = ELEMENTS[letter]
            if len(toks) < need:
                raise _error(f"{kind} '{toks[0]}' needs at least {need - 1} fields after its "
                             f"name (got {len(toks) - 1})", org, card.raw)
        toks = self._files(toks, org, base, card.raw)
        self._numbers(text, toks, org, card.raw)
        if head == ".model" and len(toks) >= 3 and toks[2].lower() in CIDER_MODELS:
            toks = self._cider_lines(card, toks, org, base)
        depth = self.depth - 1 if head == ".subckt" else self.depth
        self._emit(head, toks, org, depth)

    def _cider_lines(self, card: Card, toks: list[str], org: Origin, base: Path) -> list[str]:
        """A CIDER model's tokens with a ``\\n+`` token where each of its lines began (its
        comment lines left out), each line checked and its file attributes resolved."""
        parts = [p for p in card.parts if p and not p.startswith("*")]
        if len(parts) <= 1:
            return toks
        out: list[str] = []
        for i, part in enumerate(parts):
            if check_card_text(part) is not None:
                return toks  # a line that holds half a bracket: keep the joined card
            if i:
                out.append("\n+")
            out.extend(self._files(split_tokens(part), org, base, card.raw))
        return out

    def _emit(self, head: str, toks: list[str], org: Origin, depth: int) -> None:
        if len(self.cards) >= self.limits.max_cards:
            raise _error(f"the deck expands to more than {self.limits.max_cards} cards "
                         "(an include bomb?)", org, limit=True)
        self.cards.append(CompiledCard(head, tuple(toks), org, depth))

    def _options(self, toks: list[str], org: Origin, raw: str) -> list[str]:
        """The card's tokens without the options neurospice does not pass on (each dropped
        with a notice: ngspice makes every option name one of its variables, and some of
        those variables, ``unixcom`` among them, change what its commands do)."""
        kept = [toks[0]]
        for tok in toks[1:]:
            name = tok.split("=", 1)[0].strip().lower()
            if name in OPTIONS:
                kept.append(tok)
                continue
            if name in FRONTEND_VARIABLES or name.startswith(_FRONTEND_PREFIXES):
                raise _error(f".options {name}: ngspice reads this name as one of its own "
                             "variables (files, programs, its reader or its output), not as a "
                             "simulation option; refused", org, raw,
                             hint="simulation options neurospice passes: "
                                  + ", ".join(sorted(OPTIONS)))
            note = (f"{org}: .options {escape_controls(name)}: not an ngspice option neurospice "
                    "passes on; dropped")
            self.notices.append((note, org))
            log.warning("%s", note)
        return kept

    def _probe(self, toks: list[str], org: Origin, raw: str) -> None:
        for tok in toks[1:]:
            if not _PROBE_RE.match(tok):
                raise _error(f".probe {tok}: a .probe names nodes and devices only "
                             "(alli, v(node), i(device), name)", org, raw)

    def _numbers(self, text: str, toks: list[str], org: Origin, raw: str) -> None:
        for m in _NUMBER_LITERAL_RE.finditer(text):
            literal = m.group(0)
            if len(literal) > 40 and m.group(2) is None:
                raise _error(f"a number of {len(literal)} digits ({literal[:12]}...); numbers "
                             "this long are refused", org, raw)
            try:
                value = float(literal)
            except (ValueError, OverflowError):
                continue
            if not math.isfinite(value):
                shown = literal if len(literal) <= 24 else f"{literal[:12]}...{literal[-8:]}"
                raise _error(f"the number {shown} is infinite (beyond double precision)",
                             org, raw)
        for tok in toks:
            value_text = tok.split("=", 1)[1] if "=" in tok else tok
            low = value_text.strip().lower()
            if low in ("inf", "+inf", "-inf", "nan", "infinity"):
                raise _error(f"'{value_text}' is not a finite number", org, raw)

    def _files(self, toks: list[str], org: Origin, base: Path, raw: str) -> list[str]:
        """Tokens with every file attribute resolved to an absolute path in the deck's tree.

        Any card: ``KEY=VALUE`` where KEY contains ``file``. A ``.model`` card also as ngspice
        reads its parameters: the name, then blanks, ``=`` or ``,``, then the value
        (``file "x"``, ``input_file x``, ``FILE,"x"``). The attribute is emitted as
        ``key="PATH"``, the key in lower case. (ngspice 39 lower-cases the whole card, path
        included: the run links a path with capitals to a lower-case name, see
        :func:`neurospice.sim.ngspice.run_all`.)
        """
        def resolve(m: re.Match[str]) -> str:
            key, value = m.group(1).lower(), m.group(2).strip("\"'")
            if key == "rootfile" and _PLAIN_NAME_RE.match(value):
                # CIDER's output prefix: files it writes in the run's own (job) folder
                return f'{key}="{value}"'
            target = self.resolve(value, org, base, raw, what=f"{key}=")
            text = str(target)
            if check_card_text(text) is not None or '"' in text or "'" in text:
                raise _error(f"{key}= path {escape_controls(text)} has characters a deck cannot "
                             "carry", org, raw)
            return f'{key}="{text}"'

        if toks and toks[0].lower() == ".model" and len(toks) >= 3:
            kind = re.match(r"[^\s(]*", toks[2]).group(0)  # type: ignore[union-attr]
            tail = toks[2][len(kind):]
            rest = " ".join([tail, *toks[3:]]) if tail else " ".join(toks[3:])
            new = _MODEL_FILE_RE.sub(resolve, rest)
            if new == rest:
                return toks
            return [toks[0], toks[1], *split_tokens(kind + new if tail else f"{kind} {new}")]
        return [_FILE_ATTR_RE.sub(resolve, tok) for tok in toks]

    # --------------------------------------------------------------- includes
    def _include(self, toks: list[str], org: Origin, base: Path, stack: tuple[Path, ...],
                 raw: str, section: str | None = None) -> None:
        if len(toks) < 2:
            raise _error(f"{toks[0]} without a file name", org, raw)
        target = self.resolve(toks[1].strip("\"'"), org, base, raw, what=toks[0].lower())
        key = Path(f"{target}#{section.lower()}") if section else target
        if len(stack) >= self.limits.max_include_depth or key in stack:
            raise _error(f"include loop or nesting deeper than "
                         f"{self.limits.max_include_depth}: {target}", org, raw, limit=True)
        self.includes += 1
        if self.includes > self.limits.max_includes:
            raise _error(f"more than {self.limits.max_includes} includes in all (an include "
                         "bomb?)", org, raw, limit=True)
        if target not in self._texts:
            self._texts[target] = self.read_file(target, org)
        text = self._texts[target]
        self.compile_file_text(text, target, target.parent, has_title=False, section=section,
                               stack=(*stack, key), origin=org)

    def resolve(self, name: str, org: Origin, base: Path, raw: str, *, what: str) -> Path:
        """Resolve a file name; only the deck's tree and the shipped library are allowed.

        Relative names are looked up beside the including file, then beside the top deck,
        then in the shipped ``netlists/`` folder.
        """
        found = self._resolved.get((name, base))
        if found is not None:
            return found
        if not name:
            raise _error(f"{what} without a file name", org, raw)
        if name.startswith("~") or "%" in name:
            raise _error(f"{what} '{name}': home-relative and environment-variable paths are "
                         "refused; use a path relative to the deck", org, raw)
        roots = (self.top, self.library)
        p = Path(name)
        candidates = [p] if p.is_absolute() else list(
            dict.fromkeys([base / name, self.top / name, self.library / name]))
        outside = []
        for cand in candidates:
            resolved = cand.resolve()
            if not any(_inside(resolved, root) for root in roots):
                outside.append(resolved)
                continue
            if resolved.is_file():
                self._resolved[(name, base)] = resolved
                return resolved
        if outside and (p.is_absolute() or ".." in p.parts or any(o.exists() for o in outside)):
            raise _error(f"{what} '{name}' resolves outside the deck's directory tree "
                         f"({self.top}) and the neurospice library ({self.library}); refused - "
                         "copy the file next to the deck", org, raw)
        raise _error(f"{what} '{name}': file not found (looked beside the deck and in "
                     f"{self.library})", org, raw)


def compile_text(text: str, *, base_dir: Path, source: Path | None = None,
                 control: ControlMode = "refuse", limits: Limits | None = None) -> CompiledDeck:
    """Compile deck ``text`` (its first line is the title) into checked cards.

    Parameters
    ----------
    text
        The deck.
    base_dir
        The deck's folder: includes resolve from here, and the deck's tree is this folder.
    source
        The deck's file, for messages.
    control
        What to do with ``.control`` blocks and ``*#`` lines: ``"refuse"`` (default),
        ``"ignore"`` (drop them; analysis commands become cards when the deck has none) or
        ``"allow"`` (keep them: trusted decks only).
    limits
        The bounds to apply (:class:`Limits` defaults).

    Raises
    ------
    DeckError
        Anything refused, naming the file, line and column.
    LimitError
        A deck beyond one of ``limits``.
    """
    limits = limits or Limits()
    base = Path(base_dir).resolve()
    origin = Origin(source, 1)
    if len(text.encode("utf-8", "replace")) > limits.max_file_bytes:
        raise _error(f"the deck is over the limit of {limits.max_file_bytes} bytes "
                     f"({option('max_deck_bytes')} raises it)", origin, limit=True)
    if not text.strip():
        raise _error("the deck is empty", origin)
    _check_title(text.split("\n", 1)[0], origin)
    comp = _Compiler(base, control, limits)
    comp.compile_file_text(text, source, base, has_title=True, section=None,
                           stack=(source.resolve(),) if source else (), origin=None)
    if comp.depth:
        last = next(c for c in reversed(comp.cards) if c.head == ".subckt")
        raise _error(".subckt without .ends", last.origin)
    title_line = text.split("\n", 1)[0].strip()
    deck = CompiledDeck(comp.cards, source, base, title_line, comp.lock_pairs, comp.control,
                        comp.dropped, control, comp.pots, comp.notices)
    if control == "ignore":
        _analyses_from_control(deck)
    _check_funcs(deck, limits)
    log.info("compiled %s: %d cards, %d includes, %d control lines dropped, %d kept",
             source or "<text>", len(deck.cards), comp.includes, len(deck.dropped),
             len(deck.control))
    return deck


_TITLE_TRAPS = (".inc", ".lib", ".control", ".endc", "*ng_script")


def _check_title(title: str, origin: Origin) -> None:
    """Refuse a first line that ngspice could read as more than a title.

    The first line of a deck is its title and neurospice replaces it with its own; but
    ngspice follows an include written there and turns a deck titled ``*ng_script`` into a
    script. A title that looks like one of those is a mistake at best.
    """
    low = title.strip().lower()
    for trap in _TITLE_TRAPS:
        if low.startswith(trap):
            raise _error(
                f"the first line of a deck is its title, and this one reads as '{trap}'; "
                "refused", origin, title[:120],
                hint="start the deck with a title line (any text), then the cards")


def _analyses_from_control(deck: CompiledDeck) -> None:
    """With ``--ignore-control``: the dropped block's analysis commands become cards.

    ``$name`` and ``$&name`` in a command take the value of an earlier ``set name = NUMBER``
    or ``let name = NUMBER`` of the block (numbers and arithmetic on such values only); a
    command still holding a ``$`` is left out.
    """
    if any(c.head in ANALYSES and c.depth == 0 for c in deck.cards):
        return
    values: dict[str, str] = {}
    for text, org in deck.dropped:
        toks = text.split(None, 1)
        word = toks[0].lower() if toks else ""
        if word in ("let", "set") and len(toks) == 2 and "=" in toks[1]:
            name, _, expr = toks[1].partition("=")
            value = _control_value(_substitute(expr, values))
            if re.fullmatch(r"[A-Za-z_]\w*", name.strip()) and value is not None:
                values[name.strip().lower()] = value
            continue
        text = _substitute(text, values)
        toks = split_tokens(text)
        if toks and toks[0].lower() in _CONTROL_ANALYSES and check_card_text(text) is None:
            head = "." + toks[0].lower()
            deck.cards.append(CompiledCard(head, (head, *toks[1:]), org, 0))


_CONTROL_VAR_RE = re.compile(r"\$&?([A-Za-z_]\w*)|\{\$&?([A-Za-z_]\w*)\}")


def _substitute(text: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = (m.group(1) or m.group(2)).lower()
        return values.get(name, m.group(0))
    return _CONTROL_VAR_RE.sub(one, text) if "$" in text else text


def _control_value(expr: str) -> str | None:
    """A control-block value as a number's text: a SPICE number, or + - * / of numbers."""
    from neurospice.spice.numbers import parse_si

    expr = expr.strip()
    try:
        value = parse_si(expr)
    except ValueError:
        if not re.fullmatch(r"[\d.eE+\-*/() ]{1,200}", expr):
            return None
        import ast

        try:
            tree = ast.parse(expr, mode="eval")
        except SyntaxError:
            return None
        if not all(isinstance(n, ast.Expression | ast.BinOp | ast.UnaryOp | ast.Constant
                              | ast.operator | ast.unaryop) for n in ast.walk(tree)):
            return None
        if any(isinstance(n, ast.Pow) for n in ast.walk(tree)):
            return None
        try:
            value = float(eval(compile(tree, "<control>", "eval"), {"__builtins__": {}}))
        except (ArithmeticError, ValueError, TypeError):
            return None
    return f"{value:.12g}" if math.isfinite(value) else None


_FUNC_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*\(([^)]*)\)\s*=?\s*(.*)$", re.DOTALL)
_CALL_RE = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")


def _check_funcs(deck: CompiledDeck, limits: Limits) -> None:
    """Refuse ``.func`` definitions that expand beyond the limit or call themselves."""
    bodies: dict[str, tuple[str, Origin]] = {}
    for card in deck.cards:
        if card.head != ".func":
            continue
        m = _FUNC_RE.match(" ".join(card.tokens[1:]))
        if not m:
            raise _error(".func needs NAME(ARGS) = {EXPRESSION}", card.origin, card.text)
        bodies[m.group(1).lower()] = (m.group(3), card.origin)
    if not bodies:
        return
    # one pass over each body (not a search per pair of names): linear in the deck's size
    calls: dict[str, dict[str, int]] = {}
    for name, (body, _) in bodies.items():
        counts: dict[str, int] = {}
        for m in _CALL_RE.finditer(body):
            g = m.group(1).lower()
            if g in bodies:
                counts[g] = counts.get(g, 0) + 1
        calls[name] = counts
    size: dict[str, float] = {}
    for root in bodies:
        # depth-first without recursion (a chain of thousands of .func lines is fine)
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            name, done = stack.pop()
            if done:
                total: float = len(bodies[name][0])
                for g, n in calls[name].items():
                    total += n * size[g]
                size[name] = min(total, math.inf)
                on_path.discard(name)
                path.pop()
                continue
            if name in size:
                continue
            if name in on_path:
                cycle = path[path.index(name):]
                raise _error(f".func {name} calls itself (through {' -> '.join(cycle)})",
                             bodies[name][1])
            on_path.add(name)
            path.append(name)
            stack.append((name, True))
            stack.extend((g, False) for g in calls[name] if g not in size)
        if size[root] > limits.max_func_expansion:
            raise _error(f".func {root} expands to about {size[root]:.3g} characters, over the "
                         f"limit of {limits.max_func_expansion}", bodies[root][1], limit=True)


def _column(raw: str, text: str, index: int) -> int:
    """1-based column in ``raw`` of the character at ``index`` of the joined card ``text``."""
    if 0 <= index < len(text):
        ch = text[index]
        prefix = text[:index]
        pos = raw.find(prefix[-8:] + ch) if len(prefix) >= 1 else raw.find(ch)
        if pos >= 0:
            return pos + min(len(prefix), 8) + 1
        pos = raw.find(ch)
        if pos >= 0:
            return pos + 1
    return 1


def _near(head: str) -> str | None:
    for card in sorted(DOT_CARDS, key=len, reverse=True):
        if head.startswith(card) or card.startswith(head):
            return card
    return None


def _looks_like_path(text: str) -> bool:
    return "/" in text or "." in text


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True
