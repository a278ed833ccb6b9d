"""``neurospice crossbar``: its options and command (the crossbar's map and Proposition 1
live in :mod:`neurospice.reference.crossbar`, its circuit in
:mod:`neurospice.batch.crossbar_spice`)."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path

from neurospice.batch.crossbar import CROSSBAR_ENGINES, CrossbarRun
from neurospice.errors import UsageError
from neurospice.files import atomic_write_text
from neurospice.reference.crossbar import (
    ACCOUNTINGS,
    CrossbarConfig,
    _period_text,
    plot_pattern,
)
from neurospice.report.summary import crossbar_summary, json_clean, write_summary_json

__all__ = ["add_crossbar_arguments", "crossbar_command"]


def add_crossbar_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``neurospice crossbar``."""
    d = CrossbarConfig()
    parser.add_argument("--n", type=int, default=d.n, help="presynaptic neurons")
    parser.add_argument("--period-ratio", type=float, default=d.period_ratio,
                        help="input period T in units of tH")
    parser.add_argument("--th-ratio", type=float, default=d.th_ratio, help="tH / tau_b")
    parser.add_argument("--tau-m-ratio", type=float, default=d.tau_m_ratio,
                        help="membrane time constant / tau_b")
    parser.add_argument("--theta", type=float, default=d.theta,
                        help="threshold u_th / (R vh Gmax)")
    parser.add_argument("--vp", type=float, default=d.vp, help="presynaptic programming (V)")
    parser.add_argument("--vpost", type=float, default=d.vpost,
                        help="postsynaptic programming (V)")
    parser.add_argument("--vh", type=float, default=d.vh, help="heating amplitude (V)")
    parser.add_argument("--ts-ratio", type=float, default=d.ts_ratio,
                        help="programming pulse ts / tau_b")
    parser.add_argument("--tsh-ratio", type=float, default=None,
                        help="start of the heating pulse after the programming pulse's, / tau_b "
                        "(default: ts, back to back)")
    parser.add_argument("--g-init", type=float, default=d.g_init, help="initial G (S)")
    parser.add_argument("--presentations", type=int, default=d.presentations)
    parser.add_argument("--accounting", choices=list(ACCOUNTINGS), default=d.accounting,
                        help="paper: paired pulses only, G frozen over a pulse (eq. 17 into eq. "
                        "12, eqs. 20-21; default); feedback: the same pairing, G following the "
                        "heating within a pulse; full: every pulse reaches its device, G "
                        "following the heating")
    parser.add_argument("--rel-step", type=float, default=None,
                        help="override the accounting's step control of a pulse (0: G frozen; "
                        "e.g. 0.01 follows the heating feedback)")
    parser.add_argument("--every-pulse", action="store_true", default=None,
                        help="override: every programming pulse reaches its device")
    parser.add_argument("--prop1", action="store_true",
                        help="also solve Proposition 1 (eqs. 25-29): the admissible spatial "
                        "periods P and their steady levels, compared with the map's")
    parser.add_argument("--engine", choices=list(CROSSBAR_ENGINES), default="map",
                        help="map: the discrete-time map (any N); spice: the ngspice circuit "
                        "built by the network language (N <= 12)")
    parser.add_argument("-o", "--output", type=Path, default=Path("crossbar_out"),
                        metavar="DIR")
    parser.add_argument("--no-plot", action="store_true")


def crossbar_command(args: argparse.Namespace) -> int:
    """Run ``neurospice crossbar``; write ``crossbar.json`` (and the plot); exit status."""
    from neurospice.api import crossbar

    run = crossbar(_config(args), engine=args.engine, prop1=bool(args.prop1))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    doc = run.to_json()
    atomic_write_text(out / "crossbar.json", json.dumps(json_clean(doc), indent=2))
    settings = {k: v for k, v in vars(args).items() if k not in ("command", "command_line")}
    write_summary_json(out, crossbar_summary(doc, settings=settings,
                                             command=getattr(args, "command_line", None)))
    res = run.result
    if not args.no_plot:
        plot_pattern(res, run.config, out / "crossbar.png", engine=run.engine)
    print(f"spatial period {_period_text(res.spatial_period)}, postsynaptic period "
          f"{res.post_period_s:.4g} s = {res.post_period_over_t:.3g} T")
    for line in _prop1_lines(run):
        print(line)
    return 0


def _config(args: argparse.Namespace) -> CrossbarConfig:
    """The crossbar's configuration from the command's options."""
    names = {f.name for f in fields(CrossbarConfig)}
    given = {k: v for k, v in vars(args).items() if k in names}
    try:
        return CrossbarConfig(**given)
    except ValueError as exc:  # refused: bad input (exit status 2)
        raise UsageError(str(exc)) from None


def _prop1_lines(run: CrossbarRun) -> list[str]:
    """What the command prints of Proposition 1 (nothing without --prop1)."""
    if run.prop1 is None:
        return []
    adm = sorted({s.period for s in run.prop1})
    lines = ["Proposition 1: admissible spatial periods "
             + (", ".join(str(q) for q in adm) if adm else "none") + " (P <= 8)"]
    for s in run.prop1:
        lv = ", ".join(f"{x * 1e3:.5g}" for x in s.levels)
        lines.append(f"  P = {s.period}: sigma {s.sigma:.4f}, levels G0_p = {lv} mS, "
                     f"u_(P-1) = {s.u_prev_max:.4f} < theta = {run.config.theta:g}"
                     + ("" if s.n_divisible else f" (N = {run.config.n} not a multiple of P)"))
    if run.comparison is not None:
        lines.append(f"  map settled on P = {run.result.spatial_period}: largest relative "
                     f"difference to the solver's levels {run.comparison['max_rel_diff']:.2e}")
    else:
        lines.append("  the map did not settle on a period the solver admits (no comparison)")
    return lines
