"""Parameter sweeps: every point a separate ngspice run, in parallel, resumable.

``simulate DECK --sweep NAME=START:STOP:COUNT [--sweep NAME2=...]`` builds the grid of points,
runs each in its own worker process (local pool by default, or a Dask distributed cluster with
``--scheduler ADDRESS``) and writes each finished point to ``sweep.csv`` as it completes;
:func:`plot_sweep_map` draws ``sweep_map.png`` coloured by locking mode. ``--resume`` keeps
the rows already in ``sweep.csv`` and runs the others. A point that fails (no convergence,
timeout) is recorded with its error and does not stop the others. The command's digest and
``--verify``'s ``verify.csv`` are :mod:`neurospice.cli.batches`'.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import itertools
import logging
import math
import os
import re
import stat
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from neurospice.errors import NeurospiceInputError, SimulationError, UsageError, option
from neurospice.files import atomic_write, printable
from neurospice.sim.options import RunOptions
from neurospice.sim.pool import job_map
from neurospice.spice.deck import DeckError, PreparedDeck, spice_number
from neurospice.spice.numbers import E_SERIES, series_values

__all__ = [
    "Axis",
    "parse_sweep",
    "grid",
    "run_point",
    "run_sweep",
    "read_table",
    "plot_sweep_map",
    "point_mode",
]

TABLE = "sweep.csv"
FIXED_COLUMNS = ["point", "status", "engine", "seed", "f_master_hz", "f_slave_hz", "ratio",
                 "mode", "ratio_value", "sync_index", "locked_fraction", "partial", "margin_v",
                 "marginal", "n_seeds", "likely_mode", "likely_p", "error", "key"]
MAX_POINTS = 1_000_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Axis:
    """One swept quantity (a ``.param`` or a component by instance name) and its values."""

    name: str
    values_: tuple[float, ...]
    spec: str = ""

    @property
    def values(self) -> list[float]:
        return list(self.values_)

    @property
    def count(self) -> int:
        return len(self.values_)

    @property
    def log(self) -> bool:
        """True when the values are spaced geometrically (log axis on plots)."""
        v = self.values_
        return len(v) > 2 and min(v) > 0 and self.spec.split("=", 1)[-1].lower().startswith(
            ("log:", "e6:", "e12:", "e24:", "e96:"))


def parse_sweep(spec: str) -> Axis:
    """Parse a sweep as designers write it.

    Forms: ``NAME=START:STOP:COUNT`` (linear), ``NAME=log:START:STOP:COUNT`` (geometric),
    ``NAME=E24:START:STOP`` (the values of an E-series in the range; E6, E12, E24, E96),
    ``NAME=V1,V2,V3`` (a list). Values may carry SI suffixes (``r2=1k:20k:8``).

    Raises
    ------
    UsageError
        A malformed spec, a non-finite value or a count outside 1..1,000,000.
    """
    what = f"{option('sweeps')} {spec!r}"
    name, sep, rng = spec.partition("=")
    name = name.strip().lower()
    example = "e.g. r2=1k:20k:8, r2=log:1k:100k:5, r2=E24:1k:10k or r2=1k,2k,5k"
    if not sep or not name or not rng.strip():
        raise UsageError(f"{what}: expected NAME=START:STOP:COUNT ({example})")
    if not _NAME_RE.fullmatch(name):
        raise UsageError(f"{what}: '{name}' is not a parameter or instance name")
    body = rng.strip()
    parts = body.split(":")
    try:
        if "," in body and ":" not in body:
            values = [spice_number(v) for v in body.split(",") if v.strip()]
        elif parts[0].lower() in ("log", "lin") and len(parts) == 4:
            start, stop, count = spice_number(parts[1]), spice_number(parts[2]), int(parts[3])
            _check_count(spec, count)
            if parts[0].lower() == "log":
                if start <= 0 or stop <= 0:
                    raise UsageError(f"{what}: a log sweep needs positive ends")
                values = [float(v) for v in np.geomspace(start, stop, count)]
            else:
                values = [float(v) for v in np.linspace(start, stop, count)]
        elif parts[0].upper() in E_SERIES and len(parts) == 3:
            values = series_values(parts[0], spice_number(parts[1]), spice_number(parts[2]))
            if not values:
                raise UsageError(f"{what}: no {parts[0].upper()} value in the range")
        elif len(parts) == 3:
            start, stop, count = spice_number(parts[0]), spice_number(parts[1]), int(parts[2])
            _check_count(spec, count)
            values = [float(v) for v in np.linspace(start, stop, count)]
        else:
            raise UsageError(f"{what}: expected NAME=START:STOP:COUNT ({example})")
    except ValueError as exc:
        raise UsageError(f"{what}: {exc} ({example})") from None
    if not values:
        raise UsageError(f"{what}: no values")
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"{what}: values must be finite numbers")
    _check_count(spec, len(values))
    return Axis(name, tuple(values), spec)


_NAME_RE = re.compile(r"[a-z_][\w.]*")


def _check_count(spec: str, count: int) -> None:
    what = f"{option('sweeps')} {spec!r}"
    if not 1 <= count <= MAX_POINTS:
        raise UsageError(f"{what}: COUNT must be between 1 and {MAX_POINTS} "
                         f"(got {count})")


def grid(axes: Sequence[Axis]) -> list[dict[str, float]]:
    """All points of the grid, first axis slowest."""
    return [dict(zip([a.name for a in axes], vals, strict=True))
            for vals in itertools.product(*(a.values for a in axes))]


def point_key(deck_text: str, params: dict[str, float], seed: int | None, engine: str) -> str:
    """What a finished row is reused for: the deck's content (with the point's values and
    stop time in it), the point's values, the seed and the engine."""
    h = hashlib.sha256()
    h.update(deck_text.encode())
    h.update(repr(sorted(params.items())).encode())
    h.update(repr((seed, engine)).encode())
    return h.hexdigest()[:16]


