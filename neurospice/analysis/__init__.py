"""Analysis of simulated waveforms: spikes, phases, locking ratios, timelines, plots.

Pure functions on numpy arrays; results are dataclasses. Nothing here runs ngspice.
Figures live in :mod:`neurospice.report.plots` (imported on demand, it loads matplotlib).

Ratio convention: ``f_master / f_slave ~ n / m`` for an ``"n:m"`` mode, so "2:1"
means the master fires twice per slave spike.
"""

from neurospice.analysis.locking import (
    LockResult,
    best_ratio,
    classify_locking,
    frequency_ratio,
    instantaneous_phase,
    phase_difference,
    phase_locking,
    phase_ratio,
)
from neurospice.analysis.spikes import (
    SpikeStats,
    SpikeTrain,
    detect_spikes,
    half_widths,
    robust_range,
    spike_stats,
)
from neurospice.analysis.timeline import (
    DwellStats,
    Episode,
    Switch,
    Timeline,
    Window,
    local_variation,
    locking_timeline,
)

__all__ = [
    "DwellStats",
    "Episode",
    "Switch",
    "Timeline",
    "Window",
    "local_variation",
    "locking_timeline",
    "SpikeStats",
    "SpikeTrain",
    "LockResult",
    "best_ratio",
    "classify_locking",
    "detect_spikes",
    "frequency_ratio",
    "half_widths",
    "instantaneous_phase",
    "phase_difference",
    "phase_locking",
    "phase_ratio",
    "robust_range",
    "spike_stats",
]
