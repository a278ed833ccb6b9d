"""Maps with the model engine: many points over worker processes, reduced as they finish.

A 20 s point's waveforms hold ~10 MB; a 32 x 32 map would not fit in memory as waveforms. Each
worker process compiles the deck once, integrates chunks of points (numba, one thread per
process) and hands every point's :class:`~neurospice.sim.waveforms.Waveforms` to ``reduce`` - a
picklable function ``reduce(deck, point, waveforms) -> row`` (e.g. the locking analysis) - so
only the rows travel back. ``progress`` (e.g. a tqdm bar's ``update``) is called with the number
of points finished.

>>> rows = map_model(deck, points, reduce=my_row, workers=2, tstop=20.0)   # doctest: +SKIP
>>> checks = verify_model(deck, points, rows, 4, reduce=my_row, tstop=20.0)  # doctest: +SKIP
>>> [c["point"] for c in checks if not c["agree"]]                           # doctest: +SKIP

:func:`verify_model` reruns K points of a map in ngspice with the same reducer and says where
the two engines disagree (``--verify K``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from neurospice.sim.waveforms import Waveforms
from neurospice.spice.deck import PreparedDeck

__all__ = ["ReduceFn", "map_model", "pick_points", "verify_model"]

#: ``reduce(point_deck, point, waveforms) -> row``; must be picklable (a module-level function).
ReduceFn = Callable[[PreparedDeck, dict[str, Any], Waveforms], dict[str, Any]]

_STATE: dict[str, Any] = {}


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the process that started it ends (however it ends:
    an interrupted or killed command leaves no worker integrating on)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent ended before the request was made
        os._exit(1)


def _init(deck: PreparedDeck, reduce: ReduceFn, options: dict[str, Any],
          in_worker: bool = True) -> None:
    import numba

    if in_worker:
        _die_with_parent()
    from neurospice.sim.model.engine import CompiledModel

    numba.set_num_threads(1)
    _STATE["model"] = CompiledModel(deck)
    _STATE["reduce"] = reduce
    _STATE["options"] = options


def _run_chunk(start: int, points: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return _reduce_chunk(_STATE["model"], _STATE["reduce"], _STATE["options"], start, points)


def _vectors(model: Any) -> list[str]:
    """Each neuron's membrane vector as a run of ``model`` names it ("" when not saved)."""
    saves = {s if "(" in s else f"v({s})" for s in model.program.saves if s != "all"}
    return [f"v({n.mem})" if not saves or f"v({n.mem})" in saves else ""
            for n in model.program.neurons]


