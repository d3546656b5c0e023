"""Export the OpenAPI document of the app: ``python -m service.openapi --out openapi/openapi.json``.

The committed ``openapi/openapi.json`` is this command's output; a test fails when it drifts.
The document does not depend on the environment (limits are described, not inlined).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "openapi_document", "render"]


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document (built with default settings; nothing is loaded)."""
    from service.app import create_app
    from service.settings import ServiceSettings

    return create_app(ServiceSettings.model_construct()).openapi()


def render(document: dict[str, Any]) -> str:
    """Stable JSON text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.openapi", description="Write the service's OpenAPI document."
    )
    parser.add_argument("--out", type=Path, default=None, help="output file (default: standard output)")
    parser.add_argument("--check", action="store_true", help="exit 1 if --out differs from the app's document")
    args = parser.parse_args(argv)
    text = render(openapi_document())
    if args.check:
        if args.out is None or not args.out.is_file() or args.out.read_text() != text:
            print(f"{args.out} is out of date: run python -m service.openapi --out {args.out}", file=sys.stderr)
            return 1
        return 0
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
