"""Python side of the circuit library: read ``netlists/lib``, look models up, check parameters.

The ``.lib`` files are the single source of truth for pins, parameters and defaults.

>>> from neurospice.spice import Registry, parse_si
>>> parse_si("2.2u")
2.2e-06
"""

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
