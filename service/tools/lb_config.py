"""nginx load-balancer configuration for N service replicas, with the service's own limits.

``python -m service.tools.lb_config --upstream api:8000 --out docker/nginx/nginx.conf`` writes the file
``docker-compose.yml`` mounts (a test fails when it drifts); ``tests/service/test_load_balancer.py``
renders one for two local replicas and runs Debian's nginx with it. What the balancer does:

* **Balancing**: ``least_conn`` over the replicas (requests differ a lot in cost: one crop or 300
  video frames).
* **Health**: open-source nginx has passive checks only: a replica that refuses connections, times
  out or answers 502/503/504 ``max_fails`` times is taken out for ``fail_timeout`` seconds
  (``/readyz`` is checked by Docker's healthcheck, which restarts a dead replica; nginx waits for
  healthy replicas at start-up through ``depends_on``).
* **Retries, POSTs included**: a request that fails on one replica (connection refused or reset,
  e.g. a replica shutting down, or a 502/503 answer) goes to the next one. nginx re-sends a POST it
  has already sent only when told ``non_idempotent``, and this file says it: every POST of the
  service is pure inference (nothing is stored), so running one twice costs compute and nothing
  else. Without it a replica's graceful stop loses requests: a connection the kernel had accepted
  into the closing listener's backlog, with the POST already written to it, is reset and came back
  as a 502 (seen once in ~400 requests of ``test_failover_loses_no_request``). A retry never
  starts after ``request_timeout_s`` (``proxy_next_upstream_timeout``), so a slow request is not
  run a second time on top of an overloaded cluster.
* **The service's limits at the edge**: ``client_max_body_size`` = ``max_upload_bytes`` (413),
  ``client_header_timeout`` = ``header_timeout_s``, ``client_body_timeout`` = ``body_timeout_s``
  (nginx times the gap between two reads, the service the whole body), ``proxy_read_timeout`` =
  ``request_timeout_s`` + a margin (the service answers 504 itself first), ``keepalive_timeout`` =
  ``keep_alive_s``. Bodies are buffered by nginx before they go upstream, so slow uploads never
  occupy a replica. Errors nginx answers itself are JSON ``{"error", "detail"}`` like the service's.
* ``X-Forwarded-For`` carries the client's address (the service's per-client upload cap uses it
  when the proxy is in ``RSCNET_FORWARDED_ALLOW_IPS``), and ``X-Upstream`` says which replica answered.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from service.settings import ServiceSettings
from service.tools.generated_files import emit_generated

__all__ = ["LoadBalancerConfig", "main", "render_nginx_conf"]

_HOSTPORT = re.compile(r"^[A-Za-z0-9._-]+:\d{1,5}$")


@dataclass(frozen=True)
class LoadBalancerConfig:
    """What the nginx file needs besides the service settings.

    Attributes:
        upstreams: replicas as ``host:port`` (a Docker service name resolves to all its replicas).
        listen: nginx's ``listen`` argument (``8000`` or ``127.0.0.1:8080``).
        state_dir: absolute folder for the pid file and temporary files (must exist and be writable).
        error_log: nginx's ``error_log`` target.
        access_log: nginx's ``access_log`` target (``off`` for none).
        worker_processes: nginx worker processes (``auto`` = one per core).
        max_fails, fail_timeout_s: passive health check (see the module docstring).
        max_connections_per_client: open connections per client address at most (429 beyond).
    """

    upstreams: tuple[str, ...]
    listen: str = "8000"
    state_dir: str = "/tmp"
    error_log: str = "stderr warn"
    access_log: str = "/dev/stdout rscnet"
    worker_processes: str = "auto"
    max_fails: int = 1
    fail_timeout_s: int = 10
    max_connections_per_client: int = 256

    def __post_init__(self) -> None:
        if not self.upstreams:
            raise ValueError("at least one upstream (host:port) is needed")
        for upstream in self.upstreams:
            if not _HOSTPORT.match(upstream):
                raise ValueError(f"upstream must be host:port, got {upstream!r}")
        if not self.state_dir.startswith("/"):
            raise ValueError(f"state_dir must be an absolute path, got {self.state_dir!r}")
        if self.max_fails < 1 or self.fail_timeout_s < 1 or self.max_connections_per_client < 1:
            raise ValueError("max_fails, fail_timeout_s and max_connections_per_client must be >= 1")
        if not re.fullmatch(r"auto|\d+", self.worker_processes):
            raise ValueError(f"worker_processes must be 'auto' or a number, got {self.worker_processes!r}")


def _seconds(value: float) -> str:
    return f"{max(1, math.ceil(value))}s"


def _error_location(status: int, code: str, detail: str) -> str:
    text = json.dumps({"error": code, "detail": detail})
    return (
        f"        location @error{status} {{\n"
        f"            default_type application/json;\n"
        f"            return {status} '{text}';\n"
        f"        }}"
    )


def render_nginx_conf(settings: ServiceSettings, lb: LoadBalancerConfig) -> str:
    """The complete ``nginx.conf`` text for ``settings`` (the replicas' settings) and ``lb``."""
    body_bytes = settings.max_upload_bytes
    upstream_lines = "\n".join(
        f"        server {u} max_fails={lb.max_fails} fail_timeout={lb.fail_timeout_s}s;" for u in lb.upstreams
    )
    state = lb.state_dir.rstrip("/") or "/"
    tries = max(2, len(lb.upstreams))
    errors = {
        413: ("too_many_bytes", f"the request body exceeds the limit of {body_bytes} bytes"),
        429: ("too_many_connections", f"more than {lb.max_connections_per_client} connections from this client"),
        502: ("bad_gateway", "no replica could take the request; retry"),
        503: ("not_ready", "no replica is available; retry"),
        504: ("timeout", "the replica did not answer in time"),
    }
    error_pages = "\n".join(f"        error_page {s} @error{s};" for s in errors)
    error_locations = "\n".join(_error_location(s, code, detail) for s, (code, detail) in errors.items())
    return f"""# Generated by `python -m service.tools.lb_config` from the service settings: do not edit by hand.
# nginx in front of rscnet replicas; what it does: see service/tools/lb_config.py.
worker_processes {lb.worker_processes};
pid {state}/nginx.pid;
error_log {lb.error_log};

events {{
    worker_connections 4096;
}}

http {{
    log_format rscnet '$remote_addr "$request" $status $body_bytes_sent $request_time upstream=$upstream_addr';
    access_log {lb.access_log};
    client_body_temp_path {state}/nginx-client-body;
    proxy_temp_path {state}/nginx-proxy;
    fastcgi_temp_path {state}/nginx-fastcgi;
    uwsgi_temp_path {state}/nginx-uwsgi;
    scgi_temp_path {state}/nginx-scgi;
    server_tokens off;

    # The service's limits (RSCNET_MAX_UPLOAD_BYTES, _HEADER_TIMEOUT_S, _BODY_TIMEOUT_S, _KEEP_ALIVE_S).
    client_max_body_size {body_bytes};
    client_body_buffer_size 1m;
    client_header_timeout {_seconds(settings.header_timeout_s)};
    client_body_timeout {_seconds(settings.body_timeout_s)};
    keepalive_timeout {_seconds(settings.keep_alive_s)};
    send_timeout {_seconds(settings.request_timeout_s)};
    limit_conn_zone $binary_remote_addr zone=per_client:10m;
    limit_conn_status 429;

    upstream rscnet_api {{
        least_conn;
{upstream_lines}
    }}

    server {{
        listen {lb.listen};
        limit_conn per_client {lb.max_connections_per_client};
{error_pages}

        location / {{
            proxy_pass http://rscnet_api;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_request_buffering on;
            proxy_intercept_errors off;
            proxy_connect_timeout 2s;
            proxy_send_timeout {_seconds(settings.body_timeout_s)};
            # RSCNET_REQUEST_TIMEOUT_S + a margin: the replica answers 504 itself first.
            proxy_read_timeout {_seconds(settings.request_timeout_s + 15)};
            # Failed requests go to another replica, POSTs too (pure inference: safe to run twice).
            proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
            proxy_next_upstream_tries {tries};
            proxy_next_upstream_timeout {_seconds(settings.request_timeout_s)};
            add_header X-Upstream $upstream_addr always;
        }}

{error_locations}
    }}
}}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.tools.lb_config",
        description="Write an nginx.conf balancing rscnet replicas, with the limits of the service settings "
        "(RSCNET_* environment variables, as the replicas read them).",
    )
    parser.add_argument("--upstream", action="append", required=True, help="replica host:port (repeat)")
    parser.add_argument("--listen", default="8000", help="nginx listen argument (default 8000)")
    parser.add_argument("--state-dir", default="/tmp", help="absolute folder for the pid and temporary files")
    parser.add_argument("--error-log", default="stderr warn")
    parser.add_argument("--access-log", default="/dev/stdout rscnet")
    parser.add_argument("--worker-processes", default="auto")
    parser.add_argument("--out", type=Path, default=None, help="output file (default: standard output)")
    parser.add_argument("--check", action="store_true", help="exit 1 if --out differs from what would be written")
    args = parser.parse_args(argv)
    lb = LoadBalancerConfig(
        upstreams=tuple(args.upstream),
        listen=args.listen,
        state_dir=args.state_dir,
        error_log=args.error_log,
        access_log=args.access_log,
        worker_processes=args.worker_processes,
    )
    text = render_nginx_conf(ServiceSettings(), lb)
    return emit_generated(text, args.out, args.check, "python -m service.tools.lb_config ...")


if __name__ == "__main__":
    sys.exit(main())
