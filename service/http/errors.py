"""Client-facing errors: one exception type, one JSON shape, one set of handlers.

Every error answer of the service is JSON ``{"error": code, "detail": text}`` (plus optional
extra keys, e.g. ``items`` with per-item errors), with these codes:

======  ==========================================================================================
status  codes
======  ==========================================================================================
400     ``bad_request`` (malformed multipart / JSON, JSON nested too deeply, missing field)
401     ``unauthorized`` (missing or wrong ``X-API-Key`` when a key is configured)
404     ``not_found``; 405 ``method_not_allowed``
413     ``too_many_bytes``, ``too_many_pixels``, ``too_many_images``, ``too_many_frames``
415     ``unsupported_media_type`` (request content type), ``undecodable_image``, ``undecodable_video``
408     ``header_timeout``, ``body_timeout`` (the request did not arrive in time; ``body_timeout`` may be a 400)
422     ``invalid_field``, ``image_too_small``, ``invalid_box``, ``not_enough_frames``, ``no_person``,
        ``track_length_mismatch``, ``frame_missing``
429     ``queue_full``, ``too_many_uploads`` (with ``Retry-After``)
499     ``client_closed_request`` (the client hung up while sending or waiting; logs / metrics only)
500     ``internal_error`` (a bug, or the worker crashed on this item; never for bad input)
501     ``not_supported`` (e.g. texture output with a body model that has no UV map)
503     ``not_ready``, ``shutting_down``, ``out_of_memory``
504     ``timeout``
======  ==========================================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.runtime.state import NotReadyError

__all__ = ["ApiError", "error_body", "install_error_handlers"]

log = logging.getLogger("service.http.errors")

_CODE_FOR_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_many_bytes",
    415: "unsupported_media_type",
    422: "invalid_field",
    429: "queue_full",
    503: "not_ready",
    504: "timeout",
}


class ApiError(Exception):
    """An error answered to the client as ``{"error": code, "detail": detail, **extra}``.

    Args:
        status: HTTP status (4xx/5xx).
        code: short machine-readable code (see the module docstring).
        detail: human-readable explanation saying what was wrong and what is accepted.
        headers: extra response headers (e.g. ``Retry-After``).
        extra: extra JSON keys merged into the body.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = int(status)
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by fields (errors of the worker process travel back to the server process)."""
        return (_rebuild_api_error, (self.status, self.code, self.detail, self.headers, self.extra))

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return {"error": self.code, "detail": self.detail, **self.extra}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def _rebuild_api_error(
    status: int, code: str, detail: str, headers: Mapping[str, str], extra: Mapping[str, Any]
) -> ApiError:
    return ApiError(status, code, detail, headers=headers, extra=extra)


def error_body(code: str, detail: str) -> dict[str, str]:
    """``{"error": code, "detail": detail}``."""
    return {"error": code, "detail": detail}


def _format_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Answer :class:`ApiError`, the runtime's :class:`NotReadyError` (503), HTTP exceptions,
    validation errors and bugs with the JSON shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(NotReadyError)
    async def _not_ready(_: Request, exc: NotReadyError) -> JSONResponse:
        if exc.shutting_down:
            return ApiError(503, "shutting_down", exc.detail).response()
        return ApiError(503, "not_ready", exc.detail, headers={"Retry-After": "1"}).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODE_FOR_STATUS.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return JSONResponse(error_body(code, detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid_field", _format_validation(exc)), status_code=422)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal_error", f"internal error ({type(exc).__name__}); the request was not processed"),
            status_code=500,
        )
