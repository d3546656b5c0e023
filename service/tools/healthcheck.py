"""``python -m service.tools.healthcheck``: exit 0 when the local service answers ``/readyz`` with 200.

Used by the Docker ``HEALTHCHECK`` and the compose healthcheck (the slim image has no curl).
The port defaults to the service's own setting (``RSCNET_PORT``).
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

__all__ = ["check", "main"]


def check(url: str, timeout: float) -> bool:
    """Whether ``GET url`` answers 200 within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local URL
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.tools.healthcheck",
        description="Exit 0 if the service is ready (GET /readyz answers 200), else 1.",
    )
    parser.add_argument("--url", help="readiness URL (default: http://127.0.0.1:$RSCNET_PORT/readyz)")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    args = parser.parse_args(argv)
    url = args.url
    if url is None:
        from service.settings import ServiceSettings

        url = f"http://127.0.0.1:{ServiceSettings().port}/readyz"
    return 0 if check(url, args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main())
