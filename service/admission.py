"""Early refusal under overload (ASGI middleware): 429 before the request body is even read.

The batcher's queue bound is enforced per request by :func:`service.pipeline.check_capacity`
once the body is parsed (it knows how many crops the request brings). This middleware refuses
earlier, without parsing the body, when

* the queue is already full (the request would be refused there anyway), or
* as many inference requests as the queue holds crops are already inside the app (reading,
  decoding, waiting, encoding): on a CPU-bound host the event loop, not the worker, can be the
  bottleneck, and without this bound requests would pile up in front of the queue check with
  ever longer latencies instead of being refused.

So an overloaded server answers 200 or a fast 429, and the accepted requests keep a bounded
latency.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import ApiError
from service.limits import send_error

__all__ = ["EarlyAdmissionMiddleware"]


class EarlyAdmissionMiddleware:
    """429 ``queue_full`` (with ``Retry-After``) for inference POSTs while the queue has no room.

    Args:
        app: the wrapped ASGI app.
        state: the :class:`service.state.ServiceState` (its batcher may not exist yet).
        paths: the inference endpoints.
    """

    def __init__(self, app: ASGIApp, state: object, paths: Collection[str]) -> None:
        self.app = app
        self.state = state
        self.paths = frozenset(paths)
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") in self.paths:
            batcher = getattr(self.state, "batcher", None)
            if batcher is not None and batcher.running:
                admitted = batcher.queue_length + batcher.reserved
                if admitted >= batcher.max_queue or self.in_flight >= batcher.max_queue:
                    await self._refuse(batcher, admitted, receive, send)
                    return
            self.in_flight += 1
            self._count(+1)
            try:
                await self.app(scope, receive, send)
            finally:
                self.in_flight -= 1
                self._count(-1)
            return
        await self.app(scope, receive, send)

    def _count(self, delta: int) -> None:
        if hasattr(self.state, "requests_in_app"):
            self.state.requests_in_app += delta  # type: ignore[attr-defined]

    async def _refuse(self, batcher: Any, admitted: int, receive: Receive, send: Send) -> None:
        retry = batcher.retry_after_s()
        error = ApiError(
            429,
            "queue_full",
            f"the service is at capacity ({admitted} of {batcher.max_queue} crops admitted, "
            f"{self.in_flight} inference requests in progress); retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )
        try:  # read (not parse) the body, so the client gets the answer and keeps its connection
            while True:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        except ApiError as exc:  # e.g. the body-size limit
            error = exc
        batcher.count_rejected(1)  # its crops are unknown: counted as one
        await send_error(send, error, close=False)
