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

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from neurospice.files import atomic_write_text, atomic_write_with
from neurospice.reference.second_order import SecondOrderParams, pulse_variation

__all__ = [
    "CrossbarConfig",
    "CrossbarResult",
    "simulate_crossbar",
    "spatial_period",
    "post_period",
    "add_crossbar_arguments",
    "crossbar_command",
]

FloatArray = NDArray[np.float64]

#: Engines of ``neurospice crossbar``: the map, or the ngspice circuit (small N).
ENGINES = ("map", "spice")


@dataclass(frozen=True)
class CrossbarConfig:
    """A crossbar experiment.

    Attributes
    ----------
    n
        Presynaptic neurons N.
    period_ratio
        ``(T/tau_b) / (tH/tau_b)``: the input period T in units of the heating time.
    th_ratio
        ``tH/tau_b``.
    ts_ratio
        ``ts/tau_b`` (the shift ``tsh`` between programming and heating pulses is ``ts``).
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
    rel_step
        Step control of the single-pulse variations
        (:func:`neurospice.reference.second_order.pulse_variation`): 0 freezes ``G`` over a
        pulse as the paper does (default); e.g. 0.01 follows the heating feedback.
    every_pulse
        False (default): the paper's pairing - a presynaptic programming pulse counts only as
        the first spike of j after a postsynaptic spike, a postsynaptic one only on the
        synapses that fired since the previous postsynaptic spike.  True: every programming
        pulse reaches its device, as in a physical crossbar (the ngspice one,
        :mod:`neurospice.reference.crossbar_spice`): each presynaptic spike of j at the
        temperature left by the last postsynaptic spike (``gamma = inf`` before the first),
        each postsynaptic spike on every synapse at the temperature left by its last
        presynaptic spike.
    """

    n: int = 60
    period_ratio: float = 1.25
    th_ratio: float = 2.0
    ts_ratio: float = 0.108
    vp: float = 2.2
    vpost: float = 2.16
    vh: float = 0.8
    tau_m_ratio: float = 3.0
    theta: float = 0.34
    g_init: float = 1.0e-3
    presentations: int = 240
    rel_step: float = 0.0
    every_pulse: bool = False


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
    tsh = ts
    big_t = cfg.period_ratio * th
    tau_m = cfg.tau_m_ratio * tb
    u_th = cfg.theta * p.gmax * cfg.vh  # with R = 1 ohm-equivalent: u in units of R
    if big_t < tsh + th:
        raise ValueError("the input period must exceed ts + tH (heating pulses may not overlap)")
    n = cfg.n
    g = np.full(n, float(cfg.g_init))
    last_post = -math.inf
    fired_since: dict[int, float] = {}  # neuron -> last pre time since the last post spike
    last_pre: dict[int, float] = {}  # neuron -> its last pre time (every_pulse)
    posts: list[float] = []
    u = 0.0
    t_u = 0.0  # time at which u is known

    def var(gj: float, gamma: float, sign: int) -> float:
        vp = cfg.vpost if sign > 0 else cfg.vp
        return pulse_variation(gj, gamma, sign=sign, vp=vp, vh=cfg.vh, ts=ts, th=th, params=p,
                               rel_step=cfg.rel_step)

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
                u, t_u = 0.0, t_end  # the sum restarts after the post spike
                continue
        u = u_inf + (u - u_inf) * math.exp(-th / tau_m)
        t_u = t_end
    post = np.array(posts)
    return CrossbarResult(g=g, post_times=post, spatial_period=spatial_period(g),
                          post_period_s=post_period(post), period_s=big_t)


def _period_text(p: int) -> str:
    return str(p) if p > 0 else "none (not periodic)"


