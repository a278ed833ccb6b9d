"""Where the shipped circuit library lives.

The decks and ``.lib`` files are package data (``neurospice/netlists``; the repository's
top-level ``netlists`` is a link to it), so an installed neurospice finds its parts library
without the source tree. They are found next to this package's files rather than through
:mod:`importlib.resources` (whose import, with :mod:`zipfile`, costs every run 2 ms before
ngspice starts): ngspice reads them by path, so the package is never run from a zip archive.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["NETLISTS_DIR", "LIBRARY_DIR"]

#: Folder holding the shipped decks and the circuit library.
NETLISTS_DIR: Path = Path(__file__).resolve().parents[1] / "netlists"
#: Folder of the shipped ``.lib`` files (``parts.lib``, ``fhn.lib``, ``memristors.lib``).
LIBRARY_DIR: Path = NETLISTS_DIR / "lib"
