"""Request bodies: ``multipart/form-data`` or ``application/json`` with base64 files, one shape.

Both encodings carry the same named fields. In multipart, files are file parts (a field may
repeat: ``images`` once per image) and the other fields are text parts, JSON for structured
values (``boxes='[[0, 0, 50, 120], null]'``). In JSON, files are base64 strings (a list for
repeated fields; ``data:<type>;base64,`` prefixes are accepted) and the other fields are plain
JSON values::

    {"images": ["<base64>", "<base64>"], "boxes": [[0, 0, 50, 120], null], "include_vertices": true}

:func:`read_upload` turns either into an :class:`Upload`; :func:`parse_fields` validates the
non-file fields against a pydantic model (unknown fields are refused, 422).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from service.http.errors import ApiError
from service.http.json_limits import JsonLimitError, load_bounded_json
from service.settings import DEFAULT_MAX_JSON_DEPTH

__all__ = ["Upload", "UploadedFile", "format_validation_error", "parse_fields", "read_upload"]

ModelT = TypeVar("ModelT", bound=BaseModel)

#: Largest non-file multipart field (JSON tracks of many frames fit).
MAX_FIELD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class UploadedFile:
    """One uploaded file: its bytes, and the client's name and media type when given."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass
class Upload:
    """A parsed request body.

    Attributes:
        files: file fields by name, each a list in upload order.
        fields: other fields: strings from multipart, JSON values from JSON bodies.
        from_json: whether the body was JSON.
    """

    files: dict[str, list[UploadedFile]] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    from_json: bool = False
    #: Nesting limit for the JSON text of multipart fields (the JSON body was checked with it).
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _b64decode(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"{where} must be a base64 string, got {type(value).__name__}")
    if value.startswith("data:"):
        head, sep, value = value.partition(",")
        if not sep or ";base64" not in head:
            raise ApiError(400, "bad_request", f"{where}: a data URL must be base64 encoded")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "bad_request", f"{where} is not valid base64") from None


async def read_upload(
    request: Request,
    *,
    file_fields: Collection[str],
    max_files: int,
    too_many_code: str,
    too_many_what: str,
    single_file_fields: Collection[str] = (),
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
) -> Upload:
    """Parse the body of ``request`` (multipart or JSON) into files and fields.

    Args:
        file_fields: names of the fields that hold files.
        single_file_fields: those of ``file_fields`` that hold one file: in JSON one base64 string
            (a list is a 422); the others take a JSON list of base64 strings (a bare string is a 422).
        max_files: most files accepted in total (413 ``too_many_code`` beyond).
        too_many_code, too_many_what: error code and noun for that 413 (e.g. ``"too_many_images"``).
        max_json_depth: deepest nesting accepted in a JSON body (and, by :func:`parse_fields`, in
            the JSON text of multipart fields); deeper is a 400 (body) or 422 (field).

    Raises:
        ApiError: 415 (other content types), 400 (malformed or too deeply nested body), 413 (too many files), 422
            (a file given for a non-file field or vice versa), 499 (the client disconnected while
            sending it).
    """
    try:
        upload = await _read_upload(
            request, file_fields, max_files, too_many_code, too_many_what, single_file_fields, max_json_depth
        )
    except ClientDisconnect:
        raise ApiError(499, "client_closed_request", "the client disconnected while sending the request") from None
    upload.max_json_depth = max_json_depth
    return upload


