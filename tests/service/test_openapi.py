"""The committed OpenAPI document equals the app's, and documents what the issue asks for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI, File, UploadFile

from service.http.api_docs import finalize_openapi
from service.tools.openapi import openapi_document, render

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "openapi" / "openapi.json"

OPERATIONS = {
    ("/healthz", "get"): "healthz",
    ("/readyz", "get"): "readyz",
    ("/metrics", "get"): "metrics",
    ("/v1/models", "get"): "get_models",
    ("/v1/smpl", "post"): "estimate_smpl",
    ("/v1/sequence", "post"): "estimate_sequence",
    ("/v1/texture", "post"): "estimate_texture",
}
UPLOAD_ERRORS = {"400", "401", "413", "415", "422", "429", "503", "504"}


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi_document()


def test_committed_spec_is_up_to_date(document: dict) -> None:
    assert SPEC.is_file(), "missing openapi/openapi.json: run python -m service.tools.openapi --out openapi/openapi.json"
    assert SPEC.read_text() == render(document), (
        "openapi/openapi.json drifted: run python -m service.tools.openapi --out openapi/openapi.json"
    )


def test_operations_have_readable_ids(document: dict) -> None:
    found = {
        (path, method): op["operationId"] for path, item in document["paths"].items() for method, op in item.items()
    }
    assert found == OPERATIONS


def _has_example(content: dict) -> bool:
    return any("example" in media or "examples" in media for media in content.values())


def test_every_endpoint_has_examples_and_documents_errors(document: dict) -> None:
    for (path, method), _ in OPERATIONS.items():
        op = document["paths"][path][method]
        ok = op["responses"]["200"]
        assert ok.get("description"), path
        if path != "/v1/texture":
            assert _has_example(ok["content"]), f"{path}: no response example"
        if method == "post":
            body = op["requestBody"]["content"]
            assert set(body) == {"multipart/form-data", "application/json"}, path
            assert "example" in body["application/json"], f"{path}: no request example"
            assert set(op["responses"]) >= UPLOAD_ERRORS, (
                f"{path}: undocumented errors {UPLOAD_ERRORS - set(op['responses'])}"
            )
            for status in UPLOAD_ERRORS:
                err = op["responses"][status]["content"]["application/json"]
                assert err["schema"] == {"$ref": "#/components/schemas/ErrorResponse"} and set(err["example"]) == {
                    "error",
                    "detail",
                }
            assert "Retry-After" in op["responses"]["429"]["headers"]
            assert any(p["name"] == "X-Request-Timeout" for p in op["parameters"])


def test_binary_media_types(document: dict) -> None:
    texture = document["paths"]["/v1/texture"]["post"]["responses"]["200"]["content"]
    assert set(texture) == {"model/gltf-binary", "application/zip", "image/png"}
    assert all(m["schema"] == {"type": "string", "format": "binary"} for m in texture.values())
    multipart = document["paths"]["/v1/smpl"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert multipart["schema"]["properties"]["images"]["items"]["format"] == "binary"
    assert "image/png" in multipart["encoding"]["images"]["contentType"]
    assert "text/plain" in document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]


def test_document_does_not_depend_on_the_environment(monkeypatch: pytest.MonkeyPatch, document: dict) -> None:
    monkeypatch.setenv("RSCNET_MAX_UPLOAD_BYTES", "4096")
    monkeypatch.setenv("RSCNET_API_KEY", "x")
    assert json.loads(render(openapi_document())) == json.loads(render(document))


def test_no_content_media_type_in_file_parts(document: dict) -> None:
    """File parts stay ``format: binary`` (FastAPI's ``contentMediaType`` breaks generated clients)."""
    assert "contentMediaType" not in render(document)
    demo = FastAPI()

    @demo.post("/upload")
    async def upload(image: UploadFile = File(...), many: list[UploadFile] = File(...)) -> dict:  # noqa: B008
        return {}

    raw = demo.openapi()
    assert "contentMediaType" in render(raw)  # what FastAPI >= 0.129.1 emits for UploadFile
    fixed = render(finalize_openapi(json.loads(render(raw))))
    assert "contentMediaType" not in fixed
    body = json.loads(fixed)["components"]["schemas"]["Body_upload_upload_post"]["properties"]
    assert body["image"]["format"] == "binary" and body["many"]["items"]["format"] == "binary"


def test_api_key_is_optional_and_parameters_plain(document: dict) -> None:
    for path, method in (("/v1/models", "get"), ("/v1/smpl", "post"), ("/v1/texture", "post")):
        op = document["paths"][path][method]
        assert {"APIKeyHeader": []} in op["security"] and {} in op["security"], path
    [timeout] = document["paths"]["/v1/smpl"]["post"]["parameters"]
    assert timeout["schema"]["type"] == "number" and timeout["schema"]["minimum"] == 1.0
    assert "500" in document["paths"]["/v1/sequence"]["post"]["responses"]


def test_request_examples_are_real_images(document: dict) -> None:
    import base64
    import io

    from PIL import Image

    example = document["paths"]["/v1/smpl"]["post"]["requestBody"]["content"]["application/json"]["example"]
    for b64 in example["images"]:
        assert Image.open(io.BytesIO(base64.b64decode(b64))).size == (16, 32)
