"""Does the model engine follow a designer's edits, or refuse them by name? (issue 21)

Each edit is applied to a copy of ``netlists/coupled_fhn.cir`` and its libraries in a temporary
folder; the edited board then runs for 3 s with the device's noise off (``c2c=0 mc=0``) in
ngspice and in the model engine. Per edit: each neuron's frequency after 0.5 s in both engines
(within 1 % required), or the model engine's refusal (its message must name what it cannot
follow). No edit may be silently different.

ngspice results are cached in ``studies/out/model_edits/spice2.json`` by the edited deck's text.

Usage::

    nice -n 10 python studies/model_edits.py           # ~1 min of CPU (ngspice serially)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.errors import NeurospiceInputError
from neurospice.report.locking import analyse_run
from neurospice.sim.model import run_model
from neurospice.sim.model.selfcheck import _crossings
from neurospice.sim.ngspice import run_prepared
from neurospice.spice.deck import PreparedDeck, prepare_deck

ROOT = Path(__file__).resolve().parents[1]
NETLISTS = ROOT / "netlists"
OUT = ROOT / "studies" / "out" / "model_edits"
TSTOP = 3.0
T_SKIP = 0.5
#: Largest frequency difference (fraction) counted as agreement.
TOLERANCE = 0.01

Edit = Callable[[Path], None]


def _sub(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"edit not applicable: {old!r} not in {path}")
    path.write_text(text.replace(old, new, 1))


def _board(old: str, new: str) -> Edit:
    return lambda d: _sub(d / "coupled_fhn.cir", old, new)


def _lib(name: str, old: str, new: str) -> Edit:
    return lambda d: _sub(d / "lib" / name, old, new)


_XM1 = "Xm1 mn mp zro2 w0={w0} c2c={c2c} tc2c={tc2c} mc={mc}"


def _own_copy(d: Path) -> None:
    """A user's own memristor: zro2's body under another name with its own defaults."""
    lib = (d / "lib" / "memristors.lib").read_text()
    start = lib.index(".subckt zro2 p n")
    body = lib[start:lib.index(".ends zro2", start)] + ".ends myzro\n"
    body = body.replace(".subckt zro2 p n", ".subckt myzro p n", 1).replace("em=1.07", "em=1.05")
    path = d / "coupled_fhn.cir"
    text = path.read_text().replace(_XM1, _XM1.replace("zro2", "myzro"))
    path.write_text(text.replace(".param r2=2k", body + ".param r2=2k", 1))


def _own_body(d: Path) -> None:
    """A user's own memristor with its own equations (a linear drift device)."""
    sub = ("* linear drift memristor\n.subckt lindrift p n params: ron=2k roff=200k k=50 w0=1\n"
           "Vs p pi dc 0\nBi pi n I = (v(pi)-v(n))/({ron}*v(w) + {roff}*(1 - v(w)))\n"
           "Bw 0 w I = {k}*(v(pi)-v(n))*v(w)*(1 - v(w))\nCw w 0 1 IC={w0}\n.ends lindrift\n")
    path = d / "coupled_fhn.cir"
    text = path.read_text().replace(_XM1, "Xm1 mn mp lindrift")
    path.write_text(text.replace(".param r2=2k", sub + ".param r2=2k", 1))


def _second_order_board(model: str) -> Edit:
    """The board with the second-order device behind its interface (coupled_fhn_2nd.cir: a
    VCVS onto the device, a CCCS into the slave), the device ``model``; it has no noise."""
    def edit(d: Path) -> None:
        text = (NETLISTS / "coupled_fhn_2nd.cir").read_text()
        text = text.replace("Xm1 dpi 0 second_order ", f"Xm1 dpi 0 {model} ")
        text = text.replace(" v(xm1.gap)", "") if model != "second_order" else text
        (d / "coupled_fhn.cir").write_text(text.replace("\n.end", "\n.param c2c=0 mc=0\n.end"))
    return edit


