"""``neurospice stdp``: its options and command (the protocols live in
:mod:`neurospice.batch.stdp`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from neurospice.batch.stdp import (
    ACCOUNTINGS,
    ENGINES,
    PROTOCOLS,
    SpikeShape,
    StdpGrid,
    parse_range,
    plot_stdp,
    resolve_accounting,
    write_csv,
)
from neurospice.report.summary import stdp_summary, write_summary_json

__all__ = ["add_stdp_arguments", "stdp_command"]


def add_stdp_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``neurospice stdp``."""
    parser.add_argument("--protocol", choices=list(PROTOCOLS), default="pair")
    parser.add_argument("--dt", default="-1:1:21", metavar="START:STOP:COUNT",
                        help="spike interval dt/tH (end of heating to next programming pulse); "
                        "write --dt=-1:1:21 when START is negative")
    parser.add_argument("--cycles", type=int, default=1, help="repetitions of the block")
    parser.add_argument("--interval", type=float, action="append", default=None, metavar="TF",
                        help="rest between blocks (s); repeat for several curves (default 10e-6)")
    parser.add_argument("--g0", type=float, action="append", default=None, metavar="G0",
                        help="initial conductance (S); repeat for several curves (default 1e-3)")
    parser.add_argument("--engine", choices=ENGINES, default="model",
                        help="model: the simplified (G, T) model; full: the full model in "
                        "SciPy; spice: ngspice (the last two: --accounting full only)")
    parser.add_argument("--accounting", choices=ACCOUNTINGS, default=None,
                        help="paper: a pair's change is its second spike's programming pulse, "
                        "G frozen over it (eq. 17 into eq. 12; default with --engine model); "
                        "full: every pulse integrated, G following the heating")
    parser.add_argument("--vp", type=float, default=SpikeShape.vp,
                        help="presynaptic programming pulse (V)")
    parser.add_argument("--vpost", type=float, default=SpikeShape.vpost,
                        help="postsynaptic programming pulse (V)")
    parser.add_argument("--vh", type=float, default=SpikeShape.vh, help="heating pulse (V)")
    parser.add_argument("--ts", type=float, default=SpikeShape.ts, help="programming time (s)")
    parser.add_argument("--th", type=float, default=SpikeShape.th, help="heating time (s)")
    parser.add_argument("--tq", type=float, default=SpikeShape.tq,
                        help="time between the two pairs of a quadruplet (s)")
    parser.add_argument("--rseries", type=float, default=SpikeShape.rser, metavar="OHM",
                        help="a resistance in series with the device, not in the paper "
                        "(--accounting paper only; eq. 17's heating divided by (1 + G R)^2)")
    parser.add_argument("-o", "--output", type=Path, default=Path("stdp_out"), metavar="DIR")
    parser.add_argument("--no-plot", action="store_true")


def stdp_command(args: argparse.Namespace) -> int:
    """Run ``neurospice stdp``; return the exit status. Bad input raises
    :class:`~neurospice.errors.NeurospiceInputError` (the command line's guard prints it and
    exits with status 2)."""
    from neurospice.api import stdp

    grid = StdpGrid(parse_range(args.dt), g0s=args.g0 or [1e-3],
                    intervals=args.interval or [10e-6], cycles=args.cycles)
    shape = SpikeShape(vp=args.vp, vpost=args.vpost, ts=args.ts, vh=args.vh, th=args.th,
                       tq=args.tq, rser=getattr(args, "rseries", 0.0))
    points = stdp(args.protocol, grid, shape=shape, engine=args.engine,
                  accounting=getattr(args, "accounting", None), progress=None)
    out = Path(args.output)
    write_csv(points, out / "stdp.csv")
    write_summary_json(out, stdp_summary(
        points, settings=_settings(args), command=getattr(args, "command_line", None),
        accounting=resolve_accounting(getattr(args, "accounting", None), args.engine)))
    if not args.no_plot:
        from neurospice.reference.second_order import SecondOrderParams

        p = SecondOrderParams.from_library()
        plot_stdp(points, out / "stdp.png", g_limits=(p.gmin, p.gmax))
    for pt in points:
        print(f"{pt.protocol:18s} dt/tH {pt.dt_over_th:+7.3f}  tf {pt.interval_s:9.3g} s  "
              f"G0 {pt.g0_s * 1e3:6.3f} mS -> {pt.g_final_s * 1e3:6.3f} mS  "
              f"dG/G {pt.dg_over_g:+.3f}")
    return 0


def _settings(args: argparse.Namespace) -> dict[str, object]:
    """The command's options as argparse parsed them (what repeats the run)."""
    return {k: v for k, v in vars(args).items() if k not in ("command", "command_line")}
