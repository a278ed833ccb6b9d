"""Run a deck with the model engine: parameter points in, ngspice-shaped waveforms out.

>>> from neurospice.spice.deck import prepare_deck
>>> from neurospice.sim.model import run_model
>>> deck = prepare_deck("netlists/coupled_fhn.cir")
>>> [wf] = run_model(deck, tstop=5.0)                     # doctest: +SKIP
>>> wf.time, wf["v(smem)"], wf["v(xm1.w)"], wf["v(xm1.r)"]  # doctest: +SKIP

:func:`run_model` returns one :class:`~neurospice.sim.waveforms.Waveforms` per point, with the
vector names ngspice gives (``v(<mem node>)`` per neuron, ``v(<out node>)``, ``v(x<n>.v3)``,
``v(x<m>.w)``, ``v(x<m>.r)``, ``v(x<m>.emx|ebx|rhox)``, ``i(<sense source>)``, the nodes along each
coupling path), restricted to the deck's ``.save`` list when it has one; the analysis, spike and
locking code therefore reads them as it reads an ngspice run. :func:`iter_model` yields them
chunk by chunk (bounded memory for maps).

Seeds: the memristors' per-device (``mc``) and cycle-to-cycle (``c2c``) draws come from
``numpy.random.default_rng([seed, device_index])`` (:mod:`.noise`), and
:func:`~neurospice.sim.noise.with_shared_noise` compiles the same numbers into an ngspice
deck: a seed is the same device in both engines. ``seed``
is, in order: a point's ``"seed"`` entry, the ``seed`` argument, the deck's ``.param seed``,
its ``.options seed=``, else 1. Every point of a map gets the same draws unless its entry differs
(as every point of an ngspice sweep runs with the deck's one seed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurospice.errors import ModelError
from neurospice.sim.model.characterise import (
    DYNAMIC_PARAMS,
    NeuronSensitivity,
    NeuronTables,
    characterise_fhn,
    characterise_sensitivity,
    library_text,
)
from neurospice.sim.model.compile import ModelProgram, compile_deck, evaluate
from neurospice.sim.model.integrate import (
    DEV_BIOLEK,
    DEV_COMPILED,
    DEV_PERSHIN,
    DEV_ZRO2,
    NPRM,
    P,
    integrate,
    spline_table,
)
from neurospice.sim.noise import deck_seed, intervals, standard_normals
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import PreparedDeck

__all__ = [
    "DEFAULT_DWMAX",
    "DEFAULT_HMAX",
    "DEFAULT_RTOL",
    "DEFAULT_STEP",
    "DEFAULT_WTOL",
    "Span",
    "BoundPoints",
    "CompiledModel",
    "ModelParameterError",
    "ProgressFn",
    "compile_model",
    "iter_model",
    "run_model",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: ``progress(points_done, points_total)``, called after each chunk.
ProgressFn = Callable[[int, int], None]

#: Fixed integration step (s) where a run asks for fixed steps without giving one, and the
#: shortest default record spacing (docs/model_engine.md).
DEFAULT_STEP = 50e-6
#: Default relative tolerance of the adaptive steps (docs/model_engine.md, "Steps").
DEFAULT_RTOL = 1e-4
#: Default longest adaptive step (s).
DEFAULT_HMAX = 2e-3
#: Default tolerance of a memristor state per adaptive step (absolute; w is in [0, 1]).
DEFAULT_WTOL = 3e-3
#: Default largest move of a memristor state in one adaptive step.
DEFAULT_DWMAX = 0.1
#: Points integrated per call of the compiled kernel (bounds the recorded arrays' memory).
DEFAULT_CHUNK = 16
_DEV_CODE = {"zro2": DEV_ZRO2, "biolek": DEV_BIOLEK, "pershin": DEV_PERSHIN}
_ZRO2_SLOTS = {"alpha1": P.ALPHA1, "b0": P.B0, "esm": P.ESM, "bpf": P.BPF, "aa": P.AA,
               "lam": P.LAM, "area": P.AREA, "t0": P.T0, "rth": P.RTH, "dtmax": P.DTMAX,
               "kb": P.KB, "tc2c": P.TC2C, "td2c": P.TD2C}


class ModelParameterError(ModelError):
    """A parameter value the model engine cannot use (not evaluable, out of range)."""


@dataclass
class BoundPoints:
    """The kernel's input arrays for a list of points (see :func:`integrate`)."""

    nsteps: int
    h: float
    rec_every: int
    arrays: dict[str, Any]
    tables: list[NeuronTables]
    seeds: list[int]
    draw_tab: FloatArray
    extra: list[dict[str, Any]] = field(default_factory=list)
    #: Relative tolerance of the adaptive steps; 0: fixed steps of ``h``.
    rtol: float = 0.0
    #: Longest adaptive step (s).
    hmax: float = DEFAULT_HMAX
    #: A memristor state's tolerance per adaptive step.
    wtol: float = 0.0
    #: A memristor state's largest move in one adaptive step.
    dwmax: float = 0.0

    @property
    def times(self) -> FloatArray:
        """The record's sample times (s): every ``rec_every h`` from 0 to ``nsteps h``."""
        nrec = self.nsteps // self.rec_every + 1
        return np.arange(nrec, dtype=np.float64) * (self.rec_every * self.h)

    def describe_steps(self, counts: Any = None) -> str:
        """The steps in words, for a run's log; ``counts``: the kernel's step counts of one
        point (taken, rejected for their error, for a memristor state's move)."""
        taken = ""
        if counts is not None:
            n, e, w = (int(x) for x in counts)
            taken = f": {n} steps" + (f" ({e} + {w} rejected)" if self.rtol > 0 else "")
        if self.rtol > 0:
            return (f"adaptive steps (Dormand-Prince 5(4), rtol {self.rtol:g}, wtol "
                    f"{self.wtol:g}, at most {self.hmax:g} s){taken}, record every "
                    f"{self.rec_every * self.h:g} s")
        return f"step {self.h:g} s{taken}"


