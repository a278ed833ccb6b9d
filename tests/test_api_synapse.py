"""The synapse commands through the Python API: ``neurospice.stdp`` and ``neurospice.crossbar``
give what ``neurospice stdp`` and ``neurospice crossbar`` write, and refuse what they refuse."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import neurospice
from neurospice.batch.stdp import StdpGrid
from neurospice.cli.main import main
from neurospice.errors import NeurospiceInputError, UsageError


def test_stdp_from_python_equals_the_command(tmp_path: Path) -> None:
    points = neurospice.stdp("pair", StdpGrid([-0.5, 0.5], g0s=[1e-3, 1.2e-3]))
    assert [(p.g0_s, p.dt_over_th) for p in points] == [
        (1e-3, -0.5), (1e-3, 0.5), (1.2e-3, -0.5), (1.2e-3, 0.5)]
    for p in points:  # the pair's sign: post before pre depresses, pre before post potentiates
        assert (p.dg_over_g > 0) == (p.dt_over_th > 0)
    assert main(["stdp", "--dt=-0.5:0.5:2", "--g0", "1e-3", "--g0", "1.2e-3", "--no-plot",
                 "-o", str(tmp_path)]) == 0
    with (tmp_path / "stdp.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["g_final_s"]) for r in rows] == pytest.approx(
        [p.g_final_s for p in points], rel=1e-5)  # the file keeps 6 digits


def test_stdp_engines_are_objects_named_in_their_refusals() -> None:
    with pytest.raises(NeurospiceInputError, match="model, full, spice"):
        neurospice.stdp("pair", [0.5], engine="nosuch")
    with pytest.raises(NeurospiceInputError, match="'full' engine integrates every pulse"):
        neurospice.stdp("pair", [0.5], engine="full", accounting="paper")


def test_crossbar_from_python_equals_the_command(tmp_path: Path) -> None:
    run = neurospice.crossbar(n=8, period_ratio=1.3, presentations=30, prop1=True)
    assert run.engine == "map" and len(run.result.g) == 8
    assert run.prop1 is not None and all(s.period >= 1 for s in run.prop1)
    assert main(["crossbar", "--n", "8", "--period-ratio", "1.3", "--presentations", "30",
                 "--prop1", "--no-plot", "-o", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "crossbar.json").read_text())
    assert doc["g_s"] == pytest.approx([float(g) for g in run.result.g], rel=1e-12)
    assert doc["spatial_period"] == run.result.spatial_period


def test_crossbar_refusals_name_the_setting() -> None:
    with pytest.raises(UsageError, match="no setting nosuch"):
        neurospice.crossbar(nosuch=1)
    with pytest.raises(UsageError, match="N <= 12; got --n 20"):
        neurospice.crossbar(n=20, engine="spice")
    with pytest.raises(UsageError, match="map, spice"):
        neurospice.crossbar(n=4, engine="nosuch")
