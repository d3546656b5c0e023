"""Write or check a file generated from the service's own settings (the OpenAPI document, the nginx config)."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["emit_generated"]


def emit_generated(text: str, out: Path | None, check: bool, command: str) -> int:
    """Print ``text``, write it to ``out``, or (``check``) compare ``out`` with it; returns an exit code.

    Args:
        text: the generated content.
        out: the file (``None``: standard output).
        check: do not write; exit 1 when ``out`` is missing or differs.
        command: the command that regenerates the file, named in the error message.
    """
    if check:
        if out is None or not out.is_file() or out.read_text() != text:
            print(f"{out} is out of date: run {command} --out {out}", file=sys.stderr)
            return 1
        return 0
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return 0
