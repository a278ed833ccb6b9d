"""Fuzzing of the deck compiler, the network parser, output names and resumed sweep tables
(shared by the test and the benchmark).

:func:`check_deck` and :func:`check_network` run one input and fail (``AssertionError``) on
anything but success or a documented input error, and on an input that takes over
``MAX_SECONDS`` of CPU time (wall time on a shared machine measures the neighbours).
:func:`check_output_name` writes a file named after an arbitrary instance name into a locked
output folder and fails if anything lands outside it; :func:`check_resumed_table` reads an
arbitrary ``sweep.csv`` as ``--resume`` does and fails if a row it would reuse holds anything
but numbers and known words (or if reading it raises).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from pathlib import Path

from hypothesis import strategies as st

from neurospice.errors import NeurospiceInputError
from neurospice.files import OutputError, OutputLock, atomic_write_text, output_name
from neurospice.network.assembler import compile_network
from neurospice.spice.deck import prepare_text

MAX_SECONDS = 1.0


@contextlib.contextmanager
def _own_time() -> Iterator[None]:
    """Keep the garbage collector out of the measured call: a collection of the fuzzer's own
    heap (hundreds of MB after 10^5 inputs) is not the input's cost; it runs between inputs."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def check_deck(text: str, base: Path) -> str:
    """Compile ``text``; return ``"ok"`` or the error class name."""
    with _own_time():
        return _check_deck(text, base)


def check_network(text: str, base: Path) -> str:
    """Compile network ``text`` and its deck; return ``"ok"`` or the error class name."""
    with _own_time():
        return _check_network(text, base)


def _check_deck(text: str, base: Path) -> str:
    start = time.process_time()
    try:
        deck = prepare_text(text, base_dir=base)
        _ = deck.text, deck.neurons(), deck.memristors(), deck.analyses()
        outcome = "ok"
    except NeurospiceInputError as exc:
        assert str(exc), "an input error without a message"
        outcome = type(exc).__name__
    elapsed = time.process_time() - start
    assert elapsed < MAX_SECONDS, f"{elapsed:.2f} s on {text[:200]!r}"
    if outcome == "ok":
        # what the compiler emits compiles again to the same deck
        assert prepare_text(deck.text, base_dir=base).text == deck.text
    return outcome


def _check_network(text: str, base: Path) -> str:
    start = time.process_time()
    try:
        deck = compile_network(text, base / "fuzz.nsn")
        prepare_text(deck.text, base_dir=base)
        outcome = "ok"
    except NeurospiceInputError as exc:
        assert str(exc)
        outcome = type(exc).__name__
    elapsed = time.process_time() - start
    assert elapsed < MAX_SECONDS, f"{elapsed:.2f} s on {text[:200]!r}"
    return outcome


# ------------------------------------------------------------------ output names

#: characters that make names into paths, or into terminal commands
_PATHISH = st.sampled_from(list("./\\\x00\x1b\x07\n:~ *?\"<>|$`") + ["..", "../", "/."])
#: instance names as a stranger's deck may spell them
instance_names = st.lists(st.one_of(_PATHISH, st.characters(), st.text("xab", max_size=3)),
                          max_size=40).map("".join)


def check_output_name(name: str, out: Path) -> str:
    """Write ``out/<prefix><name>.png`` as the report does, and the raw name unsanitised, into
    the locked folder ``out``; everything written must be directly in ``out``.

    Returns ``"ok"`` (both written inside), ``"refused"`` (the raw name was refused with
    :class:`OutputError`) or ``"bad name"`` (the OS refused the sanitised name, e.g. too long).
    """
    with _own_time():
        return _check_output_name(name, out)


