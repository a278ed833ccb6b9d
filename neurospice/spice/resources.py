"""Where the shipped circuit library lives, found through :mod:`importlib.resources`.

The decks and ``.lib`` files are package data (``neurospice/netlists``; the repository's
top-level ``netlists`` is a link to it), so an installed neurospice finds its parts library
without the source tree.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["NETLISTS_DIR", "LIBRARY_DIR"]

#: Folder holding the shipped decks and the circuit library.
NETLISTS_DIR: Path = Path(str(files("neurospice") / "netlists")).resolve()
#: Folder of the shipped ``.lib`` files (``parts.lib``, ``fhn.lib``, ``memristors.lib``).
LIBRARY_DIR: Path = NETLISTS_DIR / "lib"
