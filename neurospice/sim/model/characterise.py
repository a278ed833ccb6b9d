"""The FHN neuron's nonlinearity, measured once in ngspice on the deck's own library, cached.

The model engine does not restate the neuron's component values: it measures the shipped
``.subckt fhn`` (with whatever ``fhn.lib`` / ``parts.lib`` the deck includes) in ngspice and keeps
the results as tables. Two short ngspice runs (~2 s of CPU together):

DC sweep of the membrane voltage ``V`` (-12 ... +12 V, 10 mV) on ``fhn`` instances whose gyrator
is opened (``rs = 1 GOhm``; at DC the gyrator is a short, which would otherwise load the sweep):

* ``F(V)`` (A): the DC current into ``mem`` without the inductor branch: the cubic branch
  ``fhn_cubic`` (NIC, diode and JFET branches) plus every other DC load on ``mem`` (buffer inputs);
* ``H(V)`` (V): the gyrator reference node ``v3`` minus its value at ``V > 0``:
  ``ref(V, pot) = V3(pot) + H(V)`` (the rectifier/summer, ``(1 - alpha) * min(V, 0)`` by design);
  the non-separability, measured at a second potentiometer setting, is kept as ``h_sep_error``;
* ``V3(pot)`` (V): the reference at ``V = +1 V`` for ``pot`` = 0, 0.05, ..., 1;
* ``B(V)`` (V): the output pin at ``kout = 1`` (``out = kout * B(V)``), and ``rout`` (ohm), its
  output resistance (from a 1 mA load).

AC analysis (5 - 200 Hz) at a bias where the inductor carries no DC current: the admittance of the
inductor branch is the difference of two instances (gyrator present / opened), both with
``c0 = 1 pF``; ``Z = Rs + j*w*L`` is fitted over 10 - 100 Hz (the spike fundamental): ``lval_eff``
(H) and ``rs_eff`` (ohm), with the spread over that band kept as ``rs_spread``.

The circuit equations the engine integrates are then::

    C0 dV/dt  = -F(V) - I_L + I_ext
    L  dI_L/dt = V - ref(V, pot) - Rs * I_L

The cache lives in ``$NEUROSPICE_CACHE`` or ``$XDG_CACHE_HOME/neurospice/model`` (default
``~/.cache/neurospice/model``), one ``.npz`` per key; the key is the SHA-256 of the library text
the deck includes (its ``.subckt`` and ``.model`` cards), the instance's static parameters and
:data:`CHAR_VERSION`, so an edit to ``fhn.lib`` or ``parts.lib`` triggers a new measurement.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from neurospice.files import atomic_write_with

__all__ = [
    "CHAR_VERSION",
    "DYNAMIC_PARAMS",
    "NeuronTables",
    "cache_dir",
    "characterise_fhn",
    "library_text",
]

FloatArray = NDArray[np.float64]

#: Bump when the measurement changes (invalidates every cached table).
CHAR_VERSION = 1
#: ``fhn`` parameters the engine applies itself (not part of the characterisation key).
DYNAMIC_PARAMS = frozenset({"c0", "pot", "kout"})
#: Voltage grid of the DC tables (V).
V_MIN, V_MAX, V_STEP = -12.0, 12.0, 0.01
#: Potentiometer grid of the V3 table.
POT_GRID = tuple(round(0.05 * k, 2) for k in range(21))
#: Band of the L / Rs fit (Hz).
FIT_BAND = (10.0, 100.0)
_OPEN_RS = 1e9


@dataclass(frozen=True)
class NeuronTables:
    """Measured constitutive tables of one ``fhn`` parameter set (SI units).

    Attributes
    ----------
    v_grid : ndarray
        Membrane voltages (V) of the tables, uniform.
    f_cubic : ndarray
        DC current into ``mem`` without the inductor branch (A).
    h_ref : ndarray
        Gyrator reference minus its positive-branch value (V).
    b_out : ndarray
        Open-circuit output voltage at ``kout = 1`` (V).
    pot_grid, v3 : ndarray
        Potentiometer fractions and the reference voltage V3 (V) at ``V > 0``.
    rout : float
        Output resistance of the ``out`` pin (ohm).
    lval : float
        Effective inductance of the gyrator (H).
    rs : float
        Effective series resistance of the gyrator (ohm), 10-100 Hz.
    rs_spread : float
        Max - min of Re(Z) over the fit band (ohm).
    h_sep_error : float
        Largest deviation (V) of ``ref(V, pot) - V3(pot)`` between two pot settings.
    key : str
        Cache key.
    """

    v_grid: FloatArray
    f_cubic: FloatArray
    h_ref: FloatArray
    b_out: FloatArray
    pot_grid: FloatArray
    v3: FloatArray
    rout: float
    lval: float
    rs: float
    rs_spread: float
    h_sep_error: float
    key: str

    def v3_of(self, pot: float) -> float:
        """V3 (V) for a potentiometer fraction ``pot`` (linear interpolation, clipped to 0..1)."""
        return float(np.interp(pot, self.pot_grid, self.v3))

    def save(self, path: Path) -> None:
        """Write the tables to ``path`` (``.npz``) atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scalars = {"rout": self.rout, "lval": self.lval, "rs": self.rs,
                   "rs_spread": self.rs_spread, "h_sep_error": self.h_sep_error}
        atomic_write_with(path, lambda tmp: np.savez(
            tmp, v_grid=self.v_grid, f_cubic=self.f_cubic, h_ref=self.h_ref, b_out=self.b_out,
            pot_grid=self.pot_grid, v3=self.v3, scalars=json.dumps(scalars), key=self.key))

    @classmethod
    def load(cls, path: Path) -> NeuronTables:
        """Read tables written by :meth:`save`."""
        with np.load(path) as z:
            s = json.loads(str(z["scalars"]))
            return cls(np.array(z["v_grid"]), np.array(z["f_cubic"]), np.array(z["h_ref"]),
                       np.array(z["b_out"]), np.array(z["pot_grid"]), np.array(z["v3"]),
                       float(s["rout"]), float(s["lval"]), float(s["rs"]),
                       float(s["rs_spread"]), float(s["h_sep_error"]), str(z["key"]))


