"""The demo page: ``GET /`` and ``GET /demo`` (a browser front end to ``/v1/smpl``, ``/v1/sequence`` and ``/v1/texture``).

Everything the page loads comes from the service itself: its own HTML, script and style in
``service/static/demo`` and three.js (pinned npm package, MIT, see ``service/static/README.md``)
in ``service/static/three``, served under :data:`DEMO_PREFIX` and :data:`THREE_PREFIX`. Neither
route is part of the OpenAPI document.
"""

from __future__ import annotations

import html

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from service.http.offline_docs import STATIC_DIR

__all__ = ["DEMO_PREFIX", "THREE_PREFIX", "THREE_VERSION", "install_demo_page"]

#: URL prefix of the page's own script and style.
DEMO_PREFIX = "/static/demo"
#: URL prefix of the vendored three.js modules.
THREE_PREFIX = "/static/three"
#: The npm package they come from.
THREE_VERSION = "three@0.187.0"

_REQUIRED = (
    "demo/index.html",
    "demo/demo.js",
    "demo/demo.css",
    "three/three.module.js",
    "three/GLTFLoader.js",
)


def install_demo_page(app: FastAPI) -> None:
    """Add ``/``, ``/demo`` and the page's static files to ``app``.

    Raises:
        FileNotFoundError: a page asset is missing (a broken install).
    """
    for name in _REQUIRED:
        if not (STATIC_DIR / name).is_file():
            raise FileNotFoundError(f"demo page asset {STATIC_DIR / name} is missing: reinstall the rscnet package")
    template = (STATIC_DIR / "demo" / "index.html").read_text(encoding="utf-8")
    app.mount(DEMO_PREFIX, StaticFiles(directory=STATIC_DIR / "demo"), name="demo-static")
    app.mount(THREE_PREFIX, StaticFiles(directory=STATIC_DIR / "three"), name="three-static")

    async def page(request: Request) -> HTMLResponse:
        # Same-origin paths only; the root path keeps them right behind a path-prefixing proxy.
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(template.replace("{{ROOT}}", html.escape(root, quote=True)))

    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/demo", page, methods=["GET"], include_in_schema=False)
