"""Plain data for a parsed network file: what the user declared, where, in order.

These records say what was written; they are not yet checked against the
model library (that is :func:`neurospice.network.assembler.build_deck`'s job).
Every record carries the 1-based ``line`` and ``column`` where it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "Value",
    "Use",
    "Param",
    "ParamOverride",
    "Neuron",
    "Memristor",
    "Synapse",
    "Resistor",
    "Source",
    "Train",
    "NodeDecl",
    "Ref",
    "Ground",
    "Load",
    "ChainItem",
    "Connection",
    "Tran",
    "TranOption",
    "Probe",
    "LockPair",
    "Seed",
    "Declaration",
    "Network",
]


@dataclass(frozen=True)
class Value:
    """A value as written: ``10k`` (number), ``{2*amp}`` (expression) or ``amp`` (a param).

    ``number`` is the numeric value in base units (SI suffix applied) for numbers,
    else None.
    """

    text: str
    kind: Literal["number", "expr", "param"]
    number: float | None
    line: int
    column: int

    def spice(self) -> str:
        """The value as SPICE text (a param reference becomes ``{name}``)."""
        if self.kind == "param":
            return "{" + self.text.lower() + "}"
        return self.text


@dataclass(frozen=True)
class Use:
    """``use "path"``: a library file, path as written (relative to the network file)."""

    path: str
    line: int
    column: int


@dataclass(frozen=True)
class Param:
    """``param name = value``: becomes a ``.param`` card."""

    name: str
    value: Value
    line: int
    column: int
    name_column: int  #: column of the declared name


@dataclass(frozen=True)
class ParamOverride:
    """``name = value`` inside a model call ``fhn(v3 = 0.35)``."""

    name: str
    value: Value
    line: int
    column: int


@dataclass(frozen=True)
class Neuron:
    """``neuron name : model(overrides)``; the model's pins are ``mem out``."""

    name: str
    model: str
    overrides: tuple[ParamOverride, ...]
    line: int
    column: int
    name_column: int  #: column of the declared name
    model_line: int
    model_column: int


@dataclass(frozen=True)
class Memristor:
    """``memristor name : model(overrides)`` (alias ``synapse``); a two-pin element."""

    name: str
    model: str
    overrides: tuple[ParamOverride, ...]
    line: int
    column: int
    name_column: int  #: column of the declared name
    model_line: int
    model_column: int


Synapse = Memristor


@dataclass(frozen=True)
class Resistor:
    """``resistor name : value`` (ohm)."""

    name: str
    value: Value
    line: int
    column: int
    name_column: int  #: column of the declared name


@dataclass(frozen=True)
class Source:
    """``source name : spec`` (voltage) or ``isource name : spec`` (current).

    ``spec`` is ngspice source syntax: ``dc 1``, ``sin(0 1 10)``, ``pulse(...)``.
    Pins ``p n``; in a chain the source pushes toward the arrow (``n`` on the
    node before it, ``p`` on the node after it).
    """

    name: str
    kind: Literal["v", "i"]
    spec: str
    line: int
    column: int
    name_column: int  #: column of the declared name
    spec_line: int
    spec_column: int


@dataclass(frozen=True)
class Train:
    """``source name : spikes(period = 1.6u, delay = 0, ...)``: a presynaptic spike train.

    Every ``period`` (s) from ``delay`` (s): ``+vp`` (V) for ``ts`` (s), then at once ``-vh``
    (V) for ``th`` (s), edges ``edge`` (s).  Pins ``p n`` and wiring as a voltage source.
    The parser gives a :class:`Source` (its spec is free text); the assembler reads the
    ``spikes(...)`` spec into this record.
    """

    name: str
    args: tuple[ParamOverride, ...]
    line: int
    column: int
    name_column: int  #: column of the declared name

    #: a train is a voltage source for wiring and probes
    kind: Literal["v"] = "v"


@dataclass(frozen=True)
class NodeDecl:
    """``node name``: a named circuit node usable in chains, links and probes."""

    name: str
    line: int
    column: int


@dataclass(frozen=True)
class Ref:
    """A name in a chain, link or probe, optionally with a pin: ``master`` or ``master.mem``."""

    name: str
    pin: str | None
    line: int
    column: int

    def __str__(self) -> str:
        return self.name if self.pin is None else f"{self.name}.{self.pin}"


@dataclass(frozen=True)
class Ground:
    """``gnd``: the reference node (SPICE node 0)."""

    line: int
    column: int


@dataclass(frozen=True)
class Load:
    """``load(10k)``: an anonymous resistor inside a chain."""

    value: Value
    line: int
    column: int


ChainItem = Ref | Ground | Load


@dataclass(frozen=True)
class Connection:
    """A chain ``a -> m1 -> r2 -> b`` or a link ``link a.mem -> tap``.

    In a chain a neuron sends from ``out`` and receives on ``mem``; each
    two-pin element sits between the node before it and a new node after it.
    A link only joins nodes (every item is a node, a pin or ``gnd``).
    """

    kind: Literal["chain", "link"]
    items: tuple[ChainItem, ...]
    line: int
    column: int


@dataclass(frozen=True)
class TranOption:
    """``step = 1ms``, ``start = 0``, ``max_step = 50us``, or a flag such as ``uic``."""

    name: str
    value: Value | None
    line: int
    column: int


@dataclass(frozen=True)
class Tran:
    """``tran 5s max_step = 50us``: a transient analysis (stop time in seconds)."""

    stop: Value
    options: tuple[TranOption, ...]
    line: int
    column: int


@dataclass(frozen=True)
class Probe:
    """``probe master, slave, m1.w``: what to save and report."""

    targets: tuple[Ref, ...]
    line: int
    column: int


@dataclass(frozen=True)
class LockPair:
    """``lock master slave``: a pair whose phase locking is analysed."""

    master: Ref
    slave: Ref
    line: int
    column: int


@dataclass(frozen=True)
class Seed:
    """``seed 42``: the seed of ngspice's random generator for the run (``.options seed=42``)."""

    value: Value
    line: int
    column: int


Declaration = Neuron | Memristor | Resistor | Source | NodeDecl | Param


@dataclass
class Network:
    """Everything a network file says, in the order written.

    Attributes
    ----------
    path
        The file it was read from (None for text given directly).
    text
        The source text (for error context).
    """

    path: Path | None = None
    text: str = ""
    uses: list[Use] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    neurons: list[Neuron] = field(default_factory=list)
    memristors: list[Memristor] = field(default_factory=list)
    resistors: list[Resistor] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    nodes: list[NodeDecl] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    trans: list[Tran] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    lock_pairs: list[LockPair] = field(default_factory=list)
    seeds: list[Seed] = field(default_factory=list)

    @property
    def tran(self) -> Tran | None:
        """The transient analysis (the first ``tran`` statement), if any."""
        return self.trans[0] if self.trans else None

    def declarations(self) -> list[Declaration]:
        """All named declarations, in source order."""
        decls: list[Declaration] = [
            *self.params, *self.neurons, *self.memristors, *self.resistors, *self.sources,
            *self.nodes,
        ]
        return sorted(decls, key=lambda d: (d.line, d.column))
