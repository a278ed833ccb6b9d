"""The simulate command end to end: summary, files, locking report, Monte Carlo, help."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from neurospice.analysis.spikes import spike_stats
from neurospice.sim.process import _worker_path

from helpers import DATA, ROOT, run_cli

TOY = DATA / "decks" / "toy_pair.cir"


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("toy")
    proc = run_cli("simulate", TOY, "-o", out, "-q", "--t-skip", "0.2")
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_summary_names_both_neurons_with_equal_frequencies(toy_run: tuple[Path, str]) -> None:
    out, stdout = toy_run
    summary = json.loads((out / "summary.json").read_text())
    names = [n["name"] for n in summary["neurons"]]
    assert names == ["master", "slave"]
    f = [n["stats"]["frequency_hz"] for n in summary["neurons"]]
    # rc = 2 couples strongly: the slave runs at the master's frequency (1:1)
    assert f[0] == pytest.approx(f[1], rel=1e-3)
    assert 20 < f[0] < 30
    assert "neuron master" in stdout and "neuron slave" in stdout
    assert "master -> slave" in stdout and "overall 1:1" in stdout


def test_waveform_table_reproduces_the_summary(toy_run: tuple[Path, str]) -> None:
    out, _ = toy_run
    with (out / "waveforms.csv").open() as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    assert header[0] == "time [s]" and "master.mem [V]" in header  # the neuron's name
    data = np.array(rows[1:], dtype=float)
    t, v = data[:, 0], data[:, header.index("master.mem [V]")]
    stats = spike_stats(t, v, t_skip=0.2)
    summary = json.loads((out / "summary.json").read_text())
    assert stats.frequency_hz == pytest.approx(summary["neurons"][0]["stats"]["frequency_hz"],
                                               rel=1e-3)


def test_plots_are_written_and_the_raw_file_only_when_asked(toy_run: tuple[Path, str],
                                                             tmp_path: Path) -> None:
    out, _ = toy_run
    for name in ("traces.png", "locking_master_slave.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "toy_pair.raw").exists()
    proc = run_cli("simulate", TOY, "-o", tmp_path, "-q", "--tstop", "0.1", "--no-plot", "--raw")
    assert proc.returncode == 0, proc.stderr
    assert b"Transient Analysis" in (tmp_path / "toy_pair.raw").read_bytes()[:300]
    assert "toy_pair.raw" in proc.stdout


def test_locking_data_in_summary(toy_run: tuple[Path, str]) -> None:
    out, _ = toy_run
    pairs = json.loads((out / "summary.json").read_text())["pairs"]
    data = next(p for p in pairs if (p["master"], p["slave"]) == ("master", "slave"))
    assert data["ratio"] == "1:1" and data["locked_fraction"] == pytest.approx(1.0)


def test_weak_coupling_is_reported_unlocked(tmp_path: Path) -> None:
    proc = run_cli("simulate", TOY, "-o", tmp_path, "-q", "--t-skip", "0.2", "--param",
                   "rc=1meg", "--no-plot")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "summary.json").read_text())["pairs"][0]
    assert (data["master"], data["slave"]) == ("master", "slave")
    assert data["mode"] != "1:1"
    assert data["ratio_value"] == pytest.approx(1.245, rel=0.02)  # natural frequencies' ratio


def test_monte_carlo_runs_use_distinct_seeds(tmp_path: Path) -> None:
    deck = tmp_path / "noisy.cir"
    deck.write_text(
        "A resistor divider with a random (seeded) source\n"
        "Vn in 0 dc 0 trrandom(2 1m 0 1 0)\n"
        "R1 in out 1k\nR2 out 0 1k\n"
        ".tran 0.1m 20m\n.end\n"
    )
    proc = run_cli("simulate", deck, "--runs", "3", "--seed", "11", "-o", tmp_path / "o", "-q")
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "o" / "runs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["seed"]) for r in rows] == [11, 12, 13]
    assert all(r["status"] == "ok" for r in rows)
    # the same seed twice gives the same waveform, another seed a different one
    a = run_cli("simulate", deck, "--seed", "11", "-o", tmp_path / "a", "-q", "--no-plot")
    b = run_cli("simulate", deck, "--seed", "11", "-o", tmp_path / "b", "-q", "--no-plot")
    c = run_cli("simulate", deck, "--seed", "12", "-o", tmp_path / "c", "-q", "--no-plot")
    assert a.returncode == b.returncode == c.returncode == 0
    wa, wb, wc = (np.loadtxt(tmp_path / d / "waveforms.csv", delimiter=",", skiprows=1)
                  for d in "abc")
    assert np.array_equal(wa, wb)
    assert wa.shape != wc.shape or not np.allclose(wa, wc)


def test_help_documents_every_option() -> None:
    proc = run_cli("simulate", "--help")
    assert proc.returncode == 0
    for opt in ("--output", "--param", "--tstop", "--runs", "--seed", "--sweep", "--workers",
                "--scheduler", "--resume", "--timeout", "--no-plot", ".control"):
        assert opt in proc.stdout


def test_check_reports_neurons() -> None:
    proc = run_cli("check", TOY)
    assert proc.returncode == 0
    assert "xmaster" in proc.stdout and "xslave" in proc.stdout


def test_no_plot_run_loads_no_plotting_scipy_or_progress_bar(tmp_path: Path) -> None:
    """--no-plot keeps matplotlib, scipy.ndimage/signal, tqdm and the model engine's numba off
    the run (issue: simulate at bare-ngspice cost); the worker loads neither numpy nor
    PySpice."""
    code = (
        "import sys\n"
        "from neurospice.cli.main import main\n"
        f"status = main(['simulate', {str(TOY)!r}, '-o', {str(tmp_path)!r}, '-q', '--no-plot',"
        " '--tstop', '0.2'])\n"
        "heavy = [m for m in ('matplotlib', 'scipy.ndimage', 'scipy.signal', 'tqdm', 'lark',"
        " 'pandas', 'pyarrow', 'numba') if m in sys.modules]\n"
        "print(status, ','.join(heavy) or '-')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.stdout.split()[-2:] == ["0", "-"], proc.stdout + proc.stderr
    worker = (ROOT / "neurospice" / "sim" / "worker.py").read_text()
    assert not re.search(r"^\s*(import|from)\s+(numpy|PySpice)\b", worker, re.M)


@pytest.mark.parametrize("args", [["missing.cir"], [str(TOY), "--bogus-option"],
                                  [str(TOY), "--tstop", "-1"]],
                         ids=["missing file", "unknown option", "bad stop time"])
def test_a_worker_started_ahead_is_closed_when_the_command_fails(args: list[str]) -> None:
    """The console script starts the ngspice worker before parsing its arguments; a command
    that fails must leave neither the process nor its job folder behind."""
    proc = subprocess.Popen([sys.executable, "-m", "neurospice.cli.main", "simulate", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert not list(Path(tempfile.gettempdir()).glob(f"neurospice-job-{proc.pid}-*"))
    # an exec'd worker has its job folder on its command line; a forked one is nsw<parent pid>
    left = subprocess.run(["pgrep", "-f", f"neurospice-job-{proc.pid}-"], capture_output=True,
                          text=True).stdout.split()
    left += subprocess.run(["pgrep", "-x", f"nsw{proc.pid}"], capture_output=True,
                           text=True).stdout.split()
    assert left == []


def test_a_worker_started_ahead_runs_a_deck_reached_through_a_symlink(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's ``netlists`` is a symlink: the worker the console script starts ahead
    must run the deck (its job names the folder as the compiler resolves it), not be closed
    for a second worker whose start-up the user then waits for."""
    from neurospice.cli.main import main
    from neurospice.sim import ngspice, process

    link = tmp_path / "decks"
    link.symlink_to(TOY.parent, target_is_directory=True)
    ahead = process.spawn_worker()
    started: list[object] = []
    real_start = ngspice.start_worker
    monkeypatch.setattr(ngspice, "start_worker",
                        lambda *a, **k: started.append(a) or real_start(*a, **k))
    monkeypatch.setattr(process, "spawn_worker",
                        lambda *a, **k: started.append(a) or process.Worker(*a, **k))
    status = main(["simulate", str(link / TOY.name), "-o", str(tmp_path / "out"), "-q",
                   "--no-plot", "--tstop", "0.05"], worker=ahead)
    assert status == 0
    assert started == []
    assert ahead.proc.poll() is not None  # it ran the deck and ended


def test_the_package_and_the_worker_modules_load_light() -> None:
    """Every run's critical path starts with the worker's modules (forked or exec'd) and the
    package itself: they load no typing, pathlib or dataclasses (7 ms of a worker's start), and
    the package's public names (the error classes, the API) still resolve on first use."""
    code = (
        "import sys\n"
        "import neurospice, neurospice.sim.worker, neurospice.sim.sandbox, neurospice.sim.early\n"
        "heavy = [m for m in ('typing', 'pathlib', 'dataclasses', 'neurospice.errors')"
        " if m in sys.modules]\n"
        "print(','.join(heavy) or '-')\n"
        "from neurospice.errors import DeckError\n"
        "assert neurospice.DeckError is DeckError\n"
        "assert set(neurospice.__all__) <= set(dir(neurospice))\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60,
                          env={"PYTHONPATH": os.pathsep.join(_worker_path()),
                               "PATH": "/usr/bin:/bin"})  # the worker's own module path
    assert proc.stdout.split() == ["-", "ok"], proc.stdout + proc.stderr
