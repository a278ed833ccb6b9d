"""The model engine: the board's circuit equations compiled from its deck, integrated in numba.

Public API (by task):

* run a deck: :func:`run_model` (one :class:`~neurospice.sim.waveforms.Waveforms` per parameter
  point, same vector names as ngspice), :func:`iter_model` (chunk by chunk, for maps);
* compile once, run many times: :func:`compile_model` -> :class:`CompiledModel`
  (``.run(points)``, ``.iter(points)``, ``.program.describe()``);
* maps over worker processes, reduced to rows in the workers:
  :func:`neurospice.sim.model.maps.map_model`;
* what cannot be mapped: :class:`UnmappableElementError` (a
  :class:`~neurospice.errors.NeurospiceInputError`; ``.element`` names the element);
* the neuron's measured nonlinearity: :func:`characterise_fhn`, :class:`NeuronTables`,
  :func:`cache_dir`.

See docs/model_engine.md for the equations, the step, the agreement with ngspice and the speed.
"""

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from neurospice.sim.model.characterise import NeuronTables, cache_dir, characterise_fhn
    from neurospice.sim.model.compile import ModelProgram, UnmappableElementError, compile_deck
    from neurospice.sim.model.engine import (
        DEFAULT_HMAX,
        DEFAULT_RTOL,
        DEFAULT_STEP,
        CompiledModel,
        ModelParameterError,
        compile_model,
        iter_model,
        run_model,
    )

__all__ = [
    "DEFAULT_HMAX",
    "DEFAULT_RTOL",
    "DEFAULT_STEP",
    "CompiledModel",
    "ModelParameterError",
    "ModelProgram",
    "NeuronTables",
    "UnmappableElementError",
    "cache_dir",
    "characterise_fhn",
    "compile_deck",
    "compile_model",
    "iter_model",
    "run_model",
]

#: where each name lives: the engine's modules load numba (0.2 s), so they load on first use -
#: a spice run that only needs the model package's deck readers (the shared noise, the known
#: bodies) does not pay for them
_HOME = {
    "NeuronTables": "characterise", "cache_dir": "characterise", "characterise_fhn": "characterise",
    "ModelProgram": "compile", "UnmappableElementError": "compile", "compile_deck": "compile",
    "DEFAULT_HMAX": "engine", "DEFAULT_RTOL": "engine",
    "DEFAULT_STEP": "engine", "CompiledModel": "engine", "ModelParameterError": "engine",
    "compile_model": "engine", "iter_model": "engine", "run_model": "engine",
}

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__, submod_attrs={m: [n for n, home in _HOME.items() if home == m]
                            for m in set(_HOME.values())})
