"""ASGI middleware naming the body model and checkpoint on every response (once loaded).

Headers ``X-Body-Model`` (e.g. ``free-smpl-layout``) and ``X-Checkpoint-Id``, so even error
answers and binary files say which model produced (or refused) them.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.runtime.state import ServiceState

__all__ = ["IdentityHeadersMiddleware"]


class IdentityHeadersMiddleware:
    """Add ``X-Body-Model`` and ``X-Checkpoint-Id`` to HTTP responses when a model is loaded."""

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            predictor = self.state.predictor
            if message["type"] == "http.response.start" and predictor is not None:
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Body-Model", predictor.name)
                headers.setdefault("X-Checkpoint-Id", predictor.checkpoint_id)
            await send(message)

        await self.app(scope, receive, send_wrapper)
