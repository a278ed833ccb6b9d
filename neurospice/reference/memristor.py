"""NumPy reference of the ZrO2(Y) memristive device and of the neuron-like drive.

The circuits live in ``netlists/``: this module reads the device's defaults from the
``.subckt zro2 ... params:`` line of ``netlists/lib/memristors.lib`` and the drive's defaults from
the ``.param`` lines of ``netlists/memristor_iv.cir``, so that a value edited there changes both
paths.  It integrates many devices at once (vectorised over devices) and is used for the
statistics that would be slow in ngspice (100 devices x 50 cycles); a smaller ngspice run
cross-checks it (``tests/test_memristor.py``).

Model (see ``docs/memristor.md``; reconstruction of seed 000, MODELS.md 1.3)::

    dw/dt = b0 * [(1 - w) exp(-sp(Em - alpha1 v)/kT) - w exp(-sp(Em + alpha1 v)/kT)]
    kT    = kb * (t0 + dtmax*tanh(rth*i*v/dtmax))   (quasi-static: the ngspice thermal node
                                                     has tauth = 1 us << the drive's time scale)
    i     = area * [w v/(rho lam) + (1 - w) aa v exp(-(Eb - bpf sqrt|v|)/kT)]

``sp`` is the softplus floor of the barrier (``esm``).  The state update over a step ``h`` is exact
for rates frozen at the mid-step voltage (w relaxes exponentially toward k_set/(k_set + k_reset)),
so it is unconditionally stable and keeps w in [0, 1].

Random draws use :class:`numpy.random.Generator` (``seed``); they are *not* the same numbers as
ngspice's ``agauss``/``trrandom`` for the same seed.  To compare with ngspice, pass the drawn
per-device values to the subcircuit as instance parameters with ``mc=0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from neurospice.spice.library import subckt_defaults

__all__ = [
    "LIB_PATH",
    "IV_DECK",
    "ZrO2Params",
    "NeuronDrive",
    "DeviceDraw",
    "SwitchingResult",
    "read_resistance",
    "current",
    "r_mid",
    "draw_devices",
    "simulate",
    "cycle_grid",
    "switching_events",
]

_NETLISTS = Path(__file__).resolve().parents[2] / "netlists"
LIB_PATH = _NETLISTS / "lib" / "memristors.lib"
IV_DECK = _NETLISTS / "memristor_iv.cir"

def _subckt_defaults(name: str, path: Path = LIB_PATH) -> dict[str, float]:
    return subckt_defaults(path, name)


def _deck_params(path: Path = IV_DECK) -> dict[str, float]:
    """The deck's top-level numeric ``.param`` values (expressions evaluated where possible)."""
    from neurospice.spice.deck import prepare_deck

    deck = prepare_deck(path)
    out: dict[str, float] = {}
    for key, text in deck.params().items():
        try:
            out[key] = deck.evaluate(text)
        except ValueError:
            pass
    return out


@dataclass(frozen=True)
class ZrO2Params:
    """Parameters of the ``zro2`` subcircuit (units as in ``memristors.lib``).

    Build it with :meth:`from_library`: the defaults live on the ``.subckt`` line only.
    """

    w0: float  # initial state [-]
    em: float  # ion migration barrier [eV]
    alpha1: float  # field coefficient of the barrier [eV/V]
    b0: float  # attempt rate [1/s]
    esm: float  # softplus smoothing of the barrier floor [eV]
    eb: float  # Poole-Frenkel barrier [eV]
    bpf: float  # Poole-Frenkel barrier lowering [eV/V^0.5]
    aa: float  # Poole-Frenkel prefactor [A/(V m^2)]
    rho: float  # filament resistivity [ohm m]
    lam: float  # oxide thickness [m]
    area: float  # device area [m^2]
    t0: float  # ambient temperature [K]
    rth: float  # thermal resistance [K/W]
    dtmax: float  # soft cap of the temperature rise [K]
    tauth: float  # thermal time constant [s] (quasi-static here)
    kb: float  # Boltzmann constant [eV/K]
    vread: float  # read voltage [V]
    sig_em: float  # relative dispersion of em [-]
    sig_eb: float  # relative dispersion of eb [-]
    sig_rho: float  # relative dispersion of rho [-]
    mc: float  # per-device draw on/off
    c2c: float  # cycle-to-cycle redraw on/off
    tc2c: float  # hold time of a cycle-to-cycle draw [s]
    td2c: float  # delay of the first cycle-to-cycle draw [s]

    @classmethod
    def from_library(cls, path: Path = LIB_PATH, **overrides: float) -> ZrO2Params:
        """The defaults of ``.subckt zro2`` in ``path``, with ``overrides``."""
        values = _subckt_defaults("zro2", path)
        known = {f.name for f in fields(cls)}
        missing = known - set(values)
        if missing:
            raise KeyError(f".subckt zro2 lacks parameters {sorted(missing)}")
        p = cls(**{k: v for k, v in values.items() if k in known})
        return replace(p, **overrides)

    @property
    def r_lrs(self) -> float:
        """Nominal LRS resistance (w = 1) [ohm]."""
        return self.rho * self.lam / self.area

    @property
    def r_hrs(self) -> float:
        """Nominal HRS resistance (w = 0) at the read voltage and t0 [ohm]."""
        return float(read_resistance(0.0, self.eb, self.rho, self))


