"""neurospice: SPICE-style simulation of FitzHugh-Nagumo neuron circuits coupled through memristors.

The circuits live in ``netlists/`` (the single source of truth); this package checks and runs
them in ngspice, analyses the waveforms (spikes, phase locking) and reports.
"""

from neurospice.spice.resources import NETLISTS_DIR

__version__ = "0.1.0"

__all__ = ["NETLISTS_DIR", "__version__"]
