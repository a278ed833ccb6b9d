"""Loop area against drive frequency for every memristive element of the library.

Run: ``.venv/bin/python studies/hh_library_loops.py [-o studies/hh_library_loops.json]``
(a minute or two; one ngspice run at a time).

Each element is driven alone by ``v = offset + amplitude sin(2 pi f t)`` through a 0 V sense
source, at ten frequencies spanning three decades chosen around its own time scale, for
``ncyc`` periods (30 by default, at 200 steps per period). The loop area
(:func:`neurospice.analysis.energy.loop_area`, lobes counted positive) is read on the last period
and, as a check that the run reached its periodic regime, on the period before: a point whose two
areas differ by more than 1 % is marked unsettled. Per element the study reports the frequency of
the largest loop, whether the area shrinks monotonically above it, and the ratio of the largest
area to the area at the highest frequency.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurospice.analysis.energy import loop_area
from neurospice.files import atomic_write_text
from neurospice.sim.ngspice import run_text
from neurospice.spice.resources import NETLISTS_DIR


@dataclass(frozen=True)
class Element:
    """One element and its drive: model card text, offset and amplitude [V], band [Hz]."""

    label: str
    card: str
    offset: float
    amplitude: float
    f_lo: float
    f_hi: float


ELEMENTS = (
    Element("hh_k", "hh_k", 0.04, 0.06, 3.0, 3e3),
    Element("hh_na", "hh_na", -0.05, 0.08, 3.0, 3e3),
    Element("memg", "memg", 0.3, 0.6, 3.0, 3e3),
    Element("zro2", "zro2 mc=0 c2c=0", 0.0, 3.0, 1e3, 1e6),
    Element("biolek", "biolek", 0.0, 1.0, 0.03, 30.0),
    Element("pershin", "pershin", 0.0, 2.0, 1e5, 1e8),
    Element("second_order", "second_order", 0.0, 0.5, 0.01, 10.0),  # beta = 8e3 (issue #26)
)

DECK = """* loop area of one element
.include lib/hh.lib
.include lib/memelements.lib
.include lib/memristors.lib
V1 d 0 SIN({off} {amp} {f})
Vs d p dc 0
X1 p 0 {card}
.save v(p) i(vs)
.tran {dt:.6g} {tstop:.6g} 0 {dt:.6g}
.end
"""


def areas(el: Element, f: float, ncyc: int, nper: int) -> tuple[float, float]:
    """Loop areas [W] of the last period and of the one before."""
    text = DECK.format(off=el.offset, amp=el.amplitude, f=f, card=el.card, dt=1 / (f * nper),
                       tstop=ncyc / f)
    wf = run_text(text, base_dir=NETLISTS_DIR)
    t, v, i = wf.time, wf["v(p)"], wf["i(vs)"]
    last = loop_area(t, v, i, 1 / f)
    keep = t <= t[-1] - 1 / f + 1e-9 / f
    before = loop_area(t[keep], v[keep], i[keep], 1 / f)
    return last, before


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=Path(__file__).with_suffix(".json"))
    ap.add_argument("--ncyc", type=int, default=30)
    ap.add_argument("--nper", type=int, default=200)
    ap.add_argument("--only", nargs="*", help="element labels to run (default: all)")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {}
    for el in ELEMENTS:
        if args.only and el.label not in args.only:
            continue
        freqs = np.logspace(np.log10(el.f_lo), np.log10(el.f_hi), 10)
        rows = [areas(el, float(f), args.ncyc, args.nper) for f in freqs]
        area = np.array([r[0] for r in rows])
        settled = [abs(a - b) <= 0.01 * max(abs(a), 1e-30) for a, b in rows]
        j = int(np.argmax(area))
        mono = bool(np.all(np.diff(area[j:]) < 0))
        rises = bool(np.all(np.diff(area[: j + 1]) > 0))
        out[el.label] = {
            "drive_v": [el.offset, el.amplitude], "freq_hz": freqs.tolist(),
            "area_w": area.tolist(), "settled": settled, "peak_hz": float(freqs[j]),
            "rises_to_peak": rises, "shrinks_above_peak": mono,
            "ratio_peak_to_highest": float(area[j] / area[-1]) if area[-1] > 0 else None,
        }
        print(f"{el.label:<13} peak {freqs[j]:10.4g} Hz  rises {rises!s:<5} shrinks above "
              f"{mono!s:<5} ratio {area[j] / area[-1]:8.3g}  unsettled at "
              f"{[f'{f:.3g}' for f, s in zip(freqs, settled, strict=True) if not s]}")
        print("   areas " + " ".join(f"{a:.3g}" for a in area), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(out, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
