"""The ASGI middleware that records every request in the service's metrics.

The metrics themselves (names, types, labels) are :class:`service.runtime.metrics.ServiceMetrics`.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.runtime.metrics import ServiceMetrics

__all__ = ["MetricsMiddleware"]


class MetricsMiddleware:
    """Counts requests by route template (``/v1/smpl``, not the raw path) and status, and times them.

    Args:
        app: the wrapped ASGI app.
        metrics: where to record.
        known_paths: paths used as the label when no route matched (e.g. a body refused by an
            outer middleware before routing); anything else is labelled ``"unmatched"``.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, known_paths: Collection[str] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.known_paths = frozenset(known_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        self.metrics.in_flight.inc()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            route = scope.get("route")
            endpoint = getattr(route, "path", None)
            if endpoint is None:
                endpoint = scope.get("path", "") if scope.get("path", "") in self.known_paths else "unmatched"
            self.metrics.requests.labels(endpoint, scope.get("method", ""), str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - start)
