"""Model-engine benchmarks, measured side by side in one run (never asserted by the tests).

Parts (``--parts``, comma-separated; the default runs all but the map):

* ``point``: the first run of the board (compile, characterisation cache), then one 20 s board
  point part by part, CPU on one thread (target <= 20 ms including its analysis): integration
  (ns per step), the online detectors (:mod:`neurospice.sim.model.online`), waveforms instead,
  and the analysis offline (``analyse_run`` on the waveform), online (the same verdict and
  timeline from the events) and online without the timeline; the analysis' share of a point.
* ``tolerance``: 3 s tolerance builds (``--tol R=5% --tol C=10%``), one process, through the
  waveforms and online: CPU per build and 1,000 builds on 2 cores (target <= 30 s).
* ``map``: a 32 x 32 map of 20 s points (amp 1.4-2.2 V x slave pot 0.54-0.58, device noise on)
  with 16 seeds each (16,384 runs) on 2 worker processes with a progress bar, judged online
  (target <= 10 min on 2 cores): CPU per run, wall, and CPU / 2 (the wall on two free cores).
* ``ngspice``: bare ``ngspice -b`` on one board point (1 s of circuit time, scaled to 20 s).
* ``simplified``: the simplified board below.

The simplified board of issue 11 (two normalised FHN neurons, a drift memristor with an exact
   state update, forward Euler at a 20 us step, 1000 boards with d = 0 ... 0.2, 2 s): board-seconds
   per CPU second of

   * numba (this engine's tool; one thread),
   * Brian2's C++ standalone mode (in its own virtual environment, ``/tmp/brian2-venv``, created
     here when missing: ``brian2`` with ``numpy<2.3``; its pins conflict with ours), single
     thread; the C++ compile time is excluded (the binary is run again and timed alone),
   * JAX (``/tmp/jax-venv`` if present or installable; ``lax.scan`` over the steps, the boards as
     one vector), compile time excluded.

   Each prints the slave's mean spike count so that the three implementations can be checked
   against each other. A tool that cannot be installed is skipped with a message.

Results: ``benchmarks/model_results.json`` (the sections not run are kept). Usage::

    python benchmarks/bench_model.py [--parts point,tolerance,map,ngspice,simplified]
        [--map-size 32] [--map-seeds 16] [--map-tstop 20] [--map-verdict-only] [--tol-builds 100]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurospice.spice.deck import PreparedDeck, prepare_deck  # noqa: E402

BOARD = ROOT / "netlists" / "coupled_fhn.cir"
RESULTS = ROOT / "benchmarks" / "model_results.json"
BRIAN2_VENV = Path(os.environ.get("BRIAN2_VENV", "/tmp/brian2-venv"))
JAX_VENV = Path(os.environ.get("JAX_VENV", "/tmp/jax-venv"))

# ---------------------------------------------------------------- the simplified board
#: Simplified board constants (the normalised model of netlists/coupled_model.cir, with a
#: drift device): time unit (s), slave detuning, FHN shape, drive (V per unit), device.
SIMPLE = {
    "tau": 1.1302e-3, "detune": 0.0325, "eps": 0.1, "alpha": 0.5, "beta": 2.0, "i0": 0.0,
    "amp": 2.0, "gon": 1 / 2e3, "goff": 1 / 200e3, "iref": 0.5e-3, "k": 50.0,
    "dt": 20e-6, "t": 2.0, "n": 1000, "dmax": 0.2,
}


def _simple_numba(c: dict[str, float]) -> dict[str, float]:
    import numba as nb

    @nb.njit(cache=False, fastmath=True)
    def run(nsteps: int, h: float, d: np.ndarray, tau: float, tau2: float, eps: float,
            alpha: float, beta: float, i0: float, amp: float, gon: float, goff: float,
            iref: float, k: float) -> np.ndarray:
        # time outer, boards inner (as Brian2's generated code): the inner loop vectorises
        n = d.shape[0]
        u1 = np.full(n, -1.5)
        v1 = np.full(n, -0.5)
        u2 = np.full(n, 0.5)
        v2 = np.zeros(n)
        w = np.zeros(n)
        above = np.zeros(n)
        count = np.zeros(n)
        ht = h / tau
        ht2 = h / tau2
        for _ in range(nsteps):
            for b in range(n):
                x1 = u1[b]
                x2 = u2[b]
                vd = amp * x1
                j = (goff + w[b] * (gon - goff)) * vd / iref
                g1 = (alpha if x1 < 0.0 else beta) * x1
                g2 = (alpha if x2 < 0.0 else beta) * x2
                u1[b] = x1 + ht * (x1 - x1 * x1 * x1 / 3.0 - v1[b])
                v1[b] += ht * eps * (g1 - i0)
                u2[b] = x2 + ht2 * (x2 - x2 * x2 * x2 / 3.0 - v2[b] + d[b] * j)
                v2[b] += ht2 * eps * (g2 - i0)
                a = k * max(vd, 0.0)
                r = k * max(-vd, 0.0)
                tot = a + r
                winf = a / tot if tot > 0.0 else w[b]
                w[b] = winf + (w[b] - winf) * math.exp(-tot * h)
                up = 1.0 if u2[b] > 1.0 else 0.0
                count[b] += up * (1.0 - above[b])
                above[b] = up
        return count

    import numba

    numba.set_num_threads(1)
    d = np.linspace(0.0, c["dmax"], int(c["n"]))
    args = (c["tau"], c["tau"] * (1 + c["detune"]), c["eps"], c["alpha"], c["beta"], c["i0"],
            c["amp"], c["gon"], c["goff"], c["iref"], c["k"])
    run(10, c["dt"], d, *args)  # compile
    nsteps = int(round(c["t"] / c["dt"]))
    t0 = time.process_time()
    count = run(nsteps, c["dt"], d, *args)
    cpu = time.process_time() - t0
    return {"cpu_s": cpu, "board_s_per_cpu_s": c["n"] * c["t"] / cpu,
            "ns_per_board_step": 1e9 * cpu / (c["n"] * nsteps),
            "mean_slave_spikes": float(np.mean(count))}


_BRIAN2_SCRIPT = textwrap.dedent('''
    import json, resource, subprocess, sys, time
    import numpy as np
    from brian2 import (NeuronGroup, run, second, set_device, device, prefs, defaultclock)
    c = json.loads(sys.argv[1]); out_dir = sys.argv[2]
    set_device("cpp_standalone", directory=out_dir, build_on_run=False)
    prefs.devices.cpp_standalone.openmp_threads = 0
    defaultclock.dt = c["dt"] * second
    eqs = """
    du1/dt = (u1 - u1*u1*u1/3 - v1)/tau : 1
    dv1/dt = eps*((alpha*int(u1 < 0) + beta*int(u1 >= 0))*u1 - i0)/tau : 1
    du2/dt = (u2 - u2*u2*u2/3 - v2 + d*(w*gon + (1 - w)*goff)*vamp*u1/iref)/tau2 : 1
    dv2/dt = eps*((alpha*int(u2 < 0) + beta*int(u2 >= 0))*u2 - i0)/tau2 : 1
    w : 1
    d : 1
    n : 1
    above : 1
    """
    ns = {k: c[k] for k in ("eps", "alpha", "beta", "i0", "gon", "goff", "iref")}
    ns["vamp"] = c["amp"]  # "amp" is a Brian2 unit
    ns["tau"] = c["tau"] * second
    ns["tau2"] = c["tau"] * (1 + c["detune"]) * second
    ns["k"] = c["k"] / second
    g = NeuronGroup(int(c["n"]), eqs, method="euler", namespace=ns)
    g.u1 = -1.5; g.v1 = -0.5; g.u2 = 0.5; g.v2 = 0; g.w = 0
    g.d = np.linspace(0, c["dmax"], int(c["n"]))
    g.run_regularly("""
    a = k*clip(vamp*u1, 0, inf)
    r = k*clip(-vamp*u1, 0, inf)
    winf = a/(a + r + 1e-30/second)
    w = winf + (w - winf)*exp(-(a + r)*dt)
    n += int(u2 > 1 and above < 0.5)
    above = int(u2 > 1)
    """, when="after_groups")
    run(c["t"] * second)
    t0 = time.perf_counter()
    device.build(directory=out_dir, compile=True, run=True)
    build_and_run = time.perf_counter() - t0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(["./main"], cwd=out_dir, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"cpu_s": cpu, "wall_s": wall, "build_and_first_run_s": build_and_run,
                      "mean_slave_spikes": float(np.mean(g.n[:]))}))
''')

_JAX_SCRIPT = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import jax, jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    c = json.loads(sys.argv[1])
    tau, tau2 = c["tau"], c["tau"] * (1 + c["detune"])
    eps, alpha, beta, i0 = c["eps"], c["alpha"], c["beta"], c["i0"]
    amp, gon, goff, iref, k, h = c["amp"], c["gon"], c["goff"], c["iref"], c["k"], c["dt"]
    d = jnp.linspace(0.0, c["dmax"], int(c["n"]))
    def step(s, _):
        u1, v1, u2, v2, w, above, n = s
        vd = amp*u1
        j = (w*gon + (1 - w)*goff)*vd/iref
        g1 = jnp.where(u1 < 0, alpha, beta)*u1
        g2 = jnp.where(u2 < 0, alpha, beta)*u2
        u1n = u1 + h*(u1 - u1*u1*u1/3 - v1)/tau
        v1n = v1 + h*eps*(g1 - i0)/tau
        u2n = u2 + h*(u2 - u2*u2*u2/3 - v2 + d*j)/tau2
        v2n = v2 + h*eps*(g2 - i0)/tau2
        a = k*jnp.maximum(vd, 0.0); r = k*jnp.maximum(-vd, 0.0)
        tot = a + r
        winf = jnp.where(tot > 0, a/jnp.where(tot > 0, tot, 1.0), w)
        wn = winf + (w - winf)*jnp.exp(-tot*h)
        up = (u2n > 1).astype(jnp.float64)
        n = n + up*(1 - above)
        return (u1n, v1n, u2n, v2n, wn, up, n), None
    nsteps = int(round(c["t"]/h))
    @jax.jit
    def run(s):
        return jax.lax.scan(step, s, None, length=nsteps)[0]
    z = jnp.zeros_like(d)
    s0 = (z - 1.5, z - 0.5, z + 0.5, z, z, z, z)
    t0 = time.perf_counter(); run(s0)[6].block_until_ready(); first = time.perf_counter() - t0
    t0 = time.process_time(); w0 = time.perf_counter()
    out = run(s0)[6].block_until_ready()
    cpu = time.process_time() - t0; wall = time.perf_counter() - w0
    print(json.dumps({"cpu_s": cpu, "wall_s": wall, "compile_and_first_run_s": first,
                      "mean_slave_spikes": float(np.mean(np.asarray(out)))}))
''')


def _venv(path: Path, packages: list[str]) -> Path | None:
    """The venv's python, creating the venv with ``packages`` if missing; None if impossible."""
    py = path / "bin" / "python"
    mod = packages[0].split("[")[0].split("<")[0]
    if py.is_file() and subprocess.run([str(py), "-c", f"import {mod}"],
                                       capture_output=True).returncode == 0:
        return py
    try:
        subprocess.run(["python3", "-m", "venv", str(path)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"  cannot create {path}: {exc}")
        return None
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", *packages], capture_output=True,
                       text=True, timeout=1200)
    if r.returncode != 0:
        print(f"  cannot install {packages} in {path}: {r.stderr.strip()[-300:]}")
        return None
    return py