def plot_pattern(res: CrossbarResult, cfg: CrossbarConfig, path: Path,
                 engine: str = "map") -> None:
    """Bar plot of the final conductance pattern (mS); written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(np.arange(1, len(res.g) + 1), res.g * 1e3, color="tab:blue")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    lib = SecondOrderParams.from_library()
    for value, name in ((lib.gmin, "Gmin"), (lib.gmax, "Gmax")):
        ax.axhline(value * 1e3, color="0.4", lw=0.8, ls="--")
        ax.annotate(name, (1.0, value * 1e3), xycoords=("axes fraction", "data"),
                    xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_xlabel("presynaptic neuron j")
    ax.set_ylabel("G (mS)")
    ax.set_title(f"{engine}: N = {cfg.n}, T/tH = {cfg.period_ratio:g}: spatial period "
                 f"{_period_text(res.spatial_period)}, post period "
                 f"{res.post_period_over_t:.3g} T", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=120))
    plt.close(fig)


def add_crossbar_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``neurospice crossbar``."""
    d = CrossbarConfig()
    parser.add_argument("--n", type=int, default=d.n, help="presynaptic neurons")
    parser.add_argument("--period-ratio", type=float, default=d.period_ratio,
                        help="input period T in units of tH")
    parser.add_argument("--th-ratio", type=float, default=d.th_ratio, help="tH / tau_b")
    parser.add_argument("--tau-m-ratio", type=float, default=d.tau_m_ratio,
                        help="membrane time constant / tau_b")
    parser.add_argument("--theta", type=float, default=d.theta,
                        help="threshold u_th / (R vh Gmax)")
    parser.add_argument("--vp", type=float, default=d.vp, help="presynaptic programming (V)")
    parser.add_argument("--vpost", type=float, default=d.vpost,
                        help="postsynaptic programming (V)")
    parser.add_argument("--g-init", type=float, default=d.g_init, help="initial G (S)")
    parser.add_argument("--presentations", type=int, default=d.presentations)
    parser.add_argument("--rel-step", type=float, default=d.rel_step,
                        help="step control of the single-pulse variations (0: G frozen over a "
                        "pulse, the paper's; e.g. 0.01 follows the heating feedback)")
    parser.add_argument("--every-pulse", action="store_true",
                        help="every programming pulse reaches its device (a physical crossbar; "
                        "the paper counts only paired pulses)")
    parser.add_argument("--engine", choices=ENGINES, default="map",
                        help="map: the discrete-time map (any N); spice: the ngspice circuit "
                        "built by the network language (N <= 12)")
    parser.add_argument("-o", "--output", type=Path, default=Path("crossbar_out"),
                        metavar="DIR")
    parser.add_argument("--no-plot", action="store_true")


def crossbar_command(args: argparse.Namespace) -> int:
    """Run ``neurospice crossbar``; write ``crossbar.json`` (and the plot); exit status."""
    try:
        cfg = CrossbarConfig(n=args.n, period_ratio=args.period_ratio, th_ratio=args.th_ratio,
                             tau_m_ratio=args.tau_m_ratio, theta=args.theta, vp=args.vp,
                             vpost=args.vpost, g_init=args.g_init,
                             presentations=args.presentations, rel_step=args.rel_step,
                             every_pulse=getattr(args, "every_pulse", False))
        if cfg.n < 2 or cfg.presentations < 1:
            raise ValueError("--n must be >= 2 and --presentations >= 1")
        engine = getattr(args, "engine", "map")
        if engine == "spice":
            from neurospice.reference.crossbar_spice import SPICE_MAX_N, simulate_crossbar_spice

            if cfg.n > SPICE_MAX_N:
                print(f"error: --engine spice simulates every pulse of every synapse in ngspice "
                      f"(~1 ns steps; a few seconds for N = 4 and 5 presentations, growing as "
                      f"N^2), so it takes N <= {SPICE_MAX_N}; got --n {cfg.n}. Use --engine map "
                      f"(the discrete-time map, any N), or a smaller --n to check the map "
                      f"against the circuit.", file=sys.stderr)
                return 2
            res = simulate_crossbar_spice(cfg)
        else:
            res = simulate_crossbar(cfg)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "config": asdict(cfg),
        "engine": getattr(args, "engine", "map"),
        "spatial_period": res.spatial_period,
        "post_period_s": res.post_period_s,
        "post_period_over_t": res.post_period_over_t,
        "period_s": res.period_s,
        "post_spikes": len(res.post_times),
        "g_s": [float(x) for x in res.g],
    }
    atomic_write_text(out / "crossbar.json", json.dumps(doc, indent=2))
    if not args.no_plot:
        plot_pattern(res, cfg, out / "crossbar.png", engine=str(doc["engine"]))
    print(f"spatial period {_period_text(res.spatial_period)}, postsynaptic period "
          f"{res.post_period_s:.4g} s = {res.post_period_over_t:.3g} T")
    return 0
