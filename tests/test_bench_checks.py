"""What a designer trips over before a run: the pre-flight `check` and `simulate` share, the
values `--param` reaches, unit traps, dangling nodes, control-block analyses, failed .meas."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from neurospice.cli.main import main

from helpers import DATA

TOY = DATA / "decks" / "toy_pair.cir"


def _toy(tmp_path: Path, old: str, new: str, name: str = "toy.cir") -> Path:
    text = TOY.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


def _line_of(path: Path, fragment: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


@pytest.mark.parametrize("command", ["check", "simulate"])
def test_an_undefined_parameter_is_named_with_its_line(tmp_path: Path, command: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    deck = _toy(tmp_path, "Rc mo s {rc}", "Rc mo s {rcc}")
    argv = [command, str(deck)] + (["-o", str(tmp_path / "out"), "-q"] if command == "simulate"
                                   else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{deck}:{_line_of(deck, '{rcc}')}" in err and "'rcc'" in err
    assert "ngspice rejected" not in err and "Traceback" not in err


def test_an_undefined_parameter_inside_a_subcircuit_names_the_subcircuit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _toy(tmp_path, "C2 rec 0 {tau}", "C2 rec 0 {taux}")
    assert main(["check", str(deck)]) == 2
    err = capsys.readouterr().err
    assert f"{deck}:{_line_of(deck, '{taux}')}" in err and "toyfhn" in err


def test_simulate_names_the_line_of_a_subcircuit_typo(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    deck = _toy(tmp_path, "Xslave s so toyfhn", "Xslave s so toyfhm")
    assert main(["simulate", str(deck), "-q", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{deck}:{_line_of(deck, 'toyfhm')}" in err and "toyfhm" in err
    assert "ngspice" not in err


@pytest.mark.parametrize("deck", ["coupled_fhn.cir", "coupled_fhn.nsn", "coupled_hh.nsn"])
def test_the_shipped_decks_pass_the_pre_flight(deck: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from helpers import NETLISTS

    assert main(["check", str(NETLISTS / deck)]) == 0
    assert ": ok (" in capsys.readouterr().out


RC_CONTROL = """rc charged from a control block
V1 in 0 pulse(0 1 0 1u 1u 1m 2m)
R1 in out 1k
C1 out 0 1u
.control
tran 10u 1m
meas tran vend find v(out) at=1m
.endc
.end
"""


def test_allow_control_runs_a_deck_whose_only_analysis_is_in_the_control_block(
        tmp_path: Path) -> None:
    deck = tmp_path / "rc.cir"
    deck.write_text(RC_CONTROL)
    out = tmp_path / "out"
    assert main(["check", str(deck)]) == 2  # without the option the block is refused
    assert main(["simulate", str(deck), "--allow-control", "-q", "-o", str(out)]) == 0
    with open(out / "waveforms.csv", newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    head = [h.lower() for h in rows[0]]
    col = next(i for i, h in enumerate(head) if h.startswith("v(out)"))
    t = [float(r[0]) for r in rows[1:]]
    v = [float(r[col]) for r in rows[1:]]
    assert t[-1] == pytest.approx(1e-3, rel=1e-3)
    assert v[-1] == pytest.approx(1 - 2.718281828 ** -1, abs=0.01)  # 1 - 1/e after one RC
    assert json.loads((out / "summary.json").read_text())["run"]


def test_param_reaches_a_network_component_and_a_part_inside_an_instance() -> None:
    from neurospice.network.loading import load_deck
    from neurospice.spice.tolerances import component_slots

    from helpers import NETLISTS

    for path, load, top in ((NETLISTS / "coupled_fhn.nsn", "rload", "rrload"),
                            (NETLISTS / "coupled_fhn.cir", "r2", "r2")):
        deck = load_deck(path)
        before = {e.path: e.value for e in component_slots(deck)}
        new = deck.with_values({load: "4.7k", "xslave.rtop": "11k"})
        after = {e.path: e.value for e in component_slots(new)}
        assert after[top] == pytest.approx(4700.0)
        assert after["xslave.rtop"] == pytest.approx(11e3)
        assert after["xmaster.rtop"] == before["xmaster.rtop"] == pytest.approx(12e3)
        changed = {p for p in after if after[p] != pytest.approx(before[p])}
        assert changed == {top, "xslave.rtop"}  # the master's copy of the part is untouched
    with pytest.raises(Exception, match="xslave.rtopp.*xmaster.rtop|no resistor"):
        load_deck(NETLISTS / "coupled_fhn.cir").with_values({"xslave.rtopp": "1k"})


def test_simulate_takes_the_readme_override_on_the_network_twin(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers import NETLISTS

    out = tmp_path / "out"
    assert main(["simulate", str(NETLISTS / "coupled_fhn.nsn"), "--param", "rload=4.7k",
                 "--param", "slave.rtop=11k", "--tstop", "20m", "--no-plot", "-q",
                 "-o", str(out)]) == 0
    run = json.loads((out / "summary.json").read_text())["run"]
    assert run["params"] == {"rload": "4.7k", "slave.rtop": "11k"}


def test_a_negative_resistor_from_param_is_refused_unless_asked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["simulate", str(TOY), "--param", "rc=-5k", "-q", "--no-plot",
                 "--tstop", "10m", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rc=-5k" in err and "negative" in err and "--allow-negative" in err
    assert main(["simulate", str(TOY), "--param", "rc=-5k", "--allow-negative", "-q",
                 "--no-plot", "--tstop", "10m", "-o", str(out)]) == 0


@pytest.mark.parametrize(("old", "new", "said"), [
    ("Rc mo s {rc}", "Rc mo s 2M", "Rc: 2M is 2 milli; 2Meg is 2 mega"),
    ("Rc mo s {rc}", "Rc mo s 10kk", "Rc: 10kk has two scale suffixes: ngspice reads 10k"),
    (".param rc=2 eps1", ".param rc=2M eps1", "rc: 2M is 2 milli"),
    (".param rc=2 eps1", ".param rc=2 V eps1", ".param rc=2 V: 'V' after a blank"),
])
def test_unit_traps_are_warned_about_with_their_line(tmp_path: Path, old: str, new: str,
                                                     said: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    deck = _toy(tmp_path, old, new)
    assert main(["check", str(deck)]) == 0  # legal SPICE: a warning, not a refusal
    err = capsys.readouterr().err
    assert f"warning: {deck}:{_line_of(deck, new)}: {said}" in err
    assert err.count("warning:") == 1


@pytest.mark.parametrize("deck", ["coupled_fhn.cir", "coupled_fhn.nsn", "coupled_hh.nsn",
                                  "memristor_iv.cir", "fhn_neuron.cir"])
def test_the_shipped_decks_give_no_warning(deck: str, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers import NETLISTS

    assert main(["check", str(NETLISTS / deck)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_node_with_one_connection_is_warned_about(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    deck = _toy(tmp_path, "Rc mo s {rc}", "Rc mo smen {rc}")  # the slave silently decoupled
    assert main(["check", str(deck)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {deck}:{_line_of(deck, 'smen')}: node 'smen' has one connection (Rc)" \
        in err
    assert "node 's'" not in err  # the slave's own pin alone: an instance pin, not reported


FLOATING = """a capacitor floating between two nodes of its own
V1 1 0 sin(0 1 1k)
R1 1 2 1k
D1 2 0 dmod
.model dmod d
C9 dangle1 dangle2 1n
.tran 1u 1m 0 1u uic
.end
"""


def test_a_floating_node_is_named_as_ngspice_names_it(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    deck = tmp_path / "floating.cir"
    deck.write_text(FLOATING)
    assert main(["simulate", str(deck), "-q", "--no-plot", "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "warning: " in err and "node 'dangle1' has one connection (C9)" in err
    failed = err[err.index("simulation failed"):]
    assert "check node 'dangle1'" in failed  # ngspice's own line, not only the diode it blames


def test_a_meas_that_never_triggers_is_shown_as_failed(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    deck = _toy(tmp_path, ".save v(m) v(s)", ".save v(m) v(s)\n"
                ".meas tran never when v(m)=100 cross=1\n.meas tran vmax max v(m)")
    out = tmp_path / "out"
    assert main(["simulate", str(deck), "--tstop", "50m", "--no-plot", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    extra = json.loads((out / "summary.json").read_text())
    assert extra["measurements_failed"] == {"never": ".meas tran never when v(m)=100 cross=1"}
    assert "never" not in extra["measurements"]
    assert 1.0 < extra["measurements"]["vmax"] < 2.2  # the one that did trigger: a spike peak
    assert "FAILED" in text and "never when v(m)=100" in text


def test_the_ratio_column_names_no_mode_on_unlocked_rows() -> None:
    import numpy as np

    from neurospice.analysis.locking import classify_locking
    from neurospice.report.locking import PairAnalysis

    master = np.arange(400) * 1e-3  # 1000 Hz
    for f_slave, mode, ratio in ((1000 / 1.817, "unlocked", ""), (500.0, "2:1", "2:1")):
        slave = 0.2e-3 + np.arange(int(0.4 * f_slave)) / f_slave
        res = classify_locking(master, slave)
        pair = PairAnalysis("master", "slave", 1000.0, f_slave, res, None, slave_spikes=200)
        row = pair.as_row()
        assert (pair.mode, row["ratio"]) == (mode, ratio)
        assert row["ratio_value"] == pytest.approx(1000 / f_slave, rel=1e-3)
        assert ("~" not in pair.describe()) and (mode in pair.describe())


def _grey(color: str) -> bool:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(color)
    return max(r, g, b) - min(r, g, b) < 1e-6


def test_each_mode_keeps_its_colour_in_every_plot() -> None:
    from neurospice.report.plots import mode_colors

    first = mode_colors(["inconclusive", "3:1"])
    second = mode_colors(["1:1", "2:1", "3:1", "7:4", "unlocked", "failed", "1:2"])
    third = mode_colors(["7:4", "3:1 partial", "2:3"])
    assert first["3:1"] == second["3:1"] and second["7:4"] == third["7:4"]
    for word in ("inconclusive", "unlocked", "failed", "silent", "sub-threshold", "not run"):
        assert _grey(mode_colors([word])[word]), word
    locked = mode_colors(["1:1", "2:1", "3:1", "1:2", "3:2", "7:4", "5:3", "3:1 partial"])
    assert not any(_grey(c) for c in locked.values())
    assert len(set(locked.values())) == len(locked)


def test_a_one_dimensional_log_sweep_map() -> None:
    import numpy as np

    from neurospice.report.plots import map_figure

    x = np.logspace(3, 5, 7)
    modes = np.array(["1:1", "1:1", "2:1", "unlocked", "inconclusive", "3:1", "2:1"], object)
    verified = np.array([None, True, None, False, None, None, None], object)
    fig = map_figure(x, None, modes, "r2 (ohm)", "mode", xlog=True, verified=verified)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert not ax.lines  # categories: the points are not joined
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"1:1", "2:1", "3:1", "unlocked", "inconclusive"} <= set(legend)
    assert "verified: ngspice agrees" in legend and "verified: ngspice disagrees" in legend


@pytest.mark.parametrize(("nx", "ny"), [(4, 3), (6, 4), (9, 6), (20, 12)])
def test_map_labels_never_overlap(nx: int, ny: int) -> None:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from neurospice.report.plots import map_figure

    words = ["2:1 partial", "1:1", "inconclusive", "2:1", "unlocked", "3:1 period 2"]
    modes = np.array([[words[(i * 7 + j * 3) % len(words)] for i in range(nx)]
                      for j in range(ny)], object)
    fig = map_figure(np.linspace(0.5, 0.6, nx), np.linspace(1.5, 2.0, ny), modes, "pots",
                     "amp (V)")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in ax.texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    if nx <= 6:
        assert len(ax.texts) == nx * ny  # large cells carry their mode as text


def test_analyses_and_checked_decks_have_short_reprs(tmp_path: Path) -> None:
    import neurospice

    run = neurospice.simulate(TOY, tstop=0.05)
    text = repr(run.analyses[-1])
    assert text.startswith("<Waveforms tran: ") and "time 0..0.05 s" in text
    assert "v(m)" in text and "v(s)" in text and len(text) < 200  # no arrays printed
    deck = neurospice.check(TOY)
    text = repr(deck)
    assert text.startswith("<PreparedDeck toy_pair.cir: ") and "tran" in text
    assert "neurons: xmaster, xslave" in text and len(text) < 200
    assert "overrides {'rc': '3'}" in repr(deck.with_values({"rc": "3"}))
    with pytest.raises(Exception, match="'rcc'"):  # the API's check is the command's
        neurospice.check(_toy(tmp_path, "Rc mo s {rc}", "Rc mo s {rcc}"))


def test_an_expression_ngspice_cannot_evaluate_is_named_with_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = _toy(tmp_path, "Rc mo s {rc}", "Rc mo s {rc*}")
    assert main(["simulate", str(deck), "-q", "--no-plot", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{deck}:{_line_of(deck, '{rc*}')}: ngspice rejected the deck: Expression err" in err
    assert "cannot recover" not in err


def test_a_part_set_by_path_changes_only_its_own_neuron() -> None:
    import numpy as np

    from neurospice.network.loading import load_deck
    from neurospice.sim.ngspice import run_prepared

    from helpers import NETLISTS

    deck = load_deck(NETLISTS / "coupled_fhn.cir").with_tstop(0.05)
    base = run_prepared(deck)
    slave = run_prepared(deck.with_values({"xslave.rtop": "11k"}))
    master = run_prepared(deck.with_values({"xmaster.rtop": "11k"}))

    def mean(wf: object, vec: str) -> float:
        return float(np.mean(wf[vec]))  # type: ignore[index]

    # the slave's bias moves (its rtop sets the V3 divider) by far more than the master's
    d_slave = mean(slave, "v(smem)") - mean(base, "v(smem)")
    assert abs(d_slave) > 0.1
    assert abs(mean(slave, "v(mmem)") - mean(base, "v(mmem)")) < 0.1 * abs(d_slave)
    assert abs(mean(master, "v(mmem)") - mean(base, "v(mmem)")) > 0.1
