"""Spiking crossbar of second-order memristors as a discrete-time map (seed 001, eqs. 18-28).

N presynaptic neurons drive M postsynaptic integrate-and-fire neurons through a column of
second-order synapses each (columns are uncoupled, so each postsynaptic neuron is simulated on its
own).  A presynaptic spike of neuron j at ``t`` is a programming pulse ``+vp`` for ``ts`` and a
heating pulse ``vh`` from ``t + tsh`` to ``t + tsh + th``; the membrane voltage (eq. 19, programming
pulses neglected as in the paper) is the first-order low-pass (``tau_m``) of ``R G_j vh`` during
heating pulses; at ``u = u_th`` the postsynaptic neuron spikes and ``u`` restarts from 0 counting
only presynaptic spikes after the postsynaptic one (eq. 19's sum over ``(t_post_{h-1}, t_post_h)``).

Conductances change by the paper's single-pulse variations (eqs. 20-21, via
:func:`neurospice.reference.second_order.pulse_variation`): the first presynaptic spike of j after
a postsynaptic spike ``h`` depresses ``G_j`` (post/pre, ``gamma = (t_pre - t_post - tsh)/th``), the
next postsynaptic spike potentiates every synapse that fired since ``h`` (pre/post,
``gamma = (t_post - t_pre_last - tsh)/th``); ``G`` is held in ``[Gmin, Gmax]``.

Input (eq. 24): neuron j fires at ``(j + k N) T``, presented ``presentations`` times.  Outputs: the
conductance pattern, its spatial period and the postsynaptic period (Proposition 1: ``P`` and
``P T``).  Command: :func:`add_crossbar_arguments` / :func:`crossbar_command`
(``neurospice crossbar``) write ``crossbar.json`` and ``crossbar.png``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from neurospice.files import atomic_write_with
from neurospice.reference.second_order import SecondOrderParams, pulse_variation

__all__ = [
    "CrossbarConfig",
    "CrossbarResult",
    "simulate_crossbar",
    "spatial_period",
    "post_period",
    "ACCOUNTINGS",
    "Prop1Solution",
    "prop1_solve",
    "map_levels",
    "compare_prop1",
    "prop1_admissible",
]

FloatArray = NDArray[np.float64]

#: Engines of ``neurospice crossbar``: the map, or the ngspice circuit (small N).
ENGINES = ("map", "spice")

#: Accounting name -> (``rel_step``, ``every_pulse``) of :class:`CrossbarConfig`.
ACCOUNTINGS: dict[str, tuple[float, bool]] = {
    "paper": (0.0, False),
    "feedback": (0.01, False),
    "full": (0.01, True),
}


@dataclass(frozen=True)
class CrossbarConfig:
    """A crossbar experiment.

    The defaults (2.45/2.4745 V, ``tau_m = 3 tau_b``, ``theta = 0.605``, every synapse at
    1.5 mS, the paper's accounting) are the best setting found for the paper's periods
    (docs/second_order.md section 4, ``studies/second_order_paper.py``): with N = 60 and
    ``tH = 2 tau_b`` they give P = 3, 3, 4, 5 at ``T/tH`` = 1.25, 1.3, 1.4, 1.45 (the paper:
    2, 3, 4, 5).  The seed gives none of these values.

    Attributes
    ----------
    n
        Presynaptic neurons N.
    period_ratio
        ``(T/tau_b) / (tH/tau_b)``: the input period T in units of the heating time.
    th_ratio
        ``tH/tau_b``.
    ts_ratio
        ``ts/tau_b``: the programming pulse (the seed's Figs. 6-12: 0.108; Sec. VI is silent).
    tsh_ratio
        ``tsh/tau_b``, the start of the heating pulse after the programming pulse's (eq. 19;
        ``None``: ``ts``, the pulses back to back).  Eq. 17's temperature assumes ``tsh = ts``
        (the bulk cools over no gap); with ``tsh > ts`` it is kept as printed.
    vp, vpost
        Pre- and postsynaptic programming amplitudes (V).
    vh
        Heating amplitude (V).
    tau_m_ratio
        Membrane time constant ``tau_m/tau_b``.
    theta
        Threshold ``u_th/(R vh Gmax)`` (-).
    g_init
        Initial conductance of every synapse (S).
    presentations
        How often the input is presented.
    accounting
        ``"paper"`` (default): the paper's - paired pulses only (below), ``G`` frozen over a
        pulse (eq. 17 into eq. 12, eqs. 20-21); ``"feedback"``: the same pairing, ``G``
        following the heating within the pulse (``rel_step = 0.01``); ``"full"``: every pulse
        reaches its device, ``G`` following the heating.  Sets ``rel_step`` and
        ``every_pulse`` unless they are given.
    rel_step
        Step control of the single-pulse variations
        (:func:`neurospice.reference.second_order.pulse_variation`): 0 freezes ``G`` over a
        pulse as the paper does; e.g. 0.01 follows the heating feedback.
    every_pulse
        False: the paper's pairing - a presynaptic programming pulse counts only as
        the first spike of j after a postsynaptic spike, a postsynaptic one only on the
        synapses that fired since the previous postsynaptic spike.  True: every programming
        pulse reaches its device, as in a physical crossbar (the ngspice one,
        :mod:`neurospice.batch.crossbar_spice`): each presynaptic spike of j at the
        temperature left by the last postsynaptic spike (``gamma = inf`` before the first),
        each postsynaptic spike on every synapse at the temperature left by its last
        presynaptic spike.
    """

    n: int = 60
    period_ratio: float = 1.25
    th_ratio: float = 2.0
    ts_ratio: float = 0.108
    tsh_ratio: float | None = None
    vp: float = 2.45
    vpost: float = 2.4745
    vh: float = 0.8
    tau_m_ratio: float = 3.0
    theta: float = 0.605
    g_init: float = 1.5e-3
    presentations: int = 240
    accounting: str = "paper"
    rel_step: float | None = None
    every_pulse: bool | None = None

    def __post_init__(self) -> None:
        if self.accounting not in ACCOUNTINGS:
            raise ValueError(f"unknown accounting {self.accounting!r}; choose one of "
                             f"{', '.join(ACCOUNTINGS)}")
        step, every = ACCOUNTINGS[self.accounting]
        if self.rel_step is None:
            object.__setattr__(self, "rel_step", step)
        if self.every_pulse is None:
            object.__setattr__(self, "every_pulse", every)

    @property
    def tsh(self) -> float:
        """``tsh/tau_b`` resolved (-)."""
        return self.ts_ratio if self.tsh_ratio is None else float(self.tsh_ratio)

    @property
    def step(self) -> float:
        """``rel_step`` resolved (-)."""
        return float(self.rel_step) if self.rel_step is not None else 0.0


@dataclass(frozen=True)
class CrossbarResult:
    """Outcome of :func:`simulate_crossbar` (one postsynaptic neuron).

    Attributes
    ----------
    g
        Final conductances (S), one per presynaptic neuron.
    post_times
        Postsynaptic spike times (s).
    spatial_period
        Smallest cyclic period of the final pattern (0 if none up to N/2).
    post_period_s
        Median of the last postsynaptic intervals (s); ``nan`` with fewer than 3 spikes.
    period_s
        Input period T (s).
    """

    g: FloatArray
    post_times: FloatArray
    spatial_period: int
    post_period_s: float
    period_s: float
    g_at_post: FloatArray | None = None
    trigger: int = -1

    @property
    def post_period_over_t(self) -> float:
        """Postsynaptic period in units of T (-)."""
        return self.post_period_s / self.period_s


def spatial_period(g: FloatArray, rtol: float = 0.02) -> int:
    """Smallest ``P`` (``N mod P = 0`` not required) with ``g[j] ~ g[(j + P) mod N]`` for all j.

    Returns 0 if no period up to ``N // 2`` fits within ``rtol`` of ``max(g)``.
    """
    n = len(g)
    scale = float(np.max(np.abs(g))) or 1.0
    for p in range(1, n // 2 + 1):
        if np.all(np.abs(g - np.roll(g, -p)) <= rtol * scale):
            return p
    return 0


def post_period(post: FloatArray) -> float:
    """Median of the last postsynaptic intervals (s); ``nan`` with fewer than 3 spikes."""
    if len(post) < 3:
        return float("nan")
    tail = np.diff(post)[-max(2, min(20, len(post) // 4)):]
    return float(np.median(tail))


def simulate_crossbar(
    cfg: CrossbarConfig, params: SecondOrderParams | None = None
) -> CrossbarResult:
    """Iterate the crossbar map (eqs. 19-22) for ``cfg``; see the module docstring."""
    p = params or SecondOrderParams.from_library()
    tb = p.tau_b
    th = cfg.th_ratio * tb
    ts = cfg.ts_ratio * tb
    tsh = cfg.tsh * tb
    big_t = cfg.period_ratio * th
    tau_m = cfg.tau_m_ratio * tb
    u_th = cfg.theta * p.gmax * cfg.vh  # with R = 1 ohm-equivalent: u in units of R
    if big_t < tsh + th or tsh < ts:
        raise ValueError(f"need ts <= tsh and T >= tsh + tH (heating pulses may not overlap); "
                         f"got ts = {ts:.3g} s, tsh = {tsh:.3g} s, tH = {th:.3g} s, "
                         f"T = {big_t:.3g} s")
    n = cfg.n
    g = np.full(n, float(cfg.g_init))
    last_post = -math.inf
    fired_since: dict[int, float] = {}  # neuron -> last pre time since the last post spike
    last_pre: dict[int, float] = {}  # neuron -> its last pre time (every_pulse)
    posts: list[float] = []
    g_post: FloatArray | None = None
    trig = -1
    u = 0.0
    t_u = 0.0  # time at which u is known

    def var(gj: float, gamma: float, sign: int) -> float:
        vp = cfg.vpost if sign > 0 else cfg.vp
        return pulse_variation(gj, gamma, sign=sign, vp=vp, vh=cfg.vh, ts=ts, th=th, params=p,
                               rel_step=cfg.step)

    for k in range(n * cfg.presentations):
        j = k % n
        t_pre = k * big_t
        # post/pre variation at the first presynaptic spike of j after the last post spike
        if cfg.every_pulse or (j not in fired_since and math.isfinite(last_post)):
            gamma = (t_pre - last_post - tsh) / th if math.isfinite(last_post) else math.inf
            g[j] = max(p.gmin, g[j] + var(float(g[j]), gamma, -1))
        fired_since[j] = t_pre
        last_pre[j] = t_pre
        # membrane: decay to the heating pulse, then charge toward R G_j vh
        t0 = t_pre + tsh
        u *= math.exp(-(t0 - t_u) / tau_m)
        u_inf = float(g[j]) * cfg.vh
        t_end = t0 + th
        if u_inf > u_th and u < u_th:
            dt_cross = tau_m * math.log((u_inf - u) / (u_inf - u_th))
            if dt_cross <= th:
                t_post = t0 + dt_cross
                posts.append(t_post)
                hit = last_pre if cfg.every_pulse else fired_since
                for jj in range(n) if cfg.every_pulse else list(fired_since):
                    gamma = (t_post - hit[jj] - tsh) / th if jj in hit else math.inf
                    g[jj] = min(p.gmax, g[jj] + var(float(g[jj]), gamma, +1))
                fired_since = {}
                last_post = t_post
                g_post, trig = g.copy(), j
                u, t_u = 0.0, t_end  # the sum restarts after the post spike
                continue
        u = u_inf + (u - u_inf) * math.exp(-th / tau_m)
        t_u = t_end
    post = np.array(posts)
    pattern = g if g_post is None else g_post
    return CrossbarResult(g=g, post_times=post, spatial_period=spatial_period(pattern),
                          post_period_s=post_period(post), period_s=big_t, g_at_post=g_post,
                          trigger=trig)


def _period_text(p: int) -> str:
    return str(p) if p > 0 else "none (not periodic)"


def plot_pattern(res: CrossbarResult, cfg: CrossbarConfig, path: Path,
                 engine: str = "map") -> None:
    """Bar plot of the conductance pattern at the last postsynaptic spike (the final one if
    there was none), in mS; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 3))
    g = res.g if res.g_at_post is None else res.g_at_post
    ax.bar(np.arange(1, len(g) + 1), g * 1e3, color="tab:blue")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    lib = SecondOrderParams.from_library()
    for value, name in ((lib.gmin, "Gmin"), (lib.gmax, "Gmax")):
        ax.axhline(value * 1e3, color="0.4", lw=0.8, ls="--")
        ax.annotate(name, (1.0, value * 1e3), xycoords=("axes fraction", "data"),
                    xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_xlabel("presynaptic neuron j")
    ax.set_ylabel("G (mS)" if res.g_at_post is None else "G at the last post spike (mS)")
    ax.set_title(f"{engine}: N = {cfg.n}, T/tH = {cfg.period_ratio:g}: spatial period "
                 f"{_period_text(res.spatial_period)}, post period "
                 f"{res.post_period_over_t:.3g} T", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=120))
    plt.close(fig)


