"""Errors that describe bad user input (network files, decks, library values).

Every error a user can cause by what they wrote derives from
:class:`NeurospiceInputError`.  It carries where the problem is (file, line,
column, all optional) and renders as ``file:line:col: message`` followed by a
context snippet, so the command line can print it and exit with status 2
without a Python traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["NeurospiceInputError", "SimulationError", "source_context"]


class NeurospiceInputError(Exception):
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
        text = f"{self.location}: {self.message}"
        if self.context:
            text += "\n" + self.context.rstrip("\n")
        if self.hint:
            text += "\n" + self.hint
        return text


class SimulationError(Exception):
    """A simulation that ngspice could not complete (no convergence, timeout, abort).

    Not an input error: the command line exits with status 1 for it.
    """


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
