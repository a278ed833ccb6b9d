"""Child process that runs one deck in the ngspice shared library (through PySpice).

Started by :mod:`neurospice.sim.ngspice` as ``python -m neurospice.sim.worker JOBDIR`` with
JOBDIR as its working directory and ``HOME``, so that no ``.spiceinit`` of the user's is
sourced. It reads ``JOBDIR/deck.cir``, runs every analysis, writes the vectors of each plot to
``JOBDIR/result.npz``, the raw file of the last plot to ``JOBDIR/result.raw`` and what ngspice
printed to ``JOBDIR/messages.json``. Progress goes to stderr as ``@@progress <analysis>
<percent>`` lines. Then it frees ngspice (``destroy all``, ``remcirc``) and exits.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

_SCALE_NAMES = ("time", "frequency")


def _die_with_parent() -> None:
    """Ask the kernel to kill this worker when the process that started it dies."""
    import ctypes
    import os
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent is already gone
        os._exit(1)


def _run(jobdir: Path) -> int:
    _die_with_parent()
    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    job = json.loads((jobdir / "job.json").read_text())
    # Load every Python module first (their files are read now), then lock the process down
    # before ngspice's shared library is opened: ngspice never runs outside the sandbox.
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi

    from neurospice.sim.sandbox import SandboxPolicy, SandboxUnavailable, apply, system_read_paths

    policy = SandboxPolicy(
        read_paths=tuple(system_read_paths() + job["read_paths"]),
        write_paths=(str(jobdir),),
        cpu_seconds=job.get("cpu_seconds"),
        address_space=job.get("address_space"),
        file_size=job.get("file_size"),
    )
    if job.get("sandbox", True):
        try:
            report = apply(policy).as_dict()
        except SandboxUnavailable as exc:
            (jobdir / "messages.json").write_text(json.dumps(
                {"status": "sandbox_error", "error": str(exc), "stdout": [], "stderr": [],
                 "plots": {}}))
            return 0
    else:
        report = {"no_new_privs": "off", "seccomp": "off", "landlock": "off",
                  "rlimits": "off", "notes": ["sandbox disabled"]}

    stdout: list[str] = []
    stderr: list[str] = []
    last_progress = [-10.0]

    class _Capture(NgSpiceShared):
        def send_char(self, message: str, ngspice_id: int) -> int:
            prefix, _, content = message.partition(" ")
            (stderr if prefix == "stderr" else stdout).append(content)
            return 0

        def send_stat(self, message: str, ngspice_id: int) -> int:
            # e.g. "tran: 45.3%"
            head, _, pct = message.partition(":")
            try:
                value = float(pct.strip().rstrip("%"))
            except ValueError:
                return 0
            if value - last_progress[0] >= 1.0 or value >= 100.0:
                last_progress[0] = value
                print(f"@@progress {head.strip()} {value:.1f}", file=sys.stderr, flush=True)
            return 0

    ng = _Capture.new_instance()
    lib = ng._ngspice_shared
    text = (jobdir / "deck.cir").read_text()
    lines = text.splitlines() + [""]
    keep = [ffi.new("char[]", line.encode("utf-8")) for line in lines] + [ffi.NULL]
    status = "ok"
    rc = lib.ngSpice_Circ(ffi.new("char *[]", keep))
    parse_failed = rc != 0 or any(s.strip().lower().startswith("error") for s in stderr)
    plots: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    if parse_failed:
        status = "parse_error"
    else:
        lib.ngSpice_Command(b"run")
        names = _string_array(ffi, lib.ngSpice_AllPlots())
        for i, plot in enumerate(reversed([n for n in names if n != "const"])):
            vecs = _string_array(ffi, lib.ngSpice_AllVecs(plot.encode()))
            info_out = {}
            for vec in vecs:
                info = lib.ngGet_Vec_Info(f"{plot}.{vec}".encode())
                if info == ffi.NULL:
                    continue
                n = info.v_length
                if info.v_compdata != ffi.NULL:
                    buf = np.frombuffer(ffi.buffer(info.v_compdata, n * 16), dtype=np.float64)
                    data = (buf[0::2] + 1j * buf[1::2]).copy()
                else:
                    data = np.frombuffer(ffi.buffer(info.v_realdata, n * 8), dtype=np.float64)
                    data = data.copy()
                key = f"p{i}/{vec.lower()}"
                arrays[key] = data
                info_out[vec.lower()] = int(info.v_type)
            plots[f"p{i}"] = {"name": plot, "vectors": info_out}
        if names and names[0] != "const":
            lib.ngSpice_Command(b"set filetype=binary")
            lib.ngSpice_Command(f"write {jobdir / 'result.raw'}".encode())
    np.savez(jobdir / "result.npz", **arrays)  # type: ignore[arg-type]
    (jobdir / "messages.json").write_text(
        json.dumps({"status": status, "stdout": stdout, "stderr": stderr, "plots": plots,
                    "sandbox": report})
    )
    lib.ngSpice_Command(b"destroy all")
    lib.ngSpice_Command(b"remcirc")
    return 0


def _string_array(ffi: Any, array: Any) -> list[str]:
    out: list[str] = []
    if array == ffi.NULL:
        return out
    i = 0
    while array[i] != ffi.NULL:
        out.append(ffi.string(array[i]).decode("utf-8", "replace"))
        i += 1
    return out


if __name__ == "__main__":
    sys.exit(_run(Path(sys.argv[1])))