def _deck_seed(deck: PreparedDeck) -> int:
    return deck_seed(deck)


@dataclass(frozen=True)
class Span:
    """What a model run covers, given once and handed down (``None``: the deck's or the
    engine's default).

    Attributes
    ----------
    tstop
        Run length (s); default the deck's ``.tran`` stop time.
    seed
        Default seed of the draws (see the module docstring); a point's ``"seed"`` wins.
    dt
        A fixed integration step (s); default none: steps chosen by their error (``rtol``),
        or :data:`DEFAULT_STEP` where the deck's memristors need fixed steps
        (:attr:`CompiledModel.adaptive`).
    record_step
        Spacing of the returned samples (s); default the deck's ``.tran`` step, at least
        :data:`DEFAULT_STEP` (or the deck's max step if smaller). With a fixed ``dt`` it is
        rounded to a multiple of ``dt``.
    rtol
        Relative tolerance of the adaptive steps (the absolute one: ``rtol`` x 1 V on a
        membrane); default :data:`DEFAULT_RTOL`. Ignored with a fixed ``dt``.
    hmax
        Longest adaptive step (s); default :data:`DEFAULT_HMAX`.
    wtol
        A memristor state's tolerance per adaptive step (its splitting error, absolute);
        default :data:`DEFAULT_WTOL`.
    dwmax
        A memristor state's largest move in one adaptive step; default :data:`DEFAULT_DWMAX`.
    """

    tstop: float | None = None
    seed: int | None = None
    dt: float | None = None
    record_step: float | None = None
    rtol: float | None = None
    hmax: float | None = None
    wtol: float | None = None
    dwmax: float | None = None

    def with_settings(self, settings: dict[str, Any]) -> Span:
        """This span with ``settings`` (``tstop=``, ``seed=``, ``dt=``, ``record_step=``,
        ``rtol=``, ``hmax=``; the ``None`` ones left as they are)."""
        return replace(self, **{k: v for k, v in settings.items() if v is not None})


