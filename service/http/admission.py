"""Early refusal under overload (ASGI middleware): 429 before the request body is even read.

The batcher's queue bound is enforced per request by :func:`service.http.pipeline.check_capacity`
once the body is parsed (it knows how many crops the request brings). This middleware refuses
earlier, without parsing the body, when

* the queue is already full (the request would be refused there anyway), or
* as many inference requests as the queue holds crops are already inside the app with their
  bodies received (decoding, waiting, encoding): on a CPU-bound host the event loop, not the
  worker, can be the bottleneck, and without this bound requests would pile up in front of the
  queue check with ever longer latencies instead of being refused.

A request counts against that second bound only **once its whole body has arrived** (checked
again at that moment: 429 then if the bound was reached meanwhile). Uploads still arriving cost
nothing here, so stalled or slow uploads cannot lock other clients out; they are bounded per
client and in time by :mod:`service.http.slow_clients`.

So an overloaded server answers 200 or a fast 429, and the accepted requests keep a bounded
latency.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import ApiError
from service.http.limits import send_error

__all__ = ["EarlyAdmissionMiddleware"]


class EarlyAdmissionMiddleware:
    """429 ``queue_full`` (with ``Retry-After``) for inference POSTs while the queue has no room.

    Args:
        app: the wrapped ASGI app.
        state: the :class:`service.runtime.state.ServiceState` (its batcher may not exist yet).
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
            counted = False

            async def admitting_receive() -> Message:
                nonlocal counted
                message = await receive()
                body_complete = message["type"] == "http.request" and not message.get("more_body", False)
                if body_complete and not counted:
                    if batcher is not None and batcher.running and self.in_flight >= batcher.max_queue:
                        batcher.count_rejected(1)
                        raise self._queue_full(batcher, batcher.queue_length + batcher.reserved)
                    counted = True
                    self.in_flight += 1
                    self._count(+1)
                return message

            try:
                await self.app(scope, admitting_receive, send)
            finally:
                if counted:
                    self.in_flight -= 1
                    self._count(-1)
            return
        await self.app(scope, receive, send)

    def _count(self, delta: int) -> None:
        if hasattr(self.state, "requests_in_app"):
            self.state.requests_in_app += delta  # type: ignore[attr-defined]

    def _queue_full(self, batcher: Any, admitted: int) -> ApiError:
        retry = batcher.retry_after_s()
        return ApiError(
            429,
            "queue_full",
            f"the service is at capacity ({admitted} of {batcher.max_queue} crops admitted, "
            f"{self.in_flight} inference requests in progress); retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )

    async def _refuse(self, batcher: Any, admitted: int, receive: Receive, send: Send) -> None:
        error = self._queue_full(batcher, admitted)
        try:  # read (not parse) the body, so the client gets the answer and keeps its connection
            while True:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        except ApiError as exc:  # e.g. the body-size limit
            error = exc
        batcher.count_rejected(1)  # its crops are unknown: counted as one
        await send_error(send, error, close=False)
