"""The FastAPI application: :func:`create_app` wires settings, lifecycle, middleware and routes.

>>> from service.http.app import create_app
>>> from service.settings import ServiceSettings
>>> app = create_app(ServiceSettings(device="cpu"))   # serve with uvicorn.run(app)

Middleware, outermost first: metrics (every request counted, also refused ones), identity
headers, request-body size limit, upload guard (body deadline, per-client cap on uploads in
progress), early 429 while the queue is full (a request counts once its body has arrived),
client-disconnect watch; then FastAPI's error handlers (JSON errors) and the routes. The OpenAPI
document is post-processed by :func:`service.http.api_docs.finalize_openapi` (optional API key, binary
file parts, the limits of these settings). ``/docs`` and ``/redoc`` work offline
(:mod:`service.http.offline_docs`). ``/`` and ``/demo`` serve the demo page (:mod:`service.http.demo_page`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import service
from service.http.admission import EarlyAdmissionMiddleware
from service.http.api_docs import finalize_openapi
from service.http.demo_page import install_demo_page
from service.http.disconnect import DisconnectWatchMiddleware
from service.http.errors import install_error_handlers
from service.http.identity import IdentityHeadersMiddleware
from service.http.limits import BodySizeLimitMiddleware
from service.http.metrics import MetricsMiddleware
from service.http.offline_docs import install_offline_docs
from service.http.routes import sequence, smpl, system, texture
from service.http.slow_clients import UploadGuardMiddleware
from service.runtime.metrics import ServiceMetrics
from service.runtime.state import ServiceState
from service.settings import ServiceSettings

__all__ = ["API_DESCRIPTION", "create_app"]

API_DESCRIPTION = """\
3D human pose, shape and texture from low-resolution person crops (RSC-Net).

* Uploads: `multipart/form-data` (file parts) or `application/json` (the same fields, files as base64).
* Every JSON answer names the body model (`body_model`, e.g. `free-smpl-layout`) and the checkpoint;
  every response carries the headers `X-Body-Model` and `X-Checkpoint-Id` once a model is loaded.
* Errors are always JSON `{"error": code, "detail": text}`; one bad item of a multi-item request
  fails only its own entry.
* Overload: 429 with `Retry-After`. Not ready / shutting down: 503. Timeout: 504.
* The free `free-smpl-layout` body model has SMPL's layout but is not SMPL-compatible.
"""

_TAGS = [
    {"name": "inference", "description": "Body estimates from images and videos (batched on one worker per device)."},
    {"name": "models", "description": "What is loaded."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def create_app(settings: ServiceSettings | None = None, *, state: ServiceState | None = None) -> FastAPI:
    """Build the app (nothing is loaded until the server starts it: loading runs in its lifespan).

    Args:
        settings: defaults to :class:`ServiceSettings` read from the environment.
        state: a ready-made :class:`ServiceState` (tests); default one for ``settings``.
    """
    settings = settings or ServiceSettings()
    state = state or ServiceState(settings, ServiceMetrics())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="rscnet",
        version=service.__version__,
        description=API_DESCRIPTION,
        openapi_tags=_TAGS,
        lifespan=lifespan,
        license_info={"name": "Apache-2.0", "identifier": "Apache-2.0"},
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = state
    install_error_handlers(app)
    install_offline_docs(app, title="rscnet")
    install_demo_page(app)
    for module in (system, smpl, sequence, texture):
        app.include_router(module.router)
    known = {getattr(r, "path", "") for r in app.routes}
    build_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = finalize_openapi(build_openapi(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(DisconnectWatchMiddleware)
    app.add_middleware(EarlyAdmissionMiddleware, state=state, paths=("/v1/smpl", "/v1/sequence", "/v1/texture"))
    app.add_middleware(
        UploadGuardMiddleware,
        body_timeout_s=settings.body_timeout_s,
        timeout_status=settings.body_timeout_status,
        max_uploads_per_client=settings.max_uploads_per_client,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(IdentityHeadersMiddleware, state=state)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, known_paths=known)
    return app
