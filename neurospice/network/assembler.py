"""Check a parsed :class:`~neurospice.network.network.Network` and assemble a SPICE deck.

Wiring rules
------------
* In a chain ``a -> m1 -> r2 -> b`` a neuron that sends uses its ``out`` pin and a
  neuron that receives uses its ``mem`` pin; a neuron in the middle of a chain
  receives on ``mem`` and sends from ``out``.
* A two-pin element (memristor, resistor, ``load(10k)``) sits between the node
  before it (its first pin, ``p``) and a new node after it (its second pin, ``n``).
  Each two-pin element takes one place in one chain; its pins can still be
  joined to other nodes with ``link m1.n -> tap``.
* A source pushes toward the arrow: ``n`` on the node before it, ``p`` on the node
  after it; a source that starts a chain has ``n`` on ground. A voltage source raises the
  node after it; a current source (``isource``) drives its current into it.
* A chain ends in a neuron, a declared ``node``, a pin (``x.mem``) or ``gnd``.
* ``link`` joins nodes only: every item is a pin, a declared node or ``gnd``.

Node names
----------
Ground is ``0``; a node joined to a declared ``node tap`` is ``tap``; otherwise a
node takes the name ``<element>_<pin>`` of the first neuron pin on it, else of the
first pin wired to it (``master_mem``, ``master_out``, ``m1_n``).

Seeds
-----
``seed = N`` on a memristor is passed to the subcircuit when its model has a
``seed`` parameter.  Otherwise (ngspice has one random generator per run, e.g.
``zro2`` draws with ``agauss``/``trrandom``) it becomes the run's
``.options seed=N``; all such seeds, and a ``seed N`` statement, must agree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from neurospice.network.errors import NetworkSemanticError
from neurospice.network.network import (
    ChainItem,
    Connection,
    Ground,
    Load,
    Memristor,
    Network,
    Neuron,
    NodeDecl,
    Param,
    ParamOverride,
    Ref,
    Resistor,
    Source,
    Train,
    Value,
)
from neurospice.spice.library import SubcktModel, default_library_dir, parse_si
from neurospice.spice.registry import (
    InvalidParameterError,
    Registry,
    UnknownModelError,
)

__all__ = ["Deck", "build_deck", "compile_network", "compile_file"]

GROUND = "0"

_SOURCE_SPEC_RE = re.compile(
    r"^(?:(?:dc|ac|sin|pulse|pwl|exp|sffm|am|trnoise|trrandom|spikes)\b|[+-]?\.?\d)",
    re.IGNORECASE
)
_SPIKES_RE = re.compile(r"^spikes\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_SPIKES_ARG_RE = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*(\{[^{}]*\}|[^\s,{}()]+)\s*(?:,|$)")
_TRAN_OPTIONS = ("step", "start", "max_step", "reltol")
_TRAN_FLAGS = ("uic", "gear")

#: Parameters of a spike train (``train``) and their defaults (SI units: V, s).
TRAIN_DEFAULTS: dict[str, float] = {
    "vp": 2.2, "ts": 20e-9, "vh": 0.8, "th": 370e-9, "period": 0.0, "delay": 0.0, "edge": 1e-9,
}
_TRAIN_POSITIVE = ("ts", "th", "period", "edge")


@dataclass(frozen=True)
class Deck:
    """A SPICE deck assembled from a network file.

    Attributes
    ----------
    text
        The whole deck: title comment, ``.include``\\s, ``.param``\\s, elements,
        ``.options``, ``.tran``, ``.save`` and ``.end``.
    netlist
        Only the circuit (title, includes, params, options, elements): add an
        analysis and ``.end`` to run something else, e.g. ``.op``.
    probes
        ``(label, vector)`` pairs, e.g. ``("master", "v(master_mem)")`` or
        ``("m1.w", "v(xm1.w)")``.
    lock_pairs
        ``(master_label, slave_label)`` pairs; both labels are in ``probes``.
    includes
        Absolute paths of the library files the deck includes, in order.
    source_path
        The network file (None for text).
    base_dir
        Folder that relative ``.include`` paths are relative to.
    nodes
        Pin to node name, e.g. ``{"master.out": "master_out", "m1.p": "master_out"}``.
    tran
        ``(step, stop, start, max_step)`` in seconds (None when not given), or None.
    warnings
        Things that are legal but probably not meant (e.g. ``1M`` = 1 milli).
    """

    text: str
    netlist: str
    probes: list[tuple[str, str]]
    lock_pairs: list[tuple[str, str]]
    includes: list[Path]
    source_path: Path | None
    base_dir: Path
    nodes: dict[str, str] = field(default_factory=dict)
    tran: tuple[float | None, float, float | None, float | None] | None = None
    warnings: list[str] = field(default_factory=list)


# --- the checker/assembler ---------------------------------------------------------------------


@dataclass
class _Element:
    """A circuit element of the deck (a declaration or an anonymous load)."""

    name: str  # lower case
    kind: str  # neuron | memristor | resistor | source | load
    pins: tuple[str, ...]
    line: int
    column: int
    model: SubcktModel | None = None
    decl: object = None
    wired_at: tuple[int, int] | None = None


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.order: dict[str, int] = {}

    def add(self, key: str) -> None:
        if key not in self.parent:
            self.parent[key] = key
            self.order[key] = len(self.order)

    def find(self, key: str) -> str:
        self.add(key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if self.order[rb] < self.order[ra]:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def classes(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key in sorted(self.parent, key=self.order.__getitem__):
            out.setdefault(self.find(key), []).append(key)
        return out


def _pin_key(name: str, pin: str) -> str:
    return f"{name}.{pin}"


def _node_key(name: str) -> str:
    return f"@node:{name}"


_GND_KEY = "@gnd"


#: the largest library file ``use`` may name (bytes): the library reader keeps it in memory
MAX_LIBRARY_BYTES = 20_000_000


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class _Assembler:
    def __init__(self, network: Network, source_path: Path | None, registry: Registry | None,
                 library_dir: Path | None) -> None:
        self.net = network
        self.path = source_path if source_path is not None else network.path
        self.library_dir = library_dir if library_dir is not None else default_library_dir()
        # network text without a file has no tree of its own: the library's folder (never the
        # caller's working folder)
        self.base_dir = (self.path.parent if self.path is not None
                         else self.library_dir.parent).resolve()
        self.elements: dict[str, _Element] = {}
        self.params: dict[str, Param] = {}
        self.named_nodes: dict[str, NodeDecl] = {}
        self.uf = _UnionFind()
        self.uf.add(_GND_KEY)
        self.warnings: list[str] = []
        self.load_count = 0
        self.options_seed: tuple[str, int, int] | None = None

    # errors ---------------------------------------------------------------------------------

    def error(self, message: str, line: int, column: int, name: str | None,
              hint: str | None = None) -> NetworkSemanticError:
        return NetworkSemanticError(message, self.path, line, column, name=name,
                                    source=self.net.text or None, hint=hint)

    # libraries --------------------------------------------------------------------------------

    def resolve_uses(self) -> list[Path]:
        """The library files ``use`` names: relative to the network file's folder (its tree)
        or the shipped library, never outside them, never larger than
        :data:`MAX_LIBRARY_BYTES`. Nothing outside is read (nor named in a message)."""
        found: list[Path] = []
        package_root = self.library_dir.parent
        roots = (self.base_dir, package_root.resolve(), self.library_dir.resolve())
        for use in self.net.uses:
            if use.path.startswith("~") or "\0" in use.path:
                raise self.error(
                    f"use \"{use.path}\": home-relative paths are refused; name a library "
                    "beside the network file (or in its folder tree) or a shipped one "
                    "(lib/...)", use.line, use.column, use.path)
            given = Path(use.path)
            candidates = [given] if given.is_absolute() else [
                self.base_dir / given, package_root / given, self.library_dir / given]
            resolved = [c.resolve() for c in candidates]
            inside = [r for r in resolved if any(_within(r, root) for root in roots)]
            if not any(r.is_file() for r in inside) and len(inside) < len(resolved) and (
                    given.is_absolute() or ".." in given.parts
                    or any(r.exists() for r in resolved if r not in inside)):
                inside = []
            if not inside:
                raise self.error(
                    f"use \"{use.path}\" resolves outside the network file's folder tree "
                    f"({self.base_dir}) and the neurospice library; refused - copy the library "
                    "next to the network file", use.line, use.column, use.path)
            target = next((c for c in inside if c.is_file()), None)
            if target is not None:
                size = target.stat().st_size
                if size > MAX_LIBRARY_BYTES:
                    raise self.error(
                        f"use \"{use.path}\": the library is {size:,} bytes, over the limit of "
                        f"{MAX_LIBRARY_BYTES:,}", use.line, use.column, use.path)
            if target is None:
                looked = ", ".join(str(c) for c in candidates)
                raise self.error(f"library file not found: \"{use.path}\" (looked for {looked})",
                                 use.line, use.column, use.path)
            if target not in found:
                found.append(target)
        return found

    # declarations -----------------------------------------------------------------------------

    def declare(self, registry: Registry) -> None:
        seen: dict[str, tuple[int, int]] = {}
        for decl in self.net.declarations():
            key = decl.name.lower()
            if key in seen:
                first = seen[key]
                raise self.error(
                    f"duplicate name '{decl.name}' (first declared at line {first[0]}; names are "
                    "case-insensitive, as in SPICE)",
                    decl.line, _name_column(decl), decl.name)
            seen[key] = (decl.line, decl.column)
        for decl in self.net.declarations():
            key = decl.name.lower()
            match decl:
                case Param():
                    self.check_value(decl.value, f"param '{decl.name}'")
                    self.params[key] = decl
                case NodeDecl():
                    self.named_nodes[key] = decl
                    self.uf.add(_node_key(key))
                case Neuron():
                    model = self.model(decl.model, decl.model_line, decl.model_column, registry)
                    if model.kind != "neuron":
                        raise self.error(
                            f"model '{model.name}' (pins {' '.join(model.pins)}) is not a neuron "
                            "model; neuron models have pins 'mem out': "
                            + ", ".join(_neuron_names(registry)),
                            decl.model_line, decl.model_column, decl.model)
                    self.check_overrides(decl.name, model, decl.overrides, registry)
                    self.elements[key] = _Element(key, "neuron", model.pins, decl.line,
                                                  decl.column, model, decl)
                case Memristor():
                    model = self.model(decl.model, decl.model_line, decl.model_column, registry)
                    if len(model.pins) != 2 or model.kind == "neuron":
                        raise self.error(
                            f"model '{model.name}' (pins {' '.join(model.pins)}) is not a "
                            "two-pin memristor model; memristor models: "
                            + ", ".join(_memristor_names(registry)),
                            decl.model_line, decl.model_column, decl.model)
                    self.check_overrides(decl.name, model, decl.overrides, registry)
                    self.elements[key] = _Element(key, "memristor", model.pins, decl.line,
                                                  decl.column, model, decl)
                case Resistor():
                    self.check_resistance(decl.value, decl.name)
                    self.elements[key] = _Element(key, "resistor", ("p", "n"), decl.line,
                                                  decl.column, None, decl)
                case Source() if _SPIKES_RE.match(decl.spec) or decl.spec.lower() == "spikes":
                    train = self.read_spikes(decl)
                    self.check_train(train)
                    self.elements[key] = _Element(key, "source", ("p", "n"), decl.line,
                                                  decl.column, None, train)
                case Source():
                    if not _SOURCE_SPEC_RE.match(decl.spec):
                        raise self.error(
                            f"source '{decl.name}': '{decl.spec}' is not an ngspice source; "
                            "write e.g. 'dc 1', 'sin(0 1 10)', 'pulse(0 5 0 1u 1u 5m 20m)' or "
                            "'pwl(0 0 1m 1)'",
                            decl.spec_line, decl.spec_column, decl.name)
                    self.elements[key] = _Element(key, "source", ("p", "n"), decl.line,
                                                  decl.column, None, decl)
        for seed in self.net.seeds:
            self.set_seed(seed.value, seed.line, seed.column)

    def read_spikes(self, decl: Source) -> Train:
        """The ``spikes(name = value, ...)`` spec of a source as a :class:`Train`."""
        m = _SPIKES_RE.match(decl.spec)
        body = m.group(1) if m else ""
        args: list[ParamOverride] = []
        pos = 0
        offset = decl.spec.find("(") + 1
        while body[pos:].strip():
            a = _SPIKES_ARG_RE.match(body, pos)
            if a is None:
                raise self.error(
                    f"source '{decl.name}': cannot read '{body[pos:].strip()}' in spikes(...); "
                    "write name = value pairs separated by commas, e.g. "
                    "'spikes(period = 1.6u, delay = 0.4u, vp = 2.2)'",
                    decl.spec_line, decl.spec_column + offset + pos, decl.name)
            text = a.group(2)
            col = decl.spec_column + offset + a.start(2)
            if text.startswith("{"):
                value = Value(text, "expr", None, decl.spec_line, col)
            elif re.match(r"^[A-Za-z_]\w*$", text):
                value = Value(text, "param", None, decl.spec_line, col)
            else:
                try:
                    value = Value(text, "number", parse_si(text), decl.spec_line, col)
                except ValueError:
                    raise self.error(f"source '{decl.name}': '{text}' is not a number",
                                     decl.spec_line, col, decl.name) from None
            args.append(ParamOverride(a.group(1), value, decl.spec_line,
                                      decl.spec_column + offset + a.start(1)))
            pos = a.end()
        return Train(decl.name, tuple(args), decl.line, decl.column, decl.name_column)

    def check_train(self, decl: Train) -> None:
        seen: set[str] = set()
        for arg in decl.args:
            key = arg.name.lower()
            if key not in TRAIN_DEFAULTS:
                raise self.error(
                    f"spike train '{decl.name}' has no parameter '{arg.name}'; parameters: "
                    + ", ".join(TRAIN_DEFAULTS) + _did_you_mean(key, TRAIN_DEFAULTS),
                    arg.line, arg.column, arg.name)
            if key in seen:
                raise self.error(f"parameter '{arg.name}' given twice for '{decl.name}'",
                                 arg.line, arg.column, arg.name)
            seen.add(key)
            self.check_value(arg.value, f"parameter '{arg.name}' of '{decl.name}'")
            num = arg.value.number
            if num is not None and (num < 0 or (key in _TRAIN_POSITIVE and num == 0)):
                raise self.error(
                    f"spike train '{decl.name}': {arg.name} must be "
                    f"{'> 0' if key in _TRAIN_POSITIVE else '>= 0'} (got {arg.value.text})",
                    arg.value.line, arg.value.column, arg.name)
        if "period" not in seen:
            raise self.error(f"spike train '{decl.name}' needs a period (s), e.g. "
                             "'period = 1.6u'", decl.line, _name_column(decl), decl.name)
        given = {a.name.lower(): a.value.number for a in decl.args}
        nums = {k: given.get(k, v) for k, v in TRAIN_DEFAULTS.items()} if "period" in given else {}
        if all(v is not None for v in nums.values()):
            edge, ts, th = nums["edge"], nums["ts"], nums["th"]
            assert edge is not None and ts is not None and th is not None
            period = nums["period"]
            assert period is not None
            if edge >= min(ts, th) or ts + th > period:
                raise self.error(
                    f"spike train '{decl.name}': needs edge < ts, edge < th and ts + th <= "
                    f"period (got edge {edge:g}, ts {ts:g}, th {th:g}, period {period:g} s)",
                    decl.line, _name_column(decl), decl.name)

    def model(self, name: str, line: int, column: int, registry: Registry) -> SubcktModel:
        if name in registry:
            return registry.get(name)
        err = UnknownModelError(name, registry.names())
        raise self.error(err.message, line, column, name,
                         hint="models come from the libraries named by 'use' and from "
                              f"{self.library_dir}")

    def check_value(self, value: Value, what: str) -> None:
        if value.kind == "param" and value.text.lower() not in self.params:
            raise self.error(
                f"{what}: '{value.text}' is not a declared param"
                + _did_you_mean(value.text, self.params),
                value.line, value.column, value.text,
                hint=f"declare it first with 'param {value.text} = ...'")
        if value.kind == "number" and value.text[-1:] == "M" and not value.text.lower().endswith(
                ("meg", "mil")):
            self.warnings.append(
                f"line {value.line}: '{value.text}' means {value.number:g} (M is milli in SPICE); "
                "write 'meg' for mega")

    def check_resistance(self, value: Value, name: str) -> None:
        self.check_value(value, f"resistor '{name}'")
        if value.number is not None and not value.number > 0:
            raise self.error(
                f"resistor '{name}' must have a positive resistance (got {value.text}); "
                "a negative or zero resistance is not a physical load",
                value.line, value.column, name)

    def check_overrides(self, element: str, model: SubcktModel,
                        overrides: tuple[ParamOverride, ...], registry: Registry) -> None:
        seen: set[str] = set()
        for ov in overrides:
            key = ov.name.lower()
            if key in seen:
                raise self.error(f"parameter '{ov.name}' given twice for '{element}'",
                                 ov.line, ov.column, ov.name)
            seen.add(key)
            self.check_value(ov.value, f"parameter '{ov.name}' of '{element}'")
            if key == "seed" and "seed" not in model.params:
                self.set_seed(ov.value, ov.line, ov.column)
                continue
            value: str | float = (ov.value.number if ov.value.number is not None
                                  else ov.value.spice())
            try:
                registry.validate_params(model.name, {ov.name: value})
            except InvalidParameterError as exc:
                hint = None
                if exc.message.startswith(f"model '{model.name}' has no parameter"):
                    close = difflib.get_close_matches(key, list(model.params), n=1)
                    hint = f"did you mean '{close[0]}'?" if close else None
                raise self.error(f"'{element}': {exc.message}", ov.line, ov.column, ov.name,
                                 hint=hint) from None

    def set_seed(self, value: Value, line: int, column: int) -> None:
        if value.number is None or value.number != int(value.number) or value.number < 0:
            raise self.error(f"a seed must be a whole number >= 0 (got {value.text})",
                             value.line, value.column, "seed")
        seed = int(value.number)
        if self.options_seed is not None and self.options_seed[0] != str(seed):
            raise self.error(
                f"seed {seed} conflicts with seed {self.options_seed[0]} given at line "
                f"{self.options_seed[1]}: ngspice has one random generator per run, so the "
                "seeds of models without their own 'seed' parameter must agree",
                line, column, "seed")
        if self.options_seed is None:
            self.options_seed = (str(seed), line, column)

    # wiring -----------------------------------------------------------------------------------

    def lookup(self, ref: Ref) -> _Element | NodeDecl:
        key = ref.name.lower()
        if key in self.elements:
            return self.elements[key]
        if key in self.named_nodes:
            return self.named_nodes[key]
        if key in self.params:
            raise self.error(f"'{ref.name}' is a param, not a circuit element or node",
                             ref.line, ref.column, ref.name)
        known = list(self.elements) + list(self.named_nodes)
        raise self.error(
            f"undeclared name '{ref.name}'" + _did_you_mean(ref.name, known),
            ref.line, ref.column, ref.name,
            hint=f"declare it (neuron/memristor/resistor/source/node {ref.name} ...) before use")

    def pin_of(self, ref: Ref, target: _Element | NodeDecl) -> str:
        """The union-find key of ``ref`` that names a pin (``x.p``) or a node."""
        assert ref.pin is not None
        if isinstance(target, NodeDecl):
            raise self.error(f"'{ref.name}' is a node; it has no pin '{ref.pin}'",
                             ref.line, ref.column, str(ref))
        pin = ref.pin.lower()
        if pin not in target.pins:
            raise self.error(
                f"{_describe(target)} has no pin '{ref.pin}'; its pins: "
                + ", ".join(target.pins), ref.line, ref.column, str(ref))
        return _pin_key(target.name, pin)

    def new_load(self, item: Load) -> _Element:
        self.check_resistance(item.value, "load")
        while True:
            self.load_count += 1
            name = f"load{self.load_count}"
            if name not in self.elements and name not in self.named_nodes and \
                    name not in self.params:
                break
        el = _Element(name, "load", ("p", "n"), item.line, item.column, None, item)
        self.elements[name] = el
        return el

    def place(self, el: _Element, item: Ref | Load) -> None:
        if el.wired_at is not None:
            raise self.error(
                f"'{el.name}' is already wired (line {el.wired_at[0]}): a two-pin element takes "
                f"one place in one chain; join more nodes to its pins with "
                f"'link {el.name}.{el.pins[1]} -> ...'",
                item.line, item.column, el.name)
        el.wired_at = (item.line, item.column)

    def wire(self, conn: Connection) -> None:
        if conn.kind == "link":
            keys = [self.endpoint(item, for_link=True) for item in conn.items]
            for key in keys[1:]:
                self.uf.union(keys[0], key)
            return
        cur: str | None = None
        last = len(conn.items) - 1
        for idx, item in enumerate(conn.items):
            resolved: _Element | NodeDecl | None = None
            if isinstance(item, Load):
                resolved = self.new_load(item)
            elif isinstance(item, Ref) and item.pin is None:
                resolved = self.lookup(item)
            if isinstance(resolved, _Element) and resolved.kind == "neuron":
                assert isinstance(item, Ref)
                if cur is not None:
                    self.uf.union(cur, _pin_key(resolved.name, "mem"))
                cur = _pin_key(resolved.name, "out")
            elif isinstance(resolved, _Element):
                assert isinstance(item, (Ref, Load))
                shown = f"load({item.value.text})" if isinstance(item, Load) else item.name
                if idx == last:
                    raise self.error(
                        f"the chain ends in {_describe(resolved)}; a chain must end "
                        "in a neuron, a node, a pin (x.mem) or gnd",
                        item.line, item.column, resolved.name)
                self.place(resolved, item)
                first_pin, second_pin = resolved.pins
                if resolved.kind == "source":
                    first_pin, second_pin = "n", "p"
                if cur is None:
                    if resolved.kind != "source":
                        raise self.error(
                            f"the chain starts with {_describe(resolved)}; start it at "
                            f"what drives it: a neuron, a source, a node, a pin or gnd (e.g. "
                            f"'gnd -> {shown}')",
                            item.line, item.column, resolved.name)
                    cur = _GND_KEY
                self.uf.union(cur, _pin_key(resolved.name, first_pin))
                cur = _pin_key(resolved.name, second_pin)
            else:
                key = self.endpoint(item, for_link=False)
                if cur is not None:
                    self.uf.union(cur, key)
                cur = key

    def endpoint(self, item: ChainItem, *, for_link: bool) -> str:
        if isinstance(item, Ground):
            return _GND_KEY
        if isinstance(item, Load):
            raise self.error("a link joins nodes only: load(...) belongs in a chain",
                             item.line, item.column, "load")
        target = self.lookup(item)
        if item.pin is not None:
            return self.pin_of(item, target)
        if isinstance(target, NodeDecl):
            return _node_key(target.name.lower())
        assert for_link
        pins = " or ".join(f"{item.name}.{p}" for p in target.pins)
        raise self.error(f"a link joins nodes: say which pin of '{item.name}' ({pins})",
                         item.line, item.column, item.name)

    # checks on the finished graph ------------------------------------------------------------

    def check_graph(self) -> dict[str, str]:
        for el in self.elements.values():
            for pin in el.pins:
                self.uf.add(_pin_key(el.name, pin))
        classes = self.uf.classes()
        members = {key: classes[self.uf.find(key)] for key in self.uf.parent}

        def connected(key: str) -> bool:
            return len(members.get(key, [key])) > 1

        for el in self.elements.values():
            keys = [_pin_key(el.name, p) for p in el.pins]
            if el.kind == "neuron":
                if not any(connected(k) for k in keys):
                    raise self.error(f"neuron '{el.name}' is never connected",
                                     el.line, _decl_name_column(el), el.name,
                                     hint=f"wire it in a chain, e.g. '{el.name} -> m1 -> ...'")
                continue
            if not any(connected(k) for k in keys):
                raise self.error(f"{_describe(el)} is never connected",
                                 el.line, _decl_name_column(el), el.name)
            for pin, k in zip(el.pins, keys, strict=True):
                if not connected(k):
                    raise self.error(
                        f"pin {el.name}.{pin} is not connected to anything",
                        el.line, _decl_name_column(el), f"{el.name}.{pin}")
        self.check_loops(members)
        return self.name_nodes(classes)

    def check_loops(self, members: dict[str, list[str]]) -> None:
        neuron_roots = {self.uf.find(_pin_key(el.name, p)) for el in self.elements.values()
                        if el.kind == "neuron" for p in el.pins}
        two_pin = sorted((el for el in self.elements.values() if el.kind != "neuron"),
                         key=lambda e: e.wired_at or (e.line, e.column))
        adjacency: dict[str, list[tuple[str, str]]] = {}
        forest = _UnionFind()
        for el in two_pin:
            a = self.uf.find(_pin_key(el.name, el.pins[0]))
            b = self.uf.find(_pin_key(el.name, el.pins[1]))
            line, column = el.wired_at or (el.line, _decl_name_column(el))
            if a == b:
                raise self.error(
                    f"both pins of {_describe(el)} are on the same node: it is "
                    "shorted (a loop with no neuron)", line, column, el.name)
            if el.kind == "source" or a in neuron_roots or b in neuron_roots:
                continue
            if forest.find(a) == forest.find(b):
                path = _path(adjacency, a, b) + [el.name]
                raise self.error(
                    "loop with no neuron: " + ", ".join(path) + " form a loop of two-pin "
                    "elements that passes through no neuron (nothing drives it)",
                    line, column, el.name)
            forest.union(a, b)
            adjacency.setdefault(a, []).append((b, el.name))
            adjacency.setdefault(b, []).append((a, el.name))

    def name_nodes(self, classes: dict[str, list[str]]) -> dict[str, str]:
        """Map every union-find key to its node name."""
        neuron_order = [el.name for el in self.elements.values() if el.kind == "neuron"]
        # each neuron pin's rank (declaration order, mem before out): a node takes the name of
        # its first-ranked pin - one look-up per key, not a scan of every neuron per node
        rank = {_pin_key(n, p): i for i, (n, p) in enumerate(
            (n, p) for n in neuron_order for p in ("mem", "out"))}
        names: dict[str, str] = {}
        taken: set[str] = {GROUND}
        for root, keys in classes.items():
            if _GND_KEY in keys:
                name = GROUND
            else:
                nodes = [k for k in keys if k.startswith("@node:")]
                if nodes:
                    name = nodes[0].removeprefix("@node:")
                else:
                    ranked = [k for k in keys if k in rank]
                    chosen = min(ranked, key=rank.__getitem__) if ranked else keys[0]
                    name = chosen.replace(".", "_")
                base, suffix = name, 1
                while name in taken and name != GROUND:
                    suffix += 1
                    name = f"{base}_{suffix}"
                taken.add(name)
            names[root] = name
        return {key: names[self.uf.find(key)] for key in self.uf.parent}

    # probes -----------------------------------------------------------------------------------

    def probes(self, nodes: dict[str, str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        probes: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()  # a set beside the list: 12k probes are not 144M tests

        def add(label: str, vector: str) -> None:
            if (label, vector) not in seen:
                seen.add((label, vector))
                probes.append((label, vector))

        def node_vector(key: str, ref: Ref) -> str:
            node = nodes.get(key)
            if node is None or node == GROUND:
                raise self.error(f"'{ref}' is on ground: nothing to probe", ref.line, ref.column,
                                 str(ref))
            return f"v({node})"

        refs = [r for p in self.net.probes for r in p.targets]
        if not self.net.probes:
            refs = [Ref(el.name, None, el.line, el.column) for el in self.elements.values()
                    if el.kind == "neuron"]
        for ref in refs:
            target = self.lookup(ref)
            if isinstance(target, NodeDecl):
                if ref.pin is not None:
                    self.pin_of(ref, target)
                add(target.name.lower(), node_vector(_node_key(target.name.lower()), ref))
                continue
            label = str(ref).lower()
            if ref.pin is None:
                if target.kind == "neuron":
                    add(label, node_vector(_pin_key(target.name, "mem"), ref))
                elif target.kind == "source" and isinstance(target.decl, (Source, Train)):
                    for pin in target.pins:
                        key = _pin_key(target.name, pin)
                        if nodes.get(key, GROUND) != GROUND:
                            add(f"{label}.{pin}", f"v({nodes[key]})")
                    # a source's probe also saves its current (a 0 V source is an ammeter;
                    # a spike train's: its first source's)
                    if target.decl.kind == "v":
                        add(f"{label}.i", f"i(v{target.name})")
                else:
                    for pin in target.pins:
                        key = _pin_key(target.name, pin)
                        if nodes.get(key, GROUND) != GROUND:
                            add(f"{label}.{pin}", f"v({nodes[key]})")
                continue
            pin = ref.pin.lower()
            if pin in target.pins:
                add(label, node_vector(_pin_key(target.name, pin), ref))
            elif target.model is not None and pin in target.model.internal_nodes:
                add(label, f"v(x{target.name}.{pin})")
            else:
                inside = ""
                if target.model is not None:
                    inside = " or internal node of " + target.model.name
                raise self.error(
                    f"{_describe(target)} has no pin{inside} called '{ref.pin}'; "
                    "its pins: " + ", ".join(target.pins), ref.line, ref.column, str(ref))

        locks: list[tuple[str, str]] = []
        for pair in self.net.lock_pairs:
            labels = []
            for ref in (pair.master, pair.slave):
                target = self.lookup(ref)
                if not (isinstance(target, _Element) and target.kind == "neuron") or ref.pin:
                    raise self.error(f"lock pairs name two neurons; '{ref}' is not a neuron",
                                     ref.line, ref.column, str(ref))
                add(target.name, node_vector(_pin_key(target.name, "mem"), ref))
                labels.append(target.name)
            if labels[0] == labels[1]:
                raise self.error("a lock pair needs two different neurons",
                                 pair.slave.line, pair.slave.column, pair.slave.name)
            locks.append((labels[0], labels[1]))
        return probes, locks

    # tran ---------------------------------------------------------------------------------------

    def tran(self) -> tuple[str, tuple[float | None, float, float | None, float | None]] | None:
        if not self.net.trans:
            return None
        for extra in self.net.trans[1:]:
            raise self.error(f"a second 'tran' (the first is at line {self.net.trans[0].line})",
                             extra.line, extra.column, "tran")
        tran = self.net.trans[0]
        self.check_value(tran.stop, "tran")
        if tran.stop.number is not None and not tran.stop.number > 0:
            raise self.error(f"tran stop time must be > 0 (got {tran.stop.text})",
                             tran.stop.line, tran.stop.column, "tran")
        opts: dict[str, Value] = {}
        flags: list[str] = []
        for opt in tran.options:
            key = opt.name.lower()
            if opt.value is None:
                if key not in _TRAN_FLAGS:
                    raise self.error(
                        f"unknown tran flag '{opt.name}'; flags: {', '.join(_TRAN_FLAGS)}; "
                        f"options: {', '.join(o + ' = ...' for o in _TRAN_OPTIONS)}",
                        opt.line, opt.column, opt.name)
                flags.append(key)
                continue
            if key not in _TRAN_OPTIONS:
                raise self.error(
                    f"unknown tran option '{opt.name}'; options: {', '.join(_TRAN_OPTIONS)}"
                    + _did_you_mean(key, _TRAN_OPTIONS), opt.line, opt.column, opt.name)
            if key in opts:
                raise self.error(f"tran option '{opt.name}' given twice",
                                 opt.line, opt.column, opt.name)
            self.check_value(opt.value, f"tran option '{opt.name}'")
            if opt.value.number is not None and opt.value.number < 0 or (
                    key != "start" and opt.value.number == 0):
                raise self.error(f"tran option '{opt.name}' must be > 0 (got {opt.value.text})",
                                 opt.value.line, opt.value.column, opt.name)
            if key == "reltol" and not (opt.value.number is not None
                                        and 0 < opt.value.number < 1):
                raise self.error(f"tran option 'reltol' is a number between 0 and 1 (got "
                                 f"{opt.value.text})", opt.value.line, opt.value.column,
                                 opt.name)
            opts[key] = opt.value
        stop = tran.stop.spice()
        if "step" in opts:
            step = opts["step"].spice()
        elif "max_step" in opts:
            step = opts["max_step"].spice()
        elif tran.stop.number is not None:
            step = f"{tran.stop.number / 1000:g}"
        else:
            step = "{" + tran.stop.spice().strip("{}") + "/1000}"
        parts = [".tran", step, stop]
        if "start" in opts or "max_step" in opts:
            parts.append(opts["start"].spice() if "start" in opts else "0")
        if "max_step" in opts:
            parts.append(opts["max_step"].spice())
        parts.extend(f for f in flags if f != "gear")
        card = " ".join(parts)
        if "gear" in flags:  # the stiff second-order synapses want an L-stable integrator
            card = f".options method=gear\n{card}"
        if "reltol" in opts:  # the solver's relative tolerance travels with the analysis
            card = f".options reltol={opts['reltol'].spice()}\n{card}"

        def num(v: Value | None) -> float | None:
            return v.number if v is not None else None

        numbers = (num(opts.get("step") or opts.get("max_step")), tran.stop.number or 0.0,
                   num(opts.get("start")), num(opts.get("max_step")))
        return card, numbers

    # output -------------------------------------------------------------------------------------

    def include_text(self, path: Path) -> str:
        try:
            rel = path.relative_to(self.base_dir)
            return f'.include "{rel.as_posix()}"'
        except ValueError:
            return f'.include "{path.as_posix()}"'


def _train_cards(name: str, decl: Train, p_node: str, n_node: str) -> list[str]:
    """Two PULSE sources in series: ``+vp`` for ``ts``, then ``-vh`` for ``th``, every period.

    Each pulse's width counts its rise and half its fall (PW = width - edge), so the area is
    amplitude x width; the heating pulse starts when the programming pulse starts to fall.
    """
    given = {a.name.lower(): a.value for a in decl.args}

    def x(key: str) -> str:
        value = given.get(key)
        if value is None:
            return f"{TRAIN_DEFAULTS[key]:.9g}"
        if value.number is not None:
            return f"{value.number:.9g}"
        return "(" + value.spice().strip("{}") + ")"

    def num(expr: str) -> str:
        return "{" + expr + "}" if expr.startswith("(") else expr

    mid = f"{name}_mid"
    vp, ts, vh, th, per, delay, edge = (x(k) for k in ("vp", "ts", "vh", "th", "period",
                                                         "delay", "edge"))
    prog = (f"V{name} {p_node} {mid} pulse(0 {num(vp)} {num(delay)} {num(edge)} {num(edge)} "
            f"{{{ts}-{edge}}} {num(per)})")
    heat = (f"V{name}_h {mid} {n_node} pulse(0 {{-{vh}}} {{{delay}+{ts}}} {num(edge)} "
            f"{num(edge)} {{{th}-{edge}}} {num(per)})")
    return [prog, heat]


def _name_column(decl: object) -> int:
    """Column of the declared name (the word after the keyword)."""
    if isinstance(decl, NodeDecl):
        return decl.column
    return int(getattr(decl, "name_column", getattr(decl, "column", 1)))


def _decl_name_column(el: _Element) -> int:
    return _name_column(el.decl) if el.decl is not None else el.column


def _describe(el: _Element) -> str:
    """``memristor 'm1' (zro2)``, ``resistor 'r2'``, ``load(10k)``."""
    if isinstance(el.decl, Load):
        return f"load({el.decl.value.text})"
    if el.model is not None:
        return f"{el.kind} '{el.name}' ({el.model.name})"
    return f"{el.kind} '{el.name}'"


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _neuron_names(*registries: Registry) -> list[str]:
    return sorted({n for r in registries for n in r.names("neuron")})


def _memristor_names(*registries: Registry) -> list[str]:
    return sorted({n for r in registries for n in r.names("memristor")})


def _path(adjacency: dict[str, list[tuple[str, str]]], start: str, goal: str) -> list[str]:
    """Element names on the path from ``start`` to ``goal`` (breadth-first)."""
    previous: dict[str, tuple[str, str] | None] = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        if node == goal:
            break
        for nxt, name in adjacency.get(node, []):
            if nxt not in previous:
                previous[nxt] = (node, name)
                queue.append(nxt)
    names: list[str] = []
    node = goal
    while previous.get(node) is not None:
        prev, name = previous[node]  # type: ignore[misc]
        names.append(name)
        node = prev
    return names[::-1]


def build_deck(
    network: Network,
    *,
    source_path: str | Path | None = None,
    registry: Registry | None = None,
    library_dir: str | Path | None = None,
) -> Deck:
    """Check ``network`` and assemble its SPICE deck.

    Parameters
    ----------
    network
        From :func:`neurospice.network.parse_network`.
    source_path
        The network file (defaults to ``network.path``): named in the deck's
        title, and ``use`` paths and relative ``.include``\\s resolve from its folder.
    registry
        Models available without ``use`` (their library is included
        automatically); defaults to the package library (``netlists/lib`` or
        ``$NEUROSPICE_LIB``).  Models from ``use``\\d files take precedence.
    library_dir
        The package library folder, where ``use "lib/x.lib"`` also looks
        (``<library_dir>/..``) when the file is not beside the network file.

    Raises
    ------
    NetworkSemanticError
        Unknown model or parameter, undeclared or duplicate name, a neuron
        never connected, a loop with no neuron, a non-positive resistance...
    """
    path = Path(source_path) if source_path is not None else None
    lib_dir = Path(library_dir).resolve() if library_dir is not None else None
    asm = _Assembler(network, path, registry, lib_dir)
    used_files = asm.resolve_uses()
    fallback = registry if registry is not None else Registry.default(asm.library_dir)
    # models of the used files take precedence over the package library
    combined = Registry.from_paths(used_files + [p for p in fallback.libraries
                                                 if p not in used_files])
    asm.declare(combined)
    for conn in network.connections:
        asm.wire(conn)
    nodes = asm.check_graph()
    probes, locks = asm.probes(nodes)
    tran = asm.tran()

    # includes: the used files, then whatever their models need from the package library
    subckt_names = sorted({el.model.name for el in asm.elements.values() if el.model is not None})
    extra = combined.libraries_for(subckt_names, provided=used_files)
    includes = used_files + [p for p in extra if p not in used_files]

    where = asm.path.name if asm.path is not None else "<text>"
    lines = [f"* neurospice network {where}",
             f"* generated from {asm.path if asm.path is not None else 'text'}; "
             "edit the network file, not this deck"]
    for inc in includes:
        if inc not in used_files:
            lines.append("* library included for the models it defines:")
        lines.append(asm.include_text(inc))
    if asm.params:
        lines.append("")
        for param in asm.params.values():
            lines.append(f".param {param.name.lower()}={param.value.spice()}")
    if asm.options_seed is not None:
        lines.append(f".options seed={asm.options_seed[0]}")

    def pin_nodes(el: _Element) -> list[str]:
        return [nodes[_pin_key(el.name, p)] for p in el.pins]

    groups = {"neuron": "neurons", "memristor": "memristors", "resistor": "resistors",
              "load": "resistors", "source": "sources"}
    emitted: set[str] = set()
    for kind in ("neuron", "memristor", "resistor", "source"):
        group = [el for el in asm.elements.values() if groups[el.kind] == groups[kind]]
        if not group or groups[kind] in emitted:
            continue
        emitted.add(groups[kind])
        lines.append("")
        lines.append(f"* {groups[kind]}")
        for el in group:
            decl = el.decl
            if isinstance(decl, (Neuron, Memristor)):
                assert el.model is not None
                overrides = [f"{ov.name.lower()}={ov.value.spice()}" for ov in decl.overrides
                             if ov.name.lower() != "seed" or "seed" in el.model.params]
                lines.append(" ".join([f"X{el.name}", *pin_nodes(el), el.model.name,
                                       *overrides]))
            elif isinstance(decl, (Resistor, Load)):
                lines.append(f"R{el.name} {' '.join(pin_nodes(el))} {decl.value.spice()}")
            elif isinstance(decl, Source):
                letter = "V" if decl.kind == "v" else "I"
                p_node, n_node = pin_nodes(el)
                if letter == "I":
                    # ngspice's I p n drives its current from p through the source to n:
                    # to push toward the arrow (into p's node), the source is written n -> p
                    p_node, n_node = n_node, p_node
                lines.append(f"{letter}{el.name} {p_node} {n_node} {decl.spec}")
            elif isinstance(decl, Train):
                p_node, n_node = pin_nodes(el)
                lines.extend(_train_cards(el.name, decl, p_node, n_node))
    netlist = "\n".join(lines) + "\n"
    analysis: list[str] = []
    if tran is not None:
        analysis.append(tran[0])
    if probes:
        analysis.append(".save " + " ".join(dict.fromkeys(v for _, v in probes)))
    text = netlist + "\n" + "\n".join(analysis + [".end"]) + "\n"
    pin_map = {key: node for key, node in nodes.items() if not key.startswith("@")}
    return Deck(
        text=text,
        netlist=netlist,
        probes=probes,
        lock_pairs=locks,
        includes=includes,
        source_path=asm.path,
        base_dir=asm.base_dir,
        nodes=pin_map,
        tran=tran[1] if tran is not None else None,
        warnings=asm.warnings,
    )


def compile_network(text: str, path: str | Path | None = None, **kwargs: object) -> Deck:
    """Parse and assemble network text in one step (see :func:`build_deck`)."""
    from neurospice.network.transformer import parse_network

    network = parse_network(text, path)
    return build_deck(network, source_path=path, **kwargs)  # type: ignore[arg-type]


def compile_file(path: str | Path, **kwargs: object) -> Deck:
    """Read, parse and assemble a network file (see :func:`build_deck`)."""
    from neurospice.network.transformer import load_network

    network = load_network(path)
    return build_deck(network, source_path=path, **kwargs)  # type: ignore[arg-type]