#: (name, edit): edits of every kind the issue names; the engine follows them or refuses them.
EDITS: list[tuple[str, Edit]] = [
    ("none (the shipped board)", lambda d: None),
    ("C0 mem 0 {c0} -> {1.5*c0} in lib/fhn.lib", _lib("fhn.lib", "C0 mem 0 {c0}",
                                                      "C0 mem 0 {1.5*c0}")),
    ("470 nF added on mem in lib/fhn.lib", _lib("fhn.lib", "C0 mem 0 {c0}",
                                               "C0 mem 0 {c0}\nCadd mem 0 470n")),
    ("2 kOhm contact resistor in the zro2 body", _lib(
        "memristors.lib", "* sense source: i(Vs) is the device current p -> n\nVs p pi dc 0\n"
        "* device voltage", "* sense source: i(Vs) is the device current p -> n\nRc p pc 2k\n"
        "Vs pc pi dc 0\n* device voltage")),
    (".temp 60", _board(".options seed=1", ".options seed=1\n.temp 60")),
    (".options temp=60", _board(".options seed=1", ".options seed=1 temp=60")),
    ("zro2 body rearranged: zexp's cap 80 -> 81 (compiled, same physics)", _lib(
        "memristors.lib", ".func zexp(x) = {exp(min(x, 80))}",
        ".func zexp(x) = {exp(min(x, 81))}")),
    ("zro2 body: filament conductance x1.2 (1e-3*v(gl) -> 1.2e-3*v(gl) in Bi)", _lib(
        "memristors.lib", "v(w)*1e-3*v(gl)", "v(w)*1.2e-3*v(gl)")),
    ("zro2 body: a 100 kOhm leak across the device core", _lib(
        "memristors.lib", "Vs p pi dc 0\n* device voltage",
        "Vs p pi dc 0\nRpar pi n 100k\n* device voltage")),
    ("zro2 body: thermal resistance rth 3e3 -> 3e4 (a hotter device)", _lib(
        "memristors.lib", "Bpth 0 tk I = {t0} + {dtmax}*tanh({zrd}*max(v(vd)*i(Vs), 0))",
        "Bpth 0 tk I = {t0} + {dtmax}*tanh(10*{zrd}*max(v(vd)*i(Vs), 0))")),
    ("zro2 body: migration barrier em_d x0.75 (w swings to 0 and back)", _lib(
        "memristors.lib", ".param em_d  = {em  *", ".param em_d  = {0.75*em  *")),
    ("zro2 body: a 1 nF capacitor across the device core", _lib(
        "memristors.lib", "Vs p pi dc 0\n* device voltage",
        "Vs p pi dc 0\nCpar pi n 1n\n* device voltage")),
    ("a user's own zro2 copy (myzro, em 1.05)", _own_copy),
    ("a user's own memristor body (lindrift)", _own_body),
    ("the (G, T) second-order device instead of zro2", _board(
        _XM1, "Xm1 mn mp second_order_gt")),
    ("pershin (threshold device) instead of zro2", _board(_XM1, "Xm1 mn mp pershin")),
    ("biolek instead of zro2", _board(_XM1, "Xm1 mn mp biolek w0=0.5 roff=4k uv=1e-12")),
    ("the second-order board (coupled_fhn_2nd.cir: second_order, VCVS and CCCS)",
     _second_order_board("second_order")),
    ("the second-order board with the (G, T) form", _second_order_board("second_order_gt")),
    ("R2 2k -> 3.3k", _board(".param r2=2k", ".param r2=3.3k")),
    ("Rn of fhn_cubic 0.5*r0 -> 0.52*r0 in lib/fhn.lib", _lib("fhn.lib", "Rn o1 mem {0.5*r0}",
                                                              "Rn o1 mem {0.52*r0}")),
    ("topology: 100k from smem to ground (r2 20k)", _board(
        "R2 mn smem {r2}", "R2 mn smem 20k\nRleak smem 0 100k")),
    ("topology: 470 nF from smem to ground (r2 20k)", _board(
        "R2 mn smem {r2}", "R2 mn smem 20k\nCext smem 0 470n")),
    ("R2 2k -> 20k (the reference of the two above)", _board("R2 mn smem {r2}",
                                                             "R2 mn smem 20k")),
    ("topology: 1 uF across R2", _board("R2 mn smem {r2}", "R2 mn smem {r2}\nCx mn smem 1u")),
    ("R2 with tc1=0.01 at .temp 60", _board("R2 mn smem {r2}\n",
                                           "R2 mn smem {r2} tc1=0.01\n.temp 60\n")),
]


