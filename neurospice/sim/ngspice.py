"""Run checked decks in ngspice, each in a fresh worker process.

Every run starts ``python -m neurospice.sim.worker`` in a new temporary directory that is also its
``HOME`` (so no ``.spiceinit`` is sourced), loads ngspice's shared library there (ctypes),
runs the deck, frees ngspice and exits; nothing of ngspice lives in the calling process. A crash
or an abort in ngspice therefore cannot take the caller down, and memory never grows across runs.

ngspice's messages are turned into :class:`~neurospice.spice.deck.DeckError` (the deck is wrong: a
parse error, an unknown model; exit status 2 in the CLI) or :class:`SimulationError` (the deck is
fine but the simulation failed, e.g. "timestep too small ... trouble with node X"; exit status 1),
each naming the deck line or node and the time. A run that ngspice aborted never comes back as
if it were whole.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from neurospice.errors import SimulationError, SimulationTimeout
from neurospice.sim.process import (
    ProgressFn,
    RunLimits,
    Worker,
    WorkerJob,
    _wall,
    read_paths_for,
    start_worker,
    terminate_all,
)
from neurospice.sim.waveforms import Waveforms
from neurospice.spice.compiler import check_compat
from neurospice.spice.deck import DeckError, PreparedDeck, prepare_deck, prepare_text
from neurospice.spice.resources import NETLISTS_DIR

if TYPE_CHECKING:  # numpy loads after the worker has started (see _load_plots)
    import numpy as np

__all__ = [
    "DeckError",
    "SimulationError",
    "Waveforms",
    "run_deck",
    "run_text",
    "run_prepared",
    "run_all",
    "RunSettings",
    "RunLimits",
    "Worker",
    "start_worker",
    "read_paths_for",
    "terminate_all",
]



_UNITS = {1: "s", 2: "Hz", 3: "V", 4: "A"}

log = logging.getLogger(__name__)


class RunSettings(TypedDict, total=False):
    """The keywords of one ngspice run, taken by :func:`run_deck`, :func:`run_text`,
    :func:`run_prepared` and :func:`run_all` alike.

    Attributes
    ----------
    raw_file
        Where to keep ngspice's raw file of the analysis (binary); not kept if None.
    progress
        Called as ``progress(analysis, percent)`` while ngspice runs.
    limits
        The run's :class:`RunLimits` (e.g. :meth:`RunOptions.run_limits`); default
        ``RunLimits()``.
    timeout
        Wall-clock limit (s), replacing the one of ``limits``; the worker is killed and
        :class:`SimulationError` raised.
    """

    raw_file: Path | None
    progress: ProgressFn | None
    limits: RunLimits | None
    timeout: float | None


def run_deck(
    path: str | Path,
    *,
    params: dict[str, str | float] | None = None,
    tstop: float | None = None,
    analysis: str | None = None,
    **run: Unpack[RunSettings],
) -> Waveforms:
    """Check, expand and run the deck in ``path``; return the waveforms of its analysis.

    Parameters
    ----------
    path
        A SPICE deck (``.cir``).
    params
        Overrides of the deck's top-level ``.param`` values.
    tstop
        Overrides the ``.tran`` stop time (s).
    analysis
        Which analysis to return when the deck has several (default: the last one run).
    **run
        The run's :class:`RunSettings` (``raw_file``, ``progress``, ``limits``, ``timeout``).
    """
    deck = prepare_deck(path)
    return run_prepared(_apply(deck, params, tstop), analysis=analysis, **run)


def run_text(
    text: str,
    *,
    base_dir: str | Path = ".",
    params: dict[str, str | float] | None = None,
    tstop: float | None = None,
    analysis: str | None = None,
    **run: Unpack[RunSettings],
) -> Waveforms:
    """Like :func:`run_deck` for deck text; includes resolve relative to ``base_dir``."""
    deck = prepare_text(text, base_dir=base_dir)
    return run_prepared(_apply(deck, params, tstop), analysis=analysis, **run)


def _apply(
    deck: PreparedDeck, params: dict[str, str | float] | None, tstop: float | None
) -> PreparedDeck:
    if params:
        deck = deck.with_params(params)
    if tstop is not None:
        deck = deck.with_tstop(tstop)
    return deck


def run_prepared(
    deck: PreparedDeck,
    *,
    analysis: str | None = None,
    **run: Unpack[RunSettings],
) -> Waveforms:
    """Run an already checked deck in a fresh worker process (see the module docstring); the
    waveforms of ``analysis`` (default: the last one run). ``run``: :class:`RunSettings`."""
    plots = run_all(deck, **run)
    if analysis is not None:
        for wf in reversed(plots):
            if wf.analysis == analysis:
                return wf
        raise SimulationError(f"the deck ran no {analysis} analysis (ran: "
                              f"{', '.join(w.analysis for w in plots)})")
    return plots[-1]


def run_all(
    deck: PreparedDeck,
    *,
    raw_file: Path | None = None,
    progress: ProgressFn | None = None,
    timeout: float | None = None,
    limits: RunLimits | None = None,
    worker: Worker | None = None,
    on_start: Callable[[], None] | None = None,
) -> list[Waveforms]:
    """Run ``deck`` and return the waveforms of every analysis, in the order they ran.

    ``limits`` bound the run (default :class:`RunLimits`); ``timeout`` (s), when given,
    replaces their wall-clock limit. ``worker``, from :func:`start_worker`, is used when it
    was started for this deck's folder and these settings (and closed otherwise); by default a
    new worker starts. ``on_start`` is called once ngspice has its deck (work to overlap the
    run with, without delaying it).
    """
    from neurospice.spice.checks import control_analyses

    if not deck.analyses() and not control_analyses(deck):
        if worker is not None:
            worker.close()
        raise DeckError(
            "the deck has no analysis card (.tran, .ac, .dc or .op); add one",
            path=deck.source,
        )
    return _execute(deck.text, _name(deck), deck=deck, read_paths=read_paths_for(deck.base_dir),
                    raw_file=raw_file, progress=progress, limits=_limits(timeout, limits),
                    worker=worker, on_start=on_start)


def _limits(timeout: float | None, limits: RunLimits | None) -> RunLimits:
    """``limits`` (default :class:`RunLimits`) with ``timeout`` as the wall-clock limit when
    given."""
    limits = limits or RunLimits()
    if timeout is not None:
        _wall(timeout, limits)  # a bad limit fails here, before a process starts
        limits = replace(limits, timeout=timeout)
    return limits


def run_uncompiled_for_tests(text: str, *, timeout: float = 60.0) -> tuple[dict, list[str]]:
    """Run deck text that did NOT go through the compiler, inside the sandbox.

    For the sandbox's own tests only (a deck that reaches ngspice's shell must still do no
    harm). Returns ngspice's messages (with ``"jobdir_files"``: what the job folder held when
    the worker ended, or ``"crashed"`` when ngspice crashed) and the worker's stderr tail.
    """
    tail: list[str] = []
    try:
        messages = _execute(text, "<uncompiled>", deck=None, read_paths=[], raw_file=None,
                            progress=None, limits=_limits(timeout, None), raw_messages=tail)
    except SimulationError as exc:
        return {"status": "crashed", "error": str(exc), "stderr": [], "stdout": [],
                "jobdir_files": []}, tail
    assert isinstance(messages, dict)
    return messages, tail


def _execute(
    text: str,
    name: str,
    *,
    deck: PreparedDeck | None,
    read_paths: list[str],
    raw_file: Path | None,
    progress: ProgressFn | None,
    limits: RunLimits,
    raw_messages: list[str] | None = None,
    worker: Worker | None = None,
    on_start: Callable[[], None] | None = None,
) -> Any:
    wall = _wall(None, limits)
    job = WorkerJob(tuple(read_paths), raw_file is not None, limits)
    if worker is not None and worker.key is None and worker.proc.poll() is None:
        worker.configure(job)
    if worker is not None and (worker.key != job or worker.proc.poll() is not None):
        worker.close()
        worker = None
    if worker is None:
        worker = start_worker(job, raw_messages)
    proc, jobdir, tail = worker.proc, worker.jobdir, worker.tail
    worker.progress = progress
    try:
        if deck is not None:
            text = _link_files(text, jobdir, (deck.base_dir, NETLISTS_DIR))
        (jobdir / "deck.cir").write_text(text, encoding="utf-8")
        log.info("%s: ngspice worker %d runs in %s (wall limit %g s)", name, proc.pid,
                 jobdir, wall)
        assert proc.stdin is not None
        try:
            compat = deck.compat if deck is not None else None
            proc.stdin.write(f"go {check_compat(compat)}\n" if compat else "go\n")
            proc.stdin.close()
        except OSError:  # the worker already ended: reported below from its status
            pass
        if on_start is not None:
            on_start()
        if not worker.wait_results(wall, name):  # (the job folder is measured meanwhile)
            proc.kill()
            proc.wait()
            raise SimulationTimeout(
                f"{name}: the simulation did not finish within {wall:g} s and was "
                "stopped; shorten .tran, loosen its max step, or raise --timeout"
            )
        msg_file = jobdir / "messages.json"
        if not (worker.finished and deck is not None):
            # (with complete results the worker frees ngspice and exits meanwhile)
            proc.wait()
            if worker.reader is not None:
                worker.reader.join(timeout=5)  # its last words, for the message below
        if deck is None and (proc.returncode != 0 or not msg_file.is_file()):
            return {"status": "crashed", "returncode": proc.returncode, "stderr": [],
                    "stdout": [], "jobdir_files": sorted(p.name for p in jobdir.iterdir())}
        if not worker.finished and (proc.returncode != 0 or not msg_file.is_file()):
            detail = "\n".join(tail[-8:]).strip()
            why = _signal_reason(proc.returncode)
            raise SimulationError(
                f"{name}: ngspice stopped abnormally ({why}); nothing was kept. {detail}"
            )
        messages = _read_messages(msg_file, name)
        if deck is None:
            messages["jobdir_files"] = sorted(p.name for p in jobdir.iterdir())
            return messages
        if messages["status"] == "sandbox_error":
            raise SimulationError(f"{name}: the ngspice worker could not be sandboxed "
                                  f"({messages['error']}); refusing to run it unconfined")
        stderr: list[str] = messages["stderr"]
        if messages["status"] == "parse_error":
            raise _parse_error(deck, stderr)
        log.info("%s: worker %d finished; sandbox %s", name, proc.pid,
                 messages.get("sandbox"))
        _check_results(jobdir, messages, name, _result_limit(
            messages, deck.limits.max_points, limits.file_size))
        plots = _load_plots(jobdir, messages)
        _check_complete(deck, plots, stderr)
        if raw_file is not None and plots:
            write_raw(plots, raw_file, title=_name(deck))
            for wf in plots:
                wf.raw_path = raw_file
        for wf in plots:
            wf.log = [s for s in stderr if s.strip()]
            wf.stdout = list(messages.get("stdout", []))
            wf.sandbox = dict(messages.get("sandbox", {}))
        return plots
    finally:
        worker.close()


#: A file attribute as the compiler writes it: ``key="/absolute/path"``.
_FILE_IN_DECK_RE = re.compile(r'(?<![\w])([a-z_]*file[a-z_]*)="(/[^"]+)"')


def _link_files(text: str, jobdir: Path, roots: tuple[Path, ...]) -> str:
    """``text`` with each file attribute whose path has capitals or blanks pointing at a link
    in the job folder (``nsfile0`` ...) to that path.

    ngspice 39 lower-cases a ``.model`` card, quoted file names included, and splits it at
    blanks, so ``/home/Ann/Wave.TXT`` would not be found; the worker's working folder is the
    job folder, where the link's lower-case name is found. The link's target is the path the
    compiler resolved inside the deck's tree or the shipped library, which the sandbox lets
    the worker read (a path outside ``roots``, the deck's tree and the library, is left as
    it is); the parent never reads through it.
    """
    trees = [r.resolve() for r in roots]
    links: dict[str, str] = {}

    def one(m: re.Match[str]) -> str:
        path = m.group(2)
        if path == path.lower() and " " not in path:
            return m.group(0)
        target = Path(path)
        if not any(target.is_relative_to(t) for t in trees):
            return m.group(0)
        name = links.get(path)
        if name is None:
            name = f"nsfile{len(links)}"
            link = jobdir / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(path)
            links[path] = name
        return f'{m.group(1)}="{name}"'

    return _FILE_IN_DECK_RE.sub(one, text) if "file" in text else text


def _signal_reason(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        sig = -code
        names = {9: "killed (SIGKILL): the memory limit or the CPU-time limit",
                 24: "the CPU-time limit (SIGXCPU)", 25: "the file-size limit (SIGXFSZ)",
                 11: "a crash in ngspice (SIGSEGV)", 6: "an abort in ngspice (SIGABRT)"}
        return names.get(sig, f"signal {sig}")
    return f"worker exit status {code}"


def _name(deck: PreparedDeck) -> str:
    return str(deck.source) if deck.source else f"deck '{deck.title}'"


#: the most the parent reads of the worker's messages (ngspice's printed lines; bytes)
MESSAGES_LIMIT = 64 << 20
#: the least the parent reads of the worker's vectors whatever --max-points says (bytes)
RESULT_FLOOR = 64 << 20
#: a vector may hold this many times an analysis' counted points: a transient keeps every
#: accepted step, and its steps shrink below TSTEP at edges and breakpoints
POINT_SLACK = 4


def _read_messages(path: Path, name: str) -> dict:
    """The worker's ``messages.json``, refused unread past :data:`MESSAGES_LIMIT`."""
    size = path.stat().st_size
    if size > MESSAGES_LIMIT:
        raise SimulationError(
            f"{name}: ngspice printed {size / (1 << 20):.3g} MiB of messages, more than the "
            f"{MESSAGES_LIMIT >> 20} MiB the parent reads (a .control block printing without "
            "end?); nothing was kept")
    try:
        messages = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimulationError(f"{name}: the worker's messages are unreadable ({exc}); the worker "
                              "was stopped while writing them; nothing was kept") from exc
    if not isinstance(messages, dict):
        raise SimulationError(f"{name}: the worker's messages are not a table; nothing was kept")
    return messages


