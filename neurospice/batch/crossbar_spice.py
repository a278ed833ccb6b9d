"""The crossbar of :mod:`neurospice.reference.crossbar` as an ngspice circuit (small N).

:func:`crossbar_network` writes the network file (``.nsn``, the network language): N spike
trains ``pre<j>`` (``source pre<j> : spikes(...)``: ``+vp`` for ``ts``, then ``-vh`` for
``th``, period ``N T``, delay ``j T``) on the rows, one second-order synapse ``s<j>`` per row
(``second_order_gt``, the simplified (G, T) model: the map's single-pulse variations are
computed with that model, so a difference measures the map's accounting, not a model
difference; it is also cheaper than the full model) and the integrate-and-fire neuron
``post`` (``lif`` of ``netlists/lib/crossbar.lib``) on the column.
:func:`simulate_crossbar_spice` runs it through neurospice's engine
(:func:`neurospice.network.loading.load_deck`, :func:`neurospice.sim.ngspice.run_all`) and
returns a :class:`CrossbarResult` like
:func:`~neurospice.reference.crossbar.simulate_crossbar`'s.

Scaling: the map's membrane is ``u = R G vh`` with ``R = 1``; the circuit's is
``rin G vh`` with ``rin = 1 kOhm`` (u ~ 1 V), so ``uth = theta Gmax vh rin``.  Every pulse
reaches its device here (a physical crossbar), and pulses superpose (the postsynaptic
programming pulse on the synapse whose heating pulse fired it sees ``-(vpost + vh)``), which
the map does not model; compare with the map's ``every_pulse=True`` (docs/second_order.md
section 4).  Transient: Gear, max step ``max_step`` (1 ns: 5 % of a programming pulse).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from neurospice.reference.crossbar import (
    CrossbarConfig,
    CrossbarResult,
    post_period,
    spatial_period,
)
from neurospice.reference.second_order import SecondOrderParams

__all__ = ["SPICE_MAX_N", "LEAD_S", "crossbar_network", "simulate_crossbar_spice"]

#: Largest N the spice engine accepts (cost grows ~N^2: N synapses x N T per presentation).
SPICE_MAX_N = 12
#: Time before the first presynaptic spike in the circuit (s); subtracted from spike times.
LEAD_S = 10e-9


def crossbar_network(cfg: CrossbarConfig, params: SecondOrderParams | None = None, *,
                     rin: float = 1e3, max_step: float = 1e-9) -> str:
    """The network file (text) of the crossbar ``cfg`` (one postsynaptic neuron)."""
    if cfg.tsh != cfg.ts_ratio:
        raise ValueError("the spice engine starts each heating pulse as its programming pulse "
                         "ends (tsh = ts); --tsh-ratio is for the map (--engine map)")
    p = params or SecondOrderParams.from_library()
    tb = p.tau_b
    th = cfg.th_ratio * tb
    ts = cfg.ts_ratio * tb
    big_t = cfg.period_ratio * th
    tau_m = cfg.tau_m_ratio * tb
    uth = cfg.theta * p.gmax * cfg.vh * rin
    w0 = p.w_of_g(cfg.g_init)
    stop = LEAD_S + cfg.n * cfg.presentations * big_t
    lines = [
        f"# crossbar: N = {cfg.n}, T/tH = {cfg.period_ratio:g}, tH/tau_b = {cfg.th_ratio:g}, "
        f"tau_m/tau_b = {cfg.tau_m_ratio:g}, theta = {cfg.theta:g} (generated)",
        f"neuron post : lif(tau_m = {tau_m:.9g}, uth = {uth:.9g}, rin = {rin:.9g}, "
        f"vpost = {cfg.vpost:.9g}, vh = {cfg.vh:.9g}, ts = {ts:.9g}, th = {th:.9g})",
    ]
    for j in range(cfg.n):
        lines.append(f"source pre{j} : spikes(period = {cfg.n * big_t:.9g}, "
                     f"delay = {LEAD_S + j * big_t:.9g}, vp = {cfg.vp:.9g}, ts = {ts:.9g}, "
                     f"vh = {cfg.vh:.9g}, th = {th:.9g})")
        lines.append(f"synapse s{j} : second_order_gt(w0 = {w0:.9g})")
        lines.append(f"pre{j} -> s{j} -> post")
    lines.append(f"tran {stop:.9g} max_step = {max_step:.9g} gear")
    lines.append("probe post, post.out, " + ", ".join(f"s{j}.ghat" for j in range(cfg.n)))
    return "\n".join(lines) + "\n"


def simulate_crossbar_spice(cfg: CrossbarConfig, params: SecondOrderParams | None = None, *,
                            rin: float = 1e3, max_step: float = 1e-9,
                            timeout: float | None = None) -> CrossbarResult:
    """Run the crossbar in ngspice; final ``G(r)`` and postsynaptic spike onsets.

    A postsynaptic spike's time is the rise of its programming pulse through ``vpost/2`` on the
    column, minus :data:`LEAD_S`.  Raises ``ValueError`` for ``N`` above :data:`SPICE_MAX_N`.
    """
    if cfg.n > SPICE_MAX_N:
        raise ValueError(f"the spice engine takes N <= {SPICE_MAX_N} (got {cfg.n})")
    from neurospice.network.loading import load_deck
    from neurospice.sim.ngspice import run_all

    p = params or SecondOrderParams.from_library()
    big_t = cfg.period_ratio * cfg.th_ratio * p.tau_b
    if big_t < (cfg.ts_ratio + cfg.th_ratio) * p.tau_b:
        raise ValueError("the input period must exceed ts + tH (heating pulses may not overlap)")
    text = crossbar_network(cfg, p, rin=rin, max_step=max_step)
    with tempfile.TemporaryDirectory(prefix="neurospice-crossbar-") as tmp:
        path = Path(tmp) / "crossbar.nsn"
        path.write_text(text, encoding="utf-8")
        wf = run_all(load_deck(path), timeout=timeout)[0]
    t = wf.scale
    col = wf.vectors["v(post_mem)"]
    half = 0.5 * cfg.vpost
    up = np.nonzero((col[1:] > half) & (col[:-1] <= half))[0]
    onsets = t[up] + (half - col[up]) * (t[up + 1] - t[up]) / (col[up + 1] - col[up])
    posts = np.asarray(onsets - LEAD_S, dtype=np.float64)
    g = np.array([float(wf.vectors[f"v(xs{j}.ghat)"][-1]) for j in range(cfg.n)])
    return CrossbarResult(g=g, post_times=posts, spatial_period=spatial_period(g),
                          post_period_s=post_period(posts), period_s=big_t)
