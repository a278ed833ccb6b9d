"""``neurospice crossbar``: its options and command (the crossbar's map and Proposition 1
live in :mod:`neurospice.reference.crossbar`, its circuit in
:mod:`neurospice.batch.crossbar_spice`)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from neurospice.errors import UsageError
from neurospice.files import atomic_write_text
from neurospice.reference.crossbar import (
    ACCOUNTINGS,
    ENGINES,
    CrossbarConfig,
    _period_text,
    compare_prop1,
    plot_pattern,
    prop1_solve,
    simulate_crossbar,
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
    parser.add_argument("--engine", choices=ENGINES, default="map",
                        help="map: the discrete-time map (any N); spice: the ngspice circuit "
                        "built by the network language (N <= 12)")
    parser.add_argument("-o", "--output", type=Path, default=Path("crossbar_out"),
                        metavar="DIR")
    parser.add_argument("--no-plot", action="store_true")


def crossbar_command(args: argparse.Namespace) -> int:
    """Run ``neurospice crossbar``; write ``crossbar.json`` (and the plot); exit status."""
    prop1 = bool(getattr(args, "prop1", False))
    try:
        cfg = CrossbarConfig(n=args.n, period_ratio=args.period_ratio, th_ratio=args.th_ratio,
                             tau_m_ratio=args.tau_m_ratio, theta=args.theta, vp=args.vp,
                             vpost=args.vpost, g_init=args.g_init,
                             presentations=args.presentations,
                             vh=getattr(args, "vh", CrossbarConfig.vh),
                             ts_ratio=getattr(args, "ts_ratio", CrossbarConfig.ts_ratio),
                             tsh_ratio=getattr(args, "tsh_ratio", None),
                             accounting=getattr(args, "accounting", "paper"),
                             rel_step=getattr(args, "rel_step", None),
                             every_pulse=getattr(args, "every_pulse", None))
        if cfg.n < 2 or cfg.presentations < 1:
            raise ValueError("--n must be >= 2 and --presentations >= 1")
        if cfg.rel_step is not None and cfg.rel_step < 0:
            raise ValueError(f"--rel-step must be >= 0, got {cfg.rel_step:g}")
        if prop1 and cfg.every_pulse:
            raise ValueError("--prop1 needs the paper's pairing of pulses (--accounting paper "
                             "or feedback): Proposition 1 does not describe a crossbar in which "
                             "every pulse reaches its device (--accounting full)")
        engine = getattr(args, "engine", "map")
        if engine == "spice":
            from neurospice.batch.crossbar_spice import SPICE_MAX_N, simulate_crossbar_spice

            if cfg.n > SPICE_MAX_N:
                raise UsageError(
                    f"--engine spice simulates every pulse of every synapse in ngspice (~1 ns "
                    f"steps; a few seconds for N = 4 and 5 presentations, growing as N^2), so "
                    f"it takes N <= {SPICE_MAX_N}; got --n {cfg.n}. Use --engine map (the "
                    f"discrete-time map, any N), or a smaller --n to check the map against the "
                    f"circuit.")
            res = simulate_crossbar_spice(cfg)
        else:
            res = simulate_crossbar(cfg)
        sols = prop1_solve(cfg) if prop1 else []
    except ValueError as exc:  # the configuration refused: bad input (exit status 2)
        raise UsageError(str(exc)) from None
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    doc: dict[str, object] = {
        "config": asdict(cfg),
        "engine": getattr(args, "engine", "map"),
        "spatial_period": res.spatial_period,
        "post_period_s": res.post_period_s,
        "post_period_over_t": res.post_period_over_t,
        "period_s": res.period_s,
        "post_spikes": len(res.post_times),
        "g_s": [float(x) for x in res.g],
        "g_at_last_post_s": (None if res.g_at_post is None
                             else [float(x) for x in res.g_at_post]),
    }
    lines: list[str] = []
    if prop1:
        cmp = compare_prop1(res, sols)
        doc["prop1"] = {"solutions": [asdict(s) for s in sols], "comparison": cmp}
        adm = sorted({s.period for s in sols})
        lines.append("Proposition 1: admissible spatial periods "
                     + (", ".join(str(q) for q in adm) if adm else "none") + " (P <= 8)")
        for s in sols:
            lv = ", ".join(f"{x * 1e3:.5g}" for x in s.levels)
            lines.append(f"  P = {s.period}: sigma {s.sigma:.4f}, levels G0_p = {lv} mS, "
                         f"u_(P-1) = {s.u_prev_max:.4f} < theta = {cfg.theta:g}"
                         + ("" if s.n_divisible else f" (N = {cfg.n} not a multiple of P)"))
        if cmp is not None:
            lines.append(f"  map settled on P = {res.spatial_period}: largest relative difference "
                         f"to the solver's levels {cmp['max_rel_diff']:.2e}")
        else:
            lines.append("  the map did not settle on a period the solver admits "
                         "(no comparison)")
    atomic_write_text(out / "crossbar.json", json.dumps(json_clean(doc), indent=2))
    settings = {k: v for k, v in vars(args).items() if k not in ("command", "command_line")}
    write_summary_json(out, crossbar_summary(doc, settings=settings,
                                             command=getattr(args, "command_line", None)))
    if not args.no_plot:
        plot_pattern(res, cfg, out / "crossbar.png", engine=str(doc["engine"]))
    print(f"spatial period {_period_text(res.spatial_period)}, postsynaptic period "
          f"{res.post_period_s:.4g} s = {res.post_period_over_t:.3g} T")
    for line in lines:
        print(line)
    return 0