def run_point(
    deck_text: str,
    base_dir: str,
    source: str | None,
    point: int,
    params: dict[str, float],
    key: str,
    o: RunOptions,
) -> dict[str, Any]:
    """Run one sweep point (its values already in ``deck_text``) with the options ``o`` (seed,
    seeds, t_skip, spike_threshold, the compiler's ``control`` and limits, the run's limits);
    never raises for a failure.

    Takes plain data (the deck as text, the frozen options) so that it can be shipped to a
    Dask worker; the text goes through the compiler again there. ``o.seeds`` > 1: the point is
    run with that many draws of the device noise (seeds ``seed .. seed+seeds-1``, ``seed`` the
    deck's own when None); the row is the first draw's, with ``n_seeds`` and P(mode) columns
    (``p_<mode>``, ``p_<mode>_lo``, ``p_<mode>_hi``).
    """
    from neurospice.report.locking import analyse_run
    from neurospice.sim.ngspice import run_prepared
    from neurospice.sim.noise import with_shared_noise
    from neurospice.spice.deck import prepare_text

    seed = o.seed
    levels = dict(o.spike_threshold) if o.spike_threshold else None
    row: dict[str, Any] = {"point": point, **params, "seed": seed if seed is not None else "",
                           "engine": "spice", "key": key}
    try:
        deck = prepare_text(deck_text, base_dir=base_dir,
                            source=Path(source) if source else None,
                            control=o.control, limits=o.deck_limits())
        if o.seeds > 1:
            from neurospice.report.locking import deck_seed

            first = seed if seed is not None else deck_seed(deck)
            modes = []
            for j in range(o.seeds):
                dj = with_shared_noise(deck.with_seed(first + j))
                a = analyse_run(dj, run_prepared(dj, limits=o.run_limits()), t_skip=o.t_skip,
                                spike_threshold=levels)
                if j == 0:
                    row.update(a.as_row())
                modes.append(a.pairs[0].mode if a.pairs else "no pair")
            row.update(seed_columns(modes))
        else:
            deck = with_shared_noise(deck)  # the model engine's draws for this seed
            wf = run_prepared(deck, limits=o.run_limits())
            row.update(analyse_run(deck, wf, t_skip=o.t_skip, spike_threshold=levels).as_row())
        row["status"] = "ok"
        row["error"] = ""
    except (SimulationError, NeurospiceInputError) as exc:
        row.update(status="failed", error=str(exc).replace("\n", " "))
    return row


