"""The network language: grammar (``network.lark``), typed records, and assembly to SPICE.

>>> from neurospice.network import parse_network, build_deck
>>> net = parse_network("neuron a : fhn\\nneuron b : fhn\\na -> load(10k) -> b\\n", "ab.nsn")
>>> [n.name for n in net.neurons]
['a', 'b']
"""

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
