"""Every option of ``simulate`` on the command line has its place in the Python API (or a stated
reason why it is the command's alone), and the API refuses what the command line refuses."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import neurospice
from neurospice.cli.main import build_parser
from neurospice.errors import UsageError

TOY = Path(__file__).parent / "data" / "decks" / "toy_pair.cir"

#: the command line's option (argparse dest) -> the API functions and their parameter
IN_API: dict[str, list[tuple[str, str]]] = {
    "file": [("simulate", "deck"), ("sweep", "deck"), ("monte_carlo", "deck"),
             ("corners", "deck")],
    "output": [("sweep", "outdir")],
    "param": [("simulate", "params")],
    "tstop": [("simulate", "tstop"), ("sweep", "tstop"), ("monte_carlo", "tstop"),
              ("corners", "tstop")],
    "runs": [("monte_carlo", "runs")],
    "tol": [("monte_carlo", "tol"), ("corners", "tol")],
    "corners": [("corners", "tol")],
    "tol_dist": [("monte_carlo", "tol_dist")],
    "engine": [("simulate", "engine"), ("sweep", "engine"), ("monte_carlo", "engine")],
    "seed": [("simulate", "seed"), ("sweep", "seed"), ("monte_carlo", "seed")],
    "sweep": [("sweep", "grid")],
    "workers": [("sweep", "workers"), ("monte_carlo", "workers"), ("corners", "workers")],
    "scheduler": [("sweep", "scheduler"), ("monte_carlo", "scheduler"),
                  ("corners", "scheduler")],
    "resume": [("sweep", "resume")],
    "timeout": [("simulate", "timeout"), ("sweep", "timeout"), ("monte_carlo", "timeout"),
                ("corners", "timeout")],
    "t_skip": [("simulate", "t_skip"), ("sweep", "t_skip"), ("monte_carlo", "t_skip"),
               ("corners", "t_skip")],
    "verify": [("sweep", "verify")],
    "spike_threshold": [("simulate", "spike_threshold"), ("sweep", "spike_threshold")],
    "seeds": [("simulate", "seeds"), ("sweep", "seeds"), ("monte_carlo", "seeds")],
    "energy": [("simulate", "energy")],
    "ignore_control": [("simulate", "control"), ("load", "control")],
    "allow_control": [("simulate", "control"), ("load", "control")],
}
#: the command's own options, and why the API has none
COMMAND_ONLY = {
    "format": "the waveform table's file format (the API returns Run.to_dataframe())",
    "full_resolution": "the waveform table's file (the API's Run keeps every point)",
    "waveform_tol": "the waveform table's file (the API's Run keeps every point)",
    "raw": "ngspice's raw file in the output folder (the API writes no files)",
    "no_plot": "the command's PNG files (the API draws with Run.plot())",
    "quiet": "the command's progress bars (the API runs without them)",
    "verbose": "the command's log output (the API's caller configures logging)",
    "trust_scheduler": "the command's guard against a remote --scheduler (an API caller "
                       "chooses the scheduler in code)",
    "no_self_check": "the API's model engine runs without the self-check; "
                     "neurospice.sim.model.selfcheck.self_check(deck) runs it",
    "max_points": "NOT YET in the API: the deck compiler's limits (load() has control only)",
    "max_deck_bytes": "NOT YET in the API: the deck compiler's limits",
    "max_memory": "NOT YET in the API: the ngspice worker's memory limit",
    "compat": "NOT YET in the API: ngspice's compatibility mode",
    "allow_negative": "NOT YET in the API: simulate(params=) refuses a negative resistor",
}


def _simulate_dests() -> list[str]:
    parser = build_parser(command="simulate")
    sub = next(a for a in parser._actions if a.dest == "command")
    simulate = sub.choices["simulate"]  # type: ignore[index]
    return [a.dest for a in simulate._actions if a.dest not in ("help",)]


def test_every_command_line_option_is_placed() -> None:
    dests = _simulate_dests()
    assert "energy" in dests and "sweep" in dests  # the parser is read
    unplaced = [d for d in dests if d not in IN_API and d not in COMMAND_ONLY]
    assert not unplaced, f"options with no place in the API: {unplaced}"
    assert not set(IN_API) & set(COMMAND_ONLY)


@pytest.mark.parametrize("dest", list(IN_API))
def test_the_api_takes_the_option(dest: str) -> None:
    for function, param in IN_API[dest]:
        assert param in inspect.signature(getattr(neurospice, function)).parameters, (
            f"--{dest.replace('_', '-')}: neurospice.{function}() has no {param}=")


@pytest.mark.parametrize(("call", "names"), [
    (lambda: neurospice.simulate(TOY, engine="model", energy=True), ("--energy", "--engine")),
    (lambda: neurospice.monte_carlo(TOY, 3, seeds=2), ("--seeds", "--runs")),
    (lambda: neurospice.sweep(TOY, {"rc": [1, 2]}, verify=2), ("--verify", "--engine")),
    (lambda: neurospice.simulate(TOY, engine="xyce"), ("xyce", "spice")),
])
def test_the_api_refuses_what_the_command_refuses(call: object, names: tuple[str, ...]) -> None:
    with pytest.raises(UsageError) as info:
        call()  # type: ignore[operator]
    assert all(n in str(info.value) for n in names), str(info.value)


def test_the_api_energy_report() -> None:
    """``energy=True`` saves the currents and balances the energy, as ``--energy`` does: what
    the sources delivered goes into the capacitors of the toy's neurons (within 10 %)."""
    run = neurospice.simulate(TOY, tstop=0.02, energy=True)
    balance = run.summary["energy"]["balance"]
    assert balance["sources_j"] > 0 and balance["stored_j"] > 0
    assert abs(balance["relative_error"]) < 0.1
    assert "energy" not in neurospice.simulate(TOY, tstop=0.02).summary


def test_the_api_sweeps_in_the_model_engine() -> None:
    """``sweep(engine="model")`` runs the model engine (it raised UsageError before): the board's
    master near its 39.7 Hz at both amplitudes, the rows marked with their engine."""
    board = neurospice.NETLISTS_DIR / "coupled_fhn.cir"
    df = neurospice.sweep(board, {"amp": [1.6, 1.8]}, engine="model", tstop=0.5, workers=1)
    assert list(df["engine"]) == ["model", "model"] and list(df["status"]) == ["ok", "ok"]
    assert df["f_master_hz"].astype(float).between(37.0, 42.5).all()
