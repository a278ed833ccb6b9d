"""Analysis of simulated waveforms: spikes, phases, locking ratios, timelines, plots.

Pure functions on numpy arrays; results are dataclasses. Nothing here runs ngspice.
Figures live in :mod:`neurospice.report.plots` (imported on demand, it loads matplotlib).

Ratio convention: ``f_master / f_slave ~ n / m`` for an ``"n:m"`` mode, so "2:1"
means the master fires twice per slave spike.

A neuron's spikes are counted at its own levels (:class:`Thresholds`, from the knees of its
I-V: :func:`thresholds_from_iv`); :func:`detect_responses` finds spikes and partial responses;
:func:`classify_cycles` names the mode of the slave's response per master cycle
(``"1:1 period 2"``, ``"2:1 + partial"``, ``"1:1 partial"``, ...) and :func:`judge` says
whether a moved threshold would change it (docs/analysis.md).
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
from neurospice.analysis.modes import (
    CycleTable,
    Judgement,
    Verdict,
    classify_cycles,
    cycle_table,
    judge,
)
from neurospice.analysis.spikes import (
    Responses,
    SpikeStats,
    SpikeTrain,
    Thresholds,
    detect_responses,
    detect_spikes,
    half_widths,
    robust_range,
    spike_stats,
    thresholds_from_iv,
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
    "CycleTable",
    "Judgement",
    "Responses",
    "Thresholds",
    "Verdict",
    "classify_cycles",
    "cycle_table",
    "detect_responses",
    "judge",
    "thresholds_from_iv",
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
