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


def test_a_run_shows_itself_in_a_notebook() -> None:
    import neurospice

    run = neurospice.simulate(TOY, tstop=0.3)
    html = run._repr_html_()
    freqs = {n["name"]: n["stats"]["frequency_hz"] for n in run.summary["neurons"]}
    assert set(freqs) == {"master", "slave"}
    for name, f in freqs.items():
        assert f"<td>{name}</td>" in html and f"{f:.4g} Hz" in html
    assert html.count("<li>") == len(run.locking) >= 1
