"""Slow and hostile uploaders (ASGI middleware): a body deadline and a per-client cap on uploads.

A request whose body arrives slowly (or never: a ``Content-Length`` larger than what is sent)
used to hold its slot until the client gave up. :class:`UploadGuardMiddleware` gives every
request with a body

* a **deadline for the whole body**, counted from the moment its headers arrived: past it the
  request is answered ``408 body_timeout`` (or 400, ``RSCNET_BODY_TIMEOUT_STATUS``) with
  ``Connection: close``; and
* a **per-client cap** on *slow* uploads: requests whose bodies have been arriving for more than
  :data:`SLOW_AFTER_S` (``RSCNET_MAX_UPLOADS_PER_CLIENT``), and on all uploads in progress
  (:data:`BURST_FACTOR` times that, so that a burst of small requests from one client, whose
  bodies arrive at once, is never refused). Beyond either the request is answered
  ``429 too_many_uploads`` at once, without reading its body (and the connection is closed).
  The client is the peer address, or ``X-Forwarded-For``'s when uvicorn trusts the peer as a proxy
  (``RSCNET_FORWARDED_ALLOW_IPS``).

Together with :mod:`service.http.admission` (which counts a request against the inference limit only
once its body has arrived) and the header timeout of :mod:`service.http.server_protocol`, stalled
uploads cost sockets, never the service's capacity for other clients.
"""

from __future__ import annotations

import itertools
import time

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import ApiError
from service.http.limits import send_error

__all__ = ["BURST_FACTOR", "SLOW_AFTER_S", "UploadGuardMiddleware"]

#: An upload whose body has not all arrived this many seconds after its headers counts as slow.
SLOW_AFTER_S = 1.0
#: Uploads in progress per client, slow or not, at most this many times the cap on slow ones.
BURST_FACTOR = 8

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
        max_uploads_per_client: slow uploads of one client at a time, at most (see the module docstring).
    """

    def __init__(
        self, app: ASGIApp, *, body_timeout_s: float, timeout_status: int, max_uploads_per_client: int
    ) -> None:
        if body_timeout_s <= 0 or max_uploads_per_client < 1 or timeout_status not in (400, 408):
            raise ValueError(
                "body_timeout_s > 0, max_uploads_per_client >= 1 and timeout_status 400 / 408 are required"
            )
        self.app = app
        self.body_timeout_s = float(body_timeout_s)
        self.timeout_status = int(timeout_status)
        self.max_uploads_per_client = int(max_uploads_per_client)
        #: Requests whose bodies are still arriving: client address -> {request number: start time}.
        self.uploading: dict[str, dict[int, float]] = {}
        self._numbers = itertools.count()

    def _refusal(self, client: str, now: float) -> ApiError | None:
        """The 429 for a new upload of ``client``, or ``None`` when it may go on."""
        started = self.uploading.get(client, {})
        slow = sum(1 for t0 in started.values() if now - t0 > SLOW_AFTER_S)
        if slow < self.max_uploads_per_client and len(started) < BURST_FACTOR * self.max_uploads_per_client:
            return None
        return ApiError(
            429,
            "too_many_uploads",
            f"{len(started)} uploads from {client} are still arriving ({slow} for more than {SLOW_AFTER_S:g} s); "
            f"at most {self.max_uploads_per_client} slow ones (and {BURST_FACTOR * self.max_uploads_per_client} in all) "
            "per client are accepted at a time: finish or close one",
            headers={"Retry-After": "1"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        now = time.monotonic()
        error = self._refusal(client, now)
        if error is not None:
            await send_error(send, error)
            return
        number = next(self._numbers)
        self.uploading.setdefault(client, {})[number] = now
        counted = True
        deadline = now + self.body_timeout_s

        def body_done() -> None:
            nonlocal counted
            if counted:
                counted = False
                started = self.uploading.get(client, {})
                started.pop(number, None)
                if not started:
                    self.uploading.pop(client, None)

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
