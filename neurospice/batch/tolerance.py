"""Tolerance Monte Carlo: does the board still lock with real parts, and which parts matter?

``simulate DECK --runs N --tol R=5% --tol C=10% [--tol NAME=1%] [--tol-dist uniform]``: every
resistor, capacitor and inductor of the flattened board (each instance of a subcircuit has its
own; potentiometer halves only when named, since the designer trims them) gets its own draw -
normal with sigma = tolerance/3 (a "5 %" part is within 5 % at three sigma), or uniform within
the tolerance - together with the memristors' own per-device draws (the build's seed). One row
per build in ``runs.csv``: the seed, each neuron's frequency, the analysed pair's mode, ratio
and locked fraction, and every drawn deviation (``d:<path>``).

The summary prints each mode's yield with a 95 % Wilson interval, and the components whose
draws best separate the builds in the most common mode from the others (Spearman rank
correlation of the deviation with the outcome).

``--engine model`` runs the same builds (the same draws from the same seeds) in the model
engine: a build is a point ``{"seed": S, "tol": {path: factor}}``; the neurons' tables follow
their parts' deviations through measured sensitivities
(:func:`neurospice.sim.model.characterise.characterise_sensitivity`), top-level resistors and
capacitors are scaled directly. Rows say ``engine model``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from neurospice.analysis.statistics import rank_effects, significant_effects, wilson_interval
from neurospice.errors import NeurospiceInputError, SimulationError, UsageError, option
from neurospice.sim.options import RunOptions
from neurospice.spice.deck import PreparedDeck
from neurospice.spice.flatten import FlatElement
from neurospice.spice.tolerances import component_slots, with_factors

__all__ = ["Tolerance", "parse_tolerance", "draw_factors", "tolerance_of", "wilson_interval",
           "rank_effects", "run_tolerance", "yield_report"]

_CLASS = {"r": "R", "c": "C", "l": "L"}


@dataclass(frozen=True)
class Tolerance:
    """``target`` is a class (``R``, ``C``, ``L``) or an instance path; ``fraction`` e.g. 0.05."""

    target: str
    fraction: float

    @property
    def is_class(self) -> bool:
        return self.target in ("R", "C", "L", "POTS")


def parse_tolerance(spec: str) -> Tolerance:
    """``R=5%``, ``C=0.1``, ``xmaster.c0=1%``, ``pots=20%`` (every potentiometer's track:
    both halves move together, the wiper's setting stays as trimmed).

    Raises
    ------
    UsageError
        A malformed spec or a tolerance outside (0, 100 %).
    """
    what = f"{option('tols')} {spec!r}"
    name, sep, value = spec.partition("=")
    name = name.strip()
    value = value.strip()
    if not sep or not name or not value:
        raise UsageError(f"{what}: expected CLASS=PERCENT% or NAME=PERCENT% "
                         "(e.g. R=5%, C=10%, xmaster.c0=1%)")
    try:
        frac = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise UsageError(f"{what}: {value!r} is not a percentage") from None
    if not (math.isfinite(frac) and 0 < frac < 1):
        raise UsageError(f"{what}: a tolerance is between 0 and 100 %")
    target = name.upper() if name.upper() in ("R", "C", "L", "POTS") else name.lower()
    if not re.fullmatch(r"[A-Za-z_][\w.]*", target):
        raise UsageError(f"{what}: '{name}' is not a component class or instance path")
    return Tolerance(target, frac)


def tolerance_of(el: FlatElement, tols: Sequence[Tolerance]) -> float:
    """The tolerance that applies to ``el``: by path (or element name) first, then class."""
    for t in tols:
        if not t.is_class and (t.target == el.path or t.target == el.name):
            return t.fraction
    if el.pot_with is not None:  # a potentiometer is trimmed: its track's tolerance only
        return next((t.fraction for t in tols if t.target == "POTS"), 0.0)
    for t in tols:
        if t.is_class and t.target == _CLASS.get(el.letter):
            return t.fraction
    return 0.0


def draw_factors(slots: Sequence[FlatElement], tols: Sequence[Tolerance], seed: int,
                 dist: str = "normal") -> dict[str, float]:
    """One build's multipliers: path -> 1 + deviation (only for toleranced parts).

    The draws come from ``numpy.random.default_rng(seed)`` in the order of ``slots``, so a
    build is reproducible from its seed. A normal draw is clipped at +-3 sigma (the part's
    tolerance), so a "5 %" part is never more than 5 % off.
    """
    rng = np.random.default_rng([seed, 0x7E57])
    out: dict[str, float] = {}
    tracks: dict[str, float] = {}
    for el in slots:
        tol = tolerance_of(el, tols)
        if tol <= 0:
            continue
        track = None
        if el.pot_with is not None and not any(t.target in (el.path, el.name) for t in tols):
            track = min(el.path, el.pot_with)  # one track: both halves by the same factor
            if track in tracks:
                out[el.path] = tracks[track]
                continue
        if dist == "uniform":
            dev = rng.uniform(-tol, tol)
        else:
            dev = float(np.clip(rng.normal(0.0, tol / 3), -tol, tol))
        out[el.path] = 1.0 + dev
        if track is not None:
            tracks[track] = out[el.path]
    return out


def noise_seeds(seed: int, draws: int, stride: int) -> list[int]:
    """The device-noise seeds of one build with ``draws`` draws: ``seed``, ``seed + stride``,
    ... (``stride`` = the number of builds, so no two builds share a draw; the first is the
    build's own seed, as with one draw)."""
    return [seed + stride * j for j in range(draws)]


def _one_build(deck: PreparedDeck, slots: Sequence[FlatElement], tols: Sequence[Tolerance],
               seed: int, o: RunOptions) -> dict[str, Any]:
    """The row of the build with ``seed`` (``o.seeds`` noise draws; ``o.runs`` builds in all,
    the stride of the draws' seeds)."""
    from neurospice.report.locking import analyse_run
    from neurospice.sim.ngspice import run_prepared
    from neurospice.sim.noise import with_shared_noise

    draws, stride = o.seeds, o.runs
    factors = draw_factors(slots, tols, seed, o.tol_dist)
    row: dict[str, Any] = {"seed": seed, "engine": "spice"}
    modes: list[str] = []
    for j, s in enumerate(noise_seeds(seed, draws, stride)):
        try:
            d = with_shared_noise(with_factors(deck.with_seed(s), factors))
            wf = run_prepared(d, limits=o.run_limits())
            analysis = analyse_run(d, wf, t_skip=o.t_skip)
            modes.append(str(analysis.as_row().get("mode") or "none"))
            if j:
                continue
            for name, train in analysis.trains.items():
                row[f"f_{name[1:] if name.startswith('x') else name}_hz"] = train.frequency_hz
            row.update(analysis.as_row())
            row["status"] = "ok"
        except (SimulationError, NeurospiceInputError) as exc:
            modes.append("failed")
            if not j:
                row.update(status="failed", mode="failed",
                           error=str(exc).replace("\n", " "))
    if draws > 1:
        row.update(_draw_columns(modes, noise_seeds(seed, draws, stride)))
    for path, f in factors.items():
        row[f"d:{path}"] = round(f - 1.0, 6)
    return row


def _draw_columns(modes: Sequence[str], seeds: Sequence[int]) -> dict[str, Any]:
    """P(mode) of one build over its noise draws (``n_seeds``, ``p_<mode>`` with 95 % Wilson
    intervals, ``likely_mode``, ``likely_p``) and the draws' seeds."""
    from neurospice.batch.sweep import seed_columns

    return {**seed_columns(list(modes)), "noise_seeds": " ".join(str(s) for s in seeds)}


def model_build_row(point_deck: PreparedDeck, point: dict[str, Any], wf: Any, *,
                    options: RunOptions) -> dict[str, Any]:
    """A build's row from a model-engine run's waveform, analysed after ``options.t_skip``."""
    from neurospice.report.locking import analyse_run

    return build_row(point_deck, point, analyse_run(point_deck, wf, t_skip=options.t_skip))


def build_row(point_deck: PreparedDeck, point: dict[str, Any], analysis: Any) -> dict[str, Any]:
    """A build's row from its locking analysis (in the model engine's workers, from the run's
    online events: :class:`neurospice.report.online.LockingRows`, no waveform)."""
    row: dict[str, Any] = {"seed": point.get("seed", ""), "engine": "model"}
    for name, train in analysis.trains.items():
        row[f"f_{name[1:] if name.startswith('x') else name}_hz"] = train.frequency_hz
    row.update(analysis.as_row())
    row["status"] = "ok"
    for path, f in (point.get("tol") or {}).items():
        row[f"d:{path}"] = round(f - 1.0, 6)
    return row


def _run_model_builds(deck: PreparedDeck, slots: Sequence[FlatElement],
                      tols: Sequence[Tolerance], seeds: Sequence[int], o: RunOptions
                      ) -> list[dict[str, Any]]:
    from neurospice.report.online import LockingRows

    draws = o.seeds
    builds = [(s, draw_factors(slots, tols, s, o.tol_dist)) for s in seeds]
    points = [{"seed": n, "tol": f} for s, f in builds
              for n in noise_seeds(s, draws, len(seeds))]
    with tqdm(total=len(points), desc="builds (model)", unit="draw" if draws > 1 else "build",
              disable=True if o.quiet else None) as bar:
        rows = o.engine_obj.map(deck, points, LockingRows(build_row, t_skip=o.t_skip), o,
                                bar.update)
    if draws == 1:
        return rows
    out = []
    for k, (s, _) in enumerate(builds):  # rows come in point order: a build's draws together
        mine = rows[k * draws:(k + 1) * draws]
        row = dict(mine[0])
        row.update(_draw_columns([str(r.get("mode") or "none") for r in mine],
                                 noise_seeds(s, draws, len(seeds))))
        out.append(row)
    return out


def run_tolerance(deck: PreparedDeck, tols: Sequence[Tolerance],
                  o: RunOptions) -> list[dict[str, Any]]:
    """Run ``o.runs`` builds (seeds ``seed..seed+runs-1``, ``seed`` ``o.seed`` or 1, parts
    drawn from ``o.tol_dist``); one row each, sorted by seed.

    In the model engine (``o.engine``) with the same draws per seed. ``o.seeds`` > 1 runs
    each build (its parts fixed) with that many draws of the device noise (seeds ``S``,
    ``S + runs``, ``S + 2 runs``, ...: :func:`noise_seeds`) and gives its row P(mode) over
    them (``n_seeds``, ``p_<mode>``, ``p_<mode>_lo``/``_hi``, ``likely_mode``, ``likely_p``,
    ``noise_seeds``); the row's other figures are the first draw's."""
    from neurospice.sim.pool import job_map

    if o.tol_dist not in ("normal", "uniform"):
        raise UsageError(f"{option('tol_dist')} must be normal or uniform "
                         f"(got {o.tol_dist!r})")
    first = o.seed if o.seed is not None else 1
    seeds = [first + k for k in range(o.runs)]
    slots = component_slots(deck)
    paths = {e.path for e in slots} | {e.name for e in slots}
    for t in tols:
        if not t.is_class and t.target not in paths:
            raise UsageError(f"{option('tols')} {t.target}: no resistor, capacitor or "
                             "inductor of that name on the board (e.g. "
                             f"{', '.join(sorted(paths)[:6])})")
    if o.engine_obj.capabilities.point_maps:
        return _run_model_builds(deck, slots, tols, seeds, o)
    rows: dict[int, dict[str, Any]] = {}
    jobs = [(deck, slots, tols, s, o) for s in seeds]
    with tqdm(total=len(seeds), desc="builds", unit="build",
              disable=True if o.quiet else None) as bar:
        for row in job_map(_one_build, jobs, workers=o.workers, scheduler=o.scheduler):
            rows[int(row["seed"])] = row
            bar.update(1)
    return [rows[s] for s in sorted(rows)]


def yield_report(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Lines: the yield of each mode with its 95 % interval, and the components that matter."""
    n = len(rows)
    modes = Counter(str(r.get("mode") or "none") for r in rows)
    lines = []
    for mode, k in modes.most_common():
        lo, hi = wilson_interval(k, n)
        lines.append(f"  {mode} in {k} of {n} builds, {100 * k / n:.0f} %, 95 % interval "
                     f"{100 * lo:.0f}-{100 * hi:.0f} %")
    if modes:
        best = modes.most_common(1)[0][0]
        eff = significant_effects(rows, [str(r.get("mode")) == best for r in rows])
        if eff.significant:
            lines.append(f"  components that separate {best} from the other builds (Spearman "
                         "rho of the deviation with the outcome; p Holm-adjusted over "
                         f"{eff.tested} components):")
            lines += [f"    {path:<28} rho {rho:+.2f}  p {p:.2g}"
                      for path, rho, p in eff.significant]
        elif len(modes) == 1:
            lines.append("  every build is in the same mode: no component separates them")
        elif eff.strongest is not None:
            path, rho = eff.strongest
            lines.append(f"  no component separates {best} from the other builds significantly "
                         f"(5 %): the strongest, {path} (rho {rho:+.2f}), is below the "
                         f"{eff.rho_needed:.2f} that {eff.builds} builds over {eff.tested} "
                         "components need; run more builds")
    return lines


