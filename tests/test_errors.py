"""The one error tree: every exception class of the package derives from NeurospiceError."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import neurospice
from neurospice.errors import DeckError, ModelError, NeurospiceError, NeurospiceInputError

#: lives in the ngspice worker only and is reported there as a message (see neurospice.errors)
_WORKER_ONLY = {"neurospice.sim.sandbox.SandboxUnavailable"}


def _exception_classes() -> list[type[BaseException]]:
    out = []
    for info in pkgutil.walk_packages(neurospice.__path__, "neurospice."):
        if info.name.endswith(("__main__", ".worker")):
            continue
        mod = importlib.import_module(info.name)
        for obj in vars(mod).values():
            if (isinstance(obj, type) and issubclass(obj, BaseException)
                    and obj.__module__ == info.name):
                out.append(obj)
    return out


def test_every_exception_class_is_in_the_tree() -> None:
    classes = _exception_classes()
    names = {f"{c.__module__}.{c.__qualname__}" for c in classes}
    assert "neurospice.sim.model.compile.UnmappableElementError" in names  # the walk sees them
    outside = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes
                     if not issubclass(c, NeurospiceError))
    assert set(outside) == _WORKER_ONLY


@pytest.mark.parametrize("path", ["neurospice.sim.model.compile.UnmappableElementError",
                                  "neurospice.sim.model.engine.ModelParameterError",
                                  "neurospice.sim.model.characterise.CharacterisationError",
                                  "neurospice.sim.model.selfcheck.SelfCheckError",
                                  "neurospice.sim.model.behavioural.NotCompilable"])
def test_model_engine_errors_are_model_errors(path: str) -> None:
    mod, name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(mod), name)
    assert issubclass(cls, ModelError) and issubclass(cls, NeurospiceInputError)


def test_lex_error_is_a_deck_error_with_its_position() -> None:
    from neurospice.spice.lexer import LexError

    exc = LexError("a '+' continuation line with no card before it", 3, 1)
    assert isinstance(exc, DeckError) and isinstance(exc, ValueError)
    assert (exc.message, exc.line, exc.column) == (
        "a '+' continuation line with no card before it", 3, 1)
    assert str(exc).startswith("<input>:3:1: a '+'")


CONTROL_DECK = "rc\nR1 a 0 1k\nV1 a 0 dc 1\n.tran 1u 1m\n.control\nrun\n.endc\n.end\n"


def test_a_message_names_the_option_as_its_reader_typed_it(tmp_path, capsys) -> None:
    """The deck layer's messages name the API's keywords for a Python caller and the flags for
    the command line (one message, two spellings: errors.option)."""
    from neurospice.cli.main import main

    deck = neurospice.NETLISTS_DIR / "fhn_neuron.cir"
    with pytest.raises(DeckError) as api_err:
        neurospice.simulate(deck, params={"nosuch": 1.0}, tstop=0.01)
    assert 'params["nosuch"]' in str(api_err.value) and "--param" not in str(api_err.value)
    with pytest.raises(DeckError) as control_err:
        neurospice.simulate(CONTROL_DECK, base_dir=tmp_path)
    assert 'control="ignore"' in str(control_err.value)
    assert "--ignore-control" not in str(control_err.value)

    status = main(["simulate", str(deck), "--param", "nosuch=1", "-o", str(tmp_path / "o"),
                   "--no-plot", "-q"])
    err = capsys.readouterr().err
    assert status == 2 and "--param nosuch" in err and "params[" not in err
    ctl = tmp_path / "ctl.cir"
    ctl.write_text(CONTROL_DECK)
    status = main(["simulate", str(ctl), "-o", str(tmp_path / "c"), "--no-plot", "-q"])
    err = capsys.readouterr().err
    assert status == 2 and "--ignore-control" in err and 'control="' not in err
    # and the command line leaves the API's spelling as it found it
    with pytest.raises(DeckError, match=r'params\["nosuch"\]'):
        neurospice.simulate(deck, params={"nosuch": 1.0}, tstop=0.01)
