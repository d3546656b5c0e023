"""Writing a benchmark's report: every ``python -m benchmarks.<area>.bench`` ends the same way."""

from __future__ import annotations

import argparse
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


def checkpoint_parser(
    module: str, doc: str | None, default_out: Path, samples: int, samples_help: str, resolutions: bool = True
) -> argparse.ArgumentParser:
    """The command line of a benchmark that scores checkpoints on test people:
    ``--checkpoint C [C2 ...]``, ``--samples``, with ``resolutions`` ``--resolutions`` (read them with
    :func:`parse_resolutions`), ``--threads`` and ``--out``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=(doc or "").split("\n\n")[0])
    parser.add_argument("--checkpoint", nargs="+", required=True, help="one or more checkpoints")
    parser.add_argument("--samples", type=int, default=samples, help=f"{samples_help} (default: %(default)s)")
    if resolutions:
        parser.add_argument("--resolutions", default="224,32", help="comma-separated person heights in pixels (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=default_out)
    return parser


def parse_resolutions(parser: argparse.ArgumentParser, text: str, lowest: int, highest: int) -> list[int]:
    """``"224,32"`` -> ``[224, 32]``; a parser error unless every size is an integer in ``[lowest, highest]``."""
    try:
        sizes = [int(r) for r in text.split(",") if r]
    except ValueError:
        parser.error(f"--resolutions must be comma-separated integers, got {text!r}")
    if not sizes or any(not lowest <= r <= highest for r in sizes):
        parser.error(f"--resolutions must be sizes in [{lowest}, {highest}], got {text!r}")
    return sizes
