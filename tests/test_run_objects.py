"""The frozen objects a run's options become below the API: RunOptions read from keywords, the
ngspice worker's job (WorkerJob, RunLimits) and the model engine's Span."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurospice.errors import UsageError
from neurospice.sim.model.engine import CompiledModel, Span
from neurospice.sim.options import RunOptions
from neurospice.sim.process import RunLimits, WorkerJob
from neurospice.spice.deck import prepare_deck

NEURON = Path(__file__).resolve().parents[1] / "netlists" / "fhn_neuron.cir"


def test_settings_are_read_as_the_command_line_reads_them() -> None:
    o = RunOptions.from_settings({"tstop": "500m", "timeout": "2k", "max_deck_bytes": "1meg",
                                  "spike_threshold": 1.5, "tols": "R=5%"})
    assert o.tstop == pytest.approx(0.5) and o.timeout == pytest.approx(2000.0)
    assert o.max_deck_bytes == 1_000_000 and o.spike_threshold == {"*": 1.5}
    assert o.tols == ("R=5%",)  # one spec, not its characters
    assert o.deck_limits().max_file_bytes == 1_000_000
    assert RunOptions().deck_limits().max_file_bytes == 20_000_000  # the compiler's default
    base = RunOptions(seed=7, workers=2)
    assert RunOptions.from_settings({"workers": 3}, base=base) == RunOptions(seed=7, workers=3)
    with pytest.raises(UsageError) as info:
        RunOptions.from_settings({"tsop": 1}, allowed=frozenset({"tstop", "seed"}))
    assert str(info.value) == "unknown option 'tsop'; the options are seed, tstop"


def test_the_early_worker_job_equals_the_runs() -> None:
    """A worker started before the deck is compiled runs it only when its job equals the run's:
    the command line's job (timeout and memory read from text) must equal the run's, and a
    different limit must not."""
    o = RunOptions.from_settings({"timeout": "60", "max_memory": "2g"})
    early = WorkerJob(("/decks",), False, RunOptions(timeout=60.0, max_memory=2_000_000_000)
                      .run_limits())
    run = WorkerJob(("/decks",), False, o.run_limits())
    assert early == run and hash(early) == hash(run)
    assert run != WorkerJob(("/decks",), False, RunOptions(timeout=61.0).run_limits())
    assert run != WorkerJob(("/decks",), True, o.run_limits())  # the raw file kept
    assert RunOptions().run_limits() == RunLimits()  # the defaults are the worker's own


def test_a_span_is_handed_down_whole_and_keywords_change_it() -> None:
    model = CompiledModel(prepare_deck(NEURON))
    by_span = model.bind([{}], Span(tstop=0.02, dt=1e-6))
    by_keywords = model.bind([{}], tstop=0.02, dt=1e-6)
    assert by_span.nsteps == by_keywords.nsteps == 20_000
    assert by_span.h == pytest.approx(1e-6)
    # a keyword changes the span's field; a None keyword leaves it
    assert model.bind([{}], Span(tstop=0.02, dt=1e-6), tstop=0.01).nsteps == 10_000
    assert model.bind([{}], Span(tstop=0.02, dt=1e-6), tstop=None).nsteps == 20_000
    with pytest.raises(TypeError):
        model.bind([{}], tsop=0.01)  # not a field of the span
