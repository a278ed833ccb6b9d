"""A wheel that works: built from the tree, installed (not editable) into a fresh virtual
environment, it finds its own parts library and simulates a deck outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from helpers import ROOT

DECK = """\
A user's neuron outside the repository, on the shipped library
.include lib/parts.lib
.include lib/fhn.lib
.param c0=2.2u pot=0.6
Xn1 mem out fhn c0={c0} pot={pot}
.ic v(mem)=0.1
.tran 50u 0.4 0 50u uic
.end
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(dist)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    wheels = list(dist.glob("neurospice-*.whl"))
    assert len(wheels) == 1
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=300)
    py = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
         str(wheels[0])], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    # the dependencies come from this environment's site-packages (a .pth entry: its own .pth
    # files, the editable neurospice among them, are not run), so nothing is downloaded
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    Path(site.stdout.strip(), "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_wheel_carries_the_library(installed: Path) -> None:
    py = installed / "bin" / "python"
    out = subprocess.run([str(py), "-c", "import neurospice, pathlib; "
                          "print(neurospice.__file__); print(neurospice.NETLISTS_DIR)"],
                         capture_output=True, text=True, cwd=installed, check=True)
    module, netlists = out.stdout.split()
    assert module.startswith(str(installed))
    assert (Path(netlists) / "lib" / "fhn.lib").is_file()
    assert (Path(netlists) / "coupled_fhn.cir").is_file()


def test_installed_simulate_runs_a_deck_outside_the_repository(installed: Path,
                                                              tmp_path: Path) -> None:
    deck = tmp_path / "mydeck.cir"
    deck.write_text(DECK)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(installed / "bin" / "simulate"), str(deck), "--no-plot", "-q"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "neuron n1" in proc.stdout and "spiking" in proc.stdout
    assert (tmp_path / "mydeck_out" / "waveforms.csv").is_file()


def test_notebook_sized_example_runs_from_any_folder(installed: Path, tmp_path: Path) -> None:
    code = ("import neurospice; r = neurospice.simulate(str(neurospice.NETLISTS_DIR / "
            "'coupled_fhn.cir'), tstop=0.5); print(r.to_dataframe().shape)")
    proc = subprocess.run([str(installed / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows, cols = eval(proc.stdout.strip())  # noqa: S307 - our own printed tuple
    assert rows > 1000 and cols >= 2
