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
inductor branch is the difference of two instances (gyrator present / opened) carrying the same
``c0``; ``Z = Rs + j*w*L`` is fitted over 10 - 100 Hz (the spike fundamental): ``lval_eff``
(H) and ``rs_eff`` (ohm), with the spread over that band kept as ``rs_spread``. The membrane
capacitance is measured, not read from ``c0``: the admittance of opened instances alone, at
``c0`` = 0, 1 uF and 3.3 uF, gives ``Im(Y)/w`` = ``c_fixed + c_per_c0 * c0`` (every capacitor the
library puts on ``mem``, however it is written); a capacitance that is not linear in ``c0`` or not
constant over the band (an R-C on ``mem``) is refused (:class:`CharacterisationError`). ``kout``
is checked the same way (the output at ``kout = 0.5`` must be half the output at 1).

The deck's temperature cards (``.temp``, ``.options temp= tnom=``) are part of both measuring
decks and of the cache key.

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
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from neurospice.errors import ModelError, SimulationError
from neurospice.files import atomic_write_with

__all__ = [
    "CHAR_VERSION",
    "CharacterisationError",
    "DYNAMIC_PARAMS",
    "NeuronTables",
    "cache_dir",
    "characterise_fhn",
    "library_text",
]

FloatArray = NDArray[np.float64]

#: Bump when the measurement changes (invalidates every cached table).
CHAR_VERSION = 4
#: Potentiometer settings at which H(V) is measured (its small dependence on pot is
#: interpolated: ``ref(V, pot) - V3(pot)`` moves by ~10 mV between pot 0.5 and 0.8).
H_POTS = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
#: c0 values (F) of the capacitance measurement; the last checks linearity.
C0_PROBES = (0.0, 1e-6, 3.3e-6)
#: Largest relative deviation of the membrane capacitance from linear-in-c0 / from constant
#: over the fit band, and of the output from linear-in-kout (V), before refusing.
C_LINEAR_TOL, C_BAND_TOL, KOUT_TOL = 2e-3, 1e-2, 2e-3


class CharacterisationError(ModelError):
    """The neuron subcircuit does not have the form the engine integrates (bad input for it)."""
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
    c_fixed, c_per_c0 : float
        Membrane capacitance (F) = ``c_fixed + c_per_c0 * c0``, measured.
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
    c_fixed: float = 0.0
    c_per_c0: float = 1.0
    #: H(V) measured at the pots of :data:`H_POTS` (rows), when measured
    h_by_pot: FloatArray | None = None

    def at_pot(self, pot: float) -> NeuronTables:
        """These tables with ``h_ref`` for the potentiometer setting ``pot`` (linear between
        the measured settings, the nearest outside them)."""
        if self.h_by_pot is None:
            return self
        pots = np.array(H_POTS)
        p = float(min(max(pot, pots[0]), pots[-1]))
        k = max(0, min(int(np.searchsorted(pots, p, side="right")) - 1, len(pots) - 2))
        f = (p - pots[k]) / (pots[k + 1] - pots[k])
        h = (1 - f) * self.h_by_pot[k] + f * self.h_by_pot[k + 1]
        return NeuronTables(self.v_grid, self.f_cubic, h, self.b_out, self.pot_grid, self.v3,
                            self.rout, self.lval, self.rs, self.rs_spread, self.h_sep_error,
                            f"{self.key}-pot{p:.6g}", self.c_fixed, self.c_per_c0, None)

    def capacitance(self, c0: float) -> float:
        """Membrane capacitance (F) for the instance parameter ``c0`` (F)."""
        return self.c_fixed + self.c_per_c0 * c0

    def v3_of(self, pot: float) -> float:
        """V3 (V) for a potentiometer fraction ``pot`` (linear interpolation, clipped to 0..1)."""
        return float(np.interp(pot, self.pot_grid, self.v3))

    def save(self, path: Path) -> None:
        """Write the tables to ``path`` (``.npz``) atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scalars = {"rout": self.rout, "lval": self.lval, "rs": self.rs,
                   "rs_spread": self.rs_spread, "h_sep_error": self.h_sep_error,
                   "c_fixed": self.c_fixed, "c_per_c0": self.c_per_c0}
        atomic_write_with(path, lambda tmp: np.savez(
            tmp, v_grid=self.v_grid, f_cubic=self.f_cubic, h_ref=self.h_ref, b_out=self.b_out,
            pot_grid=self.pot_grid, v3=self.v3, scalars=json.dumps(scalars), key=self.key,
            h_by_pot=self.h_by_pot if self.h_by_pot is not None else np.zeros((0, 0))))

    @classmethod
    def load(cls, path: Path) -> NeuronTables:
        """Read tables written by :meth:`save`."""
        with np.load(path) as z:
            s = json.loads(str(z["scalars"]))
            return cls(np.array(z["v_grid"]), np.array(z["f_cubic"]), np.array(z["h_ref"]),
                       np.array(z["b_out"]), np.array(z["pot_grid"]), np.array(z["v3"]),
                       float(s["rout"]), float(s["lval"]), float(s["rs"]),
                       float(s["rs_spread"]), float(s["h_sep_error"]), str(z["key"]),
                       float(s["c_fixed"]), float(s["c_per_c0"]),
                       np.array(z["h_by_pot"]) if z["h_by_pot"].size else None)


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
    environment: str = "",
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
    environment
        The deck's temperature cards (``.temp 60``, ``.options temp=60 tnom=27``), one a line:
        copied into the measuring decks and part of the key.

    Returns
    -------
    NeuronTables
        The measured tables.
    """
    key = _key(definitions + subckt + "\n" + environment, static)
    path = cache_dir() / f"fhn-{key}.npz"
    if path.is_file() and not refresh:
        try:
            return NeuronTables.load(path)
        except (OSError, ValueError, KeyError):
            pass
    try:
        tables = _measure(definitions, static, subckt, key,
                          base_dir or Path(tempfile.gettempdir()), environment)
    except (SimulationError, KeyError, IndexError, ValueError) as exc:
        raise CharacterisationError(
            f"the neuron subcircuit {subckt} could not be measured for the model engine "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}): it needs the "
            "parameters c0, pot, kout, rs and the gyrator reference node v3",
            hint="run this deck with the ngspice engine (--engine spice)") from None
    try:
        tables.save(path)
    except OSError:
        pass  # a read-only cache only costs a re-measurement
    return tables


