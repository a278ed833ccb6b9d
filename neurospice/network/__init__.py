"""The network language: grammar (``network.lark``), typed records, and assembly to SPICE.

>>> from neurospice.network import parse_network, build_deck
>>> net = parse_network("neuron a : fhn\\nneuron b : fhn\\na -> load(10k) -> b\\n", "ab.nsn")
>>> [n.name for n in net.neurons]
['a', 'b']

The names load on first use: a ``.cir`` run never pays for the grammar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from neurospice.network.assembler import Deck, build_deck, compile_file, compile_network
    from neurospice.network.errors import NetworkSemanticError, NetworkSyntaxError
    from neurospice.network.network import (
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
        Synapse,
        Tran,
        TranOption,
        Use,
        Value,
    )
    from neurospice.network.transformer import RESERVED_WORDS, load_network, parse_network

__all__ = [
    "Connection",
    "Deck",
    "build_deck",
    "compile_file",
    "compile_network",
    "Ground",
    "Load",
    "LockPair",
    "Memristor",
    "Network",
    "NetworkSemanticError",
    "NetworkSyntaxError",
    "Neuron",
    "NodeDecl",
    "Param",
    "ParamOverride",
    "Probe",
    "RESERVED_WORDS",
    "Ref",
    "Resistor",
    "Seed",
    "Source",
    "Synapse",
    "Tran",
    "TranOption",
    "Use",
    "Value",
    "load_network",
    "parse_network",
]

#: where each name lives; loaded on first use (a ``.cir`` run never needs the grammar)
_HOME = {
    "assembler": ["Deck", "build_deck", "compile_file", "compile_network"],
    "errors": ["NetworkSemanticError", "NetworkSyntaxError"],
    "transformer": ["RESERVED_WORDS", "load_network", "parse_network"],
}
_HOME["network"] = [n for n in __all__ if not any(n in names for names in _HOME.values())]

__getattr__, __dir__, _ = lazy_loader.attach(__name__, submod_attrs=_HOME)
