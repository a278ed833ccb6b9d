"""Hostile decks are refused before ngspice runs, with a message naming file and line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neurospice.sim.ngspice import run_deck
from neurospice.spice.deck import DeckError, prepare_deck

from helpers import DATA, run_cli

RC = (DATA / "decks" / "rc.cir").read_text()


def _deck(tmp_path: Path, body: str, name: str = "evil.cir") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


def _marker(tmp_path: Path) -> Path:
    return tmp_path / "PWNED"


def test_control_block_with_shell_is_refused(tmp_path: Path) -> None:
    marker = _marker(tmp_path)
    deck = _deck(tmp_path, RC.replace(".end", f".control\nshell touch {marker}\n.endc\n.end"))
    proc = run_cli("simulate", deck, "-q")
    assert proc.returncode == 2
    assert f"{deck}:8" in proc.stderr
    assert ".control" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not marker.exists()


def test_control_block_after_end_is_refused(tmp_path: Path) -> None:
    marker = _marker(tmp_path)
    deck = _deck(tmp_path, RC + f".control\nshell touch {marker}\n.endc\n")
    with pytest.raises(DeckError) as err:
        run_deck(deck)
    assert err.value.line == 9
    assert not marker.exists()


def test_star_hash_control_line_is_refused(tmp_path: Path) -> None:
    marker = _marker(tmp_path)
    deck = _deck(tmp_path, RC.replace(".tran", f"*# shell touch {marker}\n.tran"))
    proc = run_cli("simulate", deck, "-q")
    assert proc.returncode == 2
    assert f"{deck}:6" in proc.stderr and "*#" in proc.stderr
    assert not marker.exists()


def test_include_of_etc_passwd_is_refused(tmp_path: Path) -> None:
    deck = _deck(tmp_path, RC.replace(".tran", ".include /etc/passwd\n.tran"))
    proc = run_cli("simulate", deck, "-q")
    assert proc.returncode == 2
    assert f"{deck}:6" in proc.stderr
    assert "outside" in proc.stderr


@pytest.mark.parametrize(
    "line",
    [
        ".include ~/.bashrc",
        ".inc $HOME/x.lib",
        ".lib ../../etc/passwd sect",
        ".include '../outside.lib'",
    ],
)
def test_paths_outside_the_tree_are_refused(tmp_path: Path, line: str) -> None:
    sub = tmp_path / "decks"
    sub.mkdir()
    (tmp_path / "outside.lib").write_text("R9 a 0 1k\n")
    deck = _deck(sub, RC.replace(".tran", f"{line}\n.tran"))
    with pytest.raises(DeckError) as err:
        prepare_deck(deck)
    assert err.value.path == deck and err.value.line == 6


def test_symlink_escaping_the_tree_is_refused(tmp_path: Path) -> None:
    sub = tmp_path / "decks"
    sub.mkdir()
    (tmp_path / "secret.lib").write_text("R9 a 0 1k\n")
    os.symlink(tmp_path / "secret.lib", sub / "link.lib")
    deck = _deck(sub, RC.replace(".tran", ".include link.lib\n.tran"))
    with pytest.raises(DeckError, match="outside"):
        prepare_deck(deck)


def test_included_file_with_control_block_names_that_file(tmp_path: Path) -> None:
    marker = _marker(tmp_path)
    inc = tmp_path / "parts.lib"
    inc.write_text(f"* parts\nR9 a 0 1k\n.control\nshell touch {marker}\n.endc\n")
    deck = _deck(tmp_path, RC.replace(".tran", ".include parts.lib\n.tran"))
    with pytest.raises(DeckError) as err:
        run_deck(deck)
    assert err.value.path == inc and err.value.line == 3
    assert not marker.exists()


@pytest.mark.parametrize("cmd", ["codemodel /tmp/evil.cm", "osdi /tmp/evil.osdi",
                                 "shell rm -rf /"])
def test_code_loading_commands_are_refused(tmp_path: Path, cmd: str) -> None:
    deck = _deck(tmp_path, RC.replace(".tran", f"{cmd}\n.tran"))
    with pytest.raises(DeckError) as err:
        prepare_deck(deck)
    assert err.value.line == 6
    assert cmd.split()[0] in str(err.value)


def test_spiceinit_in_deck_folder_is_never_sourced(tmp_path: Path) -> None:
    marker = _marker(tmp_path)
    (tmp_path / ".spiceinit").write_text(f"shell touch {marker}\n")
    deck = _deck(tmp_path, RC, name="rc.cir")
    proc = run_cli("simulate", deck, "-q", "--no-plot", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()


def test_include_expansion_keeps_origins(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    inc = tmp_path / "lib" / "load.lib"
    inc.write_text("* load\nRload out 0 {rval}\n")
    deck = _deck(tmp_path, RC.replace(".tran", ".include lib/load.lib\n.tran"), name="ok.cir")
    prepared = prepare_deck(deck)
    idx = next(i for i, line in enumerate(prepared.lines) if line.startswith("Rload"))
    assert prepared.origin[idx].path == inc and prepared.origin[idx].line == 2
    assert not any(".include" in line.lower() for line in prepared.lines)


def test_lib_section_is_expanded_alone(tmp_path: Path) -> None:
    (tmp_path / "models.lib").write_text(
        ".lib fast\nRfast out 0 1k\n.endl\n.lib slow\nRslow out 0 1meg\n.endl\n"
    )
    deck = _deck(tmp_path, RC.replace(".tran", ".lib models.lib slow\n.tran"), name="ok.cir")
    text = prepare_deck(deck).text
    assert "Rslow" in text and "Rfast" not in text