def _result_limit(messages: dict, max_points: float, file_size: int) -> int:
    """The most the parent reads of ``result.bin`` (bytes): :data:`POINT_SLACK` times
    ``max_points`` (--max-points) complex values per vector the worker reported, at least
    :data:`RESULT_FLOOR`, at most the worker's file-size limit."""
    vectors = sum(len(p.get("vectors", {})) for p in messages.get("plots", {}).values())
    derived = int(min(POINT_SLACK * max_points * 16 * max(vectors, 1), 1 << 62))
    return min(file_size, max(RESULT_FLOOR, derived))


def _check_results(jobdir: Path, messages: dict, name: str, limit: int) -> None:
    """Refuse, before reading, a ``result.bin`` over ``limit`` bytes, that is not a plain
    file, or whose vectors (as ``messages`` places them) do not lie inside it."""
    path = jobdir / "result.bin"
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    import stat

    if not stat.S_ISREG(st.st_mode):
        raise SimulationError(f"{name}: the worker's result file is not a plain file; nothing "
                              "was read")
    if st.st_size > limit:
        raise SimulationError(
            f"{name}: the results are {st.st_size / (1 << 20):.4g} MiB, more than the "
            f"{limit / (1 << 20):.4g} MiB the parent reads for the analyses' points (--max-points "
            f"x {POINT_SLACK} per vector); a .control block made vectors longer than its "
            "analyses, or raise --max-points; nothing was read")
    for plot in messages.get("plots", {}).values():
        for vec, info in plot.get("vectors", {}).items():
            try:
                _vtype, length, is_complex, offset = (info[0], int(info[1]), info[2],
                                                      int(info[3]))
            except (TypeError, ValueError, IndexError):
                length = offset = -1
            if length < 0 or offset < 0 or offset + length * (16 if is_complex else 8) > st.st_size:
                raise SimulationError(f"{name}: the worker's results place vector {vec!r} "
                                      "outside its result file; nothing was read")