# ---------------------------------------------------------------------------- Proposition 1


@dataclass(frozen=True)
class Prop1Solution:
    """A steady state of spatial period ``P`` admitted by Proposition 1 (eqs. 25-29).

    Attributes
    ----------
    period
        Spatial period ``P``; the postsynaptic period is ``P T``.
    sigma
        Where the threshold is reached in the trigger's heating pulse (``sigma tH`` after its
        start), ``0 < sigma <= 1``.
    levels
        ``G^0_p`` (S), ``p = 1..P``: the conductances at a postsynaptic spike (after its
        pre/post variations), ``p = P`` the trigger synapse; each a stable fixed point of the
        post/pre + pre/post variation (eqs. 25-27), the one reached from ``g_init``.
    half_levels
        ``G^{1/2}_p`` (S): after the post/pre variation (the values the membrane sums).
    u_prev_max
        ``u_{P-1}/(R vh Gmax)`` (eq. 33 at ``q = P - 1``): the largest membrane voltage before
        the trigger pulse, in units of the threshold's scale; admissible iff ``< theta`` (eq. 29).
    n_divisible
        ``N mod P == 0`` (the Proposition's premise).
    """

    period: int
    sigma: float
    levels: tuple[float, ...]
    half_levels: tuple[float, ...]
    u_prev_max: float
    n_divisible: bool


