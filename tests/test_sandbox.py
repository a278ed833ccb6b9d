"""The ngspice worker's OS sandbox: even a deck that bypasses the compiler can do no harm."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from neurospice.cli.main import main
from neurospice.sim.ngspice import run_deck, run_uncompiled_for_tests

from helpers import DATA

CIRCUIT = "hostile\nV1 a 0 1\nR1 a 0 1k\n"


def _run_control(commands: str) -> dict:
    messages, _ = run_uncompiled_for_tests(CIRCUIT + ".control\n" + commands + "\necho done\n"
                                           ".endc\n.end\n")
    return messages


def test_shell_command_in_control_block_creates_no_file(tmp_path: Path) -> None:
    outside = tmp_path / "canary_outside"
    messages = _run_control(f"shell touch {outside}\nshell touch canary_in_jobdir")
    assert messages["status"] == "ok"  # ngspice ran the block ...
    assert not outside.exists()  # ... but nothing was created outside the job folder
    # nor inside it, where writing is allowed: no process could start
    assert "canary_in_jobdir" not in messages["jobdir_files"]
    assert "done" in " ".join(messages["stdout"])


def test_backquote_creates_no_file(tmp_path: Path) -> None:
    outside = tmp_path / "canary_bq"
    messages = _run_control(f"set x = `touch {outside}`\nset y = `touch canary_bq`")
    assert not outside.exists()
    # ngspice 39 crashes when the command cannot start (popen fails); either way the job
    # folder, where writing is allowed, holds no canary
    assert messages["status"] in ("ok", "crashed")
    assert "deck.cir" in messages["jobdir_files"]
    assert "canary_bq" not in messages["jobdir_files"]


def test_alias_and_unixcom_create_no_file(tmp_path: Path) -> None:
    outside = tmp_path / "canary_alias"
    messages = _run_control(f"alias zz shell touch {outside}\nzz\nset unixcom\ntouch {outside}")
    assert messages["status"] == "ok"
    assert not outside.exists()


def test_reading_outside_the_allowed_tree_fails() -> None:
    messages, _ = run_uncompiled_for_tests(CIRCUIT + ".include /etc/hostname\n.op\n.end\n")
    assert messages["status"] == "parse_error"
    assert any(".include statement failed" in s for s in messages["stderr"])


def test_sandbox_layers_are_reported_on_a_normal_run() -> None:
    wf = run_deck(DATA / "decks" / "rc.cir", tstop=1e-3)
    assert wf.sandbox["no_new_privs"] == "on"
    assert "execve" in str(wf.sandbox["seccomp"])
    assert str(wf.sandbox["landlock"]).startswith("ABI ")
    assert "as=" in str(wf.sandbox["rlimits"])


def test_sandboxed_python_cannot_exec_read_or_write(tmp_path: Path) -> None:
    """The sandbox applied to a plain Python process: exec, reading /etc/hostname and writing
    outside the job folder all fail; writing inside it works."""
    job = tmp_path / "job"
    job.mkdir()
    probe = textwrap.dedent(f"""
        import os, subprocess
        from neurospice.sim.sandbox import SandboxPolicy, apply, system_read_paths
        apply(SandboxPolicy(read_paths=tuple(system_read_paths()), write_paths=({str(job)!r},)))
        results = []
        try:
            subprocess.run(["/bin/true"], check=True); results.append("exec ok")
        except OSError:
            results.append("exec denied")
        try:
            open("/etc/hostname").read(); results.append("read ok")
        except OSError:
            results.append("read denied")
        try:
            open({str(tmp_path / "outside.txt")!r}, "w").write("x"); results.append("write ok")
        except OSError:
            results.append("write denied")
        open({str(job / "inside.txt")!r}, "w").write("x")
        print(",".join(results))
    """)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.strip() == "exec denied,read denied,write denied", proc.stderr
    assert (job / "inside.txt").read_text() == "x"
    assert not (tmp_path / "outside.txt").exists()


def test_memory_limit_stops_a_run_with_exit_1(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # 80 MB holds the worker and ngspice, not the vectors of 2 million points ngspice sets
    # aside for a 20 s transient at a 10 us step
    status = main(["simulate", str(DATA / "decks" / "rc.cir"), "-q", "--no-plot", "--tstop",
                   "20", "-o", str(tmp_path / "out"), "--max-memory", "80meg"])
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in err and "simulation failed" in err
    assert not (tmp_path / "out" / "waveforms.csv").exists()


def test_the_worker_the_console_script_forks_is_sandboxed(tmp_path: Path) -> None:
    """``simulate`` forks its worker before it loads anything (neurospice.sim.early): that
    worker must be as confined as one started with exec - a shell command let through by
    --allow-control creates nothing, and every layer is reported on."""
    import json

    from helpers import run_cli

    canary = tmp_path / "canary_forked"
    deck = tmp_path / "h.cir"
    deck.write_text(f"hostile\nV1 a 0 1\nR1 a 0 1k\n.tran 1m 10m\n.control\nrun\n"
                    f"shell touch {canary}\n.endc\n.end\n")
    proc = run_cli("simulate", deck, "--allow-control", "--no-plot", "-q", "-o",
                   tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not canary.exists()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sandbox"] == "seccomp on, landlock on, no_new_privs on, rlimits on"
