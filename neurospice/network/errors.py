"""Errors in network files: syntax (the text does not follow the grammar) and meaning.

Both carry the file, 1-based line and column, and a context snippet, and derive
from :class:`neurospice.errors.NeurospiceInputError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from neurospice.errors import NeurospiceInputError, source_context

__all__ = ["NetworkSyntaxError", "NetworkSemanticError"]


class NetworkSyntaxError(NeurospiceInputError):
    """The network text does not follow the grammar.

    Attributes
    ----------
    text
        The offending text (a token, a character, or ``''`` at the end of the file).
    expected
        What the grammar would have accepted there, in plain words
        (e.g. ``["'->'", "end of line"]``).
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        *,
        text: str = "",
        expected: Sequence[str] = (),
        context: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, path, line, column, context=context, hint=hint)
        self.text = text
        self.expected = list(expected)


class NetworkSemanticError(NeurospiceInputError):
    """The network parses but does not make a circuit (unknown model, undeclared name...).

    Attributes
    ----------
    name
        The offending name (element, model, parameter or pin reference), if any.
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        *,
        name: str | None = None,
        source: str | None = None,
        hint: str | None = None,
    ) -> None:
        context = None
        if source is not None and line is not None:
            context = source_context(source, line, column or 1) or None
        super().__init__(message, path, line, column, context=context, hint=hint)
        self.name = name