def _pair_map(cfg: CrossbarConfig, p: SecondOrderParams, g: float, gam_dep: float,
              gam_pot: float) -> tuple[float, float]:
    """(G^{1/2}, G^1) after a post/pre then a pre/post variation (eq. 26), as the map does."""
    tb = p.tau_b
    th, ts = cfg.th_ratio * tb, cfg.ts_ratio * tb
    half = max(p.gmin, g + pulse_variation(g, gam_dep, sign=-1, vp=cfg.vp, vh=cfg.vh, ts=ts,
                                           th=th, params=p, rel_step=cfg.step))
    one = min(p.gmax, half + pulse_variation(half, gam_pot, sign=+1, vp=cfg.vpost, vh=cfg.vh,
                                             ts=ts, th=th, params=p, rel_step=cfg.step))
    return half, one


def _stable_level(cfg: CrossbarConfig, p: SecondOrderParams, gam_dep: float, gam_pot: float,
                  grid: FloatArray) -> float:
    """The stable fixed point of eq. 26's map reached from ``cfg.g_init`` (eq. 25 = 0).

    ``h(G) = G^1(G) - G`` on ``grid``; from ``g_init`` the level moves up while ``h > 0`` and
    down while ``h < 0`` to the first sign change, refined by bisection (Gmax if ``h`` stays
    positive up to Gmax, where the clip holds it; Gmin likewise).
    """
    from scipy.optimize import brentq

    def h(x: float) -> float:
        return _pair_map(cfg, p, x, gam_dep, gam_pot)[1] - x

    g0 = min(max(cfg.g_init, p.gmin), p.gmax)
    h0 = h(g0)
    if h0 == 0.0:
        return g0
    if h0 > 0:
        pts = [x for x in grid if x > g0] + [p.gmax]
        a = g0
        for b in pts:
            hb = h(b)
            if hb <= 0.0:
                return b if hb == 0.0 else float(brentq(h, a, b, xtol=1e-15, rtol=1e-12))
            a = b
        return p.gmax
    pts = [x for x in grid[::-1] if x < g0] + [p.gmin]
    a = g0
    for b in pts:
        hb = h(b)
        if hb >= 0.0:
            return b if hb == 0.0 else float(brentq(h, b, a, xtol=1e-15, rtol=1e-12))
        a = b
    return p.gmin


