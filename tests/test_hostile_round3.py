"""Decks from strangers, round three: the sandbox's read rules, the parent process, the output
folder as an attack surface, names that become paths, the scheduler, bounds and messages.

Every case says what a stranger's file or folder tries, and asserts the documented outcome:
the exit status (2 for refused input, 1 for a run that cannot complete, 0 where the right
answer is to run and keep everything inside), the words of the message, that no canary exists
(nothing ran, nothing was written outside) and that secrets' text is not echoed back, and that
no message is an internal error. The cases run in-process through ``main`` (the command line)
or through the library calls they attack.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from neurospice.cli.main import main
from neurospice.errors import NeurospiceInputError
from neurospice.files import (
    OutputError,
    OutputLock,
    atomic_copy,
    atomic_write_text,
    check_output_path,
    output_name,
    printable,
    shared_folder,
    write_crash_log,
)

from helpers import DATA, ROOT

RC = (DATA / "decks" / "rc.cir").read_text()
PAIR = (DATA / "decks" / "toy_pair.cir").read_text()
SECRET = "s3cr3t-Pa55word"
NETRC = f"machine example.org login me password {SECRET}\n"
#: a library whose subcircuit name must never be listed back from outside the tree
SECRET_LIB = f".subckt leaked_{SECRET.replace('-', '_')} a b\nR1 a b 1k\n.ends\n"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    out = capsys.readouterr()
    assert "internal error" not in out.err, out.err
    assert "Traceback" not in out.err, out.err
    return status, out.out, out.err


def _deck(folder: Path, text: str = RC, name: str = "deck.cir") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _simulate(deck: Path, *extra: str) -> list[str]:
    return ["simulate", str(deck), "-q", "--no-plot", *extra]


# ------------------------------------------------------------------ the deck's tree (2, a)


def test_deck_directly_in_home_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(NETRC)
    monkeypatch.setenv("HOME", str(home))
    deck = _deck(home, RC.replace(".end", ".include .netrc\n.end"))
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 2
    assert "directly in your home folder" in err and "folder of its own" in err
    assert SECRET not in err
    assert not (home / "deck_out" / "waveforms.csv").exists()


def test_deck_directly_in_the_temporary_folder_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "other-users-download.txt").write_text(SECRET)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    deck = _deck(tmp, RC.replace(".end", ".include other-users-download.txt\n.end"))
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 2
    assert "the temporary folder" in err
    assert SECRET not in err


def test_network_file_directly_in_home_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.lib").write_text(SECRET_LIB)
    monkeypatch.setenv("HOME", str(home))
    net = _deck(home, 'use "secret.lib"\nneuron a : fhn\nsource v : dc 1\nv -> load(1k) -> a\n'
                "tran 1ms\n", "net.nsn")
    for command in (_simulate(net), ["check", str(net)], ["build", str(net)]):
        status, out, err = _run(command, capsys)
        assert status == 2, command
        assert "home folder" in err
        assert "leaked" not in err + out


def test_check_command_refuses_a_deck_in_home_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    deck = _deck(tmp_path)
    status, _, err = _run(["check", str(deck)], capsys)
    assert status == 2 and "home folder" in err


def test_deck_in_a_folder_of_its_own_under_home_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    deck = _deck(tmp_path / "project")
    status, _, err = _run(["check", str(deck)], capsys)
    assert status == 0, err


def test_shared_folders_are_recognised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert shared_folder("/") == "the root folder"
    assert shared_folder(tmp_path) == "your home folder"
    assert shared_folder(tempfile.gettempdir()) == "the temporary folder"
    assert shared_folder(tmp_path / "project") is None


def test_api_deck_text_does_not_take_the_working_folder_as_its_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from neurospice.api import check

    (tmp_path / ".netrc").write_text(NETRC)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NeurospiceInputError) as info:
        check("api deck\n.include .netrc\nR1 a 0 1k\n.op\n.end\n")
    assert SECRET not in str(info.value)
    assert "not found" in str(info.value)


def test_api_deck_text_with_base_dir_includes_from_it(tmp_path: Path) -> None:
    from neurospice.api import check

    (tmp_path / "parts.inc").write_text("R2 a 0 2k\n")
    deck = check("api deck\n.include parts.inc\nR1 a 0 1k\nV1 a 0 1\n.op\n.end\n",
                 base_dir=tmp_path)
    assert "2k" in deck.text.lower() or "2000" in deck.text


def test_api_network_text_reads_nothing_from_the_working_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from neurospice.api import build

    (tmp_path / "secret.lib").write_text(SECRET_LIB)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NeurospiceInputError) as info:
        build('use "secret.lib"\nneuron a : fhn\nsource v : dc 1\nv -> load(1k) -> a\n')
    assert "leaked" not in str(info.value)


# ---------------------------------------------------- the worker's read rules (2, Landlock)

_SANDBOX_PROBE = textwrap.dedent("""
    import errno, json, os, sys
    script_folder, job = sys.argv[1], sys.argv[2]
    sys.path.insert(0, script_folder)  # as the API's caller's script folder is on sys.path
    from neurospice.sim.sandbox import SandboxPolicy, apply, system_read_paths
    report = apply(SandboxPolicy(read_paths=tuple(system_read_paths()), write_paths=(job,)))
    results = {"landlock": report.landlock}
    def attempt(name, fn):
        try:
            fn()
            results[name] = "ok"
        except OSError as exc:
            results[name] = errno.errorcode.get(exc.errno, str(exc.errno))
    attempt("read_script_folder", lambda: open(os.path.join(script_folder, "secret.txt")).read())
    attempt("read_package", lambda: open(os.path.join(sys.argv[3], "__init__.py")).read())
    attempt("write_job", lambda: open(os.path.join(job, "out.txt"), "w").write("x"))
    attempt("symlink_in_job", lambda: os.symlink("/etc/hostname", os.path.join(job, "result.raw")))
    attempt("fifo_in_job", lambda: os.mkfifo(os.path.join(job, "messages.json")))
    print(json.dumps(results))
