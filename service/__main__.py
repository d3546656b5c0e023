"""``python -m service``: start the HTTP service with uvicorn.

Settings come from the environment (``RSCNET_*``, see :mod:`service.settings`); the options
below override them. Examples::

    python -m service                                   # 127.0.0.1:8000, checkpoint from RSCNET_CHECKPOINT
    python -m service --host 0.0.0.0 --port 9000 --device cuda
    python -m service --checkpoint runs/rscnet/served.pt
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (every option defaults to the environment / settings value)."""
    parser = argparse.ArgumentParser(
        prog="python -m service",
        description="Serve RSC-Net over HTTP (FastAPI + uvicorn, one batching worker per process). "
        "Every option can also be set by its RSCNET_* environment variable; options win.",
        epilog="Readiness: GET /readyz; API docs: GET /docs; metrics: GET /metrics.",
    )
    parser.add_argument("--host", help="interface to bind (env RSCNET_HOST; default 127.0.0.1, 0.0.0.0 in Docker)")
    parser.add_argument("--port", type=int, help="TCP port (env RSCNET_PORT; default 8000)")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="RSC-Net checkpoint (env RSCNET_CHECKPOINT; default checkpoints/rscnet-long/model.pt)",
    )
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N (env RSCNET_DEVICE; default auto)")
    parser.add_argument(
        "--max-batch-size", type=int, help="crops per forward pass (env RSCNET_MAX_BATCH_SIZE; default 32 GPU / 8 CPU)"
    )
    parser.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        help="(env RSCNET_LOG_LEVEL; default info)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start uvicorn; returns the exit code (2 for invalid settings)."""
    args = parse_args(argv)
    from service.settings import ServiceSettings  # imports after --help, which must be fast

    overrides = {
        key: value
        for key, value in {
            "host": args.host,
            "port": args.port,
            "checkpoint": args.checkpoint,
            "device": args.device,
            "max_batch_size": args.max_batch_size,
            "log_level": args.log_level,
        }.items()
        if value is not None
    }
    try:
        settings = ServiceSettings(**overrides)
    except ValidationError as exc:
        print(f"invalid settings:\n{exc}", file=sys.stderr)
        return 2
    import uvicorn

    from service.http.app import create_app
    from service.http.server_protocol import header_timeout_protocol

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout_s) or None,
        timeout_keep_alive=math.ceil(settings.keep_alive_s),
        http=header_timeout_protocol(settings.header_timeout_s),
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