def _prop1_levels(cfg: CrossbarConfig, p: SecondOrderParams, period: int, sigma: float,
                  grid: FloatArray) -> tuple[list[float], list[float]]:
    """``G^0_p`` and ``G^{1/2}_p`` (p = 1..P) for a given ``sigma`` (eqs. 25-27)."""
    tb = p.tau_b
    th, tsh = cfg.th_ratio * tb, cfg.tsh * tb
    big_t = cfg.period_ratio * th
    levels, halves = [], []
    for q in range(1, period + 1):
        gam_dep = (q * big_t - sigma * th - 2.0 * tsh) / th
        gam_pot = ((period - q) * big_t + sigma * th) / th
        g0 = _stable_level(cfg, p, gam_dep, gam_pot, grid)
        levels.append(g0)
        halves.append(_pair_map(cfg, p, g0, gam_dep, gam_pot)[0])
    return levels, halves


def _u_scaled(cfg: CrossbarConfig, p: SecondOrderParams, halves: list[float],
              sigma: float) -> tuple[float, float]:
    """Eq. 28's right side and eq. 33 at ``q = P - 1``, both over ``R vh Gmax``."""
    tb = p.tau_b
    th = cfg.th_ratio * tb
    big_t = cfg.period_ratio * th
    tau = cfg.tau_m_ratio * tb
    period = len(halves)
    u = halves[-1] * (1.0 - math.exp(-sigma * th / tau))
    decay = math.exp(-(sigma - 1.0) * th / tau) - math.exp(-sigma * th / tau)
    for q in range(1, period):
        u += halves[q - 1] * math.exp(-(period - q) * big_t / tau) * decay
    u_prev = 0.0
    for q in range(1, period):
        u_prev += (halves[q - 1] * math.exp(-(period - 1 - q) * big_t / tau)
                   * (1.0 - math.exp(-th / tau)))
    return u / p.gmax, u_prev / p.gmax


