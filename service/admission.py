"""Early refusal under overload (ASGI middleware): 429 before the request body is even read.

The batcher's queue bound is enforced per request by :func:`service.pipeline.check_capacity`
once the body is parsed (it knows how many crops the request brings). When the queue is already
full, every inference request would be refused there anyway; this middleware refuses it first,
so that an overloaded server spends no time parsing multipart bodies it cannot serve and its
answers (200 or 429) stay fast.
"""

from __future__ import annotations

from collections.abc import Collection

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path") in self.paths:
            batcher = getattr(self.state, "batcher", None)
            if batcher is not None and batcher.running and batcher.queue_length + batcher.reserved >= batcher.max_queue:
                retry = batcher.retry_after_s()
                error = ApiError(
                    429,
                    "queue_full",
                    f"the inference queue is full ({batcher.queue_length + batcher.reserved} of "
                    f"{batcher.max_queue} crops admitted); retry in {retry} s",
                    headers={"Retry-After": str(retry)},
                )
                try:  # read (not parse) the body, so the client gets the answer and keeps its connection
                    while True:
                        message = await receive()
                        if message["type"] != "http.request" or not message.get("more_body", False):
                            break
                except ApiError as exc:  # e.g. the body-size limit
                    error = exc
                await send_error(send, error, close=False)
                return
        await self.app(scope, receive, send)
