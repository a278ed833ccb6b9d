"""The compiler reads what real decks hold (issue 24) and stays bounded (issue 25, items 1, 6).

Unit tests of the compiler and of the deck's evaluator, without ngspice: what real decks carry
(unknown ``.options`` names, a lone ``)`` closing a ``.model``, ``.probe``, ``Y`` lines,
``.csparam``, ``.if`` blocks, ``µ``, the DOS end-of-file byte, ``$&var`` in a control block,
ngspice's math functions, several ``.tran`` cards, the compatibility mode), file attributes as
ngspice's parser finds them, and the bounds: huge numbers, thousands of ``.func`` lines, long
``.param`` chains, point counts of every analysis kind, and escaped control characters.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from neurospice.errors import DeckError, LimitError
from neurospice.spice.compiler import FRONTEND_VARIABLES, check_compat, escape_controls
from neurospice.spice.deck import compat_from_spiceinit, prepare_deck, prepare_text
from neurospice.spice.lexer import lex

RC = "V1 in 0 PULSE(0 1 0 1u 1u 1m 2m)\nR1 in out 1k\nC1 out 0 1u\n"


def deck(body: str, tmp_path: Path, *, analysis: str = ".tran 1u 1m\n", name: str = "d.cir",
         **kw: object) -> object:
    path = tmp_path / name
    path.write_text("title\n" + RC + body + analysis + ".end\n", encoding="utf-8")
    return prepare_deck(path, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ what real decks carry


def test_unknown_options_are_dropped_with_a_notice(tmp_path: Path) -> None:
    d = deck(".options plotwinsize=0 post=1 reltol=1e-4 lvlcod=2\n", tmp_path)
    lines = [ln for ln in d.text.splitlines() if ln.startswith(".options")]
    assert lines == [".options reltol=1e-4"]
    dropped = [msg for msg, _ in d.notices]
    assert len(dropped) == 3
    assert all("dropped" in m and "d.cir:5:" in m for m in dropped)
    assert {m.split(".options ")[1].split(":")[0] for m in dropped} == {"plotwinsize", "post",
                                                                          "lvlcod"}


def test_an_options_card_of_unknown_names_only_disappears(tmp_path: Path) -> None:
    d = deck(".option post probe\n", tmp_path)
    assert ".option" not in d.text
    assert len(d.notices) == 2


@pytest.mark.parametrize("name", ["unixcom", "sourcepath", "rawfile", "noglob", "hcopydevtype",
                                  "ngbehavior"])
def test_frontend_variables_as_options_are_refused(tmp_path: Path, name: str) -> None:
    assert name in FRONTEND_VARIABLES or name.startswith("hcopy")
    with pytest.raises(DeckError, match=f"options {name}: ngspice reads this name"):
        deck(f".options {name}=/etc\n", tmp_path)


def test_lone_parenthesis_closes_the_model(tmp_path: Path) -> None:
    d = deck(".model DX D (\n+ is=1e-14 n=1.2\n)\nD1 out 0 DX\n", tmp_path)
    assert ".model DX D ( is=1e-14 n=1.2 )" in d.text.splitlines()


def test_one_parenthesis_too_many_in_a_model_is_tolerated(tmp_path: Path) -> None:
    d = deck(".model DX D (is=1e-14 n=1.2))\nD1 out 0 DX\n", tmp_path)
    assert ".model DX D (is=1e-14 n=1.2)" in d.text.splitlines()
    with pytest.raises(DeckError, match="unbalanced"):
        deck("R9 out 0 1k)\n", tmp_path)


def test_probe_names_nodes_and_devices_only(tmp_path: Path) -> None:
    d = deck(".probe alli\n.probe v(out) i(R1) vd(out,in) v(/kicad/net)\n", tmp_path)
    assert ".probe alli" in d.text
    assert ".probe v(out) i(R1) vd(out,in) v(/kicad/net)" in d.text
    with pytest.raises(DeckError, match="nodes and devices only"):
        deck(".probe {1+2}\n", tmp_path)
    with pytest.raises(DeckError, match="nodes and devices only"):
        deck(".probe v(a)=3\n", tmp_path)


def test_y_lines_csparam_and_if_blocks_pass(tmp_path: Path) -> None:
    body = (".param k=2\n.csparam kk=3\n.if (k == 2)\nR2 out 0 10k\n.elseif (k == 3)\n"
            "R2 out 0 30k\n.else\nR2 out 0 20k\n.endif\n"
            "Y1 out 0 far 0 ymod len=1\n.model ymod txl R=1 L=1n G=0 C=1p length=1\n")
    d = deck(body, tmp_path)
    for line in (".csparam kk=3", ".if (k == 2)", ".elseif (k == 3)", ".else", ".endif",
                 "Y1 out 0 far 0 ymod len=1"):
        assert line in d.text.splitlines()
    with pytest.raises(DeckError, match=".if needs a condition"):
        deck(".if\n.endif\n", tmp_path)


def test_micro_sign_and_dos_end_of_file(tmp_path: Path) -> None:
    path = tmp_path / "m.cir"
    path.write_bytes("title\nV1 in 0 1\nR1 in out 1k\nC1 out 0 4.7\u00b5\n.tran 1u 1m\n.end\n"
                     .encode() + b"\x1a\x00\x00 rubbish after the end")
    d = prepare_deck(path)
    assert "C1 out 0 4.7u" in d.text


def test_dollar_variable_in_control_block_becomes_the_tran(tmp_path: Path) -> None:
    body = (".control\nlet deltime = 2u\nset tstop = 3m\ntran $&deltime $tstop $ a comment\n"
            "write bare.raw\n.endc\n")
    d = deck(body, tmp_path, analysis="", control="ignore")
    assert ".tran 2e-06 0.003" in d.text.splitlines()
    assert d.tran() == (pytest.approx(2e-6), pytest.approx(3e-3))


def test_comment_dollar_outside_control_still_cuts(tmp_path: Path) -> None:
    d = deck("R2 out 0 10k $ a comment $&x\n", tmp_path)
    assert "R2 out 0 10k" in d.text.splitlines()


# ------------------------------------------------------------------------- the evaluator


def test_ngspice_math_functions_in_analyses(tmp_path: Path) -> None:
    body = (".param T={2*4*atan(1)} h={pwr(-2, 2)} s={sgn(-3)} lg={log(exp(2))}\n"
            ".func twice(x) {2*x}\n")
    d = deck(body, tmp_path, analysis=".tran {T/1000} {twice(T)/10}\n")
    assert d.tran() == (pytest.approx(2 * math.pi / 1000), pytest.approx(2 * math.pi / 5))
    assert d.evaluate("{h + s + lg}") == pytest.approx(4 - 1 + 2)
    assert d.evaluate("{floor(2.7) + ceil(0.2) + nint(2.5) + int(-1.5)}") == pytest.approx(
        2 + 1 + 2 - 1)
    assert d.evaluate("{sin(2*atan(1)) + cos(0) + tan(0) + sqr(3) + log10(1000)}") == (
        pytest.approx(1 + 1 + 0 + 9 + 3))
    with pytest.raises(ValueError, match="unknown parameter 'pi'"):
        d.evaluate("{pi}")  # as in ngspice 39's .param


def test_point_limit_still_holds_through_functions(tmp_path: Path) -> None:
    with pytest.raises(LimitError, match="points"):
        deck(".param T={4*atan(1)}\n", tmp_path, analysis=".tran {T/1e9} {T}\n")


def test_several_tran_cards_ngspice_runs_each_last_to_first(tmp_path: Path) -> None:
    d = deck("", tmp_path, analysis=".tran 1u 1m\n.tran 2u 4m\n")
    assert d.trans() == [(pytest.approx(1e-6), pytest.approx(1e-3)),
                         (pytest.approx(2e-6), pytest.approx(4e-3))]
    assert d.tran() == (pytest.approx(1e-6), pytest.approx(1e-3))  # ngspice runs it last
    short = d.with_tstop(5e-4)
    assert [t for _, t in short.trans()] == [pytest.approx(5e-4)] * 2


# ----------------------------------------------------------------------- file attributes


@pytest.mark.parametrize("attr", ['file "data.txt"', "file data.txt", 'file="data.txt"',
                                  'FILE = "data.txt"', 'file,"data.txt"',
                                  'amploffset=[0]\n+ FILE,"data.txt"'])
def test_file_attribute_forms_resolve_in_the_tree(tmp_path: Path, attr: str) -> None:
    (tmp_path / "data.txt").write_text("0 0\n1 1\n")
    d = deck(f"a1 %v([out2]) src\n.model src filesource ({attr} amplscale=[1])\n", tmp_path)
    model = next(ln for ln in d.text.splitlines() if ln.startswith(".model src"))
    assert f'file="{tmp_path.resolve() / "data.txt"}"' in model
    assert "FILE" not in model


@pytest.mark.parametrize("attr", ['file "/etc/passwd"', "file /etc/passwd",
                                  'FILE,"/etc/passwd"', 'file "../../etc/passwd"',
                                  "input_file /etc/passwd", 'state_file "/etc/shadow"'])
def test_file_attribute_forms_outside_the_tree_are_refused(tmp_path: Path, attr: str) -> None:
    with pytest.raises(DeckError, match="outside the deck's directory tree|not found"):
        deck(f"a1 %v([out2]) src\n.model src filesource ({attr})\n", tmp_path)


def test_model_type_containing_file_is_no_attribute(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("0 0\n")
    d = deck("a1 %v([o]) myfile\n.model myfile filesource(file=x.txt)\n", tmp_path)
    assert f'.model myfile filesource(file="{tmp_path.resolve() / "x.txt"}")' in d.text


def test_mixed_case_folder_keeps_its_case(tmp_path: Path) -> None:
    folder = tmp_path / "MixedCase Data"
    folder.mkdir()
    (folder / "Wave.TXT").write_text("0 0\n")
    d = deck("a1 %v([o]) src\n.model src filesource (File=Wave.TXT)\n", folder)
    assert f'file="{folder.resolve()}/Wave.TXT"' in d.text


@pytest.mark.parametrize("kind", ["d_process", "d_cosim"])
def test_code_models_that_start_programs_are_refused(tmp_path: Path, kind: str) -> None:
    with pytest.raises(DeckError, match=f"code model {kind}"):
        deck(f".model p {kind} (process_file=\"x\")\n", tmp_path)


# ------------------------------------------------------------------------------ bounds


def test_a_400_digit_integer_is_a_message(tmp_path: Path) -> None:
    big = "9" * 400
    for body, analysis in ((f".param p={big}\n", ".tran 1u 1m\n"),
                           (f".param p={{{big}*2}}\n", ".tran 1u 1m\n"),
                           ("", f".tran 1u {big}\n")):
        with pytest.raises(DeckError) as info:
            deck(body, tmp_path, analysis=analysis)
        assert "400 digits" in str(info.value) or "precision" in str(info.value)


def test_huge_exponent_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeckError, match="infinite"):
        deck(".param p=1e999\n", tmp_path)


def test_three_thousand_func_lines_compile(tmp_path: Path) -> None:
    funcs = "".join(f".func f{i}(x) {{f{i + 1}(x)+1}}\n" for i in range(3000))
    d = deck(funcs + ".func f3000(x) {x}\n", tmp_path)
    assert d.text.count(".func") == 3001
    loop = "".join(f".func g{i}(x) {{g{(i + 1) % 3000}(x)}}\n" for i in range(3000))
    with pytest.raises(DeckError, match="calls itself"):
        deck(loop, tmp_path)


def test_func_expansion_limit_still_applies(tmp_path: Path) -> None:
    funcs = "".join(f".func h{i}(x) {{h{i + 1}(x)+h{i + 1}(x)}}\n" for i in range(40))
    with pytest.raises(LimitError, match="expands to"):
        deck(funcs + ".func h40(x) {x}\n", tmp_path)


def test_long_reverse_param_chain_is_one_pass(tmp_path: Path) -> None:
    """Each name is evaluated once (failures are remembered): linear; 200k lines take about
    15 s on the development machine, 40k here."""
    n = 40_000
    body = "".join(f".param p{i}={{p{i + 1}+1}}\n" for i in range(n)) + f".param p{n}=1\n"
    d = deck(body, tmp_path)
    assert len(d.params()) == n + 1


@pytest.mark.parametrize("analysis", [".ac dec {n} 1 1meg\n", ".dc V1 0 {n} 1m\n",
                                      ".noise v(out) V1 dec {n} 1 1meg\n",
                                      ".disto dec {n} 1k 1meg\n",
                                      ".sens v(out) ac dec {n} 1 1meg\n",
                                      ".sp dec {n} 1 1meg\n"])
def test_every_analysis_counts_its_points(tmp_path: Path, analysis: str) -> None:
    with pytest.raises(LimitError, match="points"):
        deck(".param n=1e9\n", tmp_path, analysis=analysis)
    deck(".param n=10\n", tmp_path, analysis=analysis)


def test_an_analysis_whose_size_cannot_be_counted_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LimitError, match="cannot count the points"):
        deck("", tmp_path, analysis=".ac dec {nosuch} 1 1meg\n")
    with pytest.raises(LimitError, match="cannot count the points"):
        deck("", tmp_path, analysis=".ac log 10 1 1meg\n")


def test_zero_point_ac_is_accepted(tmp_path: Path) -> None:
    d = deck("", tmp_path, analysis=".ac dec 1 1kHz 1kHz\n")
    assert d.analyses()[0][0] == "ac"


def test_control_characters_are_escaped_in_messages(tmp_path: Path) -> None:
    path = tmp_path / "esc.cir"
    path.write_text("title\nR1 in out 1k\x1b[31m\n.tran 1u 1m\n.end\n", encoding="utf-8")
    with pytest.raises(DeckError) as info:
        prepare_deck(path)
    text = str(info.value)
    assert "1k" in text  # the snippet is shown
    assert "\x1b" not in text and "\\x1b" in text
    assert escape_controls("a\x07b\tc\x9b") == "a\\x07b\tc\\x9b"


# ----------------------------------------------------------------- compatibility mode


def test_compat_modes_from_a_fixed_list() -> None:
    for mode in ("ltpsa", "ps", "lt", "kia", "all", "HS", "spe"):
        assert check_compat(mode) == mode.lower()
    for bad in ("", "lt;shell", "x", "ltpsaltpsalt", "lt ps"):
        with pytest.raises(ValueError, match="compatibility mode"):
            check_compat(bad)


def test_spiceinit_next_to_the_deck_gives_the_mode_only(tmp_path: Path) -> None:
    (tmp_path / ".spiceinit").write_text("* settings\nset ngbehavior=ltpsa\nset unixcom\n"
                                         "shell touch CANARY\n")
    d = deck("", tmp_path)
    assert d.compat == "ltpsa"
    assert ".spiceinit" not in d.text and "unixcom" not in d.text
    assert compat_from_spiceinit(tmp_path / "nowhere") is None
    (tmp_path / ".spiceinit").write_text("set ngbehavior=evil;rm\n")
    with pytest.raises(DeckError, match="compatibility mode"):
        deck("", tmp_path)


def test_text_decks_lex_like_files() -> None:
    _, cards = lex("t\nC1 a 0 1\u00b5\n\x1aR1 a 0 1k\n", has_title=True)
    assert [c.text for c in cards] == ["C1 a 0 1u"]
    d = prepare_text("t\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n", base_dir=".")
    assert d.compat is None


def test_cider_model_keeps_its_lines(tmp_path: Path) -> None:
    """ngspice reads a CIDER model's ``+`` lines one by one: they stay lines."""
    body = (".model PN numd level=1\n+ *** comment line ***\n+ options defa=1p\n"
            "+ x.mesh loc=0.0 n=1\n+ x.mesh loc=1.0 n=101\nD1 out 0 PN\n")
    d = deck(body, tmp_path)
    lines = d.text.splitlines()
    start = lines.index(".model PN numd level=1 ")
    assert [ln.strip() for ln in lines[start + 1:start + 4]] == [
        "+ options defa=1p", "+ x.mesh loc=0.0 n=1", "+ x.mesh loc=1.0 n=101"]
    assert "***" not in d.text
    plain = deck(".model DX D (\n+ is=1e-14\n+ n=1.2)\nD1 out 0 DX\n", tmp_path)
    assert ".model DX D ( is=1e-14 n=1.2)" in plain.text.splitlines()


