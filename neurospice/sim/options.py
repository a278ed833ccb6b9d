"""One frozen object for the options of a run: :class:`RunOptions`.

The command line builds it from its arguments (:meth:`RunOptions.from_args`), the Python API from
its keywords (``RunOptions(tstop=..., engine="model")``); :meth:`RunOptions.validate` then checks
it once, before anything runs, and refuses every combination that would otherwise be dropped
silently with a :class:`~neurospice.errors.UsageError` naming both options.

The batch kind follows from the options: ``corners``, ``tols`` (with ``runs`` builds), ``sweeps``,
``runs`` > 1 (Monte Carlo), else a single run. :data:`HONOURED` says which options each kind
honours; the engine's :class:`~neurospice.sim.engines.Capabilities` which it can run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from neurospice.errors import FLAGS, SPELLING, UsageError, option
from neurospice.files import printable
from neurospice.sim.engines import DEFAULT_ENGINE, ENGINES, Engine, get_engine
from neurospice.spice.numbers import parse_si

if TYPE_CHECKING:
    from neurospice.sim.process import RunLimits
    from neurospice.spice.compiler import ControlMode, Limits

__all__ = ["RunOptions", "HONOURED", "MAX_RUNS", "MAX_SEEDS", "MAX_WORKERS",
           "positive",
           "byte_count", "timeout_value", "stop_time", "thresholds"]

MAX_WORKERS = 256
MAX_RUNS = 100_000
MAX_SEEDS = 1000
#: the smallest address-space limit accepted (a worker with ngspice needs tens of MB)
MIN_MEMORY = 16 << 20
#: the longest wall-clock limit (s): 11.6 days; beyond it clocks and waits overflow
MAX_TIMEOUT = 1e6
#: the largest byte count an option takes (1 PB): beyond it an rlimit overflows
MAX_BYTES = 10**15

def _engines(names: list[str]) -> str:
    """``--engine spice or model`` on the command line, ``engine="spice" or "model"`` from
    Python."""
    if SPELLING.get() == "cli":
        return f"--engine {' or '.join(names) or 'of another kind'}"
    return "engine=" + (" or ".join(f'"{n}"' for n in names) or "of another kind")

#: the options each batch kind honours (beyond tstop, timeout, t_skip, engine, plot, quiet)
HONOURED: dict[str, frozenset[str]] = {
    "single": frozenset({"seed", "seeds", "workers", "energy", "raw", "fmt", "spike_threshold"}),
    "sweep": frozenset({"seed", "seeds", "workers", "scheduler", "resume", "verify",
                        "spike_threshold", "sweeps"}),
    "runs": frozenset({"seed", "runs", "workers", "scheduler"}),
    "tolerance": frozenset({"seed", "seeds", "runs", "workers", "scheduler", "tols"}),
    "corners": frozenset({"workers", "scheduler", "tols", "corners"}),
}
#: the option that makes each batch kind
_KIND_FLAG = {"sweep": "--sweep", "runs": "--runs", "tolerance": "--tol", "corners": "--corners",
              "single": "a single run"}


@dataclass(frozen=True)
class RunOptions:
    """The options of one run or batch; every field has the command line's default.

    Attributes
    ----------
    tstop, t_skip, timeout
        Stop time, analysis start, wall-clock limit per ngspice run (s).
    seed, seeds, runs
        First seed (None: the deck's own), draws of the device noise per point, Monte Carlo
        runs (or builds with ``tols``).
    workers, scheduler, trust_scheduler
        Local worker processes, a Dask scheduler's address, and whether a remote one is allowed.
    max_memory
        Address-space limit of an ngspice worker (bytes; None: 4 GiB).
    control, max_points, max_deck_bytes, compat
        What the deck compiler does with ``.control`` blocks; its limits (points of one
        analysis, bytes of a deck or included file; None: the compiler's default) and
        ngspice's compatibility mode (None: a ``.spiceinit``'s ``ngbehavior`` next to the
        deck, else ngspice's default). :meth:`deck_limits` gives them as the compiler's
        :class:`~neurospice.spice.compiler.Limits`.
    allow_negative
        Let parameter values make a resistor negative (refused otherwise).
    engine
        The engine's name (``spice``, ``model``); :attr:`engine_obj` is the engine.
    energy, raw, fmt, waveform_tol, plot, quiet
        Output options.
    spike_threshold
        Spike thresholds in volts by neuron name (``"*"``: every neuron).
    sweeps, corners, tols, tol_dist, verify, resume
        Batch options (``--sweep``, ``--corners``, ``--tol``, ``--tol-dist``, ``--verify``,
        ``--resume``).
    """

    tstop: float | None = None
    seed: int | None = None
    seeds: int = 1
    runs: int = 1
    t_skip: float = 0.0
    timeout: float | None = None
    workers: int | None = None
    scheduler: str | None = None
    trust_scheduler: bool = False
    max_memory: int | None = None
    control: ControlMode = "refuse"
    max_points: float | None = None
    max_deck_bytes: int | None = None
    compat: str | None = None
    allow_negative: bool = False
    engine: str = DEFAULT_ENGINE
    energy: bool = False
    raw: bool = False
    fmt: str = "auto"
    waveform_tol: float = 1e-3
    plot: bool = True
    quiet: bool = False
    spike_threshold: Mapping[str, float] | None = None
    sweeps: tuple[str, ...] = ()
    corners: bool = False
    tols: tuple[str, ...] = ()
    tol_dist: str = "normal"
    verify: int = 0
    resume: bool = False
    self_check: bool = field(default=True)

    @classmethod
    def from_args(cls, args: Any, **parsed: Any) -> RunOptions:
        """The options of an argparse namespace of ``simulate``; ``parsed`` gives the values the
        command line has already parsed from text (timeout, t_skip, tstop ...)."""
        raw = vars(args)
        values: dict[str, Any] = {
            "seed": raw.get("seed"), "seeds": raw.get("seeds", 1), "runs": raw.get("runs", 1),
            "workers": raw.get("workers"), "scheduler": raw.get("scheduler"),
            "trust_scheduler": raw.get("trust_scheduler", False),
            "engine": raw.get("engine", DEFAULT_ENGINE), "energy": raw.get("energy", False),
            "raw": raw.get("raw", False), "fmt": raw.get("format", "auto"),
            "plot": not raw.get("no_plot", False), "quiet": raw.get("quiet", False),
            "sweeps": tuple(raw.get("sweep") or ()), "corners": raw.get("corners", False),
            "tols": tuple(raw.get("tol") or ()), "tol_dist": raw.get("tol_dist", "normal"),
            "verify": raw.get("verify", 0), "resume": raw.get("resume", False),
            "self_check": not raw.get("no_self_check", False),
            "allow_negative": raw.get("allow_negative", False),
        }
        values.update(parsed)
        return cls(**values)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], *, base: RunOptions | None = None,
                      allowed: frozenset[str] | None = None) -> RunOptions:
        """``base`` (default: the defaults) with the Python API's keyword ``settings``, read
        as the command line reads its arguments: times and byte counts may be text with SI
        suffixes (``tstop="500m"``, ``max_deck_bytes="1meg"``), ``spike_threshold`` a number
        for every neuron, ``tols``/``sweeps`` any sequence. Not yet validated.

        Raises
        ------
        UsageError
            A keyword that is not an option (or not one of ``allowed``), naming the valid ones,
            or a value that cannot be read.
        """
        names = allowed if allowed is not None else frozenset(f.name for f in fields(cls))
        unknown = sorted(set(settings) - names)
        if unknown:
            raise UsageError(f"unknown option{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown))}; the options are "
                             f"{', '.join(sorted(names))}")
        values = dict(settings)
        for name, read in _READERS.items():
            if values.get(name) is not None:
                values[name] = read(values[name], FLAGS.get(name, name))
        for name in ("tols", "sweeps"):
            if name in values:
                values[name] = (values[name],) if isinstance(values[name], str) \
                    else tuple(values[name])
        if "spike_threshold" in values:
            values["spike_threshold"] = thresholds(values["spike_threshold"])
        return replace(base or cls(), **values)

    def replace(self, **changes: Any) -> RunOptions:
        """A copy with ``changes``."""
        return replace(self, **changes)

    @property
    def engine_obj(self) -> Engine:
        """The engine (the registry's object for :attr:`engine`)."""
        return get_engine(self.engine)

    @property
    def kind(self) -> str:
        """The batch kind: ``corners``, ``tolerance``, ``sweep``, ``runs`` or ``single``."""
        if self.corners:
            return "corners"
        if self.tols:
            return "tolerance"
        if self.sweeps:
            return "sweep"
        return "runs" if self.runs > 1 else "single"

    def _given(self) -> list[str]:
        """The options set away from their defaults that some batch kind may not honour."""
        defaults = {f.name: f.default for f in fields(self)}
        out = [name for name in ("workers", "scheduler", "energy", "raw", "resume", "verify",
                                 "spike_threshold")
               if getattr(self, name) not in (defaults[name], None, {}, 0)]
        if self.seed is not None:
            out.append("seed")
        if self.seeds != 1:
            out.append("seeds")
        if self.fmt != "auto":
            out.append("fmt")
        return out

    def validate(self) -> RunOptions:
        """Check every option and every combination once; return ``self``.

        Raises
        ------
        UsageError
            An option out of range, or a combination that would drop one of them, naming both.
        """
        eng = self.engine_obj
        caps = eng.capabilities
        if not 1 <= self.runs <= MAX_RUNS:
            raise UsageError(f"{option('runs')} must be between 1 and {MAX_RUNS} "
                             f"(got {self.runs})")
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise UsageError(f"{option('seeds')} must be between 1 and {MAX_SEEDS} "
                             f"(got {self.seeds})")
        if self.workers is not None and not 1 <= self.workers <= MAX_WORKERS:
            raise UsageError(f"{option('workers')} must be between 1 and {MAX_WORKERS} "
                             f"(got {self.workers})")
        if self.verify < 0:
            raise UsageError(f"{option('verify')} needs {_engines(['model'])} and "
                             f"{'K' if SPELLING.get() == 'cli' else 'verify'} >= 1")
        if self.t_skip < 0:
            raise UsageError(f"{spelled('--t-skip')} must be >= 0 (got {self.t_skip:g})")
        if not 0 <= self.waveform_tol < 0.5:
            raise UsageError(f"{spelled('--waveform-tol', self.waveform_tol)}: a fraction of each "
                             "vector's range below 0.5 (0 keeps every point)")
        if self.tol_dist not in ("normal", "uniform"):
            raise UsageError(f"{option('tol_dist')} must be normal or uniform "
                             f"(got {self.tol_dist!r})")
        if self.fmt not in ("auto", "csv", "parquet"):
            raise UsageError(f"{option('fmt')} must be auto, csv or parquet "
                             f"(got {self.fmt!r})")
        if self.control not in ("refuse", "ignore", "allow"):
            raise UsageError(f"control must be refuse, ignore or allow (--ignore-control, "
                             f"--allow-control; got {self.control!r})")
        for name, read in _READERS.items():  # the command line's ranges and messages
            value = getattr(self, name)
            if value is not None and name not in ("t_skip", "waveform_tol"):
                read(value, FLAGS.get(name, name))
        # what the engine cannot do
        for name, able in (("verify", caps.verify), ("energy", caps.energy), ("raw", caps.raw),
                           ("corners", caps.corners), ("scheduler", caps.scheduler),
                           ("tols", caps.tolerances)):
            if getattr(self, name) and not able:
                raise UsageError(self._engine_refusal(name, eng))
        if self.seeds > 1 and not caps.seeds:
            raise UsageError(self._engine_refusal("seeds", eng))
        # what the batch kind would drop
        if self.corners and (self.runs > 1 or self.sweeps):
            other = "--runs" if self.runs > 1 else "--sweep"
            raise UsageError(f"--corners runs its own set of builds: drop {other} (or "
                             "--corners)")
        if self.tols and not self.corners and self.runs < 2:
            raise UsageError("--tol needs --runs N (N builds, e.g. --runs 100)")
        if self.tols and self.sweeps:
            raise UsageError("--tol with --runs draws builds of one board: drop --sweep (or "
                             "--tol)")
        if self.seeds > 1 and self.runs > 1 and not self.tols:
            raise UsageError(self._seeds_with_runs())
        if self.sweeps and self.runs > 1:
            raise UsageError("--sweep runs each point once (--seeds N draws several): drop "
                             "--runs (or --sweep)")
        kind = self.kind
        for name in self._given():
            if name in HONOURED[kind]:
                continue
            if kind != "single":
                raise UsageError(f"{FLAGS[name]} is not used by {_KIND_FLAG[kind]}: drop "
                                 f"{FLAGS[name]} (or {_KIND_FLAG[kind]})")
            needs = " or ".join(_KIND_FLAG[k] for k in HONOURED if name in HONOURED[k])
            raise UsageError(f"{FLAGS[name]} needs {needs}: a single run does not use it; drop "
                             f"{FLAGS[name]} or add {needs}")
        return self

    def _seeds_with_runs(self) -> str:
        if SPELLING.get() == "cli":
            return (f"--seeds {self.seeds} with --runs {self.runs} and no --tol: the runs are "
                    "already draws of the device noise (seeds S, S+1, ...). Use --runs N alone "
                    "for N draws, --seeds N for P(mode) of one run, or --runs N --tol ... "
                    "--seeds K for P(mode) of each build over K draws")
        return (f"seeds={self.seeds} with runs={self.runs} and no tol=: the runs are already "
                "draws of the device noise (seeds S, S+1, ...). Use monte_carlo(deck, N) for N "
                "draws, simulate(deck, seeds=N) for P(mode) of one run, or monte_carlo(deck, N, "
                "tol=[...], seeds=K) for P(mode) of each build over K draws")

    @staticmethod
    def _engine_refusal(name: str, eng: Engine) -> str:
        able = [e.name for e in ENGINES.values()
                if getattr(e.capabilities, name if name != "tols" else "tolerances")]
        k = ("" if name != "verify" else " and K >= 1" if SPELLING.get() == "cli"
             else " and verify >= 1")
        return (f"{option(name)} needs {_engines(able)}{k}: {_engines([eng.name])} does "
                f"not do it; drop {option(name)} or choose {_engines(able)}")

    def run_limits(self) -> RunLimits:
        """The ngspice worker's :class:`~neurospice.sim.process.RunLimits` (timeout, memory)."""
        from neurospice.sim.process import RunLimits

        return RunLimits(timeout=self.timeout or RunLimits.timeout,
                         memory=self.max_memory or RunLimits.memory)

    def deck_limits(self) -> Limits:
        """The deck compiler's :class:`~neurospice.spice.compiler.Limits` (points, bytes,
        compatibility mode)."""
        from neurospice.spice.compiler import Limits

        limits = Limits(compat=self.compat)
        if self.max_points is not None:
            limits = replace(limits, max_points=self.max_points)
        if self.max_deck_bytes is not None:
            limits = replace(limits, max_file_bytes=self.max_deck_bytes)
        return limits


# ------------------------------------------------------------------ reading option values


def spelled(flag: str, text: object = None) -> str:
    """An option given by its command-line flag (``--max-points``) as its reader spells it
    (:func:`neurospice.errors.option`): ``--max-points '1x'`` on the command line,
    ``max_points='1x'`` from Python; without ``text``, the flag or the keyword alone."""
    if SPELLING.get() == "cli" or not flag.startswith("--"):
        name = flag
    else:
        name = option(flag[2:].replace("-", "_"))
    return name if text is None else f"{name}{' ' if name == flag else '='}{printable(str(text))!r}"


def positive(text: str | float, option: str, *, allow_zero: bool = False) -> float:
    """A positive (or, with ``allow_zero``, non-negative) finite number: SI suffixes allowed.

    Raises
    ------
    UsageError
        Naming ``option`` and the text.
    """
    try:
        value = parse_si(str(text))
    except ValueError:
        raise UsageError(f"{spelled(option, text)}: not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        what = "zero or a positive" if allow_zero else "a positive"
        raise UsageError(f"{spelled(option, text)}: must be {what} finite number")
    return value


def byte_count(text: str | float, option: str, minimum: int = 1) -> int:
    """A byte count: SI suffixes, at least ``minimum``; ``m`` is milli (as in SPICE)."""
    value = positive(text, option)
    if value > MAX_BYTES:
        raise UsageError(f"{spelled(option, text)}: at most {MAX_BYTES:g} bytes")
    if value < minimum:
        hint = (" ('m' is milli, as in SPICE: write 500meg or 0.5g for 500 megabytes)"
                if str(text).strip().lower().endswith("m") else "")
        raise UsageError(f"{spelled(option, text)}: {value:g} bytes is below the "
                         f"smallest useful value, {minimum:,}{hint}")
    return int(value)


def timeout_value(text: str | float, option: str = "--timeout") -> float:
    """A wall-clock limit (s), at most :data:`MAX_TIMEOUT`."""
    value = positive(text, option)
    if value > MAX_TIMEOUT:
        raise UsageError(f"{spelled(option, text)}: at most {MAX_TIMEOUT:g} s "
                         "(11.6 days)")
    return value


def stop_time(text: str | float, option: str = "--tstop") -> float:
    """A transient's stop time (s): positive and finite."""
    try:
        value = parse_si(str(text))
    except ValueError:
        raise UsageError(f"{spelled(option, text)}: not a time (examples: 2, 500m, "
                         "1.5)") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{spelled(option, text)}: must be a positive finite time")
    return value


def compat_mode(text: str, option: str = "--compat") -> str:
    """ngspice's compatibility mode (lower case)."""
    from neurospice.spice.compiler import check_compat

    try:
        return check_compat(str(text))
    except ValueError as exc:
        raise UsageError(f"{spelled(option)}: {exc}") from None


def thresholds(value: float | str | Mapping[str, float] | None) -> dict[str, float] | None:
    """Spike thresholds (V) by neuron name from a number for every neuron (key ``"*"``) or a
    mapping."""
    if value is None:
        return None
    items = value.items() if isinstance(value, Mapping) else [("*", value)]
    out = {}
    for name, level in items:
        v = positive(level, "--spike-threshold", allow_zero=True) if isinstance(level, str) \
            else float(level)
        if not math.isfinite(v):
            raise UsageError(f"{spelled('--spike-threshold', level)}: must be a finite "
                             "voltage")
        out[str(name).strip().lower() or "*"] = v
    return out or None


_READERS: dict[str, Callable[[Any, str], Any]] = {
    "tstop": stop_time,
    "timeout": timeout_value,
    "t_skip": lambda v, o: positive(v, o, allow_zero=True),
    "waveform_tol": lambda v, o: positive(v, o, allow_zero=True),
    "max_points": positive,
    "max_deck_bytes": byte_count,
    "max_memory": lambda v, o: byte_count(v, o, MIN_MEMORY),
    "compat": compat_mode,
}