def r_mid(p: ZrO2Params) -> float:
    """SET/RESET threshold: geometric mean of the nominal LRS and HRS read resistances [ohm]."""
    return math.sqrt(p.r_lrs * p.r_hrs)


def read_resistance(w: np.ndarray | float, eb: np.ndarray | float, rho: np.ndarray | float,
                    p: ZrO2Params) -> np.ndarray:
    """Resistance at the read voltage ``p.vread`` and ambient temperature [ohm] (node ``r``)."""
    wc = np.clip(w, 0.0, 1.0)
    kt0 = p.kb * p.t0
    g = p.area * (wc / (np.asarray(rho) * p.lam)
                  + (1 - wc) * p.aa * np.exp(-(np.asarray(eb) - p.bpf * math.sqrt(p.vread)) / kt0))
    return 1.0 / g


def current(v: np.ndarray | float, w: np.ndarray | float, eb: np.ndarray | float,
            rho: np.ndarray | float, temp: np.ndarray | float, p: ZrO2Params) -> np.ndarray:
    """Device current [A] for voltage ``v`` [V], state ``w`` and temperature ``temp`` [K]."""
    v = np.asarray(v, dtype=float)
    wc = np.clip(w, 0.0, 1.0)
    sq = (v * v + 1e-8) ** 0.25
    pf = p.aa * np.exp(np.minimum(-(np.asarray(eb) - p.bpf * sq) / (p.kb * np.asarray(temp)), 80.0))
    return p.area * v * (wc / (np.asarray(rho) * p.lam) + (1 - wc) * pf)


def _softplus(x: np.ndarray, s: float) -> np.ndarray:
    return s * np.logaddexp(0.0, x / s)


@dataclass(frozen=True)
class NeuronDrive:
    """The neuron-like drive of ``netlists/memristor_iv.cir`` (times in s, voltages in V).

    Build it with :meth:`from_deck`: the defaults live in the deck's ``.param`` lines.
    """

    amp: float
    neg: float
    per: float
    t1: float
    wr1: float
    wf1: float
    t2: float
    wr2: float
    wf2: float
    stair: float
    amp0: float
    amp1: float
    nsteps: float
    ncyc: float

    @classmethod
    def from_deck(cls, path: Path = IV_DECK, **overrides: float) -> NeuronDrive:
        """The defaults of the ``.param`` lines of ``path``, with ``overrides``."""
        values = _deck_params(path)
        known = {f.name for f in fields(cls)}
        d = cls(**{k: v for k, v in values.items() if k in known})
        return replace(d, **overrides)

    @staticmethod
    def _bump(x: np.ndarray, c: float, wr: float, wf: float) -> np.ndarray:
        u = np.where(x < c, (c - x) / wr, (x - c) / wf)
        return np.where(u < 1, 0.5 + 0.5 * np.cos(np.pi * np.minimum(u, 1.0)), 0.0)

    def amplitude(self, t: np.ndarray | float) -> np.ndarray:
        """Amplitude A(t) [V] (constant, or the staircase amp0 -> amp1)."""
        t = np.asarray(t, dtype=float)
        if self.stair > 0.5:
            k = np.minimum(np.floor(t / (self.ncyc * self.per)), self.nsteps - 1)
            return self.amp0 + (self.amp1 - self.amp0) * k / max(self.nsteps - 1, 1)
        return np.full_like(t, self.amp)

    def __call__(self, t: np.ndarray | float) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        x = t - self.per * np.floor(t / self.per)
        shape = (self._bump(x, self.t1, self.wr1, self.wf1)
                 - self.neg * self._bump(x, self.t2, self.wr2, self.wf2))
        return self.amplitude(t) * shape


@dataclass(frozen=True)
class DeviceDraw:
    """Per-device parameter values (arrays of length n)."""

    em: np.ndarray
    eb: np.ndarray
    rho: np.ndarray


