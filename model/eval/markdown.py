"""How the evaluation CLIs hand a Markdown report over: printed, and written when asked."""

from __future__ import annotations

from pathlib import Path

__all__ = ["publish"]


def publish(markdown: str, out: Path | None) -> None:
    """Print ``markdown``; when ``out`` is given, also write it there (parent folders made) and say so."""
    print(markdown)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown)
        print(f"wrote {out}")
