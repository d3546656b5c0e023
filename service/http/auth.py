"""Optional API-key check for ``/v1/*``: header ``X-API-Key`` (off unless ``RSCNET_API_KEY`` is set)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from service.http.errors import ApiError

__all__ = ["API_KEY_HEADER", "require_api_key"]

#: Name of the header carrying the key.
API_KEY_HEADER = "X-API-Key"

_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Required only when the server is configured with RSCNET_API_KEY.",
)


async def require_api_key(request: Request, key: Annotated[str | None, Security(_scheme)] = None) -> None:
    """401 ``unauthorized`` unless the configured key (if any) is given in ``X-API-Key``."""
    expected = request.app.state.service.settings.api_key
    if expected is None:
        return
    if key is None:
        raise ApiError(401, "unauthorized", f"missing {API_KEY_HEADER} header", headers={"WWW-Authenticate": "ApiKey"})
    if not hmac.compare_digest(key.encode(), expected.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", f"invalid {API_KEY_HEADER}", headers={"WWW-Authenticate": "ApiKey"})
