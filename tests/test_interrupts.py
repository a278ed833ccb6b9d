"""Nothing lost: killed and interrupted sweeps resume to the same table; a full disk leaves no
truncated file; no worker process or job folder outlives its run."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from helpers import DATA, ROOT

TOY = DATA / "decks" / "toy_pair.cir"
SWEEP = ["--sweep", "rc=1:12:12", "--tstop", "6", "--workers", "2", "-q", "--no-plot"]


def _simulate(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "neurospice.cli.main", "simulate",
                             *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _wait_for_rows(table: Path, n: int, proc: subprocess.Popen[str], limit: float = 120) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if table.is_file():
            try:
                if len(_rows(table)) >= n:
                    return
            except (OSError, csv.Error):
                pass
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before {n} rows: {proc.stderr.read()}")  # type: ignore
        time.sleep(0.05)
    pytest.fail("no rows appeared")


def _workers_of(pid: int) -> list[str]:
    """Worker processes of ``pid``: exec'd ones name their job folder on their command line,
    the one the console script forks is named ``nsw<pid>``."""
    out = subprocess.run(["pgrep", "-f", f"neurospice-job-{pid}-"], capture_output=True,
                         text=True).stdout.split()
    return out + subprocess.run(["pgrep", "-x", f"nsw{pid}"], capture_output=True,
                                text=True).stdout.split()


def _job_dirs_of(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"neurospice-job-{pid}-*"))


def _comparable(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(rows, key=lambda r: int(r["point"]))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    out = tmp_path_factory.mktemp("uninterrupted")
    proc = _simulate(TOY, "-o", out, *SWEEP)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    rows = _rows(out / "sweep.csv")
    assert len(rows) == 12
    return _comparable(rows)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM],
                         ids=["sigkill", "sigint", "sigterm"])
def test_interrupted_sweep_resumes_to_the_uninterrupted_table(
        tmp_path: Path, reference: list[dict[str, str]], sig: signal.Signals) -> None:
    out = tmp_path / "out"
    proc = _simulate(TOY, "-o", out, *SWEEP)
    _wait_for_rows(out / "sweep.csv", 2, proc)
    proc.send_signal(sig)
    proc.communicate(timeout=30)  # a bound, not a speed figure: it must stop by itself
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130
    # the kernel takes the workers down with their parent: no orphan is left running
    deadline = time.monotonic() + 10
    while _workers_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers_of(proc.pid) == []
    kept = _rows(out / "sweep.csv")
    assert 2 <= len(kept) < 12 or sig != signal.SIGKILL
    assert all(r["status"] == "ok" for r in kept)
    # resume: only the missing points run, and the table equals the uninterrupted one
    again = _simulate(TOY, "-o", out, "--resume", *SWEEP)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    final = _comparable(_rows(out / "sweep.csv"))
    assert final == reference
    assert _job_dirs_of(proc.pid) == []


def test_resume_ignores_rows_of_other_settings(tmp_path: Path,
                                              reference: list[dict[str, str]]) -> None:
    out = tmp_path / "out"
    proc = _simulate(TOY, "-o", out, *SWEEP[:-6], "--tstop", "0.3", "--workers", "2", "-q",
                     "--no-plot")
    proc.communicate(timeout=600)
    first = {r["key"] for r in _rows(out / "sweep.csv")}
    again = _simulate(TOY, "-o", out, "--resume", *SWEEP)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    final = _comparable(_rows(out / "sweep.csv"))
    assert final == reference  # rewritten for tstop 6, not appended
    assert not first & {r["key"] for r in final}


def test_second_run_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _simulate(TOY, "-o", out, *SWEEP)
    _wait_for_rows(out / "sweep.csv", 1, first)
    second = _simulate(TOY, "-o", out, *SWEEP)
    _, err = second.communicate(timeout=120)
    first.communicate(timeout=600)
    assert second.returncode == 2
    assert "another neurospice run is writing into" in err
    assert first.returncode == 0
    assert len(_rows(out / "sweep.csv")) == 12


@pytest.fixture()
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_exits_1_and_truncates_nothing(small_disk: Path) -> None:
    out = small_disk / "out"
    rc = DATA / "decks" / "rc.cir"
    ok = _simulate(rc, "-o", out, "-q", "--tstop", "1m")
    _, err = ok.communicate(timeout=120)
    assert ok.returncode == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert "waveforms.csv" in before and "traces.png" in before
    # a run whose outputs cannot fit: 50,000 points of waveforms into what is left of 400 kB
    big = _simulate(rc, "-o", out, "-q", "--tstop", "0.5", "--param", "rval=1",
                    "--full-resolution")
    _, err = big.communicate(timeout=300)
    assert big.returncode == 1, err
    assert "disk is full" in err and "Traceback" not in err
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    for name, data in after.items():
        assert not name.endswith(".tmp"), f"temporary file {name} left behind"
        if name in before:
            assert data == before[name], f"{name} changed"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_interrupted_single_run_leaves_no_worker_folder_or_partial_file(
        tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "out"
    proc = _simulate(TOY, "-o", out, "-q", "--tstop", "60", "--no-plot")
    deadline = time.monotonic() + 60
    while not _workers_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers_of(proc.pid), "the worker never started"
    time.sleep(0.5)  # ngspice is running
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while _workers_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers_of(proc.pid) == []
    assert _job_dirs_of(proc.pid) == []
    assert not (out / "waveforms.csv").exists()
    if out.exists():
        assert not list(out.glob("*.tmp*"))