def prop1_solve(cfg: CrossbarConfig, params: SecondOrderParams | None = None, *,
                max_period: int = 8, n_sigma: int = 48, n_grid: int = 96) -> list[Prop1Solution]:
    """Steady states admitted by Proposition 1 for ``cfg``'s device and neuron settings.

    For each ``P = 1..max_period`` and ``sigma`` on a grid of ``(0, 1]``, the levels
    ``G^0_p(sigma)`` solve eqs. 25-27 (the stable fixed point reached from ``g_init``); eq. 28
    ``u(sigma) = theta`` is then solved for ``sigma`` (sign changes on the grid, refined by
    bisection) and eq. 29 is checked with eq. 33 at ``q = P - 1`` (eq. 29 as printed has
    ``P - p`` in the exponent, a misprint: the proof's eq. 33 has ``q - p``).  Only solutions that
    meet eq. 29 are returned.  The variations are the map's (:func:`_pair_map`: the same
    accounting, ``rel_step``), so the levels equal the map's steady states where it settles.
    Needs the paper's pairing (``every_pulse=False``).
    """
    from scipy.optimize import brentq

    if cfg.every_pulse:
        raise ValueError("Proposition 1 holds for the paper's pairing of pulses; it does not "
                         "describe --accounting full (every pulse reaches its device)")
    p = params or SecondOrderParams.from_library()
    grid = np.linspace(p.gmin, p.gmax, n_grid + 2)[1:-1]
    sigmas = np.linspace(1.0 / n_sigma, 1.0, n_sigma)
    out: list[Prop1Solution] = []
    for period in range(1, max_period + 1):

        def resid(s: float, period: int = period) -> float:
            halves = _prop1_levels(cfg, p, period, s, grid)[1]
            return _u_scaled(cfg, p, halves, s)[0] - cfg.theta

        vals = [resid(float(s)) for s in sigmas]
        roots: list[float] = []
        if vals[0] >= 0.0:  # the threshold is crossed at the very start of the pulse
            lo = 1e-6
            if resid(lo) <= 0.0:
                roots.append(float(brentq(resid, lo, float(sigmas[0]), xtol=1e-12)))
        for k in range(len(sigmas) - 1):
            a, b = vals[k], vals[k + 1]
            if a == 0.0:
                roots.append(float(sigmas[k]))
            elif a * b < 0.0:
                roots.append(float(brentq(resid, float(sigmas[k]), float(sigmas[k + 1]),
                                          xtol=1e-12)))
        if vals[-1] == 0.0:
            roots.append(1.0)
        for s in roots:
            levels, halves = _prop1_levels(cfg, p, period, s, grid)
            u_prev = _u_scaled(cfg, p, halves, s)[1]
            if u_prev < cfg.theta:
                out.append(Prop1Solution(period=period, sigma=s, levels=tuple(levels),
                                         half_levels=tuple(halves), u_prev_max=u_prev,
                                         n_divisible=cfg.n % period == 0))
    return out


