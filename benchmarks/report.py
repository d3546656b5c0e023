"""Writing a benchmark's report: every ``python -m benchmarks.<area>.bench`` ends the same way."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from model.runtime import cpu_name


def write_report(path: Path, markdown: str, payload: dict[str, Any] | None = None) -> None:
    """Write ``markdown`` to ``path`` (folders created) and, when given, ``payload`` as JSON beside it
    (same name, ``.json``); print where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown if markdown.endswith("\n") else markdown + "\n")
    if payload is not None:
        path.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")


def run_meta(module: str, argv: list[str] | None, **extra: Any) -> dict[str, Any]:
    """What a report records of its own run: the command (``python -m module`` and its arguments),
    the CPU, the date (UTC) and ``extra``."""
    args = argv if argv is not None else sys.argv[1:]
    return {"command": f"python -m {module} " + " ".join(args), "cpu": cpu_name(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **extra}


def publish(path: Path, markdown: str, payload: dict[str, Any]) -> None:
    """Print a report's ``markdown`` and write it with its JSON ``payload`` (:func:`write_report`)."""
    print(markdown)
    write_report(path, markdown, payload)