def cache_dir() -> Path:
    """Folder of the cached tables (see the module docstring)."""
    env = os.environ.get("NEUROSPICE_CACHE")
    if env:
        return Path(env).expanduser() / "model"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "neurospice" / "model"


def library_text(lines: list[str]) -> str:
    """The definitions of an expanded deck: its ``.subckt`` blocks and ``.model`` cards.

    Parameters
    ----------
    lines
        The expanded deck's lines (title first).

    Returns
    -------
    str
        Those cards verbatim (with their ``+`` continuations), comments dropped.
    """
    out: list[str] = []
    depth = 0
    in_model = False
    for line in lines[1:]:
        s = line.strip()
        low = s.lower()
        if not s or s.startswith("*"):
            continue
        if low.startswith(".subckt"):
            depth += 1
        if depth > 0:
            out.append(s)
            if low.startswith(".ends"):
                depth -= 1
            continue
        if low.startswith(".model"):
            in_model = True
            out.append(s)
        elif s.startswith("+") and in_model:
            out.append(s)
        else:
            in_model = False
    return "\n".join(out) + "\n"


def _key(definitions: str, static: dict[str, float]) -> str:
    h = hashlib.sha256()
    h.update(f"v{CHAR_VERSION}\n".encode())
    h.update(definitions.encode())
    h.update(json.dumps(sorted((k, float(v)) for k, v in static.items())).encode())
    return h.hexdigest()[:24]


def _fmt(params: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.12g}" for k, v in sorted(params.items()))


def characterise_fhn(
    definitions: str,
    static: dict[str, float],
    *,
    subckt: str = "fhn",
    base_dir: Path | None = None,
    refresh: bool = False,
) -> NeuronTables:
    """Tables of one ``fhn`` parameter set: from the cache, else measured in ngspice.

    Parameters
    ----------
    definitions
        The library text the deck includes (:func:`library_text`).
    static
        The instance's parameters other than :data:`DYNAMIC_PARAMS` (SI units); parameters not
        given take the subcircuit's defaults.
    subckt
        The neuron subcircuit's name.
    base_dir
        Directory the measuring decks resolve includes from (they have none).
    refresh
        Measure even when the cache holds the key.

    Returns
    -------
    NeuronTables
        The measured tables.
    """
    key = _key(definitions + subckt, static)
    path = cache_dir() / f"fhn-{key}.npz"
    if path.is_file() and not refresh:
        try:
            return NeuronTables.load(path)
        except (OSError, ValueError, KeyError):
            pass
    tables = _measure(definitions, static, subckt, key, base_dir or Path(tempfile.gettempdir()))
    try:
        tables.save(path)
    except OSError:
        pass  # a read-only cache only costs a re-measurement
    return tables


