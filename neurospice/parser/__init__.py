"""The network language: grammar (``network.lark``), typed records, and assembly to SPICE.

>>> from neurospice.parser import parse_network, build_deck
"""

from neurospice.parser.errors import NetworkSemanticError, NetworkSyntaxError
from neurospice.parser.network import (
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
from neurospice.parser.transformer import RESERVED_WORDS, load_network, parse_network

__all__ = [
    "Connection",
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
