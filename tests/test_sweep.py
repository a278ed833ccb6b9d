"""Sweeps: parallel local runs, failures recorded, resume, and a real Dask cluster on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import neurospice.batch.sweep as sweep
from neurospice.batch.sweep import grid, parse_sweep, read_table, run_sweep
from neurospice.errors import NeurospiceInputError
from neurospice.sim.options import RunOptions
from neurospice.spice.deck import DeckError, prepare_deck

from helpers import DATA, run_cli

TOY = DATA / "decks" / "toy_pair.cir"
AXES = [parse_sweep("rc=2:20:2"), parse_sweep("boom=0:1:2")]


def test_parse_sweep_with_si_suffixes() -> None:
    axis = parse_sweep("R2=1k:20k:3")
    assert axis.name == "r2" and axis.values == pytest.approx([1e3, 10.5e3, 20e3])


@pytest.mark.parametrize("spec", ["r2", "r2=1k:2k", "r2=a:b:3", "r2=1:2:0"])
def test_bad_sweep_specs_are_input_errors(spec: str) -> None:
    with pytest.raises(NeurospiceInputError, match=f"^grid '{spec}': "):  # the API's grid=
        parse_sweep(spec)


def test_grid_is_the_cartesian_product() -> None:
    pts = grid(AXES)
    assert len(pts) == 4
    assert pts[1] == {"rc": 2.0, "boom": 1.0}


def test_sweeping_an_unknown_param_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeckError,
                       match=r"nosuch\W{0,3}: the deck has no top-level .param or component"):
        run_sweep(prepare_deck(TOY), [parse_sweep("nosuch=1:2:2")], tmp_path,
                  RunOptions(quiet=True))


def _by_point(rows: list[dict]) -> dict[int, dict]:
    return {int(r["point"]): r for r in rows}


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("sweep_local")
    rows = run_sweep(prepare_deck(TOY), AXES, out, RunOptions(workers=2, quiet=True, t_skip=0.2))
    return out, rows


def test_local_sweep_records_modes_and_failures(local_rows: tuple[Path, list[dict]]) -> None:
    out, rows = local_rows
    by = _by_point(rows)
    assert len(by) == 4
    # boom = 1 makes the transient fail to converge: recorded, the others still ran
    for i in (1, 3):
        assert by[i]["status"] == "failed"
        assert "timestep too small" in by[i]["error"] and "t = 0.3" in by[i]["error"]
    assert by[0]["status"] == "ok" and by[0]["mode"] == "1:1"  # strong coupling (rc = 2)
    assert by[2]["status"] == "ok" and by[2]["mode"] != "1:1"  # weak coupling (rc = 20)
    assert float(by[0]["f_master_hz"]) == pytest.approx(float(by[0]["f_slave_hz"]), rel=1e-3)
    table = read_table(out / "sweep.csv")
    assert sorted(int(r["point"]) for r in table) == [0, 1, 2, 3]


def test_resume_runs_only_the_missing_points(
    local_rows: tuple[Path, list[dict]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, _ = local_rows
    lines = (src / "sweep.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    kept = [line for line in body if not line.startswith("2,")]
    (tmp_path / "sweep.csv").write_text("\n".join([header, *kept]) + "\n")
    calls: list[int] = []
    real = sweep.run_point

    def counting(*args):  # type: ignore[no-untyped-def]
        calls.append(args[3])
        return real(*args)

    monkeypatch.setattr(sweep, "run_point", counting)
    rows = run_sweep(prepare_deck(TOY), AXES, tmp_path,
                     RunOptions(workers=2, quiet=True, resume=True, t_skip=0.2))
    # point 2 was missing; 1 and 3 had failed, so they are tried again; 0 is kept
    assert sorted(calls) == [1, 2, 3]
    assert len(rows) == 4 and _by_point(rows)[2]["status"] == "ok"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A real Dask scheduler and two single-threaded workers over TCP on 127.0.0.1."""
    work = tmp_path_factory.mktemp("dask")
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    bindir = Path(sys.executable).parent
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--dashboard-address", ":0"],
                              cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    time.sleep(2)
    for i in range(2):
        procs.append(subprocess.Popen(
            [str(bindir / "dask"), "worker", addr, "--nthreads", "1", "--nworkers", "1",
             "--host", "127.0.0.1", "--name", f"w{i}", "--no-dashboard"],
            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    with Client(addr, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
        workers = len(client.scheduler_info()["workers"])
    yield addr, workers
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


@pytest.mark.slow
def test_dask_sweep_matches_local_point_for_point(
    dask_cluster: tuple[str, int], local_rows: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    addr, workers = dask_cluster
    assert workers == 2
    _, local = local_rows
    rows = run_sweep(prepare_deck(TOY), AXES, tmp_path,
                     RunOptions(scheduler=addr, quiet=True, t_skip=0.2))
    a, b = _by_point(local), _by_point(rows)
    assert a.keys() == b.keys()
    for i in a:
        assert a[i]["status"] == b[i]["status"]
        if a[i]["status"] == "ok":
            assert a[i]["mode"] == b[i]["mode"]
            assert float(a[i]["f_slave_hz"]) == pytest.approx(float(b[i]["f_slave_hz"]), rel=1e-9)
            assert float(a[i]["locked_fraction"]) == pytest.approx(
                float(b[i]["locked_fraction"]), abs=1e-12)


def test_cli_sweep_writes_table_and_map(tmp_path: Path) -> None:
    proc = run_cli("simulate", TOY, "--sweep", "rc=2:20:2", "-o", tmp_path, "-q",
                   "--t-skip", "0.2")
    assert proc.returncode == 0, proc.stderr
    rows = read_table(tmp_path / "sweep.csv")
    assert [r["mode"] for r in sorted(rows, key=lambda r: int(r["point"]))][0] == "1:1"
    png = (tmp_path / "sweep_map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_tolerance_builds_on_dask_match_local_ones(dask_cluster: tuple[str, int]) -> None:
    from neurospice.batch.tolerance import parse_tolerance, run_tolerance

    deck = prepare_deck(TOY).with_tstop(0.4)
    tols = [parse_tolerance("R=5%"), parse_tolerance("C=10%")]
    local = run_tolerance(deck, tols, RunOptions(runs=3, seed=5))
    remote = run_tolerance(deck, tols, RunOptions(runs=3, seed=5, scheduler=dask_cluster[0]))
    assert [r["seed"] for r in remote] == [5, 6, 7]
    for a, b in zip(local, remote, strict=True):
        assert {k: v for k, v in a.items() if k.startswith("d:")} == {
            k: v for k, v in b.items() if k.startswith("d:")}  # the same draws per build
        assert a["f_master_hz"] == pytest.approx(b["f_master_hz"], rel=1e-9)
