"""Command-line tools around the service, not part of the running server.

* ``python -m service.tools.openapi``: write or check the committed ``openapi/openapi.json``.
* ``python -m service.tools.client_codegen``: generate the Python client from that document.
* ``python -m service.tools.lb_config``: write or check the nginx config with the service's limits.
* ``python -m service.tools.healthcheck``: the Docker healthcheck (``/readyz`` answers 200).

Tools may import :mod:`service.http` and :mod:`service.runtime`; nothing in the service imports them.
"""