def _reduce_chunk(model: Any, reduce: ReduceFn, options: dict[str, Any], start: int,
                  points: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a chunk of points. A reducer with ``detectors(point_deck, vectors, point)``
    (:class:`neurospice.report.online.LockingRows`) gets each point's online events
    (:mod:`.online`: no waveform is recorded); a point whose detectors cannot be planned or
    overflow, and any other reducer, gets the waveforms."""
    from neurospice.sim.model.online import run_events

    decks = [model._point_deck(p) for p in points]
    rows: dict[int, dict[str, Any]] = {}
    plan = getattr(reduce, "detectors", None)
    if plan is not None:
        vectors = _vectors(model)
        specs = [plan(d, vectors, p) for d, p in zip(decks, points, strict=True)]
        layout = [tuple((s.neuron, s.t_from) for s in sp) if sp is not None else None
                  for sp in specs]
        groups: dict[Any, list[int]] = {}
        for i, key in enumerate(layout):
            if key is not None:
                groups.setdefault(key, []).append(i)
        for idx in groups.values():
            evs = run_events(model, [points[i] for i in idx], [specs[i] for i in idx],
                             **options)
            for i, ev in zip(idx, evs, strict=True):
                if ev.overflow:
                    continue
                ev.info["vectors"] = vectors
                rows[i] = reduce(decks[i], points[i], ev)  # type: ignore[arg-type]
    rest = [i for i in range(len(points)) if i not in rows]
    if rest:
        for k, wf in model.iter([points[i] for i in rest], chunk=len(rest), **options):
            i = rest[k]
            rows[i] = reduce(decks[i], points[i], wf)
    return [(start + i, rows[i]) for i in range(len(points))]


def _dask_chunk(deck: PreparedDeck, reduce: ReduceFn, options: dict[str, Any], start: int,
                points: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """One chunk on a Dask worker: the deck compiled once per worker process (by its text)."""
    import hashlib

    from neurospice.sim.model.engine import CompiledModel

    key = hashlib.sha256(deck.text.encode()).hexdigest()
    models: dict[str, Any] = _STATE.setdefault("dask_models", {})
    if key not in models:
        models[key] = CompiledModel(deck)
    return _reduce_chunk(models[key], reduce, options, start, points)


def _chunks(points: Sequence[dict[str, Any]], size: int) -> Iterator[tuple[int, list[dict]]]:
    for s in range(0, len(points), size):
        yield s, list(points[s:s + size])


def map_model(
    deck: PreparedDeck,
    points: Sequence[dict[str, Any]],
    *,
    reduce: ReduceFn,
    workers: int | None = None,
    chunk: int = 4,
    progress: Callable[[int], object] | None = None,
    tstop: float | None = None,
    seed: int | None = None,
    dt: float | None = None,
    record_step: float | None = None,
    scheduler: str | None = None,
) -> list[dict[str, Any]]:
    """Run every point with the model engine and return ``reduce``'s rows, in point order.

    Parameters
    ----------
    deck
        A checked deck (compiled once per worker).
    points
        Parameter overrides per point (``"seed"`` allowed).
    reduce
        ``reduce(point_deck, point, waveforms) -> row``, run in the worker.
    workers
        Worker processes (default: the CPU count); 1 runs in this process.
    chunk
        Points per task.
    progress
        Called with the number of points just finished.
    tstop, seed, dt, record_step
        As for :func:`~neurospice.sim.model.engine.run_model`.
    scheduler
        A Dask scheduler's address: the chunks run as its tasks (each worker process compiles
        the deck once) instead of in local processes.

    Returns
    -------
    list of dict
        One row per point.
    """
    options = {"tstop": tstop, "seed": seed, "dt": dt, "record_step": record_step}
    n_workers = workers or os.cpu_count() or 1
    rows: list[dict[str, Any] | None] = [None] * len(points)
    if scheduler:
        from neurospice.sim.pool import dask_map

        jobs = [(deck, reduce, options, start, part)
                for start, part in _chunks(points, max(chunk, 8))]
        for result in dask_map(_dask_chunk, jobs, scheduler):
            for i, row in result:
                rows[i] = row
            if progress is not None:
                progress(len(result))
        return [r for r in rows if r is not None]
    if n_workers <= 1:
        _init(deck, reduce, options, in_worker=False)
        for start, part in _chunks(points, chunk):
            for i, row in _run_chunk(start, part):
                rows[i] = row
            if progress is not None:
                progress(len(part))
        return [r for r in rows if r is not None]
    ctx = mp.get_context("spawn")
    pool = ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init,
                               initargs=(deck, reduce, options))
    try:
        pending: set[Future[list[tuple[int, dict[str, Any]]]]] = set()
        for start, part in _chunks(points, chunk):
            pending.add(pool.submit(_run_chunk, start, part))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                result = fut.result()
                for i, row in result:
                    rows[i] = row
                if progress is not None:
                    progress(len(result))
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    return [r for r in rows if r is not None]


def _stop(pool: ProcessPoolExecutor) -> None:
    """End a pool at once: queued chunks cancelled, running workers killed and reaped."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.kill()
    for proc in procs:
        proc.join(timeout=5)


def pick_points(n_points: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``n_points`` (first and last included when k >= 2)."""
    if k <= 0 or n_points <= 0:
        return []
    if k >= n_points:
        return list(range(n_points))
    if k == 1:
        return [n_points // 2]
    return sorted({round(i * (n_points - 1) / (k - 1)) for i in range(k)})


def verify_model(
    deck: PreparedDeck,
    points: Sequence[dict[str, Any]],
    rows: Sequence[dict[str, Any]],
    k: int,
    *,
    reduce: ReduceFn,
    key: str = "mode",
    tstop: float | None = None,
    seed: int | None = None,
    indices: Sequence[int] | None = None,
    progress: Callable[[int], object] | None = None,
) -> list[dict[str, Any]]:
    """Rerun ``k`` points of a model-engine map in ngspice and compare ``row[key]``.

    Parameters
    ----------
    deck
        The map's deck.
    points, rows
        The map's points and the rows ``reduce`` gave for them with the model engine.
    k
        How many points to rerun (spread evenly, :func:`pick_points`, unless ``indices``).
    reduce
        The same reducer as for the map (``reduce(point_deck, point, waveforms) -> row``).
    key
        The row field compared (default the locking mode).
    tstop, seed
        As for the map (the ngspice deck gets the model engine's draws for the point's seed,
        :func:`~neurospice.sim.noise.with_shared_noise`: noisy points compare point by
        point).
    indices
        Explicit point indices instead of an even spread.
    progress
        Called with 1 after each ngspice run.

    Returns
    -------
    list of dict
        Per rerun point: ``index``, ``point``, ``model`` (row), ``spice`` (row), ``agree``.
    """
    from neurospice.sim.ngspice import run_prepared
    from neurospice.sim.noise import with_shared_noise

    chosen = list(indices) if indices is not None else pick_points(len(points), k)
    out = []
    for i in chosen:
        point = dict(points[i])
        s = point.pop("seed", seed)
        d = deck.with_params(point) if point else deck
        if s is not None:
            d = d.with_seed(int(s))
        if tstop is not None:
            d = d.with_tstop(tstop)
        d = with_shared_noise(d)
        wf = run_prepared(d)
        spice_row = reduce(d, dict(points[i]), wf)
        out.append({"index": i, "point": dict(points[i]), "model": dict(rows[i]),
                    "spice": spice_row, "agree": rows[i].get(key) == spice_row.get(key)})
        if progress is not None:
            progress(1)
    return out
