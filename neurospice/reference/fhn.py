"""Reference (scipy) integration of the normalised FitzHugh-Nagumo neuron.

The system is the one of ``.subckt fhn_eq`` in ``netlists/fhn_model.cir`` (MODELS.md 1.2 plus the
gyrator's series-resistance term ``gamma``), written in the circuit's volts and seconds:

* ``u = (V - voff) / v0``, ``t' = t / tau0``
* ``du/dt' = u - u^3/3 - v + c``
* ``dv/dt' = eps * (g(u) - i - gamma * v)``, ``g(u) = alpha*u`` (u < 0), ``beta*u`` (u >= 0)

The default parameters are read from the ``.subckt fhn_eq`` line of that deck, and the mapping of a
neuron setting (potentiometer fraction ``pot``, membrane capacitance ``c0``) onto the model uses
the circuit constants of ``.subckt fhn`` in ``netlists/lib/fhn.lib`` -- the netlists are the one
source of truth; nothing is restated here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from neurospice.spice.library import subckt_defaults

__all__ = [
    "FhnParams",
    "NETLIST_DIR",
    "circuit_constants",
    "params_for_setting",
    "read_subckt_params",
    "simulate_fhn",
]

FloatArray = NDArray[np.float64]

#: Directory of the shipped netlists (``netlists/`` beside the package).
NETLIST_DIR: Path = Path(__file__).resolve().parents[2] / "netlists"

def read_subckt_params(path: Path, name: str) -> dict[str, float]:
    """Default parameters of ``.subckt name ... params: a=1 b=2`` in a netlist file.

    Parameters
    ----------
    path
        The ``.cir``/``.lib`` file.
    name
        Subcircuit name (case-insensitive).

    Returns
    -------
    dict
        Parameter name (lower case) to its default value, in SI units as written.
    """
    return subckt_defaults(path, name)


@dataclass(frozen=True)
class FhnParams:
    """Parameters of the normalised FHN neuron in circuit units.

    Attributes
    ----------
    v0 : float
        Voltage scale (V): ``u = (V - voff) / v0``.
    tau0 : float
        Time scale (s): ``t' = t / tau0``.
    eps : float
        Recovery rate (dimensionless).
    alpha, beta : float
        Slopes of ``g(u)`` for ``u < 0`` and ``u >= 0`` (dimensionless).
    i : float
        Depolarisation parameter I (dimensionless).
    gamma : float
        Recovery self-term from the gyrator's series resistance, ``Rs/R0`` (dimensionless).
    voff : float
        Offset of the membrane voltage (V).
    r0 : float
        Resistance scale (ohm): an injected current ``I_ext`` enters as ``c = I_ext*r0/v0``.
    """

    v0: float = 2.5
    tau0: float = 7.26e-3
    eps: float = 5.10
    alpha: float = 0.05
    beta: float = 1.0
    i: float = 0.1694
    gamma: float = 0.0455
    voff: float = 0.0
    r0: float = 3.3e3

    @classmethod
    def from_netlist(cls, path: Path | None = None) -> FhnParams:
        """Defaults of ``.subckt fhn_eq`` in ``netlists/fhn_model.cir`` (or ``path``)."""
        values = read_subckt_params(path or NETLIST_DIR / "fhn_model.cir", "fhn_eq")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def circuit_constants(path: Path | None = None) -> dict[str, float]:
    """Defaults of ``.subckt fhn`` in ``netlists/lib/fhn.lib`` (SI units), plus ``v3span`` (V).

    ``v3span = vcc*rpot/(rpot + 2*rend)`` is the V3 potentiometer's half range:
    ``V3 = (2*pot - 1) * v3span``.
    """
    c = read_subckt_params(path or NETLIST_DIR / "lib" / "fhn.lib", "fhn")
    c["v3span"] = c["vcc"] * c["rpot"] / (c["rpot"] + 2.0 * c["rend"])
    return c


def params_for_setting(pot: float, c0: float | None = None) -> FhnParams:
    """Model parameters implied by a neuron setting.

    Parameters
    ----------
    pot
        V3 potentiometer fraction (0..1).
    c0
        Membrane capacitance (F); default: the circuit's default C0.

    Returns
    -------
    FhnParams
        ``tau0 = R0*C0``, ``eps = R0^2*C0/L``, ``i = V3/V0``, ``gamma = Rs/R0``, the other fields
        from ``.subckt fhn_eq``.
    """
    c = circuit_constants()
    cap = c["c0"] if c0 is None else c0
    base = FhnParams.from_netlist()
    return replace(
        base,
        v0=c["v0"],
        r0=c["r0"],
        alpha=c["alpha"],
        tau0=c["r0"] * cap,
        eps=c["r0"] ** 2 * cap / c["lval"],
        gamma=c["rs"] / c["r0"],
        i=(2.0 * pot - 1.0) * c["v3span"] / c["v0"],
    )


def simulate_fhn(
    params: FhnParams,
    tstop: float,
    *,
    v_init: float = 0.1,
    w_init: float = 0.0,
    max_step: float = 5e-5,
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> tuple[FloatArray, FloatArray]:
    """Integrate the normalised FHN neuron and return its membrane voltage.

    Parameters
    ----------
    params
        Model parameters (circuit units).
    tstop
        End time (s).
    v_init
        Initial membrane voltage (V); the deck starts at 0.1 V.
    w_init
        Initial recovery variable v (dimensionless).
    max_step
        Largest integration step (s).
    rtol, atol
        Tolerances of the LSODA integrator (on u and v, dimensionless).

    Returns
    -------
    t : ndarray
        Times (s).
    V : ndarray
        Membrane voltage ``v0*u + voff`` (V).
    """
    p = params

    def rhs(_t: float, y: FloatArray) -> list[float]:
        u, w = float(y[0]), float(y[1])
        g = p.beta * u if u >= 0.0 else p.alpha * u
        du = (u - u * u * u / 3.0 - w) / p.tau0
        dw = p.eps * (g - p.i - p.gamma * w) / p.tau0
        return [du, dw]

    y0 = [(v_init - p.voff) / p.v0, w_init]
    sol = solve_ivp(
        rhs,
        (0.0, tstop),
        y0,
        method="LSODA",
        max_step=max_step,
        rtol=rtol,
        atol=atol,
        dense_output=False,
    )
    if not sol.success:
        raise RuntimeError(f"FHN reference integration failed: {sol.message}")
    t = np.asarray(sol.t, dtype=np.float64)
    v = np.asarray(sol.y[0], dtype=np.float64) * p.v0 + p.voff
    return t, v