def _load_plots(jobdir: Path, messages: dict) -> list[Waveforms]:
    """The worker's vectors: views into one array read from ``result.bin`` (see the worker)."""
    import numpy as np

    path = jobdir / "result.bin"
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else np.zeros(0, np.uint8)
    out: list[Waveforms] = []
    for plot in messages["plots"].values():
        name: str = plot["name"]
        analysis = re.sub(r"\d+$", "", name).lower()
        vectors: dict[str, np.ndarray] = {}
        units: dict[str, str] = {}
        scale_name = ""
        for vec, (vtype, length, is_complex, offset) in plot["vectors"].items():
            size = length * (16 if is_complex else 8)
            arr = data[offset: offset + size].view(np.complex128 if is_complex else np.float64)
            if vec in ("time", "frequency") or vec.endswith("-sweep"):
                scale_name = vec
                scale = arr
                continue
            if vec.endswith("#branch"):
                label = f"i({vec[: -len('#branch')]})"
            elif vtype == 3 and not vec.startswith(("@", "v(", "i(")):
                label = f"v({vec})"
            else:
                label = vec
            vectors[label] = arr
            units[label] = _UNITS.get(vtype, "")
        if scale_name:  # a control block's `meas` leaves a one-value vector in the plot
            vectors = {k: v for k, v in vectors.items() if len(v) == len(scale)}
        if not scale_name:
            scale = np.zeros(1) if analysis == "op" else np.arange(
                len(next(iter(vectors.values()))) if vectors else 0, dtype=float)
            scale_name = "index"
        out.append(Waveforms(analysis, name, scale_name, np.real(scale) if scale_name != "frequency"
                             else np.real(scale), vectors, units))
    return out