def _external(py: Path | None, script: str, c: dict[str, float], what: str,
              with_dir: bool = False) -> dict[str, Any] | None:
    if py is None:
        print(f"  {what}: skipped (not installable here)")
        return None
    work = Path(tempfile.mkdtemp(prefix="bench-model-"))
    try:
        (work / "bench.py").write_text(script)
        args = [str(py), str(work / "bench.py"), json.dumps(c)]
        if with_dir:
            args.append(str(work / "standalone"))
        r = subprocess.run(args, capture_output=True, text=True, timeout=3600, cwd=work)
        if r.returncode != 0:
            print(f"  {what}: failed: {r.stderr.strip()[-600:]}")
            return None
        res: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
        nsteps = round(c["t"] / c["dt"])
        res["board_s_per_cpu_s"] = c["n"] * c["t"] / res["cpu_s"]
        res["ns_per_board_step"] = 1e9 * res["cpu_s"] / (c["n"] * nsteps)
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_simplified() -> dict[str, Any]:
    """Numba, Brian2 C++ standalone and JAX on the simplified board."""
    c = dict(SIMPLE)
    out: dict[str, Any] = {"setup": c}
    print(f"simplified board: {int(c['n'])} boards x {c['t']:g} s, step {c['dt'] * 1e6:g} us")
    out["numba"] = _simple_numba(c)
    print(f"  numba               {out['numba']['board_s_per_cpu_s']:8.0f} board-s / CPU s "
          f"({out['numba']['ns_per_board_step']:.1f} ns per board-step), mean slave spikes "
          f"{out['numba']['mean_slave_spikes']:.2f}")
    py = _venv(BRIAN2_VENV, ["brian2", "numpy<2.3"])
    out["brian2_cpp_standalone"] = _external(py, _BRIAN2_SCRIPT, c, "Brian2 C++ standalone",
                                             with_dir=True)
    if out["brian2_cpp_standalone"]:
        b = out["brian2_cpp_standalone"]
        print(f"  Brian2 C++ standalone {b['board_s_per_cpu_s']:6.0f} board-s / CPU s "
              f"({b['ns_per_board_step']:.1f} ns per board-step), mean slave spikes "
              f"{b['mean_slave_spikes']:.2f}")
        out["numba_over_brian2"] = out["numba"]["board_s_per_cpu_s"] / b["board_s_per_cpu_s"]
        print(f"  numba / Brian2 C++ standalone: {out['numba_over_brian2']:.2f}")
    py = _venv(JAX_VENV, ["jax[cpu]"])
    out["jax"] = _external(py, _JAX_SCRIPT, c, "JAX")
    if out["jax"]:
        j = out["jax"]
        print(f"  JAX (jit, lax.scan)  {j['board_s_per_cpu_s']:7.0f} board-s / CPU s "
              f"({j['ns_per_board_step']:.1f} ns per board-step; compile + first run "
              f"{j['compile_and_first_run_s']:.1f} s), mean slave spikes "
              f"{j['mean_slave_spikes']:.2f}")
    return out