def test_cider_output_prefix_is_a_plain_name(tmp_path: Path) -> None:
    """``rootfile=`` names files CIDER writes in the run's folder: a plain name only."""
    body = ".model PN numd level=1\n+ options defa=1p\n+ output rootfile=\"PN--\"\nD1 out 0 PN\n"
    assert '+ output rootfile="PN--"' in deck(body, tmp_path).text
    for bad in ("../PN", "/tmp/PN", "a/b"):
        with pytest.raises(DeckError, match="rootfile="):
            deck(body.replace("PN--", bad), tmp_path)


def test_what_ngspice_examples_carry(tmp_path: Path) -> None:
    """Found by running ngspice's own examples: a three-terminal VDMOS, '.endcontrol', a
    .model whose ')' was forgotten, max() of one value."""
    d = deck("M1 out in 0 vdm\n.model vdm vdmos (vto=2 kp=1)\n"
             ".model dac1 dac_bridge(out_low = -1 out_high = 1\n+ input_load = 5.0e-12\n"
             ".param one={max(3)}\n.control\nrun\n.endcontrol\n", tmp_path, control="ignore")
    assert "M1 out in 0 vdm" in d.text.splitlines()
    assert ".model dac1 dac_bridge(out_low = -1 out_high = 1 input_load = 5.0e-12 )" in d.text
    assert d.evaluate("{one}") == 3.0
    assert ".control" not in d.text and "run" in [t for t, _ in d.dropped]
    with pytest.raises(DeckError, match="unclosed bracket"):
        deck("R9 out 0 {1+(2}\n", tmp_path)


