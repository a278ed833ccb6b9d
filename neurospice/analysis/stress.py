"""What each part of a board goes through in a run: the figures its ratings are chosen from.

A part is bought for the stress it sees: a resistor for the power it dissipates, a capacitor for
the voltage across it, an op-amp for the swing and slew of its output, a supply for the current
of each rail. :func:`part_stress` reads them from a run that saved every node voltage and device
current (``.options savecurrents`` and ``.save all``, as ``simulate --energy`` does) and the
deck's branches (:func:`~neurospice.analysis.energy.netlist_branches`). :func:`rating_for`
picks the smallest standard rating with a derating margin.

Pure functions; units: s, V, A, W, V/s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from neurospice.analysis.energy import Branch, VectorSource, branch_power

__all__ = ["PartStress", "OutputStress", "part_stress", "output_stress", "rating_for",
           "instance_path", "POWER_RATINGS_W", "VOLTAGE_RATINGS_V", "POWER_DERATING",
           "VOLTAGE_DERATING"]

#: Standard resistor power ratings (W), smallest first.
POWER_RATINGS_W = (0.063, 0.1, 0.125, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
#: Standard capacitor voltage ratings (V), smallest first.
VOLTAGE_RATINGS_V = (6.3, 10.0, 16.0, 25.0, 35.0, 50.0, 63.0, 100.0, 160.0, 250.0, 400.0)
#: A resistor is rated for at least this multiple of its peak power (a 50 % derating:
#: metal-film parts are specified at 70 C ambient, and the board's peaks last milliseconds).
POWER_DERATING = 2.0
#: A capacitor is rated for at least this multiple of its largest voltage.
VOLTAGE_DERATING = 1.5


@dataclass(frozen=True)
class PartStress:
    """The stress one two-terminal part sees over the run.

    Attributes
    ----------
    path : str
        Instance path (``xslave.rtop``), as the parts list names it.
    v_peak : float
        Largest absolute voltage across the part (V).
    i_peak : float
        Largest absolute current through it (A).
    p_mean : float
        Mean absorbed power over the run (W).
    p_peak : float
        Largest absorbed power (W).
    """

    path: str
    v_peak: float
    i_peak: float
    p_mean: float
    p_peak: float


@dataclass(frozen=True)
class OutputStress:
    """What an op-amp's output does: its swing (V) and largest slew rate (V/s)."""

    path: str
    v_min: float
    v_max: float
    slew: float

    def signal_frequency(self) -> float:
        """The frequency (Hz) of a sine of the same swing whose steepest slope equals the
        largest slew seen: a lower bound on the bandwidth the output needs."""
        amp = 0.5 * (self.v_max - self.v_min)
        return self.slew / (2 * np.pi * amp) if amp > 0 else 0.0


def instance_path(device: str) -> str:
    """ngspice's device name (``r.xslave.rtop``) as an instance path (``xslave.rtop``)."""
    letter, dot, rest = device.partition(".")
    return rest if dot and len(letter) == 1 else device


def _node_voltage(vectors: VectorSource, node: str, n: int) -> np.ndarray:
    if node == "0":
        return np.zeros(n)
    return np.asarray(vectors[f"v({node})"], dtype=np.float64)


def part_stress(t: ArrayLike, vectors: VectorSource, branches: Sequence[Branch]
                ) -> dict[str, PartStress]:
    """The stress of every two-terminal branch whose vectors the run saved, by instance path.

    Branches of more than two terminals (transistors) and branches whose vectors are missing are
    left out.
    """
    ta = np.asarray(t, dtype=np.float64)
    span = float(ta[-1] - ta[0]) if ta.size > 1 else 0.0
    out: dict[str, PartStress] = {}
    for br in branches:
        if len(br.terminals) != 2:
            continue
        (a, vec, sign), (b, _, _) = br.terminals
        try:
            v = _node_voltage(vectors, a, ta.size) - _node_voltage(vectors, b, ta.size)
            i = sign * np.asarray(vectors[vec], dtype=np.float64)
        except KeyError:
            continue
        p = branch_power(ta, vectors, br)
        mean = float(np.trapezoid(p, ta) / span) if span > 0 else float(p.mean())
        out[instance_path(br.name)] = PartStress(instance_path(br.name), float(np.max(np.abs(v))),
                                         float(np.max(np.abs(i))), mean,
                                         float(np.max(p)))
    return out


def output_stress(t: ArrayLike, v: ArrayLike, path: str) -> OutputStress:
    """Swing and largest slew rate of one output voltage ``v`` (V) over ``t`` (s)."""
    ta = np.asarray(t, dtype=np.float64)
    va = np.asarray(v, dtype=np.float64)
    dt = np.diff(ta)
    ok = dt > 0
    slew = float(np.max(np.abs(np.diff(va)[ok] / dt[ok]))) if np.any(ok) else 0.0
    return OutputStress(path, float(va.min()), float(va.max()), slew)


def rating_for(stress: float, ratings: Sequence[float], derating: float) -> float | None:
    """The smallest of ``ratings`` at least ``derating * stress``; None when none is."""
    need = derating * abs(stress)
    return next((r for r in ratings if r >= need), None)