def map_levels(res: CrossbarResult, period: int) -> FloatArray:
    """The map's conductances at its last postsynaptic spike, by phase: row ``p - 1`` holds the
    synapses ``P - p`` places before the trigger (mod P), as in Proposition 1 (S).

    Returns an array ``(P, N // P)``-like list flattened per phase (ragged phases are padded
    with nan).
    """
    if res.g_at_post is None or res.trigger < 0:
        raise ValueError("the map produced no postsynaptic spike")
    g = res.g_at_post
    n = len(g)
    rows: list[list[float]] = [[] for _ in range(period)]
    for j in range(n):
        k = (res.trigger - j) % n
        rows[period - 1 - (k % period)].append(float(g[j]))
    width = max(len(r) for r in rows)
    return np.array([r + [math.nan] * (width - len(r)) for r in rows])


def compare_prop1(res: CrossbarResult, sols: list[Prop1Solution]) -> dict[str, float] | None:
    """The map's levels at its last postsynaptic spike against the solver's, by phase.

    Returns ``None`` unless the map settled (post period ``P T`` within 1e-6, spatial period
    ``P``) on a ``P`` the solver admits; else the largest relative difference over all
    synapses, against the solution of that ``P`` whose levels are closest.
    """
    per = res.spatial_period
    if (per < 1 or res.g_at_post is None or not math.isfinite(res.post_period_over_t)
            or abs(res.post_period_over_t - per) > 1e-6):
        return None
    cands = [s for s in sols if s.period == per]
    if not cands:
        return None
    rows = map_levels(res, per)
    best = math.inf
    for s in cands:
        ref = np.array(s.levels)[:, None]
        best = min(best, float(np.nanmax(np.abs(rows - ref) / ref)))
    return {"period": float(per), "max_rel_diff": best}


def prop1_admissible(cfg: CrossbarConfig, taus: FloatArray, thetas: FloatArray, *,
                     max_period: int = 7, n_sigma: int = 40,
                     params: SecondOrderParams | None = None) -> NDArray[np.bool_]:
    """Proposition 1 over a grid of ``(tau_m/tau_b, theta)``: which ``P`` it admits.

    The levels of eqs. 25-27 do not depend on ``tau_m`` or ``theta`` (``cfg``'s are ignored):
    they are computed once per ``sigma`` on an ``n_sigma`` grid of ``(0, 1]``; then ``P`` is
    admitted at ``(tau_m, theta)`` where ``theta`` lies between eq. 28's values at two
    neighbouring ``sigma`` and above eq. 33 at ``q = P - 1`` at both (eq. 29).  A grid
    approximation of :func:`prop1_solve` (same levels, no bisection in ``sigma``).

    Returns
    -------
    numpy.ndarray
        Booleans ``(len(taus), len(thetas), max_period)``; ``[..., P - 1]`` for ``P``.
    """
    p = params or SecondOrderParams.from_library()
    grid = np.linspace(p.gmin, p.gmax, 98)[1:-1]
    tb = p.tau_b
    th, tsh = cfg.th_ratio * tb, cfg.tsh * tb
    big_t = cfg.period_ratio * th
    sigmas = np.linspace(1.0 / n_sigma, 1.0, n_sigma)
    cache: dict[tuple[int, int, int], float] = {}
    halves: dict[int, FloatArray] = {}
    for period in range(1, max_period + 1):
        arr = np.empty((n_sigma, period))
        for k, sg in enumerate(sigmas):
            for q in range(1, period + 1):
                key = (q, period - q, k)
                if key not in cache:
                    gd = (q * big_t - sg * th - 2.0 * tsh) / th
                    gp = ((period - q) * big_t + sg * th) / th
                    g0 = _stable_level(cfg, p, gd, gp, grid)
                    cache[key] = _pair_map(cfg, p, g0, gd, gp)[0]
                arr[k, q - 1] = cache[key]
        halves[period] = arr
    th_arr = np.asarray(thetas, dtype=float)
    out = np.zeros((len(taus), len(th_arr), max_period), dtype=bool)
    for i, taur in enumerate(taus):
        probe = CrossbarConfig(n=cfg.n, period_ratio=cfg.period_ratio, th_ratio=cfg.th_ratio,
                               tau_m_ratio=float(taur))
        for period in range(1, max_period + 1):
            u = np.empty(n_sigma)
            up = np.empty(n_sigma)
            for k, sg in enumerate(sigmas):
                u[k], up[k] = _u_scaled(probe, p, list(halves[period][k]), float(sg))
            for k in range(n_sigma - 1):
                lo, hi = sorted((u[k], u[k + 1]))
                sel = (th_arr >= lo) & (th_arr <= hi) & (th_arr > max(up[k], up[k + 1]))
                out[i, sel, period - 1] = True
    return out
