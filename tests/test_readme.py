"""The README's notebook example runs as written, from any folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from helpers import ROOT


def _example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m is not None
    return m.group(1)


def test_notebook_example_is_five_lines() -> None:
    lines = [ln for ln in _example().splitlines() if ln.strip()]
    assert len(lines) == 5


@pytest.mark.slow
def test_notebook_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(_example(), "README.md", "exec"), namespace)  # noqa: S102 - our own README
    png = tmp_path / "slave.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run = namespace["run"]
    assert abs(run.time[-1] - 1.0) < 1e-9  # type: ignore[attr-defined]
    assert len(run.locking) == 1  # type: ignore[attr-defined]
    assert os.path.getsize(png) > 10_000
