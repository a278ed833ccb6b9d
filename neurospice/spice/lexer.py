"""The one SPICE lexer: physical lines -> logical cards -> tokens.

Every reader of SPICE text in neurospice (the deck compiler, the library reader, the reports)
goes through this module, so they agree on what a comment, a continuation and a token are.

The rules follow ngspice's reader:

- the text is split on ``\\n`` only (``\\r\\n`` and a lone ``\\r`` end a line too); other
  characters that some readers take as line breaks (vertical tab, form feed, U+2028 ...) are
  not line breaks here, and a card containing one is refused by :func:`check_card_text`;
- a line whose first non-blank character is ``*`` is a comment (``*#`` lines are ngspice
  control lines: :attr:`Card.control_line` marks them);
- end-of-line comments start at ``;``, at ``$`` preceded by white space (or at the start), and
  at ``//`` preceded by white space (or at the start); inside a ``.control`` block ``$`` starts
  a comment only when a blank follows it (``$&var`` is a variable there);
- a line starting with ``+`` continues the previous card, across blank and comment lines; a
  line that holds nothing but ``)`` closes the previous card when that card has an open
  bracket (how some libraries end a ``.model``; ngspice warns and reads it);
- the DOS end-of-file byte 0x1A ends the text, and the micro sign U+00B5 reads as ``u``
  (ngspice's reader does both);
- tokens are separated by white space outside ``{...}``, ``(...)`` and quotes, and
  ``k = v`` is one token ``k=v``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from neurospice.errors import DeckError

__all__ = [
    "Card",
    "LexError",
    "lex",
    "split_tokens",
    "strip_comment",
    "check_card_text",
    "physical_lines",
]


class LexError(DeckError, ValueError):
    """A character or structure the lexer refuses; ``column`` is 1-based (0 if unknown)."""

    def __init__(self, message: str, line: int, column: int = 0) -> None:
        super().__init__(message, None, line, column)


@dataclass(frozen=True)
class Card:
    """One logical card: continuation lines joined, comments removed.

    Attributes
    ----------
    text
        The card's text (continuations joined by a space, end-of-line comments removed).
    line
        1-based number of the card's first physical line.
    lines
        Physical line numbers that make up the card.
    raw
        The first physical line as written (for messages).
    comments
        The ``*`` comment lines directly above the card (their text without the ``*``).
    control_line
        True for an ngspice ``*#`` control line (``text`` is what follows ``*#``).
    parts
        The text of each physical line of the card (comments removed, a continuation
        without its ``+``): what a CIDER model, which ngspice reads line by line, is made of.
    """

    text: str
    line: int
    lines: tuple[int, ...]
    raw: str
    comments: tuple[str, ...] = field(default=(), compare=False)
    control_line: bool = False
    parts: tuple[str, ...] = field(default=(), compare=False)

    @property
    def tokens(self) -> list[str]:
        """The card split by :func:`split_tokens`."""
        return split_tokens(self.text)

    @property
    def head(self) -> str:
        """The first token, lower case (``".tran"``, ``"r1"``)."""
        toks = self.text.split(None, 1)
        return toks[0].lower() if toks else ""


def physical_lines(text: str) -> list[str]:
    """Split ``text`` into lines on ``\\n``, ``\\r\\n`` and ``\\r`` only."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


_DOLLAR_RE = re.compile(r"(^|[ \t])\$")
_CONTROL_DOLLAR_RE = re.compile(r"(^|[ \t])\$(?=[ \t]|$)")
_SLASH_RE = re.compile(r"(^|[ \t])//")


def strip_comment(line: str, *, control: bool = False, ps: bool = False) -> str:
    """``line`` without its end-of-line comment (``;``, `` $``, `` //``); ``""`` for a ``*`` line.

    As in ngspice, quotes do not protect a comment marker. With ``control`` (a line of a
    ``.control`` block) ``$`` starts a comment only when a blank or the line's end follows it;
    with ``ps`` (ngspice's PSPICE compatibility mode) ``$`` starts no comment outside a block.
    """
    if line.lstrip().startswith("*"):
        return ""
    cut = len(line)
    dollar = _CONTROL_DOLLAR_RE if control else None if ps else _DOLLAR_RE
    for pattern in (dollar, _SLASH_RE):
        if pattern is None:
            continue
        m = pattern.search(line)
        if m:
            cut = min(cut, m.end(1))
    semi = line.find(";")
    if semi >= 0:
        cut = min(cut, semi)
    return line[:cut].rstrip()