def _nodesets(definitions: str, instances: list[str], vbias: float) -> list[str]:
    """``.nodeset`` cards holding the gyrator's inner nodes at the bias: its GIC has a latched
    (saturated) operating point too, which Newton finds at some temperatures (60 C)."""
    m = re.search(r"^\.subckt\s+fhn_gyrator\s(.*?)^\.ends", definitions,
                  re.IGNORECASE | re.MULTILINE | re.DOTALL)
    if m is None or not re.search(r"^xgyr\s.*\bfhn_gyrator\b", definitions,
                                  re.IGNORECASE | re.MULTILINE):
        return []
    nodes = sorted({n for n in re.findall(r"\b(n\d)\b", m.group(1).lower())})
    sets = [f"v({inst}.xgyr.{n})={vbias:.9g}" for inst in instances for n in nodes]
    return [".nodeset " + " ".join(sets)] if sets else []


def _measure(definitions: str, static: dict[str, float], subckt: str, key: str,
             base_dir: Path, environment: str = "") -> NeuronTables:
    from neurospice.sim.ngspice import run_text

    p = {k: v for k, v in static.items() if k not in DYNAMIC_PARAMS}
    opened = {**p, "rs": _OPEN_RS}
    env = [ln for ln in environment.splitlines() if ln.strip()]
    lines = ["* neurospice model engine: DC characterisation of the neuron", definitions, *env,
             "Vm m 0 0", "Vs0 m m0 0",
             f"X0 m0 o0 {subckt} pot=0.5 kout=1 {_fmt(opened)}",
             f"X1 m o1 {subckt} pot=0.8 kout=1 {_fmt(opened)}",
             f"Xl m ol {subckt} pot=0.5 kout=1 {_fmt(opened)}",
             "Il ol 0 dc 1m",
             f"Xk m ok {subckt} pot=0.5 kout=0.5 {_fmt(opened)}",
             *(f"Xh{k} m oh{k} {subckt} pot={pot:g} kout=1 {_fmt(opened)}"
               for k, pot in enumerate(H_POTS)),
             "Vp mp 0 1"]
    saves = ["i(vs0)", "v(x0.v3)", "v(x1.v3)", "v(o0)", "v(ol)", "v(ok)",
             *(f"v(xh{k}.v3)" for k in range(len(H_POTS)))]
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
    # H at each pot of H_POTS, relative to that instance's own reference at V = +1 V (V3)
    at_one = int(np.argmin(np.abs(v_use - 1.0)))
    h_by_pot = np.array([np.asarray(dc[f"v(xh{k}.v3)"], dtype=float)
                         - float(np.asarray(dc[f"v(xh{k}.v3)"])[at_one])
                         for k in range(len(H_POTS))])
    b_out = np.asarray(dc["v(o0)"], dtype=float)
    rout = float(np.median((b_out - np.asarray(dc["v(ol)"], dtype=float)) / 1e-3))
    half = np.asarray(dc["v(ok)"], dtype=float)
    inside = np.abs(v_use) <= 10.0
    kout_err = float(np.max(np.abs(half[inside] - 0.5 * b_out[inside])))
    if kout_err > KOUT_TOL * max(1.0, float(np.max(np.abs(b_out[inside])))):
        raise CharacterisationError(
            f"the output of {subckt} is not kout times its output at kout = 1 (off by "
            f"{1e3 * kout_err:.3g} mV at kout = 0.5): the engine scales the out pin by kout",
            hint="run this deck with the ngspice engine (--engine spice)")

    # AC: bias where the inductor carries no DC current (V = V3 on the positive branch)
    pot_ac = 0.7
    vbias = float(np.interp(pot_ac, pot_grid, v3))
    full = {**p}
    ac_lines = ["* neurospice model engine: AC characterisation of the neuron's inductor",
                definitions, *env, f"Va a 0 dc {vbias:.12g} ac 1", "Vf a af 0", "Vo a ao 0",
                f"Xf af of {subckt} pot={pot_ac:g} kout=1 {_fmt({**full, 'c0': 1e-12})}",
                f"Xo ao oo {subckt} pot={pot_ac:g} kout=1 "
                f"{_fmt({**opened, 'c0': 1e-12})}"]
    ac_saves = ["i(vf)", "i(vo)"]
    for k, c0 in enumerate(C0_PROBES):
        ac_lines += [f"Vc{k} a ac{k} 0",
                     f"Xc{k} ac{k} oc{k} {subckt} pot={pot_ac:g} kout=1 "
                     f"{_fmt({**opened, 'c0': c0})}"]
        ac_saves.append(f"i(vc{k})")
    ac_lines += _nodesets(definitions, ["xf"], vbias)
    ac_lines += [".ac dec 40 5 200", ".save " + " ".join(ac_saves), ".end"]
    ac = run_text("\n".join(ac_lines), base_dir=base_dir)
    f = np.real(np.asarray(ac.scale))
    y = np.asarray(ac["i(vf)"]) - np.asarray(ac["i(vo)"])
    z = 1.0 / y
    band = (f >= FIT_BAND[0]) & (f <= FIT_BAND[1])
    omega = 2 * np.pi * f[band]
    caps = [np.imag(np.asarray(ac[f"i(vc{k})"])[band]) / omega for k in range(len(C0_PROBES))]
    c_fixed = float(np.mean(caps[0]))
    c_per_c0 = float((np.mean(caps[1]) - c_fixed) / C0_PROBES[1])
    predicted = c_fixed + c_per_c0 * C0_PROBES[2]
    c_lin = abs(float(np.mean(caps[2])) - predicted) / abs(predicted)
    c_band = float(np.ptp(caps[1]) / abs(np.mean(caps[1])))
    if not (c_lin <= C_LINEAR_TOL and c_band <= C_BAND_TOL and c_per_c0 > 0):
        what = (f"is not linear in c0 ({100 * c_lin:.2g} % off at 3.3 uF)" if c_lin > C_LINEAR_TOL
                else f"is not a capacitance over {FIT_BAND[0]:g}-{FIT_BAND[1]:g} Hz (Im(Y)/w "
                f"varies by {100 * c_band:.2g} %)")
        raise CharacterisationError(
            f"the membrane admittance of {subckt} {what}: the engine integrates "
            "C dV/dt with one capacitance on mem",
            hint="run this deck with the ngspice engine (--engine spice)")
    re_z = np.real(z[band])
    l_band = np.imag(z[band]) / (2 * np.pi * f[band])
    lval = float(np.mean(l_band))
    if not (lval > 0 and float(np.ptp(l_band)) <= 0.02 * lval):
        raise CharacterisationError(
            f"the recovery branch of {subckt} is not Rs + jwL over {FIT_BAND[0]:g}-"
            f"{FIT_BAND[1]:g} Hz (L from {np.min(l_band):.4g} to {np.max(l_band):.4g} H)",
            hint="run this deck with the ngspice engine (--engine spice)")
    return NeuronTables(v_use, f_cubic, h_ref, b_out, pot_grid, v3, rout, abs(lval),
                        float(np.mean(np.abs(re_z))), float(np.ptp(re_z)), h_sep, key,
                        c_fixed, c_per_c0, h_by_pot)