_TIMESTEP_RE = re.compile(
    r"timestep too small;\s*time\s*=\s*([0-9.eE+-]+).*?trouble with node\s*\"?([^\"\s]+)\"?",
    re.IGNORECASE,
)
_TIMESTEP_DEV_RE = re.compile(
    r"timestep too small;\s*time\s*=\s*([0-9.eE+-]+).*?trouble with\s+(\S+)", re.IGNORECASE
)


_SINGULAR_RE = re.compile(r"singular matrix:?\s*check node\s+\"?([^\"\s]+)", re.IGNORECASE)


def _check_complete(deck: PreparedDeck, plots: list[Waveforms], stderr: list[str]) -> None:
    text = "\n".join(stderr)
    m = _TIMESTEP_RE.search(text) or _TIMESTEP_DEV_RE.search(text)
    if m:
        t = float(m.group(1))
        node = m.group(2)
        singular = _SINGULAR_RE.search(text)
        if singular:  # ngspice names the node that has no DC path before a device is blamed
            sing = singular.group(1)
            raise SimulationError(
                f"{_name(deck)}: the transient failed to converge at t = {t:.6g} s: ngspice "
                f"found a singular matrix, check node '{sing}' (a node with no DC path to "
                f"ground: floating, or joined only through capacitors or current sources; it "
                f"then reported trouble with '{node}'). No waveforms were kept."
            )
        raise SimulationError(
            f"{_name(deck)}: the transient failed to converge at t = {t:.6g} s (timestep too "
            f"small), trouble with node '{node}'. Check the parts on that node for a "
            "discontinuity or a missing DC path; try a smaller .tran max step or "
            "'.options method=gear'. No waveforms were kept."
        )
    low = text.lower()
    if "aborted" in low or "no convergence" in low or "singular matrix" in low and not plots:
        first = next((s for s in stderr if "abort" in s.lower() or "error" in s.lower()), "")
        raise SimulationError(f"{_name(deck)}: ngspice aborted the simulation: {first.strip()}")
    if not plots:
        errs = [s.strip() for s in stderr if s.strip().lower().startswith("error")]
        raise SimulationError(
            f"{_name(deck)}: ngspice produced no results. " + (" ".join(errs[:3]) or "")
        )
    if deck.option("autostop") is not None:
        return  # ngspice ends the transient once every .meas has its value
    # ngspice 39 runs every .tran card: each transient must reach the TSTOP of one of them
    tstops = [tstop for _, tstop in deck.trans()]
    for wf in plots:
        if wf.analysis == "tran" and tstops and len(wf.scale):
            end = float(wf.scale[-1])
            if not any(abs(end - t) <= 1e-6 * t or end >= t for t in tstops):
                raise SimulationError(
                    f"{_name(deck)}: the transient stopped at t = {end:.6g} s before "
                    f"TSTOP = {max(tstops):g} s; no waveforms were kept"
                )


