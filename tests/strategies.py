"""Hypothesis strategies for the network language (shared by the parser and engine tests).

``valid_networks()`` draws random, valid network texts: random names and counts of
neurons, memristors and resistors, chains of one or more hops (with inline
``load(...)`` resistors), fan-in and fan-out, comments, blank lines, continuation
lines, an optional ``tran`` and ``probe``.  Every declared element is wired.

    from strategies import valid_networks   # or: from tests.strategies import ...

    @given(valid_networks(neuron_models=("fhn",), memristor_models=("zro2",)))
    def test_compiles(case): compile_network(case.text, ...)
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

__all__ = ["GeneratedNetwork", "valid_networks", "names", "garbage_text", "RESERVED", "spice_decks"]

#: Words of the language (mirrors neurospice.network.RESERVED_WORDS; a test checks they agree).
RESERVED = frozenset(
    {"use", "param", "neuron", "memristor", "synapse", "resistor", "source", "isource", "node",
     "link", "tran", "probe", "lock", "seed", "gnd", "load"}
)

_RESISTANCES = ("100", "470", "1k", "2.2k", "10k", "22k", "100k", "1meg")


@dataclass(frozen=True)
class GeneratedNetwork:
    """A drawn network: its text and what it declares and wires.

    ``chains`` lists every chain as item names; an inline load is ``"load(<value>)"``.
    """

    text: str
    neurons: tuple[str, ...]
    memristors: tuple[str, ...]
    resistors: tuple[str, ...]
    chains: tuple[tuple[str, ...], ...]


def names() -> st.SearchStrategy[str]:
    """Identifiers of the language that are not reserved words."""
    return st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,7}", fullmatch=True).filter(
        lambda s: s.lower() not in RESERVED
    )


@st.composite
def valid_networks(
    draw: st.DrawFn,
    neuron_models: tuple[str, ...] = ("fhn",),
    memristor_models: tuple[str, ...] = ("zro2",),
    uses: tuple[str, ...] = (),
    max_neurons: int = 5,
) -> GeneratedNetwork:
    """Draw a valid network (see the module docstring)."""
    n_neurons = draw(st.integers(1, max_neurons))
    n_mem = draw(st.integers(0, 4))
    n_res = draw(st.integers(0, 3))
    all_names = draw(st.lists(names(), min_size=n_neurons + n_mem + n_res,
                              max_size=n_neurons + n_mem + n_res, unique_by=str.lower))
    neurons = all_names[:n_neurons]
    mems = all_names[n_neurons:n_neurons + n_mem]
    ress = all_names[n_neurons + n_mem:]

    lines: list[str] = []
    comment = st.sampled_from(["", "", "  # a comment", "\t# x -> y"])
    if draw(st.booleans()):
        lines.append("# generated network")
    for use in uses:
        lines.append(f'use "{use}"')
    for n in neurons:
        lines.append(f"neuron {n} : {draw(st.sampled_from(neuron_models))}" + draw(comment))
        if draw(st.booleans()):
            lines.append("")
    for m in mems:
        lines.append(f"memristor {m}{draw(st.sampled_from([' ', '  ']))}: "
                     f"{draw(st.sampled_from(memristor_models))}" + draw(comment))
    for r in ress:
        lines.append(f"resistor {r} : {draw(st.sampled_from(_RESISTANCES))}")

    pool = list(mems) + list(ress)
    pool = draw(st.permutations(pool)) if pool else []
    # 1. chains of neurons; each hop asks for 0-2 two-pin elements
    unused_neurons = list(neurons)
    skeletons: list[list[str]] = []
    counts: list[list[int]] = []
    while unused_neurons or not skeletons:
        start = unused_neurons.pop(0) if unused_neurons else draw(st.sampled_from(neurons))
        chain_neurons = [start]
        chain_counts: list[int] = []
        for _ in range(draw(st.integers(1, 3))):
            if unused_neurons and draw(st.booleans()):
                chain_neurons.append(unused_neurons.pop(0))
            else:
                chain_neurons.append(draw(st.sampled_from(neurons)))
            chain_counts.append(draw(st.integers(0, 2)))
        skeletons.append(chain_neurons)
        counts.append(chain_counts)
    # 2. a direct hop (a -> b) joins a.out and b.mem; an element between two joined nodes
    #    would be shorted (invalid), so such hops become direct too
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for chain_neurons, chain_counts in zip(skeletons, counts, strict=True):
        for i, count in enumerate(chain_counts):
            if count == 0:
                parent[find(f"{chain_neurons[i]}.out")] = find(f"{chain_neurons[i + 1]}.mem")
    for chain_neurons, chain_counts in zip(skeletons, counts, strict=True):
        for i in range(len(chain_counts)):
            if find(f"{chain_neurons[i]}.out") == find(f"{chain_neurons[i + 1]}.mem"):
                chain_counts[i] = 0
    # 3. place the declared elements (then inline loads) on the hops that take elements;
    #    what is left goes on a chain to ground
    chains: list[tuple[str, ...]] = []
    for chain_neurons, chain_counts in zip(skeletons, counts, strict=True):
        items = [chain_neurons[0]]
        for i, count in enumerate(chain_counts):
            for _ in range(count):
                if pool:
                    items.append(pool.pop())
                else:
                    items.append(f"load({draw(st.sampled_from(_RESISTANCES))})")
            items.append(chain_neurons[i + 1])
        chains.append(tuple(items))
    if pool:
        chains.append((draw(st.sampled_from(neurons)), *pool, "gnd"))
        pool = []
    for items in chains:
        arrow = draw(st.sampled_from([" -> ", "->", " ->  ", " ->\n    "]))
        lines.append(arrow.join(items) + draw(comment))
    if draw(st.booleans()):
        lines.append(f"tran {draw(st.sampled_from(['1s', '500ms', '2']))}"
                     + draw(st.sampled_from(["", " max_step = 50us", " step = 1m"])))
    if draw(st.booleans()):
        lines.append("probe " + ", ".join(draw(st.lists(st.sampled_from(neurons), min_size=1,
                                                         max_size=3, unique=True))))
    if len(neurons) >= 2 and draw(st.booleans()):
        pair = draw(st.lists(st.sampled_from(neurons), min_size=2, max_size=2, unique=True))
        lines.append(f"lock {pair[0]} {pair[1]}")
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n# end\n"]))
    return GeneratedNetwork(text, tuple(neurons), tuple(mems), tuple(ress), tuple(chains))


_TOKENS = ["neuron", "memristor", "resistor", "source", "node", "link", "tran", "probe", "lock",
           "use", "param", "gnd", "load", "seed", "a", "b", "m1", "fhn", "zro2", ":", "->", ",",
           "(", ")", "=", "10k", "-1", "{x}", '"lib/fhn.lib"', "\n", " ", "#", ".", "mem", "out",
           "sin(0 1 10)", "$", "\t", "1meg"]


def garbage_text() -> st.SearchStrategy[str]:
    """Random text made of the language's tokens and arbitrary characters."""
    return st.one_of(
        st.lists(st.sampled_from(_TOKENS), max_size=30).map(" ".join),
        st.lists(st.sampled_from(_TOKENS), max_size=30).map("".join),
        st.text(max_size=80),
    )


