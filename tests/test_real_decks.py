"""Real decks run: a corpus of the decks ngspice users bring, each against bare ngspice.

``tests/data/realdecks/`` holds decks of the kinds that the compiler used to refuse (issue 24),
all written for this corpus: ``.options`` names of other simulators (HSPICE ``post``,
LTspice ``plotwinsize``, SPICE2 ``lvlcod``, on continuation lines), ``.model`` cards closed
by a lone ``)`` (inline and in an included library) and one with a ``)`` too many,
KiCad-style netlists with ``.probe``, TXL (``Y``) and CPL lines, ``.csparam``, analyses of
zero or one point, parameters through ngspice's math functions (``atan``, ``sin``, ``pwr``,
``sgn``, ``.func`` in ``.tran``), several ``.tran`` cards, ``.if/.elseif/.else`` blocks,
``.options autostop``, the micro sign, DOS decks ending in 0x1A, ``tran $&deltime`` in a
control block, decks in folders whose ``.spiceinit`` sets a compatibility mode (``ltpsa``,
``ps``), and power-electronics and course decks mixing them.

Each deck runs through ``prepare_deck(path, control="ignore")`` and the sandboxed worker, and
through bare ``ngspice -b`` in a copy of its folder that is also ``HOME`` (so a folder's
``.spiceinit`` applies to bare ngspice as it does to neurospice's ``--compat``), and every
vector and ``.meas`` result is compared as in :mod:`test_thirdparty_decks` (whose helpers this
module uses). About a second per deck.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from neurospice.spice.deck import prepare_deck

try:
    from rawfile import RawFormatError, RawPlot, parse_raw
    from test_thirdparty_decks import (
        BATCH_RAW,
        CONTROL_RAW,
        compare,
        has_control,
        run_bare,
        run_neurospice,
    )
except ImportError:  # tests/ is a package
    from tests.rawfile import RawFormatError, RawPlot, parse_raw
    from tests.test_thirdparty_decks import (
        BATCH_RAW,
        CONTROL_RAW,
        compare,
        has_control,
        run_bare,
        run_neurospice,
    )

DECK_DIR = Path(__file__).resolve().parent / "data" / "realdecks"
DECKS = sorted(DECK_DIR.rglob("*.cir"))

#: Decks whose vectors differ from bare ngspice, and why.
KNOWN_DIFFERENCES: dict[str, str] = {}

#: What each kind of deck carries, by file-name prefix, and how many decks of it at least.
KINDS = {
    "opt_": 8, "model_": 6, "kicad_": 6, "txl_": 4, "cpl_": 1, "csparam_": 5, "ac_": 3,
    "dc_single": 1, "param_": 6, "two_tran": 2, "tran_ac_tran": 1, "if_": 3, "autostop": 1,
    "micro_": 3, "dos_": 2, "control_": 3,
}


def _params() -> list[object]:
    out = []
    for deck in DECKS:
        marks = []
        key = str(deck.relative_to(DECK_DIR))
        if key in KNOWN_DIFFERENCES:
            marks.append(pytest.mark.xfail(strict=True, raises=AssertionError,
                                           reason=KNOWN_DIFFERENCES[key]))
        out.append(pytest.param(deck, id=key.removesuffix(".cir"), marks=marks))
    return out


def test_corpus_shape() -> None:
    assert len(DECKS) >= 60
    names = [d.name for d in DECKS]
    for prefix, least in KINDS.items():
        assert sum(n.startswith(prefix) for n in names) >= least, prefix
    compat = [d for d in DECKS if (d.parent / ".spiceinit").is_file()]
    assert len(compat) >= 5
    assert any(b"\x1a" in d.read_bytes() for d in DECKS)
    assert any("\u00b5" in d.read_text(encoding="utf-8") for d in DECKS)


_EMPTY_PLOT_RE = re.compile(r"^Title:[^\n]*\nDate:[^\n]*\nPlotname: ([^\n]*)\nFlags:[^\n]*\n"
                            r"No\. Variables:[^\n]*\nNo\. Points: +0 *\nVariables:\n(?=Title:|\Z)",
                            re.MULTILINE)


def bare_plots(deck: Path, tmp_path: Path) -> tuple[list[RawPlot], str, list[str]]:
    """Bare ngspice's plots and ``.meas`` printout, and the names of its plots of 0 points.

    For an analysis of no point bare ngspice 39 writes a header that stops after
    ``Variables:`` (no variable, no ``Values:``); such headers are taken out before reading.
    """
    try:
        plots, stdout = run_bare(deck, tmp_path)
        return plots, stdout, []
    except RawFormatError:
        folder = tmp_path / "deckdir"
        raw = folder / CONTROL_RAW if (folder / CONTROL_RAW).is_file() else folder / BATCH_RAW
        text = raw.read_text(encoding="utf-8", errors="replace")
        empty = _EMPTY_PLOT_RE.findall(text)
        if not empty:
            raise
        return parse_raw(_EMPTY_PLOT_RE.sub("", text)), "", empty


@pytest.mark.parametrize("deck", _params())
def test_real_deck_matches_bare_ngspice(deck: Path, tmp_path: Path) -> None:
    neuro = run_neurospice(deck)
    bare, stdout, empty = bare_plots(deck, tmp_path)
    if empty:  # the same analyses are empty in neurospice's run, and reported as such
        assert {w.plot.rstrip("0123456789").lower() for w in neuro if not len(w.scale)} \
            == {"ac"} and [e.lower() for e in empty] == ["ac analysis"]
        neuro = [w for w in neuro if len(w.scale)]
    problems, matched = compare(bare, stdout, neuro)
    assert not problems, f"{deck.name} differs from bare ngspice:\n" + "\n".join(problems)
    assert matched > 0, f"{deck.name}: no vector in common with bare ngspice"


def test_compat_mode_reaches_ngspice() -> None:
    """The folder's mode is the run's: ngspice itself says which mode it runs in."""
    deck = next(d for d in DECKS if d.parent.name == "compat_ltpsa")
    prepared = prepare_deck(deck, control="ignore")
    assert prepared.compat == "ltpsa"
    out = "\n".join(run_neurospice(deck)[0].stdout)
    assert re.search(r"Compatibility modes selected: ps lt a", out), out[-500:]
    plain = next(d for d in DECKS if d.parent == DECK_DIR and not has_control(d))
    assert prepare_deck(plain).compat is None


def test_dropped_options_are_listed() -> None:
    prepared = prepare_deck(DECK_DIR / "opt_kept_and_dropped.cir")
    names = sorted(m.split(".options ")[1].split(":")[0] for m, _ in prepared.notices)
    assert names == ["accurate", "post", "probe"]
    assert ".options reltol=1e-5 abstol=1e-13 vntol=1u" in prepared.text.splitlines()


def test_file_in_a_mixed_case_folder_is_read(tmp_path: Path) -> None:
    """ngspice 39 lower-cases a ``.model`` card's file name; the run still reads the file."""
    folder = tmp_path / "Mixed Case" / "Data"
    folder.mkdir(parents=True)
    (folder / "Wave.TXT").write_text("0 0\n1e-3 1\n2e-3 0\n")
    deck = tmp_path / "Mixed Case" / "fs.cir"
    deck.write_text("filesource from a mixed-case folder\na1 %v([out]) src\n"
                    '.model src filesource (File "Data/Wave.TXT" amploffset=[0] '
                    "amplscale=[2]\n+ timeoffset=0 timescale=1 timerelative=false "
                    "amplstep=false)\nR1 out 0 1k\n.tran 10u 2m\n.end\n")
    wf = run_neurospice(deck)[-1]
    t, v = wf.time, wf["out"]
    for at, want in ((0.5e-3, 1.0), (1e-3, 2.0), (1.5e-3, 1.0)):  # the file's ramp, scaled by 2
        assert v[int(np.argmin(abs(t - at)))] == pytest.approx(want, abs=0.03)


def test_cli_compat_option_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neurospice.cli.main import main

    deck = DECK_DIR / "two_tran.cir"
    assert main(["check", str(deck), "--compat", "lt;shell"]) == 2
    err = capsys.readouterr().err
    assert "--compat" in err and "Traceback" not in err
    assert main(["check", str(deck), "--compat", "ltpsa"]) == 0


def test_raw_file_holds_every_analysis(tmp_path: Path) -> None:
    """``--raw``: one raw file with a plot per analysis run, in the order they ran."""
    from neurospice.cli.main import main

    out = tmp_path / "out"
    assert main(["simulate", str(DECK_DIR / "tran_ac_tran.cir"), "-q", "--no-plot", "--raw",
                 "-o", str(out)]) == 0
    raw = (out / "tran_ac_tran.raw").read_bytes()
    names = re.findall(rb"Plotname: ([^\n]*)\n", raw)
    assert sorted(names) == [b"AC Analysis", b"Transient Analysis", b"Transient Analysis"]
    points = [int(p) for p in re.findall(rb"No\. Points: (\d+)", raw)]
    assert all(p > 10 for p in points)
