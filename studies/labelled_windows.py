"""A labelled set of waveform windows for the spike / mode classifier (issue #20).

Runs the reference board (both engines, several settings and seeds), the FHN neuron alone
(free-running, and excitable with current pulses of three sizes) and the Hodgkin-Huxley patch
driving an FHN slave; cuts 0.4 s windows; labels each by the documented rule (docs/analysis.md)
with a labeller written apart from the classifier (level crossings counted in the window, no
cycle table, no phase-locking test); stores each window as a small ``.npz`` under
``tests/data/windows/`` (samples every 0.2 ms, float32) and draws contact sheets in
``docs/figures/labelled_windows_*.png``. ``tests/test_labelled_windows.py`` runs the classifier
on every stored window against its label.

    python studies/labelled_windows.py            # about 2 min: ngspice runs one at a time
"""

from __future__ import annotations

import json
import math
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "windows"
FIG = ROOT / "docs" / "figures"
BOARD = ROOT / "netlists" / "coupled_fhn.cir"
HH = ROOT / "netlists" / "coupled_hh.nsn"
NEURON = ROOT / "netlists" / "fhn_neuron.cir"
WINDOW = 0.4  # s
DT = 2e-4  # s, resampling step of the stored windows
SHAPE_TOL = 0.1  # V: peaks / troughs that differ by more alternate in shape

PULSE_DECK = """* FHN neuron at rest (pot 0.49, near the knee) with 5 ms current pulses every 0.1 s
.include lib/parts.lib
.include lib/fhn.lib
.param amp=1m
Xn1 mem out fhn pot=0.49 c0=2.2u
Ip 0 mem pulse(0 {amp} 0.2 0.1m 0.1m 5m 0.1)
.options reltol=5e-3
.tran 50u 1.4 0 50u
.save v(mem)
.end
"""


# ------------------------------------------------------------------ the labeller (the rule)
def crossings(v: np.ndarray, level: float, rearm: float) -> list[int]:
    """Sample indices where ``v`` rises through ``level`` after having been below ``rearm``."""
    out, armed = [], False
    for i in range(1, v.size):
        if v[i] <= rearm:
            armed = True
        elif armed and v[i - 1] < level <= v[i]:
            out.append(i)
            armed = False
    return out


def label(t: np.ndarray, master_times: np.ndarray, v: np.ndarray, spike_v: float, on_v: float,
          off_v: float) -> dict[str, object]:
    """The documented rule applied by counting: responses (rises through ``on_v`` after the
    membrane was below ``off_v``), spikes among them (peak >= ``spike_v``), master spikes in
    the window; n:m from spikes per master spikes (from responses when partial responses
    are fewer than two spikes: 'n:m partial'); period 2 when successive responses alternate
    in peak or trough by more than 0.1 V; unlocked when the counts are no simple fraction or the
    intervals between responses are irregular."""
    resp = crossings(v, on_v, off_v)
    bounds = resp + [v.size]
    peaks, troughs, times = [], [], []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        seg = v[a:b]
        k = int(np.argmax(seg))
        peaks.append(float(seg[k]))
        times.append(float(t[a + k]))
        troughs.append(float(np.min(seg[k:])) if k < seg.size else math.nan)
    peaks_a = np.array(peaks)
    n_spk = int(np.sum(peaks_a >= spike_v))
    n_par = len(peaks) - n_spk
    m = int(np.sum((master_times >= t[0]) & (master_times < t[-1])))
    out: dict[str, object] = {"spikes": n_spk, "partial": n_par, "master": m}
    if m < 2:
        out["mode"] = "silent"
        return out
    if not peaks:
        out["mode"] = "sub-threshold"
        return out
    partial_mode = n_spk < 2
    count = len(peaks) if partial_mode else n_spk
    use = np.ones(len(peaks), bool) if partial_mode else peaks_a >= spike_v
    tt = np.array(times)[use]
    # the simplest n:m (n, m <= 5) nearest to the counts, within their quantisation
    best = min((abs(m / count - nn / mm) / (nn / mm), nn, mm) for nn in range(1, 6)
                for mm in range(1, 6) if math.gcd(nn, mm) == 1)
    frac = Fraction(best[1], best[2])
    near = best[0] <= 1.0 / count
    # locked: the phase of a response in its master cycle repeats after m responses (or 2m,
    # for a shape of period 2) within a tenth of a cycle
    k = np.searchsorted(master_times, tt, side="right") - 1
    ok = (k >= 0) & (k < master_times.size - 1)
    kk = k[ok]
    ph = (tt[ok] - master_times[kk]) / (master_times[kk + 1] - master_times[kk])
    reg = False
    for lag in (frac.denominator, 2 * frac.denominator):
        if ph.size > lag + 1:
            d = (ph[lag:] - ph[:-lag] + 0.5) % 1.0 - 0.5
            reg = reg or bool(np.median(np.abs(d)) < 0.1)
    if not near or not reg:
        out["mode"] = "unlocked"
        return out
    word = f"{frac.numerator}:{frac.denominator}"
    if partial_mode:
        word += " partial"
    elif n_par > 0:
        word += " + partial"
    pk = peaks_a[use]
    tr = np.array(troughs)[use]
    n = frac.numerator
    if pk.size > 3 and frac.denominator == 1:
        d1 = np.median(np.maximum(np.abs(np.diff(pk)), np.abs(np.diff(tr))))
        d2 = np.median(np.maximum(np.abs(pk[2:] - pk[:-2]), np.abs(tr[2:] - tr[:-2])))
        if n == 1 and d1 > SHAPE_TOL and d2 <= SHAPE_TOL:
            word += " period 2"
    out["mode"] = word
    return out


