"""SPICE numbers, read as ngspice reads them.

``m`` is milli, ``meg`` is mega, letters after the scale suffix are units and ignored (``5ms`` =
5e-3, ``10kohm`` = 1e4). Formatting back to text with SI prefixes lives here too.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_si", "is_number", "format_si", "E_SERIES", "series_values", "nearest_in_series"]

_SCALE = {
    "t": 1e12,
    "g": 1e9,
    "k": 1e3,
    "m": 1e-3,
    "u": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
    "f": 1e-15,
}
_NUMBER_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([A-Za-z]*)\s*$")


def parse_si(text: str) -> float:
    """Parse a SPICE number with an optional SI scale suffix, as ngspice does.

    Suffixes (case-insensitive): ``f`` 1e-15, ``p`` 1e-12, ``n`` 1e-9, ``u`` 1e-6,
    ``m`` 1e-3 (milli!), ``k`` 1e3, ``meg`` 1e6, ``g`` 1e9, ``t`` 1e12, ``mil``
    25.4e-6.  Letters after the suffix (units: ``s``, ``ohm``, ``V``, ``Hz``) are
    ignored, and so are letters that are no suffix (``1V`` = 1, ``10Hz`` = 10).

    Parameters
    ----------
    text
        E.g. ``"10k"``, ``"2.2u"``, ``"5ms"``, ``"1meg"``, ``"-3.5e-2V"``.

    Returns
    -------
    float
        The value in base units.

    Raises
    ------
    ValueError
        If ``text`` does not start with a number.
    """
    m = _NUMBER_RE.match(text)
    if m is None:
        raise ValueError(f"not a SPICE number: {text!r}")
    value = float(m.group(1))
    letters = m.group(2).lower()
    if letters.startswith("meg"):
        return value * 1e6
    if letters.startswith("mil"):
        return value * 25.4e-6
    if letters:
        return value * _SCALE.get(letters[0], 1.0)
    return value


def is_number(text: str) -> bool:
    """True if ``text`` is a SPICE number (see :func:`parse_si`)."""
    return _NUMBER_RE.match(text) is not None


_PREFIXES = [(1e12, "T"), (1e9, "G"), (1e6, "Meg"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
             (1e-6, "u"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]


def format_si(value: float, digits: int = 4) -> str:
    """``value`` with an SPICE SI prefix: ``5000`` -> ``"5k"``, ``2.2e-6`` -> ``"2.2u"``.

    The result reads back through :func:`parse_si` to ``value`` within ``digits``
    significant digits; zero, infinities and NaN print as Python does.
    """
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    mag = abs(value)
    for scale, prefix in _PREFIXES:
        if mag >= scale * (1 - 1e-12):
            return f"{value / scale:.{digits}g}{prefix}"
    return f"{value:.{digits}g}"


#: The IEC 60063 preferred-number series (one decade, 1.0 .. <10).
E_SERIES: dict[str, tuple[float, ...]] = {
    "E6": (1.0, 1.5, 2.2, 3.3, 4.7, 6.8),
    "E12": (1.0, 1.2, 1.5, 1.8, 2.2, 2.7, 3.3, 3.9, 4.7, 5.6, 6.8, 8.2),
    "E24": (1.0, 1.1, 1.2, 1.3, 1.5, 1.6, 1.8, 2.0, 2.2, 2.4, 2.7, 3.0, 3.3, 3.6, 3.9, 4.3,
            4.7, 5.1, 5.6, 6.2, 6.8, 7.5, 8.2, 9.1),
    # E96 is the rounded geometric series (the published table has no exceptions)
    "E96": tuple(round(10 ** (i / 96), 2) for i in range(96)),
}

def _decade_values(series: str) -> tuple[float, ...]:
    key = series.upper()
    if key not in E_SERIES:
        raise ValueError(f"unknown series {series!r} (known: {', '.join(E_SERIES)})")
    return E_SERIES[key]


def series_values(series: str, start: float, stop: float) -> list[float]:
    """The values of an E-series between ``start`` and ``stop`` inclusive, ascending."""
    lo, hi = sorted((abs(start), abs(stop)))
    if lo <= 0:
        raise ValueError("E-series ranges must be positive")
    base = _decade_values(series)
    out = []
    for exp in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in base:
            v = float(f"{m * 10.0 ** exp:.6g}")
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                out.append(v)
    return sorted(set(out))


def nearest_in_series(value: float, series: str) -> float:
    """The value of ``series`` nearest to ``value`` (relative distance; sign kept)."""
    if value == 0 or not math.isfinite(value):
        return value
    mag = abs(value)
    exp = math.floor(math.log10(mag))
    cands = [float(f"{m * 10.0 ** e:.6g}") for e in (exp - 1, exp, exp + 1)
             for m in _decade_values(series)]
    best = min(cands, key=lambda c: abs(math.log(c / mag)))
    return math.copysign(best, value)