class CompiledModel:
    """A deck compiled once, run for any list of parameter points.

    Parameters
    ----------
    deck
        A checked deck.

    Raises
    ------
    UnmappableElementError
        When the deck holds an element the engine cannot map.
    """

    def __init__(self, deck: PreparedDeck) -> None:
        self.deck = deck
        self.program: ModelProgram = compile_deck(deck)
        self._tables: dict[tuple[tuple[str, float], ...], NeuronTables] = {}
        self._sens: dict[tuple[tuple[str, float], ...], NeuronSensitivity] = {}
        self._slot_defs: tuple[str, dict[str, list[str]]] | None = None
        self._spline_cache: dict[tuple[str, str], FloatArray] = {}

    def _slots(self) -> tuple[str, dict[str, list[str]]]:
        """The library text with tolerance slots, and each neuron's slot parameters."""
        if self._slot_defs is None:
            from neurospice.spice.tolerances import PREFIX, component_slots, with_factors

            defs = library_text(with_factors(self.deck, {}).lines)
            per: dict[str, list[str]] = {}
            for el in component_slots(self.deck):
                head, _, rel = el.path.partition(".")
                if rel:
                    per.setdefault(head, []).append(PREFIX + rel.replace(".", "__"))
            self._slot_defs = (defs, per)
        return self._slot_defs

    def _toleranced(self, nrn_name: str, subckt: str, static: dict[str, float],
                    nominal: NeuronTables, tol: dict[str, float]) -> NeuronTables:
        """``nominal`` moved by the deviations of the neuron's own parts in ``tol``."""
        from neurospice.spice.tolerances import PREFIX

        prefix = nrn_name + "."
        factors = {PREFIX + path[len(prefix):].replace(".", "__"): f
                   for path, f in tol.items() if path.startswith(prefix)}
        if not factors:
            return nominal
        defs, per = self._slots()
        slots = per.get(nrn_name, [])
        key = tuple(sorted(static.items()))
        if key not in self._sens:
            self._sens[key] = characterise_sensitivity(
                defs, static, slots, subckt=subckt, base_dir=self.deck.base_dir,
                environment=self.program.environment)
        return self._sens[key].apply(nominal, factors)

    @property
    def adaptive(self) -> bool:
        """Whether the deck runs with adaptive steps by default: when its memristors (if any)
        are all the hand-written ``zro2`` (an exact update of its state). Compiled bodies and
        the explicit ``biolek``/``pershin`` updates run at the fixed step :data:`DEFAULT_STEP`:
        under adaptive steps their state's error is not bounded (a 2 kOhm contact resistor
        in the zro2 body: slave 27.28 Hz against 26.59 Hz at fixed steps and ngspice's 26.61;
        docs/model_engine.md, "Steps")."""
        return all(d.model == "zro2" for d in self.program.devices)

    # ------------------------------------------------------------------ binding
    def _table(self, subckt: str, static: dict[str, float]) -> NeuronTables:
        key = tuple(sorted(static.items()))
        if key not in self._tables:
            self._tables[key] = characterise_fhn(self.program.definitions, static, subckt=subckt,
                                                 base_dir=self.deck.base_dir,
                                                 environment=self.program.environment)
        return self._tables[key]

    def _point_deck(self, point: dict[str, Any]) -> PreparedDeck:
        params = {k: v for k, v in point.items()
                  if k not in ("tol", "noise") and (k != "seed" or "seed" in self.deck.params())}
        return self.deck.with_params(params) if params else self.deck

    def bind(self, points: Sequence[dict[str, Any]], span: Span | None = None,
             **settings: Any) -> BoundPoints:
        """Evaluate every point's parameters, draws and initial state into kernel arrays.

        Parameters
        ----------
        points
            Parameter overrides per point (``.param`` names; ``"seed"`` for the draws).
        span
            Run length, default seed, step and sampling (:class:`Span`); ``settings``
            (``tstop=``, ``seed=``, ``dt=``, ``record_step=``) change it.
        """
        sp = (span or Span()).with_settings(settings)
        tstop, seed, dt, record_step = sp.tstop, sp.seed, sp.dt, sp.record_step
        prog = self.program
        tstep, tstop_deck, tmax = prog.tran
        t_end = float(tstop if tstop is not None else tstop_deck)
        if not t_end > 0:
            raise ModelParameterError(f"tstop must be positive (got {t_end:g} s)")
        base = min(DEFAULT_STEP, tmax if tmax > 0 else DEFAULT_STEP)
        rec = float(record_step if record_step is not None else max(tstep, base))
        if dt is None and not self.adaptive:
            dt = base
        rtol = 0.0 if dt is not None else float(sp.rtol if sp.rtol is not None else DEFAULT_RTOL)
        hmax = float(sp.hmax if sp.hmax is not None else DEFAULT_HMAX)
        wtol = float(sp.wtol if sp.wtol is not None else DEFAULT_WTOL)
        dwmax = float(sp.dwmax if sp.dwmax is not None else DEFAULT_DWMAX)
        if not (rtol >= 0 and hmax > 0 and rec > 0 and (min(wtol, dwmax) > 0 or rtol == 0)):
            raise ModelParameterError(
                f"the model engine's steps need rtol >= 0, hmax > 0, wtol > 0, dwmax > 0 and a "
                f"record step > 0 (got {rtol:g}, {hmax:g}, {wtol:g}, {dwmax:g}, {rec:g})")
        if dt is not None:
            h = float(dt)
            nsteps = int(math.ceil(t_end / h - 1e-9))
            rec_every = max(1, int(round(rec / h)))
        else:  # adaptive: h is the record's spacing, the largest that ends on t_end
            nsteps = int(math.ceil(t_end / rec - 1e-9))
            h = t_end / nsteps
            rec_every = 1
        npts, nn, nbr, nd = len(points), len(prog.neurons), len(prog.branches), len(prog.devices)
        a: dict[str, Any] = {
            "v_init": np.zeros((npts, nn)), "il_init": np.zeros((npts, nn)),
            "w_init": np.zeros((npts, nd)), "c0": np.zeros((npts, nn)),
            "lval": np.zeros((npts, nn)), "rs": np.zeros((npts, nn)), "v3": np.zeros((npts, nn)),
            "kout": np.zeros((npts, nn)), "tab_of": np.zeros((npts, nn), dtype=np.int64),
            "rser": np.zeros((npts, nbr)), "emf": np.zeros((npts, nbr)),
            "prm": np.zeros((npts, nd, NPRM)),
        }
        tables: list[NeuronTables] = []
        tab_index: dict[str, int] = {}
        seeds: list[int] = []
        draws_per_point: list[list[FloatArray]] = []
        programs: dict[tuple[int, int], list[tuple[Any, Any]]] = {}
        x0s: dict[int, list[Any]] = {}  # compiled devices (network.NetworkDevice) per point
        base_seed = seed if seed is not None else _deck_seed(self.deck)
        extra: list[dict[str, Any]] = []
        for ip, point in enumerate(points):
            d = self._point_deck(point)
            s = int(point.get("seed", base_seed))
            seeds.append(s)
            tol: dict[str, float] = dict(point.get("tol") or {})
            info: dict[str, Any] = {"neurons": {}}
            for k, nrn in enumerate(prog.neurons):
                vals = self._values(d, nrn.params, nrn.name)
                if "c0" not in vals or "pot" not in vals:
                    raise ModelParameterError(
                        f"{nrn.name}: the {nrn.subckt} subcircuit has no c0/pot parameters",
                        path=self.deck.source)
                static = {n: v for n, v in vals.items() if n not in DYNAMIC_PARAMS}
                tb = self._table(nrn.subckt, static).at_pot(vals["pot"])
                if tol:
                    tb = self._toleranced(nrn.name, nrn.subckt, static, tb, tol)
                if tb.key not in tab_index:
                    tab_index[tb.key] = len(tables)
                    tables.append(tb)
                a["tab_of"][ip, k] = tab_index[tb.key]
                extra_c = sum(self._value(d, text, f"{name} capacitor") * tol.get(name, 1.0)
                              for name, text in prog.extra_caps.get(nrn.name, []))
                a["c0"][ip, k] = tb.capacitance(vals["c0"]) + extra_c
                a["lval"][ip, k] = tb.lval
                a["rs"][ip, k] = tb.rs
                a["v3"][ip, k] = tb.v3_of(vals["pot"])
                a["kout"][ip, k] = vals.get("kout", 1.0)
                v0, i0 = self._initial(d, nrn.v_init, tb, a["v3"][ip, k])
                a["v_init"][ip, k] = v0
                a["il_init"][ip, k] = i0
                info["neurons"][nrn.name] = {"v3": a["v3"][ip, k], "c0": a["c0"][ip, k],
                                             "kout": a["kout"][ip, k]}
            values: dict[str, float] = {}
            info["values"] = values
            for b, br in enumerate(prog.branches):
                rsum = 0.0
                emf = 0.0
                for kind, name, _n1, _n2, text in br.walk:
                    if kind == "r":
                        values[name] = self._value(d, text, name) * tol.get(name, 1.0)
                        rsum += values[name]
                    elif kind == "v":
                        values[name] = self._value(d, text[1:], name)
                        emf += (1.0 if text.startswith("+") else -1.0) * values[name]
                a["rser"][ip, b] = rsum
                a["emf"][ip, b] = emf
            draws_j: list[FloatArray] = []
            for j, dev in enumerate(prog.devices):
                vals = self._values(d, dev.params, dev.name)
                if dev.model.startswith("compiled:"):
                    compiled, dtab = self._compiled(dev.model.split(":", 1)[1], vals, dev.name,
                                                    h, a["prm"][ip, j], s, dev.draw_index,
                                                    t_end, bool(point.get("noise", True)))
                    for which, code in enumerate(compiled.programs):
                        programs.setdefault((j, which), []).append(code)
                    x0s.setdefault(j, []).append(compiled)
                    for b, br in enumerate(prog.branches):  # its series resistance
                        if br.device == j:
                            a["rser"][ip, b] += compiled.r_series
                    values[dev.name] = compiled.r_series
                    draws_j.append(dtab)
                    continue
                try:
                    w0, dtab = self._device(dev.model, vals, a["prm"][ip, j], s, dev.draw_index,
                                            t_end, bool(point.get("noise", True)))
                except KeyError as exc:
                    raise ModelParameterError(
                        f"{dev.name}: the {dev.model} subcircuit has no parameter {exc} that the "
                        "model engine's equations need (was memristors.lib changed?)",
                        path=self.deck.source) from None
                a["w_init"][ip, j] = w0
                draws_j.append(dtab)
            draws_per_point.append(draws_j)
            extra.append(info)
        ni = max([1] + [dt_.shape[0] for dj in draws_per_point for dt_ in dj])
        draw_tab = np.zeros((npts, nd, ni, 3))
        for ip, dj in enumerate(draws_per_point):
            for j, dtab in enumerate(dj):
                draw_tab[ip, j, : dtab.shape[0]] = dtab
                draw_tab[ip, j, dtab.shape[0]:] = dtab[-1]
        a["bcode"], a["blen"], a["bconst"] = _pack_programs(programs, npts, nd)
        a["dev_meta"], a["dev_x0"] = _pack_variables(x0s, npts, nd)
        a["vcvs_gain"] = np.array([[self._value(self._point_deck(pt), e[4], e[0])
                                    for e in prog.vcvs] for pt in points]).reshape(npts, -1)
        a["cccs_gain"] = np.array([[self._value(self._point_deck(pt), f[4], f[0])
                                    for f in prog.cccs] for pt in points]).reshape(npts, -1)
        for j, devs in x0s.items():
            a["w_init"][:, j] = [_readout(d) for d in devs]
        return BoundPoints(nsteps, h, rec_every, a, tables, seeds, draw_tab, extra, rtol, hmax,
                           wtol, dwmax)

    def _compiled(self, subckt: str, vals: dict[str, float], owner: str, h: float,
                  prm: FloatArray, seed: int, j: int, t_end: float,
                  noise: bool) -> tuple[Any, FloatArray]:
        """Compile device ``j``'s body (:mod:`.network`) with its draws; its noise table."""
        from neurospice.sim.model.behavioural import NotCompilable
        from neurospice.sim.model.compile import evaluate_in
        from neurospice.sim.model.network import compile_network, global_funcs
        from neurospice.spice.flatten import subckt_table

        if not hasattr(self, "_subs"):
            self._subs = subckt_table(self.deck)
        hold = (0.0, 0.0)
        for _ in range(2):  # the hold time is the body's own: compile, then draw for it
            g, z = standard_normals(seed, j, intervals(t_end, hold[0], hold[1]))
            if not noise:  # the nominal device (every draw at its mean)
                g, z = np.zeros_like(g), np.zeros_like(z)
            try:
                dev = compile_network(self._subs[subckt], vals, evaluate_in, normals=list(g),
                                      funcs=global_funcs(self.deck.cards))
            except NotCompilable as exc:
                raise ModelParameterError(f"{owner}: {exc}", path=self.deck.source) from None
            if dev.noise_hold is None or dev.noise_hold == hold:
                break
            hold = dev.noise_hold
        prm[P.TC2C], prm[P.TD2C] = hold
        return dev, z if dev.noise_nodes else np.zeros((1, 3))

    def _value(self, d: PreparedDeck, text: str, owner: str) -> float:
        try:
            return evaluate(d, text)
        except (ValueError, ZeroDivisionError) as exc:
            raise ModelParameterError(f"{owner}: cannot evaluate '{text}': {exc}",
                                      path=self.deck.source) from None

    def _values(self, d: PreparedDeck, params: dict[str, str], owner: str) -> dict[str, float]:
        return {k: self._value(d, v, f"{owner} {k}") for k, v in params.items()}

    def _initial(self, d: PreparedDeck, v_ic: str | None, tb: NeuronTables,
                 v3: float) -> tuple[float, float]:
        if self.program.uic:
            v0 = self._value(d, v_ic, ".ic") if v_ic is not None else 0.0
            return v0, 0.0
        # operating point of the uncoupled neuron: F(V) + (V - V3 - H(V))/Rs = 0
        g = tb.f_cubic + (tb.v_grid - v3 - tb.h_ref) / tb.rs
        idx = np.nonzero(np.diff(np.sign(g)))[0]
        if idx.size == 0:
            return 0.0, 0.0
        i = int(idx[np.argmin(np.abs(tb.v_grid[idx]))])
        v0 = float(tb.v_grid[i] - g[i] * (tb.v_grid[i + 1] - tb.v_grid[i]) / (g[i + 1] - g[i]))
        if v_ic is not None:
            v0 = self._value(d, v_ic, ".ic")
        href = float(np.interp(v0, tb.v_grid, tb.h_ref))
        return v0, (v0 - v3 - href) / tb.rs

    def _device(self, model: str, vals: dict[str, float], prm: FloatArray, seed: int, j: int,
                t_end: float, noise: bool = True) -> tuple[float, FloatArray]:
        if model == "zro2":
            for name, slot in _ZRO2_SLOTS.items():
                prm[slot] = vals[name]
            c2c = vals["c2c"]
            tc = vals["tc2c"]
            g, z = standard_normals(seed, j, intervals(t_end, tc, vals["td2c"]))
            if not noise:  # the nominal device (every draw at its mean)
                g, z = np.zeros_like(g), np.zeros_like(z)
            mc = vals["mc"]
            nominal = np.array([vals["em"], vals["eb"], vals["rho"]])
            sig = np.array([vals["sig_em"], vals["sig_eb"], vals["sig_rho"]])
            dev = nominal * np.maximum(1.0 + mc * sig * g, 0.2)
            if c2c != 0.0 and tc > 0.0:
                tab = dev[None, :] * np.maximum(1.0 + c2c * sig[None, :] * z, 0.2)
            else:
                tab = dev[None, :]
            return vals["w0"], tab
        if model == "biolek":
            prm[P.RON], prm[P.ROFF] = vals["ron"], vals["roff"]
            prm[P.KMOB] = vals["uv"] * vals["ron"] / vals["d"] ** 2
            prm[P.PEXP] = vals["p"]
            return vals["w0"], np.zeros((1, 3))
        prm[P.RON], prm[P.ROFF] = vals["ron"], vals["roff"]
        prm[P.PALPHA], prm[P.PBETA] = vals["alpha"], vals["beta"]
        prm[P.VTH], prm[P.DLIM] = vals["vth"], vals["dlim"]
        return (vals["roff"] - vals["rinit"]) / (vals["roff"] - vals["ron"]), np.zeros((1, 3))

    # ------------------------------------------------------------------ running
    def run(self, points: Sequence[dict[str, Any]] | None = None, span: Span | None = None, *,
            progress: ProgressFn | None = None, chunk: int = DEFAULT_CHUNK,
            **settings: Any) -> list[Waveforms]:
        """Waveforms of every point (see :func:`run_model`)."""
        sp = (span or Span()).with_settings(settings)
        return [wf for _, wf in self.iter(points, sp, progress=progress, chunk=chunk)]

    def iter(self, points: Sequence[dict[str, Any]] | None = None, span: Span | None = None, *,
             progress: ProgressFn | None = None, chunk: int = DEFAULT_CHUNK,
             **settings: Any) -> Iterator[tuple[int, Waveforms]]:
        """Yield ``(point index, waveforms)`` chunk by chunk (see :func:`iter_model`);
        ``span`` and ``settings`` as for :meth:`bind`."""
        sp = (span or Span()).with_settings(settings)
        pts = list(points) if points else [{}]
        total = len(pts)
        for start in range(0, total, max(1, chunk)):
            part = pts[start:start + chunk]
            bound = self.bind(part, sp)
            recs = self.integrate(bound)
            for i in range(len(part)):
                yield start + i, self._waveforms(bound, recs, i)
            if progress is not None:
                progress(start + len(part), total)

    def integrate(self, bound: BoundPoints, detectors: Any = None,
                  waveforms: bool = True) -> dict[str, FloatArray]:
        """Run the compiled kernel on bound points; the raw records (``waveforms=False``: none)
        and, with ``detectors`` (:func:`neurospice.sim.model.online.detector_arrays`), the
        online detectors' events (``ev_t``, ``ev_pk``, ``ev_tr``, ``ev_n``)."""
        from neurospice.sim.model.online import detector_arrays

        prog = self.program
        a = bound.arrays
        npts = a["v_init"].shape[0]
        nn, nbr, nd = len(prog.neurons), len(prog.branches), len(prog.devices)
        nrec = bound.nsteps // bound.rec_every + 1 if waveforms else 0
        recs = {"v": np.zeros((npts, 2 * nn, nrec)), "w": np.zeros((npts, nd, nrec)),
                "i": np.zeros((npts, nbr, nrec)), "vd": np.zeros((npts, nd, nrec)),
                "steps": np.zeros((npts, 3), dtype=np.int64)}
        det = detectors if detectors is not None else detector_arrays(npts)
        recs.update({k: det[k] for k in ("ev_t", "ev_pk", "ev_tr", "ev_n")})
        tab = bound.tables
        ends = _ends(prog)
        x_final = a["dev_x0"].copy()
        integrate(
            bound.nsteps, bound.h, bound.rec_every, bound.rtol, bound.hmax, bound.wtol,
            bound.dwmax, a["dev_meta"],
            x_final,
            ends["vcvs_ctl"], a["vcvs_gain"], ends["cccs_idx"], a["cccs_gain"],
            a["v_init"], a["il_init"], a["w_init"],
            a["c0"], a["lval"], a["rs"], a["v3"], a["kout"], a["tab_of"],
            self._splines(tab, "f_cubic"), self._splines(tab, "h_ref"),
            self._splines(tab, "b_out"), np.array([t.rout for t in tab]),
            float(tab[0].v_grid[0]), float(tab[0].v_grid[1] - tab[0].v_grid[0]),
            a["rser"], a["emf"], ends["kind"], ends["idx"], ends["dev"], ends["dev_branch"],
            ends["dev_sign"], ends["dev_model"], a["prm"], bound.draw_tab,
            recs["v"], recs["w"], recs["i"], recs["vd"], a["bcode"], a["blen"], a["bconst"],
            det["nrn"], det["k0"], det["on"], det["off"], det["ev_t"], det["ev_pk"],
            det["ev_tr"], det["ev_n"], recs["steps"],
        )
        self._check_steps(bound, x_final)
        return recs

    def _splines(self, tables: list[NeuronTables], name: str) -> FloatArray:
        """Table ``name`` of each of ``tables`` as the kernel reads it (cached)."""
        out = []
        for tb in tables:
            key = (tb.key, name)
            if key not in self._spline_cache:
                self._spline_cache[key] = spline_table(getattr(tb, name),
                                                       float(tb.v_grid[1] - tb.v_grid[0]))
            out.append(self._spline_cache[key])
        return np.stack(out)

    def _check_steps(self, bound: BoundPoints, x_final: FloatArray) -> None:
        """Refuse a compiled device whose state took an explicit step of more than 0.05."""
        for j, dev in enumerate(self.program.devices):
            if not dev.model.startswith("compiled:") or x_final.shape[2] < 2:
                continue
            jump = float(np.max(x_final[:, j, 1]))
            if not jump <= 0.05:
                raise ModelParameterError(
                    f"{dev.name}: a state of its body ({dev.model.split(':', 1)[1]}) moved by "
                    f"{jump:.3g} in one explicit step ({bound.describe_steps()}): too fast for "
                    "the engine's step of a compiled body (--engine spice)",
                    path=self.deck.source)

    def _waveforms(self, bound: BoundPoints, recs: dict[str, FloatArray], i: int) -> Waveforms:
        prog = self.program
        a = bound.arrays
        nn = len(prog.neurons)
        nrec = recs["v"].shape[2]
        t: FloatArray = bound.times[:nrec]
        vec: dict[str, FloatArray] = {}
        units: dict[str, str] = {}
        out_v: dict[str, FloatArray] = {}
        saves = [s if "(" in s else f"v({s})" for s in self.program.saves if s != "all"]
        keep = set(saves)

        def need(name: str) -> bool:
            return not keep or name in keep

        for k, nrn in enumerate(prog.neurons):
            tb = bound.tables[int(a["tab_of"][i, k])]
            v = recs["v"][i, k].copy()
            vec[f"v({nrn.mem})"] = v
            if need(f"v({nrn.name}.v3)"):
                vec[f"v({nrn.name}.v3)"] = a["v3"][i, k] + np.interp(v, tb.v_grid, tb.h_ref)
            if need(f"i({nrn.name}.l)"):
                vec[f"i({nrn.name}.l)"] = recs["v"][i, nn + k].copy()
            out_v[nrn.out] = a["kout"][i, k] * np.interp(v, tb.v_grid, tb.b_out)
        for br_i, br in enumerate(prog.branches):
            cur = recs["i"][i, br_i]
            # walk the path A -> B: node voltages behind each element
            kind, k = br.a
            if kind == "mem":
                v_node = vec[f"v({prog.neurons[k].mem})"]
            elif kind == "out":
                nrn = prog.neurons[k]
                tb = bound.tables[int(a["tab_of"][i, k])]
                v_node = out_v[nrn.out] - tb.rout * cur
                out_v[nrn.out] = v_node
            elif kind == "vcvs":  # an ideal source controlled by neuron pins
                _name, node, *ctls, _gain = prog.vcvs[k]
                pins = [vec[f"v({prog.neurons[c[1]].mem})"] if c[0] == "mem" else
                        out_v[prog.neurons[c[1]].out] if c[0] == "out" else np.zeros(nrec)
                        for c in ctls]
                v_node = a["vcvs_gain"][i, k] * (pins[0] - pins[1])
                vec[f"v({node})"] = v_node
            else:
                v_node = np.zeros(nrec)
            for ekind, name, _before, after, text in br.walk:
                value = bound.extra[i]["values"].get(name, 0.0)
                if ekind == "r":
                    v_node = v_node - value * cur
                elif ekind == "v":
                    sign = 1.0 if text.startswith("+") else -1.0
                    vec[f"i({name})"] = sign * cur
                    v_node = v_node - sign * value
                else:
                    j = br.device
                    dev = prog.devices[j]
                    vpn = recs["vd"][i, j]  # the core's; the body's series resistance
                    v_node = v_node - dev.sign * vpn - value * cur  # (value) besides
                if after not in ("0", "gnd") and f"v({after})" not in vec:
                    vec[f"v({after})"] = np.asarray(v_node, dtype=float).copy()
        for node, v in out_v.items():
            vec.setdefault(f"v({node})", v)
        for j, dev in enumerate(prog.devices):
            w = recs["w"][i, j].copy()
            vec[f"v({dev.name}.w)"] = w
            if need(f"v({dev.name}.r)") and not dev.model.startswith("compiled:"):
                vec[f"v({dev.name}.r)"] = self._read_r(dev.model, bound, i, j, w, t)
            if dev.model == "zro2":
                names = [n for n in ("emx", "ebx", "rhox") if need(f"v({dev.name}.{n})")]
                if names:
                    q = _interval(bound, i, j, t)
                    for c, name in enumerate(("emx", "ebx", "rhox")):
                        if name in names:
                            vec[f"v({dev.name}.{name})"] = bound.draw_tab[i, j, q, c]
        for name in vec:
            units[name] = "A" if name.startswith("i(") else "V"
        log: list[str] = []
        if saves:
            vec = {key: vec[key] for key in saves if key in vec}
            missing = [key for key in saves if key not in vec]
            if missing:
                log.append(f"model engine: not computed: {', '.join(missing)}")
        log.insert(0, f"model engine: {self.program.describe()}; "
                      f"{bound.describe_steps(recs['steps'][i])}, seed {bound.seeds[i]}")
        return Waveforms("tran", "tran1", "time", t, vec, {k: units[k] for k in vec}, None, log)

    def _read_r(self, model: str, bound: BoundPoints, i: int, j: int, w: FloatArray,
                t: FloatArray) -> FloatArray:
        prm = bound.arrays["prm"][i, j]
        wc = np.clip(w, 0.0, 1.0)
        if model == "zro2":
            q = _interval(bound, i, j, t)
            dev = self.program.devices[j]
            vread = float(evaluate(self.deck, dev.params.get("vread", "0.1")))
            kt0 = prm[P.KB] * prm[P.T0]
            # conductances per hold interval, then per sample
            eb = bound.draw_tab[i, j, :, 1]
            rho = bound.draw_tab[i, j, :, 2]
            g_lrs = prm[P.AREA] / (rho * prm[P.LAM])
            g_pf = prm[P.AREA] * prm[P.AA] * np.exp(-(eb - prm[P.BPF] * math.sqrt(vread)) / kt0)
            return 1.0 / (wc * g_lrs[q] + (1 - wc) * g_pf[q])
        if model == "biolek":
            return prm[P.RON] * wc + prm[P.ROFF] * (1 - wc)
        return prm[P.ROFF] - (prm[P.ROFF] - prm[P.RON]) * wc


