"""Decks from strangers: what the parent bounds of a worker's job folder and of its results.

An ``--allow-control`` deck runs its control block inside the sandbox, which lets it write in
its job folder only, each file at most the file-size limit; the parent measures the folder while
the worker runs and stops it past a total (``RunLimits.job_folder``, ``job_files``), and reads
the worker's results and messages only up to limits of its own (``result.bin`` against
``--max-points`` and the vector count). Each case runs the hostile deck for real; the limits are
lowered so that the cases stay small.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neurospice.cli.main import main
from neurospice.errors import SimulationError
from neurospice.sim import ngspice, process
from neurospice.sim.process import JobFolderFull, RunLimits, job_folder_usage
from neurospice.spice.deck import prepare_deck

#: a 2 ms transient of a 1 kHz sine: 2008 time points, each ``wrdata`` file about 70 kB
HEAD = ["hostile writer", "V1 a 0 SIN(0 1 1k)", "R1 a 0 1k", ".tran 1u 2m", ".control", "run"]
N_FILES = 3000


def _deck(folder: Path, control: list[str], head: list[str] = HEAD) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "writer.cir"
    path.write_text("\n".join([*head, *control, ".endc", ".end"]) + "\n")
    return path


def _held(message: str) -> tuple[float, int]:
    """(MiB, files) the message says the folder held when the run was stopped."""
    m = re.search(r"it held ([0-9.e+]+) MiB in (\d+) files", message)
    assert m, message
    return float(m.group(1)), int(m.group(2))


def test_many_files_stop_the_run_past_the_folder_limit(tmp_path: Path) -> None:
    """3000 ``wrdata`` files of 70 kB (200 MB) against a 4 MiB folder: the run stops with a
    message naming the limit, long before the deck's last file, and nothing comes back."""
    deck = prepare_deck(_deck(tmp_path / "d", [f"wrdata out{i}.txt v(a)" for i in range(N_FILES)]),
                        control="allow")
    with pytest.raises(JobFolderFull) as err:
        ngspice.run_all(deck, limits=RunLimits(job_folder=4 << 20))
    msg = str(err.value)
    assert "writer.cir" in msg and "4 MiB" in msg and "nothing was kept" in msg
    mib, files = _held(msg)
    # the folder passed the limit (the worker was stopped for it) but held a small part of
    # the 200 MB the deck writes (about one file past the limit is usual: 4.01-4.07 MiB)
    assert mib >= 4.0  # (printed to 3 digits)
    assert files < N_FILES // 10
    assert mib < 4.0 + 0.07 * (N_FILES // 10)


def test_many_empty_files_stop_the_run_past_the_file_count(tmp_path: Path) -> None:
    """Files of one value each: their bytes stay small, their number is capped."""
    head = ["hostile writer", "V1 a 0 1", "R1 a 0 1k", ".op", ".control", "run"]
    deck = prepare_deck(_deck(tmp_path / "d", [f"wrdata e{i} v(a)" for i in range(N_FILES)],
                              head), control="allow")
    with pytest.raises(JobFolderFull) as err:
        ngspice.run_all(deck, limits=RunLimits(job_files=100))
    mib, files = _held(str(err.value))
    assert "at most 100 files" in str(err.value)
    assert 100 < files < N_FILES // 2
    assert mib < 64


def test_a_deck_within_the_limits_runs(tmp_path: Path) -> None:
    """The same writer with 20 files under a 4 MiB limit runs to its end (its sine comes back):
    the limit stops only what passes it."""
    deck = prepare_deck(_deck(tmp_path / "d", [f"wrdata out{i}.txt v(a)" for i in range(20)]),
                        control="allow")
    wf = ngspice.run_all(deck, limits=RunLimits(job_folder=4 << 20))[-1]
    assert abs(float(wf.vectors["v(a)"].max()) - 1.0) < 1e-3
    assert wf.scale[-1] == pytest.approx(2e-3)


def test_command_line_exits_1_when_the_folder_fills(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "JOB_FOLDER_BYTES", 2 << 20)
    path = _deck(tmp_path / "d", [f"wrdata out{i}.txt v(a)" for i in range(N_FILES)])
    status = main(["simulate", str(path), "--allow-control", "-q", "--no-plot",
                   "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "more than the job folder may hold (2 MiB" in err
    assert "Traceback" not in err and "internal error" not in err
    assert not (tmp_path / "out" / "waveforms.csv").exists()


def test_job_folder_usage_counts_blocks_and_entries_not_results(tmp_path: Path) -> None:
    (tmp_path / "result.bin").write_bytes(b"x" * 1_000_000)  # the worker's own: no bytes
    for i in range(10):
        (tmp_path / f"f{i}").write_bytes(b"y")  # one byte each, a block each on disk
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "big").write_bytes(b"z" * 50_000)
    (tmp_path / "link").symlink_to(sub / "big")  # counted as itself, not followed
    size, files = job_folder_usage(tmp_path, 1000)
    assert files == 1 + 10 + 1 + 1 + 1
    counted = [*(tmp_path / f"f{i}" for i in range(10)), sub, sub / "big", tmp_path / "link"]
    expected = sum(max(st.st_size, st.st_blocks * 512) for st in (p.lstat() for p in counted))
    assert size == expected
    assert 50_000 + 10 <= size < 1_000_000


# ------------------------------------------------------------ what the parent reads of results

def _long_vector_deck(folder: Path, extra: list[str]) -> Path:
    return _deck(folder, extra)


def test_results_longer_than_the_point_limit_are_refused_unread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A control block adds a vector of 2e6 values (16 MB) to a 2000-point transient checked
    against --max-points 1e4: the parent reads at most 4 x 1e4 complex values per vector (0.64 MB
    each) and refuses the file with a message, unread."""
    from neurospice.spice.compiler import Limits

    monkeypatch.setattr(ngspice, "RESULT_FLOOR", 0)
    path = _long_vector_deck(tmp_path / "d", ["let big = vector(2000000)"])
    deck = prepare_deck(path, control="allow", limits=Limits(max_points=1e4))
    read: list[Path] = []
    monkeypatch.setattr(ngspice, "_load_plots",
                        lambda jobdir, messages: read.append(jobdir) or [])
    with pytest.raises(SimulationError) as err:
        ngspice.run_all(deck)
    msg = str(err.value)
    assert "writer.cir" in msg and "more than the" in msg and "nothing was read" in msg
    m = re.search(r"the results are ([0-9.]+) MiB, more than the ([0-9.]+) MiB", msg)
    assert m, msg
    assert float(m.group(1)) > 15.0  # the 2e6 doubles were written by the worker
    # 4 x 1e4 complex values per vector, for each vector of the two transients (3 to 10)
    per_vector = float(m.group(2)) * (1 << 20) / (4 * 1e4 * 16)
    assert 3 <= round(per_vector) <= 10 and abs(per_vector - round(per_vector)) < 0.01
    assert read == []  # refused before the loading began


def test_results_within_the_point_limit_load(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The same transient without the long vector, same limits: its 2008 points are within 4 x
    1e4 and the sine comes back (the limit leaves room for a transient's extra steps)."""
    from neurospice.spice.compiler import Limits

    monkeypatch.setattr(ngspice, "RESULT_FLOOR", 0)
    path = _long_vector_deck(tmp_path / "d", [])
    deck = prepare_deck(path, control="allow", limits=Limits(max_points=1e4))
    wf = ngspice.run_all(deck)[-1]
    assert len(wf.scale) > 2000
    assert abs(float(wf.vectors["v(a)"].min()) + 1.0) < 1e-3


def test_command_line_exits_1_for_results_over_the_limit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ngspice, "RESULT_FLOOR", 0)
    path = _long_vector_deck(tmp_path / "d", ["let big = vector(2000000)"])
    status = main(["simulate", str(path), "--allow-control", "-q", "--no-plot",
                   "--max-points", "1e4", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "MiB the parent reads" in err and "--max-points" in err
    assert "Traceback" not in err and "internal error" not in err


def test_messages_past_their_limit_are_refused_unread(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A control block printing a 200,000-value vector: ngspice's printed lines pass a lowered
    limit on what the parent reads of the worker's messages."""
    monkeypatch.setattr(ngspice, "MESSAGES_LIMIT", 1 << 20)
    path = _deck(tmp_path / "d", ["let big = vector(200000)", "print big"])
    deck = prepare_deck(path, control="allow")
    with pytest.raises(SimulationError, match=r"MiB of messages, more than the 1 MiB"):
        ngspice.run_all(deck)


def test_vector_outside_the_result_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "result.bin").write_bytes(b"\0" * 80)
    ok = {"plots": {"p0": {"name": "tran1", "vectors": {"time": [1, 10, False, 0]}}}}
    ngspice._check_results(tmp_path, ok, "d.cir", 1000)
    for bad in ([1, 11, False, 0], [1, 5, True, 8], [1, -1, False, 0], [1, 1, False, -8],
                [1, "x", False, 0], [1]):
        messages = {"plots": {"p0": {"name": "tran1", "vectors": {"time": bad}}}}
        with pytest.raises(SimulationError, match="outside its result file"):
            ngspice._check_results(tmp_path, messages, "d.cir", 1000)
    with pytest.raises(SimulationError, match="more than the"):
        ngspice._check_results(tmp_path, ok, "d.cir", 79)
