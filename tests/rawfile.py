"""A reader for ngspice's ASCII raw files (``SPICE_ASCIIRAWFILE=1`` or ``set filetype=ascii``).

A raw file holds one or more plots, one after the other. Each plot is a header of
``Key: value`` lines (``Title:``, ``Date:``, ``Plotname:``, ``Flags:``, ``No. Variables:``,
``No. Points:``, and others ngspice may add such as ``Command:`` or ``Offset:``), then
``Variables:`` with one ``index name type`` line per vector, then ``Values:`` with, for each
point, the point index followed by one value per vector (the first value on the index's line,
the rest on lines of their own). ``Flags: complex`` plots write every value as ``re,im``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["RawPlot", "RawFormatError", "read_raw", "parse_raw"]


class RawFormatError(ValueError):
    """The text is not an ASCII raw file this reader understands."""


@dataclass
class RawPlot:
    """One plot of a raw file.

    Attributes
    ----------
    title, plotname, flags
        The header fields (``flags`` lower case, e.g. ``"real"`` or ``"complex"``).
    names
        Vector names in file order (as written, e.g. ``"v(out)"``, ``"i(v1)"``, ``"time"``).
        A name may occur twice: ngspice writes every branch of a multi-port XSPICE instance
        (``adac#branch_1_0``, ``adac#branch_1_1``) as ``i(adac)``.
    types
        The type of each vector as written (``"voltage"``, ``"current"``, ``"time"`` ...).
    columns
        The values of each vector (``complex128`` for complex plots, else ``float64``).
    """

    title: str
    plotname: str
    flags: str
    names: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    columns: list[np.ndarray] = field(default_factory=list)

    @property
    def complex(self) -> bool:
        return "complex" in self.flags.split()

    @property
    def vectors(self) -> dict[str, np.ndarray]:
        """Vector name -> values (the first vector of a name that occurs twice)."""
        out: dict[str, np.ndarray] = {}
        for name, col in zip(self.names, self.columns, strict=True):
            out.setdefault(name, col)
        return out

    @property
    def npoints(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def read_raw(path: str | Path) -> list[RawPlot]:
    """Every plot of the ASCII raw file ``path``, in file order."""
    return parse_raw(Path(path).read_text(encoding="utf-8", errors="replace"))


def _number(text: str, complex_: bool) -> complex | float:
    if complex_:
        re_, _, im = text.partition(",")
        return complex(float(re_), float(im or 0.0))
    return float(text)


def parse_raw(text: str) -> list[RawPlot]:
    """Parse ASCII raw-file ``text`` (see the module docstring)."""
    lines = text.splitlines()
    plots: list[RawPlot] = []
    i = 0
    n = len(lines)
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        header: dict[str, str] = {}
        while i < n and not lines[i].startswith(("Variables:", "Values:")):
            key, sep, value = lines[i].partition(":")
            if not sep:
                raise RawFormatError(f"line {i + 1}: expected a 'Key: value' header line, "
                                     f"got {lines[i]!r}")
            header[key.strip().lower()] = value.strip()
            i += 1
        if i >= n or not lines[i].startswith("Variables:"):
            raise RawFormatError(f"line {i + 1}: no 'Variables:' section")
        try:
            nvars = int(header["no. variables"])
            npoints = int(header["no. points"])
        except (KeyError, ValueError):
            raise RawFormatError(f"plot ending at line {i}: missing or bad 'No. Variables' / "
                                 "'No. Points'") from None
        plot = RawPlot(header.get("title", ""), header.get("plotname", ""),
                       header.get("flags", "real").lower())
        i += 1
        for _ in range(nvars):
            parts = lines[i].split()
            if len(parts) < 3:
                raise RawFormatError(f"line {i + 1}: bad variable line {lines[i]!r}")
            plot.names.append(parts[1])
            plot.types.append(parts[2])
            i += 1
        while i < n and not lines[i].strip():
            i += 1
        if i >= n or not lines[i].startswith("Values:"):
            raise RawFormatError(f"line {i + 1}: no 'Values:' section")
        i += 1
        values: list[str] = []
        need = npoints * (nvars + 1)
        while len(values) < need and i < n:
            values.extend(lines[i].split())
            i += 1
        if len(values) < need:
            raise RawFormatError(f"plot {plot.plotname!r}: {len(values)} numbers, expected "
                                 f"{need}")
        table = np.array(values[:need], dtype=object).reshape(npoints, nvars + 1)
        dtype = np.complex128 if plot.complex else np.float64
        for k in range(nvars):
            col = [_number(v, plot.complex) for v in table[:, k + 1]]
            plot.columns.append(np.array(col, dtype=dtype))
        plots.append(plot)
    return plots
