"""--runs N --tol ... --seeds K: each build (its parts fixed) over K draws of the device noise,
with P(mode) per build (issue #20 item 4)."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import numpy as np
import pytest

import neurospice.report.locking as locking
from neurospice.analysis.modes import mode_column
from neurospice.batch.tolerance import noise_seeds, parse_tolerance, run_tolerance
from neurospice.sim.options import RunOptions
from neurospice.spice.deck import prepare_deck

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "netlists" / "coupled_fhn.cir"


def test_noise_seeds_of_builds_never_meet() -> None:
    runs, draws = 5, 3
    every = [s for k in range(runs) for s in noise_seeds(1 + k, draws, runs)]
    assert len(set(every)) == runs * draws
    assert noise_seeds(4, 1, runs) == [4]  # one draw: the build's own seed, as before


def test_each_build_runs_its_draws_with_its_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    means: list[float] = []
    lock = threading.Lock()
    real = locking.analyse_run

    def spy(deck, wf, **kw):  # type: ignore[no-untyped-def]
        with lock:
            means.append(float(np.mean(wf["v(xm1.r)"])))
        return real(deck, wf, **kw)

    monkeypatch.setattr(locking, "analyse_run", spy)
    deck = prepare_deck(BOARD).with_tstop(0.1)
    rows = run_tolerance(deck, [parse_tolerance("R=5%")],
                         RunOptions(runs=2, seed=1, seeds=2, workers=1))
    assert [r["seed"] for r in rows] == [1, 2]
    assert [r["noise_seeds"] for r in rows] == ["1 3", "2 4"]
    for r in rows:
        assert r["status"] == "ok" and r["n_seeds"] == 2
        ps = {k: v for k, v in r.items()
              if k.startswith("p_") and not k.endswith(("_lo", "_hi"))}
        assert sum(ps.values()) == pytest.approx(1.0)
        assert 0.5 <= r["likely_p"] <= 1.0
        assert r[mode_column(r["likely_mode"])] == r["likely_p"]
    # four runs, four different devices (the memristor's mean resistance)
    assert len(means) == 4
    assert len({round(m, 3) for m in means}) == 4


def test_the_command_line_writes_p_mode_per_build(tmp_path: Path) -> None:
    from neurospice.cli.main import main

    out = tmp_path / "out"
    code = main(["simulate", str(BOARD), "-o", str(out), "--tstop", "0.1", "--runs", "2",
                 "--tol", "R=5%", "--seeds", "2", "--workers", "1", "--no-plot"])
    assert code == 0
    with open(out / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["noise_seeds"] for r in rows] == ["1 3", "2 4"]
    assert all(r["n_seeds"] == "2" and r["likely_mode"] for r in rows)
