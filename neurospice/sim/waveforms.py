"""The shared result type of every engine: :class:`Waveforms`, the vectors of one analysis.

ngspice's driver (:mod:`neurospice.sim.ngspice`) and the model engine (:mod:`neurospice.sim.model`)
both return it; the report, batch and API stages import it from here, not from a driver.
numpy is imported for type checking only, so importing this module stays cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    import numpy as np

__all__ = ["Waveforms", "failed_measurements", "measurements"]


@dataclass
class Waveforms:
    """The vectors of one ngspice analysis.

    Attributes
    ----------
    analysis
        ``"tran"``, ``"ac"``, ``"dc"``, ``"op"`` ...
    scale
        The independent variable: time (s), frequency (Hz) or the swept value.
    vectors
        Vector name (``"v(mem)"``, ``"v(xm1.w)"``, ``"i(v1)"``; lower case) to values (complex
        for AC).
    units
        Vector name to unit (``"V"``, ``"A"``, ``"s"``, ``"Hz"``, or ``""``); once the vectors are
        named (:meth:`label`), the true unit (``"ohm"`` for a memristor's read resistance, ``"1"``
        for its state).
    labels
        Vector name to the name every output uses (``"v(smem)"`` -> ``"slave.mem"``, set by
        :meth:`label`); ``wf["slave.mem"]`` and ``wf["v(smem)"]`` give the same vector.
    """

    analysis: str
    plot: str
    scale_name: str
    scale: np.ndarray
    vectors: dict[str, np.ndarray]
    units: dict[str, str] = field(default_factory=dict)
    raw_path: Path | None = None
    log: list[str] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    sandbox: dict[str, object] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        n = len(self.scale)
        span = ""
        if n:
            lo, hi = float(self.scale.min()), float(self.scale.max())
            unit = {"time": " s", "frequency": " Hz"}.get(self.scale_name, "")
            span = f", {self.scale_name} {lo:.4g}..{hi:.4g}{unit}"
        names = list(self.vectors)
        shown = ", ".join(names[:6]) + (f", ... ({len(names) - 6} more)" if len(names) > 6
                                        else "")
        return f"<Waveforms {self.analysis}: {n} points{span}; {len(names)} vectors: {shown}>"

    @property
    def names(self) -> list[str]:
        """Names of the vectors (without the scale)."""
        return list(self.vectors)

    def label(self, columns: Iterable[tuple[str, str, str]]) -> None:
        """Name the vectors: each ``(name, vector, unit)`` makes ``name`` a key of this record
        and ``unit`` the vector's unit (see
        :func:`neurospice.report.summary.waveform_columns`, the one naming of outputs)."""
        for name, vector, unit in columns:
            if vector in self.vectors:
                if name != vector:
                    self.labels[vector] = name
                self.units[vector] = unit

    def vector_of(self, name: str) -> str:
        """ngspice's name of the vector ``name`` (either name; KeyError when there is none)."""
        return self._key(name)

    def name_of(self, vector: str) -> str:
        """The name outputs give ``vector`` (itself when it has no other)."""
        return self.labels.get(vector, vector)

    def __contains__(self, name: str) -> bool:
        try:
            self._key(name)
        except KeyError:
            return False
        return True

    def __getitem__(self, name: str) -> np.ndarray:
        return self.vectors[self._key(name)]

    def _key(self, name: str) -> str:
        low = name.strip().lower()
        if low == self.scale_name:
            raise KeyError(name)
        for cand in (low, f"v({low})"):
            if cand in self.vectors:
                return cand
        for vector, label in self.labels.items():
            if label.lower() == low:
                return vector
        m = re.fullmatch(r"v\((.+)\)", low)
        if m and m.group(1) in self.vectors:
            return m.group(1)
        shown = (f"{self.labels[v]} ({v})" if v in self.labels else v for v in self.vectors)
        raise KeyError(f"no vector {name!r}; available: {', '.join(shown)}")

    @property
    def measurements(self) -> dict[str, float]:
        """``.meas`` results of the run (name, lower case -> value)."""
        return measurements(self.stdout)

    @property
    def failed_measurements(self) -> dict[str, str]:
        """``.meas`` cards that never triggered (ngspice: "... failed!"): name -> the card."""
        return failed_measurements(self.log)

    @property
    def time(self) -> np.ndarray:
        """The time axis of a transient analysis (s)."""
        if self.analysis != "tran":
            raise ValueError(f"a {self.analysis} analysis has no time axis")
        return self.scale


_MEAS_RE = re.compile(r"^\s*([A-Za-z_][\w]*)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
                      r"(?:\s|$)")


def measurements(stdout: list[str]) -> dict[str, float]:
    """``.meas`` results from what ngspice printed (``name = value`` lines after a
    "Measurements for ..." heading)."""
    out: dict[str, float] = {}
    inside = False
    for line in stdout:
        if "measurements for" in line.lower():
            inside = True
            continue
        if inside:
            m = _MEAS_RE.match(line)
            if m:
                out[m.group(1).lower()] = float(m.group(2))
            elif line.strip() and not line.strip().startswith(("*", "-")):
                inside = "=" in line
    return out


_MEAS_FAILED_RE = re.compile(r"^\s*(\.meas\w*\s+\w+\s+([A-Za-z_]\w*)\b.*?)\s+failed!?\s*$",
                             re.IGNORECASE)


def failed_measurements(log: list[str]) -> dict[str, str]:
    """``.meas`` cards ngspice reported as failed (the condition never met in the run): name
    (lower case) -> the card as ngspice printed it."""
    out: dict[str, str] = {}
    for line in log:
        m = _MEAS_FAILED_RE.match(line)
        if m:
            out[m.group(2).lower()] = m.group(1).strip()
    return out
