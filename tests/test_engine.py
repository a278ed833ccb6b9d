"""The engine runs decks in worker processes, maps ngspice's errors and never truncates."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from neurospice.sim.ngspice import SimulationError, run_deck
from neurospice.spice.deck import DeckError, prepare_deck, spice_number

from helpers import DATA, run_cli

DECKS = DATA / "decks"


def _v_at(wf, name: str, t: float) -> float:
    return float(np.interp(t, wf.time, wf[name]))


def test_rc_step_follows_the_time_constant() -> None:
    wf = run_deck(DECKS / "rc.cir")
    assert wf.analysis == "tran"
    # v(out) = 1 - exp(-t/tau), tau = 1 ms
    assert _v_at(wf, "v(out)", 1e-3) == pytest.approx(1 - math.exp(-1), abs=5e-3)
    assert wf.units["v(out)"] == "V"


def test_param_override_changes_the_circuit() -> None:
    wf = run_deck(DECKS / "rc.cir", params={"rval": "2k"})
    # tau = 2 ms now
    assert _v_at(wf, "v(out)", 2e-3) == pytest.approx(1 - math.exp(-1), abs=5e-3)


def test_tstop_override_shortens_the_run() -> None:
    wf = run_deck(DECKS / "rc.cir", tstop=1e-3)
    assert wf.time[-1] == pytest.approx(1e-3)


def test_unknown_param_override_is_an_input_error() -> None:
    with pytest.raises(DeckError, match="no top-level .param nosuch"):
        run_deck(DECKS / "rc.cir", params={"nosuch": 1})


def test_raw_file_is_written(tmp_path: Path) -> None:
    raw = tmp_path / "rc.raw"
    run_deck(DECKS / "rc.cir", raw_file=raw)
    head = raw.read_bytes()[:400].decode("latin-1")
    assert "Plotname: Transient Analysis" in head
    assert "No. Points:" in head


def test_nonconvergence_names_node_and_time() -> None:
    with pytest.raises(SimulationError) as err:
        run_deck(DECKS / "noconv.cir")
    msg = str(err.value)
    assert "node 'x'" in msg
    t = float(msg.split("t = ")[1].split(" s")[0])
    assert 0.9e-3 < t < 1.2e-3  # the pulse switches the boom current on at 1 ms


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(DeckError) as err:
        run_deck(DECKS / "syntax.cir")
    assert err.value.line == 4
    assert "tenk" in str(err.value)


def test_unknown_model_names_the_line() -> None:
    with pytest.raises(DeckError) as err:
        run_deck(DECKS / "unknown_model.cir")
    assert err.value.line == 4


def test_cli_exit_status_for_nonconvergence_is_1() -> None:
    proc = run_cli("simulate", DECKS / "noconv.cir", "-q", "--no-plot")
    assert proc.returncode == 1
    assert "trouble with node 'x'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_exit_status_for_syntax_error_is_2() -> None:
    proc = run_cli("simulate", DECKS / "syntax.cir", "-q", "--no-plot")
    assert proc.returncode == 2
    assert "syntax.cir:4" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_rejects_bad_options() -> None:
    proc = run_cli("simulate", DECKS / "rc.cir", "--param", "rval", "-q")
    assert proc.returncode == 2 and "NAME=VALUE" in proc.stderr
    proc = run_cli("simulate", DECKS / "missing.cir", "-q")
    assert proc.returncode == 2 and "no such deck file" in proc.stderr


@pytest.mark.parametrize(
    ("text", "value"),
    [("10k", 1e4), ("2.2u", 2.2e-6), ("5ms", 5e-3), ("1meg", 1e6), ("3", 3.0), ("1e-3", 1e-3)],
)
def test_spice_numbers(text: str, value: float) -> None:
    assert spice_number(text) == pytest.approx(value)


def test_prepared_deck_finds_tran_and_params() -> None:
    deck = prepare_deck(DECKS / "rc.cir")
    assert deck.tran() == pytest.approx((10e-6, 5e-3))
    assert deck.params() == {"rval": "1k", "cval": "1u"}
