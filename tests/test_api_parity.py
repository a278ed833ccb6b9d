"""Every option of ``simulate`` on the command line has its place in the Python API (or a stated
reason why it is the command's alone), and the API refuses what the command line refuses."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

import neurospice
from neurospice.api import SETTINGS
from neurospice.cli.main import build_parser
from neurospice.errors import DeckError, SimulationError, UsageError
from neurospice.sim.options import RunOptions

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
    "ignore_control": [("simulate", "control"), ("load", "control"), ("check", "control")],
    "allow_control": [("simulate", "control"), ("load", "control"), ("check", "control")],
    "max_points": [("simulate", "max_points"), ("sweep", "max_points"),
                   ("monte_carlo", "max_points"), ("corners", "max_points"),
                   ("check", "max_points")],
    "max_deck_bytes": [("simulate", "max_deck_bytes"), ("sweep", "max_deck_bytes"),
                       ("monte_carlo", "max_deck_bytes"), ("corners", "max_deck_bytes"),
                       ("check", "max_deck_bytes")],
    "max_memory": [("simulate", "max_memory"), ("sweep", "max_memory"),
                   ("monte_carlo", "max_memory"), ("corners", "max_memory")],
    "compat": [("simulate", "compat"), ("sweep", "compat"), ("monte_carlo", "compat"),
               ("corners", "compat")],
    "allow_negative": [("simulate", "allow_negative")],
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


def _takes(function: str, param: str) -> bool:
    """Whether ``neurospice.<function>`` takes the keyword ``param``: a parameter of its own,
    or a run option of its ``**settings``."""
    params = inspect.signature(getattr(neurospice, function)).parameters
    if param in params:
        return True
    settings = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return settings and param in SETTINGS.get(function, ()) and param in RUN_OPTION_FIELDS


RUN_OPTION_FIELDS = {f.name for f in dataclasses.fields(RunOptions)}


@pytest.mark.parametrize("dest", list(IN_API))
def test_the_api_takes_the_option(dest: str) -> None:
    for function, param in IN_API[dest]:
        assert _takes(function, param), (
            f"--{dest.replace('_', '-')}: neurospice.{function}() has no {param}=")


def test_a_keyword_the_api_does_not_take_is_refused_naming_it() -> None:
    """A misspelt option is refused (not dropped) with its name and the names it could be."""
    with pytest.raises(UsageError) as info:
        neurospice.simulate(TOY, tsop=0.1)
    assert "'tsop'" in str(info.value) and "tstop" in str(info.value)
    with pytest.raises(UsageError, match="'raw'"):  # an option of the command's files only
        neurospice.sweep(TOY, {"rc": [1, 2]}, raw=True)
    assert not _takes("simulate", "tsop") and not _takes("simulate", "workers")


@pytest.mark.parametrize(("call", "names"), [
    (lambda: neurospice.simulate(TOY, engine="model", energy=True),
     ("energy needs", 'engine="spice"', 'engine="model" does not')),
    (lambda: neurospice.monte_carlo(TOY, 3, seeds=2), ("seeds=2", "runs=3", "tol=")),
    (lambda: neurospice.sweep(TOY, {"rc": [1, 2]}, verify=2),
     ("verify needs", 'engine="model"', 'engine="spice" does not')),
    (lambda: neurospice.simulate(TOY, engine="xyce"), ("xyce", "spice")),
    (lambda: neurospice.sweep(TOY, {"rc": [1, 2]}, workers=0), ("workers must be",)),
])
def test_the_api_refuses_what_the_command_refuses(call: object, names: tuple[str, ...]) -> None:
    """Refused as the command line refuses it, naming the keywords the caller wrote (no
    command-line flags)."""
    with pytest.raises(UsageError) as info:
        call()  # type: ignore[operator]
    assert all(n in str(info.value) for n in names), str(info.value)
    assert "--" not in str(info.value), str(info.value)


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


def test_the_api_deck_limits() -> None:
    """``max_deck_bytes`` and ``max_points`` reach the deck compiler (as ``--max-deck-bytes``,
    ``--max-points``): the 754-byte toy deck is refused under 100 bytes and read under 10 kB;
    its ``.tran`` of 5000 points is refused under 1000 points and run under 10000."""
    with pytest.raises(DeckError, match="over the limit of 100"):
        neurospice.simulate(TOY, max_deck_bytes=100)
    with pytest.raises(DeckError, match="5e.03 points, over the limit of 1e.03"):
        neurospice.simulate(TOY, max_points="1k")
    run = neurospice.simulate(TOY, tstop="20m", max_deck_bytes="10k", max_points=1e4)
    assert run.time[-1] == pytest.approx(0.02)
    with pytest.raises(DeckError, match="over the limit of 100"):  # the batches read it too
        neurospice.monte_carlo(TOY, 2, max_deck_bytes=100)
    with pytest.raises(UsageError, match="max_points='x': not a number"):
        neurospice.sweep(TOY, {"rc": [1, 2]}, max_points="x")
    with pytest.raises(DeckError, match="over the limit of 1e.03"):  # as `neurospice check`
        neurospice.check(TOY, max_points=1000)
    assert neurospice.check(TOY, max_points=1e4).tran() is not None


def test_the_api_worker_memory() -> None:
    """``max_memory`` is the ngspice worker's address-space limit (``--max-memory``): under
    20 MB ngspice's library cannot even be mapped; the command line's floor and its
    milli-not-mega hint hold for the API too."""
    with pytest.raises(SimulationError, match="could not be loaded|stopped abnormally"):
        neurospice.simulate(TOY, tstop=0.02, max_memory="20meg")
    with pytest.raises(UsageError, match="^max_memory='500m': 0.5 bytes .*'m' is milli"):
        neurospice.simulate(TOY, tstop=0.02, max_memory="500m")


def test_the_api_compat_and_negative_values() -> None:
    """``compat`` sets ngspice's compatibility mode of the run (``--compat``, checked as the
    command checks it); ``allow_negative`` lets ``params`` make a resistor negative
    (``--allow-negative``), refused otherwise."""
    assert neurospice.simulate(TOY, tstop=0.02, compat="LT").deck.compat == "lt"
    assert neurospice.simulate(TOY, tstop=0.02).deck.compat is None
    with pytest.raises(UsageError, match="^compat: compatibility mode 'xyz'"):
        neurospice.simulate(TOY, tstop=0.02, compat="xyz")
    with pytest.raises(DeckError, match="negative resistor"):
        neurospice.simulate(TOY, tstop=0.02, params={"Rc": "-2"})
    run = neurospice.simulate(TOY, tstop=0.02, params={"Rc": "-2"}, allow_negative=True)
    assert ".param rc=-2 " in run.deck.text
    base = neurospice.simulate(TOY, tstop=0.02)  # the coupling reversed moves the slave
    assert abs(float(run["v(s)"][-1]) - float(base["v(s)"][-1])) > 1e-3


def test_the_api_checks_the_deck_as_the_command_does(caplog: pytest.LogCaptureFixture) -> None:
    """One preparation for both (``neurospice.api.prepare``): a ``t_skip`` that leaves nothing
    to analyse is refused before anything runs, and the command's warnings (here the unit trap
    '2M', 2 milli-ohm) reach the API caller's log."""
    with pytest.raises(UsageError, match="^t_skip 0.05 s leaves nothing of a 0.02 s run"):
        neurospice.simulate(TOY, tstop=0.02, t_skip=0.05)
    with pytest.raises(UsageError, match="^t_skip "):
        neurospice.sweep(TOY, {"rc": [1, 2]}, tstop=0.02, t_skip=0.05)
    with caplog.at_level("WARNING", logger="neurospice.check"):
        run = neurospice.simulate("trap\nV1 a 0 1\nR1 a 0 2M\n.op\n.end\n")
    assert run.waveforms.analysis == "op"
    assert any("2M" in r.getMessage() and "milli" in r.getMessage() for r in caplog.records)


def test_an_option_read_from_text_is_named_as_its_reader_spells_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One reader, two spellings: the command line names the flag (``--max-points 'x'``),
    Python the keyword (``max_points='x'``), with the same reason."""
    from neurospice.cli.main import main

    status = main(["simulate", str(TOY), "-q", "--no-plot", "-o", str(tmp_path / "out"),
                   "--max-points", "x"])
    assert status == 2
    assert "--max-points 'x': not a number" in capsys.readouterr().err
    with pytest.raises(UsageError) as info:
        neurospice.simulate(TOY, max_points="x")
    assert str(info.value) == "max_points='x': not a number"
