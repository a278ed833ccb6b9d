"""Engines as objects: the registry turns a name into an engine once; engines run and map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neurospice.errors import UsageError
from neurospice.sim.engines import ENGINES, ModelEngine, SpiceEngine, engine_names, get_engine
from neurospice.sim.options import RunOptions

TOY = Path(__file__).parent / "data" / "decks" / "toy_pair.cir"


def test_the_registry_turns_a_name_into_its_engine() -> None:
    assert engine_names() == ["spice", "model"]
    assert isinstance(get_engine("spice"), SpiceEngine)
    assert isinstance(get_engine(" Model "), ModelEngine)
    eng = ENGINES["model"]
    assert get_engine(eng) is eng
    with pytest.raises(UsageError, match="unknown engine 'xyce'; choose one of spice, model"):
        get_engine("xyce")


def test_capabilities_say_what_each_engine_does() -> None:
    spice, model = get_engine("spice").capabilities, get_engine("model").capabilities
    assert spice.raw and spice.energy and spice.corners and not spice.verify
    assert model.verify and model.point_maps and model.self_check and not model.raw
    assert spice.analyses >= {"tran", "ac", "dc", "op"} and model.analyses == {"tran"}


def _final_v(deck: Any, point: dict[str, Any], wf: Any) -> dict[str, Any]:
    return {"rc": point["rc"], "v_s": float(np.real(wf["v(s)"])[-1])}


def test_the_spice_engine_maps_points_in_order() -> None:
    from neurospice.spice.deck import prepare_deck

    deck = prepare_deck(TOY).with_tstop(0.02)
    seen: list[int] = []
    rows = get_engine("spice").map(deck, [{"rc": 1.0}, {"rc": 1e6}],
                                   _final_v, RunOptions(workers=1), progress=seen.append)
    assert [r["rc"] for r in rows] == [1.0, 1e6] and sum(seen) == 2
    # the slave starts at -1 V; through 1 ohm it is pulled to the master, through 1 Mohm not
    assert rows[0]["v_s"] != pytest.approx(rows[1]["v_s"], abs=1e-3)
