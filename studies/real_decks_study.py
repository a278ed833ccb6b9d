"""Study: which decks of a folder tree run through neurospice, and do they give bare ngspice's
vectors?

Run on ngspice's own ``examples/`` and ``tests/`` (a checkout kept outside the project, never
committed) and on the project's corpora::

    python studies/real_decks_study.py /path/to/ngspice/examples /path/to/ngspice/tests \\
        --json studies/real_decks_study.json

For every file ending in ``.cir``, ``.sp``, ``.net`` or ``.spi`` that holds an analysis card or
a ``.control`` block (libraries and subcircuit files are not decks):

- bare ngspice: ``ngspice -b -r batch.raw DECK`` in a copy of the deck's folder that is also
  ``HOME``, ASCII raw file; the deck counts as *running in bare ngspice* when that exits 0.
  A deck whose analyses are only in its control block writes no raw file with ``-r``: a copy
  of it with ``write study_bare.raw`` after each analysis command of the block runs then;
- neurospice (decks bare ngspice runs; of the others only whether they compile):
  ``prepare_deck(path, control="ignore")`` then ``run_all`` in the sandbox; outcomes:
  *refused* (the compiler's DeckError/LimitError: the first line of its message is kept),
  *failed* (SimulationError, e.g. no convergence or ngspice rejecting the deck), *ran*, or
  *internal error* (any other exception - a bug);
- where both ran and bare wrote a raw file: *equal* when every vector of bare ngspice is among
  neurospice's and agrees (rtol 1e-6, as the corpus tests; ``.meas`` are not compared here).

Writes the counts, every refusal with its reason, and every difference to the JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from rawfile import RawFormatError, parse_raw  # noqa: E402
from test_thirdparty_decks import compare  # noqa: E402

from neurospice.errors import DeckError, SimulationError  # noqa: E402
from neurospice.sim.ngspice import run_all  # noqa: E402
from neurospice.spice.deck import prepare_deck  # noqa: E402

EXTENSIONS = (".cir", ".sp", ".net", ".spi")
_ANALYSIS_RE = re.compile(r"^\s*\.(tran|ac|dc|op|noise|tf|pz|sens|disto|control)\b",
                          re.IGNORECASE | re.MULTILINE)
_EMPTY_PLOT_RE = re.compile(r"^Title:[^\n]*\nDate:[^\n]*\nPlotname: ([^\n]*)\nFlags:[^\n]*\n"
                            r"No\. Variables:[^\n]*\nNo\. Points: +0 *\nVariables:\n(?=Title:|\Z)",
                            re.MULTILINE)


def decks_in(folders: list[Path]) -> list[Path]:
    out = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in EXTENSIONS:
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if _ANALYSIS_RE.search(text):
                out.append(path)
    return out


def run_bare(deck: Path, work: Path, timeout: float) -> tuple[str, list | None]:
    folder = work / "bare"
    shutil.copytree(deck.parent, folder, symlinks=True,
                    ignore=shutil.ignore_patterns("*.raw", "*.out"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NGSPICE", "SPICE_", "NEUROSPICE"))}
    env.update(HOME=str(folder), SPICE_ASCIIRAWFILE="1")
    try:
        proc = subprocess.run(["ngspice", "-b", "-r", "batch.raw", deck.name], cwd=folder,
                              env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, errors="replace")
    except subprocess.TimeoutExpired:
        return "timeout", None
    if proc.returncode != 0:
        return f"exit {proc.returncode}", None
    raw = folder / "batch.raw"
    if not raw.is_file():
        # analyses only in the control block: run a copy that writes each one's plot
        copy = folder / f"study_{deck.name}"
        copy.write_text(_with_writes(deck.read_text(encoding="utf-8", errors="replace")),
                        encoding="utf-8")
        try:
            subprocess.run(["ngspice", "-b", copy.name], cwd=folder, env=env,
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, errors="replace")
        except subprocess.TimeoutExpired:
            return "ok, no raw file (its control block's analyses: timeout)", None
        raw = folder / "study_bare.raw"
        if not raw.is_file():
            return "ok, no raw file", None
    text = raw.read_text(encoding="utf-8", errors="replace")
    try:
        return "ok", parse_raw(_EMPTY_PLOT_RE.sub("", text))
    except RawFormatError as exc:
        return f"ok, unreadable raw ({exc})", None


_CONTROL_ANALYSIS_RE = re.compile(r"^\s*(tran|ac|dc|op|noise|tf|pz|sens|disto)\b", re.I)


def _with_writes(text: str) -> str:
    """The deck with ``write study_bare.raw`` (ASCII, appended) after each analysis command
    of its control block: what bare ngspice computed there, before any ``let`` of the
    block changes vectors."""
    out = []
    inside = False
    for line in text.splitlines():
        out.append(line)
        low = line.strip().lower()
        if low.startswith(".control"):
            inside = True
            out += ["set filetype=ascii", "set appendwrite"]
        elif low.startswith(".endc"):
            inside = False
        elif inside and _CONTROL_ANALYSIS_RE.match(line):
            out.append("write study_bare.raw")
    return "\n".join(out) + "\n"


def run_neuro(deck: Path, timeout: float) -> tuple[str, str, list | None]:
    try:
        prepared = prepare_deck(deck, control="ignore")
    except DeckError as exc:
        return "refused", str(exc).splitlines()[0][:300], None
    try:
        plots = run_all(prepared, timeout=timeout)
    except DeckError as exc:
        return "failed", str(exc).splitlines()[0][:300], None
    except SimulationError as exc:
        return "failed", str(exc).splitlines()[0][:300], None
    except Exception:  # a bug of neurospice's: counted and kept
        return "internal error", traceback.format_exc()[-1500:], None
    return "ran", "", plots


def compile_only(deck: Path) -> tuple[str, str]:
    try:
        prepare_deck(deck, control="ignore")
    except DeckError as exc:
        return "refused", str(exc).splitlines()[0][:300]
    except Exception:
        return "internal error", traceback.format_exc()[-1500:]
    return "compiled", ""


def study(folders: list[Path], timeout: float, journal: Path | None = None) -> dict:
    decks = decks_in(folders)
    rows = []
    done: dict[str, dict] = {}
    if journal is not None and journal.is_file():
        for line in journal.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            done[row["deck"]] = row
    for i, deck in enumerate(decks, 1):
        rel = str(deck)
        for folder in folders:
            if deck.is_relative_to(folder):
                rel = f"{folder.name}/{deck.relative_to(folder)}"
        if rel in done:
            rows.append(done[rel])
            continue
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="nsstudy-") as tmp:
            bare_status, bare = run_bare(deck, Path(tmp), timeout)
        if bare_status.startswith("ok"):
            status, why, plots = run_neuro(deck, timeout)
        else:  # bare ngspice does not run it: only whether neurospice compiles it
            (status, why), plots = compile_only(deck), None
        equal = None
        problems: list[str] = []
        if bare is not None and plots is not None:
            plots = [w for w in plots if len(w.scale)] if any(not len(w.scale) for w in plots) \
                else plots
            found, _ = compare(bare, "", plots)
            problems = [p for p in found if not p.startswith(".meas")]
            equal = not problems
        row = {"deck": rel, "bare": bare_status, "neurospice": status, "why": why,
               "equal": equal, "problems": problems[:5],
               "seconds": round(time.monotonic() - start, 2)}
        rows.append(row)
        if journal is not None:
            with journal.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
        print(f"[{i}/{len(decks)}] {rel}: bare {bare_status}; neurospice {status}"
              + (f" ({why[:100]})" if why else "") + ("" if equal is None else
                                                        f"; equal {equal}"), flush=True)
    bare_ok = [r for r in rows if r["bare"].startswith("ok")]
    counts = {
        "decks": len(rows),
        "run_in_bare_ngspice": len(bare_ok),
        "of_those_run_in_neurospice": sum(r["neurospice"] == "ran" for r in bare_ok),
        "of_those_refused": sum(r["neurospice"] == "refused" for r in bare_ok),
        "of_those_failed": sum(r["neurospice"] == "failed" for r in bare_ok),
        "compared": sum(r["equal"] is not None for r in rows),
        "equal": sum(r["equal"] is True for r in rows),
        "internal_errors": sum(r["neurospice"] == "internal error" for r in rows),
        "refusals_by_reason": Counter(_reason(r["why"]) for r in bare_ok
                                      if r["neurospice"] == "refused").most_common(),
    }
    return {"counts": counts, "rows": rows}


def _reason(message: str) -> str:
    """A refusal's message without its file and line, numbers and names cut down."""
    text = re.sub(r"^\S+:\d+(:\d+)?: ", "", message)
    text = re.sub(r"'[^']*'", "'...'", text)
    return text[:120]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--journal", type=Path, default=None,
                        help="one JSON line per deck as it finishes; decks already in it are "
                             "not run again")
    args = parser.parse_args()
    result = study([f.resolve() for f in args.folders], args.timeout, args.journal)
    print(json.dumps(result["counts"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