def _freqs(deck: PreparedDeck, wf: Any) -> dict[str, Any]:
    """Each neuron's frequency after T_SKIP: the mean interval of the upward crossings of its
    membrane trace's range 3/4 up (the self-check's measure: the same for both engines, whatever
    the verdict rules call a spike), and the pair's mode by ``analyse_run``."""
    t = np.asarray(wf.time, dtype=float)
    keep = t >= T_SKIP
    out: dict[str, Any] = {}
    for inst in deck.neurons():
        v = np.asarray(wf[f"v({inst.nodes[0]})"], dtype=float)[keep]
        times = _crossings(t[keep], v)
        out[inst.name] = float(1 / np.mean(np.diff(times))) if times.size >= 3 else 0.0
    out["mode"] = analyse_run(deck, wf, t_skip=T_SKIP).as_row().get("mode")
    return out


def run(edit_names: list[str] | None = None) -> list[dict[str, Any]]:
    OUT.mkdir(parents=True, exist_ok=True)
    cache_path = OUT / "spice2.json"
    cache: dict[str, Any] = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    rows = []
    for name, edit in EDITS:
        if edit_names and name not in edit_names:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            shutil.copy(NETLISTS / "coupled_fhn.cir", d / "coupled_fhn.cir")
            shutil.copytree(NETLISTS / "lib", d / "lib")
            edit(d)
            deck = prepare_deck(d / "coupled_fhn.cir").with_params({"c2c": 0, "mc": 0})
            deck = deck.with_tstop(TSTOP)
            key = hashlib.sha256(deck.text.encode()).hexdigest()[:20]
            row: dict[str, Any] = {"edit": name}
            if key not in cache:
                try:
                    cache[key] = _freqs(deck, run_prepared(deck))
                except Exception as exc:  # noqa: BLE001 - a study records what ngspice said
                    cache[key] = {"error": str(exc).splitlines()[0]}
                cache_path.write_text(json.dumps(cache, indent=1))
            row["spice"] = cache[key]
            try:
                [wf] = run_model(deck)
                row["model"] = _freqs(deck, wf)
            except NeurospiceInputError as exc:
                row["refused"] = " ".join(str(exc).split())
        rows.append(row)
        print(_line(row), flush=True)
    (OUT / "results.json").write_text(json.dumps(rows, indent=1))
    return rows


def _line(row: dict[str, Any]) -> str:
    spice = row["spice"]
    if "refused" in row:
        return f"| {row['edit']} | {_fmt(spice)} | refused: {row['refused']} |  |"
    model = row["model"]
    errs = [abs(model[k] / spice[k] - 1) for k in spice
            if k != "mode" and k in model and spice[k] > 0]
    worst = max(errs) if errs else float("nan")
    verdict = "follows" if worst <= TOLERANCE else "SILENTLY DIFFERENT"
    return (f"| {row['edit']} | {_fmt(spice)} | {_fmt(model)} | {100 * worst:.2f} % "
            f"({verdict}) |")


def _fmt(freqs: dict[str, Any]) -> str:
    if "error" in freqs:
        return f"ngspice failed: {freqs['error']}"
    return ", ".join(f"{k[1:] if k.startswith('x') else k} {v:.2f} Hz"
                     for k, v in sorted(freqs.items()) if k != "mode") + f" ({freqs['mode']})"


if __name__ == "__main__":
    print("| edit | ngspice | model | worst difference |")
    print("| --- | --- | --- | --- |")
    run(sys.argv[1:] or None)
