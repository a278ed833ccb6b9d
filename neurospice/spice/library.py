"""Read the SPICE circuit library (``netlists/lib/*.lib``) into typed records.

The library text is the single source of truth: a model's pins, parameters and
defaults come from its ``.subckt NAME pin... params: k=v ...`` line; nothing is
restated in Python.  This module only reads; :mod:`.registry` looks models up.

Numbers follow ngspice: ``m`` is milli, ``meg`` is mega, letters after the
scale suffix are units and ignored (``5ms`` = 5e-3, ``10kohm`` = 1e4).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from neurospice.spice.lexer import lex, split_tokens
from neurospice.spice.numbers import is_number, parse_si

__all__ = [
    "SubcktModel",
    "LibraryFile",
    "ModelKind",
    "parse_si",
    "is_number",
    "default_library_dir",
    "library_files",
    "parse_library",
    "parse_library_text",
    "subckt_defaults",
]

ModelKind = Literal["neuron", "memristor", "part"]

@dataclass(frozen=True)
class SubcktModel:
    """One ``.subckt`` definition read from a library file.

    Attributes
    ----------
    name
        Subcircuit name, lower case (SPICE names are case-insensitive).
    pins
        Pin names in order, lower case.
    params
        Parameter defaults from the ``params:`` part: a float for numbers
        (SI suffix applied, unit in the model's documentation), the verbatim
        text for expressions such as ``{2*c0}``.
    library
        The library file (absolute path).
    line
        1-based line of the ``.subckt`` card in ``library``.
    kind
        ``'neuron'`` (pins ``mem out``), ``'memristor'`` (defined in
        ``memristors.lib``) or ``'part'``.
    description
        From a ``* model: <name> - <description>`` comment, else the comment
        line right above the card, else empty.
    param_text
        The default of each parameter exactly as written in the library.
    internal_nodes
        Names that appear on element lines of the body (lower case); used to
        accept probes of internal nodes such as ``m1.w``.
    references
        Lower-case words of the body's element lines, used to find the other
        subcircuits and ``.model`` cards this one needs.
    """

    name: str
    pins: tuple[str, ...]
    params: dict[str, str | float]
    library: Path
    line: int
    kind: ModelKind
    description: str = ""
    param_text: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    internal_nodes: frozenset[str] = field(default_factory=frozenset, repr=False, compare=False)
    references: frozenset[str] = field(default_factory=frozenset, repr=False, compare=False)


@dataclass(frozen=True)
class LibraryFile:
    """Everything read from one library file."""

    path: Path
    subckts: tuple[SubcktModel, ...]
    models: frozenset[str]  #: names of ``.model`` cards (lower case)
    includes: tuple[Path, ...]  #: files named by its own ``.include``/``.lib`` cards (resolved)


def default_library_dir() -> Path:
    """The circuit library folder: ``$NEUROSPICE_LIB`` if set, else ``<repo>/netlists/lib``."""
    env = os.environ.get("NEUROSPICE_LIB")
    if env:
        return Path(env).expanduser().resolve()
    from neurospice.spice.resources import NETLISTS_DIR

    return NETLISTS_DIR / "lib"


def library_files(folder: Path | None = None) -> list[Path]:
    """The library files of ``folder`` (``*.lib`` and ``*.cir``), sorted by name."""
    folder = default_library_dir() if folder is None else folder
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".lib", ".cir")]
    return sorted(p.resolve() for p in found)


# --- reading ---------------------------------------------------------------------------------

_DESC_RE = re.compile(r"^\*+\s*model\s*:\s*([A-Za-z0-9_.$-]+)\s*(?:[-:]\s*(.*))?$", re.IGNORECASE)
_ASSIGN_RE = re.compile(r"\s*=\s*")
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _logical_lines(text: str) -> list[tuple[int, str, list[str]]]:
    """Cards of library text: (first line number, text, comments right above)."""
    try:
        _, cards = lex(text, has_title=False)
    except ValueError:
        return []
    return [(c.line, c.text, list(c.comments)) for c in cards if not c.control_line]


_tokens = split_tokens


def _parse_value(text: str) -> str | float:
    if is_number(text):
        return parse_si(text)
    return text


def _kind(path: Path, pins: tuple[str, ...]) -> ModelKind:
    if pins == ("mem", "out"):
        return "neuron"
    if path.stem.lower() == "memristors" and len(pins) == 2:
        return "memristor"
    return "part"


def _description(name: str, above: list[str], described: dict[str, str]) -> str:
    if name in described:
        return described[name]
    for comment in reversed(above):
        words = comment.lstrip("*").strip()
        if words:
            return words
    return ""


def _include_target(card: str, base: Path) -> Path | None:
    parts = card.split(None, 1)
    if len(parts) < 2:
        return None
    target = parts[1].strip()
    if parts[0].lower() == ".lib":
        target = target.split()[0] if target.split() else ""
    target = target.strip("\"'")
    if not target:
        return None
    path = Path(target).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def parse_library_text(text: str, path: Path) -> LibraryFile:
    """Read the ``.subckt`` definitions, ``.model`` names and includes of library text.

    Parameters
    ----------
    text
        Library contents.
    path
        Where ``text`` came from (used for the records and to resolve includes).
    """
    path = path.resolve()
    described: dict[str, str] = {}
    for raw in text.splitlines():
        m = _DESC_RE.match(raw.strip())
        if m:
            described.setdefault(m.group(1).lower(), (m.group(2) or "").strip())

    subckts: list[SubcktModel] = []
    models: set[str] = set()
    includes: list[Path] = []
    depth = 0
    current: dict[str, object] | None = None
    body_words: set[str] = set()

    for number, card, above in _logical_lines(text):
        tokens = _tokens(card)
        if not tokens:
            continue
        head = tokens[0].lower()
        if head == ".subckt" and len(tokens) >= 2:
            depth += 1
            if depth > 1:
                continue  # a nested (local) subcircuit belongs to its parent
            name = tokens[1].lower()
            pins: list[str] = []
            params: dict[str, str | float] = {}
            param_text: dict[str, str] = {}
            for tok in tokens[2:]:
                if tok.lower() in ("params:", "param:"):
                    continue
                if "=" in tok:
                    key, _, value = tok.partition("=")
                    params[key.lower()] = _parse_value(value)
                    param_text[key.lower()] = value
                elif not params:
                    pins.append(tok.lower())
            current = {
                "name": name,
                "pins": tuple(pins),
                "params": params,
                "param_text": param_text,
                "line": number,
                "description": _description(name, above, described),
            }
            body_words = set()
            continue
        if head == ".ends":
            depth = max(depth - 1, 0)
            if depth == 0 and current is not None:
                pins_t = current["pins"]
                assert isinstance(pins_t, tuple)
                subckts.append(
                    SubcktModel(
                        name=str(current["name"]),
                        pins=pins_t,
                        params=current["params"],  # type: ignore[arg-type]
                        library=path,
                        line=int(current["line"]),  # type: ignore[call-overload]
                        kind=_kind(path, pins_t),
                        description=str(current["description"]),
                        param_text=current["param_text"],  # type: ignore[arg-type]
                        internal_nodes=frozenset(body_words),
                        references=frozenset(body_words),
                    )
                )
                current = None
            continue
        if head == ".model" and len(tokens) >= 2:
            models.add(tokens[1].lower())
            continue
        if head in (".include", ".inc", ".incl") or (head == ".lib" and len(tokens) >= 3):
            target = _include_target(card, path.parent)
            if target is not None:
                includes.append(target)
            continue
        if depth >= 1 and not head.startswith("."):
            for tok in tokens[1:]:
                if "=" in tok:
                    continue
                word = tok.lower()
                if _WORD_RE.fullmatch(word):
                    body_words.add(word)
    return LibraryFile(path=path, subckts=tuple(subckts), models=frozenset(models),
                       includes=tuple(includes))


def parse_library(path: Path | str) -> LibraryFile:
    """Read one library file (see :func:`parse_library_text`)."""
    p = Path(path)
    return parse_library_text(p.read_text(encoding="utf-8", errors="replace"), p)


def parse_libraries(paths: Iterable[Path | str]) -> list[LibraryFile]:
    """Read several library files, in order."""
    return [parse_library(p) for p in paths]


def subckt_defaults(path: Path | str, name: str) -> dict[str, float]:
    """Numeric defaults of ``.subckt name ... params:`` in the netlist file ``path``.

    Expression defaults (``{2*c0}``) are left out. The one reader of ``params:`` lines, for the
    Python references that take their constants from the library.

    Raises
    ------
    KeyError
        If ``path`` defines no subcircuit ``name``.
    """
    for sub in parse_library(path).subckts:
        if sub.name == name.lower():
            return {k: float(v) for k, v in sub.params.items() if isinstance(v, float)}
    raise KeyError(f"no .subckt {name} in {path}")
