"""Circuit-level speed of the reference board and of chains of neurons (issue #10).

One command::

    .venv/bin/python benchmarks/bench_circuit.py            # everything (about 10 min)
    .venv/bin/python benchmarks/bench_circuit.py --quick    # 2 s board, chains 2-8

prints and writes ``benchmarks/circuit_results.json``:

1. The reference board (``netlists/coupled_fhn.cir``, expanded by neurospice's deck compiler, run
   by bare ``ngspice -b``) for 2 s and 20 s of circuit time: CPU and wall time, real-time factor
   (circuit seconds per CPU second), peak resident memory, and ``.options acct``: accepted points,
   Newton iterations, CPU time per point and per iteration.
2. The spike-timing error of both neurons against a 10 us max-step run of the *original* library
   (every op-amp an ``opamp_ref``, ngspice's default tolerances), as a percentage of the master's
   period: the largest difference between matched spike times (peaks found by
   :func:`neurospice.analysis.spikes.detect_spikes`), drift included. The reference runs are slow
   (20 s: about 130 s of CPU), so their spike times are kept in
   ``benchmarks/circuit_reference.json`` and reused while the reference deck's text is unchanged.
3. Chains of N = 2, 4, 8, 16, 32 neurons written in the network language (each neuron and synapse
   as on the board: the first neuron is the board's master, the others its slave; neuron i+1's
   membrane <- load <- memristor <- neuron i's output), built with ``neurospice build`` and run
   for 0.5 s with the board's max step and reltol: CPU and wall time, equations, points,
   iterations, and the exponent of CPU time ~ N^k fitted over N.

Speed is measured here, never asserted by a test. Runs are one at a time (the machine is shared).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurospice.analysis.spikes import detect_spikes  # noqa: E402
from neurospice.spice.deck import prepare_deck  # noqa: E402

BOARD = ROOT / "netlists" / "coupled_fhn.cir"
LIB = ROOT / "netlists" / "lib"
RESULTS = ROOT / "benchmarks" / "circuit_results.json"
REFERENCE = ROOT / "benchmarks" / "circuit_reference.json"
NEUROSPICE = Path(sys.executable).with_name("neurospice")
BOARD_NODES = ("v(mmem)", "v(smem)")
#: max step (s) of the reference runs
REF_STEP = 10e-6

_ACCT = {
    "equations": r"Circuit Equations = (\d+)",
    "iterations": r"Transient iterations = (\d+)",
    "accepted": r"Accepted timepoints = (\d+)",
    "rejected": r"Rejected timepoints = (\d+)",
    "load_s": r"Transient load time = ([\d.]+)",
    "factor_s": r"Transient factor time = ([\d.]+)",
    "solve_s": r"Transient solve time = ([\d.]+)",
    "analysis_s": r"Transient analysis time = ([\d.]+)",
}
_OPAMP_LINE = re.compile(
    r"^(X\w+\s+\S+\s+\S+\s+\S+)\s+opamp(?:_sat)?\s+gbw=\{gbw\}\s+vcc=\{vcc\}\s+vee=\{vee\}\s*$",
    re.M | re.I,
)


# --------------------------------------------------------------------------- running ngspice


@dataclass
class Run:
    """One bare ``ngspice -b`` run: resources from ``wait4``, counts from ``.options acct``."""

    cpu_s: float
    wall_s: float
    peak_rss_mb: float
    acct: dict[str, float] = field(default_factory=dict)

    @property
    def per_point_us(self) -> float:
        return 1e6 * self.cpu_s / self.acct["accepted"]

    @property
    def per_iteration_us(self) -> float:
        return 1e6 * self.cpu_s / self.acct["iterations"]


def read_raw(path: Path) -> dict[str, np.ndarray]:
    """Vectors of a binary ngspice raw file of one real (transient) plot, by lower-case name."""
    data = path.read_bytes()
    start = data.index(b"Binary:\n")
    names: list[str] = []
    nvar = 0
    in_vars = False
    for line in data[:start].decode("latin-1").splitlines():
        if line.startswith("No. Variables:"):
            nvar = int(line.split(":")[1])
        elif line.startswith("Variables:"):
            in_vars = True
        elif in_vars and len(line.split()) >= 2:
            names.append(line.split()[1].lower())
    values = np.frombuffer(data[start + 8:], dtype="<f8")
    npts = values.size // nvar
    table = values[: npts * nvar].reshape(npts, nvar)
    return {name: table[:, k].copy() for k, name in enumerate(names)}


def run_ngspice(text: str, work: Path) -> tuple[Run, dict[str, np.ndarray]]:
    """Run ``ngspice -b`` on ``text`` in ``work`` (empty HOME: no .spiceinit); raise on failure."""
    deck = work / "deck.cir"
    deck.write_text(text)
    raw = work / "out.raw"
    usage = work / "usage.txt"
    # /usr/bin/time measures ngspice alone (a child forked from this Python process would count
    # the interpreter's memory in its peak resident set)
    cmd = ["/usr/bin/time", "-o", str(usage), "-f", "%e %U %S %M",
           "ngspice", "-b", "-r", str(raw), str(deck)]
    with open(work / "log.txt", "w") as log:
        proc = subprocess.run(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT,
                              env={"HOME": str(work), "PATH": os.environ.get("PATH", "")})
    out = (work / "log.txt").read_text(errors="replace")
    if proc.returncode != 0 or "Accepted timepoints" not in out:
        tail = "\n".join(out.splitlines()[-15:])
        raise RuntimeError(f"ngspice failed (status {proc.returncode}):\n{tail}")
    wall, user, system, rss_kb = map(float, usage.read_text().split()[-4:])
    acct = {k: float(m.group(1)) for k, pat in _ACCT.items() if (m := re.search(pat, out))}
    run = Run(cpu_s=user + system, wall_s=wall, peak_rss_mb=rss_kb / 1024.0, acct=acct)
    return run, read_raw(raw)


def with_run_settings(text: str, *, tstop: float, max_step: float | None = None,
                      drop_reltol: bool = False) -> str:
    """The deck with its ``.tran`` stop time (and max step) replaced and ``.options acct``."""
    m = re.search(r"^\.tran\s+(\S+)\s+(\S+)(?:\s+(\S+))?(?:\s+(\S+))?(.*)$", text, re.M | re.I)
    if m is None:
        raise ValueError("the deck has no .tran line")
    step, _, start, mstep, rest = m.groups()
    if max_step is not None:
        step = mstep = f"{max_step:g}"
    line = f".tran {step} {tstop:g} {start or 0} {mstep or step}{rest}"
    text = text[: m.start()] + line + text[m.end():]
    if drop_reltol:
        text = re.sub(r"^\.options\s+reltol=\S+\s*\n", "", text, flags=re.M | re.I)
    return re.sub(r"^\.end\s*$", ".options acct\n.end", text, count=1, flags=re.M | re.I)


def reference_text(text: str) -> str:
    """The expanded board with the original library: every op-amp an ``opamp_ref``."""
    out, n = _OPAMP_LINE.subn(r"\1 vcc vee opamp_ref gbw={gbw}", text)
    if n != 7:
        raise ValueError(f"expected the neuron's 7 op-amp lines, found {n}")
    head = re.search(r"^\.subckt fhn_gyrator .*\n(?:\+.*\n)*", out, re.M | re.I)
    if head is None:
        raise ValueError("no .subckt fhn_gyrator")
    return out[: head.end()] + "Vcc vcc 0 {vcc}\nVee vee 0 {vee}\n" + out[head.end():]


def spike_times(waves: dict[str, np.ndarray], nodes: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {n: detect_spikes(waves["time"], waves[n]).times for n in nodes}


def timing_error(spikes: dict[str, np.ndarray], ref: dict[str, np.ndarray],
                 period: float) -> dict[str, dict[str, float]]:
    """Largest |t - t_ref| over the reference spikes (nearest spike of the run), per node."""
    out = {}
    for node, tref in ref.items():
        t = spikes[node]
        if t.size == 0:
            out[node] = {"spikes": 0, "ref_spikes": int(tref.size), "max_error_s": math.inf,
                         "percent_of_master_period": math.inf}
            continue
        j = np.clip(np.searchsorted(t, tref), 1, t.size - 1) if t.size > 1 else np.zeros(
            tref.size, dtype=int)
        near = np.minimum(np.abs(t[j] - tref), np.abs(t[np.maximum(j - 1, 0)] - tref))
        err = float(near.max())
        out[node] = {"spikes": int(t.size), "ref_spikes": int(tref.size), "max_error_s": err,
                     "percent_of_master_period": 100.0 * err / period}
    return out


# --------------------------------------------------------------------------- the board


def reference_spikes(board_text: str, tstop: float, work: Path,
                     cache: dict[str, dict]) -> dict[str, np.ndarray]:
    """Spike times of the 10 us run of the original library (cached by the deck's hash)."""
    text = with_run_settings(reference_text(board_text), tstop=tstop, max_step=REF_STEP,
                             drop_reltol=True)
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    if key in cache:
        return {n: np.asarray(v) for n, v in cache[key]["spikes"].items()}
    print(f"  reference: original library, {tstop:g} s at a {REF_STEP * 1e6:g} us max step ...",
          flush=True)
    run, waves = run_ngspice(text, work)
    spikes = spike_times(waves, BOARD_NODES)
    cache[key] = {"tstop": tstop, "cpu_s": run.cpu_s, "acct": run.acct,
                  "spikes": {n: v.tolist() for n, v in spikes.items()}}
    REFERENCE.write_text(json.dumps(cache, indent=1) + "\n")
    return spikes


def bench_board(tstop: float, cache: dict[str, dict]) -> dict[str, object]:
    board = prepare_deck(BOARD).text
    with tempfile.TemporaryDirectory(prefix="bench-circuit-") as tmp:
        work = Path(tmp)
        ref = reference_spikes(board, tstop, work, cache)
        run, waves = run_ngspice(with_run_settings(board, tstop=tstop), work)
    period = float(np.median(np.diff(ref["v(mmem)"])))
    err = timing_error(spike_times(waves, BOARD_NODES), ref, period)
    return {
        "circuit_s": tstop,
        "cpu_s": run.cpu_s,
        "wall_s": run.wall_s,
        "real_time_factor_cpu": tstop / run.cpu_s,
        "real_time_factor_wall": tstop / run.wall_s,
        "peak_rss_mb": run.peak_rss_mb,
        "acct": run.acct,
        "cpu_per_point_us": run.per_point_us,
        "cpu_per_iteration_us": run.per_iteration_us,
        "iterations_per_point": run.acct["iterations"] / run.acct["accepted"],
        "master_period_s": period,
        "timing_error": err,
    }


# --------------------------------------------------------------------------- chains


def chain_network(n: int, tstop: float, max_step: float, reltol: str = "") -> str:
    """A chain of ``n`` neurons in the network language, each neuron and synapse as on the board.

    Neuron 1 is the board's master (pot 0.6, 1 uF), the others its slave (pot 0.562, 3.3 uF);
    every neuron but the last drives the next through its output (kout = amp/vpeak), a ZrO2(Y)
    memristor (top electrode toward the receiver, as on the board) and the 2 kOhm load;
    ``reltol`` (e.g. ``"5e-3"``, the board's) goes on the ``tran`` statement.
    """
    lines = [
        f"# chain of {n} FHN neurons, each neuron and synapse as on the reference board",
        'use "lib/parts.lib", "lib/fhn.lib", "lib/memristors.lib"',
        "param r2 = 2k", "param amp = 1.8", "param vpeak = 4.3",
        "param c0m = 1u", "param c0s = 3.3u", "param potm = 0.6", "param pots = 0.562",
        "param w0 = 1", "param c2c = 1", "param tc2c = 1", "param mc = 0",
    ]
    for i in range(1, n + 1):
        pot, c0 = ("potm", "c0m") if i == 1 else ("pots", "c0s")
        kout = ", kout = {amp/vpeak}" if i < n else ""
        lines.append(f"neuron n{i} : fhn(pot = {pot}, c0 = {c0}{kout})")
    for i in range(1, n):
        lines.append(f"memristor m{i} : zro2(w0 = w0, c2c = c2c, tc2c = tc2c, mc = mc)")
        lines.append(f"resistor rl{i} : {{r2}}")
    for i in range(1, n):
        lines.append(f"n{i + 1}.mem -> rl{i} -> m{i} -> n{i}.out")
    tol = f" reltol = {reltol}" if reltol else ""
    lines += ["seed 1", f"tran {tstop:g}s max_step = {max_step * 1e6:g}us{tol} uic",
              "probe " + ", ".join(f"n{i}" for i in range(1, n + 1))]
    return "\n".join(lines) + "\n"


def board_numerics() -> tuple[float, str]:
    """The board deck's max step (s) and its ``.options reltol=`` line (or '')."""
    text = BOARD.read_text()
    m = re.search(r"^\.tran\s+\S+\s+\S+\s+\S+\s+(\S+)", text, re.M | re.I)
    if m is None:
        raise ValueError("the board's .tran has no max step")
    step = prepare_deck(BOARD).evaluate(m.group(1))
    opt = re.search(r"^\.options\s+reltol=\S+\s*$", text, re.M | re.I)
    return float(step), opt.group(0) if opt else ""


def bench_chain(n: int, tstop: float) -> dict[str, object]:
    max_step, reltol = board_numerics()
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp:
        work = Path(tmp)
        nsn = work / f"chain{n}.nsn"
        value = reltol.split("=", 1)[1].strip() if reltol else ""
        nsn.write_text(chain_network(n, tstop, max_step, value))
        cir = work / f"chain{n}.cir"
        subprocess.run([str(NEUROSPICE), "build", str(nsn), "-o", str(cir)], check=True,
                       capture_output=True, text=True)
        text = prepare_deck(cir).text
        run, waves = run_ngspice(with_run_settings(text, tstop=tstop), work)
    spiking = sum(
        detect_spikes(waves["time"], waves[f"v(n{i}_mem)"], t_skip=0.1).count >= 3
        for i in range(1, n + 1))
    return {
        "neurons": n,
        "circuit_s": tstop,
        "cpu_s": run.cpu_s,
        "wall_s": run.wall_s,
        "peak_rss_mb": run.peak_rss_mb,
        "equations": run.acct.get("equations"),
        "accepted_points": run.acct["accepted"],
        "iterations": run.acct["iterations"],
        "iterations_per_point": run.acct["iterations"] / run.acct["accepted"],
        "cpu_per_iteration_us": run.per_iteration_us,
        "neurons_spiking": int(spiking),
        # ngspice's own split of the analysis time (its clock: wall time, under load)
        "load_fraction": run.acct["load_s"] / run.acct["analysis_s"],
        "factor_solve_fraction": (run.acct["factor_s"] + run.acct["solve_s"])
        / run.acct["analysis_s"],
    }


def fit_exponent(ns: list[int], cost: list[float]) -> float:
    """k of cost ~ N^k, least squares in log-log."""
    return float(np.polyfit(np.log(ns), np.log(cost), 1)[0])


# --------------------------------------------------------------------------- report


def machine() -> dict[str, object]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run(["ngspice", "--version"], capture_output=True, text=True).stdout
    ng = next((ln.strip("* ").strip() for ln in version.splitlines() if "ngspice-" in ln), "")
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "ngspice": ng,
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def _print_board(b: dict) -> None:
    e = b["timing_error"]
    print(f"  board {b['circuit_s']:g} s: CPU {b['cpu_s']:.2f} s, wall {b['wall_s']:.2f} s, "
          f"{b['real_time_factor_cpu']:.2f} circuit s per CPU s, peak {b['peak_rss_mb']:.0f} MB; "
          f"{b['acct']['accepted']:.0f} points, {b['iterations_per_point']:.2f} iterations/point, "
          f"{b['cpu_per_point_us']:.1f} us/point, {b['cpu_per_iteration_us']:.1f} us/iteration; "
          f"timing error master {e['v(mmem)']['percent_of_master_period']:.3f} %, "
          f"slave {e['v(smem)']['percent_of_master_period']:.3f} % of the master period "
          f"({e['v(mmem)']['spikes']}/{e['v(mmem)']['ref_spikes']}, "
          f"{e['v(smem)']['spikes']}/{e['v(smem)']['ref_spikes']} spikes)", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 s board only, chains 2-8")
    ap.add_argument("--board", default="2,20", help="board run lengths (s), comma-separated")
    ap.add_argument("--chains", default="2,4,8,16,32", help="chain sizes, comma-separated")
    ap.add_argument("--chain-tstop", type=float, default=0.5, help="chain run length (s)")
    ap.add_argument("--json", type=Path, default=RESULTS, help="results file")
    args = ap.parse_args(argv)
    lengths = [2.0] if args.quick else [float(x) for x in args.board.split(",") if x]
    sizes = [2, 4, 8] if args.quick else [int(x) for x in args.chains.split(",") if x]

    cache: dict[str, dict] = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}
    max_step, reltol = board_numerics()
    results: dict[str, object] = {
        "machine": machine(),
        "board_deck": str(BOARD.relative_to(ROOT)),
        "board_max_step_s": max_step,
        "board_options": reltol,
        "reference": f"original library (opamp_ref), {REF_STEP * 1e6:g} us max step, "
                     "default tolerances",
        "board": [],
        "chains": [],
    }
    print("reference board, bare ngspice -b:", flush=True)
    for tstop in lengths:
        b = bench_board(tstop, cache)
        _print_board(b)
        results["board"].append(b)  # type: ignore[union-attr]
    print(f"chains ({args.chain_tstop:g} s each):", flush=True)
    chains = []
    for n in sizes:
        c = bench_chain(n, args.chain_tstop)
        chains.append(c)
        print(f"  N = {n:2d}: CPU {c['cpu_s']:7.2f} s, wall {c['wall_s']:7.2f} s, "
              f"{c['equations']:.0f} equations, {c['accepted_points']:.0f} points, "
              f"{c['iterations']:.0f} iterations ({c['iterations_per_point']:.2f}/point, "
              f"{c['cpu_per_iteration_us']:.1f} us each; load {100 * c['load_fraction']:.0f} %, "
              f"factor+solve {100 * c['factor_solve_fraction']:.0f} %), "
              f"{c['neurons_spiking']}/{n} spiking",
              flush=True)
    results["chains"] = chains
    if len(chains) >= 2:
        ns = [int(c["neurons"]) for c in chains]
        results["chain_exponent_cpu"] = fit_exponent(ns, [float(c["cpu_s"]) for c in chains])
        results["chain_exponent_iterations"] = fit_exponent(
            ns, [float(c["iterations"]) for c in chains])
        results["chain_exponent_per_iteration"] = fit_exponent(
            ns, [float(c["cpu_per_iteration_us"]) for c in chains])
        print(f"  CPU ~ N^{results['chain_exponent_cpu']:.2f} (iterations ~ "
              f"N^{results['chain_exponent_iterations']:.2f}, CPU per iteration ~ "
              f"N^{results['chain_exponent_per_iteration']:.2f})", flush=True)
    tmp = args.json.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1, default=_jsonable) + "\n")
    tmp.replace(args.json)
    print(f"wrote {args.json}")
    return 0


def _jsonable(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)  # type: ignore[call-overload]
    raise TypeError(type(obj))


if __name__ == "__main__":
    sys.exit(main())