def lex(text: str, *, has_title: bool, ps: bool = False) -> tuple[str | None, list[Card]]:
    """Cards of ``text``; the first line is the title when ``has_title``.

    Returns
    -------
    (title, cards)
        ``title`` is the first physical line (None when ``has_title`` is false). ``ps``: the
        deck runs in ngspice's PSPICE mode, where ``$`` outside a control block is no comment.

    Raises
    ------
    LexError
        A ``+`` continuation with no card before it.
    """
    eof = text.find("\x1a")
    if eof >= 0:  # DOS end-of-file byte: what follows is not part of the file
        text = text[:eof]
    text = text.replace("\u00b5", "u")  # the micro sign, as ngspice's reader translates it
    lines = physical_lines(text)
    title: str | None = None
    start = 0
    if has_title:
        title = lines[0] if lines else ""
        start = 1
    cards: list[Card] = []
    comments: list[str] = []
    in_control = False
    for idx in range(start, len(lines)):
        number = idx + 1
        raw = lines[idx]
        stripped = raw.strip()
        if not stripped:
            comments = []
            continue
        if stripped.startswith("*#"):
            cards.append(Card(stripped[2:].strip(), number, (number,), raw, (), True))
            comments = []
            continue
        if stripped.startswith("*"):
            comments.append(stripped.lstrip("*").strip())
            continue
        body = strip_comment(raw, control=in_control, ps=ps).strip()
        word = body.split(None, 1)[0].lower() if body else ""
        if word == ".control":
            in_control = True
        elif word in (".endc", ".endcontrol"):
            in_control = False
        if body == ")" and cards and not cards[-1].control_line and _open_brackets(cards[-1].text):
            c = cards[-1]
            cards[-1] = Card(f"{c.text} )", c.line, (*c.lines, number), c.raw, c.comments, False,
                             (*c.parts[:-1], f"{c.parts[-1]} )") if c.parts else ())
            continue
        if stripped.startswith("+"):
            prev = next((j for j in range(len(cards) - 1, -1, -1)
                         if not cards[j].control_line), None)
            if prev is None:
                raise LexError("a '+' continuation line with no card before it to continue",
                               number, raw.index("+") + 1)
            c = cards[prev]
            cards[prev] = Card(f"{c.text} {body[1:].strip()}".rstrip(), c.line,
                               (*c.lines, number), c.raw, c.comments, False,
                               (*c.parts, body[1:].strip()))
            continue
        if not body:
            continue
        cards.append(Card(body, number, (number,), raw, tuple(comments), parts=(body,)))
        comments = []
    return title, cards


def _open_brackets(text: str) -> bool:
    """True when ``text`` has more ``(`` than ``)`` outside quotes."""
    depth = 0
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
    return depth > 0


#: Characters that make a card need the full tokenizer (groups, quotes, ``k = v``).
_GROUPING = "'\"{(="


def split_tokens(text: str) -> list[str]:
    """Split a card on white space outside ``{...}``, ``(...)`` and quotes.

    ``x1 a b fhn tau0={tau0*(1 + d)}`` gives ``['x1', 'a', 'b', 'fhn', 'tau0={tau0*(1 + d)}']``;
    ``k = v`` around an equals sign is kept as one token ``k=v``.
    """
    if not any(c in text for c in _GROUPING):  # most cards: plain white-space separated
        return text.split()
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
        cur.append(" " if ch.isspace() else ch)
    if cur:
        out.append("".join(cur))
    joined: list[str] = []
    for tok in out:
        if joined and (tok.startswith("=") or joined[-1].endswith("=")):
            joined[-1] += tok
        else:
            joined.append(tok)
    return joined


_MAX_NESTING = 64


def check_card_text(text: str, *, dollar_names: bool = False) -> tuple[int, str] | None:
    """The first character a card may not contain, as ``(0-based index, reason)``, or None.

    A card may hold printable ASCII and tabs only; the backquote (command substitution in
    ngspice control code), the backslash, and ``$`` or ``//`` left after comment stripping are
    refused, and so are brackets nested deeper than 64 or left unbalanced. With
    ``dollar_names`` a ``$`` that starts a name (``$G_DPWR``, PSPICE's global digital nodes)
    after a blank, ``=``, ``,`` or ``(``, or stands in or after one (``TRN_Z$``, ``TRN_$Z``),
    is allowed; any other
    ``$`` (``$&x``, ``${x}``, ``$(x)``) is not.
    """
    depth = 0
    quote = ""
    for i, ch in enumerate(text):
        code = ord(ch)
        if ch == "\t":
            continue
        if code < 32 or code == 127:
            name = unicodedata.name(ch, f"control character U+{code:04X}")
            return i, f"control character U+{code:04X} ({name.lower()}) in a card"
        if code > 126:
            name = unicodedata.name(ch, "unnamed")
            return i, f"non-ASCII character U+{code:04X} ({name.lower()}); SPICE cards are ASCII"
        if ch == "`":
            return i, "backquote (ngspice command substitution)"
        if ch == "\\":
            return i, "backslash"
        if ch == "$":
            starts = (i + 1 < len(text) and (text[i + 1].isalpha() or text[i + 1] == "_")
                      and (i == 0 or text[i - 1] in " \t=(,"))
            ends = i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_") and (
                i + 1 == len(text) or text[i + 1] in " \t,)" or text[i + 1].isalnum()
                or text[i + 1] == "_")
            if not (dollar_names and (starts or ends)):
                return i, "'$' inside a card"
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "{([":
            depth += 1
            if depth > _MAX_NESTING:
                return i, f"brackets nested deeper than {_MAX_NESTING}"
        elif ch in "})]":
            depth -= 1
            if depth < 0:
                return i, f"unbalanced '{ch}'"
    if quote:
        return len(text) - 1, f"unclosed quote {quote}"
    if depth > 0:
        return len(text) - 1, "unclosed bracket"
    if "//" in text:
        return text.index("//"), "'//' inside a card"
    return None
