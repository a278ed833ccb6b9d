"""What the designer types is what summary.json says repeats the run."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from neurospice.cli.main import main

from helpers import DATA

TOY = DATA / "decks" / "toy_pair.cir"


def test_summary_records_the_command_as_typed(tmp_path: Path) -> None:
    out = tmp_path / "run out"
    argv = ["simulate", str(TOY), "--tstop", "300m", "--energy", "--no-plot", "-q", "-o",
            str(out), "--waveform-tol", "1e-2"]
    assert main(argv) == 0
    command = json.loads((out / "summary.json").read_text())["run"]["command"]
    assert shlex.split(command) == ["neurospice", *argv]  # every option, quoting kept
