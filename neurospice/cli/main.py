"""Command line: ``simulate FILE`` and ``neurospice {simulate,build,check,bom,...} FILE``.

Exit status: 0 when the run succeeded, 2 for bad input (a deck or network file that is refused
or wrong, a bad option), 1 for a run that failed (no convergence, a limit reached, a full disk).
Errors print one paragraph naming the file and line, never a Python traceback; an unexpected
error (a bug of ours) prints one paragraph too and leaves its traceback in a log file.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from neurospice.errors import SPELLING, NeurospiceInputError, SimulationError, UsageError
from neurospice.files import atomic_write_text, printable, write_crash_log
from neurospice.meta import __version__
from neurospice.sim.engines import DEFAULT_ENGINE, SpiceEngine, engine_names, get_engine
from neurospice.spice.numbers import parse_si

EXIT_OK = 0
EXIT_SIM = 1
EXIT_INPUT = 2

NETWORK_SUFFIXES = (".nsn",)

log = logging.getLogger(__name__)

__all__ = ["main", "simulate_main", "exit_now", "UsageError", "Settings"]

if TYPE_CHECKING:
    from neurospice.sim.process import Worker
    from neurospice.spice.compiler import ControlMode, Limits


def _add_limits_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("deck handling and limits")
    g.add_argument("--ignore-control", action="store_true",
                   help="drop .control blocks and '*#' lines (listing what was dropped); their "
                        "tran/ac/dc/op commands become analysis cards when the deck has none")
    g.add_argument("--allow-control", action="store_true",
                   help="run .control blocks as ngspice would (trusted decks only; still "
                        "inside the sandbox)")
    g.add_argument("--max-points", default="5e7", metavar="N",
                   help="refuse analyses of more than N points (default 5e7)")
    g.add_argument("--max-deck-bytes", default="20meg", metavar="B",
                   help="refuse decks or included files larger than B bytes (default 20meg)")
    g.add_argument("--max-memory", default="4g", metavar="B",
                   help="address-space limit of each ngspice worker (default 4g = 4e9 bytes)")
    g.add_argument("--compat", default=None, metavar="MODE",
                   help="ngspice's compatibility mode for decks written for other simulators: "
                        "a run of hs, ps, xs, lt, ki, s3, eg, spe, a (e.g. ltpsa, ps, lt, kia) "
                        "or all; set before the deck loads (default: the 'set ngbehavior=' of a "
                        ".spiceinit next to the deck, nothing else of which is read)")


def _add_simulate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path,
                   help="a SPICE deck (.cir) or a network file (.nsn) to simulate")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                   help="output folder (default: FILE's folder / <name>_out for .cir, "
                        "<name>_nsn_out for .nsn)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a top-level .param of the deck (repeatable); SI suffixes "
                        "allowed, e.g. --param r2=10k; a component by name (rload=4.7k) or, "
                        "inside a subcircuit, by its path (xslave.rtop=11k)")
    p.add_argument("--allow-negative", action="store_true",
                   help="let --param make a resistor negative (refused otherwise: -5k for 5k "
                        "is a typo more often than an active part)")
    p.add_argument("--tstop", default=None, metavar="T",
                   help="stop the transient at T (seconds, SI suffixes allowed: 500m, 2)")
    p.add_argument("--engine", choices=engine_names(), default=DEFAULT_ENGINE,
                   help="spice: ngspice on the circuit (default); model: the board's equations "
                        "compiled from the netlist (fast, for maps)")
    p.add_argument("--seed", type=int, default=None, metavar="S",
                   help="seed of the first run (sets .param seed); default: the deck's own")
    p.add_argument("--timeout", default="3600", metavar="SECONDS",
                   help="wall-clock limit for each ngspice run (default 3600)")
    p.add_argument("--no-self-check", action="store_true",
                   help="with --engine model: skip the check against a short ngspice run made "
                        "on a netlist's first model run (cached; refuses beyond 1 %%)")
    _add_batch_args(p)
    _add_analysis_args(p)
    _add_output_args(p)
    _add_limits_args(p)


def _add_batch_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("batches: Monte Carlo, tolerances, sweeps")
    g.add_argument("--runs", type=int, default=1, metavar="N",
                   help="Monte Carlo: repeat the run N times with seeds S, S+1, ... (with --tol: "
                        "N builds from toleranced parts)")
    g.add_argument("--tol", action="append", default=[], metavar="WHAT=PERCENT",
                   help="part tolerance for --runs: a class (R=5%%, C=10%%, L=10%%, pots=20%% "
                        "for potentiometer tracks) or one "
                        "instance (xmaster.c0=1%%); every R, C, L of every instance draws its "
                        "own value")
    g.add_argument("--corners", action="store_true",
                   help="worst case instead of Monte Carlo: every --tol part at the end of its "
                        "tolerance that raises (or lowers) each neuron's frequency, found from "
                        "one run per part; writes corners.csv")
    g.add_argument("--tol-dist", choices=["normal", "uniform"], default="normal",
                   help="tolerance draws: normal with sigma = tolerance/3 (default) or uniform")
    g.add_argument("--sweep", action="append", default=[], metavar="NAME=SPEC",
                   help="sweep a .param or a component: NAME=START:STOP:COUNT, "
                        "NAME=log:START:STOP:COUNT, NAME=E24:START:STOP or NAME=V1,V2,V3 "
                        "(once or twice for a 1-D or 2-D map)")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parallel worker processes for sweeps and runs (default: CPU count)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run sweep points on a Dask distributed scheduler, e.g. "
                        "tcp://127.0.0.1:8786, instead of local processes (the scheduler runs "
                        "code on this machine: only this machine's, unless --trust-scheduler)")
    g.add_argument("--trust-scheduler", action="store_true",
                   help="allow a --scheduler that is not this machine (it can run any command "
                        "here; prefer tls:// with Dask's distributed.comm.tls settings)")
    g.add_argument("--resume", action="store_true",
                   help="sweeps: reuse the finished points of the output table whose deck, "
                        "values, stop time and seed match; run the rest")
    g.add_argument("--verify", type=int, default=0, metavar="K",
                   help="with --engine model and --sweep: rerun K points of the map in ngspice "
                        "and report where the two engines disagree")
    g.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="run each point with N draws of the device noise (seeds S .. S+N-1) and "
                        "report P(mode) per pair with 95 %% Wilson intervals")


def _add_analysis_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("analysis")
    g.add_argument("--t-skip", default="0", metavar="SECONDS",
                   help="ignore the first SECONDS of the transient in the analysis")
    g.add_argument("--spike-threshold", action="append", default=[], metavar="V|NAME=V",
                   help="spike threshold in volts for every neuron (V) or one neuron (NAME=V), "
                        "instead of the level derived from the neuron's own I-V (repeatable)")
    g.add_argument("--energy", action="store_true",
                   help="energy of every memristive element (dissipated, its eps bound, "
                        "co-content) and the circuit's power balance; saves every current")


def _add_output_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--format", choices=["auto", "csv", "parquet"], default="auto",
                   help="waveform table: CSV, Parquet (units in the column metadata), or auto: "
                        "Parquet above 2 million values (default)")
    g.add_argument("--full-resolution", action="store_true",
                   help="keep every time point ngspice computed in the waveform table (default: "
                        "the points that give every vector back within --waveform-tol)")
    g.add_argument("--waveform-tol", default="1e-3", metavar="FRACTION",
                   help="largest deviation of the reduced waveform table from the full one, "
                        "as a fraction of each vector's range (default 1e-3)")
    g.add_argument("--raw", action="store_true",
                   help="also keep ngspice's binary raw file (every point) as FILE.raw")
    g.add_argument("--no-plot", action="store_true", help="do not write PNG plots")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="log what neurospice does (deck compilation, sandbox, workers)")


def build_parser(prog: str = "neurospice", command: str | None = None) -> argparse.ArgumentParser:
    """The ``neurospice`` parser; ``command`` (the first argument), when known, spares loading
    the options of commands that will not run."""
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
    bom = sub.add_parser("bom", help="the parts list of a deck, against an E-series")
    bom.add_argument("file", type=Path)
    bom.add_argument("--series", default="E24", choices=["E6", "E12", "E24", "E96"],
                     help="the series to compare resistors with (default E24)")
    bom.add_argument("--cap-series", default="E12", choices=["E6", "E12", "E24", "E96"],
                     help="the series to compare capacitors and inductors with (default E12)")
    bom.add_argument("--csv", type=Path, default=None, metavar="FILE",
                     help="also write the parts list as CSV (one row per part instance)")
    bom.add_argument("--order", type=Path, default=None, metavar="FILE",
                     help="write a CSV to upload to a distributor: quantity, value, "
                          "tolerance, rating, package (blank) per distinct part")
    bom.add_argument("--stress", action="store_true",
                     help="run the board once and choose ratings from what each part sees: "
                          "resistor power, capacitor voltage, op-amp swing/slew/GBW, rail "
                          "currents")
    bom.add_argument("--tstop", default=None, metavar="T",
                     help="--stress and --snap runs: stop time (s; default the deck's)")
    bom.add_argument("--snap", type=Path, default=None, metavar="FILE.cir",
                     help="write a copy of the deck with every part moved to its series, "
                          "run both and report what changed and which parts moved it most")
    bom.add_argument("--no-rerun", action="store_true",
                     help="with --snap: write the snapped deck without running the board")
    bom.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    stdp = sub.add_parser("stdp", help="spike-timing plasticity of the second-order synapse")
    crossbar = sub.add_parser("crossbar", help="a crossbar of second-order synapses under "
                              "periodic input (the discrete-time map)")
    if command in ("stdp", "crossbar", None):
        # their options come from modules that load scipy's integrators: only when needed
        from neurospice.cli.crossbar import add_crossbar_arguments
        from neurospice.cli.stdp import add_stdp_arguments

        add_stdp_arguments(stdp)
        add_crossbar_arguments(crossbar)
    check = sub.add_parser("check", help="check a deck or network file without running it")
    check.add_argument("file", type=Path)
    check.add_argument("--canonical", action="store_true",
                       help="print the canonical deck neurospice would give to ngspice")
    _add_limits_args(check)
    return parser


SIMULATE_DESCRIPTION = """\
Run FILE in ngspice and report, for each neuron (an instance of a subcircuit whose first pin
is 'mem', such as 'fhn'), the spike count, frequency, spike width at half height and
minimum/maximum membrane voltage; for each memristor, the range of its state w and of its
resistance; for each analysed pair, the locking ratio and timeline. Writes into the output
folder: waveforms.csv (the time points that keep every vector within --waveform-tol; all of
them with --full-resolution), summary.json and plots; ngspice's raw file with --raw.

