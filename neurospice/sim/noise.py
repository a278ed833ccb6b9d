"""One noise for both engines: the memristors' random draws made by neurospice, from the seed.

The ``zro2`` device of ``memristors.lib`` draws its filament parameters twice over
(docs/memristor.md): per device (``mc``: ``em, eb, rho`` times ``max(1 + mc sig z, 0.2)``,
ngspice's ``agauss``) and cycle to cycle (``c2c``: the same law on top, a new standard-normal
triple every ``tc2c`` seconds after ``td2c``, ngspice's ``trrandom``). ngspice's generator
cannot be reproduced, so neurospice draws the standard normals itself and hands the *same
numbers* to both engines:

* :func:`standard_normals` - for device ``j`` (its place among the deck's memristor instances,
  in card order) and seed ``S``: ``numpy.random.default_rng([S, j])``, first the per-device
  triple, then one triple per hold interval (a prefix of the stream: a longer run only adds
  intervals);
* the model engine uses them directly (:mod:`neurospice.sim.model.engine`);
* :func:`with_shared_noise` compiles them into an ngspice deck: each ``zro2`` instance gets its
  own copy of the subcircuit in which the three ``agauss(0, 1, 1)`` are the drawn numbers and
  the three ``trrandom`` sources are piecewise-constant ``pwl`` sources holding the drawn
  triples (switching within ``tc2c``/10^6 at each interval's start). The law is the library's
  (same floors, same hold intervals); only the generator is neurospice's.

The seed is, as for the model engine, the deck's ``.param seed``, else its ``.options seed=``,
else 1 (``simulate --seed`` sets one of them).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from neurospice.spice.compiler import CompiledCard
from neurospice.spice.deck import PreparedDeck
from neurospice.spice.flatten import Subckt, subckt_table

__all__ = ["deck_seed", "intervals", "standard_normals", "with_shared_noise"]

FloatArray = NDArray[np.float64]

log = logging.getLogger("neurospice.sim.noise")

#: Suffix of the per-instance copies of a memristor subcircuit.
COPY_SUFFIX = "_nsdraw"


def deck_seed(deck: PreparedDeck) -> int:
    """The deck's seed: ``.param seed``, else ``.options seed=``, else 1."""
    params = deck.params()
    if "seed" in params:
        try:
            return int(deck.evaluate(params["seed"]))
        except ValueError:
            pass
    for line in deck.lines:
        m = re.match(r"^\s*\.options?\b.*\bseed\s*=\s*(\d+)", line, re.IGNORECASE)
        if m:
            return int(m.group(1))
    return 1


def intervals(t_end: float, tc2c: float, td2c: float) -> int:
    """Number of cycle-to-cycle hold intervals a run of ``t_end`` seconds uses."""
    if tc2c <= 0:
        return 1
    return int(math.ceil(max(t_end - td2c, 0.0) / tc2c)) + 1


def standard_normals(seed: int, index: int, n_intervals: int) -> tuple[FloatArray, FloatArray]:
    """Per-device standard-normal triple (em, eb, rho) and ``n_intervals`` cycle-to-cycle
    triples of device ``index`` for ``seed``."""
    rng = np.random.default_rng([int(seed), int(index)])
    per_device = rng.standard_normal(3)
    cycle = rng.standard_normal((max(1, n_intervals), 3))
    return per_device, cycle


def _memristor_instances(deck: PreparedDeck, subs: dict[str, Subckt]
                         ) -> list[tuple[int, str, str]]:
    """Top-level memristor instances in card order: (card index, its subckt, known body)."""
    from neurospice.sim.model.compile import known_body

    out = []
    for i, card in enumerate(deck.cards):
        if card.depth != 0 or card.letter != "x":
            continue
        plain = [t for t in card.tokens[1:] if "=" not in t and t.lower() not in ("params:",)]
        model = plain[-1].lower() if plain else ""
        sub = subs.get(model)
        if sub is None or sub.pins != ("p", "n"):
            continue
        body = known_body(sub)[0]
        if body is not None:
            out.append((i, model, body))
    return out


def _value(deck: PreparedDeck, card: CompiledCard, sub: Subckt, name: str) -> float:
    for tok in card.tokens[1:]:
        k, sep, v = tok.partition("=")
        if sep and k.strip().lower() == name:
            return deck.evaluate(v.strip())
    return deck.evaluate(dict(sub.defaults)[name])


def _pwl(values: FloatArray, tc: float, td: float) -> str:
    eps = tc * 1e-6
    pts = [f"0 {values[0]:.9g}"]
    for q in range(1, len(values)):
        t = td + q * tc
        pts.append(f"{t - eps:.12g} {values[q - 1]:.9g} {t:.12g} {values[q]:.9g}")
    return "pwl(" + " ".join(pts) + ")"


def with_shared_noise(deck: PreparedDeck, seed: int | None = None, *,
                      noise: bool = True) -> PreparedDeck:
    """A copy of ``deck`` whose ``zro2`` devices use neurospice's draws (module docstring);
    ``noise=False``: every draw at its mean (the nominal device, as the model engine's point
    ``{"noise": False}``).

    Decks without a ``zro2`` instance (or without a ``.tran``) are returned unchanged.
    """
    tran = deck.tran()
    subs = subckt_table(deck)
    found = _memristor_instances(deck, subs)
    if tran is None or not any(body == "zro2" for _, _, body in found):
        return deck
    s = deck_seed(deck) if seed is None else int(seed)
    cards = list(deck.cards)
    copies: list[CompiledCard] = []
    for j, (i, model, body) in enumerate(found):
        if body != "zro2":
            continue
        sub = subs[model]
        card = cards[i]
        try:
            tc = _value(deck, card, sub, "tc2c")
            td = _value(deck, card, sub, "td2c")
        except (ValueError, KeyError, ZeroDivisionError) as exc:
            log.warning("%s: hold time not evaluable here (%s): ngspice draws its own noise",
                        card.tokens[0], exc)
            continue
        g, z = standard_normals(s, j, intervals(tran[1], tc, td))
        if not noise:
            g, z = np.zeros_like(g), np.zeros_like(z)
        name = f"{model}{COPY_SUFFIX}{j}"
        copies += _copy(sub, name, g, z, tc, td)
        toks = list(card.tokens)
        k = max(n for n, t in enumerate(toks) if t.lower() == model)
        toks[k] = name
        cards[i] = replace(card, tokens=tuple(toks))
    if not copies:
        return deck
    # the copies go right after the deck's last top-level subcircuit definition
    last = max(n for n, c in enumerate(cards) if c.head == ".ends" and c.depth == 0)
    return replace(deck, cards=cards[:last + 1] + copies + cards[last + 1:])


def _copy(sub: Subckt, name: str, g: FloatArray, z: FloatArray, tc: float,
          td: float) -> list[CompiledCard]:
    head = sub.card
    out = [replace(head, tokens=(head.tokens[0], name, *head.tokens[2:]))]
    per_device = iter(g)
    sources = {"vzem": 0, "vzeb": 1, "vzrho": 2}
    for card in sub.body:
        toks = card.tokens
        if card.head == ".param" and "agauss(0, 1, 1)" in card.text:
            drawn = f"({next(per_device):.12g})"
            toks = tuple(t.replace("agauss(0, 1, 1)", drawn) for t in toks)
        elif card.head in sources:
            col = sources[card.head]
            toks = (*toks[:3], _pwl(z[:, col], tc, td) if tc > 0 else "dc 0")
        out.append(replace(card, tokens=toks))
    out.append(CompiledCard(".ends", (".ends", name), head.origin, head.depth))
    return out