# ------------------------------------------------------------------ runs
def _run(deck: str | Path, *, engine: str = "spice", **kw: object):
    import neurospice as ns

    return ns.simulate(deck, engine=engine, **kw)  # type: ignore[arg-type]


def _thresholds(run, vec: str) -> tuple[float, float, float]:
    from neurospice.report.summary import neuron_thresholds

    th = neuron_thresholds(run.deck, run.waveforms)[vec]
    return th.spike_v, th.on_v, th.off_v


def _master_times(run, vec: str) -> np.ndarray:
    from neurospice.analysis.spikes import detect_responses
    from neurospice.report.summary import neuron_thresholds

    th = neuron_thresholds(run.deck, run.waveforms)[vec]
    return detect_responses(run.time, run[vec], th).spikes().times


def _save(name: str, t: np.ndarray, master: np.ndarray | None, mtimes: np.ndarray,
          slave: np.ndarray, ths: tuple[float, float, float],
          mth: tuple[float, float, float] | None, config: str, t0: float) -> dict:
    tt = np.arange(t0, t0 + WINDOW, DT)
    s = np.interp(tt, t, slave).astype(np.float32)
    mm = np.interp(tt, t, master).astype(np.float32) if master is not None else None
    lab = label(tt, mtimes, s.astype(float), *ths)
    OUT.mkdir(parents=True, exist_ok=True)
    extra = {"master": mm} if mm is not None else {}
    np.savez_compressed(OUT / f"{name}.npz", t0=np.float64(t0), dt=np.float64(DT), slave=s,
                        master_times=mtimes[(mtimes >= t0 - 0.1) & (mtimes < t0 + WINDOW + 0.1)]
                        .astype(np.float64),
                        thresholds=np.array(ths), master_thresholds=np.array(mth or ths),
                        label=np.array(json.dumps(lab)), config=np.array(config), **extra)
    return {"name": name, "config": config, **lab}


def board_windows(engine: str, seed: int, params: dict[str, object], tag: str,
                  starts: tuple[float, ...], tstop: float = 3.0) -> list[dict]:
    run = _run(BOARD, engine=engine, seed=seed, params=params or None, tstop=tstop)
    mth = _thresholds(run, "v(mmem)")
    sth = _thresholds(run, "v(smem)")
    mt = _master_times(run, "v(mmem)")
    cfg = f"coupled_fhn.cir {engine} seed {seed} " + " ".join(f"{k}={v}" for k, v in
                                                              params.items())
    return [_save(f"board_{engine}_{tag}_s{seed}_{int(t0 * 1000)}ms", run.time, run["v(mmem)"],
                  mt, run["v(smem)"], sth, mth, cfg, t0) for t0 in starts]


def neuron_windows() -> list[dict]:
    out = []
    for pot in (0.6, 0.55):
        run = _run(NEURON, params={"pot": pot})
        th = _thresholds(run, "v(mem)")
        st = _master_times(run, "v(mem)")  # its own spikes stand for the cycles
        out.append(_save(f"neuron_free_pot{pot}", run.time, None, st, run["v(mem)"], th, None,
                         f"fhn_neuron.cir pot={pot} (alone, free-running)", 0.5))
    for amp in ("0.2m", "1m", "1.5m", "2m", "3m"):
        run = _run(PULSE_DECK, params={"amp": amp}, base_dir=ROOT / "netlists")
        th = _thresholds(run, "v(mem)")
        pulses = np.arange(0.2, 1.4, 0.1)
        out.append(_save(f"neuron_pulses_{amp}", run.time, None, pulses, run["v(mem)"], th,
                         None, f"fhn pot=0.49 alone, 5 ms pulses of {amp}A every 0.1 s", 0.55))
    return out


