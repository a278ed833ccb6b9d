"""A compiled deck and the questions neurospice asks of it.

:func:`prepare_deck` and :func:`prepare_text` run the allow-list compiler
(:mod:`neurospice.spice.compiler`) and return a :class:`PreparedDeck`: the checked cards, where
each came from, and queries over them - the ``.param`` values, the analyses, the subcircuits and
the neuron and memristor instances (subcircuits whose pins are ``mem out`` and ``p n``). Each
query is computed once per deck. Changing a parameter, the seed or the stop time gives a new
deck whose values went through the same checks (:meth:`PreparedDeck.with_params`).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from neurospice.errors import DeckError, LimitError, option
from neurospice.spice.compiler import (
    ANALYSES,
    TITLE,
    CompiledCard,
    CompiledDeck,
    ControlMode,
    Limits,
    Origin,
    check_compat,
    compile_text,
    escape_controls,
)
from neurospice.spice.lexer import check_card_text, split_tokens
from neurospice.spice.numbers import parse_si as spice_number

__all__ = [
    "DeckError",
    "Origin",
    "PreparedDeck",
    "Instance",
    "Limits",
    "prepare_deck",
    "prepare_text",
    "spice_number",
    "split_tokens",
    "evaluate_expression",
]


@dataclass(frozen=True)
class Instance:
    """A subcircuit instance (an ``X`` card) of a neuron or memristor subcircuit."""

    name: str  #: instance name as ngspice reports it (lower case, e.g. ``xmaster``)
    subckt: str  #: subcircuit name (lower case)
    nodes: tuple[str, ...]  #: top-level nodes on its pins, lower case
    internal: tuple[str, ...]  #: internal node names of the subcircuit (for probes)


@dataclass
class PreparedDeck:
    """A compiled deck, ready for ngspice.

    ``lines[0]`` is neurospice's title; ``lines[i]`` is one card and ``origin[i]`` where it was
    written. :attr:`text` is what ngspice reads.
    """

    cards: list[CompiledCard]
    source: Path | None
    base_dir: Path
    user_title: str = ""
    locks: list[tuple[str, str, Origin]] = field(default_factory=list)
    control: list[tuple[str, Origin]] = field(default_factory=list)
    dropped: list[tuple[str, Origin]] = field(default_factory=list)
    control_mode: ControlMode = "refuse"
    limits: Limits = field(default_factory=Limits)
    overrides: dict[str, str] = field(default_factory=dict)
    #: potentiometers: (subcircuit or "" for the top level, half a, half b), lower case
    pots: list[tuple[str, str, str]] = field(default_factory=list)
    #: what the compiler left out and says so (unknown ``.options`` names): (message, where)
    notices: list[tuple[str, Origin]] = field(default_factory=list)
    #: ngspice's compatibility mode for the run (``ngbehavior``), or None for its default
    compat: str | None = None

    @classmethod
    def from_compiled(cls, compiled: CompiledDeck, limits: Limits) -> PreparedDeck:
        return cls(compiled.cards, compiled.source, compiled.base_dir, compiled.title,
                   compiled.lock_pairs, compiled.control, compiled.dropped,
                   compiled.control_mode, limits, pots=compiled.pots,
                   notices=compiled.notices, compat=limits.compat)

    def __repr__(self) -> str:
        name = self.source.name if self.source is not None else repr(self.user_title)
        kinds = ", ".join(dict.fromkeys(k for k, _, _ in self._analyses)) or "no analysis"
        elements = sum(1 for c in self.cards if c.is_element)
        try:
            neurons = ", ".join(i.name for i in self.neurons()) or "none"
        except Exception:  # a repr never raises: the deck's own errors show elsewhere
            neurons = "?"
        extra = f"; overrides {self.overrides}" if self.overrides else ""
        return (f"<PreparedDeck {name}: {len(self.cards)} cards ({elements} elements), "
                f"{kinds}; neurons: {neurons}{extra}>")

    # ------------------------------------------------------------------ text
    @cached_property
    def _lines(self) -> tuple[list[str], list[Origin]]:
        """The canonical lines and their origins: the title, the lock directives, the cards
        (a potentiometer directive, the one comment kept, right above its first half)."""
        lines = [TITLE] + [f"* neurospice lock {a} {b}" for a, b, _ in self.locks]
        origin = [Origin(self.source, 1)] + [o for _, _, o in self.locks]
        firsts = {(scope, a): b for scope, a, b in self.pots}
        scopes: list[str] = []
        for c in self.cards:
            if c.head == ".subckt":
                scopes.append(c.tokens[1].lower())
            elif c.head == ".ends" and scopes:
                scopes.pop()
            elif c.is_element:
                other = firsts.get((scopes[-1] if scopes else "", c.head))
                if other is not None:
                    lines.append(f"* neurospice potentiometer {c.head} {other}")
                    origin.append(c.origin)
            lines.append(c.text)
            origin.append(c.origin)
        return lines, origin

    @property
    def lines(self) -> list[str]:
        """The canonical deck's lines without ``.end`` (title first)."""
        return self._lines[0]

    @property
    def origin(self) -> list[Origin]:
        """Where each of :attr:`lines` was written."""
        return self._lines[1]

    @property
    def text(self) -> str:
        """The deck as ngspice reads it, ending with ``.end``."""
        body = list(self.lines)
        if self.control:
            body += [".control", *(t for t, _ in self.control), ".endc"]
        return "\n".join(body) + "\n.end\n"

    @property
    def title(self) -> str:
        """The user's title line."""
        return self.user_title

    def origin_of(self, line_number: int) -> Origin | None:
        """Origin of 1-based ``line_number`` of :attr:`text` (as ngspice numbers it)."""
        i = line_number - 1
        if 0 <= i < len(self.origin):
            return self.origin[i]
        return None

    def find_text(self, fragment: str) -> Origin | None:
        """Origin of the first card whose text contains ``fragment`` (case-insensitive)."""
        frag = " ".join(fragment.split()).lower()
        if not frag:
            return None
        for card in self.cards:
            if frag in card.text.lower():
                return card.origin
        return None

    # ----------------------------------------------------------------- cards
    @cached_property
    def top_cards(self) -> list[CompiledCard]:
        """Cards outside every subcircuit."""
        out = []
        for c in self.cards:
            if c.depth == 0 and c.head not in (".subckt", ".ends"):
                out.append(c)
        return out

    def lock_pairs(self) -> list[tuple[str, str, Origin]]:
        """``* neurospice lock MASTER SLAVE`` directives: (master, slave, where)."""
        return list(self.locks)

    # ---------------------------------------------------------------- params
    @cached_property
    def _params(self) -> dict[str, tuple[str, int, int]]:
        """Top-level ``.param`` name -> (value text, card index, token index)."""
        out: dict[str, tuple[str, int, int]] = {}
        for ci, card in enumerate(self.cards):
            if card.head != ".param" or card.depth:
                continue
            for ti, tok in enumerate(card.tokens[1:], start=1):
                name, sep, value = tok.partition("=")
                if sep and name.strip():
                    out[name.strip().lower()] = (value.strip(), ci, ti)
        return out

    def params(self) -> dict[str, str]:
        """Top-level ``.param`` names (lower case) and their value text."""
        return {k: v[0] for k, v in self._params.items()}

    @cached_property
    def _funcs(self) -> dict[str, tuple[list[str], str]]:
        """Top-level ``.func`` name -> (argument names, body text), lower case names."""
        out: dict[str, tuple[list[str], str]] = {}
        for card in self.cards:
            if card.head != ".func" or card.depth:
                continue
            m = _FUNC_DEF_RE.match(" ".join(card.tokens[1:]))
            if m:
                args = [a.strip().lower() for a in m.group(2).split(",") if a.strip()]
                out[m.group(1).lower()] = (args, m.group(3).strip())
        return out

    def option(self, name: str) -> str | None:
        """The value text of a top-level ``.options`` NAME (``""`` for a flag), or None."""
        found: str | None = None
        for card in self.top_cards:
            if card.head in (".options", ".option", ".opt"):
                for tok in card.tokens[1:]:
                    key, _, value = tok.partition("=")
                    if key.strip().lower() == name.lower():
                        found = value.strip()
        return found

    def with_params(self, overrides: dict[str, str | float]) -> PreparedDeck:
        """A copy in which each ``.param NAME`` named in ``overrides`` takes the new value.

        A value is a number or one ``{expression}``; it goes through the same checks as the
        deck's own cards, so it cannot carry a line break or a second card.

        Raises
        ------
        DeckError
            If a name is not a top-level ``.param`` of the deck, or a value is refused.
        """
        known = self._params
        cards = list(self.cards)
        done: dict[str, str] = {}
        for raw_name, raw_value in overrides.items():
            name = str(raw_name).strip().lower()
            value = _checked_value(raw_name, raw_value, self.source)
            if name not in known:
                avail = ", ".join(sorted(known)) or "none"
                raise DeckError(
                    f"{option('param', raw_name)}: the deck has no top-level .param {raw_name} "
                    f"(its .params: {avail})",
                    path=self.source,
                )
            _, ci, ti = known[name]
            card = cards[ci]
            toks = list(card.tokens)
            key = toks[ti].partition("=")[0]
            toks[ti] = f"{key}={value}"
            cards[ci] = replace(card, tokens=tuple(toks))
            done[name] = value
        new = replace(self, cards=cards, overrides={**self.overrides, **done})
        new.check_values()
        return new

    def with_values(self, overrides: dict[str, str | float], *,
                    allow_negative: bool = False) -> PreparedDeck:
        """Like :meth:`with_params`, and a name that is no ``.param`` may name a component: a
        top-level one (``rload=4.7k`` sets the resistor ``Rload``; a network file's ``resistor
        rload``, emitted as ``Rrload``, by its own name) or, by its instance path, an R, C or L
        inside a subcircuit instance (``xslave.rtop=11k``, as ``--tol``, ``bom`` and the yield
        report name parts; ``slave.rtop`` for a network file's neuron ``slave``).

        Raises
        ------
        DeckError
            A name that is neither a top-level ``.param`` nor a component; a value that makes
            a resistor negative (unless ``allow_negative``).
        """
        params: dict[str, str | float] = {}
        paths: dict[str, tuple[str, str | float]] = {}
        cards = list(self.cards)
        changed = False
        for raw_name, value in overrides.items():
            name = str(raw_name).strip().lower()
            if name in self._params:
                params[raw_name] = value
                continue
            idx = next((i for i, c in enumerate(cards) if c.depth == 0 and c.is_element
                        and c.letter in "rclvi" and name in (c.head, c.head[1:])), None)
            if idx is None and "." in name:
                paths[name] = (str(raw_name), value)
                continue
            if idx is None:
                elements = sorted(c.head for c in self.top_cards
                                  if c.is_element and c.letter in "rclvi")
                raise DeckError(
                    f"{option('param', raw_name)}: the deck has no top-level .param or "
                    "component of that name "
                    f"(.params: {', '.join(sorted(self._params)) or 'none'}; components: "
                    f"{', '.join(elements[:20]) or 'none'}; a part inside a subcircuit by its "
                    "path, e.g. xslave.rtop)", path=self.source)
            card = cards[idx]
            toks = list(card.tokens)
            toks[3] = _checked_value(raw_name, value, self.source)
            cards[idx] = replace(card, tokens=tuple(toks))
            changed = True
        new = replace(self, cards=cards) if changed else self
        new = new.with_params(params) if params else new
        if paths:
            new = new._with_paths(paths)
        if not allow_negative:
            new._refuse_negative_resistors(self, overrides)
        return new

    def _with_paths(self, paths: dict[str, tuple[str, str | float]]) -> PreparedDeck:
        """Set R, C and L inside subcircuit instances to absolute values (by instance path)."""
        from neurospice.spice.tolerances import component_slots, with_factors

        slots = {e.path: e for e in component_slots(self)}
        factors: dict[str, float] = {}
        for name, (raw_name, value) in paths.items():
            elem = slots.get(name) or slots.get("x" + name)
            if elem is None:
                near = sorted(p for p in slots if p.rsplit(".", 1)[-1] == name.rsplit(".", 1)[-1])
                raise DeckError(
                    f"{raw_name}: no resistor, capacitor or inductor at that path on this board"
                    f" (paths ending so: {', '.join(near[:8]) or 'none'})", path=self.source)
            text = _checked_value(raw_name, value, self.source)
            try:
                target = self.evaluate(text)
            except ValueError as exc:
                raise DeckError(f"{raw_name}={value}: {exc}", path=self.source) from None
            if elem.value is None or elem.value == 0:
                raise DeckError(f"{raw_name}: its value {elem.value_text} cannot be evaluated "
                                "here, so it cannot be set by path", path=self.source)
            if not (target > 0 and math.isfinite(target)):
                raise DeckError(f"{raw_name}={value}: a part inside a subcircuit takes a "
                                "positive value", path=self.source)
            factors[elem.path] = target / elem.value
        new = with_factors(self, factors)
        return replace(new, overrides={**new.overrides,
                                       **{k: str(v) for k, (_, v) in paths.items()}})

    def _refuse_negative_resistors(self, before: PreparedDeck,
                                   overrides: dict[str, str | float]) -> None:
        """Refuse a resistor the overrides made negative (``--param r2=-5k``)."""
        from neurospice.spice.tolerances import component_slots

        old = {e.path: e.value for e in component_slots(before)}
        for e in component_slots(self):
            was = old.get(e.path)
            if e.letter == "r" and e.value is not None and e.value < 0 \
                    and not (was is not None and was < 0):
                given = ", ".join(f"{k}={v}" for k, v in overrides.items())
                raise DeckError(
                    f"{given} makes the resistor {e.path} {e.value:.4g} Ohm: a negative "
                    f"resistor is an active part ({option('allow_negative')} if that is meant)",
                    path=self.source)

    def with_seed(self, seed: int) -> PreparedDeck:
        """A copy whose random draws use ``seed``.

        Sets ``.param seed`` when the deck has one, else the ``seed`` of an ``.options`` card
        (ngspice's random-number seed), else adds ``.options seed=SEED``.
        """
        seed = int(seed)
        if "seed" in self._params:
            return self.with_params({"seed": seed})
        cards = list(self.cards)
        for i, card in enumerate(cards):
            if card.head in (".options", ".option", ".opt") and card.depth == 0:
                toks = list(card.tokens)
                for j, tok in enumerate(toks):
                    if tok.lower().startswith("seed="):
                        toks[j] = f"seed={seed}"
                        cards[i] = replace(card, tokens=tuple(toks))
                        return replace(self, cards=cards)
        cards.insert(0, CompiledCard(".options", (".options", f"seed={seed}"),
                                     Origin(self.source, 1), 0))
        return replace(self, cards=cards)

    # ------------------------------------------------------------- analyses
    @cached_property
    def _analyses(self) -> list[tuple[str, list[str], Origin]]:
        return [(c.head[1:], list(c.tokens[1:]), c.origin) for c in self.top_cards
                if c.head in ANALYSES]

    def analyses(self) -> list[tuple[str, list[str], Origin]]:
        """Analysis cards (``tran``, ``ac``, ``dc``, ``op`` ...) with their fields."""
        return list(self._analyses)

    def tran(self) -> tuple[float, float] | None:
        """``(tstep, tstop)`` of the deck's first ``.tran`` card in seconds, or None.

        ngspice 39 runs every analysis card, from the deck's last to its first: the first
        ``.tran`` card's transient is the last one run, the one a run reports. :meth:`trans`
        gives them all.
        """
        found = self.trans()
        return found[0] if found else None

    def trans(self) -> list[tuple[float, float]]:
        """``(tstep, tstop)`` of every top-level ``.tran`` card, in the deck's order."""
        out = []
        for kind, fields, org in self._analyses:
            if kind == "tran":
                numeric = [f for f in fields if f.lower() != "uic"]
                if len(numeric) < 2:
                    raise DeckError(".tran needs at least TSTEP and TSTOP", org.path, org.line)
                try:
                    out.append((self.evaluate(numeric[0]), self.evaluate(numeric[1])))
                except ValueError as exc:
                    raise DeckError(f".tran: {escape_controls(str(exc))}", org.path,
                                    org.line) from None
        return out

    def evaluate(self, text: str) -> float:
        r"""Value of a number or ``{expression}`` over the deck's top-level ``.param``\s.

        Supports + - * / ** (and ``^``), parentheses, SI-suffixed numbers, the params, the
        deck's top-level ``.func`` functions, ngspice's numparam functions (``sqr sqrt sin cos
        tan exp ln log log10 arctan atan asin acos sinh cosh tanh asinh acosh atanh abs pow
        pwr max min int nint sgn ceil floor``; ``log`` is the natural logarithm, as in
        ngspice). Like ngspice 39's ``.param``, it knows no constant (``pi`` is an unknown
        name there: write ``4*atan(1)``).

        Raises
        ------
        ValueError
            For anything else (the deck's own ngspice will still evaluate it), and for
            arithmetic that fails (division by zero, overflow, wrong number of arguments).
        """
        return _evaluate(text, self.params(), depth=0, memo={}, funcs=self._funcs)

    def with_tstop(self, tstop: float) -> PreparedDeck:
        """A copy whose ``.tran`` cards (ngspice runs the last) stop at ``tstop`` seconds."""
        if not math.isfinite(tstop) or tstop <= 0:
            raise DeckError(f"{option('tstop')} must be a positive time (got {tstop:g} s)",
                            path=self.source)
        cards = list(self.cards)
        changed = False
        for i, card in enumerate(cards):
            if card.head == ".tran" and card.depth == 0 and len(card.tokens) >= 3:
                toks = list(card.tokens)
                try:
                    tstep = self.evaluate(toks[1])
                except ValueError as exc:
                    raise DeckError(f".tran: {exc}", card.origin.path, card.origin.line) from None
                new_step = min(tstep, tstop / 10)
                if new_step != tstep:
                    toks[1] = _format_value(new_step)
                toks[2] = _format_value(tstop)
                cards[i] = replace(card, tokens=tuple(toks))
                changed = True
        if not changed:
            raise DeckError(f"{option('tstop')} given but the deck has no .tran card",
                            path=self.source)
        new = replace(self, cards=cards)
        new.check_values()
        return new

    # ---------------------------------------------------------------- checks
    def check_values(self) -> None:
        """Refuse parameter arithmetic that fails and analyses beyond the point limit.

        Raises
        ------
        DeckError
            A ``.param`` whose value divides by zero, overflows or calls a function with the
            wrong number of arguments, naming its line.
        LimitError
            An analysis with more points than ``limits.max_points``.
        """
        params = self.params()
        memo: dict[str, float] = {}
        failed: set[str] = set()
        for name, (text, ci, _) in self._params.items():
            if name in memo or name in failed:
                continue  # evaluated already, as part of an earlier one
            try:
                memo[name] = _evaluate(text, params, depth=0, memo=memo, funcs=self._funcs,
                                       failed=failed)
            except _ArithmeticFailure as exc:
                org = self.cards[ci].origin
                raise DeckError(f".param {name} = {text}: {exc}", org.path, org.line,
                                snippet=self.cards[ci].text) from None
            except ValueError:
                continue
        for kind, fields, org in self._analyses:
            points = self._points(kind, fields, org, memo)
            if points is not None and points > self.limits.max_points:
                raise LimitError(
                    f".{kind} asks for about {points:.3g} points, over the limit of "
                    f"{self.limits.max_points:.3g}; shorten it or use a larger step "
                    f"({option('max_points')} raises the limit)", org.path, org.line,
                    snippet=" ".join([f".{kind}", *fields]))

    def _points(self, kind: str, fields: list[str], org: Origin,
                memo: dict[str, float] | None = None) -> float | None:
        """How many points the analysis asks for (None: one, or no sweep).

        Raises
        ------
        LimitError
            When the count depends on a value that cannot be evaluated here: an analysis
            whose size cannot be checked is refused, not run.
        """
        params = self.params()
        shared = {} if memo is None else memo

        def ev(text: str) -> float:
            return _evaluate(text, params, depth=0, memo=shared, funcs=self._funcs)

        def sweep(fields4: list[str]) -> float:
            kind4 = fields4[0].lower()
            if kind4 not in ("dec", "oct", "lin"):
                raise ValueError(f"sweep type {fields4[0]!r} is none of dec, oct, lin")
            n, f1, f2 = (ev(f) for f in fields4[1:4])
            if kind4 == "lin":
                return abs(n)
            if f1 <= 0 or f2 <= 0:
                raise ValueError("frequencies of a dec or oct sweep must be positive")
            decades = abs(math.log10(f2 / f1))
            return abs(n) * (decades * math.log2(10) if kind4 == "oct" else decades) + 1

        try:
            if kind == "tran":
                vals = [ev(f) for f in fields if f.lower() != "uic"][:4]
                if len(vals) < 2:
                    return None
                tstep, tstop = vals[0], vals[1]
                tstart = vals[2] if len(vals) > 2 else 0.0
                tmax = vals[3] if len(vals) > 3 else math.inf
                if tstep <= 0 or tstop <= 0:
                    raise DeckError(f".tran TSTEP and TSTOP must be positive (got {tstep:g}, "
                                    f"{tstop:g})", org.path, org.line)
                step = min(tstep, tmax) if tmax > 0 else tstep
                return max(tstop - tstart, 0.0) / step
            if kind in ("ac", "disto", "sp") and len(fields) >= 4:
                return sweep(fields[:4])
            if kind == "noise" and len(fields) >= 6:
                return sweep(fields[2:6])
            if kind == "sens" and len(fields) >= 6 and fields[1].lower() == "ac":
                return sweep(fields[2:6])
            if kind == "dc" and len(fields) >= 4:
                total = 1.0
                for k in range(0, len(fields) - 3, 4):
                    start, stop, step = (ev(f) for f in fields[k + 1:k + 4])
                    if step == 0:
                        return math.inf
                    total *= abs(stop - start) / abs(step) + 1
                return total
            if kind in ("ac", "disto", "noise", "dc", "sp"):
                raise ValueError("too few fields")
        except (ValueError, ZeroDivisionError, OverflowError) as exc:
            raise LimitError(
                f".{kind}: cannot count the points it asks for ({exc}); neurospice runs only "
                "analyses whose size it can check - write numbers, or .param/.func values "
                "of plain arithmetic", org.path, org.line,
                snippet=escape_controls(" ".join([f".{kind}", *fields]))) from None
        return None

    # ------------------------------------------------------------ instances
    @cached_property
    def _subckts(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        stack: list[tuple[str, tuple[str, ...], list[str]]] = []
        for card in self.cards:
            toks = [t.lower() for t in card.tokens]
            if card.head == ".subckt":
                names = []
                for tok in toks[2:]:
                    if tok.startswith("params:") or "=" in tok:
                        break
                    names.append(tok)
                stack.append((toks[1], tuple(names), []))
            elif card.head == ".ends" and stack:
                name, pins, internal = stack.pop()
                out[name] = (pins, tuple(dict.fromkeys(internal)))
            elif stack and card.is_element:
                _, pins, internal = stack[-1]
                for node in _element_nodes(toks):
                    if node not in pins and node not in ("0", "gnd"):
                        internal.append(node)
        return out

    def subckts(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Subcircuits defined in the deck: name -> (pins, internal nodes)."""
        return dict(self._subckts)

    @cached_property
    def _instances(self) -> list[Instance]:
        subs = self._subckts
        out = []
        for card in self.top_cards:
            if card.letter != "x":
                continue
            plain = [t for t in card.tokens[1:]
                     if "=" not in t and not t.lower().startswith("params:")]
            if not plain:
                continue
            model = plain[-1].lower()
            if model in subs:
                _, internal = subs[model]
                nodes = tuple(n.lower() for n in plain[:-1])
                out.append(Instance(card.tokens[0].lower(), model, nodes, internal))
        return out

    def instances(self) -> list[Instance]:
        """Top-level ``X`` instances of subcircuits defined in the deck."""
        return list(self._instances)

    def neurons(self) -> list[Instance]:
        """Instances whose subcircuit's first pin is ``mem`` (the FHN convention)."""
        subs = self._subckts
        return [i for i in self._instances if subs[i.subckt][0][:1] == ("mem",)]

    def memristors(self) -> list[Instance]:
        """Instances of two-pin ``p n`` subcircuits with an internal state node ``w``."""
        subs = self._subckts
        return [i for i in self._instances
                if subs[i.subckt][0] == ("p", "n") and "w" in i.internal]


# --------------------------------------------------------------------------- reading


def prepare_deck(path: str | Path, *, control: ControlMode = "refuse",
                 limits: Limits | None = None) -> PreparedDeck:
    """Read and compile the deck in ``path`` (see :func:`prepare_text`).

    Raises
    ------
    DeckError
        For a missing file, a refused construct, or an include that cannot be resolved,
        naming the file and line.
    """
    p = Path(path)
    if not p.is_file():
        raise DeckError(f"no such deck file: {p}", path=p)
    limits = limits or Limits()
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise DeckError(f"cannot read the deck: {exc.strerror}", path=p) from None
    if size > limits.max_file_bytes:
        raise LimitError(f"the deck is {size} bytes, over the limit of {limits.max_file_bytes} "
                         f"({option('max_deck_bytes')} raises it)", path=p)
    try:
        text = p.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise DeckError(f"the deck is not UTF-8 text ({exc.reason})", path=p) from None
    except OSError as exc:
        raise DeckError(f"cannot read the deck: {exc.strerror}", path=p) from None
    if limits.compat is None:
        found = compat_from_spiceinit(p.absolute().parent)
        if found is not None:
            limits = replace(limits, compat=found)
    return prepare_text(text, base_dir=p.absolute().parent, source=p, control=control,
                        limits=limits)


_NGBEHAVIOR_RE = re.compile(r"^\s*set\s+ngbehavior\s*=\s*['\"]?([^\s'\"]*)", re.IGNORECASE)


def compat_from_spiceinit(folder: Path) -> str | None:
    """The ``set ngbehavior=MODE`` of a ``.spiceinit`` in ``folder`` (the last one), or None.

    Nothing else of the file is read or run: ngspice itself never sees it (its worker's home
    is an empty job folder). A mode that is none of ngspice's is refused.
    """
    path = folder / ".spiceinit"
    try:
        if not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    mode = None
    line_no = 0
    for number, line in enumerate(text.splitlines(), start=1):
        m = _NGBEHAVIOR_RE.match(line)
        if m:
            mode, line_no = m.group(1), number
    if mode is None:
        return None
    try:
        return check_compat(mode)
    except ValueError as exc:
        raise DeckError(escape_controls(str(exc)), path, line_no) from None


def prepare_text(text: str, *, base_dir: str | Path, source: Path | None = None,
                 control: ControlMode = "refuse", limits: Limits | None = None) -> PreparedDeck:
    """Compile deck ``text`` whose includes resolve relative to ``base_dir``.

    Parameters
    ----------
    text
        The deck; its first line is the title.
    base_dir
        The deck's folder (its tree is where includes and file attributes may point).
    source
        The deck's file, for messages.
    control
        ``"refuse"`` (default), ``"ignore"`` or ``"allow"`` ``.control`` blocks (see
        :func:`neurospice.spice.compiler.compile_text`).
    limits
        Size, point and expansion limits.
    """
    limits = limits or Limits()
    compiled = compile_text(text, base_dir=Path(base_dir), source=source, control=control,
                            limits=limits)
    deck = PreparedDeck.from_compiled(compiled, limits)
    deck.check_values()
    return deck


# --------------------------------------------------------------------------- helpers


_NODE_COUNT = {"r": 2, "c": 2, "l": 2, "b": 2, "v": 2, "i": 2, "d": 2, "e": 4, "g": 4, "h": 2,
               "f": 2, "j": 3, "q": 3, "m": 4, "s": 4, "w": 2, "z": 3, "t": 4, "o": 4, "u": 3}


def _element_nodes(toks: list[str]) -> list[str]:
    kind = toks[0][0]
    if kind == "x":
        plain = [t for t in toks[1:] if "=" not in t and not t.startswith("params:")]
        return plain[:-1]
    n = _NODE_COUNT.get(kind)
    if n is None:
        return []
    return [t for t in toks[1: 1 + n] if "(" not in t and "=" not in t]


def _checked_value(name: object, value: str | float, source: Path | None) -> str:
    """A parameter value as one safe token, or DeckError."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DeckError(f"{option('param', name)}: value {value!r} is neither a number nor text",
                        path=source)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise DeckError(f"{option('param', name)}={value}: not a finite number", path=source)
        return _format_value(value)
    text = value.strip()
    bad = check_card_text(text)
    if bad is not None:
        raise DeckError(f"{option('param', name)}: value refused ({bad[1]})", path=source)
    toks = split_tokens(text)
    if len(toks) != 1 or not text:
        raise DeckError(f"{option('param', name)}={value!r}: a value is one number or one "
                        "{expression}", path=source)
    if "=" in text or text.startswith((".", "+", "*")) and not _is_number(text):
        raise DeckError(f"{option('param', name)}={value!r}: not a number or an {{expression}}",
                        path=source)
    if not _is_number(text):
        if not (text.startswith("{") and text.endswith("}")):
            if not re.fullmatch(r"[A-Za-z_][\w]*", text):
                text = "{" + text + "}"
    else:
        v = spice_number(text)
        if not math.isfinite(v):
            raise DeckError(f"{option('param', name)}={value}: not a finite number", path=source)
    return text


def _is_number(text: str) -> bool:
    try:
        spice_number(text)
    except ValueError:
        return False
    return True


class _ArithmeticFailure(DeckError, ValueError):
    """Arithmetic that cannot be done: division by zero, overflow, wrong arity."""


def _sgn(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


#: ngspice's numparam functions (``src/frontend/numparam/xpressn.c``): name -> (function,
#: number of arguments, None for one or more). ``log`` is the natural logarithm there.
_FUNCS: dict[str, tuple[Callable[..., float], int | None]] = {
    "min": (lambda *a: min(a), None), "max": (lambda *a: max(a), None), "abs": (abs, 1),
    "sqrt": (math.sqrt, 1),
    "exp": (math.exp, 1), "log": (math.log, 1), "ln": (math.log, 1),
    "log10": (math.log10, 1), "sqr": (lambda x: x * x, 1), "sin": (math.sin, 1),
    "cos": (math.cos, 1), "tan": (math.tan, 1), "arctan": (math.atan, 1),
    "atan": (math.atan, 1), "asin": (math.asin, 1), "acos": (math.acos, 1),
    "sinh": (math.sinh, 1), "cosh": (math.cosh, 1), "tanh": (math.tanh, 1),
    "asinh": (math.asinh, 1), "acosh": (math.acosh, 1), "atanh": (math.atanh, 1),
    "pow": (lambda z, x: math.pow(z, x), 2), "pwr": (lambda z, x: math.pow(abs(z), x), 2),
    "int": (math.trunc, 1), "nint": (round, 1), "sgn": (_sgn, 1), "ceil": (math.ceil, 1),
    "floor": (math.floor, 1),
}
_SI_RE = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:meg|mil|[tgkmunpf])"
                    r"[a-zA-Z]*", re.IGNORECASE)
_FUNC_DEF_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*\(([^)]*)\)\s*=?\s*(.*)$", re.DOTALL)
_MAX_DEPTH = 50


def _evaluate(text: str, params: dict[str, str], *, depth: int, memo: dict[str, float],
              funcs: dict[str, tuple[list[str], str]] | None = None,
              failed: set[str] | None = None) -> float:
    """Value of ``text`` over ``params``; ``memo`` keeps values found, ``failed`` the names
    that could not be evaluated (so that a long chain of them costs one pass, not one per
    name)."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"parameter nesting too deep in {text!r}")
    expr = text.strip()
    if expr.startswith("{") and expr.endswith("}"):
        expr = expr[1:-1]
    expr = expr.strip().strip("'\"")
    try:
        value0 = spice_number(expr)
    except ValueError:
        pass
    else:
        if not math.isfinite(value0):
            raise _ArithmeticFailure(f"the number {expr[:24]} is beyond double precision")
        return value0
    if len(expr) > 10_000:
        raise ValueError("expression too long to evaluate here")
    expr = expr.replace("^", "**")
    expr = _SI_RE.sub(lambda m: repr(spice_number(m.group(0))), expr)
    try:
        tree = ast.parse(expr, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(f"cannot evaluate {text!r}") from None
    fails = failed if failed is not None else set()
    user = funcs or {}

    def ev(node: ast.AST, local: dict[str, float]) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body, local)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
                and not isinstance(node.value, bool):
            try:
                value = float(node.value)
            except OverflowError:
                raise _ArithmeticFailure("a number beyond double precision") from None
            if not math.isfinite(value):
                raise _ArithmeticFailure("a number beyond double precision")
            return value
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left, local), ev(node.right, local)
            try:
                if isinstance(node.op, ast.Add):
                    r = a + b
                elif isinstance(node.op, ast.Sub):
                    r = a - b
                elif isinstance(node.op, ast.Mult):
                    r = a * b
                elif isinstance(node.op, ast.Div):
                    r = a / b
                elif isinstance(node.op, ast.Pow):
                    r = float(a**b)
                else:
                    raise ValueError(f"cannot evaluate {text!r}")
            except ZeroDivisionError:
                raise _ArithmeticFailure("division by zero") from None
            except OverflowError:
                raise _ArithmeticFailure("the result overflows") from None
            if isinstance(r, complex) or not math.isfinite(r):
                raise _ArithmeticFailure("the result is not a finite real number")
            return r
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = ev(node.operand, local)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Name):
            key = node.id.lower()
            if key in local:
                return local[key]
            if key in memo:
                return memo[key]
            if key in fails:
                raise ValueError(f"parameter {node.id!r} cannot be evaluated here")
            if key in params:
                try:
                    value = _evaluate(params[key], params, depth=depth + 1, memo=memo,
                                      funcs=funcs, failed=fails)
                except _ArithmeticFailure:
                    raise
                except ValueError:
                    fails.add(key)
                    raise
                memo[key] = value
                return value
            raise ValueError(f"unknown parameter {node.id!r} in {text!r}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            fname = node.func.id.lower()
            if fname in user:
                names, body = user[fname]
                args = [ev(a, local) for a in node.args]
                if len(args) != len(names):
                    raise _ArithmeticFailure(f"{node.func.id}() takes {len(names)} argument"
                                             f"{'s' if len(names) != 1 else ''}, got "
                                             f"{len(args)}")
                if depth + 1 > _MAX_DEPTH:
                    raise ValueError(f"function nesting too deep in {text!r}")
                return _evaluate_body(body, dict(zip(names, args, strict=True)))
            if fname in _FUNCS:
                fn, arity = _FUNCS[fname]
                args = [ev(a, local) for a in node.args]
                if (arity is not None and len(args) != arity) or (arity is None
                                                                  and len(args) < 1):
                    raise _ArithmeticFailure(
                        f"{node.func.id}() takes {arity if arity else 'one or more'} argument"
                        f"{'s' if arity != 1 else ''}, got {len(args)}")
                try:
                    value = float(fn(*args))
                except (ValueError, OverflowError, ZeroDivisionError) as exc:
                    raise _ArithmeticFailure(f"{node.func.id}(): {exc}") from None
                if not math.isfinite(value):
                    raise _ArithmeticFailure(f"{node.func.id}(): not a finite number")
                return value
        raise ValueError(f"cannot evaluate {text!r}")

    def _evaluate_body(body: str, local: dict[str, float]) -> float:
        inner = body.strip()
        if inner.startswith("{") and inner.endswith("}"):
            inner = inner[1:-1]
        inner = _SI_RE.sub(lambda m: repr(spice_number(m.group(0))),
                           inner.strip().strip("'\"").replace("^", "**"))
        if len(inner) > 10_000:
            raise ValueError("function body too long to evaluate here")
        try:
            sub = ast.parse(inner, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise ValueError(f"cannot evaluate {body!r}") from None
        return ev(sub, local)

    try:
        return ev(tree, {})
    except RecursionError:
        raise _ArithmeticFailure("expression nested too deeply") from None


def evaluate_expression(text: str, scope: dict[str, str]) -> float:
    """Value of a number or ``{expression}`` over ``scope`` (name -> value text).

    Raises
    ------
    ValueError
        When it cannot be evaluated here (unknown names or functions, failing arithmetic).
    """
    return _evaluate(text, scope, depth=0, memo={})


def _format_value(value: str | float) -> str:
    if isinstance(value, str):
        return value.strip()
    return f"{value:.12g}"