#: Relative step of the sensitivity measurement (one-sided): a toleranced part's deviation is
#: within its tolerance (5-10 %), the tables are linearised in it.
SENS_STEP = 0.03


@dataclass(frozen=True)
class NeuronSensitivity:
    """How one neuron's tables move with each of its parts (per unit relative deviation).

    ``slots`` are the ``nstol_`` parameters of :func:`neurospice.spice.tolerances.with_factors`
    (one per R, C, L inside the neuron); per slot, the derivative of ``F``, ``H``, ``B`` (grids of
    the nominal tables), of ``V3`` at pot 0.5 and 0.8, of ``L``, ``Rs`` and of the capacitance at
    ``c0`` = 1 uF.
    """

    slots: tuple[str, ...]
    d_f: FloatArray
    d_h: FloatArray
    d_b: FloatArray
    d_v3: FloatArray  #: (slots, 2): at pot 0.5, 0.8
    d_l: FloatArray
    d_rs: FloatArray
    d_c: FloatArray

    def apply(self, nominal: NeuronTables, factors: dict[str, float]) -> NeuronTables:
        """The tables of a build whose parts deviate by ``factors`` (slot -> multiplier)."""
        x = np.array([factors.get(s, 1.0) - 1.0 for s in self.slots])
        if not np.any(x):
            return nominal
        dv3 = x @ self.d_v3
        slope = (dv3[1] - dv3[0]) / 0.3
        v3 = nominal.v3 + dv3[0] + slope * (nominal.pot_grid - 0.5)
        c1 = nominal.capacitance(1e-6) + float(x @ self.d_c)
        digest = hashlib.sha256(np.round(x, 12).tobytes()).hexdigest()[:12]
        return NeuronTables(
            nominal.v_grid, nominal.f_cubic + x @ self.d_f, nominal.h_ref + x @ self.d_h,
            nominal.b_out + x @ self.d_b, nominal.pot_grid, v3, nominal.rout,
            nominal.lval + float(x @ self.d_l), nominal.rs + float(x @ self.d_rs),
            nominal.rs_spread, nominal.h_sep_error, f"{nominal.key}-{digest}",
            nominal.c_fixed, (c1 - nominal.c_fixed) / 1e-6)