def _listing(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def _check_output_name(name: str, out: Path) -> str:
    safe = output_name(f"iv_{name}.png")
    assert safe and "/" not in safe and "\0" not in safe and safe not in (".", "..")
    assert not safe.startswith(".") and len(safe) <= 120
    before = _listing(out.parent)
    outcome = "ok"
    with OutputLock(out):
        try:
            atomic_write_text(out / safe, "x")
        except OutputError:
            outcome = "bad name"
        try:
            atomic_write_text(out / f"raw_{name}.txt", "x")
        except OutputError:
            outcome = "refused" if outcome == "ok" else outcome
        except (ValueError, OSError):  # a NUL byte, a name too long: nothing written
            outcome = "refused" if outcome == "ok" else outcome
    new = _listing(out.parent) - before
    real_out = out.resolve()
    outside = [p for p in new if p.resolve().parent != real_out and p.parent != out]
    assert not outside, f"written outside the output folder: {outside} for {name!r}"
    for p in new:  # clean up for the next input
        if p.is_file():
            p.unlink()
    for p in sorted((p for p in new if p.is_dir()), key=lambda p: -len(p.parts)):
        p.rmdir()
    return outcome


# ------------------------------------------------------------------ resumed tables

_CELLS = st.one_of(st.sampled_from(["", "0", "1", "25.3", "-1e3", "1e999", "nan", "inf", "abc",
                                    "1:1", "2:1", "silent", "unlocked", "\x1b[2J", "1e5x",
                                    "0x10", "1_0", " 1", ",", "\"", "\n", "ok", "failed"]),
                   st.text(max_size=12))


@st.composite
def sweep_tables(draw: st.DrawFn) -> str:
    """The text of a ``sweep.csv`` a stranger ships: the real header (or a mangled one) and
    rows of odd cells, some with the status ``ok`` and the key of the point being resumed."""
    from neurospice.batch.sweep import FIXED_COLUMNS

    columns = ["point", "rc", *FIXED_COLUMNS[1:]]
    columns += draw(st.lists(st.sampled_from(["p_1_1", "p_silent", "p_1_1_lo", "p_\x1b[2J",
                                              "p_", "p_a,b", "extra"]), max_size=3))
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    lines = [",".join(columns)]
    for _ in range(draw(st.integers(0, 6))):
        cells = []
        for col in columns:
            if col == "status":
                cells.append(draw(st.sampled_from(["ok", "ok", "failed", "", "OK"])))
            elif col == "key":
                cells.append(draw(st.sampled_from(["KEY", "KEY", "", "other"])))
            else:
                cell = draw(_CELLS)
                cells.append('"' + cell.replace('"', '""') + '"' if draw(st.booleans())
                             else cell)
        if draw(st.booleans()):  # too few or too many cells
            cells = cells[:draw(st.integers(0, len(cells)))] + draw(st.lists(_CELLS, max_size=2))
        lines.append(",".join(cells))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\x00"]))


def check_resumed_table(text: str, out: Path) -> str:
    """Read ``text`` as a resumed ``sweep.csv`` and apply ``--resume``'s reuse test to each
    row whose key matches; return ``"reused"``, ``"rejected"`` or ``"nothing"``.

    A reused row must hold numbers (or nothing) where numbers go, and no control character.
    """
    from neurospice.batch.sweep import (
        _NUMBER_COLUMNS,
        FIXED_COLUMNS,
        _bad_row,
        _Table,
        read_table,
    )

    path = out / "sweep.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
    outcome = "nothing"
    for row in read_table(path):
        if row.get("key") != "KEY" or row.get("status") != "ok":
            continue
        why = _bad_row(row)
        assert isinstance(why, str)
        if why:
            outcome = "rejected" if outcome == "nothing" else outcome
            continue
        outcome = "reused"
        for col in _NUMBER_COLUMNS:
            cell = str(row.get(col) or "").strip()
            if cell:
                float(cell)
        for col in ("ratio", "mode"):
            cell = str(row.get(col) or "")
            assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in cell), (col, cell)
        # the reused row is written back as --resume does (its extra p_ columns included)
        reused = {k: v if v is not None else "" for k, v in row.items()}
        reused["point"] = "0"
        table = _Table(out / "rewritten.csv", ["point", "rc", *FIXED_COLUMNS[1:]])
        table.rows[0] = reused
        table.flush()
    return outcome