async def _read_upload(
    request: Request,
    file_fields: Collection[str],
    max_files: int,
    too_many_code: str,
    too_many_what: str,
    single_file_fields: Collection[str],
    max_json_depth: int,
) -> Upload:
    media = _media_type(request)
    upload = Upload()
    if media == "multipart/form-data":
        try:
            form = await request.form(max_files=max_files, max_fields=64, max_part_size=MAX_FIELD_BYTES)
        except StarletteHTTPException as exc:
            detail = str(exc.detail)
            if "too many files" in detail.lower():
                raise ApiError(
                    413,
                    too_many_code,
                    f"more than {max_files} {too_many_what} uploaded; at most {max_files} are accepted",
                ) from None
            raise ApiError(400, "bad_request", f"malformed multipart body: {detail}") from None
        try:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if name not in file_fields:
                        raise ApiError(
                            422,
                            "invalid_field",
                            f"unexpected file field {name!r}; file fields are {sorted(file_fields)}",
                        )
                    data = await value.read()
                    upload.files.setdefault(name, []).append(UploadedFile(data, value.filename, value.content_type))
                else:
                    if name in file_fields:
                        raise ApiError(422, "invalid_field", f"field {name!r} must be a file part (with a filename)")
                    if name in upload.fields:
                        raise ApiError(422, "invalid_field", f"field {name!r} is given more than once")
                    upload.fields[name] = value
        finally:
            await form.close()
        return upload
    if media == "application/json":
        body = await request.body()
        try:  # the body's size was bounded by the body-size middleware as it arrived
            obj = load_bounded_json(body, max_depth=max_json_depth, max_bytes=max(len(body), 1))
        except JsonLimitError as exc:
            raise ApiError(400, "bad_request", f"malformed JSON body: {exc}") from None
        if not isinstance(obj, dict):
            raise ApiError(400, "bad_request", f"the JSON body must be an object, got {type(obj).__name__}")
        upload.from_json = True
        for name, value in obj.items():
            if name in file_fields:
                single = name in single_file_fields
                if single and isinstance(value, list):
                    raise ApiError(422, "invalid_field", f"{name} must be one base64 string, not a list")
                if not single and not isinstance(value, list):
                    raise ApiError(
                        422, "invalid_field", f"{name} must be a list of base64 strings, got {type(value).__name__}"
                    )
                values = value if isinstance(value, list) else [value]
                if len(upload.files.get(name, [])) + len(values) > max_files:
                    raise ApiError(
                        413,
                        too_many_code,
                        f"more than {max_files} {too_many_what} sent; at most {max_files} are accepted",
                    )
                where = [f"{name}[{i}]" for i in range(len(values))] if not single else [name]
                upload.files[name] = [UploadedFile(_b64decode(v, w)) for v, w in zip(values, where)]
            else:
                upload.fields[name] = value
        return upload
    shown = media or "none"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"content type {shown!r} is not accepted; send multipart/form-data (file fields {sorted(file_fields)}) "
        "or application/json with base64-encoded files",
    )


def format_validation_error(exc: ValidationError) -> str:
    """``"field: message; ..."`` for a pydantic error."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def parse_fields(model: type[ModelT], upload: Upload, json_fields: Collection[str] = ()) -> ModelT:
    """Validate the non-file fields of ``upload`` with ``model`` (422 ``invalid_field`` on failure).

    JSON bodies are validated strictly (``"true"`` is not a boolean there); multipart text fields
    are converted (``include_vertices=true``).

    Args:
        json_fields: fields whose multipart text is JSON (parsed before validation); an empty text
            part counts as not given.
    """
    data = dict(upload.fields)
    if not upload.from_json:
        for name in json_fields:
            text = data.get(name)
            if isinstance(text, str) and not text.strip():
                del data[name]
            elif isinstance(text, str):
                try:
                    data[name] = load_bounded_json(text, max_depth=upload.max_json_depth, max_bytes=MAX_FIELD_BYTES)
                except JsonLimitError as exc:
                    raise ApiError(422, "invalid_field", f"{name}: {exc}") from None
    try:
        return model.model_validate(data, strict=upload.from_json)
    except ValidationError as exc:
        raise ApiError(422, "invalid_field", format_validation_error(exc)) from None
    except (RecursionError, ValueError, TypeError) as exc:  # a validator failing in an unforeseen way on odd input
        raise ApiError(422, "invalid_field", f"invalid fields ({type(exc).__name__})") from None