FILE is compiled before ngspice sees it: every card is parsed and re-emitted, includes are
expanded from the deck's folder tree or the neurospice library only, and anything unknown is
refused (exit status 2), .control blocks included (see --ignore-control). ngspice runs in a
sandboxed worker (seccomp, Landlock, rlimits). A run that fails exits with 1.
"""


# ------------------------------------------------------------------------------ entry points


def simulate_main(argv: Sequence[str] | None = None, worker: Worker | None = None) -> int:
    """Entry point of the ``simulate`` command. ``worker``: one started ahead
    (:mod:`neurospice.cli.launch`), used if the run needs one and closed in any case."""
    try:
        parser = argparse.ArgumentParser(
            prog="simulate", description=SIMULATE_DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
        _add_simulate_args(parser)
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
        args.command_line = ["simulate", *argv]  # what summary.json records to repeat the run
        return _guard(lambda: _simulate(args, worker), args)
    finally:
        if worker is not None:
            worker.close()


def exit_now(code: int) -> None:
    """End the process with ``code`` once its output is flushed, skipping the interpreter's
    teardown (30 ms of freeing modules that the operating system frees anyway) - unless a
    thread that is not a daemon still runs, which gets the normal exit."""
    import threading

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    if any(t is not threading.current_thread() and not t.daemon and t.is_alive()
           for t in threading.enumerate()):
        sys.exit(code)
    os._exit(code)


def main(argv: Sequence[str] | None = None, worker: Worker | None = None) -> int:
    """Entry point of the ``neurospice`` command (``worker`` as for :func:`simulate_main`)."""
    try:
        return _main(argv, worker)
    finally:
        if worker is not None:
            worker.close()


def _main(argv: Sequence[str] | None, worker: Worker | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command=first).parse_args(argv)
    args.command_line = ["neurospice", *argv]
    if args.command == "simulate":
        return _guard(lambda: _simulate(args, worker), args)
    if args.command == "build":
        return _guard(lambda: _build(args), args)
    if args.command == "bom":
        return _guard(lambda: _bom(args), args)
    if args.command == "stdp":
        from neurospice.cli.stdp import stdp_command

        return _guard(lambda: stdp_command(args), args)
    if args.command == "crossbar":
        from neurospice.cli.crossbar import crossbar_command

        return _guard(lambda: crossbar_command(args), args)
    return _guard(lambda: _check(args), args)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _guard(fn: Callable[[], int], args: argparse.Namespace) -> int:
    """Run a command; turn every error into one paragraph and an exit status."""
    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread (tests calling main() from a thread)
        previous = None
    spelling = SPELLING.set("cli")  # messages below name flags, not the API's keywords
    try:
        return fn()
    except NeurospiceInputError as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except SimulationError as exc:
        print(f"simulation failed: {printable(exc)}", file=sys.stderr)
        return EXIT_SIM
    except KeyboardInterrupt:
        from neurospice.sim.process import terminate_all

        terminate_all()
        print("interrupted: finished results are kept", file=sys.stderr)
        return 130
    except OSError as exc:
        print(printable(f"failed: {exc.strerror or exc} ({exc.filename or 'no file'}); nothing "
                        "already written was truncated"), file=sys.stderr)
        return EXIT_SIM
    except Exception as exc:  # noqa: BLE001 - the last guard: no traceback for the user
        where = _write_crash_log(args)
        print(f"internal error: {type(exc).__name__}: {printable(exc)}. This is a bug in "
              f"neurospice, not in your input; the details are in {where}.", file=sys.stderr)
        return EXIT_SIM
    finally:
        SPELLING.reset(spelling)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _write_crash_log(args: argparse.Namespace) -> Path:
    # O_EXCL | O_NOFOLLOW in the output folder, else a new file of unpredictable name
    where = write_crash_log(traceback.format_exc(), _output_dir(args))
    return Path(where) if where else Path("(no writable folder for the log)")


def _output_dir(args: argparse.Namespace) -> Path | None:
    """The output folder of a ``simulate`` command (for its crash log), when it exists."""
    if not hasattr(args, "sweep") or not isinstance(getattr(args, "file", None), Path):
        return None  # not a simulate command
    from neurospice.cli.simulate import default_output_dir

    outdir = args.output if args.output is not None else default_output_dir(args.file)
    return outdir if outdir.is_dir() else None


# ------------------------------------------------------------------------------ settings


class Settings:
    """The validated options shared by the commands: what the deck compiler does with
    ``.control`` blocks and its limits, the worker's memory (read as :class:`RunOptions` reads
    them, with the same messages)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from neurospice.sim.options import MIN_MEMORY, byte_count, compat_mode, positive

        raw = vars(args)
        if raw.get("ignore_control") and raw.get("allow_control"):
            raise UsageError("--ignore-control and --allow-control exclude each other")
        self.control: ControlMode = ("ignore" if raw.get("ignore_control") else
                                     "allow" if raw.get("allow_control") else "refuse")
        compat = raw.get("compat")
        self.compat = compat_mode(compat) if compat is not None else None
        self.max_points = positive(args.max_points, "--max-points")
        self.max_deck_bytes = byte_count(args.max_deck_bytes, "--max-deck-bytes")
        self.max_memory = byte_count(args.max_memory, "--max-memory", MIN_MEMORY)

    def options(self) -> dict[str, object]:
        """As :class:`RunOptions` fields."""
        return {"control": self.control, "compat": self.compat, "max_points": self.max_points,
                "max_deck_bytes": self.max_deck_bytes, "max_memory": self.max_memory}

    @property
    def limits(self) -> Limits:
        """The deck compiler's limits."""
        from neurospice.sim.options import RunOptions

        return RunOptions(**self.options()).deck_limits()  # type: ignore[arg-type]


