"""OpenAPI pieces the routes share: documented error answers and upload request bodies.

The upload endpoints parse their bodies themselves (:mod:`service.http.uploads`, to accept both
multipart and base64 JSON and to enforce limits before decoding), so their request bodies are
described here from the same pydantic models that validate the fields.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import BaseModel

from service.http.errors import error_body
from service.http.images import IMAGE_FORMATS
from service.http.schemas import ErrorResponse
from service.http.uploads import MAX_FIELD_BYTES
from service.settings import ServiceSettings

__all__ = [
    "BASE64_PATTERN",
    "EXAMPLE_PNG_BASE64",
    "IMAGE_MEDIA_TYPES",
    "error_responses",
    "finalize_openapi",
    "service_limits",
    "upload_body",
]

#: Media types of accepted image uploads.
IMAGE_MEDIA_TYPES = ", ".join(f"image/{f.lower()}" for f in IMAGE_FORMATS)

#: Standard base64 with padding, optionally as a data URL (what :mod:`service.http.uploads` decodes).
BASE64_PATTERN = r"^(data:[^,]*;base64,)?([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

#: A real 16 x 32 PNG (a figure on black), so that the request examples can be sent as they are.
EXAMPLE_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAABAAAAAgCAIAAACU62+bAAAAOklEQVR42mNgIBEwYgo927cAzpZySkCTZSLVBoo1nFhQgYdLjg0s"
    "mEKPHt2gpR9GNYxqGNUwqmGgAQDX7wmYenIdEQAAAABJRU5ErkJggg=="
)

_ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "Malformed request (multipart / JSON syntax, base64, missing file field).",
        "bad_request",
        "malformed JSON body: Expecting value: line 1 column 1 (char 0)",
    ),
    401: ("Missing or wrong X-API-Key (only when the server has a key).", "unauthorized", "missing X-API-Key header"),
    408: (
        (
            "The request line and headers (header timeout) or the body (body timeout) did not arrive in time; "
            "the connection is closed. The body timeout may be configured to answer 400 instead."
        ),
        "body_timeout",
        "the request body did not arrive within 60 s",
    ),
    413: (
        "Too many bytes, pixels, images or frames (checked before decoding).",
        "too_many_pixels",
        "images[0] is 100000x100000 = 10000000000 pixels; at most 16777216 are accepted",
    ),
    415: (
        "Unsupported content type, or an undecodable / unsupported image or video.",
        "undecodable_image",
        "images[0] is not a decodable image; accepted formats: JPEG, PNG, WEBP, BMP",
    ),
    422: (
        "Invalid field value, person crop too small, box outside the image.",
        "image_too_small",
        "the person crop is 4x4 pixels (WxH); both sides must be at least 8",
    ),
    429: (
        (
            "The inference queue is full, or this client already has too many uploads in progress "
            "(too_many_uploads); retry after the Retry-After header's seconds."
        ),
        "queue_full",
        "the inference queue is full (512 of 512 items waiting, 1 more requested); retry in 2 s",
    ),
    501: (
        "Not supported by the loaded models (e.g. texture output without a UV map).",
        "not_supported",
        "the loaded body model 'smpl' has no UV map; texture output needs the free-smpl-layout model",
    ),
    503: (
        "Not ready yet, shutting down, or out of device memory.",
        "not_ready",
        "the service is not ready (status: loading)",
    ),
    500: (
        "A bug, or the inference worker crashed on this request's items (it recovers); never bad input.",
        "internal_error",
        "the inference worker crashed on this item (SystemExit) and was restarted",
    ),
    504: (
        "The request did not finish within the request timeout.",
        "timeout",
        "the request did not finish within 60.0 s; retry later",
    ),
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the given error statuses, each with the JSON error shape and an example."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, code, detail = _ERRORS[status]
        entry: dict[str, Any] = {
            "model": ErrorResponse,
            "description": description,
            "content": {"application/json": {"example": error_body(code, detail)}},
        }
        if status == 429:
            entry["headers"] = {
                "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
            }
        out[status] = entry
    return out


def upload_body(
    params: type[BaseModel],
    files: Mapping[str, tuple[bool, str, str, bool]],
    *,
    json_fields: Collection[str] = (),
    json_example: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` with a ``requestBody`` for multipart and base64-JSON uploads.

    Args:
        params: the pydantic model of the non-file fields.
        files: file field name -> (repeatable, media types, description, required).
        json_fields: fields sent as JSON text in multipart.
        json_example: example JSON body.
    """
    schema = params.model_json_schema()
    props: dict[str, Any] = schema.get("properties", {})
    multipart_props: dict[str, Any] = {}
    json_props: dict[str, Any] = {}
    encoding: dict[str, Any] = {}
    required: list[str] = []
    for name, (repeat, media, description, needed) in files.items():
        if needed:
            required.append(name)
        binary = {"type": "string", "format": "binary"}
        b64 = {"type": "string", "contentEncoding": "base64", "pattern": BASE64_PATTERN}
        multipart_props[name] = (
            {"type": "array", "items": binary, "minItems": 1, "description": description}
            if repeat
            else {**binary, "description": description}
        )
        json_props[name] = (
            {"type": "array", "items": b64, "minItems": 1, "description": f"{description} (base64; {media})"}
            if repeat
            else {**b64, "description": f"{description} (base64; {media})"}
        )
        encoding[name] = {"contentType": media}
    for name, prop in props.items():
        prop = copy.deepcopy(prop)
        prop.pop("title", None)
        json_props[name] = prop
        options = prop.get("anyOf", [])
        non_null = [o for o in options if o != {"type": "null"}]
        if name not in json_fields and len(non_null) == 1 and len(options) == 2:
            # a multipart text part cannot be null: an optional field is either sent or not
            prop = {**{k: v for k, v in prop.items() if k != "anyOf"}, **non_null[0]}
        if name in json_fields:
            multipart_props[name] = {
                "type": "string",
                "description": f"JSON text (empty: not given): {prop.get('description', '')}",
            }
        else:
            multipart_props[name] = prop
    body: dict[str, Any] = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": multipart_props,
                    "required": required,
                    "additionalProperties": False,
                },
                "encoding": encoding,
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": json_props,
                    "required": required,
                    "additionalProperties": False,
                }
            },
        },
    }
    if json_example is not None:
        body["content"]["application/json"]["example"] = dict(json_example)
    return {"requestBody": body}


