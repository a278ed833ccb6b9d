"""Command line: ``simulate FILE`` and ``neurospice {simulate,build,check} FILE``.

Exit status: 0 when the run succeeded, 2 for bad input (a deck or network file that is refused
or wrong, a bad option), 1 for a simulation that failed (no convergence, ngspice abort). User
errors print one paragraph naming the file and line, never a Python traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from neurospice import __version__
from neurospice.errors import NeurospiceInputError, SimulationError
from neurospice.spice.deck import PreparedDeck

EXIT_OK = 0
EXIT_SIM = 1
EXIT_INPUT = 2

NETWORK_SUFFIXES = (".nsn",)


class UsageError(NeurospiceInputError):
    """A bad command-line option."""


def _add_simulate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path,
                   help="a SPICE deck (.cir) or a network file (.nsn) to simulate")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                   help="output folder (default: FILE's folder / <name>_out)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a top-level .param of the deck (repeatable); SI suffixes "
                        "allowed, e.g. --param r2=10k")
    p.add_argument("--tstop", default=None, metavar="T",
                   help="stop the transient at T (seconds, SI suffixes allowed: 500m, 2)")
    p.add_argument("--runs", type=int, default=1, metavar="N",
                   help="Monte Carlo: repeat the run N times with seeds S, S+1, ... (the deck "
                        "must have a .param seed)")
    p.add_argument("--seed", type=int, default=None, metavar="S",
                   help="seed of the first run (sets .param seed); default: the deck's own")
    p.add_argument("--sweep", action="append", default=[], metavar="NAME=START:STOP:COUNT",
                   help="sweep a .param over COUNT evenly spaced values (give once or twice "
                        "for a 1-D or 2-D map); points run in parallel worker processes")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parallel worker processes for sweeps and runs (default: CPU count)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run sweep points on a Dask distributed scheduler, e.g. "
                        "tcp://127.0.0.1:8786, instead of local processes")
    p.add_argument("--resume", action="store_true",
                   help="sweeps: keep the points already in the output table, run the rest")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="wall-clock limit for each ngspice run")
    p.add_argument("--t-skip", type=float, default=0.0, metavar="SECONDS",
                   help="ignore the first SECONDS of the transient in the analysis")
    p.add_argument("--no-plot", action="store_true", help="do not write PNG plots")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser(prog: str = "neurospice") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Simulate FitzHugh-Nagumo neuron circuits coupled through memristors "
                    "(ngspice).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="run a deck or network file and report",
                         description=SIMULATE_DESCRIPTION,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_simulate_args(sim)
    build = sub.add_parser("build", help="print the SPICE deck a network file compiles to")
    build.add_argument("file", type=Path, help="a network file (.nsn)")
    build.add_argument("-o", "--output", type=Path, default=None, metavar="FILE.cir",
                       help="write the deck to this file instead of standard output")
    check = sub.add_parser("check", help="check a deck or network file without running it")
    check.add_argument("file", type=Path)
    return parser


SIMULATE_DESCRIPTION = """\
Run FILE's transient in ngspice and report, for each neuron (an instance of a subcircuit whose
first pin is 'mem', such as 'fhn'), the spike count, frequency, spike width at half height and
minimum/maximum membrane voltage; for each memristor, the range of its state w and of its
resistance. Writes into the output folder: waveforms.csv, the ngspice raw file, summary.json and
traces.png.

Before ngspice sees FILE, .include/.lib are expanded and checked: .control blocks, '*#' control
lines, codemodel/osdi/shell lines and includes outside the deck's folder tree or the neurospice
library are refused (exit status 2). A simulation that fails (no convergence) exits with 1.
"""


def simulate_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``simulate`` console script."""
    parser = argparse.ArgumentParser(
        prog="simulate", description=SIMULATE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_simulate_args(parser)
    args = parser.parse_args(argv)
    return _guard(lambda: _simulate(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neurospice`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "simulate":
        return _guard(lambda: _simulate(args))
    if args.command == "build":
        return _guard(lambda: _build(args))
    return _guard(lambda: _check(args))


def _guard(fn: Callable[[], int]) -> int:
    try:
        return fn()
    except NeurospiceInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except SimulationError as exc:
        print(f"simulation failed: {exc}", file=sys.stderr)
        return EXIT_SIM
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def load_deck(path: Path) -> PreparedDeck:
    """A checked deck from a ``.cir`` deck or a ``.nsn`` network file."""
    from neurospice.spice.deck import prepare_deck, prepare_text

    if path.suffix.lower() in NETWORK_SUFFIXES:
        return prepare_text(network_deck_text(path), base_dir=path.resolve().parent, source=path)
    return prepare_deck(path)


def network_deck_text(path: Path) -> str:
    """Compile a network file to deck text, with a ``* neurospice lock A B`` line per pair."""
    from neurospice.network.assembler import compile_file

    if not path.is_file():
        raise UsageError(f"no such network file: {path}", path=path)
    deck = compile_file(path)
    title, _, rest = deck.text.partition("\n")
    locks = "".join(f"* neurospice lock {a} {b}\n" for a, b in deck.lock_pairs)
    return f"{title}\n{locks}{rest}"


def parse_assignments(items: Sequence[str], what: str = "--param") -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"{what} {item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def _tstop(text: str | None) -> float | None:
    if text is None:
        return None
    from neurospice.spice.deck import spice_number

    try:
        return spice_number(text)
    except ValueError:
        raise UsageError(f"--tstop {text!r}: not a time (examples: 2, 500m, 1.5)") from None


def _simulate(args: argparse.Namespace) -> int:
    from neurospice.cli.simulate import simulate_file

    if args.runs < 1:
        raise UsageError(f"--runs must be at least 1 (got {args.runs})")
    return simulate_file(
        args.file,
        output=args.output,
        params=parse_assignments(args.param),
        tstop=_tstop(args.tstop),
        runs=args.runs,
        seed=args.seed,
        sweeps=args.sweep,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        timeout=args.timeout,
        t_skip=args.t_skip,
        plot=not args.no_plot,
        quiet=args.quiet,
    )


def _build(args: argparse.Namespace) -> int:
    text = network_deck_text(args.file)
    if args.output:
        args.output.write_text(text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    deck = load_deck(args.file)
    neurons = ", ".join(i.name for i in deck.neurons()) or "none"
    print(f"{args.file}: ok ({len(deck.lines)} lines after expansion; neurons: {neurons})")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