def _interval(bound: BoundPoints, i: int, j: int, t: FloatArray) -> IntArray:
    prm = bound.arrays["prm"][i, j]
    tc, td = prm[P.TC2C], prm[P.TD2C]
    ni = bound.draw_tab.shape[2]
    if tc <= 0:
        return np.zeros(t.shape, dtype=np.int64)
    q = np.where(t >= td, np.floor((t - td) / tc), 0).astype(np.int64)
    return np.minimum(q, ni - 1)


def _pack_programs(programs: dict[tuple[int, int], list[tuple[Any, Any]]], npts: int,
                   nd: int) -> tuple[IntArray, IntArray, FloatArray]:
    """Compiled devices' programs as kernel arrays: code ``(nd, S, L, 2)`` and lengths
    ``(nd, S)`` (shared: the points differ in constants only), constants ``(npts, nd, S, M)``;
    ``S`` slots: the current, the state rates, the quasi-static states, the read-out of ``w``
    (:attr:`.network.NetworkDevice.programs`)."""
    length = max([1] + [len(c) for progs in programs.values() for c, _ in progs])
    width = max([1] + [len(k) for progs in programs.values() for _, k in progs])
    slots = max([2] + [which + 1 for _, which in programs])
    code = np.zeros((nd, slots, length, 2), dtype=np.int64)
    lens = np.zeros((nd, slots), dtype=np.int64)
    consts = np.zeros((npts, nd, slots, width))
    for (j, which), progs in programs.items():
        first = progs[0][0]
        for ip, (c, k) in enumerate(progs):
            if c.shape != first.shape or np.any(c != first):
                raise ModelParameterError("a compiled memristor's equations change form between "
                                          "parameter points (a parameter switches a branch)")
            consts[ip, j, which, : len(k)] = k
        code[j, which, : len(first)] = first
        lens[j, which] = len(first)
    return code, lens, consts


