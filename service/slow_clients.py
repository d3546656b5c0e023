"""Slow and hostile uploaders (ASGI middleware): a body deadline and a per-client cap on uploads.

A request whose body arrives slowly (or never: a ``Content-Length`` larger than what is sent)
used to hold its slot until the client gave up. :class:`UploadGuardMiddleware` gives every
request with a body

* a **deadline for the whole body**, counted from the moment its headers arrived: past it the
  request is answered ``408 body_timeout`` (or 400, ``RSCNET_BODY_TIMEOUT_STATUS``) with
  ``Connection: close``; and
* a **per-client cap** on requests whose bodies are still arriving (``RSCNET_MAX_UPLOADS_PER_CLIENT``):
  beyond it the request is answered ``429 too_many_uploads`` at once, without reading its body.
  The client is the peer address, or ``X-Forwarded-For``'s when uvicorn trusts the peer as a proxy
  (``RSCNET_FORWARDED_ALLOW_IPS``).

Together with :mod:`service.admission` (which counts a request against the inference limit only
once its body has arrived) and the header timeout of :mod:`service.server_protocol`, stalled
uploads cost sockets, never the service's capacity for other clients.
"""

from __future__ import annotations

import time
from collections import Counter

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import ApiError
from service.limits import send_error

__all__ = ["UploadGuardMiddleware"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


class UploadGuardMiddleware:
    """See the module docstring.

    Args:
        app: the wrapped ASGI app.
        body_timeout_s: seconds to receive a whole body after the headers.
        timeout_status: status of the answer past it (408 or 400).
        max_uploads_per_client: requests of one client whose bodies are still arriving, at most.
    """

    def __init__(self, app: ASGIApp, *, body_timeout_s: float, timeout_status: int, max_uploads_per_client: int) -> None:
        if body_timeout_s <= 0 or max_uploads_per_client < 1 or timeout_status not in (400, 408):
            raise ValueError("body_timeout_s > 0, max_uploads_per_client >= 1 and timeout_status 400 / 408 are required")
        self.app = app
        self.body_timeout_s = float(body_timeout_s)
        self.timeout_status = int(timeout_status)
        self.max_uploads_per_client = int(max_uploads_per_client)
        #: Requests whose bodies are still arriving, by client address.
        self.uploading: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        if self.uploading[client] >= self.max_uploads_per_client:
            error = ApiError(
                429,
                "too_many_uploads",
                f"{self.uploading[client]} uploads from {client} are still arriving; at most "
                f"{self.max_uploads_per_client} at a time per client are accepted (finish or close one)",
                headers={"Retry-After": "1"},
            )
            await send_error(send, error)
            return
        self.uploading[client] += 1
        counted = True
        deadline = time.monotonic() + self.body_timeout_s

        def body_done() -> None:
            nonlocal counted
            if counted:
                counted = False
                self.uploading[client] -= 1
                if self.uploading[client] <= 0:
                    del self.uploading[client]

        async def guarded_receive() -> Message:
            if not counted:  # the body is complete: only a disconnect can come
                return await receive()
            remaining = deadline - time.monotonic()
            try:
                with anyio.fail_after(max(remaining, 0.0)):
                    message = await receive()
            except TimeoutError:
                body_done()
                raise ApiError(
                    self.timeout_status,
                    "body_timeout",
                    f"the request body did not arrive within {self.body_timeout_s:g} s",
                    headers={"Connection": "close"},
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done()
            return message

        try:
            await self.app(scope, guarded_receive, send)
        finally:
            body_done()
