"""The one error hierarchy of neurospice.

::

    NeurospiceError                      root: catch this to catch everything of ours
    +-- NeurospiceInputError             the user's input is wrong (exit status 2)
    |   +-- DeckError                    a SPICE deck refused or malformed
    |   |   +-- LimitError               a deck beyond a size/time limit (raise it by option)
    |   |   +-- LexError                 (neurospice.spice.lexer; also a ValueError)
    |   +-- UsageError                   a bad command-line option or API argument
    |   +-- ModelError                   the model engine refuses the deck (neurospice.sim.model)
    |   |   +-- UnmappableElementError   an element it cannot map onto its equations
    |   |   +-- ModelParameterError      a parameter value it cannot use
    |   |   +-- CharacterisationError    a neuron not of the form it integrates
    |   |   +-- SelfCheckError           it disagrees with ngspice on this deck
    |   |   +-- NotCompilable            a memristor body it cannot compile
    |   +-- NetworkSyntaxError, NetworkSemanticError   (neurospice.network.errors)
    |   +-- UnknownModelError, InvalidParameterError   (neurospice.spice.registry)
    +-- SimulationError                  a run that could not complete (exit status 1)
        +-- SimulationTimeout            stopped by the wall-time limit
        +-- OutputError                  an output folder that cannot be written (neurospice.files)

One class stands apart on purpose: ``neurospice.sim.sandbox.SandboxUnavailable`` lives and dies in
the ngspice worker process (which reports it as a message, never raises it to the caller) and
must not import this module on the worker's start-up path.

Input errors carry where the problem is (file, line, column, all optional) and render as
``file:line:col: message`` followed by a context snippet, so the command line can print them
and exit with status 2 without a Python traceback.
"""

from __future__ import annotations

import contextvars
from pathlib import Path

__all__ = [
    "NeurospiceError",
    "NeurospiceInputError",
    "DeckError",
    "LimitError",
    "UsageError",
    "ModelError",
    "SimulationError",
    "SimulationTimeout",
    "source_context",
    "option",
    "FLAGS",
    "SPELLING",
]

#: How messages name an option: ``"api"`` (a keyword of the Python API, the default) or
#: ``"cli"`` (a command-line flag; the command line sets it for the command it runs), so that
#: a message below the API names what its reader typed.
SPELLING: contextvars.ContextVar[str] = contextvars.ContextVar("neurospice_spelling",
                                                               default="api")
#: The command-line flag of each option (by its RunOptions field or deck-layer name).
FLAGS = {"tstop": "--tstop", "seed": "--seed", "seeds": "--seeds", "t_skip": "--t-skip",
         "timeout": "--timeout", "workers": "--workers", "scheduler": "--scheduler",
         "energy": "--energy", "raw": "--raw", "fmt": "--format", "resume": "--resume",
         "verify": "--verify K", "spike_threshold": "--spike-threshold", "corners": "--corners",
         "tols": "--tol", "runs": "--runs", "sweeps": "--sweep", "engine": "--engine",
         "max_points": "--max-points", "max_deck_bytes": "--max-deck-bytes",
         "max_memory": "--max-memory", "compat": "--compat",
         "allow_negative": "--allow-negative", "waveform_tol": "--waveform-tol",
         "tol_dist": "--tol-dist", "ignore_control": "--ignore-control",
         "allow_control": "--allow-control"}
#: The Python API's spelling of an option, where it is not the name itself.
_KEYWORDS = {"tols": "tol", "sweeps": "grid", "ignore_control": 'control="ignore"',
             "allow_control": 'control="allow"', "allow_negative": "allow_negative=True"}


def option(name: str, key: object = None) -> str:
    """An option as its reader spells it (:data:`SPELLING`): ``option("max_points")`` is
    ``--max-points`` or ``max_points``; ``option("param", "r2")`` is ``--param r2`` or
    ``params["r2"]``."""
    cli = SPELLING.get() == "cli"
    if name == "param":
        return f"--param {key}" if cli else f'params["{key}"]'
    return FLAGS.get(name, name) if cli else _KEYWORDS.get(name, name)



class NeurospiceError(Exception):
    """Root of every error neurospice raises on purpose."""


class NeurospiceInputError(NeurospiceError):
    """Base class of every error caused by user input.

    Parameters
    ----------
    message
        What is wrong, in plain words (no location prefix).
    path
        The file the input came from, if any.
    line, column
        1-based position of the offending text, if known.
    context
        A pre-rendered snippet (the offending line and a caret under the
        offending column); rendered after the message.
    hint
        What the user can do about it; rendered on its own line.
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        *,
        context: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
        self.context = context
        self.hint = hint

    @property
    def location(self) -> str:
        """``file:line:col`` with the parts that are known."""
        parts = [str(self.path) if self.path is not None else "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        where = self.path is not None or self.line is not None
        text = f"{self.location}: {self.message}" if where else self.message
        if self.context:
            text += "\n" + self.context.rstrip("\n")
        if self.hint:
            text += "\n" + self.hint
        return text


class DeckError(NeurospiceInputError):
    """A deck that must not, or cannot, be given to ngspice (bad input: exit status 2).

    ``DeckError(message, path, line, column, snippet=text)``: the offending card's text is shown
    under the message.
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        *,
        snippet: str | None = None,
        hint: str | None = None,
    ) -> None:
        context = "    " + snippet.strip() if snippet else None
        super().__init__(message, path=path, line=line, column=column, context=context,
                         hint=hint)


class LimitError(DeckError):
    """A deck beyond one of the run limits (size, points, expansion); an option raises it."""


class UsageError(NeurospiceInputError):
    """A bad command-line option or API argument."""


class ModelError(NeurospiceInputError):
    """The model engine cannot use the deck: the base of the model engine's errors."""


class SimulationError(NeurospiceError):
    """A simulation that ngspice could not complete (no convergence, timeout, abort).

    Not an input error: the command line exits with status 1 for it.
    """


class SimulationTimeout(SimulationError):
    """A run stopped by its wall-time limit."""


def source_context(text: str, line: int, column: int) -> str:
    """Render the source line ``line`` of ``text`` with a caret under ``column``.

    Parameters
    ----------
    text
        The whole source text.
    line, column
        1-based position.

    Returns
    -------
    str
        Two lines: the source line (tabs expanded) and a caret line, or an
        empty string when ``line`` is out of range.
    """
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    src = lines[line - 1]
    prefix = src[: max(column - 1, 0)].expandtabs()
    return f"{src.expandtabs()}\n{' ' * len(prefix)}^\n"
