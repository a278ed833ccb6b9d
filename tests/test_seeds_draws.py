"""--seeds N draws N devices (regression of 2097f7d: every other seed re-ran seed 1's draws,
compiled into the run's own deck, so P(mode) was one device counted N times)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurospice.report.locking as locking
from neurospice.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "netlists" / "coupled_fhn.cir"


def test_four_seeds_are_four_different_devices(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[np.ndarray] = []
    real = locking.analyse_run

    def spy(deck, wf, **kw):  # type: ignore[no-untyped-def]
        seen.append(np.asarray(wf["v(xm1.r)"], dtype=float).copy())
        return real(deck, wf, **kw)

    monkeypatch.setattr(locking, "analyse_run", spy)
    code = main(["simulate", str(BOARD), "-o", str(tmp_path / "out"), "--tstop", "0.1",
                 "--seeds", "4", "--no-plot"])
    assert code == 0
    # the run itself (seed 1) and seeds 2, 3, 4: four memristor resistance traces
    assert len(seen) == 4
    means = [float(np.mean(r)) for r in seen]
    # every pair of draws is a different device: their LRS resistances differ by more than
    # the solver's rounding
    for i in range(4):
        for j in range(i + 1, 4):
            assert abs(means[i] - means[j]) > 1e-3 * abs(means[i]), means
