"""Offline API documentation: ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from vendored assets.

FastAPI's default pages load their JavaScript, CSS, fonts and favicon from CDNs, so they are blank
on the isolated networks this service is deployed on. :func:`install_offline_docs` serves the
pinned npm assets in ``service/static`` (see its README: versions, licences, sha256) under
:data:`STATIC_PREFIX` and builds both pages on them; neither page references another host.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSET_VERSIONS", "STATIC_DIR", "STATIC_PREFIX", "install_offline_docs"]

#: Folder of the vendored assets (package data of ``service``, beside this package).
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
#: URL prefix they are served under.
STATIC_PREFIX = "/static/docs"
#: The npm packages the assets come from.
ASSET_VERSIONS = {"swagger-ui-dist": "5.35.0", "redoc": "2.5.2"}


def install_offline_docs(app: FastAPI, *, title: str) -> None:
    """Add ``/docs``, ``/redoc`` and the static assets to ``app`` (create it with ``docs_url=None, redoc_url=None``).

    Raises:
        FileNotFoundError: the vendored assets are missing (a broken install).
    """
    for name in ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css", "redoc/redoc.standalone.js"):
        if not (STATIC_DIR / name).is_file():
            raise FileNotFoundError(f"API docs asset {STATIC_DIR / name} is missing: reinstall the rscnet package")
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="docs-static")

    def prefixed(request: Request, path: str) -> str:
        return request.scope.get("root_path", "").rstrip("/") + path

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=prefixed(request, app.openapi_url or "/openapi.json"),
            title=f"{title} - Swagger UI",
            swagger_js_url=prefixed(request, f"{STATIC_PREFIX}/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=prefixed(request, f"{STATIC_PREFIX}/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=prefixed(request, f"{STATIC_PREFIX}/swagger-ui/favicon-32x32.png"),
            # validatorUrl None: Swagger UI would otherwise send the document to validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=prefixed(request, app.openapi_url or "/openapi.json"),
            title=f"{title} - ReDoc",
            redoc_js_url=prefixed(request, f"{STATIC_PREFIX}/redoc/redoc.standalone.js"),
            redoc_favicon_url=prefixed(request, f"{STATIC_PREFIX}/swagger-ui/favicon-32x32.png"),
            with_google_fonts=False,
        )
