"""rscnet HTTP service: FastAPI app with a dynamic-batching inference worker.

Start it with ``python -m service`` (see ``--help``); build the app with
:func:`service.http.app.create_app`. Configuration: :class:`service.settings.ServiceSettings`.
"""

__version__ = "0.1.0"