_RAW_TYPES = {"s": "time", "Hz": "frequency", "V": "voltage", "A": "current"}
_RAW_PLOTNAMES = {"tran": "Transient Analysis", "ac": "AC Analysis", "op": "Operating Point",
                  "dc": "DC transfer characteristic", "tf": "Transfer Function",
                  "sens": "Sensitivity Analysis", "pz": "Pole-Zero Analysis",
                  "noise": "Noise Spectral Density Curves", "disto": "Distortion",
                  "sp": "SP Analysis"}


def write_raw(plots: list[Waveforms], path: Path, *, title: str) -> Path:
    """Write every plot to one binary ngspice raw file (``path``), in the order they ran.

    Each plot is a header (``Plotname``, ``Flags: real`` or ``complex``, the variables with
    their types, the scale first) followed by its points as little-endian doubles (pairs of
    them, re and im, in a complex plot), as ngspice's own ``write`` does; readers of raw
    files (ngspice's ``load``, spicelib, rawfile) take several plots in one file.
    """
    import numpy as np

    from neurospice.files import atomic_write

    with atomic_write(path, "wb") as out:
        for wf in plots:
            names = list(wf.vectors)
            columns = [np.asarray(wf.vectors[n]) for n in names]
            scale = np.asarray(wf.scale)
            n = min([len(c) for c in columns] + ([len(scale)] if wf.scale_name != "index"
                                                 else []), default=len(scale))
            complex_plot = any(np.iscomplexobj(c) for c in columns) or wf.analysis == "ac"
            plotname = _RAW_PLOTNAMES.get(wf.analysis, wf.plot)
            header = [f"Title: {title}", "Date: -", f"Plotname: {plotname}",
                      f"Flags: {'complex' if complex_plot else 'real'}",
                      f"No. Variables: {len(names) + 1}", f"No. Points: {n}", "Variables:"]
            scale_type = {"time": "time", "frequency": "frequency"}.get(wf.scale_name,
                                                                        "voltage")
            header.append(f"\t0\t{wf.scale_name}\t{scale_type}")
            for i, name in enumerate(names, start=1):
                header.append(f"\t{i}\t{name}\t{_RAW_TYPES.get(wf.units.get(name, ''), 'notype')}")
            header.append("Binary:")
            out.write(("\n".join(header) + "\n").encode("ascii", "replace"))
            cols = [scale[:n], *(c[:n] for c in columns)]
            dtype = np.complex128 if complex_plot else np.float64
            table = np.empty((n, len(cols)), dtype=dtype)
            for j, col in enumerate(cols):
                table[:, j] = col if complex_plot else np.real(col)
            out.write(table.astype("<c16" if complex_plot else "<f8").tobytes())
    return path


