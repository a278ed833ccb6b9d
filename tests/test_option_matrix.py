"""Every combination of options is honoured or refused: engines x batch kinds x options.

For each combination the command line either exits 2 with one paragraph naming the option and
the one it conflicts with (the batch kind's option, ``--engine``, or the option it needs), or
runs with the option reaching the code that acts on it: the functions that run a batch's points
(and the single run) are replaced by recorders, so no combination runs ngspice here. What a
single run does with each option (the raw file, the Parquet table, the energy report ...) is
checked by running it at the end, on the small toy deck.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from neurospice.cli.main import main
from neurospice.sim.engines import engine_names
from neurospice.sim.options import RunOptions

TOY = Path(__file__).parent / "data" / "decks" / "toy_pair.cir"
SCHEDULER = "tcp://127.0.0.1:8786"

KINDS: dict[str, list[str]] = {
    "single": [],
    "sweep": ["--sweep", "rc=1,2"],
    "runs": ["--runs", "2"],
    "tol-runs": ["--runs", "2", "--tol", "R=5%"],
    "corners": ["--corners", "--tol", "R=5%"],
    "seeds": ["--seeds", "2"],
}
#: option -> (arguments, its flag, what honouring it looks like in the recorded call)
OPTIONS: dict[str, tuple[list[str], str, tuple[str, object]]] = {
    "energy": (["--energy"], "--energy", ("energy", True)),
    "raw": (["--raw"], "--raw", ("raw", True)),
    "verify": (["--verify", "2"], "--verify", ("verify", 2)),
    "scheduler": (["--scheduler", SCHEDULER], "--scheduler", ("scheduler", SCHEDULER)),
    "resume": (["--resume"], "--resume", ("resume", True)),
    "corners": (["--corners", "--tol", "R=5%"], "--corners", ("tols", ("R=5%",))),
    "seeds": (["--seeds", "3"], "--seeds", ("seeds", 3)),
    "spike-threshold": (["--spike-threshold", "0.5"], "--spike-threshold",
                        ("spike_threshold", {"*": 0.5})),
    "format": (["--format", "parquet"], "--format", ("fmt", "parquet")),
}
#: the flags a refusal may name as the other side of the conflict
OTHER_FLAGS = ("--engine", "--sweep", "--runs", "--tol", "--corners", "--seeds")
class _Recorded(Exception):
    """Raised by a recorder that must stop the command (it has what it needs)."""


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The functions that act on the options replaced by recorders of what reached them: the
    sweep's points, the tolerance builds, the corners, the Monte Carlo runs of each engine, the
    sweep's verification, and the single run."""
    import neurospice.batch.corners as corners
    import neurospice.batch.montecarlo as montecarlo
    import neurospice.batch.sweep as sweep
    import neurospice.batch.tolerance as tolerance
    import neurospice.cli.simulate as simulate
    import neurospice.sim.model.selfcheck as selfcheck

    calls: list[dict[str, Any]] = []

    def record(name: str, result: object) -> Any:
        def fake(*args: Any, **kw: Any) -> object:
            given = [a for a in args if isinstance(a, RunOptions)]  # options travel whole
            fields = {k: getattr(given[0], k) for k in vars(given[0])} if given else {}
            calls.append({"call": name, "args": args, **fields, **kw})
            if isinstance(result, Exception):
                raise result
            return result
        return fake

    monkeypatch.setattr(sweep, "run_sweep", record("run_sweep", []))
    monkeypatch.setattr(tolerance, "run_tolerance", record("run_tolerance", []))
    monkeypatch.setattr(corners, "run_corners", record("run_corners", _Recorded()))
    monkeypatch.setattr(montecarlo, "_run_all", record("spice runs", {}))
    monkeypatch.setattr(montecarlo, "_run_model", record("model runs", {}))

    def verify_points(deck: Any, rows: Any, axes: Any, o: RunOptions) -> list[Any]:
        calls.append({"call": "verify_points", "verify": o.verify})
        return []

    monkeypatch.setattr(sweep, "verify_points", verify_points)

    def single(job: Any, deck: Any, worker: Any) -> int:
        o = job.options
        calls.append({"call": "single", **{k: getattr(o, k) for k in vars(o)}})
        return 0

    monkeypatch.setattr(simulate, "_run_single", single)
    monkeypatch.setattr(selfcheck, "self_check", lambda deck: None)
    return calls