def _measure(definitions: str, static: dict[str, float], subckt: str, key: str,
             base_dir: Path) -> NeuronTables:
    from neurospice.sim.ngspice import run_text

    p = {k: v for k, v in static.items() if k not in DYNAMIC_PARAMS}
    opened = {**p, "rs": _OPEN_RS}
    lines = ["* neurospice model engine: DC characterisation of the neuron", definitions,
             "Vm m 0 0", "Vs0 m m0 0",
             f"X0 m0 o0 {subckt} pot=0.5 kout=1 {_fmt(opened)}",
             f"X1 m o1 {subckt} pot=0.8 kout=1 {_fmt(opened)}",
             f"Xl m ol {subckt} pot=0.5 kout=1 {_fmt(opened)}",
             "Il ol 0 dc 1m",
             "Vp mp 0 1"]
    saves = ["i(vs0)", "v(x0.v3)", "v(x1.v3)", "v(o0)", "v(ol)"]
    for k, pot in enumerate(POT_GRID):
        lines.append(f"Xp{k} mp op{k} {subckt} pot={pot:g} kout=1 {_fmt(opened)}")
        saves.append(f"v(xp{k}.v3)")
    n = int(round((V_MAX - V_MIN) / V_STEP))
    lines += [f".dc Vm {V_MIN:g} {V_MAX:g} {V_STEP:g}", ".save " + " ".join(saves), ".end"]
    dc = run_text("\n".join(lines), base_dir=base_dir)
    v = np.asarray(dc.scale, dtype=float)
    grid = np.linspace(V_MIN, V_MAX, n + 1)
    if v.size != grid.size or np.max(np.abs(v - grid)) > 1e-9:
        v_use = v
    else:
        v_use = grid
    # i(vs0): ngspice's branch current flows from the + node (m) through the source to m0,
    # i.e. into the neuron's mem pin: the current the neuron draws
    f_cubic = np.asarray(dc["i(vs0)"], dtype=float)
    v3 = np.array([float(np.asarray(dc[f"v(xp{k}.v3)"])[0]) for k in range(len(POT_GRID))])
    pot_grid = np.array(POT_GRID, dtype=float)
    ref0 = np.asarray(dc["v(x0.v3)"], dtype=float)
    ref1 = np.asarray(dc["v(x1.v3)"], dtype=float)
    v3_0 = float(np.interp(0.5, pot_grid, v3))
    v3_1 = float(np.interp(0.8, pot_grid, v3))
    h_ref = ref0 - v3_0
    h_sep = float(np.max(np.abs((ref1 - v3_1) - h_ref)))
    b_out = np.asarray(dc["v(o0)"], dtype=float)
    rout = float(np.median((b_out - np.asarray(dc["v(ol)"], dtype=float)) / 1e-3))

    # AC: bias where the inductor carries no DC current (V = V3 on the positive branch)
    pot_ac = 0.7
    vbias = float(np.interp(pot_ac, pot_grid, v3))
    full = {**p}
    ac_lines = ["* neurospice model engine: AC characterisation of the neuron's inductor",
                definitions, f"Va a 0 dc {vbias:.12g} ac 1", "Vf a af 0", "Vo a ao 0",
                f"Xf af of {subckt} pot={pot_ac:g} kout=1 {_fmt({**full, 'c0': 1e-12})}",
                f"Xo ao oo {subckt} pot={pot_ac:g} kout=1 "
                f"{_fmt({**opened, 'c0': 1e-12})}",
                ".ac dec 40 5 200", ".save i(vf) i(vo)", ".end"]
    ac = run_text("\n".join(ac_lines), base_dir=base_dir)
    f = np.real(np.asarray(ac.scale))
    y = np.asarray(ac["i(vf)"]) - np.asarray(ac["i(vo)"])
    z = 1.0 / y
    band = (f >= FIT_BAND[0]) & (f <= FIT_BAND[1])
    re = np.real(z[band])
    lval = float(np.mean(np.imag(z[band]) / (2 * np.pi * f[band])))
    return NeuronTables(v_use, f_cubic, h_ref, b_out, pot_grid, v3, rout, abs(lval),
                        float(np.mean(np.abs(re))), float(np.ptp(re)), h_sep, key)
