"""Prometheus metrics of the service (one registry per app) and the middleware that records requests.

Exposed at ``GET /metrics`` (Prometheus text format):

================================== ========= ===================================================
name                               type      labels / meaning
================================== ========= ===================================================
``rscnet_requests_total``          counter   ``endpoint`` (route template), ``method``, ``status``
``rscnet_request_duration_seconds`` histogram ``endpoint``: wall time from request to response
``rscnet_requests_in_flight``      gauge     requests being handled
``rscnet_queue_length``            gauge     crops waiting for the worker
``rscnet_batch_size``              histogram crops per forward pass
``rscnet_batch_compute_seconds``   histogram seconds per forward pass (batch function)
``rscnet_items_rejected_total``    counter   crops refused because the queue was full (429; a request
                                             refused before its body was read counts as one)
``rscnet_item_errors_total``       counter   ``code``: crops that failed individually
``rscnet_items_dropped_total``     counter   queued crops dropped uncomputed (client gone / timed out)
``rscnet_worker_crashes_total``    counter   batches whose batch function crashed (worker recovered)
``rscnet_ready``                   gauge     1 when ready to serve
================================== ========= ===================================================
"""

from __future__ import annotations

import time
from collections.abc import Collection

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MetricsMiddleware", "ServiceMetrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServiceMetrics:
    """The service's metrics in their own :class:`CollectorRegistry` (several apps may coexist).

    Also a :class:`service.batcher.BatchObserver`.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "rscnet_requests_total",
            "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "rscnet_request_duration_seconds",
            "HTTP request latency by endpoint",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("rscnet_requests_in_flight", "HTTP requests being handled", registry=r)
        self.queue_length = Gauge("rscnet_queue_length", "Crops waiting for the inference worker", registry=r)
        self.batch_size = Histogram("rscnet_batch_size", "Crops per forward pass", buckets=_BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram(
            "rscnet_batch_compute_seconds", "Seconds per forward pass", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.rejected = Counter("rscnet_items_rejected_total", "Crops refused because the queue was full", registry=r)
        self.item_errors = Counter("rscnet_item_errors_total", "Crops that failed individually", ["code"], registry=r)
        self.dropped = Counter(
            "rscnet_items_dropped_total",
            "Queued crops dropped uncomputed because their request was cancelled or timed out",
            registry=r,
        )
        self.crashes = Counter(
            "rscnet_worker_crashes_total", "Batches whose batch function crashed (the worker recovered)", registry=r
        )
        self.ready = Gauge("rscnet_ready", "1 when the service is ready to serve", registry=r)

    # BatchObserver
    def on_queue_length(self, length: int) -> None:
        self.queue_length.set(length)

    def on_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)

    def on_rejected(self, items: int) -> None:
        self.rejected.inc(items)

    def on_dropped(self, items: int) -> None:
        self.dropped.inc(items)

    def on_crash(self) -> None:
        self.crashes.inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


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