# ---------------------------------------------------------------- the full board


def _row(deck: PreparedDeck, point: dict[str, Any], analysis: Any) -> dict[str, Any]:
    """Map row: the point and its first pair's verdict (``LockingRows`` analyses the point)."""
    row = {**point, **analysis.as_row()}
    if analysis.pairs and analysis.pairs[0].timeline is not None:
        tl = analysis.pairs[0].timeline
        row["fractions"] = {m: tl.fraction(m) for m in tl.modes}
    return row


def _cpu(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    """Smallest CPU time (s) of ``repeat`` calls of ``fn`` (the machine is shared) and the last
    result."""
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def bench_point(tstop: float = 20.0) -> dict[str, Any]:
    """One board point of ``tstop`` s, part by part (CPU s on one thread, best of 3): the
    integration alone, with the online detectors, with recorded waveforms; the analysis offline
    (``analyse_run`` on the waveform), online (the same verdict and timeline from the events, by
    the compiled primitives of ``report/fast_timeline.py``; and by ``analyse_run``'s own code)
    and online without the timeline (the verdict alone)."""
    import numba

    from neurospice.report.locking import analyse_run
    from neurospice.report.online import LockingRows
    from neurospice.sim.model import compile_model
    from neurospice.sim.model.maps import _vectors
    from neurospice.sim.model.online import run_events

    numba.set_num_threads(1)
    deck = prepare_deck(BOARD)
    t0 = time.perf_counter()
    model = compile_model(deck)
    model.run([{}], tstop=0.01)
    out: dict[str, Any] = {"tstop_s": tstop,
                           "compile_and_first_run_s": time.perf_counter() - t0}
    point: dict[str, Any] = {}
    pdeck = model._point_deck(point)
    full, verdict = LockingRows(t_skip=0.5), LockingRows(t_skip=0.5, timeline=False)
    vecs = _vectors(model)
    specs = full.detectors(pdeck, vecs, point)
    run_events(model, [point], [specs], tstop=0.01)  # first-call costs
    bound = model.bind([point], tstop=tstop)
    out["integration_cpu_s"], recs = _cpu(lambda: model.integrate(bound, waveforms=False))
    taken, rej_err, rej_w = (int(x) for x in recs["steps"][0])
    out["steps"] = bound.describe_steps(recs["steps"][0])
    out["steps_taken_rejected"] = [taken, rej_err + rej_w]
    steps = taken + rej_err + rej_w
    out["integration_ns_per_step"] = 1e9 * out["integration_cpu_s"] / steps
    out["integration_with_detectors_cpu_s"], evs = _cpu(
        lambda: run_events(model, [point], [specs], tstop=tstop))
    out["detectors"] = len(specs)
    out["detection_cpu_s"] = out["integration_with_detectors_cpu_s"] - out["integration_cpu_s"]
    out["integration_with_waveforms_cpu_s"], wf = _cpu(lambda: model.run([point], tstop=tstop)[0])
    out["waveform_vectors_mb"] = sum(np.asarray(wf[k]).nbytes for k in wf.vectors) / 1e6
    ev = evs[0]
    ev.info["vectors"] = vecs
    analyse_run(pdeck, wf, t_skip=0.5)  # imports, first-call costs
    out["analysis_offline_cpu_s"], off = _cpu(lambda: analyse_run(pdeck, wf, t_skip=0.5))
    out["analysis_online_cpu_s"], on = _cpu(lambda: full(pdeck, point, ev))
    out["analysis_online_verdict_only_cpu_s"], vo = _cpu(lambda: verdict(pdeck, point, ev))
    plain = LockingRows(t_skip=0.5, fast=False)  # analyse_run itself on the events
    out["analysis_online_uncompiled_cpu_s"], _ = _cpu(lambda: plain(pdeck, point, ev))
    out["mode_offline_online_verdict_only"] = [off.as_row()["mode"], on["mode"], vo["mode"]]
    base = out["integration_with_detectors_cpu_s"]
    out["point_online_cpu_s"] = base + out["analysis_online_cpu_s"]
    out["point_online_verdict_only_cpu_s"] = base + out["analysis_online_verdict_only_cpu_s"]
    out["point_offline_cpu_s"] = (out["integration_with_waveforms_cpu_s"]
                                  + out["analysis_offline_cpu_s"])
    out["analysis_share_online"] = out["analysis_online_cpu_s"] / out["point_online_cpu_s"]
    out["analysis_share_verdict_only"] = (out["analysis_online_verdict_only_cpu_s"]
                                          / out["point_online_verdict_only_cpu_s"])
    out["analysis_share_offline"] = out["analysis_offline_cpu_s"] / out["point_offline_cpu_s"]
    print(f"board point, {tstop:g} s (CPU s, one thread, best of 3; target <= 0.020 incl. "
          "analysis):")
    print(f"  integration {out['integration_cpu_s']:.3f} ({out['steps']}; "
          f"{out['integration_ns_per_step']:.0f} ns per step tried), + {len(specs)} online "
          "detectors "
          f"{out['detection_cpu_s']:+.3f}, with waveforms instead "
          f"{out['integration_with_waveforms_cpu_s']:.3f} ({out['waveform_vectors_mb']:.0f} MB)")
    print(f"  analysis: offline {out['analysis_offline_cpu_s']:.3f}, online "
          f"{out['analysis_online_cpu_s']:.3f} (analyse_run's own code on the events "
          f"{out['analysis_online_uncompiled_cpu_s']:.3f}), online verdict only "
          f"{out['analysis_online_verdict_only_cpu_s']:.3f} (modes "
          f"{out['mode_offline_online_verdict_only']})")
    print(f"  point: offline {out['point_offline_cpu_s']:.3f} (analysis "
          f"{100 * out['analysis_share_offline']:.0f} %), online {out['point_online_cpu_s']:.3f} "
          f"(analysis {100 * out['analysis_share_online']:.0f} %), verdict only "
          f"{out['point_online_verdict_only_cpu_s']:.3f} (analysis "
          f"{100 * out['analysis_share_verdict_only']:.0f} %)")
    return out


class _OutOfTime(Exception):
    """The map's wall-time budget ran out (its partial figures are recorded)."""


def bench_map(size: int, seeds: int, tstop: float, timeline: bool,
              budget_s: float | None = None) -> dict[str, Any]:
    """A ``size`` x ``size`` map (amp 1.4-2.2 V x slave pot 0.54-0.58) of ``tstop`` s points
    with ``seeds`` noise draws each, on 2 worker processes with a progress bar; each run judged
    online (``LockingRows``; ``timeline=False``: the verdict alone). P(mode) per point.
    ``budget_s``: stop after that much wall time and record the runs done (the machine is
    shared; CPU per run and CPU / 2 are the figures that do not depend on it)."""
    from tqdm import tqdm

    from neurospice.report.online import LockingRows
    from neurospice.sim.model.maps import map_model

    deck = prepare_deck(BOARD)
    amps = np.linspace(1.4, 2.2, size)
    pots = np.linspace(0.54, 0.58, size)
    points = [{"amp": float(a), "pots": float(p), "seed": s + 1}
              for p in pots for a in amps for s in range(seeds)]
    reduce = LockingRows(row=_row, t_skip=0.5, timeline=timeline)
    # compile (or load) the kernels here first: the workers then load numba's cached code
    t_warm = time.perf_counter()
    map_model(deck, points[:1], reduce=reduce, workers=1, tstop=0.5)
    print(f"  warm-up (numba's compile or cache, characterisation cache): "
          f"{time.perf_counter() - t_warm:.1f} s")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    done = [0]

    with tqdm(total=len(points), desc=f"{size}x{size} map x {seeds} seeds, {tstop:g} s runs",
              unit="run") as bar:
        def progress(n: int) -> None:
            bar.update(n)
            done[0] += n
            if budget_s is not None and time.perf_counter() - t0 > budget_s:
                raise _OutOfTime
        try:
            rows = map_model(deck, points, reduce=reduce, workers=2, tstop=tstop,
                             chunk=max(1, min(16, seeds)), progress=progress)
        except _OutOfTime:
            rows = []
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if not rows:  # stopped by the budget: the runs finished so far
        n = max(done[0], 1)
        out_t = {"size": size, "seeds": seeds, "runs": len(points), "runs_done": done[0],
                 "tstop_s": tstop, "timeline": timeline, "workers": 2, "wall_s": wall,
                 "stopped_by_budget_s": budget_s, "cpu_s_workers": cpu,
                 "cpu_s_per_run": cpu / n,
                 "projected_wall_s_on_2_free_cores": cpu / n * len(points) / 2,
                 "load_average_before_after": [load0, os.getloadavg()[0]]}
        print(f"  stopped after {wall:.0f} s: {done[0]} of {len(points)} runs, "
              f"{cpu / n * 1e3:.0f} ms CPU per run -> {cpu / n * len(points) / 2:.0f} s on two "
              "free cores for the whole map")
        return out_t
    per_point: list[dict[str, Any]] = []
    for k in range(size * size):
        mine = rows[k * seeds:(k + 1) * seeds]
        modes = _count([str(r.get("mode", "")) for r in mine])
        per_point.append({"amp": mine[0]["amp"], "pots": mine[0]["pots"],
                          "p_mode": {m: c / seeds for m, c in modes.items()}})
    out = {"size": size, "seeds": seeds, "runs": len(points), "tstop_s": tstop,
           "timeline": timeline, "workers": 2, "wall_s": wall, "cpu_s_workers": cpu,
           "cpu_s_per_run": cpu / len(points), "wall_s_on_2_free_cores": cpu / 2,
           "load_average_before_after": [load0, os.getloadavg()[0]],
           "modes": _count([str(r.get("mode", "")) for r in rows]),
           "points_with_more_than_one_mode": sum(1 for p in per_point if len(p["p_mode"]) > 1)}
    print(f"  {size}x{size}x{seeds} map ({len(points)} runs of {tstop:g} s): {wall:.0f} s wall "
          f"on 2 workers (load {load0:.1f} -> {os.getloadavg()[0]:.1f}); workers' CPU "
          f"{cpu:.0f} s = {cpu / len(points) * 1e3:.0f} ms per run -> {cpu / 2:.0f} s on two "
          f"free cores (target <= 600 s); modes {out['modes']}")
    (ROOT / "studies" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "studies" / "out" / f"bench_model_map_{size}x{size}x{seeds}.json").write_text(
        json.dumps(per_point))
    return out


def _count(items: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _ngspice_point_cost(deck: PreparedDeck) -> float | None:
    """CPU s of bare ``ngspice -b`` for 1 s of the board, scaled to 20 s."""
    if shutil.which("ngspice") is None:
        print("  ngspice: not installed, no ratio")
        return None
    text = deck.with_tstop(1.0).text.replace(".end\n", ".print tran v(smem)\n.end\n")
    work = Path(tempfile.mkdtemp(prefix="bench-ngspice-"))
    try:
        (work / "deck.cir").write_text(text)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(["ngspice", "-b", "-o", "log.txt", "deck.cir"], cwd=work, check=True,
                       capture_output=True, env={"HOME": str(work), "PATH": "/usr/bin:/bin"})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"  ngspice -b, 1 s of the board: {cpu:.1f} s CPU -> ~{20 * cpu:.0f} s per 20 s point")
    return 20 * cpu


def bench_tolerance(builds: int) -> dict[str, Any]:
    """Tolerance builds of 3 s in the model engine (``--tol R=5% --tol C=10%``, ``mc=1``), one
    process: CPU per build through the waveforms (as before) and online, and the projection to
    1,000 builds on 2 cores (target <= 30 s)."""
    from neurospice.batch.tolerance import build_row, draw_factors, parse_tolerance
    from neurospice.report.online import LockingRows
    from neurospice.sim.model.maps import map_model
    from neurospice.spice.tolerances import component_slots

    deck = prepare_deck(BOARD).with_params({"mc": 1}).with_tstop(3.0)
    tols = [parse_tolerance("R=5%"), parse_tolerance("C=10%")]
    slots = component_slots(deck)
    points = [{"seed": s, "tol": draw_factors(slots, tols, s)} for s in range(1, builds + 1)]
    out: dict[str, Any] = {"builds": builds, "tstop_s": 3.0}
    modes = {}
    for name, online in (("waveforms", False), ("online", True)):
        reduce = LockingRows(row=build_row, t_skip=0.5, online=online)
        map_model(deck, points[:1], reduce=reduce, workers=1)  # caches, first-call costs
        t0 = time.process_time()
        rows = map_model(deck, points, reduce=reduce, workers=1)
        cpu = (time.process_time() - t0) / builds
        modes[name] = [r.get("mode") for r in rows]
        out[f"cpu_s_per_build_{name}"] = cpu
        out[f"projected_1000_wall_s_2cores_{name}"] = cpu * 500
        print(f"tolerance builds (3 s, model engine, {name}): {cpu * 1e3:.1f} ms CPU per build; "
              f"1,000 builds ~{cpu * 500:.0f} s on 2 cores (target <= 30 s)")
    out["same_modes_online_and_waveforms"] = modes["online"] == modes["waveforms"]
    out["modes"] = _count([str(m) for m in modes["online"]])
    print(f"  the same mode online and from the waveforms: "
          f"{out['same_modes_online_and_waveforms']}; modes {out['modes']}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="point,tolerance,ngspice,simplified",
                    help="comma-separated parts to run: point, tolerance, map, ngspice, "
                         "simplified (default: all but the map)")
    ap.add_argument("--map-size", type=int, default=32)
    ap.add_argument("--map-seeds", type=int, default=16)
    ap.add_argument("--map-tstop", type=float, default=20.0)
    ap.add_argument("--map-verdict-only", action="store_true",
                    help="judge each map run without its timeline (default: the full analysis)")
    ap.add_argument("--map-budget", type=float, default=None,
                    help="stop the map after this many seconds of wall time (partial figures)")
    ap.add_argument("--tol-builds", type=int, default=100)
    args = ap.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"point", "tolerance", "map", "ngspice", "simplified"}
    if unknown:
        ap.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    results: dict[str, Any] = {}
    if RESULTS.is_file():  # keep the sections not run this time
        results = json.loads(RESULTS.read_text())
    results.update({"machine": {"cpus": os.cpu_count()},
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    board = results.setdefault("board", {})
    if "point" in parts:
        board["point"] = bench_point()
    if "ngspice" in parts:
        board["ngspice_20s_point_s_estimate"] = _ngspice_point_cost(prepare_deck(BOARD))
    if "map" in parts:
        board["map_seeds"] = bench_map(args.map_size, args.map_seeds, args.map_tstop,
                                       not args.map_verdict_only, args.map_budget)
    if "tolerance" in parts:
        results["tolerance"] = bench_tolerance(args.tol_builds)
    if "simplified" in parts:
        results["simplified"] = bench_simplified()
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
