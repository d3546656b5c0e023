"""rscnet HTTP service: FastAPI app with a dynamic-batching inference worker.

Start it with ``python -m service`` (see ``--help``); build the app with
:func:`service.http.app.create_app`. Configuration: :class:`service.settings.ServiceSettings`.

Layers, each importing only those before it: :mod:`model` (the network and its inference API)
<- :mod:`service.runtime` (what runs the network: loading, engine, batcher, worker process,
lifecycle) <- :mod:`service.http` (the app, routes and everything about requests) <-
:mod:`service.tools` (command-line tools: OpenAPI document, client, nginx config, healthcheck).
:mod:`service.settings` is read by all of them.
"""

__version__ = "0.1.0"