def test_pspice_dollar_names_only_in_ps_mode(tmp_path: Path) -> None:
    """In ngspice's PSPICE mode ``$`` is no comment and names like ``$G_DPWR`` are nodes; only
    there, only in element and .subckt lines, and never ``$&x``, ``${x}``, ``$(x)``."""
    from neurospice.spice.compiler import Limits

    body = (".subckt inv a y optional: DPWR=$G_DPWR DGND=$G_DGND\nR1 a y 1k\n.ends\n"
            "X1 in out inv\nRz out 0 TRN_$Z\n")
    with pytest.raises(DeckError, match="'\\$' inside a card"):
        deck(body, tmp_path)
    d = deck(body, tmp_path, limits=Limits(compat="ltpsa"))
    assert ".subckt inv a y optional: DPWR=$G_DPWR DGND=$G_DGND" in d.text
    (tmp_path / ".spiceinit").write_text("set ngbehavior=ps\n")
    assert deck(body, tmp_path).compat == "ps"
    for bad in ("R9 out 0 $&x\n", "R9 out 0 ${x}\n", "R9 out 0 $(x)\n",
                ".meas tran m find v(out) at=$G_X\n"):
        with pytest.raises(DeckError, match="'\\$' inside a card"):
            deck(bad, tmp_path)
    (tmp_path / ".spiceinit").unlink()
    assert "R9 out 0 1k" in deck("R9 out 0 1k $G_DPWR is a comment here\n", tmp_path).text