def draw_devices(n: int, p: ZrO2Params, rng: np.random.Generator) -> DeviceDraw:
    """Per-device normal draws, floored at 0.2 x nominal as in the subcircuit."""
    z = rng.standard_normal((3, n)) * p.mc
    return DeviceDraw(
        em=p.em * np.maximum(1 + p.sig_em * z[0], 0.2),
        eb=p.eb * np.maximum(1 + p.sig_eb * z[1], 0.2),
        rho=p.rho * np.maximum(1 + p.sig_rho * z[2], 0.2),
    )


@dataclass
class SwitchingResult:
    """Outcome of :func:`simulate`.

    ``sets[d, k]`` / ``resets[d, k]``: device d had a SET / RESET event in cycle k (the read
    resistance crossed ``r_mid`` downward / upward).  ``t`` [s] and, per device (rows),
    ``v`` [V], ``w``, ``r`` [ohm], ``i`` [A], ``temp`` [K] are recorded every ``record_every``
    steps.  ``energy`` [J]: the integral of v*i dt per device.
    """

    t: np.ndarray
    v: np.ndarray
    w: np.ndarray
    r: np.ndarray
    i: np.ndarray
    temp: np.ndarray
    sets: np.ndarray
    resets: np.ndarray
    r_mid: float
    draw: DeviceDraw
    energy: np.ndarray


def cycle_grid(drive: NeuronDrive, p: ZrO2Params, *, dlnk: float = 0.5, hmax: float = 0.5e-3,
               hmin: float = 2e-6) -> np.ndarray:
    """Time points of one drive period, from 0 to ``drive.per`` inclusive [s].

    The switching rates change by exp(alpha1*dv/kT) per step; steps are chosen so that
    ``alpha1*|dv|/(kb*t0) <= dlnk`` (at the largest amplitude of the drive), and at most ``hmax``.
    The state update is exact for rates frozen over a step, so this bounds its error.
    """
    fine = np.linspace(0.0, drive.per, 20001)
    amp_max = max(abs(drive.amp), abs(drive.amp0), abs(drive.amp1)) if drive.stair > 0.5 \
        else abs(drive.amp)
    shape = drive(fine) / max(abs(drive.amp) if drive.stair <= 0.5 else abs(drive.amp0), 1e-30)
    dv = np.abs(np.diff(shape)) * amp_max
    cost = np.concatenate([[0.0], np.cumsum(dv * p.alpha1 / (p.kb * p.t0) / dlnk)])
    pts = [0.0]
    last_cost = 0.0
    for k in range(1, fine.size):
        if cost[k] - last_cost >= 1.0 or fine[k] - pts[-1] >= hmax - 1e-15:
            pts.append(fine[k])
            last_cost = cost[k]
    if pts[-1] < drive.per:
        pts.append(drive.per)
    grid = np.asarray(pts)
    # split any step above hmax or below hmin is not needed: the fine grid spacing is per/20000
    return grid[np.concatenate([[True], np.diff(grid) >= hmin])]


