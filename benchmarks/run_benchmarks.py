"""Benchmarks, reported as ratios measured in one run (never asserted by the tests).

1. ``simulate --no-plot`` against bare ``ngspice -b`` on the same canonical deck (the neuron, 5 s;
   the reference board, 2 s and 20 s): wall and CPU ratios, the real-time factor.
2. A 2-D sweep on one worker process against two: the speed-up, and the cost per point against
   bare ``ngspice -b`` on the same point.
3. Peak resident memory of the worker processes against bare ngspice.

Usage: ``python benchmarks/run_benchmarks.py [--deck netlists/fhn_neuron.cir] [--tstop 5]
[--sweep-deck ...] [--skip-sweep] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_circuit import machine  # noqa: E402  (this folder is on sys.path as the script's)

from neurospice.spice.deck import prepare_deck  # noqa: E402


def _children_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def cpu_of(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall s, CPU s of the child processes) of ``fn()``."""
    c0, t0 = _children_cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, _children_cpu() - c0


def bare_ngspice(deck_text: str) -> float:
    """Wall time (s) of ``ngspice -b`` on ``deck_text`` in a fresh folder."""
    work = Path(tempfile.mkdtemp(prefix="bench-ngspice-"))
    try:
        (work / "deck.cir").write_text(deck_text)
        t0 = time.perf_counter()
        subprocess.run(["ngspice", "-b", "-r", "out.raw", "deck.cir"], cwd=work, check=True,
                       capture_output=True, env={"HOME": str(work), "PATH": "/usr/bin:/bin"})
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def simulate_cli(args: list[str]) -> float:
    t0 = time.perf_counter()
    # the console script users run (its own entry point, as installed in the environment)
    script = Path(sys.executable).with_name("simulate")
    subprocess.run([str(script), *args, "-q"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def bench_single(deck_path: Path, tstop: float, repeats: int) -> dict[str, float]:
    """``simulate --no-plot`` against ``ngspice -b`` on the same canonical deck: wall and CPU
    (best of ``repeats``, the two interleaved; CPU counts every child process, the ngspice
    worker included), and what each writes."""
    deck = prepare_deck(deck_path).with_tstop(tstop)
    out = Path(tempfile.mkdtemp(prefix="bench-out-"))
    full = Path(tempfile.mkdtemp(prefix="bench-full-"))
    try:
        bare: list[tuple[float, float]] = []
        ours: list[tuple[float, float]] = []
        for _ in range(repeats):
            bare.append(cpu_of(lambda: bare_ngspice(deck.text)))
            ours.append(cpu_of(lambda: simulate_cli([str(deck_path), "--tstop", str(tstop),
                                                     "-o", str(out), "--no-plot"])))
        bare_rss = _children_maxrss_mb()
        default_bytes = _folder_bytes(out)
        rows = json.loads((out / "summary.json").read_text())["run"]["waveform_table"]
        simulate_cli([str(deck_path), "--tstop", str(tstop), "-o", str(full), "--no-plot",
                      "--full-resolution", "--raw"])
        full_bytes = {p.name: p.stat().st_size for p in full.iterdir() if p.is_file()}
        ours_full = simulate_cli([str(deck_path), "--tstop", str(tstop), "-o", str(out)])
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(full, ignore_errors=True)
    bw, bc = min(w for w, _ in bare), min(c for _, c in bare)
    ow, oc = min(w for w, _ in ours), min(c for _, c in ours)
    return {
        "deck": str(deck_path.relative_to(ROOT)),
        "circuit_seconds": tstop,
        "repeats": repeats,
        "ngspice_b_wall_s": bw,
        "ngspice_b_cpu_s": bc,
        "simulate_wall_s": ow,
        "simulate_cpu_s": oc,
        "simulate_with_plots_wall_s": ours_full,
        "ratio_simulate_over_ngspice": ow / bw,
        "cpu_ratio_simulate_over_ngspice": oc / bc,
        "real_time_factor": tstop / ow,
        "circuit_s_per_cpu_s_ngspice": tstop / bc,
        "peak_rss_children_mb": _children_maxrss_mb(),
        "peak_rss_after_bare_mb": bare_rss,
        "output_bytes_default": default_bytes,
        "waveform_rows_default": rows["rows"],
        "waveform_rows_full": rows["of"],
        "output_bytes_full_resolution_and_raw": sum(full_bytes.values()),
        "output_files_full_resolution_and_raw": full_bytes,
    }


def bench_sweep(deck_path: Path, specs: list[str], tstop: float) -> dict[str, float]:
    from neurospice.batch.sweep import grid, parse_sweep, run_sweep
    from neurospice.sim.options import RunOptions

    deck = prepare_deck(deck_path).with_tstop(tstop)
    axes = [parse_sweep(s) for s in specs]
    npts = len(grid(axes))
    timings = {}
    for workers in (1, 2):
        out = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
        try:
            t0 = time.perf_counter()
            run_sweep(deck, axes, out, RunOptions(workers=workers, quiet=True))
            timings[workers] = time.perf_counter() - t0
        finally:
            shutil.rmtree(out, ignore_errors=True)
    point = grid(axes)[0]
    bare = bare_ngspice(deck.with_params(point).text)
    return {
        "deck": str(deck_path.relative_to(ROOT)),
        "points": npts,
        "sweep": " ".join(specs),
        "circuit_seconds_per_point": tstop,
        "wall_1_worker_s": timings[1],
        "wall_2_workers_s": timings[2],
        "speedup_2_over_1": timings[1] / timings[2],
        "per_point_s_1_worker": timings[1] / npts,
        "ngspice_b_per_point_s": bare,
        "per_point_over_ngspice": timings[1] / npts / bare,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deck", type=Path, default=ROOT / "netlists" / "fhn_neuron.cir")
    ap.add_argument("--tstop", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=7,
                    help="runs of each short case (runs of 10 s or more: 2)")
    ap.add_argument("--sweep-deck", type=Path, default=ROOT / "netlists" / "coupled_fhn.cir")
    ap.add_argument("--sweep", action="append", default=None,
                    help="sweep specs for the sweep benchmark (default r2 and amp, 3 x 4)")
    ap.add_argument("--sweep-tstop", type=float, default=1.0)
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--board-tstops", default="2,20",
                    help="stop times (s) of the reference board to measure, comma-separated")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = ap.parse_args()

    # simulate's start-up is measured as a user's install has it, with the package's bytecode
    # (written here even where PYTHONDONTWRITEBYTECODE is set; `make` does the same)
    import compileall

    compileall.compile_dir(str(ROOT / "neurospice"), quiet=1)
    results: dict[str, object] = {"machine": {
        **machine(), "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", "")}}
    cases = [(args.deck.resolve(), args.tstop)] + [
        (args.sweep_deck.resolve(), float(t)) for t in args.board_tstops.split(",") if t]
    for deck_path, tstop in cases:
        single = bench_single(deck_path, tstop, args.repeats if tstop < 10 else 2)
        results[f"simulate_vs_ngspice {single['deck']} {tstop:g}s"] = single
        print(f"simulate --no-plot vs ngspice -b on {single['deck']} ({tstop:g} s of circuit):")
        print(f"  ngspice -b  wall {single['ngspice_b_wall_s']:7.2f} s  CPU "
              f"{single['ngspice_b_cpu_s']:7.2f} s  ({single['circuit_s_per_cpu_s_ngspice']:.2f}"
              " circuit s per CPU s)")
        print(f"  simulate    wall {single['simulate_wall_s']:7.2f} s  CPU "
              f"{single['simulate_cpu_s']:7.2f} s  (with plots "
              f"{single['simulate_with_plots_wall_s']:.2f} s wall)")
        print(f"  ratio       wall {single['ratio_simulate_over_ngspice']:7.3f}    CPU "
              f"{single['cpu_ratio_simulate_over_ngspice']:7.3f}")
        print(f"  peak RSS of child processes {single['peak_rss_children_mb']:.0f} MB")
        print(f"  output {single['output_bytes_default'] / 1e6:.2f} MB by default "
              f"({single['waveform_rows_default']} of {single['waveform_rows_full']} rows), "
              f"{single['output_bytes_full_resolution_and_raw'] / 1e6:.2f} MB with "
              "--full-resolution --raw")
    if not args.skip_sweep and args.sweep_deck.is_file():
        specs = args.sweep or ["r2=5k:20k:3", "amp=1.4:2.2:4"]
        sw = bench_sweep(args.sweep_deck.resolve(), specs, args.sweep_tstop)
        results["sweep"] = sw
        print(f"sweep {sw['sweep']} on {sw['deck']} ({sw['points']} points, "
              f"{args.sweep_tstop:g} s each):")
        print(f"  1 worker {sw['wall_1_worker_s']:.2f} s, 2 workers {sw['wall_2_workers_s']:.2f} s"
              f" -> speed-up {sw['speedup_2_over_1']:.2f}")
        print(f"  per point {sw['per_point_s_1_worker']:.3f} s vs ngspice -b "
              f"{sw['ngspice_b_per_point_s']:.3f} s -> {sw['per_point_over_ngspice']:.2f}x")
    args.json.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
