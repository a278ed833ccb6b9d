"""Fuzz the deck compiler, the network parser, output names and resumed sweep tables with
hypothesis (one command).

    .venv/bin/python benchmarks/fuzz.py [--examples 100000] [--only names]

Each input must compile or raise a documented input error (a NeurospiceInputError) within 1 s,
and a compiled deck must compile again to itself; a file named after an arbitrary instance name
must land in the output folder or be refused; a resumed table's reused rows must hold numbers.
Prints the outcome counts and the slowest input's time, and writes them to
benchmarks/fuzz_results.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fuzzing import (  # noqa: E402
    check_deck,
    check_network,
    check_output_name,
    check_resumed_table,
    instance_names,
    sweep_tables,
)

from strategies import garbage_text, spice_decks, valid_networks  # noqa: E402

BASE = ROOT / "tests" / "data" / "decks"


def run(name: str, strategy: st.SearchStrategy[str], check: Callable[[str, Path], str],
        examples: int, base: Path = BASE) -> dict[str, object]:
    counts: collections.Counter[str] = collections.Counter()
    slowest = [0.0]

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(strategy)
    def one(text: str) -> None:
        t0 = time.process_time()
        counts[check(text, base)] += 1
        slowest[0] = max(slowest[0], time.process_time() - t0)

    start = time.perf_counter()
    one()
    total = sum(counts.values())
    print(f"{name}: {total} inputs in {time.perf_counter() - start:.0f} s; slowest "
          f"{1e3 * slowest[0]:.1f} ms of CPU; outcomes {dict(counts.most_common())}")
    return {"inputs": total, "slowest_s": slowest[0], "outcomes": dict(counts)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=100_000)
    ap.add_argument("--only", choices=["decks", "text", "networks", "names", "tables"],
                    default=None)
    args = ap.parse_args()
    out = ROOT / "benchmarks" / "fuzz_results.json"
    scratch = Path(tempfile.mkdtemp(prefix="neurospice-fuzz-"))
    (scratch / "out").mkdir()
    try:
        return _main(args, out, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _main(args: argparse.Namespace, out: Path, scratch: Path) -> int:
    if args.only:
        results = json.loads(out.read_text()) if out.is_file() else {}
        strategies = {"decks": (spice_decks(), check_deck, args.examples, BASE),
                      "text": (st.text(max_size=400), check_deck, args.examples // 4, BASE),
                      "networks": (st.one_of(garbage_text(),
                                             valid_networks().map(lambda n: n.text)),
                                   check_network, args.examples // 4, BASE),
                      "names": (instance_names, check_output_name, args.examples // 10,
                                scratch / "out"),
                      "tables": (sweep_tables(), check_resumed_table, args.examples // 10,
                                 scratch)}
        strategy, check, n, base = strategies[args.only]
        results[args.only] = run(args.only, strategy, check, n, base)
        out.write_text(json.dumps(results, indent=2))
        return 0
    results = {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "decks": run("deck compiler (deck-like)", spice_decks(), check_deck, args.examples),
        "text": run("deck compiler (any text)", st.text(max_size=400), check_deck,
                    args.examples // 4),
        "networks": run("network compiler", st.one_of(garbage_text(),
                                                      valid_networks().map(lambda n: n.text)),
                        check_network, args.examples // 4),
        "names": run("output names", instance_names, check_output_name, args.examples // 10,
                     scratch / "out"),
        "tables": run("resumed sweep tables", sweep_tables(), check_resumed_table,
                      args.examples // 10, scratch),
    }
    out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