def parse_assignments(items: Sequence[str], what: str = "--param") -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"{what} {item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


#: the most noise draws --seeds accepts


def _spike_thresholds(values: Sequence[str]) -> dict[str, float] | None:
    """``--spike-threshold V`` (key ``"*"``) and ``--spike-threshold NAME=V``, in volts."""
    out: dict[str, float] = {}
    for text in values:
        name, eq, level = text.partition("=")
        if not eq:
            name, level = "", text
        try:
            if "=" in level:
                raise ValueError(level)
            value = parse_si(level.strip().rstrip("Vv") or "x")
        except ValueError:
            raise UsageError(f"--spike-threshold {text!r}: give volts, as 1.2 (every neuron) "
                             "or NAME=1.2 (one neuron, e.g. slave=1.2)") from None
        if not math.isfinite(value):
            raise UsageError(f"--spike-threshold {text!r}: must be a finite voltage")
        out[name.strip().lower() or "*"] = value
    return out or None


def _early_worker(args: argparse.Namespace, ahead: Worker | None) -> Worker | None:
    """The ngspice worker of a single spice run, given its job now, before the imports and the
    deck's compilation, which then overlap its start-up (Python, sandbox, ngspice): ``ahead``
    (started before the arguments were parsed) or a new one. None for other runs (``ahead`` is
    then closed)."""
    if not isinstance(get_engine(args.engine), SpiceEngine) or args.sweep or args.runs != 1 \
            or args.tol:
        if ahead is not None:
            ahead.close()
        return None
    from neurospice.sim.options import MIN_MEMORY, RunOptions, byte_count, timeout_value
    from neurospice.sim.process import WorkerJob, read_paths_for, spawn_worker

    o = RunOptions(timeout=timeout_value(args.timeout),
                   max_memory=byte_count(args.max_memory, "--max-memory", MIN_MEMORY))
    worker = ahead if ahead is not None and ahead.proc.poll() is None else spawn_worker()
    worker.configure(WorkerJob(tuple(read_paths_for(args.file.absolute().parent)), args.raw,
                               o.run_limits()))
    return worker


