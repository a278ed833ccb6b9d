"""The model registry reads pins, parameters and defaults from the SPICE library text."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurospice.errors import NeurospiceInputError
from neurospice.spice import (
    InvalidParameterError,
    Registry,
    UnknownModelError,
    default_library_dir,
    library_files,
    parse_library_text,
    parse_si,
)

FIXTURES = Path(__file__).parent / "data" / "lib"
REAL_LIB = (Path(__file__).resolve().parents[1] / "netlists" / "lib").resolve()


@pytest.fixture
def registry() -> Registry:
    return Registry.default(FIXTURES)


# --- parse_si ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10k", 1e4), ("2.2u", 2.2e-6), ("5ms", 5e-3), ("1meg", 1e6), ("1MEG", 1e6),
        ("1Meg", 1e6), ("1M", 1e-3), ("3m", 3e-3), ("4.7n", 4.7e-9), ("10p", 1e-11),
        ("1f", 1e-15), ("1F", 1e-15), ("2g", 2e9), ("1t", 1e12), ("1mil", 25.4e-6),
        ("10kohm", 1e4), ("5V", 5.0), ("10Hz", 10.0), ("50us", 50e-6), ("-3.5e-2V", -0.035),
        ("1e3", 1e3), ("1e3k", 1e6), (".5", 0.5), ("+2", 2.0), ("7", 7.0), ("0.35", 0.35),
        ("  12k ", 12e3),
    ],
)
def test_parse_si_follows_ngspice(text: str, value: float) -> None:
    assert parse_si(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["", "k", "abc", "1 2", "{x}", "--1", "1.2.3"])
def test_parse_si_rejects_non_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="not a SPICE number"):
        parse_si(text)


_SUFFIX = {"": 1.0, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3,
           "meg": 1e6, "g": 1e9, "t": 1e12}


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from(sorted(_SUFFIX)),
    st.sampled_from(["", "s", "ohm", "V", "A", "Hz"]),
)
def test_parse_si_scales_any_number(x: float, suffix: str, unit: str) -> None:
    if suffix == "" and unit and unit[0].lower() in "fpnumkgt":
        unit = ""  # a bare unit letter would itself be read as a scale suffix
    assert math.isclose(parse_si(f"{x!r}{suffix}{unit}"), x * _SUFFIX[suffix], rel_tol=1e-12,
                        abs_tol=1e-300)


# --- reading library text ----------------------------------------------------------------------

def test_fixture_library_models(registry: Registry) -> None:
    fhn = registry.get("fhn")
    assert fhn.pins == ("mem", "out")
    assert fhn.kind == "neuron"
    # continuation lines, spaces around '=', SI suffixes, case-insensitive names
    assert fhn.params["c0"] == pytest.approx(100e-9)
    assert fhn.params["v3"] == pytest.approx(0.35)
    assert fhn.params["r1"] == pytest.approx(10e3)
    assert fhn.params["l"] == pytest.approx(1.2)
    assert fhn.params["tau"] == "{L/R1}"  # expressions are kept as text
    assert fhn.library == (FIXTURES / "fhn.lib").resolve()
    assert fhn.line == 3
    assert registry.get("FHN_EQ").params == {}
    assert registry.get("fhn_eq").kind == "neuron"


def test_memristor_kind_and_description(registry: Registry) -> None:
    zro2 = registry.get("zro2")
    assert zro2.kind == "memristor"
    assert zro2.pins == ("p", "n")
    assert zro2.description.startswith("Au/Zr/ZrO2(Y)/TiN/Ti")
    assert zro2.params["lambda"] == pytest.approx(20e-9)
    assert "w" in zro2.internal_nodes
    assert registry.get("pershin").params["beta"] == pytest.approx(1e6)  # 'meg'
    assert registry.get("opamp").kind == "part"
    assert registry.names(kind="memristor") == ["biolek", "pershin", "zro2"]
    assert registry.names(kind="neuron") == ["fhn", "fhn_eq"]
    assert set(registry.names()) == {"biolek", "pershin", "zro2", "fhn", "fhn_eq", "opamp"}


def test_library_text_details(tmp_path: Path) -> None:
    text = """* title-like comment
