"""Bad options are a one-paragraph message and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurospice.cli.main import main

from helpers import DATA

RC = DATA / "decks" / "rc.cir"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--workers", "-1"], "--workers must be between 1 and 256"),
        (["--workers", "100000"], "--workers must be between 1 and 256"),
        (["--timeout", "-5"], "--timeout '-5': must be a positive finite number"),
        (["--timeout", "nan"], "--timeout 'nan'"),
        (["--sweep", "rval=1:2:-1"], "COUNT must be between 1 and 1000000"),
        (["--sweep", "rval=1:2:10000000"], "COUNT must be between 1 and 1000000"),
        (["--t-skip", "-1"], "must be zero or a positive finite number"),
        (["--t-skip", "1e9"], "leaves nothing of a 0.005 s run"),
        (["--runs", "0"], "--runs must be between 1 and 100000"),
        (["--tstop", "inf"], "--tstop 'inf': not a time"),
        (["--param", "rval="], "expected NAME=VALUE"),
        (["--max-points", "0"], "--max-points '0'"),
        (["--tol", "R=5%"], "--tol needs --runs N"),
        (["--verify", "3"], "--verify K needs --engine model"),
        (["--ignore-control", "--allow-control"], "exclude each other"),
    ],
)
def test_absurd_options_are_refused(args: list[str], words: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", str(RC), "-q", "--no-plot", "-o", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert status == 2
    assert words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3  # one paragraph


def test_output_that_is_a_file_or_unwritable(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert main(["simulate", str(RC), "-q", "-o", str(afile)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert afile.read_text() == "keep me"
    assert main(["simulate", str(RC), "-q", "-o", "/proc/no/such/dir"]) == 2
    assert "cannot create the output folder" in capsys.readouterr().err


def test_an_internal_error_leaves_a_log_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import neurospice.report.summary as summary

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(summary, "summarise", broken)
    status = main(["simulate", str(RC), "-q", "--no-plot", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert "internal error: RuntimeError: a bug of ours" in err and "Traceback" not in err
    logs = list(tmp_path.glob("neurospice-error-*.log"))
    assert len(logs) == 1 and "Traceback" in logs[0].read_text()