""")


def _probe_sandbox(tmp_path: Path) -> dict[str, str]:
    script = tmp_path / "script"
    script.mkdir()
    (script / "secret.txt").write_text(SECRET)
    job = tmp_path / "job"
    job.mkdir()
    env = dict(os.environ, PYTHONPATH=f"{script}{os.pathsep}{ROOT}")
    run = subprocess.run([sys.executable, "-c", _SANDBOX_PROBE, str(script), str(job),
                          str(ROOT / "neurospice")], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    results: dict[str, str] = json.loads(run.stdout.strip().splitlines()[-1])
    if not results["landlock"].startswith("ABI"):
        pytest.skip(f"Landlock is not available here: {results['landlock']}")
    return results


def test_sandbox_reads_no_folder_of_sys_path_it_was_not_given(tmp_path: Path) -> None:
    results = _probe_sandbox(tmp_path)
    assert results["read_script_folder"] == "EACCES"
    assert results["read_package"] == "ok"  # the package itself stays readable
    assert results["write_job"] == "ok"


def test_sandbox_job_folder_admits_no_link_and_no_fifo(tmp_path: Path) -> None:
    results = _probe_sandbox(tmp_path)
    assert results["symlink_in_job"] == "EACCES"
    assert results["fifo_in_job"] == "EACCES"
    assert not (tmp_path / "job" / "result.raw").is_symlink()


def test_system_read_paths_do_not_follow_sys_path(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from neurospice.sim.sandbox import system_read_paths

    monkeypatch.syspath_prepend(str(tmp_path))
    paths = system_read_paths()
    assert str(tmp_path) not in paths
    assert str(ROOT) not in paths  # the project folder above the package is not readable
    assert str(ROOT / "neurospice") in paths


def test_worker_of_a_deck_in_a_shared_folder_reads_only_the_library(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from neurospice.sim.process import read_paths_for
    from neurospice.spice.resources import NETLISTS_DIR

    monkeypatch.setenv("HOME", str(tmp_path))
    assert read_paths_for(tmp_path) == [str(NETLISTS_DIR)]
    assert read_paths_for(tmp_path / "project")[0] == str((tmp_path / "project").resolve())


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def test_exec_worker_environment_holds_none_of_the_callers_secrets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from neurospice.sim.process import spawn_worker

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    monkeypatch.setenv("NGSPICE_INPUT_DIR", "/etc")
    worker = spawn_worker()
    try:
        env = _environ(worker.proc.pid)
    finally:
        worker.close()
    assert SECRET not in "".join(env.values())
    assert "NGSPICE_INPUT_DIR" not in env
    assert env["HOME"] == str(worker.jobdir) and "PATH" in env


def test_forked_worker_environment_holds_none_of_the_callers_secrets(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import json, os, sys, time
        from neurospice.sim.early import fork_worker
        pid, stdin_fd, stderr_fd, jobdir = fork_worker()
        deadline = time.monotonic() + 60
        # the child names itself nsw<ppid> once its environment is set up
        while not open(f"/proc/{pid}/comm").read().startswith("nsw"):
            assert time.monotonic() < deadline, "the forked worker did not start"
            time.sleep(0.01)
        raw = open(f"/proc/{pid}/environ", "rb").read().decode()
        env = dict(i.split("=", 1) for i in raw.split("\\0") if "=" in i)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.rmdir(jobdir)
        print(json.dumps({"env": env, "jobdir": jobdir}))
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT), DATABASE_PASSWORD=SECRET)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert SECRET not in json.dumps(seen["env"])  # /proc/<pid>/environ is blanked


# ------------------------------------------------------------ network 'use' (3, e; and f)


def _network(folder: Path, use: str) -> Path:
    return _deck(folder, f'use "{use}"\nneuron a : fhn\nsource v : dc 1\nv -> load(1k) -> a\n'
                         "tran 1ms\n", "net.nsn")


@pytest.mark.parametrize("how", ["absolute", "dotdot", "link"])
def test_network_use_outside_the_tree_is_refused_unread(
        tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.lib").write_text(SECRET_LIB)
    project = tmp_path / "project"
    project.mkdir()
    if how == "link":
        (project / "lib.lib").symlink_to(outside / "secret.lib")
    use = {"absolute": str(outside / "secret.lib"), "dotdot": "../outside/secret.lib",
           "link": "lib.lib"}[how]
    net = _network(project, use)
    status, out, err = _run(["build", str(net)], capsys)
    assert status == 2
    assert "outside the network file's folder tree" in err
    assert "leaked" not in err + out
    assert f"{net}:1:" in err


def test_network_use_of_home_is_refused(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    net = _network(tmp_path / "project", "~/secret.lib")
    status, _, err = _run(["build", str(net)], capsys)
    assert status == 2 and "home-relative" in err


def test_network_use_of_an_absolute_path_inside_the_tree_is_allowed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "mine.lib").write_text(".subckt mydiv a b\nR1 a b 1k\n.ends\n")
    net = _network(project, str(project / "mine.lib"))
    status, out, err = _run(["build", str(net)], capsys)
    assert status == 0, err
    assert '.include "mine.lib"' in out


def test_network_use_of_a_huge_sparse_file_is_refused_unread(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with open(project / "huge.lib", "wb") as fh:
        fh.truncate(1 << 30)  # 1 GB of nothing, on no disk
    net = _network(project, "huge.lib")
    status, _, err = _run(["build", str(net)], capsys)
    assert status == 2
    assert "1,073,741,824 bytes, over the limit" in err


def test_twelve_thousand_neurons_are_named_in_one_pass(tmp_path: Path) -> None:
    from neurospice.network.assembler import compile_network

    n = 12_000
    lines = ['use "lib/fhn.lib"']
    lines += [f"neuron n{i} : fhn" for i in range(n)]
    lines += [f"resistor r{i} : 1k" for i in range(n - 1)]
    lines += [f"n{i}.out -> r{i} -> n{i + 1}.mem" for i in range(n - 1)]
    deck = compile_network("\n".join(lines) + "\ntran 1m\n", tmp_path / "big.nsn")
    # every neuron's pins keep their own names; a resistor's ends take its neighbours'
    assert deck.nodes["n0.mem"] == "n0_mem" and deck.nodes["n11999.out"] == "n11999_out"
    assert deck.nodes["r4.p"] == deck.nodes["n4.out"] == "n4_out"
    assert deck.nodes["r4.n"] == deck.nodes["n5.mem"] == "n5_mem"
    assert len(set(deck.nodes.values())) == 2 * n
    assert len(deck.probes) == n


# --------------------------------------------------------- the output folder (4, b)


def _outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir(exist_ok=True)
    return folder


def test_output_folder_that_is_a_link_is_refused(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    outside = _outside(tmp_path)
    deck = _deck(tmp_path / "project")
    (tmp_path / "project" / "deck_out").symlink_to(outside)
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 2
    assert "is a link" in err
    assert list(outside.iterdir()) == []


def test_lock_file_that_is_a_link_is_refused(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    outside = _outside(tmp_path)
    deck = _deck(tmp_path / "project")
    out = tmp_path / "project" / "deck_out"
    out.mkdir()
    (out / ".neurospice.lock").symlink_to(outside / "created-through-the-lock")
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 2
    assert ".neurospice.lock: it is a link" in err
    assert list(outside.iterdir()) == []


def test_lock_file_that_is_a_fifo_is_refused_without_blocking(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project")
    out = tmp_path / "project" / "deck_out"
    out.mkdir()
    os.mkfifo(out / ".neurospice.lock")
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 2
    assert "not a regular file" in err


def test_previous_folder_that_is_a_link_receives_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = _outside(tmp_path)
    deck = _deck(tmp_path / "project")
    out = tmp_path / "project" / "deck_out"
    out.mkdir()
    stale = out / "sweep.csv"  # an earlier run's table: moved into previous/ after this run
    stale.write_text("point\n")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    (out / "previous").symlink_to(outside)
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 1
    assert "previous" in err and "link" in err
    assert list(outside.iterdir()) == []
    assert stale.exists()


@pytest.mark.parametrize("planted", ["summary.json", "waveforms.csv"])
def test_output_file_that_is_a_link_is_replaced_not_followed(
        tmp_path: Path, planted: str, capsys: pytest.CaptureFixture[str]) -> None:
    outside = _outside(tmp_path)
    victim = outside / "bashrc"
    victim.write_text("the user's file\n")
    deck = _deck(tmp_path / "project")
    out = tmp_path / "project" / "deck_out"
    out.mkdir()
    (out / planted).symlink_to(victim)
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 0, err
    assert victim.read_text() == "the user's file\n"
    assert not (out / planted).is_symlink() and (out / planted).stat().st_size > 0


def test_lock_file_that_is_a_folder_is_refused(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project")
    (tmp_path / "project" / "deck_out" / ".neurospice.lock").mkdir(parents=True)
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 2 and "not a regular file" in err


def test_previous_that_is_a_file_fails_the_run_with_a_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project")
    out = tmp_path / "project" / "deck_out"
    out.mkdir()
    (out / "previous").write_text("not a folder\n")
    stale = out / "runs.csv"
    stale.write_text("run\n")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 1
    assert "could not write" in err and "previous" in err
    assert (out / "previous").read_text() == "not a folder\n" and stale.exists()


def test_deck_in_a_link_to_home_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET)
    monkeypatch.setenv("HOME", str(home))
    (tmp_path / "innocent").symlink_to(home)
    deck = _deck(tmp_path / "innocent", RC.replace(".end", ".include .ssh/id_rsa\n.end"))
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 2 and "home folder" in err and SECRET not in err


def test_network_file_directly_in_the_temporary_folder_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    net = _network(tmp_path, "lib/fhn.lib")
    status, _, err = _run(["build", str(net), "-o", str(tmp_path / "x.cir")], capsys)
    assert status == 2 and "the temporary folder" in err
    assert not (tmp_path / "x.cir").exists()


@pytest.mark.parametrize("kind", ["folder", "huge"])
def test_resumed_table_that_is_not_a_table_is_refused(
        tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project", PAIR)
    out = tmp_path / "project" / "deck_out"
    out.mkdir()
    if kind == "folder":
        (out / "sweep.csv").mkdir()
    else:
        with open(out / "sweep.csv", "wb") as fh:
            fh.truncate(2 << 30)  # 2 GB of nothing
    status, _, err = _run(_simulate(deck, "--sweep", "rc=2:2:1", "--resume"), capsys)
    assert status == 2
    assert "not a regular file of at most 1,073,741,824 bytes" in err


def test_explicit_output_folder_that_is_a_link_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = _outside(tmp_path)
    deck = _deck(tmp_path / "project")
    (tmp_path / "o").symlink_to(outside)
    status, _, err = _run(_simulate(deck, "-o", str(tmp_path / "o")), capsys)
    assert status == 2 and "is a link" in err
    assert list(outside.iterdir()) == []


def test_names_climbing_out_of_the_output_folder_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out):
        with pytest.raises(OutputError, match="climbs out"):
            atomic_write_text(out / "iv_a/../../x.txt", "x")
        (out / "sub").symlink_to(_outside(tmp_path))
        with pytest.raises(OutputError, match="leads out"):
            atomic_write_text(out / "sub" / "x.txt", "x")
        atomic_write_text(out / "fine.txt", "x")
    assert not (tmp_path / "x.txt").exists() and list((tmp_path / "outside").iterdir()) == []
    assert (out / "fine.txt").read_text() == "x"
    # outside a locked folder nothing is checked (the model cache, build -o FILE)
    check_output_path(tmp_path / "a" / ".." / "b.txt")


def test_save_figure_refuses_before_making_folders(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    from neurospice.report.plots import save_figure

    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out), pytest.raises(OutputError):
        save_figure(Figure(), out / "iv_Xa/../../../PWN.png")
    assert not (out / "iv_Xa").exists()
    assert not (tmp_path.parent / "PWN.png").exists()


def test_instance_names_become_one_path_component(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    climb = "../" * (len(tmp_path.parts) + 2)
    name = f"Xa/{climb}{str(tmp_path).lstrip('/')}/PWN"
    deck = _deck(project, PAIR.replace("Xmaster", name))
    status, out, err = _run(["simulate", str(deck), "-q", "--tstop", "0.3"], capsys)
    assert status == 0, err
    assert not list(tmp_path.glob("*PWN*")) and not list(tmp_path.glob("*pwn*"))
    written = list((project / "deck_out").glob("locking_*.png"))
    assert len(written) == 1 and "/" not in written[0].name[len("locking_"):]


@pytest.mark.parametrize(("given", "expected"), [
    ("a/../../x", "a_.._.._x"), ("..", "_.."), (".hidden", "_.hidden"), ("", "_"),
    ("a\x00b\x1bc", "a_b_c"), ("C:\\x", "C__x"), ("x" * 300, "x" * 120)])
def test_output_name_is_one_component(given: str, expected: str) -> None:
    assert output_name(given) == expected
    assert os.sep not in output_name(given)


def test_crash_log_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    planted = out / f"neurospice-error-{os.getpid()}.log"
    planted.symlink_to(outside / "victim")
    where = write_crash_log("Traceback: the details\n", out)
    assert where is not None and Path(where).parent == out and Path(where) != planted
    assert Path(where).read_text() == "Traceback: the details\n"
    assert list(outside.iterdir()) == []


def test_crash_log_without_a_folder_has_an_unpredictable_private_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    predictable = tmp_path / f"neurospice-error-{os.getpid()}.log"
    predictable.symlink_to(tmp_path / "victim")
    where = write_crash_log("details\n", None)
    assert where is not None and Path(where) != predictable
    assert Path(where).stat().st_mode & 0o077 == 0
    assert not (tmp_path / "victim").exists()


@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_result_copy_from_the_job_folder_follows_no_link(tmp_path: Path, kind: str) -> None:
    job = tmp_path / "job"
    job.mkdir()
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    if kind == "link":
        (job / "result.raw").symlink_to(secret)
    else:
        os.mkfifo(job / "result.raw")
    with pytest.raises(OutputError, match="link" if kind == "link" else "regular"):
        atomic_copy(job / "result.raw", tmp_path / "out" / "deck.raw")
    assert not (tmp_path / "out" / "deck.raw").exists()


# ------------------------------------------------------------------- the scheduler (5, d)


@pytest.mark.parametrize("address", ["tcp://10.1.2.3:8786", "tls://scheduler.example.org:8786",
                                     "203.0.113.5:8786", "tcp://127.0.0.1.nip.io:8786",
                                     "tcp://localhost.example.org:8786",
                                     "tcp://[2001:db8::1]:8786"])
def test_scheduler_off_this_machine_is_refused_without_trust(
        tmp_path: Path, address: str, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project", PAIR)
    status, _, err = _run(_simulate(deck, "--sweep", "rc=2:3:2", "--scheduler", address),
                          capsys)
    assert status == 2
    assert "is not this machine" in err and "--trust-scheduler" in err
    assert not (tmp_path / "project" / "deck_out" / "sweep.csv").exists()


def test_scheduler_address_that_is_not_dask_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project", PAIR)
    status, _, err = _run(_simulate(deck, "--sweep", "rc=2:3:2", "--scheduler",
                                    "file:///etc/passwd"), capsys)
    assert status == 2 and "not a Dask address" in err


def test_trusted_scheduler_is_warned_about() -> None:
    from neurospice.sim.pool import check_scheduler

    warning = check_scheduler("tcp://10.1.2.3:8786", trust=True)
    assert warning.startswith("WARNING") and "run code on this machine" in warning
    assert "not encrypted" in warning
    assert "not encrypted" not in check_scheduler("tls://10.1.2.3:8786", trust=True)


# --------------------------------------------------------------------- bounds (6, f)


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--timeout", "1e300", "at most"),
    ("--timeout", "0", "positive"),
    ("--max-memory", "1e300", "at most"),
    ("--max-deck-bytes", "1e400", "finite"),
    ("--max-points", "-5", "positive"),
    ("--timeout", "inf", "not a number"),
    ("--max-memory", "500m", "'m' is milli"),
    ("--max-deck-bytes", "0.5", "below the smallest"),
])
def test_option_values_give_messages(tmp_path: Path, option: str, value: str, words: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project")
    status, _, err = _run(_simulate(deck, option, value), capsys)
    assert status == 2
    assert option in err and words in err


def test_two_huge_sweep_axes_are_refused_before_the_grid_is_built(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project", PAIR)
    status, _, err = _run(_simulate(deck, "--sweep", "rc=1:2:1000000",
                                    "--sweep", "eps1=0.01:0.1:1000000"), capsys)
    assert status == 2
    assert "1000000 x 1000000 = 1,000,000,000,000 points" in err


def _planted_table(deck: Path, out: Path, **row: str) -> None:
    from neurospice.batch.sweep import FIXED_COLUMNS, point_key
    from neurospice.network.loading import load_deck

    compiled = load_deck(deck).with_values({"rc": 2.0})
    key = point_key(compiled.text, {"rc": 2.0}, None, "spice")
    out.mkdir(parents=True)
    columns = ["point", "rc", *FIXED_COLUMNS[1:]]
    full = {"point": "0", "rc": "2.0", "status": "ok", "engine": "spice", "seed": "",
            "f_master_hz": "25", "f_slave_hz": "25", "ratio": "1:1", "mode": "1:1",
            "ratio_value": "1", "sync_index": "0.9", "locked_fraction": "1", "error": "",
            "key": key, **row}
    with open(out / "sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerow(full)


@pytest.mark.parametrize("row", [{"f_master_hz": "abc"}, {"mode": "\x1b[2J\x1b]0;pwned\x07"},
                                 {"sync_index": "1e999x"}])
def test_resumed_table_with_a_non_number_is_run_again_with_a_message(
        tmp_path: Path, row: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project", PAIR.replace(".tran 0.2m 1 0 0.2m", ".tran 0.2m 0.3"))
    out = tmp_path / "project" / "deck_out"
    _planted_table(deck, out, **row)
    status, stdout, err = _run(_simulate(deck, "--sweep", "rc=2:2:1", "--resume"), capsys)
    assert status == 0, err
    assert "1 finished row(s) not reused" in err and "sweep.csv" in err
    assert "\x1b" not in stdout + err
    with open(out / "sweep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and rows[0]["status"] == "ok"
    assert float(rows[0]["f_master_hz"]) > 0  # the point ran again: a real frequency


@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_resumed_table_that_is_a_link_or_fifo_is_refused(
        tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project", PAIR)
    out = tmp_path / "project" / "deck_out"
    out.mkdir()
    secret = _outside(tmp_path) / "secret.csv"
    secret.write_text(f"point,key\n0,{SECRET}\n")
    if kind == "link":
        (out / "sweep.csv").symlink_to(secret)
    else:
        os.mkfifo(out / "sweep.csv")
    status, stdout, err = _run(_simulate(deck, "--sweep", "rc=2:2:1", "--resume"), capsys)
    assert status == 2
    assert ("is a link" if kind == "link" else "not a regular file") in err
    assert SECRET not in stdout + err
    assert secret.read_text() == f"point,key\n0,{SECRET}\n"


def test_trace_plot_is_capped_with_a_note(tmp_path: Path) -> None:
    import numpy as np
    from matplotlib.image import imread

    from neurospice.report.plots import MAX_TRACES, plot_traces

    t = np.linspace(0.0, 0.1, 200)
    traces = {f"n{i}": np.sin(2 * np.pi * 50 * t + i) for i in range(MAX_TRACES + 276)}
    path = plot_traces(t, traces, tmp_path / "traces.png", title="300 neurons")
    height = imread(path).shape[0]
    assert height == round((1.8 + 1.6 * MAX_TRACES) * 120)  # 24 panels, not 300


# --------------------------------------------------------- terminal escapes (6, g)


def test_escape_bytes_in_a_folder_name_are_printed_escaped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "e\x1b[31mvil\x07", RC.replace(".end", "Q1 a b c nosuch\n.end"))
    status, _, err = _run(_simulate(deck), capsys)
    assert status == 2
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b[31mvil\\x07" in err


def test_lock_message_escapes_the_folder_name(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project")
    out = tmp_path / "o\x1b]0;title\x07"
    out.mkdir()
    with OutputLock(out):
        status, _, err = _run(_simulate(deck, "-o", str(out)), capsys)
    assert status == 2
    assert "another neurospice run" in err and "\x1b" not in err and "\\x1b]0;title" in err


@pytest.mark.parametrize("command", ["check", "simulate"])
def test_dropped_control_lines_are_listed_escaped(
        tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _deck(tmp_path / "project", RC.replace(".end", ".control\necho \x1b[2J\x1b]0;x\x07"
                                                  "\n.endc\n.end"))
    args = ["check", str(deck)] if command == "check" else _simulate(deck)
    status, out, err = _run([*args, "--ignore-control"], capsys)
    assert status == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "echo \\x1b[2J\\x1b]0" in out + err  # (';' starts an ngspice comment)


def test_printable_keeps_lines_and_escapes_controls() -> None:
    assert printable("a\nb\tc") == "a\nb\tc"
    assert printable("\x1b[2J\r\x9b") == "\\x1b[2J\\x0d\\x9b"


# ------------------------------------------------------- plot children (smaller items)


def test_report_child_dies_with_its_parent(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = textwrap.dedent(f"""
        import os, sys, time
        from neurospice.report.jobs import ForkJob
        def work():
            with open({str(pidfile)!r} + ".tmp", "w") as fh:
                fh.write(str(os.getpid()))
            os.replace({str(pidfile)!r} + ".tmp", {str(pidfile)!r})
            time.sleep(120)
        job = ForkJob(work)
        while not os.path.exists({str(pidfile)!r}):
            time.sleep(0.01)
        os.kill(os.getpid(), 9)  # the run is killed while its plot child works
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-c", script], env=env, timeout=60)
    assert run.returncode == -9
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


# ------------------------------------------------------------------------ the corpus


def test_round_three_has_forty_cases_or_more() -> None:
    this = sys.modules[__name__]
    count = 0
    for name in dir(this):
        fn = getattr(this, name)
        if name.startswith("test_") and callable(fn) and name != "test_round_three_has_" \
                "forty_cases_or_more":
            marks = getattr(fn, "pytestmark", [])
            count += sum(len(m.args[1]) for m in marks if m.name == "parametrize") or 1
    assert count >= 40, count

