"""Generate the Python client of the API: ``python -m service.tools.client_codegen --out build/client``.

Runs `openapi-python-client <https://pypi.org/project/openapi-python-client/>`_ (a ``dev``
dependency) on the committed ``openapi/openapi.json`` with ``openapi/client-config.yaml``, and
fails on any generator warning (e.g. an endpoint or response it could not type). The package is
written to ``OUT/rscnet_client`` (``--meta none``: import it with ``OUT`` on ``sys.path``) or, with
``--meta setup``, as an installable project in ``OUT/rscnet-client``. Example::

    from rscnet_client import Client
    from rscnet_client.api.inference import estimate_smpl
    from rscnet_client.models import EstimateSmplFilesBody
    from rscnet_client.types import File

    client = Client(base_url="http://127.0.0.1:8000")   # AuthenticatedClient(..., token=KEY,
                                                        # prefix="", auth_header_name="X-API-Key")
    body = EstimateSmplFilesBody(images=[File(payload=open("person.png", "rb"), file_name="person.png",
                                              mime_type="image/png")])
    result = estimate_smpl.sync(client=client, body=body)   # SmplResponse | ErrorResponse

Two pitfalls are handled in the export and the config, never by editing the generated code:
file parts are ``format: binary`` (:func:`service.http.api_docs.finalize_openapi`; FastAPI's
``contentMediaType`` would make the generator type files as ``str``), and the binary answers of
``/v1/texture`` are mapped to octet-stream (``content_type_overrides`` in the config).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["CONFIG", "SPEC", "generate", "main"]

REPO = Path(__file__).resolve().parents[2]
#: The committed OpenAPI document (``python -m service.tools.openapi --out openapi/openapi.json``).
SPEC = REPO / "openapi" / "openapi.json"
#: The generator's configuration.
CONFIG = REPO / "openapi" / "client-config.yaml"
#: Import name of the generated package.
PACKAGE = "rscnet_client"


def generate(out: Path, *, meta: str = "none", spec: Path = SPEC, config: Path = CONFIG) -> Path:
    """Generate the client under ``out`` (replacing an earlier one); returns the package or project dir.

    Raises:
        RuntimeError: the generator failed or warned (its output is in the message).
    """
    out.mkdir(parents=True, exist_ok=True)
    target = out / (PACKAGE if meta == "none" else "rscnet-client")
    if target.exists():
        shutil.rmtree(target)
    cmd = [
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        str(spec),
        "--config",
        str(config),
        "--meta",
        meta,
        "--output-path",
        str(target),
        "--fail-on-warning",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    package = target if meta == "none" else target / PACKAGE
    if proc.returncode != 0 or not (package / "__init__.py").is_file():
        raise RuntimeError(f"openapi-python-client failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.tools.client_codegen", description="Generate the Python client of the rscnet API."
    )
    parser.add_argument("--out", type=Path, default=Path("build/client"), help="output folder (default build/client)")
    parser.add_argument(
        "--meta",
        choices=["none", "setup", "pdm", "poetry", "uv"],
        default="none",
        help="none: a bare package OUT/rscnet_client; otherwise an installable project OUT/rscnet-client",
    )
    parser.add_argument("--spec", type=Path, default=SPEC, help="OpenAPI document (default openapi/openapi.json)")
    args = parser.parse_args(argv)
    try:
        path = generate(args.out, meta=args.meta, spec=args.spec)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"generated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
