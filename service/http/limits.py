"""Request-body size limit (ASGI middleware): 413 ``too_many_bytes`` before the body is stored.

A declared ``Content-Length`` above the limit is answered at once without reading the body;
bodies without one (chunked) are counted while they stream in and the request fails with the
same 413 as soon as the count passes the limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import ApiError

__all__ = ["BodySizeLimitMiddleware", "send_error"]


class BodySizeLimitMiddleware:
    """Refuse HTTP request bodies larger than ``max_bytes`` with 413 JSON.

    Args:
        app: the wrapped ASGI app.
        max_bytes: largest accepted body in bytes.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = int(max_bytes)

    def _error(self, declared: int | None) -> ApiError:
        size = f" ({declared} bytes)" if declared is not None else ""
        return ApiError(413, "too_many_bytes", f"the request body{size} exceeds the limit of {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > self.max_bytes:
            await send_error(send, self._error(declared))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._error(None)  # answered by the app's ApiError handler
            return message

        await self.app(scope, limited_receive, send)


async def send_error(send: Send, error: ApiError, close: bool = True) -> None:
    """Answer ``error`` as JSON straight from ASGI middleware (``Connection: close`` by default)."""
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