# --- SPICE decks for the compiler's fuzzing ----------------------------------------------------

_DOT_WORDS = (".param", ".func", ".subckt", ".ends", ".model", ".tran", ".dc", ".ac", ".op",
              ".options", ".save", ".meas", ".ic", ".global", ".end", ".include", ".inc",
              ".lib", ".endl", ".control", ".endc", ".controlx", ".incx", ".libx", ".option",
              ".print", ".temp", ".title", ".if", ".csparam")
_TOKENS = ("1k", "2.2u", "{a*2}", "{1/0}", "{(((1)))}", "a", "b", "0", "gnd", "out", "in",
           "pulse(0 1 0 1n 1n 5n 10n)", "sin(0 1 1k)", "dc", "1", "uic", "file=\"x.txt\"",
           "input_file=/etc/passwd", "params:", "r=1k", "x", "fhn", "d1n4148", "1e999", "nan",
           "`ls`", "$HOME", "~/x", "../../etc/passwd", "'a+b'", "\"q\"", "{", "}", "(", ")",
           "=", "+", "*", ";", "//", "\\", "%v", "[a b]", "1e-300", "-5", "seed=3", "reltol=1e-3")
_ODD = ("\x0b", "\x0c", "\x00", "\u2028", "\u2029", "\x85", "\t", "\r", "\u00b5", "\u03a9")


@st.composite
def spice_decks(draw: st.DrawFn) -> str:
    """Deck-like text: a title and cards mixing known and near-miss dot-cards, elements with
    plausible and hostile tokens, continuations, comments and odd characters."""
    lines = [draw(st.sampled_from(("title", "* t", ".include x", "*ng_script", "")))]
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.integers(0, 6))
        if kind == 0:
            head = draw(st.sampled_from(_DOT_WORDS))
        elif kind == 1:
            head = draw(st.sampled_from("RCLVIEFGHBDJQMXSWKATOUPNYZrcl")) + draw(
                st.sampled_from(("1", "2", "a", "_x", "load")))
        elif kind == 2:
            head = draw(st.sampled_from(("+", "*", "*#", "  ", ";")))
        elif kind == 3:
            head = draw(st.text(max_size=8))
        else:
            head = draw(st.sampled_from(("R1 a b", "V1 in 0", "X1 a b", ".tran 1u",
                                         ".param a=", "C1 a 0", ".model dx d(")))
        toks = draw(st.lists(st.sampled_from(_TOKENS), max_size=6))
        line = " ".join([head, *toks])
        if draw(st.booleans()) and draw(st.booleans()):
            pos = draw(st.integers(0, len(line)))
            line = line[:pos] + draw(st.sampled_from(_ODD)) + line[pos:]
        lines.append(line)
    return "\n".join(lines) + draw(st.sampled_from(("", "\n", "\n.end\n", "\r\n")))
