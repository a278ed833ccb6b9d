"""Python side of the circuit library: read ``netlists/lib``, look models up, check parameters.

The ``.lib`` files are the single source of truth for pins, parameters and defaults. The names
below load on first use (so that importing one module of this package, e.g. by the ngspice
worker, does not parse the library).

>>> from neurospice.spice import Registry, parse_si
>>> parse_si("2.2u")
2.2e-06
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

_EXPORTS = {
    "LibraryFile": "library",
    "ModelKind": "library",
    "SubcktModel": "library",
    "default_library_dir": "library",
    "is_number": "library",
    "library_files": "library",
    "parse_library": "library",
    "parse_library_text": "library",
    "parse_si": "library",
    "InvalidParameterError": "registry",
    "Registry": "registry",
    "UnknownModelError": "registry",
    "positive_param": "registry",
}

__all__ = [
    "InvalidParameterError",
    "LibraryFile",
    "ModelKind",
    "Registry",
    "SubcktModel",
    "UnknownModelError",
    "default_library_dir",
    "is_number",
    "library_files",
    "parse_library",
    "parse_library_text",
    "parse_si",
    "positive_param",
]

if TYPE_CHECKING:
    from neurospice.spice.library import (
        LibraryFile,
        ModelKind,
        SubcktModel,
        default_library_dir,
        is_number,
        library_files,
        parse_library,
        parse_library_text,
        parse_si,
    )
    from neurospice.spice.registry import (
        InvalidParameterError,
        Registry,
        UnknownModelError,
        positive_param,
    )


__getattr__, __dir__, _ = lazy_loader.attach(
    __name__, submod_attrs={m: [n for n, home in _EXPORTS.items() if home == m]
                            for m in set(_EXPORTS.values())})
