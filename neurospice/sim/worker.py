"""Child process that runs one deck in the ngspice shared library.

Started by :mod:`neurospice.sim.ngspice` as ``python -m neurospice.sim.worker JOBDIR`` with
JOBDIR as its working directory and ``HOME``, so that no ``.spiceinit`` of the user's is
sourced. It reads a line ``job {...}`` (JSON: what it may read, its limits) on stdin,
sandboxes itself, loads ngspice and waits for a line ``go`` (anything else, or end of input,
ends it): the parent compiles its deck meanwhile. Then it reads ``JOBDIR/deck.cir``, runs every
analysis, writes the vectors of every plot to ``JOBDIR/result.bin`` (the raw bytes of each
vector, one after the other; where each one starts is in ``messages.json``), the raw file of the
last plot to ``JOBDIR/result.raw`` when the job asks for it, and what ngspice printed to
``JOBDIR/messages.json``. Progress goes to stderr as ``@@progress <analysis> <percent>`` lines,
and ``@@done`` when the results are complete. Then it frees ngspice (``destroy all``,
``remcirc``) and exits.

ngspice's shared-library API (``ngSpice_Init``, ``ngSpice_Circ``, ``ngSpice_Command``,
``ngSpice_AllPlots``, ``ngSpice_AllVecs``, ``ngGet_Vec_Info``; sharedspice.h) is reached with
:mod:`ctypes` alone: the worker imports neither numpy nor PySpice, whose import cost (about
0.1 s per run) would otherwise be paid by every simulation, and it copies each vector once,
from ngspice's memory to the file.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

# no ``typing``, ``pathlib`` or ``dataclasses`` here or in the sandbox module: the worker's
# start-up is on the critical path of every run, and those imports would cost it 7 ms
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: sonames tried in order (Debian's libngspice0 ships ``libngspice.so.0``; the -dev package adds
#: ``libngspice.so``); ``NEUROSPICE_NGSPICE_LIBRARY`` names another one.
LIBRARY_NAMES = ("libngspice.so.0", "libngspice.so")

_SendChar = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_SendStat = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
_ControlledExit = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_bool, ctypes.c_bool,
                                   ctypes.c_int, ctypes.c_void_p)


class _VectorInfo(ctypes.Structure):
    _fields_ = [
        ("v_name", ctypes.c_char_p),
        ("v_type", ctypes.c_int),
        ("v_flags", ctypes.c_short),
        ("v_realdata", ctypes.c_void_p),
        ("v_compdata", ctypes.c_void_p),
        ("v_length", ctypes.c_int),
    ]


def _die_with_parent() -> None:
    """Ask the kernel to kill this worker when the process that started it dies; name it
    ``nsw<parent pid>``."""
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    # named after its parent for ps and pgrep (a forked worker has its parent's command line)
    libc.prctl(15, f"nsw{os.getppid()}".encode(), 0, 0, 0)  # PR_SET_NAME
    if os.getppid() == 1:  # the parent is already gone
        os._exit(1)


def _open_library() -> ctypes.CDLL:
    names = [os.environ["NEUROSPICE_NGSPICE_LIBRARY"]] if os.environ.get(
        "NEUROSPICE_NGSPICE_LIBRARY") else list(LIBRARY_NAMES)
    last: OSError | None = None
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            last = exc
            continue
        lib.ngSpice_Init.argtypes = [_SendChar, _SendStat, _ControlledExit, ctypes.c_void_p,
                                     ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.ngSpice_Circ.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.ngSpice_Command.argtypes = [ctypes.c_char_p]
        lib.ngSpice_AllPlots.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.ngSpice_AllVecs.argtypes = [ctypes.c_char_p]
        lib.ngSpice_AllVecs.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.ngGet_Vec_Info.argtypes = [ctypes.c_char_p]
        lib.ngGet_Vec_Info.restype = ctypes.POINTER(_VectorInfo)
        return lib
    hint = ("; install libngspice0 (Debian) or set NEUROSPICE_NGSPICE_LIBRARY"
            if "No such file" in str(last) or "cannot open" in str(last) else "")
    raise OSError(f"the ngspice shared library could not be loaded ({last}){hint}")


def _strings(array: Any) -> list[str]:
    out: list[str] = []
    if not array:
        return out
    i = 0
    while array[i] is not None:
        out.append(array[i].decode("utf-8", "replace"))
        i += 1
    return out


def _run(jobdir: str) -> int:
    _die_with_parent()
    from neurospice.sim import sandbox
    from neurospice.sim.sandbox import SandboxPolicy, SandboxUnavailable, apply, system_read_paths

    try:  # now, while the parent is still parsing its arguments (apply() reports a failure)
        sandbox.load_bindings()
    except Exception:  # noqa: BLE001, S110
        pass
    # the job comes first on stdin (the parent may still be parsing its arguments); then "go"
    line = sys.stdin.readline()
    if not line.startswith("job "):
        return 0
    job = json.loads(line[4:])

    policy = SandboxPolicy(
        read_paths=tuple(system_read_paths() + job["read_paths"]),
        write_paths=(jobdir,),
        cpu_seconds=job.get("cpu_seconds"),
        address_space=job.get("address_space"),
        file_size=job.get("file_size"),
    )
    # every Python module is loaded by now; the process is locked down before ngspice's shared
    # library is opened: ngspice never runs outside the sandbox
    if job.get("sandbox", True):
        try:
            report = apply(policy).as_dict()
        except SandboxUnavailable as exc:
            _write_text(os.path.join(jobdir, "messages.json"), json.dumps(
                {"status": "sandbox_error", "error": str(exc), "stdout": [], "stderr": [],
                 "plots": {}}))
            return 0
    else:
        report = {"no_new_privs": "off", "seccomp": "off", "landlock": "off",
                  "rlimits": "off", "notes": ["sandbox disabled"]}

    stdout: list[str] = []
    stderr: list[str] = []
    last_progress = [-10.0]

    def send_char(message: bytes, _id: int, _user: Any) -> int:
        prefix, _, content = message.decode("utf-8", "replace").partition(" ")
        (stderr if prefix == "stderr" else stdout).append(content)
        return 0

    def send_stat(message: bytes, _id: int, _user: Any) -> int:
        # e.g. "tran: 45.3%"
        head, _, pct = message.decode("utf-8", "replace").partition(":")
        try:
            value = float(pct.strip().rstrip("%"))
        except ValueError:
            return 0
        if value - last_progress[0] >= 1.0 or value >= 100.0:
            last_progress[0] = value
            print(f"@@progress {head.strip()} {value:.1f}", file=sys.stderr, flush=True)
        return 0

    def controlled_exit(status: int, _unload: bool, _quit: bool, _id: int, _user: Any) -> int:
        stderr.append(f"ngspice asked to exit with status {status}")
        return 0

    callbacks = (_SendChar(send_char), _SendStat(send_stat), _ControlledExit(controlled_exit))
    lib = _open_library()
    lib.ngSpice_Init(*callbacks, None, None, None, None)
    # ready: the parent may still be compiling the deck; it writes deck.cir, then says "go"
    go = sys.stdin.readline().split()
    if not go or go[0] != "go":
        return 0
    if len(go) == 2 and go[1].isalnum() and len(go[1]) <= 16:  # "go MODE": ngspice's ngbehavior
        lib.ngSpice_Command(f"set ngbehavior={go[1]}".encode())

    with open(os.path.join(jobdir, "deck.cir"), encoding="utf-8") as deck:
        lines = [line.encode("utf-8") for line in deck.read().splitlines()]
    circ = (ctypes.c_char_p * (len(lines) + 2))(*lines, b"", None)
    status = "ok"
    rc = lib.ngSpice_Circ(circ)
    parse_failed = rc != 0 or any(s.strip().lower().startswith("error") for s in stderr)
    plots: dict[str, Any] = {}
    if parse_failed:
        status = "parse_error"
    else:
        lib.ngSpice_Command(b"run")
        plots = _dump(lib, os.path.join(jobdir, "result.bin"))
        names = _strings(lib.ngSpice_AllPlots())
        if job.get("raw") and names and names[0] != "const":
            lib.ngSpice_Command(b"set filetype=binary")
            lib.ngSpice_Command(f"write {os.path.join(jobdir, 'result.raw')}".encode())
    tmp = os.path.join(jobdir, "messages.json.tmp")
    _write_text(tmp, json.dumps({"status": status, "stdout": stdout, "stderr": stderr,
                                 "plots": plots, "sandbox": report}))
    os.replace(tmp, os.path.join(jobdir, "messages.json"))
    # the parent reads the results now, while this process frees ngspice and exits
    print("@@done", file=sys.stderr, flush=True)
    lib.ngSpice_Command(b"destroy all")
    lib.ngSpice_Command(b"remcirc")
    return 0


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def _dump(lib: ctypes.CDLL, path: str) -> dict[str, Any]:
    """Write every vector of every plot (oldest plot first) to ``path``; return where each is.

    The result maps ``p0``, ``p1`` ... to ``{"name": plot, "vectors": {name: [type, length,
    complex, offset]}}``; a vector's values are ``length`` little-endian doubles (pairs of
    them, re and im, when complex) starting ``offset`` bytes into the file.
    """
    plots: dict[str, Any] = {}
    offset = 0
    names = [n for n in _strings(lib.ngSpice_AllPlots()) if n != "const"]
    with open(path, "wb") as out:
        for i, plot in enumerate(reversed(names)):
            info_out: dict[str, list[Any]] = {}
            for vec in _strings(lib.ngSpice_AllVecs(plot.encode())):
                ptr = lib.ngGet_Vec_Info(f"{plot}.{vec}".encode())
                if not ptr:
                    continue
                info = ptr.contents
                n = max(int(info.v_length), 0)
                if info.v_compdata:
                    data = ctypes.string_at(info.v_compdata, n * 16)
                elif info.v_realdata:
                    data = ctypes.string_at(info.v_realdata, n * 8)
                else:
                    data = b""
                    n = 0
                out.write(data)
                info_out[vec.lower()] = [int(info.v_type), n, bool(info.v_compdata), offset]
                offset += len(data)
            plots[f"p{i}"] = {"name": plot, "vectors": info_out}
    return plots


def main(jobdir: str) -> int:
    """Run the job; a Python error ends the worker with one line on stderr and status 1."""
    try:
        return _run(jobdir)
    except MemoryError:
        print("the worker ran out of memory (the memory limit)", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
