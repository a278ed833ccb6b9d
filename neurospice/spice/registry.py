"""Look up circuit models by name and check parameter overrides against the library.

A :class:`Registry` is built from library files (by default every ``*.lib`` and
``*.cir`` of ``netlists/lib``, or ``$NEUROSPICE_LIB``).  Defaults are never
restated here: they are whatever the ``.subckt ... params:`` line says.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from neurospice.errors import NeurospiceInputError
from neurospice.spice.library import (
    LibraryFile,
    ModelKind,
    SubcktModel,
    is_number,
    library_files,
    parse_library,
    parse_si,
)

__all__ = [
    "Registry",
    "UnknownModelError",
    "InvalidParameterError",
    "positive_param",
]


class UnknownModelError(NeurospiceInputError, LookupError):
    """A model name that no loaded library defines.

    Attributes
    ----------
    name
        The name asked for.
    known
        The names the registry does know (sorted).
    """

    def __init__(self, name: str, known: Iterable[str], **where: object) -> None:
        self.name = name
        self.known = sorted(known)
        close = difflib.get_close_matches(name.lower(), self.known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        listing = ", ".join(self.known) if self.known else "none: no library loaded"
        super().__init__(f"unknown model '{name}'{hint}; known models: {listing}", **where)  # type: ignore[arg-type]


class InvalidParameterError(NeurospiceInputError, ValueError):
    """A parameter override that the model does not accept.

    Attributes
    ----------
    model
        Model name.
    param
        The offending parameter name.
    value
        The offending value (text as given, or number).
    """

    def __init__(self, model: str, param: str, value: str | float | None, message: str) -> None:
        self.model = model
        self.param = param
        self.value = value
        super().__init__(message)


def positive_param(name: str) -> bool:
    """True for parameters that must be > 0: ``s``, ``area``, ``r*``, ``rho``, ``lambda``."""
    n = name.lower()
    return n in ("s", "area", "rho", "lambda") or n.startswith("r")


class Registry:
    """Models by (case-insensitive) name, from a set of library files.

    When two files define the same name the first one (in the given order)
    wins and the clash is listed in :attr:`duplicates`.
    """

    def __init__(self, libraries: Iterable[LibraryFile]) -> None:
        self._libraries: dict[Path, LibraryFile] = {}  # registered files and a parse cache
        self._registered: list[Path] = []
        self._models: dict[str, SubcktModel] = {}
        self._owner: dict[str, Path] = {}  # subckt and .model names -> defining file
        self.duplicates: list[tuple[str, Path, Path]] = []
        for lib in libraries:
            self._add(lib)

    def _add(self, lib: LibraryFile) -> None:
        if lib.path in self._registered:
            return
        self._registered.append(lib.path)
        self._libraries[lib.path] = lib
        for model in lib.subckts:
            if model.name in self._models:
                self.duplicates.append((model.name, self._models[model.name].library, lib.path))
                continue
            self._models[model.name] = model
            self._owner.setdefault(model.name, lib.path)
        for name in lib.models:
            self._owner.setdefault(name, lib.path)

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def from_paths(cls, paths: Iterable[Path | str]) -> Registry:
        """A registry of the given library files, in order."""
        return cls(parse_library(Path(p)) for p in paths)

    @classmethod
    def default(cls, folder: Path | None = None) -> Registry:
        """A registry of the package library (``netlists/lib`` or ``$NEUROSPICE_LIB``)."""
        return cls.from_paths(library_files(folder))

    # --- lookup --------------------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._models

    def __iter__(self) -> Iterator[SubcktModel]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    @property
    def libraries(self) -> list[Path]:
        """The library files whose models are registered, in order."""
        return list(self._registered)

    def get(self, name: str) -> SubcktModel:
        """The model called ``name`` (case-insensitive).

        Raises
        ------
        UnknownModelError
            Listing the known names.
        """
        try:
            return self._models[name.lower()]
        except KeyError:
            raise UnknownModelError(name, self._models) from None

    def names(self, kind: ModelKind | None = None) -> list[str]:
        """Sorted model names, optionally only those of one kind."""
        return sorted(n for n, m in self._models.items() if kind is None or m.kind == kind)

    def validate_params(
        self, name: str, overrides: Mapping[str, str | float]
    ) -> dict[str, str | float]:
        """Check parameter overrides for model ``name``.

        Numbers may be given as floats or SPICE text (``10k``); ``{expr}`` and
        ``'expr'`` values are passed through unchecked.

        Returns
        -------
        dict
            Lower-case names to values (floats for numbers, text for expressions).

        Raises
        ------
        UnknownModelError
            If ``name`` is unknown.
        InvalidParameterError
            For a parameter the model does not have, a value that is no number
            or expression, a non-positive area/resistance-like value (``s``,
            ``area``, ``r*``, ``rho``, ``lambda``) or ``w0`` outside [0, 1].
        """
        model = self.get(name)
        checked: dict[str, str | float] = {}
        for raw_key, raw_value in overrides.items():
            key = raw_key.lower()
            if key not in model.params:
                known = ", ".join(model.params) or "none"
                raise InvalidParameterError(
                    model.name, raw_key, raw_value,
                    f"model '{model.name}' has no parameter '{raw_key}' (its parameters: {known})",
                )
            value: str | float
            if isinstance(raw_value, (int, float)):
                value = float(raw_value)
            elif is_number(raw_value):
                value = parse_si(raw_value)
            elif raw_value.startswith(("{", "'")):
                checked[key] = raw_value
                continue
            else:
                raise InvalidParameterError(
                    model.name, raw_key, raw_value,
                    f"parameter '{raw_key}' of '{model.name}': {raw_value!r} is neither a number "
                    "nor a {expression}",
                )
            if positive_param(key) and not value > 0:
                raise InvalidParameterError(
                    model.name, raw_key, raw_value,
                    f"parameter '{raw_key}' of '{model.name}' must be > 0 (got {raw_value})",
                )
            if key == "w0" and not 0.0 <= value <= 1.0:
                raise InvalidParameterError(
                    model.name, raw_key, raw_value,
                    f"parameter 'w0' of '{model.name}' is a filling fraction and must lie in "
                    f"[0, 1] (got {raw_value})",
                )
            checked[key] = value
        return checked

    # --- what to include -----------------------------------------------------------------------

    def _library(self, path: Path) -> LibraryFile | None:
        lib = self._libraries.get(path)
        if lib is None and path.is_file():
            lib = parse_library(path)
            self._libraries.setdefault(path, lib)  # cache only; its names are not registered
        return lib

    def _closure(self, path: Path, seen: set[Path]) -> None:
        if path in seen:
            return
        seen.add(path)
        lib = self._library(path)
        if lib is not None:
            for inc in lib.includes:
                self._closure(inc, seen)

    def libraries_for(self, names: Iterable[str], provided: Iterable[Path] = ()) -> list[Path]:
        """The library files a deck must include so that ``names`` are all defined.

        Follows what each subcircuit uses (other subcircuits, ``.model`` cards)
        and what each library already includes itself.

        Parameters
        ----------
        names
            Model names the deck instantiates.
        provided
            Library files the deck already includes.

        Returns
        -------
        list of Path
            Files to include in addition to ``provided``, in the order needed.
        """
        covered: set[Path] = set()
        for p in provided:
            self._closure(Path(p).resolve(), covered)
        defined: set[str] = set()

        def refresh() -> None:
            defined.clear()
            for p in covered:
                lib = self._library(p)
                if lib is not None:
                    defined.update(m.name for m in lib.subckts)
                    defined.update(lib.models)

        refresh()
        extra: list[Path] = []
        todo = [n.lower() for n in names]
        seen: set[str] = set()
        while todo:
            name = todo.pop(0)
            if name in seen:
                continue
            seen.add(name)
            if name not in defined and name in self._owner:
                owner = self._owner[name]
                extra.append(owner)
                self._closure(owner, covered)
                refresh()
            model = self._models.get(name)
            if model is not None:
                todo.extend(w for w in sorted(model.references) if w in self._owner)
        return extra