def seed_columns(modes: Sequence[str]) -> dict[str, Any]:
    """``n_seeds`` and, for every mode seen, ``p_<mode>`` with its 95 % Wilson interval
    (``p_<mode>_lo``, ``p_<mode>_hi``; ``:`` and spaces written as ``_``)."""
    from neurospice.analysis.modes import mode_column
    from neurospice.report.locking import mode_probabilities

    out: dict[str, Any] = {"n_seeds": len(modes)}
    probs = mode_probabilities(list(modes))
    for mode, (p, lo, hi) in probs.items():
        col = mode_column(mode)
        out[col], out[f"{col}_lo"], out[f"{col}_hi"] = round(p, 6), round(lo, 6), round(hi, 6)
    likely = max(probs, key=lambda m: (probs[m][0], m))
    out["likely_mode"], out["likely_p"] = likely, round(probs[likely][0], 6)
    return out


def mode_probability_columns(row: dict[str, Any]) -> dict[str, float]:
    """``{p_<mode>: p}`` of a table row (the intervals left out)."""
    out = {}
    for k, v in row.items():
        if k.startswith("p_") and not k.endswith(("_lo", "_hi")) and v not in ("", None):
            try:
                out[k] = float(v)
            except ValueError:
                continue
    return out


#: the largest sweep table ``--resume`` reads (bytes); a million points fit in a tenth of it
MAX_TABLE_BYTES = 1 << 30


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a sweep table (empty when the file does not exist or cannot be read).

    The table may have come with the deck: it is opened without following a link and must be
    a regular file (a FIFO would block) of at most :data:`MAX_TABLE_BYTES`.

    Raises
    ------
    UsageError
        The table is a link, not a regular file, or too large.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return []
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{option('resume')}: {printable(path)} is a link; a table "
                             "that came with the deck is not followed - remove it") from None
        return []
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_TABLE_BYTES:
            raise UsageError(f"{option('resume')}: {printable(path)} is not a regular "
                             f"file of at most {MAX_TABLE_BYTES:,} bytes; remove it")
        with os.fdopen(fd, newline="", encoding="utf-8") as fh:
            fd = -1
            return list(csv.DictReader(fh))
    except (OSError, csv.Error, UnicodeDecodeError, ValueError):
        return []
    finally:
        if fd >= 0:
            os.close(fd)