_LINE_RE = re.compile(r"error on line (\d+)", re.IGNORECASE)
_NETLIST_LINE_RE = re.compile(r"netlist line no\.\s*(\d+)", re.IGNORECASE)


def _parse_error(deck: PreparedDeck, stderr: list[str]) -> DeckError:
    """Turn ngspice's complaints about a deck into one message naming the user's line."""
    lines = [s.rstrip() for s in stderr if s.strip()]
    origin = None
    offending = ""
    reason = ""
    for i, s in enumerate(lines):
        m = _LINE_RE.search(s)
        if m:
            offending = lines[i + 1].strip() if i + 1 < len(lines) else ""
            reason = lines[i + 2].strip() if i + 2 < len(lines) else ""
            origin = deck.find_text(offending) or deck.origin_of(int(m.group(1)))
            break
    if origin is None:  # numparam: "Netlist line no. N:" then what it could not evaluate
        for i, s in enumerate(lines):
            m = _NETLIST_LINE_RE.search(s)
            if m and i + 1 < len(lines) and not _NETLIST_LINE_RE.search(lines[i + 1]):
                n = int(m.group(1))
                origin = deck.origin_of(n)
                offending = deck.lines[n - 1] if 0 < n <= len(deck.lines) else ""
                reason = lines[i + 1].strip()
                break
    if origin is None:
        for i, s in enumerate(lines):
            low = s.lower()
            if "can't find model" or "unknown" in low or "could not find" in low:
                reason = s.strip()
                nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
                origin = deck.find_text(nxt) if nxt else None
                offending = nxt if origin else ""
                break
    if not reason:
        reason = next(
            (s.strip() for s in lines
             if "error" in s.lower() and "circuit not parsed" not in s.lower()),
            "ngspice could not parse the deck",
        )
    msg = f"ngspice rejected the deck: {reason}"
    if origin is not None:
        return DeckError(msg, origin.path or deck.source, origin.line, snippet=offending or None)
    return DeckError(msg, deck.source, snippet=offending or None)