def _optional_api_key(operation: dict[str, Any]) -> None:
    """The X-API-Key scheme is enforced only when the server has a key: mark it optional (``{}``)."""
    security = operation.get("security")
    if security and {} not in security:
        operation["security"] = [*security, {}]


def _binary_file_parts(schema: Any) -> None:
    """File parts of multipart bodies as ``format: binary``.

    FastAPI >= 0.129.1 describes ``UploadFile`` parameters with ``contentMediaType`` (the JSON
    Schema 2020-12 way); openapi-python-client then types files as ``str`` and its requests are
    refused. Rewriting them keeps any future ``UploadFile`` route correct in generated clients.
    """
    if isinstance(schema, dict):
        if schema.get("type") == "string" and "contentMediaType" in schema:
            schema.pop("contentMediaType")
            schema["format"] = "binary"
        for value in schema.values():
            _binary_file_parts(value)
    elif isinstance(schema, list):
        for value in schema:
            _binary_file_parts(value)


def _non_null_parameters(operation: dict[str, Any]) -> None:
    """Optional header / query parameters as their plain type (``anyOf [T, null]`` -> ``T``).

    On the wire a parameter is either absent or a string, never JSON ``null``; the plain type also
    makes openapi-python-client convert the value to text (it passes a nullable union to httpx as
    is, and httpx refuses a float header).
    """
    for param in operation.get("parameters", []):
        schema = param.get("schema", {})
        options = schema.get("anyOf")
        if param.get("required") or not isinstance(options, list):
            continue
        non_null = [o for o in options if o != {"type": "null"}]
        if len(non_null) == 1 and len(non_null) < len(options):
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            param["schema"] = {**non_null[0], **rest}


def _openapi_error(status: int) -> dict[str, Any]:
    description, code, detail = _ERRORS[status]
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorResponse"},
                "example": error_body(code, detail),
            }
        },
    }


def service_limits(settings: ServiceSettings) -> dict[str, Any]:
    """Every input limit the server enforces, by name (``info.x-limits`` of the document, ``limits`` of ``/v1/models``)."""
    return {
        "max_upload_bytes": settings.max_upload_bytes,
        "max_field_bytes": MAX_FIELD_BYTES,
        "max_json_depth": settings.max_json_depth,
        "max_image_pixels": settings.max_image_pixels,
        "max_request_pixels": settings.max_request_pixels,
        "max_images": settings.max_images,
        "max_frames": settings.max_frames,
        "max_render_size": settings.max_render_size,
        "queue_size": settings.queue_size,
        "request_timeout_s": settings.request_timeout_s,
        "header_timeout_s": settings.header_timeout_s,
        "body_timeout_s": settings.body_timeout_s,
        "body_timeout_status": settings.body_timeout_status,
        "max_uploads_per_client": settings.max_uploads_per_client,
    }


