"""Per-request context: clients that hang up while their request waits, and reserved queue room.

:class:`DisconnectWatchMiddleware` (ASGI) records, per HTTP request, when the app has received the
whole request body. From then on nothing else is expected from the client but a disconnect, so
:func:`wait_for_disconnect` may listen on the connection: :func:`service.http.pipeline.predict_crops`
races it against the batcher, and when the client is gone first the request's queued crops are
cancelled (the batcher drops them without computing them) and the request ends with 499
``client_closed_request`` (written only to the logs and metrics: nobody is left to read it).

The channel also carries the queue room the request reserved when it was admitted
(:func:`service.http.pipeline.check_capacity`), so that the middleware gives it back when the request
ends without submitting its crops (a decoding error, a 4xx, a disconnect).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DisconnectWatchMiddleware", "RequestChannel", "current_channel", "wait_for_disconnect"]


@dataclass
class RequestChannel:
    """The ``receive`` of one HTTP request and whether its body has been read to the end."""

    receive: Receive
    body_complete: bool = False
    disconnected: bool = False
    #: Queue room this request reserved (:meth:`service.runtime.batcher.DynamicBatcher.reserve`) and has
    #: not submitted yet: given back when the request ends, whatever happened to it.
    reserved: int = 0
    reserved_in: Any = None


_CHANNEL: contextvars.ContextVar[RequestChannel | None] = contextvars.ContextVar("rscnet_request_channel", default=None)


def current_channel() -> RequestChannel | None:
    """The channel of the request being handled (``None`` outside the middleware)."""
    return _CHANNEL.get()


async def wait_for_disconnect(channel: RequestChannel) -> None:
    """Return once the client has disconnected (call only after the body was read completely)."""
    while not channel.disconnected:
        message = await channel.receive()
        if message["type"] == "http.disconnect":
            channel.disconnected = True


class DisconnectWatchMiddleware:
    """Give each HTTP request a :class:`RequestChannel` (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tracked_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                channel.body_complete = True
            elif message["type"] == "http.disconnect":
                channel.disconnected = True
            return message

        channel = RequestChannel(receive=receive)
        token = _CHANNEL.set(channel)
        try:
            await self.app(scope, tracked_receive, send)
        finally:
            _CHANNEL.reset(token)
            if channel.reserved and channel.reserved_in is not None:
                channel.reserved_in.release(channel.reserved)
                channel.reserved = 0
