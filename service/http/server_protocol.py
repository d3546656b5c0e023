"""uvicorn's HTTP/1.1 protocol with a header timeout: slow-header clients cannot hold connections.

uvicorn has a keep-alive timeout (between requests) but none for a request's head: a client that
connects and sends nothing, or dribbles its request line and headers a byte at a time, keeps its
connection (and a file descriptor, and a slot of any connection limit) for as long as it likes.
:func:`header_timeout_protocol` returns a subclass of uvicorn's httptools protocol that arms a
timer when a connection opens and when a new request begins, disarms it once the headers are
complete, and when it fires answers ``408`` (JSON, ``Connection: close``) and closes the
connection. The body has its own deadline (:mod:`service.http.slow_clients`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.http.errors import error_body

__all__ = ["header_timeout_protocol"]


def _timeout_response(timeout_s: float) -> bytes:
    body = json.dumps(
        error_body("header_timeout", f"the request line and headers did not arrive within {timeout_s:g} s")
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode()
    return head + body


class _HeaderTimeoutProtocol(HttpToolsProtocol):
    """See the module docstring; ``header_timeout_s`` is set by :func:`header_timeout_protocol`."""

    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timed_out)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_header_timer()  # a pipelined request began during a response: never cut that response
            return
        self.transport.write(_timeout_response(self.header_timeout_s))
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def timeout_keep_alive_handler(self) -> None:
        self._disarm_header_timer()
        super().timeout_keep_alive_handler()


def header_timeout_protocol(header_timeout_s: float) -> type[HttpToolsProtocol]:
    """The protocol class to pass to ``uvicorn.run(http=...)`` for this header timeout in seconds."""
    if not header_timeout_s > 0:
        raise ValueError(f"header_timeout_s must be positive, got {header_timeout_s}")
    return type("HeaderTimeoutProtocol", (_HeaderTimeoutProtocol,), {"header_timeout_s": float(header_timeout_s)})