def _variant(schema: dict[str, Any], kind: str) -> dict[str, Any]:
    """``schema`` itself, or its option of type ``kind`` when it is ``anyOf [kind, null]``."""
    for option in schema.get("anyOf", []):
        if option.get("type") == kind:
            return option
    return schema


def _array_variant(schema: dict[str, Any]) -> dict[str, Any]:
    return _variant(schema, "array")


def _body_properties(operation: dict[str, Any]) -> list[dict[str, Any]]:
    content = operation.get("requestBody", {}).get("content", {})
    return [c.get("schema", {}).get("properties", {}) for c in content.values()]


def _set_item_limit(props: dict[str, Any], name: str, most: int) -> None:
    if name in props and props[name].get("type") != "string":  # multipart JSON-text fields stay strings
        _array_variant(props[name])["maxItems"] = most


def _box_items(box: dict[str, Any]) -> None:
    array = _array_variant(box)
    if array.get("type") == "array" and array.get("items", {}).get("type") == "number":
        array["minItems"] = array["maxItems"] = 4


def _document_limits(document: dict[str, Any], settings: ServiceSettings) -> None:
    """Write the limits of ``settings`` into the document, so that document and server agree."""
    limits = service_limits(settings)
    document.setdefault("info", {})["x-limits"] = limits
    paths = document.get("paths", {})
    per_field = {
        "/v1/smpl": {"images": settings.max_images, "boxes": settings.max_images},
        "/v1/sequence": {"frames": settings.max_frames, "track": settings.max_frames},
    }
    for path, fields in per_field.items():
        for props in _body_properties(paths.get(path, {}).get("post", {})):
            for name, most in fields.items():
                _set_item_limit(props, name, most)
            for name in ("boxes", "track"):
                if name in props and props[name].get("type") != "string":
                    _box_items(_array_variant(props[name]).get("items", {}))
    for props in _body_properties(paths.get("/v1/texture", {}).get("post", {})):
        if "size" in props:
            _variant(props["size"], "integer")["maximum"] = settings.max_render_size
        if "box" in props and props["box"].get("type") != "string":
            _box_items(props["box"])
    notes = (
        f"\n\n**Limits of this server** (also in `info.x-limits` and `GET /v1/models`): request body "
        f"{limits['max_upload_bytes']} bytes, JSON nesting {limits['max_json_depth']} levels, multipart text field "
        f"{limits['max_field_bytes']} bytes, {limits['max_images']} images / {limits['max_frames']} frames per request, "
        f"{limits['max_image_pixels']} pixels per image, rendered PNG side {limits['max_render_size']}; headers within "
        f"{limits['header_timeout_s']:g} s and the body within {limits['body_timeout_s']:g} s of them "
        f"({limits['body_timeout_status']} beyond), {limits['max_uploads_per_client']} slow uploads per client."
    )
    info = document["info"]
    if "Limits of this server" not in info.get("description", ""):
        info["description"] = info.get("description", "") + notes


def finalize_openapi(document: dict[str, Any], settings: ServiceSettings | None = None) -> dict[str, Any]:
    """Post-process FastAPI's document (in place; returned).

    Optional API key, binary file parts, non-null optional parameters, documented 500s, and
    (with ``settings``) the server's limits: ``info.x-limits``, ``maxItems`` of the file and box
    lists, boxes of exactly 4 numbers, the texture ``size`` maximum.

    Every upload operation also documents 500 ``internal_error`` (a bug, or the worker crashed on
    its items), which FastAPI cannot know from the route.
    """
    if settings is not None:
        _document_limits(document, settings)
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            _optional_api_key(operation)
            _non_null_parameters(operation)
            body = operation.get("requestBody", {}).get("content", {})
            if "multipart/form-data" in body:
                _binary_file_parts(body["multipart/form-data"].get("schema"))
                operation.setdefault("responses", {}).setdefault("500", _openapi_error(500))
                operation["responses"].setdefault("408", _openapi_error(408))
    for schema in document.get("components", {}).get("schemas", {}).values():
        if isinstance(schema, dict) and schema.get("title", "").startswith("Body_"):
            _binary_file_parts(schema)
    return document