def characterise_sensitivity(
    definitions: str,
    static: dict[str, float],
    slots: list[str],
    *,
    subckt: str = "fhn",
    base_dir: Path | None = None,
    environment: str = "",
) -> NeuronSensitivity:
    """The tables' derivatives with respect to each slot (cached like :func:`characterise_fhn`).

    ``definitions`` must declare the slots as parameters of ``subckt`` (the library text of a
    deck passed through ``with_factors``). Two ngspice runs with one perturbed instance (DC:
    two, AC: three) per slot.
    """
    key = _key("sens\n" + definitions + subckt + "\n" + environment + " ".join(slots), static)
    path = cache_dir() / f"fhn-sens-{key}.npz"
    names = ("d_f", "d_h", "d_b", "d_v3", "d_l", "d_rs", "d_c")
    if path.is_file():
        try:
            with np.load(path) as z:
                return NeuronSensitivity(tuple(str(s) for s in z["slots"]),
                                         *(np.array(z[n]) for n in names))
        except (OSError, ValueError, KeyError):
            pass
    from neurospice.sim.ngspice import run_text

    base = base_dir or Path(tempfile.gettempdir())
    env = [ln for ln in environment.splitlines() if ln.strip()]
    p = {k: v for k, v in static.items() if k not in DYNAMIC_PARAMS}
    opened = {**p, "rs": _OPEN_RS}
    variants: list[dict[str, float]] = [{}] + [{s: 1.0 + SENS_STEP} for s in slots]
    dc = ["* neurospice model engine: DC sensitivities of the neuron", definitions, *env,
          "Vm m 0 0", "Vp mp 0 1"]
    saves = []
    for k, var in enumerate(variants):
        prm = _fmt({**opened, **var})
        dc += [f"Vs{k} m m{k} 0", f"Xa{k} m{k} oa{k} {subckt} pot=0.5 kout=1 {prm}",
               f"Xb{k} mp ob{k} {subckt} pot=0.8 kout=1 {prm}",
               f"Xc{k} mp oc{k} {subckt} pot=0.5 kout=1 {prm}"]
        saves += [f"i(vs{k})", f"v(xa{k}.v3)", f"v(oa{k})", f"v(xb{k}.v3)", f"v(xc{k}.v3)"]
    dc += [f".dc Vm {V_MIN:g} {V_MAX:g} {V_STEP:g}", ".save " + " ".join(saves), ".end"]
    r = run_text("\n".join(dc), base_dir=base)
    f_all = np.array([np.asarray(r[f"i(vs{k})"], dtype=float) for k in range(len(variants))])
    v3a = np.array([float(np.asarray(r[f"v(xc{k}.v3)"])[0]) for k in range(len(variants))])
    v3b = np.array([float(np.asarray(r[f"v(xb{k}.v3)"])[0]) for k in range(len(variants))])
    h_all = np.array([np.asarray(r[f"v(xa{k}.v3)"], dtype=float) - v3a[k]
                      for k in range(len(variants))])
    b_all = np.array([np.asarray(r[f"v(oa{k})"], dtype=float) for k in range(len(variants))])
    pot_ac = 0.7
    vbias = float(v3a[0] + (v3b[0] - v3a[0]) * (pot_ac - 0.5) / 0.3)
    ac = ["* neurospice model engine: AC sensitivities of the neuron", definitions, *env,
          f"Va a 0 dc {vbias:.12g} ac 1"]
    ac_saves = []
    for k, var in enumerate(variants):
        full = _fmt({**p, **var, "c0": 1e-12})
        op = _fmt({**opened, **var, "c0": 1e-12})
        opc = _fmt({**opened, **var, "c0": 1e-6})
        ac += [f"Vf{k} a af{k} 0", f"Xf{k} af{k} of{k} {subckt} pot={pot_ac:g} kout=1 {full}",
               f"Vo{k} a ao{k} 0", f"Xo{k} ao{k} oo{k} {subckt} pot={pot_ac:g} kout=1 {op}",
               f"Vc{k} a ac{k} 0", f"Xc{k} ac{k} oc{k} {subckt} pot={pot_ac:g} kout=1 {opc}"]
        ac_saves += [f"i(vf{k})", f"i(vo{k})", f"i(vc{k})"]
    ac += _nodesets(definitions, [f"xf{k}" for k in range(len(variants))], vbias)
    ac += [".ac dec 40 5 200", ".save " + " ".join(ac_saves), ".end"]
    a = run_text("\n".join(ac), base_dir=base)
    freq = np.real(np.asarray(a.scale))
    band = (freq >= FIT_BAND[0]) & (freq <= FIT_BAND[1])
    omega = 2 * np.pi * freq[band]
    lv, rv, cv = [], [], []
    for k in range(len(variants)):
        z = 1.0 / (np.asarray(a[f"i(vf{k})"]) - np.asarray(a[f"i(vo{k})"]))[band]
        lv.append(float(np.mean(np.imag(z) / omega)))
        rv.append(float(np.mean(np.real(z))))
        cv.append(float(np.mean(np.imag(np.asarray(a[f"i(vc{k})"])[band]) / omega)))
    s = SENS_STEP
    sens = NeuronSensitivity(
        tuple(slots), (f_all[1:] - f_all[0]) / s, (h_all[1:] - h_all[0]) / s,
        (b_all[1:] - b_all[0]) / s,
        np.stack([(v3a[1:] - v3a[0]) / s, (v3b[1:] - v3b[0]) / s], axis=1),
        (np.array(lv[1:]) - lv[0]) / s, (np.array(rv[1:]) - rv[0]) / s,
        (np.array(cv[1:]) - cv[0]) / s)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_with(path, lambda tmp: np.savez(
            tmp, slots=np.array(sens.slots), **{n: getattr(sens, n) for n in names}))
    except OSError:
        pass
    return sens
