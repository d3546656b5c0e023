"""Writing a benchmark's report: every ``python -m benchmarks.<area>.bench`` ends the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_report(path: Path, markdown: str, payload: dict[str, Any] | None = None) -> None:
    """Write ``markdown`` to ``path`` (folders created) and, when given, ``payload`` as JSON beside it
    (same name, ``.json``); print where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown if markdown.endswith("\n") else markdown + "\n")
    if payload is not None:
        path.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")
