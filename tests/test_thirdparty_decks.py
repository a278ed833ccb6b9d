"""Legitimate decks keep working: a corpus of ordinary ngspice decks, run both ways.

``tests/data/thirdparty/`` holds decks of the kinds ngspice users write: device curves (diode,
BJT, level-1 MOSFET, JFET), RC/RLC/Sallen-Key/twin-T filters, op-amp circuits (E-source,
behavioural subcircuit, included macro model, integrator, Schmitt trigger from B sources),
oscillators (LC, Colpitts, ring of subcircuit inverters), rectifiers, S/W switches, T/LTRA/URC
lines, coupled inductors, POLY/VALUE/TABLE sources, ``.param``/``.func`` and ``.meas`` decks,
``.lib FILE SECTION`` and ``.include`` of files in the same folder, continuation lines, ``$`` and
``;`` comments, CRLF line ends and tabs, an all-capitals SPICE2-style deck, XSPICE digital
gates, flip-flops, ``d_source`` and ``filesource`` reading data files of the folder, and seeded
TRNOISE/TRRANDOM sources. About half have a ``.control`` block, several declare their only
analysis inside it. All were written for this corpus; none is copied from elsewhere.

For every deck the test runs

(a) neurospice: ``prepare_deck(path, control="ignore")`` then ``run_all`` (the compiler, the
    canonical deck and the sandboxed worker), and
(b) bare ngspice on the same file: ``ngspice -b -r batch.raw DECK`` with
    ``SPICE_ASCIIRAWFILE=1``, in a temporary copy of the folder that is also ``HOME`` (so no
    ``.spiceinit`` of anyone's is read),

then pairs the plots per analysis in the order they ran and compares every vector that both
have within rtol 1e-6 plus a small absolute tolerance per unit (every vector of bare ngspice
must be among neurospice's), and every ``.meas`` result. A deck passes only if it matches.

Convention for the decks
------------------------
``ngspice -b -r FILE`` writes a raw file only for analyses that come from analysis cards. A
deck whose analysis is declared only inside its ``.control`` block therefore says
``set filetype=ascii`` and ``write bare.raw`` right after the analysis command (with
``set appendwrite`` when it runs several), before any ``let`` could add vectors that are not
the simulator's; the test reads ``bare.raw`` when the deck wrote one, else ``batch.raw``. The
two names differ because ``-r bare.raw`` removes the ``bare.raw`` such a deck wrote when the run
ends with no analysis card to write. Decks with analysis cards (with or without a control block
that says ``run``) rely on ``-r`` alone. ``plot`` lines stay in as users write them: in batch mode
ngspice prints an error for them and goes on. ngspice does no ``.meas`` in batch mode when
``-r`` is given, so decks with ``.meas`` cards run a second time without ``-r`` for those.

Two things of bare ngspice 39 that the comparison works around (neither is neurospice's):
the frequency scale of an AC plot is written as a complex number whose imaginary part is not
always set (it is compared by its real part), and the branch currents of a multi-port XSPICE
instance are all written under one name (``i(adac)`` twice), so same-named vectors are matched
as a set. In ``rc_lowpass_ac.cir`` the ``.save`` card is needed by bare ngspice: without it,
batch mode builds its save list from the ``.meas`` cards, cannot parse ``vdb(out)`` there and
runs no analysis at all.

Decks that do not match bare ngspice (each an ``xfail(strict=True)`` with its reason)
-----------------------------------------------------------------------------------------
Known differences of meaning:

- ``alter_in_control.cir``: its control block runs ``op``, changes ``Rload`` with ``alter`` and
  runs ``op`` again. ``--ignore-control`` turns both ``op`` commands into ``.op`` cards but does
  not execute control code, so neurospice's second operating point keeps the original load.
  :func:`test_alter_deck_differs_only_after_alter` checks that this is the only difference.
- ``trnoise_white.cir``: white and 1/f TRNOISE are not reproducible in ngspice 39 even with
  ``.options seed`` (two bare runs of the deck differ;
  :func:`test_white_trnoise_is_not_reproducible_in_bare_ngspice`), so no run can match another.
  ``trnoise_seeded.cir`` uses TRNOISE's random-telegraph part, which the seed does fix, and
  matches.
- ``trrandom_control_run.cir``: seeded TRRANDOM is reproducible, but bare ngspice draws another
  sequence when the analysis is started by ``run`` inside a ``.control`` block than when the
  same ``.tran`` card runs in batch mode. neurospice (which drops the block) matches bare ngspice
  on the deck without its block (:func:`test_trrandom_matches_bare_ngspice_without_the_block`).
  ``trrandom_seeded.cir``, without a block, matches.

Compiler defects found with this corpus and fixed: a section of a library that pulls in
another section of the same file (``lib_corner_nested.cir``: the include stack now holds
file and section), and ``.options noacct nomod`` (``options_misc.cir``: the allow-list now has
every option of ngspice's manual chapter on ``.options``).

Only one simulation runs at a time (the two sides run one after the other); the whole file
takes about half a minute.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from rawfile import RawPlot, read_raw

from neurospice.errors import DeckError
from neurospice.sim.ngspice import Waveforms, run_all
from neurospice.spice.deck import prepare_deck

DECK_DIR = Path(__file__).resolve().parent / "data" / "thirdparty"
DECKS = sorted(DECK_DIR.glob("*.cir"))

RTOL = 1e-6
#: Absolute tolerance by the raw file's vector type (anything else: ``_ATOL_DEFAULT``).
ATOL = {"voltage": 1e-9, "current": 1e-15, "time": 1e-18, "frequency": 1e-9}
_ATOL_DEFAULT = 1e-15
#: Raw file of ``-r`` and raw file written by a deck's own control block (see the docstring).
BATCH_RAW = "batch.raw"
CONTROL_RAW = "bare.raw"

#: Decks whose vectors are expected to differ from bare ngspice, and why.
KNOWN_DIFFERENCES = {
    "alter_in_control.cir": (
        "the control block changes Rload with 'alter' between its two 'op' commands; "
        "--ignore-control keeps both analyses but does not execute control code, so the "
        "second operating point differs"),
    "trnoise_white.cir": (
        "white and 1/f TRNOISE are not reproducible in ngspice 39 even with .options seed: two "
        "bare ngspice runs of this deck differ"),
    "trrandom_control_run.cir": (
        "bare ngspice draws another TRRANDOM sequence when 'run' in a .control block starts "
        "the analysis than when the .tran card runs in batch mode; neurospice matches bare "
        "ngspice on the deck without its block"),
}
#: Decks that ngspice accepts but neurospice's compiler refuses (defects to fix there).
COMPILER_DEFECTS: dict[str, str] = {}

_PLOTNAMES = {
    "transient analysis": "tran", "ac analysis": "ac", "dc transfer characteristic": "dc",
    "operating point": "op", "noise spectral density curves": "noise",
    "integrated noise": "noise", "transfer function": "tf", "sensitivity analysis": "sens",
    "pole-zero analysis": "pz", "distortion - 2nd harmonic": "disto", "sp analysis": "sp",
}


def has_control(deck: Path) -> bool:
    """True when the deck has a ``.control`` block."""
    return any(line.strip().lower() == ".control"
               for line in deck.read_text(encoding="utf-8").splitlines())


def _deck_params() -> list[object]:
    out = []
    for deck in DECKS:
        marks = []
        if deck.name in KNOWN_DIFFERENCES:
            marks.append(pytest.mark.xfail(strict=True, raises=AssertionError,
                                           reason=KNOWN_DIFFERENCES[deck.name]))
        if deck.name in COMPILER_DEFECTS:
            marks.append(pytest.mark.xfail(strict=True, raises=DeckError,
                                           reason=COMPILER_DEFECTS[deck.name]))
        out.append(pytest.param(deck, id=deck.stem, marks=marks))
    return out


# ----------------------------------------------------------------------------- the two sides


def _bare_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NGSPICE", "SPICE_", "NEUROSPICE"))}
    env.update(HOME=str(folder), SPICE_ASCIIRAWFILE="1")
    return env


def run_bare(deck: Path, workdir: Path) -> tuple[list[RawPlot], str]:
    """Run bare ``ngspice -b`` on ``deck`` in a copy of its folder; (plots, ``.meas`` printout).

    The raw file is ``bare.raw`` when the deck's control block wrote it, else the one of
    ``-r``. ngspice does no ``.meas`` in batch mode when ``-r`` is given ("No .measure possible
    in batch mode (-b) with -r rawfile set!"), so a deck with ``.meas`` cards runs a second time
    without ``-r`` for its measurements.
    """
    folder = workdir / "deckdir"
    shutil.copytree(deck.parent, folder)
    env = _bare_env(folder)
    proc = subprocess.run(["ngspice", "-b", "-r", BATCH_RAW, deck.name], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    raw = folder / CONTROL_RAW
    if not raw.is_file():
        raw = folder / BATCH_RAW
    if not raw.is_file():  # not an AssertionError: that is what a known difference raises
        raise RuntimeError(f"bare ngspice wrote no raw file for {deck.name} (exit "
                           f"{proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    stdout = ""
    if re.search(r"^\s*\.meas", deck.read_text(encoding="utf-8"), re.IGNORECASE | re.MULTILINE):
        meas = subprocess.run(["ngspice", "-b", deck.name], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        stdout = meas.stdout
    return read_raw(raw), stdout


def run_neurospice(deck: Path) -> list[Waveforms]:
    """Compile ``deck`` with ``--ignore-control`` semantics and run it in the sandbox."""
    prepared = prepare_deck(deck, control="ignore")
    return run_all(prepared, timeout=120)


# ----------------------------------------------------------------------------- comparison


def canonical(name: str) -> str:
    """One spelling for a vector name on both sides: ``v(out)``/``out`` -> ``out``,
    ``v1#branch``/``i(v1)`` -> ``i(v1)``, ``adac#branch_1_0`` -> ``i(adac)`` (as the raw file
    writes it), ``i(@m1[id])`` -> ``@m1[id]``, ``v(v-sweep)`` -> ``v-sweep``."""
    low = name.strip().lower()
    if "#branch" in low:
        return f"i({low[:low.index('#branch')]})"
    m = re.fullmatch(r"v\((.*)\)", low)
    if m:
        return m.group(1)
    m = re.fullmatch(r"i\(((?:@.*)|(?:.*-sweep))\)", low)
    if m:
        return m.group(1)
    return low


def _raw_analysis(plot: RawPlot) -> str:
    return _PLOTNAMES.get(plot.plotname.strip().lower(), plot.plotname.strip().lower())


def _neuro_columns(wf: Waveforms) -> dict[str, list[np.ndarray]]:
    out: dict[str, list[np.ndarray]] = defaultdict(list)
    for name, values in wf.vectors.items():
        out[canonical(name)].append(np.asarray(values))
    if wf.scale_name and wf.scale_name != "index":
        out[canonical(wf.scale_name)].append(np.asarray(wf.scale))
    return out


def _close(got: np.ndarray, ref: np.ndarray, vtype: str) -> bool:
    if got.shape != ref.shape:
        return False
    if vtype == "frequency":
        # ngspice writes the frequency scale of an AC plot as a complex number whose imaginary
        # part is not always set (we saw 1e+156 in it); the frequency is the real part.
        got, ref = np.real(got), np.real(ref)
    return bool(np.allclose(got, ref, rtol=RTOL, atol=ATOL.get(vtype, _ATOL_DEFAULT)))


_MEAS_LINE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
                        r"(?:\s|$)")


def measurements(stdout: str) -> dict[str, float]:
    """``.meas`` results from ngspice's printout: the ``name = value`` lines that follow a
    ``Measurements for ...`` heading, up to the next blank line after them."""
    out: dict[str, float] = {}
    lines = stdout.splitlines()
    i = 0
    while i < len(lines):
        if "measurements for" not in lines[i].lower():
            i += 1
            continue
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        while i < len(lines) and lines[i].strip():
            m = _MEAS_LINE.match(lines[i])
            if m:
                out[m.group(1).lower()] = float(m.group(2))
            i += 1
    return out


def compare(bare: list[RawPlot], bare_stdout: str,
            neuro: list[Waveforms]) -> tuple[list[str], int]:
    """Differences between the two runs (empty when they agree) and how many vectors and
    measurements matched.

    Plots are paired per analysis in the order they ran; in each pair every vector of bare
    ngspice must be in neurospice's and agree with it.
    """
    problems: list[str] = []
    bare_by_kind: dict[str, list[RawPlot]] = defaultdict(list)
    neuro_by_kind: dict[str, list[Waveforms]] = defaultdict(list)
    for plot in bare:
        bare_by_kind[_raw_analysis(plot)].append(plot)
    for wf in neuro:
        neuro_by_kind[wf.analysis].append(wf)
    if set(bare_by_kind) != set(neuro_by_kind):
        problems.append(f"analyses differ: bare {sorted(bare_by_kind)}, "
                        f"neurospice {sorted(neuro_by_kind)}")
    matched = 0
    for kind, plots in bare_by_kind.items():
        wfs = neuro_by_kind.get(kind, [])
        if len(wfs) != len(plots):
            problems.append(f"{kind}: bare has {len(plots)} plot(s), neurospice {len(wfs)}")
        for k, (plot, wf) in enumerate(zip(plots, wfs, strict=False)):
            mine = _neuro_columns(wf)
            theirs: dict[str, list[tuple[np.ndarray, str]]] = defaultdict(list)
            for name, vtype, col in zip(plot.names, plot.types, plot.columns, strict=True):
                theirs[canonical(name)].append((col, vtype.lower()))
            missing = sorted(set(theirs) - set(mine))
            if missing:
                problems.append(f"{kind}[{k}]: vectors of bare ngspice missing in neurospice: "
                                f"{missing}")
            for name in sorted(set(theirs) & set(mine)):
                refs, gots = theirs[name], list(mine[name])
                if len(refs) != len(gots):
                    problems.append(f"{kind}[{k}] {name}: {len(gots)} vector(s) of that name, "
                                    f"bare ngspice {len(refs)}")
                    continue
                for ref, vtype in refs:
                    hit = next((j for j, got in enumerate(gots) if _close(got, ref, vtype)),
                               None)
                    if hit is not None:
                        gots.pop(hit)
                        matched += 1
                        continue
                    got = gots[0]
                    if got.shape != ref.shape:
                        problems.append(f"{kind}[{k}] {name}: {got.size} points, bare ngspice "
                                        f"{ref.size}")
                    else:
                        worst = int(np.argmax(np.abs(got - ref)))
                        problems.append(f"{kind}[{k}] {name}: differs, e.g. at point {worst}: "
                                        f"neurospice {got[worst]!r}, bare {ref[worst]!r}")
    theirs_meas = measurements(bare_stdout)
    mine_meas = measurements("\n".join(neuro[0].stdout)) if neuro else {}
    if set(theirs_meas) != set(mine_meas):
        problems.append(f".meas results differ in name: bare {sorted(theirs_meas)}, "
                        f"neurospice {sorted(mine_meas)}")
    for name in sorted(set(theirs_meas) & set(mine_meas)):
        a, b = mine_meas[name], theirs_meas[name]
        if np.isclose(a, b, rtol=RTOL, atol=0.0):
            matched += 1
        else:
            problems.append(f".meas {name}: neurospice {a!r}, bare ngspice {b!r}")
    return problems, matched


# ----------------------------------------------------------------------------- tests


def test_corpus_shape() -> None:
    """At least 30 decks, about half with a control block, several with analyses only there."""
    assert len(DECKS) >= 30
    with_control = [d for d in DECKS if has_control(d)]
    assert 0.35 <= len(with_control) / len(DECKS) <= 0.65
    control_only = [d for d in with_control
                    if not re.search(r"^\s*\.(tran|ac|dc|op|noise|tf)\b", d.read_text(),
                                     re.IGNORECASE | re.MULTILINE)]
    assert len(control_only) >= 5
    for deck in control_only:
        text = deck.read_text(encoding="utf-8").lower()
        assert "write bare.raw" in text and "set filetype=ascii" in text, (
            f"{deck.name}: analyses only in .control must 'write bare.raw' (see the docstring)")


@pytest.mark.parametrize("deck", _deck_params())
def test_deck_matches_bare_ngspice(deck: Path, tmp_path: Path) -> None:
    neuro = run_neurospice(deck)
    bare, stdout = run_bare(deck, tmp_path)
    problems, matched = compare(bare, stdout, neuro)
    assert not problems, f"{deck.name} differs from bare ngspice:\n" + "\n".join(problems)
    assert matched > 0, f"{deck.name}: no vector in common with bare ngspice"


@pytest.mark.parametrize("deck", [d for d in DECKS if has_control(d)], ids=lambda d: d.stem)
def test_control_block_refused_without_ignore_control(deck: Path) -> None:
    with pytest.raises(DeckError) as info:
        prepare_deck(deck)
    message = str(info.value)
    assert ".control" in message or "control" in message.lower()
    assert 'control="ignore"' in message  # named as a Python caller writes it
    assert info.value.path is not None and info.value.path.name == deck.name
    assert info.value.line is not None


@pytest.mark.parametrize(
    "deck", [d for d in DECKS if has_control(d) and d.name not in COMPILER_DEFECTS],
    ids=lambda d: d.stem)
def test_ignore_control_lists_what_it_dropped(deck: Path) -> None:
    prepared = prepare_deck(deck, control="ignore")
    assert prepared.dropped, f"{deck.name}: nothing listed as dropped"
    assert ".control" not in prepared.text.lower()
    assert prepared.analyses()


@pytest.mark.parametrize(
    "deck", [d for d in DECKS if not has_control(d) and d.name not in COMPILER_DEFECTS],
    ids=lambda d: d.stem)
def test_decks_without_control_need_no_option(deck: Path) -> None:
    refuse = prepare_deck(deck)
    ignore = prepare_deck(deck, control="ignore")
    assert refuse.text == ignore.text
    assert not ignore.dropped or all(t.split()[0].lower() in (".print", ".plot", ".width")
                                     for t, _ in ignore.dropped)


# ------------------------------------------------------------- the reasons of the differences


def test_alter_deck_differs_only_after_alter(tmp_path: Path) -> None:
    """The first operating point agrees; the second is neurospice's first again (no alter)."""
    deck = DECK_DIR / "alter_in_control.cir"
    neuro = run_neurospice(deck)
    bare, _ = run_bare(deck, tmp_path)
    assert [w.analysis for w in neuro] == ["op", "op"]
    assert [_raw_analysis(p) for p in bare] == ["op", "op"]
    problems, matched = compare(bare[:1], "", neuro[:1])
    assert not problems and matched
    assert neuro[1].vectors["v(out)"][0] == pytest.approx(neuro[0].vectors["v(out)"][0])
    assert neuro[1].vectors["v(out)"][0] == pytest.approx(5.0)  # 10 V over 1k : 1k
    assert bare[1].vectors["v(out)"][0] == pytest.approx(7.5)  # after 'alter Rload 3k'


def test_white_trnoise_is_not_reproducible_in_bare_ngspice(tmp_path: Path) -> None:
    deck = DECK_DIR / "trnoise_white.cir"
    first, _ = run_bare(deck, tmp_path / "one")
    second, _ = run_bare(deck, tmp_path / "two")
    a, b = first[0].vectors["v(nw)"], second[0].vectors["v(nw)"]
    assert a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=ATOL["voltage"])


def test_trrandom_matches_bare_ngspice_without_the_block(tmp_path: Path) -> None:
    deck = DECK_DIR / "trrandom_control_run.cir"
    text = deck.read_text(encoding="utf-8")
    stripped = re.sub(r"^\.control$.*?^\.endc$\n", "", text, flags=re.MULTILINE | re.DOTALL)
    assert not re.search(r"^\.(control|endc)", stripped, re.MULTILINE)
    assert re.search(r"^\.tran", stripped, re.MULTILINE)
    folder = tmp_path / "src"
    shutil.copytree(DECK_DIR, folder)
    (folder / deck.name).write_text(stripped, encoding="utf-8")
    bare, stdout = run_bare(folder / deck.name, tmp_path / "bare")
    problems, matched = compare(bare, stdout, run_neurospice(deck))
    assert not problems and matched
