"""neurospice: SPICE-style simulation of FitzHugh-Nagumo neuron circuits coupled through memristors.

The circuits live in ``netlists/`` (the single source of truth); this package checks and runs
them in ngspice, analyses the waveforms (spikes, phase locking) and reports.
"""

from pathlib import Path

__version__ = "0.1.0"

#: Folder holding the shipped decks and the circuit library (``netlists/lib``).
NETLISTS_DIR = Path(__file__).resolve().parents[1] / "netlists"