def _pack_variables(devices: dict[int, list[Any]], npts: int,
                    nd: int) -> tuple[IntArray, FloatArray]:
    """Compiled devices' variable layout ``(nd, 4)``: states, quasi-static states, noise
    inputs (the same at every point) and their initial variable vectors ``(npts, nd, nvars)``."""
    width = max([1] + [d.nvars for devs in devices.values() for d in devs])
    meta = np.zeros((nd, 4), dtype=np.int64)
    x0 = np.zeros((npts, nd, width))
    for j, devs in devices.items():
        shape = (len(devs[0].states), len(devs[0].quasi_nodes), len(devs[0].noise_nodes))
        for ip, d in enumerate(devs):
            if (len(d.states), len(d.quasi_nodes), len(d.noise_nodes)) != shape:
                raise ModelParameterError("a compiled memristor's states change between "
                                          "parameter points (a parameter switches a branch)")
            x0[ip, j, : d.nvars] = d.x0
        meta[j, :3] = shape
        meta[j, 3] = 1 if devs[0].voltage_mode else 0
    return meta, x0


def _readout(dev: Any) -> float:
    from neurospice.sim.model.network import run

    return run(dev.readout, dev.x0)


def _ends(prog: ModelProgram) -> dict[str, Any]:
    nbr, nd = len(prog.branches), len(prog.devices)
    kind = np.zeros((nbr, 2), dtype=np.int64)
    idx = np.zeros((nbr, 2), dtype=np.int64)
    dev = np.full(nbr, -1, dtype=np.int64)
    dev_branch = np.zeros(max(nd, 1), dtype=np.int64)[:nd]
    codes = {"gnd": 0, "mem": 1, "out": 2, "vcvs": 3}
    for b, br in enumerate(prog.branches):
        for side, (k, n) in enumerate((br.a, br.b)):
            kind[b, side] = codes[k]
            idx[b, side] = max(n, 0)
        dev[b] = br.device
        if br.device >= 0:
            dev_branch[br.device] = b
    sign = np.array([float(d.sign) for d in prog.devices])
    model = np.array([DEV_COMPILED if d.model.startswith("compiled:") else _DEV_CODE[d.model]
                      for d in prog.devices], dtype=np.int64)
    vcvs_ctl = np.zeros((len(prog.vcvs), 4), dtype=np.int64)
    for e, (_name, _out, plus, minus, _gain) in enumerate(prog.vcvs):
        vcvs_ctl[e] = [codes[plus[0]], max(plus[1], 0), codes[minus[0]], max(minus[1], 0)]
    cccs_idx = np.array([[k, b, sgn] for _name, k, b, sgn, _gain in prog.cccs],
                        dtype=np.int64).reshape(-1, 3)
    return {"kind": kind, "idx": idx, "dev": dev, "dev_branch": dev_branch, "dev_sign": sign,
            "dev_model": model, "vcvs_ctl": vcvs_ctl, "cccs_idx": cccs_idx}


