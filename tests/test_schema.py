"""One output schema: every kind of output folder holds a summary.json that validates against
``neurospice/schema/summary.schema.json``, and a run's vectors have one set of names across
waveforms.csv, waveforms.parquet and ``Run.to_dataframe()``."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

import neurospice
from neurospice.cli.main import main
from neurospice.report.summary import SCHEMA_VERSION
from neurospice.schema import summary_schema

from helpers import NETLISTS

TOY = Path(__file__).parent / "data" / "decks" / "toy_pair.cir"
BOARD = NETLISTS / "coupled_fhn.cir"
VALIDATOR = jsonschema.Draft202012Validator(summary_schema())


def _summary(out: Path) -> dict[str, Any]:
    doc = json.loads((out / "summary.json").read_text())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in VALIDATOR.iter_errors(doc)]
    assert not errors, errors
    return doc  # type: ignore[no-any-return]


def _cli(*argv: object) -> None:
    assert main([str(a) for a in argv]) == 0


@pytest.fixture(scope="module")
def board_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The board for 0.1 s with the energy report: neurons, a memristor, a pair."""
    out = tmp_path_factory.mktemp("board")
    _cli("simulate", BOARD, "--tstop", "0.1", "--energy", "--no-plot", "-q",
         "--format", "csv", "-o", out)
    return out


def test_the_schema_is_valid_and_versioned() -> None:
    schema = summary_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(SCHEMA_VERSION) and schema["version"] == SCHEMA_VERSION
    assert set(schema["properties"]["kind"]["enum"]) == {
        "run", "analyses", "sweep", "runs", "tolerance", "corners", "stdp", "crossbar"}


def test_a_single_run(board_run: Path) -> None:
    doc = _summary(board_run)
    assert doc["kind"] == "run" and doc["schema_version"] == SCHEMA_VERSION
    assert [n["column"] for n in doc["neurons"]] == ["master.mem", "slave.mem"]
    (m1,) = doc["memristors"]
    assert (m1["r_column"], m1["w_column"]) == ("m1.r", "m1.w")
    assert 100 < m1["r_min_ohm"] <= m1["r_max_ohm"] < 1e6  # a resistance, in ohm
    (pair,) = doc["pairs"]
    assert (pair["master"], pair["slave"]) == ("master", "slave")
    assert pair["text"].startswith("master -> slave")
    assert doc["energy"]["elements"][0]["name"] == "m1"
    assert any(n.startswith("energy m1") for n in doc["notes"])  # its line, not a key
    assert "--energy" in doc["run"]["command"] and doc["run"]["tstop_s"] == pytest.approx(0.1)
    units = {c["name"]: c["unit"] for c in doc["columns"]}
    assert units["m1.r"] == "ohm" and units["m1.w"] == "1" and units["master.mem"] == "V"


def test_a_model_run_over_noise_draws(tmp_path: Path) -> None:
    """P(mode) and the verdict's flips as records (the model engine, two draws)."""
    _cli("simulate", BOARD, "--engine", "model", "--tstop", "1", "--seeds", "2", "--no-plot",
         "-q", "-o", tmp_path)
    (pair,) = _summary(tmp_path)["pairs"]
    assert pair["n_seeds"] == 2 and pair["probabilities"]
    assert sum(p["p"] for p in pair["probabilities"]) == pytest.approx(1.0)
    assert all(p["lo"] <= p["p"] <= p["hi"] for p in pair["probabilities"])


def test_an_operating_point_deck(tmp_path: Path) -> None:
    deck = tmp_path / "op.cir"
    deck.write_text("divider\nV1 a 0 10\nR1 a b 3k\nR2 b 0 1k\n.op\n.end\n")
    _cli("simulate", deck, "-q", "--no-plot", "-o", tmp_path / "o")
    doc = _summary(tmp_path / "o")
    values = {v["vector"]: v["value"] for v in doc["analyses"][0]["values"]}
    assert doc["kind"] == "analyses" and values["v(b)"] == pytest.approx(2.5)
    assert doc["run"]["command"].endswith(f"-o {tmp_path / 'o'}")


@pytest.mark.parametrize(("kind", "options", "table"), [
    ("sweep", ["--sweep", "rc=1:3:2"], "sweep.csv"),
    ("runs", ["--runs", "2"], "runs.csv"),
    ("tolerance", ["--runs", "2", "--tol", "R=5%"], "runs.csv"),
    ("corners", ["--corners", "--tol", "R=5%"], "corners.csv"),
])
def test_every_batch_folder(tmp_path: Path, kind: str, options: list[str], table: str) -> None:
    _cli("simulate", TOY, "--tstop", "0.2", "-q", "--no-plot", "-o", tmp_path, *options)
    doc = _summary(tmp_path)
    with (tmp_path / table).open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert (doc["kind"], doc["table"]) == (kind, table)
    assert doc["points"] == {"total": len(rows), "ok": len(rows), "failed": 0}
    assert sum(m["count"] for m in doc["modes"]) == len(rows)
    master = next(f for f in doc["frequencies"] if f["column"] == "f_master_hz")
    assert 20 < master["min_hz"] <= master["max_hz"] < 30  # the toy's oscillators, ~25 Hz
    assert " ".join(options) in doc["run"]["command"]
    if kind == "sweep":
        assert doc["axes"] == [{"name": "rc", "spec": "rc=1:3:2", "values": [1.0, 3.0]}]


