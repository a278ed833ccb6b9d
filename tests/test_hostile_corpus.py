"""A corpus of hostile inputs: each is refused with exit status 2 before ngspice runs.

Every case names the class of attack it belongs to, the line its message must name, and may
plant a canary: a command that would create the file ``CANARY`` if it ever ran. Each case must
be refused within 5 s, with a message naming the file and the line, and leave no canary.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from neurospice.cli.main import main

RC_HEAD = "RC low-pass\n.param rval=1k cval=1u\nV1 in 0 pwl(0 0 1u 1 1 1)\n"
RC_BODY = "R1 in out {rval}\nC1 out 0 {cval}\n"
RC_TAIL = ".tran 10u 5m\n.end\n"


def rc(extra: str = "", *, after: str = "") -> str:
    """The RC deck with ``extra`` cards (starting at line 6) and text after .end."""
    return RC_HEAD + RC_BODY + extra + RC_TAIL + after


@dataclass(frozen=True)
class Case:
    name: str
    klass: str
    deck: str  #: deck text; CANARY is replaced by the canary path
    line: int | None  #: the line the message must name (None: only the file)
    args: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  #: extra files beside the deck
    suffix: str = ".cir"
    words: tuple[str, ...] = ()  #: words the message must contain


def _bomb_files(levels: int, fanout: int) -> dict[str, str]:
    files = {}
    for k in range(levels):
        files[f"b{k}.lib"] = "".join(f".include b{k + 1}.lib\n" for _ in range(fanout))
    files[f"b{levels}.lib"] = "R9 a 0 1k\n"
    return files


def _chain_files(n: int) -> dict[str, str]:
    files = {f"c{k}.lib": f".include c{k + 1}.lib\n" for k in range(n)}
    files[f"c{n}.lib"] = "R9 a 0 1k\n"
    return files


FUNC_BOMB = "".join(f".func f{k + 1}(x) {{f{k}(x)+f{k}(x)}}\n" for k in range(40))

CASES = [
    # --- dot-cards by prefix -------------------------------------------------------------
    Case("control", "prefix", rc(".control\nshell touch CANARY\n.endc\n"), 6),
    Case("controlx", "prefix", rc(".controlx\nshell touch CANARY\n.endc\n"), 6),
    Case("control_upper", "prefix", rc(".CONTROL\nshell touch CANARY\n.ENDC\n"), 6),
    Case("control_indented", "prefix", rc("   .control\nshell touch CANARY\n.endc\n"), 6),
    Case("control_after_end", "prefix", rc(after=".control\nshell touch CANARY\n.endc\n"), 8),
    Case("endcx_alone", "prefix", rc(".endcx\n"), 6),
    Case("incx", "prefix", rc(".incx /etc/passwd\n"), 6),
    Case("include2", "prefix", rc(".include2 /etc/passwd\n"), 6),
    Case("libx", "prefix", rc(".libx /etc/passwd tt\n"), 6),
    Case("optionsx", "prefix", rc(".optionsx reltol=1e-3\n"), 6),
    Case("unknown_option", "prefix", rc(".options sourcepath=/etc\n"), 6),
    # --- the title line ------------------------------------------------------------------
    Case("title_include", "title", ".include /etc/passwd\n" + rc()[len("RC low-pass\n"):], 1),
    Case("title_ng_script", "title", "*ng_script\n" + rc()[len("RC low-pass\n"):], 1),
    Case("title_control", "title", ".control\nshell touch CANARY\n.endc\n", 1),
    # --- control code reaching the shell without the word shell --------------------------
    Case("star_hash", "control", rc("*# shell touch CANARY\n"), 6),
    Case("backquote_control", "control", rc(".control\nset x = `touch CANARY`\n.endc\n"), 6),
    Case("alias", "control", rc(".control\nalias zz shell\nzz touch CANARY\n.endc\n"), 6),
    Case("unixcom", "control", rc(".control\nset unixcom\ntouch CANARY\n.endc\n"), 6),
    Case("backquote_card", "control", rc("R2 in 0 `touch CANARY`\n"), 6),
    Case("backquote_param", "control", rc(".param x={`touch CANARY`}\n"), 6),
    Case("star_hash_indented", "control", rc("   *#  source /etc/passwd\n"), 6),
    # --- injection through --param and network fields -------------------------------------
    Case("param_newline", "param", rc(), None,
         args=("--param", "rval=1k\n.control\nshell touch CANARY\n.endc")),
    Case("param_vtab", "param", rc(), None, args=("--param", "rval=1k\x0b.include /etc/passwd")),
    Case("param_two_tokens", "param", rc(), None, args=("--param", "rval=1k .include x")),
    Case("param_backquote", "param", rc(), None, args=("--param", "rval=`touch CANARY`")),
    Case("param_u2028", "param", rc(), None, args=("--param", "rval=1k\u2028.control")),
    Case("network_vtab", "network",
         "neuron a : fhn\nsource v : dc 1\x0b.control\nv -> load(1k) -> a\ntran 1ms\n", 2,
         suffix=".nsn"),
    Case("network_formfeed", "network",
         "neuron a : fhn\nsource v : dc 1\x0cshell touch CANARY\ntran 1ms\n", 2, suffix=".nsn"),
    Case("network_u2028", "network",
         "neuron a : fhn\nsource v : dc 1\u2028.include /etc/passwd\ntran 1ms\n", 2,
         suffix=".nsn"),
    Case("network_nel", "network",
         "neuron a : fhn\nsource v : pulse(0 1\x85.control)\ntran 1ms\n", 2, suffix=".nsn"),
    # --- XSPICE file attributes ----------------------------------------------------------
    Case("xspice_file", "xspice",
         rc("A1 %v([out]) src\n.model src filesource(file=\"/etc/passwd\" amploffset=[0])\n"),
         7),
    Case("xspice_input_file", "xspice",
         rc("A1 [d] src\n.model src d_source(input_file=\"/etc/hostname\")\n"), 7),
    Case("xspice_state_file", "xspice",
         rc("A1 in clk [o] st\n.model st d_state(state_file=../../../etc/passwd)\n"), 7),
    Case("xspice_split_attribute", "xspice",
         rc("A1 %v([out]) src\n.model src filesource(\n+ file=\"/etc/passwd\")\n"), 7),
    # --- includes ------------------------------------------------------------------------
    Case("include_passwd", "include", rc(".include /etc/passwd\n"), 6),
    Case("include_home", "include", rc(".include ~/.bashrc\n"), 6),
    Case("include_env", "include", rc(".inc $HOME/x.lib\n"), 6),
    Case("include_dotdot", "include", rc(".lib ../../../../etc/passwd sect\n"), 6),
    Case("include_loop", "include", rc(".include loop.lib\n"), 1,
         files={"loop.lib": ".include loop.lib\n"}),
    Case("include_depth", "include", rc(".include c0.lib\n"), 1, files=_chain_files(30)),
    Case("include_bomb", "include", rc(".include b0.lib\n"), None, files=_bomb_files(8, 8),
         args=("--max-deck-bytes", "20meg")),
    Case("include_symlink", "include", rc(".include link.lib\n"), 6,
         files={"link.lib": "@symlink:/etc/passwd"}),
    # --- expressions ---------------------------------------------------------------------
    Case("func_bomb", "expression", rc(".func f0(x) {x}\n" + FUNC_BOMB), None),
    Case("func_recursive", "expression", rc(".func f(x) {f(x)+1}\n"), 6),
    Case("nesting", "expression", rc(".param x={" + "(" * 200 + "1" + ")" * 200 + "}\n"), 6),
    Case("division_by_zero", "expression", rc(".param x={1/(rval-1k)}\n"), 6),
    Case("overflow", "expression", rc(".param x={10**400}\n"), 6),
    Case("arity", "expression", rc(".param x={sqrt(1, 2)}\n"), 6),
    Case("huge_card", "expression", rc(".param x={" + "1+" * 150_000 + "1}\n"), 6),
    # --- huge analyses and bad numbers ---------------------------------------------------
    Case("tran_huge", "limits", RC_HEAD + RC_BODY + ".tran 1f 1e6\n.end\n", 6),
    Case("tran_maxstep", "limits", RC_HEAD + RC_BODY + ".tran 1u 1e5 0 1p\n.end\n", 6),
    Case("ac_huge", "limits", RC_HEAD + RC_BODY + ".ac dec 1e12 1 1e9\n.end\n", 6),
    Case("dc_huge", "limits", RC_HEAD + RC_BODY + ".dc V1 0 1 1e-15\n.end\n", 6),
    Case("infinite", "limits", rc("R3 out 0 1e999\n"), 6),
    Case("nan", "limits", rc("R3 out 0 nan\n"), 6),
    Case("tstop_negative", "limits", RC_HEAD + RC_BODY + ".tran 10u -5m\n.end\n", 6),
    # --- loaders and unknown things ------------------------------------------------------
    Case("osdi_device", "unknown", rc("N1 out 0 mydev\n"), 6),
    Case("codemodel_card", "unknown", rc("codemodel /tmp/evil.cm\n"), 6),
    Case("pre_osdi_card", "unknown", rc("pre_osdi /tmp/evil.osdi\n"), 6),
    Case("dollar_in_card", "unknown", rc("R3 out$x 0 1k\n"), 6),
    Case("backslash", "unknown", rc("R3 out 0 1k \\\n"), 6),
    Case("nul_byte", "unknown", rc("R3 out 0 1k\x00\n"), 6),
    Case("not_utf8", "unknown", "@bytes", None),
]


def _write(tmp_path: Path, case: Case, canary: Path) -> Path:
    deck = tmp_path / f"evil{case.suffix}"
    if case.deck == "@bytes":
        deck.write_bytes(b"title\nR1 a 0 1k\xff\xfe\n.op\n.end\n")
    else:
        deck.write_text(case.deck.replace("CANARY", str(canary)), newline="\n")
    for name, text in case.files.items():
        target = tmp_path / name
        if text.startswith("@symlink:"):
            target.symlink_to(text.split(":", 1)[1])
        else:
            target.write_text(text)
    return deck


def test_corpus_is_large_and_covers_every_class() -> None:
    assert len(CASES) >= 40
    assert {c.klass for c in CASES} >= {"prefix", "title", "control", "param", "network",
                                        "xspice", "include", "expression", "limits"}
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_refused(tmp_path: Path, case: Case,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    canary = tmp_path / "CANARY"
    deck = _write(tmp_path, case, canary)
    # CPU time of this process (where the compiler runs), not wall time: a bomb must be refused
    # before it is expanded, whatever else the machine is doing
    start = time.process_time()
    status = main(["simulate", str(deck), "-q", "--no-plot", "-o", str(tmp_path / "out"),
                   *case.args])
    elapsed = time.process_time() - start
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    if case.klass == "param":
        assert "--param" in err
    elif case.klass == "include":
        # the message names the file that holds the offending include, and its line
        assert re.search(re.escape(str(tmp_path)) + r"/[\w.]+:\d+", err), err
    else:
        assert str(deck) in err
    if case.line is not None:
        assert f":{case.line}" in err, err
    assert not canary.exists()
    assert elapsed < 5.0
    # nothing was simulated: no waveforms were written
    assert not (tmp_path / "out" / "waveforms.csv").exists()