.SUBCKT Amp IN OUT PARAMS: Gain = 10 r_in=1MEG note={gain*2} ; inline comment
+ tc='t*2'
.subckt inner a b
R1 a b 1k
.ends
R1 IN OUT {r_in}
.ENDS Amp
.model dx D(IS=1n)
.lib sub.lib typical
.include "other.lib"
"""
    lib = parse_library_text(text, tmp_path / "parts.lib")
    (amp,) = lib.subckts  # the nested subcircuit is local to amp
    assert amp.name == "amp"
    assert amp.pins == ("in", "out")
    assert amp.params == {"gain": 10.0, "r_in": 1e6, "note": "{gain*2}", "tc": "'t*2'"}
    assert amp.param_text["r_in"] == "1MEG"
    assert amp.line == 2
    assert amp.kind == "part"
    assert lib.models == {"dx"}
    assert lib.includes == ((tmp_path / "sub.lib").resolve(), (tmp_path / "other.lib").resolve())


def test_defaults_come_from_the_library_text(tmp_path: Path) -> None:
    """Editing the .lib changes what the registry reports: there is no copy in Python."""
    for f in FIXTURES.glob("*.lib"):
        shutil.copy(f, tmp_path / f.name)
    lib = tmp_path / "memristors.lib"
    lib.write_text(lib.read_text().replace("w0=0.1 seed=0", "w0=0.25 seed=0"))
    assert Registry.default(tmp_path).get("zro2").params["w0"] == 0.25
    assert Registry.default(FIXTURES).get("zro2").params["w0"] == 0.1


def test_library_folder_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROSPICE_LIB", str(FIXTURES))
    assert default_library_dir() == FIXTURES.resolve()
    assert "zro2" in Registry.default()
    monkeypatch.delenv("NEUROSPICE_LIB")
    assert default_library_dir() == REAL_LIB


# --- lookups and checks ------------------------------------------------------------------------

def test_unknown_model_lists_known_names(registry: Registry) -> None:
    with pytest.raises(UnknownModelError) as info:
        registry.get("zro3")
    err = info.value
    assert isinstance(err, NeurospiceInputError) and isinstance(err, LookupError)
    assert err.name == "zro3"
    assert "did you mean 'zro2'" in str(err)
    for name in ("biolek", "fhn", "pershin", "zro2"):
        assert name in str(err)


@pytest.mark.parametrize(
    ("model", "overrides", "param"),
    [
        ("zro2", {"sed": 7}, "sed"),
        ("zro2", {"s": -1e-12}, "s"),
        ("zro2", {"s": 0}, "s"),
        ("zro2", {"lambda": "-20n"}, "lambda"),
        ("zro2", {"rho": "0"}, "rho"),
        ("zro2", {"w0": 1.5}, "w0"),
        ("zro2", {"w0": "-0.1"}, "w0"),
        ("biolek", {"ron": "-100"}, "ron"),
        ("biolek", {"roff": "-16k"}, "roff"),
        ("fhn", {"r1": "-10k"}, "r1"),
        ("fhn", {"v3": "abc"}, "v3"),
    ],
)
def test_validate_params_names_the_parameter(
    registry: Registry, model: str, overrides: dict[str, str | float], param: str
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        registry.validate_params(model, overrides)
    assert info.value.param == param
    assert f"'{param}'" in str(info.value)


def test_validate_params_accepts_good_values(registry: Registry) -> None:
    checked = registry.validate_params(
        "zro2", {"W0": "0", "s": "2p", "seed": 7, "em": "-0.5", "rho": "{2*x}"})
    assert checked == {"w0": 0.0, "s": 2e-12, "seed": 7.0, "em": -0.5, "rho": "{2*x}"}
    assert registry.validate_params("zro2", {"w0": 1}) == {"w0": 1.0}
    with pytest.raises(UnknownModelError):
        registry.validate_params("nosuch", {})


def test_libraries_for_follows_dependencies(registry: Registry) -> None:
    fhn_lib, mem_lib, parts_lib = (FIXTURES / n for n in ("fhn.lib", "memristors.lib",
                                                          "parts.lib"))
    # fhn uses the opamp subcircuit and the DFIX diode model of parts.lib
    assert registry.libraries_for(["fhn"]) == [fhn_lib.resolve(), parts_lib.resolve()]
    assert registry.libraries_for(["fhn"], provided=[fhn_lib]) == [parts_lib.resolve()]
    assert registry.libraries_for(["zro2", "fhn"], provided=[fhn_lib, parts_lib]) == [
        mem_lib.resolve()]
    assert registry.libraries_for([]) == []


# --- the shipped library -----------------------------------------------------------------------

@pytest.mark.skipif(not library_files(REAL_LIB), reason="netlists/lib not written yet")
def test_shipped_library_loads() -> None:
    registry = Registry.default(REAL_LIB)
    assert len(registry) > 0
    for model in registry:
        assert model.library.parent == REAL_LIB
        if model.kind == "neuron":
            assert model.pins == ("mem", "out")
        if model.kind == "memristor":
            assert len(model.pins) == 2
            assert model.description, f"{model.name}: no '* model: name - description' line"
        for name, value in model.params.items():
            assert isinstance(value, float) or value.startswith(("{", "'")), (model.name, name)
    if (REAL_LIB / "memristors.lib").exists():
        assert "zro2" in registry.names(kind="memristor")
        assert 0.0 <= float(registry.get("zro2").params["w0"]) <= 1.0
    if (REAL_LIB / "fhn.lib").exists():
        assert "fhn" in registry.names(kind="neuron")