def test_a_model_sweep_verified_in_ngspice(tmp_path: Path) -> None:
    _cli("simulate", BOARD, "--engine", "model", "--tstop", "0.3", "--sweep", "r2=1k:2k:2",
         "--verify", "1", "-q", "--no-plot", "-o", tmp_path)
    doc = _summary(tmp_path)
    with (tmp_path / "verify.csv").open(newline="") as fh:
        checks = list(csv.DictReader(fh))
    assert doc["verified"] == {"table": "verify.csv", "points": 1,
                               "agree": sum(c["agree"] == "1" for c in checks)}
    assert doc["verified"]["agree"] == 1 and doc["status"] == 0  # the engines agree here


def test_stdp_and_crossbar(tmp_path: Path) -> None:
    _cli("stdp", "--dt=-1:1:3", "--no-plot", "-o", tmp_path / "stdp")
    doc = _summary(tmp_path / "stdp")
    assert doc["kind"] == "stdp" and len(doc["points"]) == 3
    assert doc["dg_over_g_min"] < 0 < doc["dg_over_g_max"]  # depression and potentiation
    assert "--dt=-1:1:3" in doc["run"]["command"]
    _cli("crossbar", "--n", "6", "--presentations", "3", "--prop1", "--no-plot",
         "-o", tmp_path / "xbar")
    doc = _summary(tmp_path / "xbar")
    result = json.loads((tmp_path / "xbar" / "crossbar.json").read_text())
    assert doc["kind"] == "crossbar" and doc["n"] == 6
    assert doc["g_max_s"] == pytest.approx(max(result["g_s"]))
    assert doc["prop1"]["periods"] == sorted({s["period"] for s in
                                             result["prop1"]["solutions"]})


def test_the_schema_refuses_the_old_shapes_and_strays(board_run: Path) -> None:
    doc = json.loads((board_run / "summary.json").read_text())
    broken: list[dict[str, Any]] = []
    for change in (
        lambda d: d.setdefault("extra", {}).update({"locking master->slave": "1:1"}),
        lambda d: d["pairs"][0].update({"t_start": 0.0}),  # a number without its unit
        lambda d: d.update({"pairs": {"master->slave": d["pairs"][0]}}),  # keyed by text
        lambda d: d["run"].pop("command"),
        lambda d: d.update({"schema_version": "0.9"}),
        lambda d: d["neurons"][0]["stats"].update({"vmin": -2.0}),
        lambda d: d.update({"kind": "sweep"}),
    ):
        d = copy.deepcopy(doc)
        change(d)
        broken.append(d)
    assert all(not VALIDATOR.is_valid(d) for d in broken)
    assert VALIDATOR.is_valid(doc)


def test_one_vector_name_set_across_csv_parquet_and_dataframe(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    for fmt in ("csv", "parquet"):
        _cli("simulate", BOARD, "--tstop", "0.1", "--no-plot", "-q", "--format", fmt,
             "-o", tmp_path / fmt)
    with (tmp_path / "csv" / "waveforms.csv").open(newline="") as fh:
        header = next(csv.reader(fh))
    csv_names = [h.rsplit(" [", 1)[0] for h in header]  # "m1.r [ohm]": name, then unit
    csv_units = {h.rsplit(" [", 1)[0]: h.rsplit(" [", 1)[1].rstrip("]") for h in header}
    table = pq.read_table(tmp_path / "parquet" / "waveforms.parquet")
    run = neurospice.simulate(BOARD, tstop=0.1)
    df = run.to_dataframe()
    assert {"master.mem", "slave.mem", "m1.r", "m1.w"} <= set(df.columns)
    assert csv_names[0] == table.schema.names[0] == df.index.name == "time"
    assert csv_names[1:] == table.schema.names[1:] == list(df.columns)
    assert set(run.units) == set(df.columns)
    summary = json.loads((tmp_path / "csv" / "summary.json").read_text())
    assert [c["name"] for c in summary["columns"]] == list(df.columns)
    assert csv_units["m1.r"] == run.units["m1.r"] == df.attrs["units"]["m1.r"] == "ohm"
    assert csv_units["m1.w"] == run.units["m1.w"] == "1"
    assert table.schema.field("m1.w").metadata[b"unit"] == b"1"
    assert df.attrs["ngspice"]["slave.mem"] == "v(smem)"
    assert table.schema.field("slave.mem").metadata[b"vector"] == b"v(smem)"
    np.testing.assert_array_equal(run["slave.mem"], run["v(smem)"])
    assert run.units["i(vsense)"] == "A" and run.units["master.mem"] == "V"
    with pytest.raises(KeyError, match="slave.mem"):
        run["no.such"]


def test_a_run_from_python_records_how_to_repeat_it(tmp_path: Path) -> None:
    """Run.summary from the API has the shape of summary.json, with the ``run`` record and the
    command that repeats the run; that command writes the same verdict."""
    run = neurospice.simulate(TOY, tstop=0.05, params={"rc": "11k"})
    doc = copy.deepcopy(run.summary)
    errors = [e.message for e in VALIDATOR.iter_errors(doc)]
    assert not errors, errors
    record = doc["run"]
    assert record["engine"] == "spice" and record["params"] == {"rc": "11k"}
    assert "--tstop 0.05" in record["command"] and "--param rc=11k" in record["command"]
    argv = record["command"].split()[1:]
    assert main(["simulate", *argv, "--no-plot", "-q", "-o", str(tmp_path)]) == 0
    again = _summary(tmp_path)
    assert doc["pairs"] and [p["mode"] for p in again["pairs"]] == [p["mode"] for p in doc["pairs"]]
