"""Verdicts a designer can trust (issue #20): P(mode) columns, the --verify criteria, the
--spike-threshold option, and the noise note of a one-draw run."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

from neurospice.batch.sweep import seed_columns, verify_criteria
from neurospice.report.locking import mode_probabilities, noise_sources
from neurospice.sim.options import RunOptions

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "netlists" / "coupled_fhn.cir"


def test_probabilities_are_shares_with_wilson_intervals() -> None:
    probs = mode_probabilities(["1:1"] * 6 + ["1:1 period 2"] * 2)
    assert probs["1:1"][0] == pytest.approx(0.75) and probs["1:1 period 2"][0] == 0.25
    lo, hi = probs["1:1"][1:]
    # Wilson 95 % of 6/8: 0.409 .. 0.929
    assert lo == pytest.approx(0.409, abs=0.002) and hi == pytest.approx(0.929, abs=0.002)
    assert sum(p for p, _, _ in probs.values()) == pytest.approx(1.0)


def test_seed_columns_name_modes_with_underscores() -> None:
    cols = seed_columns(["1:1 period 2", "1:1 period 2", "2:1 + partial", "sub-threshold"])
    assert cols["n_seeds"] == 4
    assert cols["p_1_1_period_2"] == 0.5 and cols["p_2_1_partial"] == 0.25
    assert cols["p_sub_threshold_lo"] < 0.25 < cols["p_sub_threshold_hi"]
    assert cols["likely_mode"] == "1:1 period 2" and cols["likely_p"] == 0.5
    assert not any(":" in k or " " in k for k in cols)


def _row(mode: str, ratio: str, fm: float, fs: float, lf: float, **extra: object) -> dict:
    return {"status": "ok", "mode": mode, "ratio": ratio, "f_master_hz": fm, "f_slave_hz": fs,
            "locked_fraction": lf, **extra}


def test_verify_counts_unlocked_against_unlocked_only_with_the_same_figures() -> None:
    # the case: both "unlocked", ratios 1.69 against 2.32 -> a disagreement
    m = _row("unlocked", "5:3", 39.8, 23.55, 0.2)
    s = _row("unlocked", "7:3", 39.8, 17.16, 0.2)
    c = verify_criteria(m, s, noisy=False)
    assert c["mode_ok"] and not c["ratio_ok"] and not c["freq_ok"] and not c["agree"]


def test_verify_frequency_and_locked_fraction_limits() -> None:
    s = _row("1:1", "1:1", 39.77, 39.75, 1.0)
    assert verify_criteria(_row("1:1", "1:1", 39.82, 39.80, 0.96), s, noisy=False)["agree"]
    # 1:1 against 1:1 with an 18 % frequency error is no agreement
    c = verify_criteria(_row("1:1", "1:1", 39.82, 32.6, 1.0), s, noisy=False)
    assert not c["freq_ok"] and not c["agree"]
    c = verify_criteria(_row("1:1", "1:1", 39.77, 39.75, 0.9), s, noisy=False)
    assert c["freq_ok"] and not c["locked_ok"] and not c["agree"]


def test_verify_of_a_noisy_point_compares_probabilities() -> None:
    spice = {**_row("1:1", "1:1", 39.8, 39.8, 1.0), **seed_columns(["1:1"] * 6 + ["2:1"] * 2)}
    inside = {**_row("1:1", "1:1", 39.8, 39.8, 1.0), **seed_columns(["1:1"] * 5 + ["2:1"] * 3)}
    outside = {**_row("2:1", "2:1", 39.8, 19.9, 0.0), **seed_columns(["2:1"] * 8)}
    assert verify_criteria(inside, spice, noisy=True)["agree"]
    c = verify_criteria(outside, spice, noisy=True)
    assert not c["agree"] and "1:1 0.00 outside" in c["p_outside"].replace("_", ":")


def test_noise_sources_follow_the_device_parameters() -> None:
    from neurospice.spice.deck import prepare_deck

    deck = prepare_deck(BOARD)
    assert noise_sources(deck) == ["m1"]  # c2c = 1 on the board
    assert noise_sources(deck.with_values({"c2c": 0})) == []  # mc = 0 and c2c = 0


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    from helpers import run_cli

    return run_cli("simulate", *args)


@pytest.mark.parametrize("bad", ["slave=fast", "=", "slave=1=2V", "nosuch=1.2"])
def test_a_bad_spike_threshold_is_an_input_error(bad: str, tmp_path: Path) -> None:
    proc = _cli(BOARD, "-o", tmp_path, "--spike-threshold", bad, "--no-plot", "--tstop", "0.01")
    assert proc.returncode == 2, proc.stderr
    assert "--spike-threshold" in proc.stderr and "Traceback" not in proc.stderr


def test_model_run_records_thresholds_margin_and_probabilities(tmp_path: Path) -> None:
    proc = _cli(BOARD, "-o", tmp_path, "--engine", "model", "--tstop", "1.5", "--seeds", "3",
                "--no-plot", "--spike-threshold", "master=1.5")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "summary.json").read_text())
    levels = {n["name"]: n["spike_threshold_v"] for n in data["neurons"]}
    assert levels["master"] == 1.5  # overridden
    # the slave's level is its own I-V's upper knee (the fhn library's: 1.9 V)
    assert levels["slave"] == pytest.approx(1.9, abs=0.05)
    pair = next(p for p in data["pairs"] if (p["master"], p["slave"]) == ("master", "slave"))
    assert pair["n_seeds"] == 3
    probs = pair["probabilities"]
    assert sum(v["p"] for v in probs) == pytest.approx(1.0)
    assert all(v["lo"] <= v["p"] <= v["hi"] for v in probs)
    assert isinstance(pair["marginal"], bool) and math.isfinite(pair["margin_v"])
    assert all("marginal" in s and "margin_v" in s for s in pair["segments"])
    assert "P(" in proc.stdout and "over 3 noise draws" in proc.stdout
    assert "one draw of the device noise" not in proc.stdout


def test_verify_disagreement_exits_1_after_writing_the_map(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import neurospice.batch.sweep as sweep
    from neurospice.cli import batches
    from neurospice.spice.deck import prepare_deck

    rows = [{"point": i, "amp": a, "status": "ok", "mode": m, "ratio": "1:1",
             "locked_fraction": 1.0, "marginal": str(i == 1)}
            for i, (a, m) in enumerate([(1.6, "1:1 partial"), (1.8, "1:1 partial period 2")])]
    monkeypatch.setattr(sweep, "run_sweep", lambda *a, **k: rows)
    for agree, status in ((0, 1), (1, 0)):
        check = {"point": 0, "amp": 1.6, "agree": agree, "noisy": 0, "mode_ok": agree,
                 "ratio_ok": 1, "freq_ok": 1, "locked_ok": 1, "model_mode": "1:1 partial",
                 "model_ratio": "1:1", "spice_mode": "2:1", "spice_ratio": "2:1"}
        monkeypatch.setattr(sweep, "verify_points", lambda *a, check=check, **k: [check])
        out = tmp_path / str(agree)
        rc = batches.sweep_command(
            prepare_deck(BOARD), BOARD, out,
            RunOptions(sweeps=("amp=1.6,1.8",), workers=1, quiet=True, engine="model",
                       verify=1))
        assert rc == status
        assert (out / "sweep_map.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "verify.csv").read_text().splitlines()[1].startswith(f"0,1.6,{agree},")


def test_seeds_with_monte_carlo_runs_is_refused_naming_both(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    from neurospice.cli.main import main

    # --runs N alone already draws N devices: --seeds there is refused, naming both options
    # (with --tol it gives P(mode) per build: tests/test_tolerance_seeds.py)
    code = main(["simulate", str(BOARD), "-o", str(tmp_path / "out"), "--runs", "3",
                 "--seeds", "4"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--seeds 4 with --runs 3" in err and "--runs N" in err and "--seeds N" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "summary.json").exists()
