"""Analysis of simulated waveforms: spikes, phases, locking ratios, timelines, plots.

Pure functions on numpy arrays; results are dataclasses. Nothing here runs ngspice.
"""

from neurospice.analysis.spikes import (
    SpikeStats,
    SpikeTrain,
    detect_spikes,
    robust_range,
    spike_stats,
)

__all__ = [
    "SpikeStats",
    "SpikeTrain",
    "detect_spikes",
    "robust_range",
    "spike_stats",
]