def _honoured(calls: list[dict[str, Any]], engine: str, field: str, value: object) -> bool:
    if field == "tols":  # corners: the parts reach the corners' runs
        return any(c["call"] == "run_corners" and [t.target for t in c["args"][1]] == ["R"]
                   for c in calls)
    for call in calls:
        if call["call"] == "model runs" and engine != "model":
            return False
        got = call.get(field)
        if isinstance(value, dict) and dict(got or {}) == value:
            return True
        if got == value:
            return True
    return False


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("engine", engine_names())
def test_every_combination_is_honoured_or_refused(
        engine: str, kind: str, option: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], recorder: list[dict[str, Any]]) -> None:
    extra, flag, (field, value) = OPTIONS[option]
    kind_args = KINDS[kind]
    if option == "corners" and kind == "corners":
        pytest.skip("the same combination as the corners kind alone")
    argv = ["simulate", str(TOY), "-q", "--no-plot", "--tstop", "20m",
            "-o", str(tmp_path / "out"), "--engine", engine, *kind_args]
    status = main([*argv, *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if status == 2:
        paragraph = err.strip()
        if flag not in paragraph:  # the engine refuses the batch kind itself, whatever else
            assert main(argv) == 2 and capsys.readouterr().err.strip() == paragraph
            flag = "--engine"
        assert flag in paragraph, paragraph
        others = [f for f in OTHER_FLAGS if f != flag and f in paragraph.replace(flag, "")]
        assert others, f"the refusal names only {flag}: {paragraph}"
        assert not recorder  # refused before anything ran
        return
    # accepted: the recorders stopped it (0, or 1 for a batch whose runs they left empty)
    assert status in (0, 1), err
    assert recorder, f"{engine} {kind} {option}: accepted but nothing ran"
    assert _honoured(recorder, engine, field, value), (
        f"{engine} {kind} {option}: accepted but {field}={value!r} did not reach "
        f"{[c['call'] for c in recorder]}: {recorder}")


def test_the_matrix_refuses_and_honours_both() -> None:
    """Canaries: the combinations the engines can do are accepted, the others refused (a
    validate() that refused everything, or nothing, would pass the matrix vacuously)."""
    from neurospice.errors import UsageError
    from neurospice.sim.options import RunOptions

    accepted = [RunOptions(engine="model", sweeps=("a=1,2",), verify=2),
                RunOptions(runs=3, scheduler=SCHEDULER),
                RunOptions(corners=True, tols=("R=5%",), workers=2),
                RunOptions(raw=True, energy=True, fmt="parquet", seeds=3)]
    for o in accepted:
        assert o.validate() is o
    refused = {RunOptions(engine="model", raw=True): ("--raw", "--engine"),
               RunOptions(engine="spice", sweeps=("a=1,2",), verify=2): ("--verify", "--engine"),
               RunOptions(runs=3, resume=True): ("--resume", "--runs"),
               RunOptions(energy=True, sweeps=("a=1,2",)): ("--energy", "--sweep"),
               RunOptions(corners=True, tols=("R=5%",), seed=4): ("--seed", "--corners"),
               RunOptions(sweeps=("a=1,2",), runs=4): ("--sweep", "--runs")}
    from neurospice.errors import SPELLING

    token = SPELLING.set("cli")  # as the command line reads them: flags
    try:
        for o, names in refused.items():
            with pytest.raises(UsageError) as info:
                o.validate()
            assert all(n in str(info.value) for n in names), str(info.value)
    finally:
        SPELLING.reset(token)
    with pytest.raises(UsageError) as info:  # from Python: the keywords
        RunOptions(engine="model", raw=True).validate()
    assert str(info.value).startswith('raw needs engine="spice"'), str(info.value)


def test_a_single_run_honours_its_output_options(tmp_path: Path) -> None:
    """The single-run options take effect: ngspice's raw file kept, the Parquet table written,
    the energy report in summary.json, the spike threshold used."""
    out = tmp_path / "out"
    status = main(["simulate", str(TOY), "-q", "--no-plot", "--tstop", "20m", "-o", str(out),
                   "--raw", "--format", "parquet", "--energy", "--spike-threshold", "0.5"])
    assert status == 0
    assert (out / "toy_pair.raw").stat().st_size > 1000
    assert (out / "waveforms.parquet").exists() and not (out / "waveforms.csv").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert "energy" in summary.get("extra", summary)
    assert "0.5" in json.dumps(summary)  # the threshold the run used is recorded
