"""The energy view of memristive elements and circuits (MODELS.md 3; seed 002).

A memristive element ``i(t) = g(v)(t) v(t)`` with ``g >= eps > 0`` dissipates
``E_diss = integral of v i dt >= eps * integral of v^2 dt`` for every input, passes no current at
``v = 0`` (a pinched i-v loop), and under a periodic drive its loop shrinks toward a line as the
frequency rises. A circuit closes its power balance: the energy the sources deliver equals the
change of the energy stored (capacitors) plus the energy dissipated.

All functions are pure (numpy arrays in, frozen dataclasses out) and integrate sampled waveforms
with the trapezoidal rule on the samples' own (non-uniform) time steps. Units: time s, voltage V,
current A, conductance S, capacitance F, energy J, power W.

Public API, by task:

* one element under any drive: :func:`element_energy` -> :class:`ElementEnergy` (dissipated energy,
  the smallest conductance seen, the bound ``eps * integral v^2 dt``, co-contents)
* the i-v loop: :func:`loop_area` (lobe-wise absolute area over one period), :func:`pinch_current`
  (the current where ``v`` crosses zero, interpolated)
* a whole circuit: :func:`power_balance` -> :class:`PowerBalance`, from :class:`Term` records
  (``Term.source``/``Term.dissipator`` from (v, i) pairs, ``Term.storage`` from an energy trace,
  :func:`capacitor_energy` for ``0.5 C v^2``)
* cumulative integrals: :func:`cumulative_energy`
* a whole netlist from its saved vectors (``.options savecurrents``): :func:`netlist_branches`
  flattens the deck into :class:`Branch` records, :func:`netlist_balance` adds them up
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from neurospice.spice.lexer import lex, split_tokens

__all__ = [
    "Branch",
    "ElementEnergy",
    "PowerBalance",
    "Term",
    "VectorSource",
    "branch_power",
    "capacitor_energy",
    "connected_nodes",
    "cumulative_energy",
    "element_energy",
    "loop_area",
    "netlist_balance",
    "netlist_branches",
    "pinch_current",
    "power_balance",
]

FloatArray = NDArray[np.float64]
TermKind = Literal["source", "storage", "dissipator"]


def _arrays(t: ArrayLike, *ys: ArrayLike) -> tuple[FloatArray, ...]:
    ta = np.asarray(t, dtype=np.float64).reshape(-1)
    out = [ta]
    for y in ys:
        ya = np.asarray(y, dtype=np.float64).reshape(-1)
        if ya.shape != ta.shape:
            raise ValueError(f"arrays differ in length ({ta.size} vs {ya.size})")
        out.append(ya)
    if ta.size > 1 and np.any(np.diff(ta) < 0):
        raise ValueError("t must be non-decreasing")
    return tuple(out)


def cumulative_energy(t: ArrayLike, p: ArrayLike) -> FloatArray:
    """Running integral of a power trace, starting at 0 (trapezoidal rule).

    Parameters
    ----------
    t : array_like
        Sample times [s].
    p : array_like
        Power [W] (e.g. ``v * i``).

    Returns
    -------
    ndarray
        ``E(t_k) = integral from t_0 to t_k of p dt`` [J], same length as ``t``.
    """
    ta, pa = _arrays(t, p)
    if ta.size == 0:
        return np.zeros(0)
    steps = 0.5 * (pa[1:] + pa[:-1]) * np.diff(ta)
    return np.concatenate(([0.0], np.cumsum(steps)))


def _integral(t: FloatArray, y: FloatArray) -> float:
    if t.size < 2:
        return 0.0
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(t)))


@dataclass(frozen=True)
class ElementEnergy:
    """Energy figures of one element over one record.

    Attributes
    ----------
    e_diss : float
        Dissipated energy ``integral of v i dt`` [J].
    eps : float
        The smallest conductance seen [S] (see :func:`element_energy` for how it is taken).
    v2 : float
        ``integral of v^2 dt`` [V^2 s].
    bound : float
        The paper's lower bound ``eps * integral of v^2 dt`` [J]; ``e_diss >= bound`` for a
        memristive element with ``g >= eps``.
    co_content : float
        ``integral of i dv`` along the trajectory [W]: for a static conductance the change of its
        co-content ``E(v) = integral_0^v g(u) u du`` between the first and the last sample; for a
        memristor it depends on the path (over one period of a periodic drive it is the signed
        loop area).
    co_content_1g : float
        The paper's 1/g co-content of a memristive element, ``0.5 * <v, v>`` = ``0.5 * v2``
        [V^2 s] (the same for every memristor: the metric 1/g carries the element).
    """

    e_diss: float
    eps: float
    v2: float
    bound: float
    co_content: float
    co_content_1g: float

    @property
    def margin(self) -> float:
        """``e_diss - bound`` [J]: non-negative for a memristive element."""
        return self.e_diss - self.bound


def element_energy(
    t: ArrayLike,
    v: ArrayLike,
    i: ArrayLike,
    *,
    g: ArrayLike | None = None,
    v_floor: float | None = None,
) -> ElementEnergy:
    """Dissipated energy, its lower bound and the co-contents of a two-terminal element.

    Parameters
    ----------
    t : array_like
        Sample times [s].
    v : array_like
        Voltage across the element [V].
    i : array_like
        Current through the element in the direction of ``v`` (passive sign convention) [A].
    g : array_like, optional
        The element's conductance over time [S] when the model gives it (e.g. ``gK n^4 * area``);
        ``eps`` is then its minimum over the record.
    v_floor : float, optional
        Without ``g``: ``eps`` is the minimum of ``i / v`` over the samples with
        ``|v| >= v_floor`` [V] (near ``v = 0`` the ratio is 0/0). Default ``1e-3 * max|v|``.

    Returns
    -------
    ElementEnergy
    """
    ta, va, ia = _arrays(t, v, i)
    if ta.size == 0:
        nan = math.nan
        return ElementEnergy(0.0, nan, 0.0, nan, 0.0, 0.0)
    if g is not None:
        ga = _arrays(ta, g)[1]
        eps = float(np.min(ga))
    else:
        vmax = float(np.max(np.abs(va)))
        floor = 1e-3 * vmax if v_floor is None else float(v_floor)
        sel = np.abs(va) >= max(floor, np.finfo(float).tiny)
        eps = float(np.min(ia[sel] / va[sel])) if np.any(sel) else math.nan
    v2 = _integral(ta, va * va)
    e_diss = _integral(ta, va * ia)
    co = float(np.sum(0.5 * (ia[1:] + ia[:-1]) * np.diff(va))) if ta.size > 1 else 0.0
    return ElementEnergy(e_diss, eps, v2, eps * v2, co, 0.5 * v2)


def _crossings(t: FloatArray, v: FloatArray) -> FloatArray:
    """Times where ``v`` changes sign (linear interpolation; an exact zero counts once)."""
    s = np.sign(v)
    k = np.flatnonzero((s[:-1] != s[1:]) & (s[:-1] != 0))
    frac = np.where(v[k + 1] == v[k], 0.0, -v[k] / np.where(v[k + 1] == v[k], 1.0,
                                                               v[k + 1] - v[k]))
    return np.asarray(t[k] + frac * (t[k + 1] - t[k]), dtype=np.float64)


def pinch_current(t: ArrayLike, v: ArrayLike, i: ArrayLike) -> FloatArray:
    """The current at each zero crossing of ``v`` [A].

    Samples where ``v`` is exactly 0 give their own current; a sign change between two samples
    gives the linear interpolation of ``i`` at the interpolated crossing time (exact for a
    straight i-v segment through the origin). A pinched element gives values near 0.
    """
    ta, va, ia = _arrays(t, v, i)
    exact = ia[va == 0.0]
    tc = _crossings(ta, va)
    return np.concatenate((exact, np.interp(tc, ta, ia)))


def loop_area(
    t: ArrayLike, v: ArrayLike, i: ArrayLike, period: float, *, n_periods: int = 1
) -> float:
    """Area enclosed by the i-v loop over the last ``n_periods`` periods, lobes counted positive.

    The record's last ``n_periods * period`` seconds are split at the zero crossings of ``v``;
    for a pinched element each piece between two crossings is a closed lobe through the origin,
    and the area is the sum of ``|integral of i dv|`` over the lobes (the piece that wraps the
    window's ends is joined into one lobe, which assumes the record is periodic there). Without
    a crossing the whole window is one closed loop. Divided by ``n_periods``.

    Parameters
    ----------
    t, v, i : array_like
        Sample times [s], voltage [V], current [A].
    period : float
        Drive period [s].
    n_periods : int
        Number of whole periods at the end of the record to use.

    Returns
    -------
    float
        Loop area per period [V*A = W].
    """
    ta, va, ia = _arrays(t, v, i)
    span = n_periods * period
    t0 = ta[-1] - span
    if ta.size < 3 or t0 < ta[0] - 1e-12 * span:
        raise ValueError("the record is shorter than the requested periods")
    # resample the window densely enough to keep every sample (union grid)
    inside = ta[(ta > t0) & (ta < ta[-1])]
    tw = np.concatenate(([t0], inside, [ta[-1]]))
    vw = np.interp(tw, ta, va)
    iw = np.interp(tw, ta, ia)
    # the window three times over, and the period read from where |v| is largest: no zero
    # crossing can fall on the ends of that period, whatever rounding does at the window's edges
    tt = np.concatenate((tw, tw[1:] + span, tw[1:] + 2 * span))
    vv = np.concatenate((vw, vw[1:], vw[1:]))
    ii2 = np.concatenate((iw, iw[1:], iw[1:]))
    ts = float(tw[int(np.argmax(np.abs(vw)))])
    tc_all = _crossings(tt, vv)
    tc = tc_all[(tc_all > ts) & (tc_all < ts + span)]
    if tc.size == 0:
        dv = np.diff(np.concatenate((vw, vw[:1])))
        ii = np.concatenate((iw, iw[:1]))
        return float(abs(np.sum(0.5 * (ii[1:] + ii[:-1]) * dv))) / n_periods
    # lobes between consecutive crossings; the last one wraps through ts + span
    cuts = np.concatenate((tc, [tc[0] + span]))
    total = 0.0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        sel = (tt > a) & (tt < b)
        tseg = np.concatenate(([a], tt[sel], [b]))
        vs = np.concatenate(([0.0], vv[sel], [0.0]))
        isg = np.interp(tseg, tt, ii2)
        total += abs(float(np.sum(0.5 * (isg[1:] + isg[:-1]) * np.diff(vs))))
    return total / n_periods


def capacitor_energy(v: ArrayLike, c: float) -> FloatArray:
    """Energy stored in a linear capacitor, ``0.5 * c * v^2`` [J], for voltage ``v`` [V]."""
    va = np.asarray(v, dtype=np.float64)
    return 0.5 * c * va * va


@dataclass(frozen=True, eq=False)
class Term:
    """One element of a power balance.

    Attributes
    ----------
    name : str
        Label (e.g. the SPICE instance name).
    kind : {"source", "storage", "dissipator"}
        Sources deliver energy, storage elements hold it, dissipators turn it into heat.
    energy : ndarray
        Cumulative energy from the first sample [J]: delivered (source), stored minus stored at
        the first sample (storage), dissipated (dissipator).
    """

    name: str
    kind: TermKind
    energy: FloatArray

    @classmethod
    def source(cls, name: str, t: ArrayLike, v: ArrayLike, i: ArrayLike) -> Term:
        """A source delivering ``v * i`` [W]: ``i`` leaves its + terminal into the circuit.

        For an ngspice voltage source ``V1 a b``, ``i(v1)`` flows into ``a`` through the source:
        pass ``i = -i(v1)``. For a current source ``I1 a b VAL`` (VAL flows from ``a`` through
        the source to ``b``) the delivered power is ``(v(b) - v(a)) * VAL``.
        """
        ta, va, ia = _arrays(t, v, i)
        return cls(name, "source", cumulative_energy(ta, va * ia))

    @classmethod
    def dissipator(cls, name: str, t: ArrayLike, v: ArrayLike, i: ArrayLike) -> Term:
        """An element absorbing ``v * i`` [W] (passive sign convention)."""
        ta, va, ia = _arrays(t, v, i)
        return cls(name, "dissipator", cumulative_energy(ta, va * ia))

    @classmethod
    def storage(cls, name: str, stored: ArrayLike) -> Term:
        """A storage element from its stored energy over time [J] (:func:`capacitor_energy`)."""
        s = np.asarray(stored, dtype=np.float64).reshape(-1)
        return cls(name, "storage", s - s[0] if s.size else s)

    @classmethod
    def storage_from_power(cls, name: str, t: ArrayLike, v: ArrayLike, i: ArrayLike) -> Term:
        """A storage element from its absorbed power ``v * i`` (e.g. ``.save @c1[i]``)."""
        ta, va, ia = _arrays(t, v, i)
        return cls(name, "storage", cumulative_energy(ta, va * ia))


@dataclass(frozen=True, eq=False)
class PowerBalance:
    """Energy delivered = change of stored energy + energy dissipated, term by term.

    Attributes
    ----------
    t : ndarray
        Sample times [s].
    sources, stored, dissipated : ndarray
        Cumulative totals of each kind [J].
    terms : tuple of Term
        The terms, for per-element figures and plots.
    """

    t: FloatArray
    sources: FloatArray
    stored: FloatArray
    dissipated: FloatArray
    terms: tuple[Term, ...]

    @property
    def residual(self) -> float:
        """``E_sources - dE_stored - E_diss`` at the end of the record [J]."""
        if self.t.size == 0:
            return 0.0
        return float(self.sources[-1] - self.stored[-1] - self.dissipated[-1])

    @property
    def gross_source_energy(self) -> float:
        """Sum over the sources of the magnitude of each one's net delivered energy [J]."""
        return float(sum(abs(x.energy[-1]) for x in self.terms if x.kind == "source"
                         and x.energy.size))

    @property
    def relative_error(self) -> float:
        """``|residual|`` over :attr:`gross_source_energy` (NaN if no source delivered any)."""
        gross = self.gross_source_energy
        return abs(self.residual) / gross if gross > 0 else math.nan

    def by_name(self) -> dict[str, float]:
        """Each term's final energy [J] (storage: the change over the record)."""
        return {x.name: float(x.energy[-1]) if x.energy.size else 0.0 for x in self.terms}


def power_balance(t: ArrayLike, terms: Sequence[Term]) -> PowerBalance:
    """Add up the terms of a circuit's power balance.

    Parameters
    ----------
    t : array_like
        Sample times [s] (the terms' common axis).
    terms : sequence of Term
        Every source, storage element and dissipator of the circuit (by Tellegen's theorem the
        balance closes only when no branch is left out).

    Returns
    -------
    PowerBalance
    """
    ta = np.asarray(t, dtype=np.float64).reshape(-1)
    tot = {k: np.zeros(ta.size) for k in ("source", "storage", "dissipator")}
    for term in terms:
        if term.energy.shape != ta.shape:
            raise ValueError(f"term {term.name!r} has {term.energy.size} samples, t {ta.size}")
        tot[term.kind] = tot[term.kind] + term.energy
    return PowerBalance(ta, tot["source"], tot["storage"], tot["dissipator"], tuple(terms))


# --------------------------------------------------------------------------- whole netlists


class VectorSource(Protocol):
    """Anything that maps a saved vector name (``"v(a)"``, ``"@r1[i]"``) to its samples."""

    def __getitem__(self, name: str) -> ArrayLike: ...


@dataclass(frozen=True)
class Branch:
    """One device of a flattened netlist, for a power balance from saved vectors.

    Attributes
    ----------
    name : str
        ngspice's device name (``"r2"``, ``"r.xslave.rtop"`` inside instance ``xslave``).
    kind : {"source", "storage", "dissipator"}
        Its role in the balance.
    terminals : tuple of (node, vector, sign)
        For each terminal, the node (ngspice's name, ``"0"`` ground) and the current *into* the
        device there, ``sign * vectors[vector]`` [A]. Its absorbed power is
        ``sum(v(node) * current)`` [W].
    """

    name: str
    kind: TermKind
    terminals: tuple[tuple[str, str, float], ...]

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(n for n, _, _ in self.terminals)


_KIND_OF = {"r": "dissipator", "d": "dissipator", "j": "dissipator", "c": "storage",
            "l": "storage", "v": "source", "i": "source", "b": "source", "e": "source",
            "f": "source", "g": "source", "h": "source"}


def _tokens(text: str) -> list[str]:
    return split_tokens(text)


def _logical(text: str) -> list[str]:
    """The cards of a deck (title skipped), read by the one SPICE lexer."""
    _, cards = lex(text, has_title=True)
    return [c.text.strip() for c in cards if not c.control_line]


def netlist_branches(
    text: str, *, conduction: Sequence[str] = ("bi",), memristors: Sequence[str] = ()
) -> list[Branch]:
    """Flatten a SPICE netlist (includes already expanded) into :class:`Branch` records.

    Devices R C L D J V I B E F G H are kept (others are ignored); subcircuit instances are
    expanded with ngspice's names (device ``r.xa.xb.r1``, node ``xa.xb.n1``). The current vectors
    are those ngspice saves with ``.options savecurrents`` and ``.save all``: ``@r1[i]``,
    ``@c1[i]``, ``@d1[id]``, ``@j1[id]``/``[ig]``/``[is]``, ``@g1[i]``, ``@b1[i]`` (current
    source), ``@f1[i]``, ``@i1[current]``, and the branch currents ``i(v1)``, ``i(e1)``,
    ``i(h1)``, ``i(l1)``, ``i(b1)`` (voltage-type B).

    Parameters
    ----------
    text : str
        The deck as ngspice reads it (e.g. ``prepare_deck(path).text``).
    conduction : sequence of str
        Device names that, inside an instance of one of ``memristors``, carry the element's
        conduction current (the library convention ``Bi``): classified as dissipators.
    memristors : sequence of str
        Subcircuit names of memristive elements (e.g. ``zro2``, ``hh_k``).
    """
    subckts: dict[str, tuple[list[str], list[str]]] = {}
    top: list[str] = []
    current: str | None = None
    for line in _logical(text):
        low = line.lower()
        if low.startswith(".subckt"):
            toks = _tokens(low)
            pins = []
            for tok in toks[2:]:
                if tok.startswith("params:") or "=" in tok:
                    break
                pins.append(tok)
            current = toks[1]
            subckts[current] = (pins, [])
        elif low.startswith(".ends"):
            current = None
        elif low.startswith(".") or low == "":
            continue
        elif current is not None:
            subckts[current][1].append(low)
        else:
            top.append(low)
    mem = {m.lower() for m in memristors}
    cond = {c.lower() for c in conduction}
    out: list[Branch] = []

    def expand(lines: list[str], path: str, nodemap: dict[str, str], model: str) -> None:
        for line in lines:
            toks = _tokens(line)
            name, letter = toks[0], toks[0][0]
            if letter == "x":
                plain = [t for t in toks[1:] if "=" not in t and not t.startswith("params:")]
                sub = plain[-1]
                if sub not in subckts:
                    continue
                pins, body = subckts[sub]
                inner = {p: nodemap.get(n, _node(n, path)) for p, n in
                         zip(pins, plain[:-1], strict=False)}
                expand(body, f"{path}.{name}" if path else name, inner, sub)
                continue
            if letter not in _KIND_OF:
                continue
            nodes = [nodemap.get(n, _node(n, path)) for n in toks[1:4]]
            dev = f"{letter}.{path}.{name}" if path else name
            kind: TermKind = _KIND_OF[letter]  # type: ignore[assignment]
            if model in mem and name in cond:
                kind = "dissipator"
            out.append(Branch(dev, kind, _terminals(letter, dev, nodes, line)))

    expand(top, "", {}, "")
    return out


def _node(n: str, path: str) -> str:
    if n in ("0", "gnd"):
        return "0"
    return f"{path}.{n}" if path else n


def _terminals(
    letter: str, dev: str, nodes: list[str], line: str
) -> tuple[tuple[str, str, float], ...]:
    a, b = nodes[0], nodes[1]
    if letter == "j":
        d, g, s = nodes
        return ((d, f"@{dev}[id]", 1.0), (g, f"@{dev}[ig]", 1.0), (s, f"@{dev}[is]", 1.0))
    if letter in "vehl" or (letter == "b" and re.search(r"\bv\s*=", line) is not None):
        vec = f"i({dev})"
    elif letter == "d":
        vec = f"@{dev}[id]"
    elif letter == "i":
        vec = f"@{dev}[current]"
    else:  # r c g f and current-type b
        vec = f"@{dev}[i]"
    return ((a, vec, 1.0), (b, vec, -1.0))


def _voltage(vectors: VectorSource, node: str, n: int) -> FloatArray:
    if node == "0":
        return np.zeros(n)
    return np.asarray(vectors[f"v({node})"], dtype=np.float64)


def branch_power(t: ArrayLike, vectors: VectorSource, branch: Branch) -> FloatArray:
    """Power absorbed by one branch [W] over ``t`` (``sum v(node) * current into the node``)."""
    ta = np.asarray(t, dtype=np.float64)
    p = np.zeros(ta.size)
    for node, vec, sign in branch.terminals:
        p += _voltage(vectors, node, ta.size) * sign * np.asarray(vectors[vec], dtype=np.float64)
    return p


def connected_nodes(branches: Sequence[Branch], node: str) -> set[str]:
    """The nodes connected to ``node`` through the branches, not through ground ``"0"``."""
    adj: dict[str, set[str]] = {}
    for br in branches:
        ns = [n for n in br.nodes if n != "0"]
        for x in ns:
            adj.setdefault(x, set()).update(ns)
    seen = {node}
    todo = [node]
    while todo:
        for y in adj.get(todo.pop(), set()):
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return seen


def netlist_balance(
    t: ArrayLike,
    vectors: VectorSource,
    branches: Sequence[Branch],
    *,
    around: str | None = None,
) -> PowerBalance:
    """The power balance of a flattened netlist from its saved vectors.

    Parameters
    ----------
    t : array_like
        Sample times [s].
    vectors : VectorSource
        The run's vectors (a :class:`~neurospice.sim.waveforms.Waveforms` works), with every node
        voltage and every branch current of :func:`netlist_branches` saved
        (``.options savecurrents`` and ``.save all``).
    branches : sequence of Branch
        From :func:`netlist_branches`.
    around : str, optional
        Keep only the branches of the sub-circuit connected to this node without passing
        through ground (e.g. the membrane node of a neuron): that part closes its own balance,
        and it leaves out computational sub-circuits such as a memristor's state integrator or
        a thermal node, which are connected to the rest only through ground.

    Returns
    -------
    PowerBalance
        Sources: delivered energy (minus their absorbed power); storage: the integral of the
        absorbed power of capacitors and inductors; dissipators: their absorbed energy.
    """
    ta = np.asarray(t, dtype=np.float64)
    keep = list(branches)
    if around is not None:
        nodes = connected_nodes(branches, around)
        keep = [b for b in branches if any(n in nodes for n in b.nodes)]
    terms = []
    for br in keep:
        e = cumulative_energy(ta, branch_power(ta, vectors, br))
        terms.append(Term(br.name, br.kind, -e if br.kind == "source" else e))
    return power_balance(ta, terms)