def simulate(drive: NeuronDrive | list[NeuronDrive], ncycles: int, p: ZrO2Params, *,
             n: int = 1, draw: DeviceDraw | None = None, seed: int = 1, dlnk: float = 0.5,
             hmax: float = 0.5e-3, record_every: int = 1) -> SwitchingResult:
    """Integrate devices under the drive(s) for ``ncycles`` periods.

    Parameters
    ----------
    drive
        The applied voltage v(t) [V]; a list of drives (same period) splits the devices into
        equal groups, one per drive (several amplitudes in one run).
    ncycles
        Number of drive periods.
    p
        Device parameters; ``p.mc``/``p.c2c`` switch the per-device / cycle-to-cycle draws.
    n
        Number of devices per drive (ignored when ``draw`` is given).
    draw
        Explicit per-device values (e.g. to mirror an ngspice run); else drawn with ``seed``.
    seed
        Seed of :func:`numpy.random.default_rng` for all draws.
    dlnk, hmax
        Step control, see :func:`cycle_grid`; the defaults are converged (see the tests).
    record_every
        Keep every k-th step in the returned traces.
    """
    drives = drive if isinstance(drive, list) else [drive]
    per = drives[0].per
    if any(abs(d.per - per) > 1e-15 for d in drives):
        raise ValueError("all drives must have the same period")
    rng = np.random.default_rng(seed)
    if draw is None:
        draw = draw_devices(n * len(drives), p, rng)
    ntot = draw.em.size
    if ntot % len(drives):
        raise ValueError("the number of devices must be a multiple of the number of drives")
    group = np.repeat(np.arange(len(drives)), ntot // len(drives))
    # common grid: the finest of the drives' grids
    grids = [cycle_grid(d, p, dlnk=dlnk, hmax=hmax) for d in drives]
    g1 = grids[int(np.argmax([g.size for g in grids]))]
    tt = np.concatenate([g1[:-1] + k * per for k in range(ncycles)] + [[ncycles * per]])
    nsteps = tt.size - 1
    tm = 0.5 * (tt[:-1] + tt[1:])
    hh = np.diff(tt)
    v_nodes = np.stack([d(tt) for d in drives])  # (ndrives, nsteps+1)
    v_mid = np.stack([d(tm) for d in drives])
    n_c2c = int(math.ceil(ncycles * per / p.tc2c)) + 2
    zc = rng.standard_normal((3, n_c2c, ntot)) * p.c2c
    rm = r_mid(p)
    w = np.full(ntot, float(p.w0))
    temp = np.full(ntot, p.t0)
    low = read_resistance(w, draw.eb, draw.rho, p) < rm
    sets = np.zeros((ntot, ncycles), bool)
    resets = np.zeros((ntot, ncycles), bool)
    energy = np.zeros(ntot)
    nrec = nsteps // record_every + 1
    rec = {k: np.empty((ntot, nrec)) for k in ("v", "w", "r", "i", "temp")}
    t_rec = np.empty(nrec)

    def store(j: int, t: float, v: np.ndarray, i: np.ndarray, r: np.ndarray) -> None:
        t_rec[j] = t
        rec["v"][:, j] = v
        rec["w"][:, j] = w
        rec["r"][:, j] = r
        rec["i"][:, j] = i
        rec["temp"][:, j] = temp

    v0 = v_nodes[group, 0]
    store(0, 0.0, v0, current(v0, w, draw.eb, draw.rho, temp, p),
          read_resistance(w, draw.eb, draw.rho, p))
    em, eb, rho = draw.em, draw.eb, draw.rho
    kdraw_prev = 0
    for s in range(nsteps):
        t = tm[s]
        h = hh[s]
        kdraw = int((t - p.td2c) // p.tc2c) + 1 if (p.c2c and t >= p.td2c) else 0
        if kdraw != kdraw_prev:
            em = draw.em * np.maximum(1 + p.sig_em * zc[0, kdraw], 0.2)
            eb = draw.eb * np.maximum(1 + p.sig_eb * zc[1, kdraw], 0.2)
            rho = draw.rho * np.maximum(1 + p.sig_rho * zc[2, kdraw], 0.2)
            kdraw_prev = kdraw
        v = v_mid[group, s]
        # quasi-static Joule heating T = t0 + rth*v*i(T) (soft cap dtmax), one fixed-point sweep
        i = current(v, w, eb, rho, temp, p)
        temp = p.t0 + p.dtmax * np.tanh(p.rth * np.maximum(v * i, 0.0) / p.dtmax)
        kt = p.kb * temp
        k_set = p.b0 * np.exp(-_softplus(em - p.alpha1 * v, p.esm) / kt)
        k_reset = p.b0 * np.exp(-_softplus(em + p.alpha1 * v, p.esm) / kt)
        ktot = k_set + k_reset
        decay = np.exp(-ktot * h)
        w_eq = k_set / np.maximum(ktot, 1e-300)
        w = w_eq + (w - w_eq) * decay
        energy += v * current(v, w, eb, rho, temp, p) * h
        r = read_resistance(w, eb, rho, p)
        now_low = r < rm
        cyc = min(int(t // per), ncycles - 1)
        sets[:, cyc] |= now_low & ~low
        resets[:, cyc] |= low & ~now_low
        low = now_low
        if (s + 1) % record_every == 0:
            ve = v_nodes[group, s + 1]
            store((s + 1) // record_every, tt[s + 1], ve,
                  current(ve, w, eb, rho, temp, p), r)
    return SwitchingResult(t=t_rec, v=rec["v"], w=rec["w"], r=rec["r"], i=rec["i"],
                           temp=rec["temp"], sets=sets, resets=resets, r_mid=rm, draw=draw,
                           energy=energy)


def switching_events(t: np.ndarray, r: np.ndarray, per: float, ncycles: int,
                     rmid: float) -> tuple[np.ndarray, np.ndarray]:
    """SET / RESET flags per cycle from a sampled read-resistance trace.

    A SET event is a downward crossing of ``rmid`` by ``r`` (toward LRS), a RESET event an upward
    crossing; cycle k is ``k*per <= t < (k+1)*per``.  Returns two bool arrays of length ncycles.
    """
    low = np.asarray(r) < rmid
    cyc = np.minimum((np.asarray(t)[1:] / per).astype(int), ncycles - 1)
    sets = np.zeros(ncycles, bool)
    resets = np.zeros(ncycles, bool)
    np.logical_or.at(sets, cyc[(~low[:-1]) & low[1:]], True)
    np.logical_or.at(resets, cyc[low[:-1] & (~low[1:])], True)
    return sets, resets
