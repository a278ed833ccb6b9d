"""Paths and a console runner shared by the tests (imported as ``helpers``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NETLISTS = ROOT / "netlists"
DATA = Path(__file__).resolve().parent / "data"


def run_cli(
    *args: str | Path, cwd: Path | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m neurospice.cli.main ARGS`` as a user would; capture output."""
    return subprocess.run(
        [sys.executable, "-m", "neurospice.cli.main", *map(str, args)],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
