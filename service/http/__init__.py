"""The HTTP side of the service: the FastAPI app, its routes and everything about requests.

* :mod:`service.http.app`: :func:`~service.http.app.create_app` wires settings, lifecycle, middleware
  and routes; :mod:`service.http.routes` holds one module per endpoint family.
* Requests: :mod:`~service.http.uploads` (multipart / JSON bodies), :mod:`~service.http.json_limits`,
  :mod:`~service.http.images` and :mod:`~service.http.video` (decoding uploads),
  :mod:`~service.http.schemas` (fields and answers), :mod:`~service.http.pipeline` (uploads to
  predictions through the runtime's batcher), :mod:`~service.http.meshes` (texture outputs).
* Errors and protection: :mod:`~service.http.errors` (the one JSON error shape, and the mapping of
  the runtime's failures), :mod:`~service.http.auth`, :mod:`~service.http.limits` (body size),
  :mod:`~service.http.admission` (early 429), :mod:`~service.http.slow_clients`,
  :mod:`~service.http.disconnect`, :mod:`~service.http.server_protocol` (header timeout),
  :mod:`~service.http.identity` and :mod:`~service.http.metrics` (response headers, request metrics).
* Pages: :mod:`~service.http.api_docs` (OpenAPI pieces), :mod:`~service.http.offline_docs`
  (``/docs``, ``/redoc``) and :mod:`~service.http.demo_page`, from the assets in ``service/static/``.

This package may import :mod:`service.runtime`; the runtime never imports it.
"""
