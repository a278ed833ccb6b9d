"""SPICE numbers, read as ngspice reads them.

``m`` is milli, ``meg`` is mega, letters after the scale suffix are units and ignored (``5ms`` =
5e-3, ``10kohm`` = 1e4). Formatting back to text with SI prefixes lives here too.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_si", "is_number", "format_si"]

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
