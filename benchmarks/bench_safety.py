"""What safety costs: the deck compiler and the worker's sandbox, and memory over many runs.

    .venv/bin/python benchmarks/bench_safety.py [--runs 1000] [--repeats 15]

Measures, in one run on this machine:

- compiling the reference board (``prepare_deck``), median of ``--repeats``;
- the sandbox's cost: the same small deck run with and without the sandbox, interleaved,
  median wall time of each (the difference is what seccomp + Landlock + rlimits cost);
- the checks of the parent around a run: the deck's tree (not a shared folder), the output
  folder's lock (``O_EXCL | O_NOFOLLOW``) and the check of every output path against it;
- a 1 s run of the reference board through the same path, so these costs are given as a
  fraction of it (target: under 3 %);
- memory: ``--runs`` consecutive runs through the worker pool; the parent's resident memory
  after the first 10 runs and after the last (target: within 20 MB).

Writes benchmarks/safety_results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from neurospice.files import OutputLock, check_output_path  # noqa: E402
from neurospice.network.loading import check_tree  # noqa: E402
from neurospice.sim.ngspice import RunLimits, run_all  # noqa: E402
from neurospice.spice.deck import prepare_deck  # noqa: E402

BOARD = ROOT / "netlists" / "coupled_fhn.cir"
SMALL = ROOT / "tests" / "data" / "decks" / "rc.cir"


def rss_mb() -> float:
    """Resident memory of this process (MB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()

    compile_s = statistics.median(timed(lambda: prepare_deck(BOARD))
                                  for _ in range(args.repeats))
    outdir = Path(tempfile.mkdtemp(prefix="neurospice-bench-")) / "coupled_fhn_out"
    outdir.mkdir()
    outputs = ["waveforms.csv", "summary.json", "traces.png", "locking_xmaster_xslave.png",
               "iv_xm1.png", "resistance_xm1.png", "previous/summary.json"]

    def checks() -> None:
        check_tree(BOARD)
        with OutputLock(outdir):
            for name in outputs:
                check_output_path(outdir / name)

    checks_s = statistics.median(timed(checks) for _ in range(20 * args.repeats))
    small = prepare_deck(SMALL).with_tstop(1e-3)
    on, off = [], []
    for _ in range(args.repeats):
        on.append(timed(lambda: run_all(small, limits=RunLimits())))
        off.append(timed(lambda: run_all(small, limits=RunLimits(sandbox=False))))
    sandbox_s = statistics.median(on) - statistics.median(off)
    board = prepare_deck(BOARD).with_tstop(1.0)
    board_s = statistics.median(timed(lambda: run_all(board)) for _ in range(2))
    print(f"compile the board: {1e3 * compile_s:.1f} ms; sandbox: {1e3 * sandbox_s:.1f} ms "
          f"(worker {1e3 * statistics.median(on):.0f} ms with, "
          f"{1e3 * statistics.median(off):.0f} ms without); 1 s board run {board_s:.2f} s")
    print(f"  output and tree checks: {1e3 * checks_s:.3f} ms")
    share = 100 * (compile_s + sandbox_s + checks_s) / board_s
    print(f"  compiler + sandbox + checks = {share:.2f} % of a 1 s board run (target < 3 %)")

    levels = []
    for k in range(1, args.runs + 1):
        run_all(small)
        if k == 10:
            levels.append(rss_mb())
        if k % 100 == 0:
            print(f"  run {k}: parent RSS {rss_mb():.1f} MB", flush=True)
    levels.append(rss_mb())
    print(f"memory: {args.runs} runs, parent RSS {levels[0]:.1f} MB after 10, {levels[-1]:.1f} "
          f"MB after {args.runs}: growth {levels[-1] - levels[0]:+.1f} MB (target within 20)")
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
        "compile_board_ms": 1e3 * compile_s,
        "sandbox_ms": 1e3 * sandbox_s,
        "worker_ms_with_sandbox": 1e3 * statistics.median(on),
        "worker_ms_without_sandbox": 1e3 * statistics.median(off),
        "output_and_tree_checks_ms": 1e3 * checks_s,
        "board_1s_run_s": board_s,
        "compiler_and_sandbox_percent_of_board_run": 100 * (compile_s + sandbox_s) / board_s,
        "compiler_sandbox_and_checks_percent_of_board_run": share,
        "runs": args.runs,
        "rss_after_10_mb": levels[0],
        "rss_after_all_mb": levels[-1],
        "rss_growth_mb": levels[-1] - levels[0],
    }
    (ROOT / "benchmarks" / "safety_results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
