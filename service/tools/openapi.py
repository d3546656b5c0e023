"""Export the OpenAPI document of the app: ``python -m service.tools.openapi --out openapi/openapi.json``.

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

from service.tools.generated_files import emit_generated

__all__ = ["main", "openapi_document", "render"]


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document (built with default settings; nothing is loaded)."""
    from service.http.app import create_app
    from service.settings import ServiceSettings

    return create_app(ServiceSettings.model_construct()).openapi()


def render(document: dict[str, Any]) -> str:
    """Stable JSON text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.tools.openapi", description="Write the service's OpenAPI document."
    )
    parser.add_argument("--out", type=Path, default=None, help="output file (default: standard output)")
    parser.add_argument("--check", action="store_true", help="exit 1 if --out differs from the app's document")
    args = parser.parse_args(argv)
    if args.check and args.out is None:
        parser.error("--check compares with a file: give --out (e.g. --out openapi/openapi.json)")
    text = render(openapi_document())
    return emit_generated(text, args.out, args.check, "python -m service.tools.openapi")


if __name__ == "__main__":
    sys.exit(main())