def _simulate(args: argparse.Namespace, ahead: Worker | None = None) -> int:
    worker = _early_worker(args, ahead)
    try:
        return _simulate_with(args, worker)
    finally:
        if worker is not None:
            worker.close()


def _simulate_with(args: argparse.Namespace, worker: Worker | None) -> int:
    from neurospice.cli.simulate import simulate_file
    from neurospice.sim.options import RunOptions

    options = RunOptions.from_settings({
        "tstop": args.tstop, "timeout": args.timeout, "t_skip": args.t_skip,
        "waveform_tol": 0.0 if args.full_resolution else args.waveform_tol,
        "spike_threshold": _spike_thresholds(args.spike_threshold), **Settings(args).options(),
    }, base=RunOptions.from_args(args)).validate()
    if args.scheduler:
        from neurospice.sim.pool import check_scheduler

        print(check_scheduler(args.scheduler, trust=args.trust_scheduler), file=sys.stderr)
    if args.output is not None and args.output.exists() and not args.output.is_dir():
        raise UsageError(f"-o {args.output}: exists and is not a folder; give a folder name")
    return simulate_file(args.file, options, output=args.output,
                         params=parse_assignments(args.param), command=args.command_line,
                         worker=worker)


def _build(args: argparse.Namespace) -> int:
    from neurospice.network.loading import network_deck_text

    text = network_deck_text(args.file)
    if args.output:
        if args.output.is_dir():
            raise UsageError(f"-o {args.output}: is a folder; give a file name")
        atomic_write_text(args.output, text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _bom(args: argparse.Namespace) -> int:
    from neurospice.api import parts_list, snap
    from neurospice.network.loading import load_deck
    from neurospice.report.bom import snapped, write_bom_csv, write_order_csv
    from neurospice.sim.options import RunOptions

    deck = load_deck(args.file)
    o = RunOptions.from_settings({"tstop": args.tstop, "quiet": args.quiet})
    parts = parts_list(deck, series=args.series, cap_series=args.cap_series,
                       stress=args.stress, options=o)
    print(parts)
    if args.csv:
        write_bom_csv(parts.rows, args.csv, parts.ratings)
        print(f"wrote {args.csv}")
    if args.order:
        write_order_csv(parts.rows, args.order, parts.ratings)
        print(f"wrote {args.order}")
    if args.snap:
        snap_deck = snapped(deck, args.series, args.cap_series)
        header = (f"* {args.file.name} with every resistor snapped to {args.series}, every "
                  f"capacitor and inductor to {args.cap_series} (neurospice bom --snap)\n")
        atomic_write_text(args.snap, header + snap_deck.text.split("\n", 1)[1])
        print(f"wrote {args.snap}: the deck with series values")
        if not args.no_rerun:
            print(snap(deck, series=args.series, cap_series=args.cap_series,
                       options=o).describe())
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    settings = Settings(args)
    from neurospice.network.loading import load_deck

    deck = load_deck(args.file, control=settings.control, limits=settings.limits)
    from neurospice.spice.checks import preflight

    for warning in preflight(deck):
        print(printable(f"warning: {warning}"), file=sys.stderr)
    if args.canonical:
        sys.stdout.write(deck.text)
        return EXIT_OK
    neurons = ", ".join(i.name for i in deck.neurons()) or "none"
    print(f"{args.file}: ok ({len(deck.cards)} cards after expansion; neurons: {neurons})")
    for text, org in deck.dropped:
        print(printable(f"  dropped {org}: {text}"))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    from neurospice.cli.launch import neurospice_script

    neurospice_script()
