"""Prometheus metrics of the service: one registry per app, fed by the batcher and the HTTP layer.

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

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ServiceMetrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServiceMetrics:
    """The service's metrics in their own :class:`CollectorRegistry` (several apps may coexist).

    Also a :class:`service.runtime.batcher.BatchObserver`; the request metrics are recorded by the
    HTTP layer (its ``MetricsMiddleware``).
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