def compile_model(deck: PreparedDeck) -> CompiledModel:
    """Compile ``deck`` for the model engine (see :class:`CompiledModel`)."""
    return CompiledModel(deck)


def run_model(
    deck: PreparedDeck,
    *,
    points: list[dict[str, Any]] | None = None,
    span: Span | None = None,
    progress: ProgressFn | None = None,
    **settings: Any,
) -> list[Waveforms]:
    """Run ``deck`` with the model engine, once per parameter point.

    Parameters
    ----------
    deck
        A checked deck (:func:`neurospice.spice.deck.prepare_deck`).
    points
        Parameter overrides per point (``{"r2": 2e3, "amp": 1.8}``, optionally ``"seed"``);
        default one point with the deck's own values.
    span, **settings
        The run's :class:`Span`, and its fields as keywords: ``tstop`` (run length, s; default
        the deck's ``.tran`` stop time), ``seed`` (of the memristors' draws, see the module
        docstring), ``dt`` (a fixed integration step, s; default adaptive steps),
        ``record_step`` (sample spacing, s; default the deck's ``.tran`` step), ``rtol``,
        ``hmax`` (the adaptive steps' tolerance and longest step).
    progress
        Called as ``progress(points_done, points_total)``.

    Returns
    -------
    list of Waveforms
        One per point, in order; ``Waveforms.log[0]`` says what was mapped.

    Raises
    ------
    UnmappableElementError
        The deck holds an element the engine cannot map (the message names it).
    ModelParameterError
        A parameter expression cannot be evaluated.
    """
    return CompiledModel(deck).run(points, span, progress=progress, **settings)


def iter_model(
    deck: PreparedDeck | CompiledModel,
    points: list[dict[str, Any]],
    span: Span | None = None,
    *,
    progress: ProgressFn | None = None,
    chunk: int = DEFAULT_CHUNK,
    **settings: Any,
) -> Iterator[tuple[int, Waveforms]]:
    """Like :func:`run_model`, yielding ``(point index, waveforms)`` as each chunk finishes."""
    model = deck if isinstance(deck, CompiledModel) else CompiledModel(deck)
    return model.iter(points, span, progress=progress, chunk=chunk, **settings)