class _Table:
    """The sweep table, rewritten atomically (at most every ``interval`` s, and at the end)."""

    def __init__(self, path: Path, columns: list[str], interval: float = 0.5) -> None:
        self.path = path
        self.columns = columns
        self.rows: dict[int, dict[str, Any]] = {}
        self.interval = interval
        self._last = 0.0

    def add(self, row: dict[str, Any]) -> None:
        self.rows[int(row["point"])] = row
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        # P(mode) columns appear as modes are seen: p_<mode>, _lo, _hi, by mode
        bases = sorted({k for r in self.rows.values() for k in r if k.startswith("p_")
                        and not k.endswith(("_lo", "_hi")) and k not in self.columns})
        extra = [c for b in bases for c in (b, f"{b}_lo", f"{b}_hi")]
        cut = self.columns.index("error") if "error" in self.columns else len(self.columns)
        columns = self.columns[:cut] + extra + self.columns[cut:]
        with atomic_write(self.path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for i in sorted(self.rows):
                writer.writerow(self.rows[i])
        self._last = time.monotonic()


def model_row(point_deck: PreparedDeck, point: dict[str, Any], wf: Any, *,
              options: RunOptions) -> dict[str, Any]:
    """A sweep-table row from a model-engine run (runs in the model engine's worker), analysed
    with ``options``' t_skip and spike thresholds."""
    from neurospice.report.locking import analyse_run

    levels = dict(options.spike_threshold) if options.spike_threshold else None
    return sweep_row(point_deck, point, analyse_run(point_deck, wf, t_skip=options.t_skip,
                                                    spike_threshold=levels))


def sweep_row(point_deck: PreparedDeck, point: dict[str, Any], analysis: Any) -> dict[str, Any]:
    """A sweep-table row from a model-engine run's locking analysis (in the workers, from the
    run's online events: :class:`neurospice.report.online.LockingRows`, no waveform)."""
    row: dict[str, Any] = {"status": "ok", "error": "", "engine": "model"}
    row.update(analysis.as_row())
    return row


def _run_model_points(deck: PreparedDeck, prepared: list[tuple[int, dict[str, float], str, str]],
                      table: _Table, o: RunOptions) -> None:
    from neurospice.report.locking import deck_seed
    from neurospice.report.online import LockingRows

    seed, seeds = o.seed, o.seeds
    first = seed if seed is not None else deck_seed(deck)
    points: list[dict[str, Any]] = []
    for _, p, _, _ in prepared:  # each point once per noise draw, draws together
        for j in range(seeds):
            q: dict[str, Any] = dict(p)
            if seed is not None or seeds > 1:
                q["seed"] = first + j
            points.append(q)
    with tqdm(total=len(points), desc="sweep (model)", unit="run",
              disable=True if o.quiet else None) as bar:
        levels = dict(o.spike_threshold) if o.spike_threshold else None
        online = LockingRows(sweep_row, t_skip=o.t_skip, spike_threshold=levels)
        rows = o.engine_obj.map(deck, points, online, o, bar.update)
    for k, (i, p, _, key) in enumerate(prepared):
        draws = rows[k * seeds:(k + 1) * seeds]
        row = dict(draws[0])
        if seeds > 1:
            row.update(seed_columns([str(r.get("mode") or "silent") if r.get("status") == "ok"
                                     else "failed" for r in draws]))
        table.add({"point": i, **p, "seed": seed if seed is not None else "", **row,
                   "key": key})


_Prepared = tuple[int, dict[str, float], str, str]  # point index, values, deck text, row key


def _prepare_points(deck: PreparedDeck, axes: Sequence[Axis], o: RunOptions
                    ) -> tuple[list[dict[str, float]], list[_Prepared]]:
    """The grid's points and, for each, its deck text and its row key (what ``--resume``
    matches: the deck, the values, ``o``'s seed and engine, and its seeds and thresholds)."""
    seed, seeds, spike_threshold = o.seed, o.seeds, o.spike_threshold
    total = math.prod(a.count for a in axes)
    if total > MAX_POINTS:  # before the grid is built: two axes of 1e6 points are 1e12 dicts
        counts = " x ".join(str(a.count) for a in axes)
        raise UsageError(f"{option('sweeps')}: {counts} = {total:,} points, over the limit "
                         f"of {MAX_POINTS:,}")
    points = grid(axes)
    if seed is not None and "seed" not in deck.params():
        raise DeckError(f"{option('seed')} needs a top-level '.param seed=...' in the "
                        "deck", path=deck.source)
    prepared = []
    for i, p in enumerate(points):
        overrides: dict[str, str | float] = dict(p)
        if seed is not None:
            overrides["seed"] = seed
        d = deck.with_values(overrides)
        prepared.append((i, p, d.text, point_key(d.text, p, seed, o.engine)
                         + ("" if seeds == 1 and not spike_threshold
                            else f"-{seeds}-{sorted((spike_threshold or {}).items())}")))
    return points, prepared


def _reuse_rows(table: _Table, points: list[dict[str, float]], prepared: list[_Prepared],
                outdir: Path) -> None:
    """``--resume``: put the finished rows of the table on disk whose key matches a point into
    ``table``; a row that does not hold up is run again (and said so)."""
    wanted = {key: i for i, _, _, key in prepared}
    rejected: list[str] = []
    for line, row in enumerate(read_table(outdir / TABLE), start=2):
        found = wanted.get(row.get("key", ""))
        if found is not None and row.get("status") == "ok":
            why = _bad_row(row)
            if why:  # run again rather than trust (and print) what the table says
                rejected.append(f"line {line}: {why}")
                continue
            row = {k: v if v is not None else "" for k, v in row.items()}
            row["point"] = str(found)
            row.update({k: repr(v) for k, v in points[found].items()})
            table.rows[found] = row
    if rejected:
        print(f"{printable(outdir / TABLE)}: {len(rejected)} finished row(s) not reused, "
              f"their points run again ({printable(rejected[0])}"
              + (", ..." if len(rejected) > 1 else "") + ")", file=sys.stderr)


def run_sweep(deck: PreparedDeck, axes: Sequence[Axis], outdir: Path,
              o: RunOptions | None = None) -> list[dict[str, Any]]:
    """Run every point of the grid with the options ``o`` (workers, scheduler, resume, timeout,
    seed, t_skip, quiet, engine, seeds, spike_threshold; the defaults when None); return all
    rows sorted by point.

    ``seeds`` > 1 runs each point with that many draws of the device noise and adds P(mode)
    columns; ``spike_threshold`` overrides the neurons' thresholds (V by name, ``"*"`` all).

    ``resume`` reuses the rows of ``sweep.csv`` whose key (deck content, values, stop time,
    seed, engine) matches a point of this grid and whose run succeeded; failed points are run
    again. The table is rewritten (atomically) as points finish, sorted by point, so an
    interrupted sweep keeps every finished point and ``--resume`` completes it.
    """
    o = (o or RunOptions()).replace(control=deck.control_mode)
    points, prepared = _prepare_points(deck, axes, o)
    outdir.mkdir(parents=True, exist_ok=True)
    columns = ["point", *[a.name for a in axes]] + FIXED_COLUMNS[1:]
    table = _Table(outdir / TABLE, columns)
    if o.resume:
        _reuse_rows(table, points, prepared, outdir)
    done = dict(table.rows)
    log.info("sweep of %d points (%s engine): %d reused from %s", len(points), o.engine,
             len(done), outdir / TABLE)
    if o.engine_obj.capabilities.point_maps:
        try:
            _run_model_points(deck, [x for x in prepared if x[0] not in done], table, o)
        finally:
            table.flush()
        return [table.rows[i] for i in sorted(table.rows)]
    jobs = [(text, str(deck.base_dir), str(deck.source) if deck.source else None, i, p, key, o)
            for i, p, text, key in prepared if i not in done]
    try:
        stream = job_map(run_point, jobs, workers=o.workers or os.cpu_count() or 1,
                         scheduler=o.scheduler)
        with tqdm(total=len(points), initial=len(done), desc="sweep", unit="pt",
                  disable=True if o.quiet else None) as bar:
            for row in stream:
                table.add(row)
                bar.update(1)
    finally:
        table.flush()
    return [table.rows[i] for i in sorted(table.rows)]


#: the number columns of a sweep table row (empty allowed: a silent pair has no ratio), and
#: every ``p_<mode>`` column
_NUMBER_COLUMNS = ("f_master_hz", "f_slave_hz", "ratio_value", "sync_index", "locked_fraction",
                   "margin_v", "n_seeds", "likely_p")
#: the word columns: ``1:1``, ``2:1 period 2``, ``1:1 + partial``, ``silent``, ``True``...
_WORD_COLUMNS = ("ratio", "mode", "likely_mode", "partial", "marginal")
_WORD_RE = re.compile(r"[A-Za-z0-9:+. _-]{0,60}")
_P_COLUMN_RE = re.compile(r"p_[A-Za-z0-9_]{1,60}")


def _bad_row(row: dict[str, Any]) -> str:
    """Why a finished row of a resumed table cannot be reused ('' when it can): every figure
    must be a number (or empty), every word column plain words (``2:1 period 2``), every
    extra column a ``p_<mode>`` probability."""
    for col, value in row.items():
        if not isinstance(col, str) or not isinstance(value, str | None):
            return "a line with more cells than the header"
        if col.startswith("p_") and not _P_COLUMN_RE.fullmatch(col):
            return f"a column named {col[:40]!r}"
    numbers = [*_NUMBER_COLUMNS, *(c for c in row if c.startswith("p_"))]
    for col in numbers:
        text = str(row.get(col) or "").strip()
        if not text:
            continue
        try:
            float(text)
        except ValueError:
            return f"{col} is {text[:40]!r}, not a number"
    for col in _WORD_COLUMNS:
        text = str(row.get(col) or "")
        if not _WORD_RE.fullmatch(text):
            return f"{col} is {text[:40]!r}"
    return ""


def point_mode(row: dict[str, Any]) -> str:
    """The mode of a table row; ``failed`` for a point whose simulation failed."""
    if row.get("status") != "ok":
        return "failed"
    return str(row.get("mode") or "silent")


def plot_sweep_map(rows: Sequence[dict[str, Any]], axes: Sequence[Axis], path: Path, *,
                   title: str | None = None, verified: dict[int, bool] | None = None) -> Path:
    """The sweep's map coloured by mode: points on a line (1-D) or a grid (2-D). With noise
    draws (``n_seeds`` > 1) each cell shows its most likely mode and that mode's probability;
    marginal verdicts are hatched; ``verified`` (point -> whether ngspice agreed, from
    ``--verify``) marks the points rerun in ngspice."""
    from neurospice.report.plots import plot_map

    n = len(grid(axes))
    by_point = {int(r["point"]): r for r in rows}
    modes, notes, marginal = [], [], []
    for i in range(n):
        r = by_point.get(i)
        if r is None:
            modes.append("not run")
            notes.append("")
            marginal.append(False)
            continue
        likely = str(r.get("likely_mode") or "")
        if likely and r.get("status") == "ok":
            modes.append(likely)
            notes.append(f"P {row_number(r, 'likely_p'):.2f}")
        else:
            modes.append(point_mode(r))
            notes.append("")
        marginal.append(str(r.get("marginal")) == "True")
    ver = [None if verified is None else verified.get(i) for i in range(n)]
    x = axes[0].values
    if len(axes) == 1:
        return plot_map(x, None, modes, path, xlabel=_axis_label(axes[0]), ylabel="mode",
                        title=title, marginal=marginal, notes=notes, xlog=axes[0].log,
                        verified=np.array(ver, dtype=object))
    # points run with the first axis slowest: modes[i0 * n1 + i1]; the map wants (ny, nx)
    shape = (axes[0].count, axes[1].count)
    table = np.array(modes, dtype=object).reshape(shape).T
    return plot_map(x, axes[1].values, table, path, xlabel=_axis_label(axes[0]),
                    ylabel=_axis_label(axes[1]), title=title, xlog=axes[0].log,
                    ylog=axes[1].log,
                    marginal=np.array(marginal, dtype=bool).reshape(shape).T,
                    notes=np.array(notes, dtype=object).reshape(shape).T,
                    verified=np.array(ver, dtype=object).reshape(shape).T)


#: Units of the reference board's parameters (others show without a unit).
_UNITS = {"r2": "ohm", "amp": "V", "vpeak": "V", "c0m": "F", "c0s": "F", "potm": "fraction",
          "pots": "fraction", "tc2c": "s", "c0": "F", "pot": "fraction"}


def _axis_label(axis: Axis) -> str:
    unit = _UNITS.get(axis.name)
    if unit is None and axis.name[:1] in "rcl":
        unit = {"r": "ohm", "c": "F", "l": "H"}[axis.name[0]]
    return f"{axis.name} ({unit})" if unit else axis.name


#: --verify: largest relative difference of a frequency, and of the locked fraction
VERIFY_FREQ_REL = 0.01
VERIFY_LOCKED_ABS = 0.05


def row_number(row: dict[str, Any], col: str) -> float:
    """Column ``col`` of a table row as a number (NaN when empty or not one)."""
    try:
        return float(str(row.get(col, "")))
    except ValueError:
        return math.nan


def _probabilities(row: dict[str, Any]) -> dict[str, tuple[float, float, float]]:
    """``{p_<mode> column: (p, lo, hi)}`` of a row with P(mode) columns."""
    return {k: (v, row_number(row, f"{k}_lo"), row_number(row, f"{k}_hi"))
            for k, v in mode_probability_columns(row).items()}


def verify_criteria(mrow: dict[str, Any], srow: dict[str, Any], *, noisy: bool
                    ) -> dict[str, Any]:
    """Every criterion of ``--verify`` for one point, and ``agree``.

    Noise-free points: the same mode and n:m ratio, both frequencies within 1 %, the locked
    fraction within 0.05. Noisy points: for every mode either engine saw, the model's P(mode)
    inside ngspice's 95 % Wilson interval over the same number of draws (a mode ngspice never
    gave has the interval of 0 of n).
    """
    from neurospice.analysis.statistics import wilson_interval

    out: dict[str, Any] = {"model_mode": point_mode(mrow), "spice_mode": point_mode(srow),
                           "model_ratio": mrow.get("ratio", ""),
                           "spice_ratio": srow.get("ratio", ""), "noisy": int(noisy)}
    out["mode_ok"] = int(out["model_mode"] == out["spice_mode"])
    out["ratio_ok"] = int(str(out["model_ratio"]) == str(out["spice_ratio"]))
    errs = []
    for col in ("f_master_hz", "f_slave_hz"):
        fm, fs = row_number(mrow, col), row_number(srow, col)
        err = abs(fm - fs) / abs(fs) if math.isfinite(fm) and math.isfinite(fs) and fs else \
            (0.0 if not math.isfinite(fm) and not math.isfinite(fs) else math.inf)
        out[f"{col[:-3]}_rel_diff"] = round(err, 6) if math.isfinite(err) else "inf"
        errs.append(err)
    out["freq_ok"] = int(all(e <= VERIFY_FREQ_REL for e in errs))
    lm, ls = row_number(mrow, "locked_fraction"), row_number(srow, "locked_fraction")
    dl = abs(lm - ls) if math.isfinite(lm) and math.isfinite(ls) else math.inf
    out["locked_fraction_diff"] = round(dl, 6) if math.isfinite(dl) else "inf"
    out["locked_ok"] = int(dl <= VERIFY_LOCKED_ABS)
    if noisy:
        pm, ps = _probabilities(mrow), _probabilities(srow)
        n = int(row_number(srow, "n_seeds")) if math.isfinite(row_number(srow, "n_seeds")) else 1
        if not pm:  # one draw each: P(mode) is 1 for the mode seen
            pm = {"p_" + out["model_mode"]: (1.0, 0.0, 1.0)}
            lo, hi = wilson_interval(1, 1)
            ps = {"p_" + out["spice_mode"]: (1.0, lo, hi)}
        worst = []
        for col in sorted(set(pm) | set(ps)):
            p = pm.get(col, (0.0, 0.0, 0.0))[0]
            lo, hi = ps[col][1:] if col in ps else wilson_interval(0, n)
            if not lo - 1e-9 <= p <= hi + 1e-9:
                worst.append(f"{col[2:]} {p:.2f} outside [{lo:.2f}, {hi:.2f}]")
        out["p_ok"] = int(not worst)
        out["p_outside"] = "; ".join(worst)
        out["agree"] = out["p_ok"]
    else:
        out["p_ok"], out["p_outside"] = "", ""
        out["agree"] = int(all(out[k] for k in ("mode_ok", "ratio_ok", "freq_ok", "locked_ok")))
    return out


def verify_points(deck: PreparedDeck, rows: Sequence[dict[str, Any]], axes: Sequence[Axis],
                  o: RunOptions) -> list[dict[str, Any]]:
    """Rerun ``o.verify`` evenly spaced points of a model-engine map in ngspice (with the same
    options: seed, noise draws, t_skip, thresholds, workers); compare them by
    :func:`verify_criteria`: one record per point (point, values, every criterion,
    ``agree``), by point.
    """
    from neurospice.report.locking import noise_sources
    from neurospice.sim.model.maps import pick_points

    picks = pick_points(len(rows), max(1, o.verify))
    seed, o = o.seed, o.replace(control=deck.control_mode)
    names = [a.name for a in axes]
    jobs = []
    noisy: dict[int, bool] = {}
    for idx in picks:
        r = rows[idx]
        p = {n: float(r[n]) for n in names}
        overrides: dict[str, str | float] = dict(p)
        if seed is not None:
            overrides["seed"] = seed
        d = deck.with_values(overrides)
        noisy[int(r["point"])] = bool(noise_sources(d))
        jobs.append((d.text, str(deck.base_dir), str(deck.source) if deck.source else None,
                     int(r["point"]), p, "", o))
    out = []
    for srow in job_map(run_point, jobs, workers=o.workers):
        mrow = next(r for r in rows if int(r["point"]) == int(srow["point"]))
        crit = verify_criteria(mrow, srow, noisy=noisy[int(srow["point"])])
        out.append({"point": srow["point"], **{n: mrow[n] for n in names},
                    "n_seeds": o.seeds, **crit})
    out.sort(key=lambda r: int(r["point"]))
    return out


