"""The JSON Schema of ``summary.json`` (``summary.schema.json``, docs/outputs.md).

:func:`summary_schema` loads it; ``jsonschema.validate(doc, summary_schema())`` checks a
summary. :data:`neurospice.report.summary.SCHEMA_VERSION` is the version writers put in
``schema_version``; the schema's ``version`` is the same.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["summary_schema"]


def summary_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every ``summary.json`` validates against."""
    text = resources.files(__package__).joinpath("summary.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