def hh_windows() -> list[dict]:
    out = []
    from neurospice.errors import SimulationError

    for istim in ("10u", "15u", "8u"):
        try:
            run = _run(HH, params={"istim": istim})
        except SimulationError as exc:  # a stimulus that does not converge is left out
            print(f"coupled_hh.nsn istim={istim}: {str(exc).splitlines()[0][:120]}")
            continue
        names = {i.name: f"v({i.nodes[0]})" for i in run.deck.neurons()}
        mvec, svec = names["xhh"], names["xslave"]
        mth = _thresholds(run, mvec)
        sth = _thresholds(run, svec)
        mt = _master_times(run, mvec)
        for t0 in (0.3, 0.6):
            out.append(_save(f"hh_fhn_istim{istim}_{int(t0 * 1000)}ms", run.time, run[mvec], mt,
                             run[svec], sth, mth, f"coupled_hh.nsn istim={istim}A", t0))
    return out


def contact_sheet(rows: list[dict], path: Path, title: str) -> None:
    from matplotlib.figure import Figure

    from neurospice.report.plots import save_figure

    n = len(rows)
    cols = 3
    nr = math.ceil(n / cols)
    fig = Figure(figsize=(15, 2.3 * nr), layout="constrained")
    axes = fig.subplots(nr, cols, squeeze=False)
    for ax, row in zip(axes.flat, rows, strict=False):
        z = np.load(OUT / f"{row['name']}.npz")
        tt = float(z["t0"]) + float(z["dt"]) * np.arange(z["slave"].size)
        spike_v, on_v, off_v = (float(x) for x in z["thresholds"])
        if "master" in z:
            ax.plot(tt, z["master"], color="#bbbbbb", lw=0.7, label="master")
        for mtime in z["master_times"]:
            if tt[0] <= mtime <= tt[-1]:
                ax.axvline(mtime, color="#dddddd", lw=0.5, zorder=0)
        ax.plot(tt, z["slave"], color="#1f77b4", lw=0.9)
        for lv, c in ((spike_v, "#d62728"), (on_v, "#2ca02c"), (off_v, "#2ca02c")):
            ax.axhline(lv, color=c, lw=0.6, ls="--")
        lab = json.loads(str(z["label"]))
        ax.set_title(f"{row['name']}: {lab['mode']} (S {lab['spikes']}, P {lab['partial']}, "
                     f"M {lab['master']})", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(title + "  (red: spike level, green: trigger / re-arm; grey: master)",
                 fontsize=9)
    save_figure(fig, path)


def relabel() -> list[dict]:
    """Label the stored windows again (after a change of the labeller), without new runs."""
    rows = []
    for path in sorted(OUT.glob("*.npz")):
        with np.load(path) as z:
            data = {k: z[k] for k in z.files}
        tt = float(data["t0"]) + float(data["dt"]) * np.arange(data["slave"].size)
        lab = label(tt, data["master_times"], data["slave"].astype(float),
                    *(float(x) for x in data["thresholds"]))
        data["label"] = np.array(json.dumps(lab))
        np.savez_compressed(path, **data)
        rows.append({"name": path.stem, "config": str(data["config"]), **lab})
    return rows


def main() -> int:
    rows: list[dict] = []
    if "--relabel" in sys.argv:
        rows = relabel()
        return _finish(rows)
    starts = (0.5, 1.5, 2.5)
    for seed in (1, 2, 3):
        rows += board_windows("spice", seed, {}, "ref", starts)
    for seed in (1, 2):
        rows += board_windows("model", seed, {}, "ref", starts)
    for engine in ("spice", "model"):
        rows += board_windows(engine, 1, {"c2c": 0, "r2": "1k", "amp": 1.6}, "alt", (1.0,))
        rows += board_windows(engine, 1, {"c2c": 0, "r2": "10k"}, "weak", (1.0,))
        rows += board_windows(engine, 1, {"c2c": 0, "pots": 0.56}, "pots056", (1.0,))
    rows += board_windows("spice", 1, {"amp": 2.2}, "amp22", (1.0, 2.0))
    rows += neuron_windows()
    rows += hh_windows()
    return _finish(rows)


def _finish(rows: list[dict]) -> int:
    (OUT / "labels.json").write_text(json.dumps(rows, indent=1))
    order = {"board_spice_ref": 0, "board_model_ref": 1}
    rows.sort(key=lambda r: (order.get(r["name"].rsplit("_s", 1)[0], 2), r["name"]))
    board = [r for r in rows if r["name"].startswith("board")]
    other = [r for r in rows if not r["name"].startswith("board")]
    FIG.mkdir(parents=True, exist_ok=True)
    contact_sheet(board, FIG / "labelled_windows_board.png", "The board's labelled windows")
    contact_sheet(other, FIG / "labelled_windows_neuron_hh.png",
                  "The neuron alone and the HH patch driving an FHN slave")
    for r in rows:
        print(f"{r['name']:<40} {r['mode']:<24} S {r['spikes']:>3} P {r['partial']:>3} "
              f"M {r['master']:>3}  {r['config']}")
    print(f"{len(rows)} windows in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
