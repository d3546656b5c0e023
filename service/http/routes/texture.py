"""``POST /v1/texture``: the textured body mesh of one person as GLB, zipped OBJ, or a rendered PNG.

The mesh is RSC-Net's prediction on the crop (through the batcher); the UV texture comes from the
TexGlo network (:class:`model.inference.texture.TexturePredictor`) when its checkpoint
(``RSCNET_TEXTURE_CHECKPOINT``, default ``checkpoints/texture/model.pt``) is loaded: headers
``X-Texture: texglo`` and ``X-Texture-Model: <name>:<checkpoint sha256[:16]>``. Without it the mesh
carries :func:`service.http.meshes.default_texture` (flat light grey) and the headers say
``X-Texture: flat-default``, ``X-Texture-Model: none``.
"""

from __future__ import annotations

import anyio
import numpy as np
from fastapi import APIRouter, Depends, Request, Response

from service.http.api_docs import EXAMPLE_PNG_BASE64, IMAGE_MEDIA_TYPES, error_responses, upload_body
from service.http.auth import require_api_key
from service.http.deps import StateDep
from service.http.errors import ApiError
from service.http.meshes import (
    DEFAULT_TEXTURE_NAME,
    default_texture,
    mesh_to_glb,
    mesh_to_obj_zip,
    render_view_png,
    to_gltf_axes,
)
from service.http.pipeline import Deadline, RequestTimeoutHeader, check_capacity, decode_crops, predict_crops
from service.http.schemas import TextureParams, to_box
from service.http.uploads import parse_fields, read_upload

__all__ = ["DEFAULT_RENDER_SIZE", "TEXGLO_TEXTURE_NAME", "router"]

#: Side of the rendered PNG when the request gives no ``size`` (capped by ``max_render_size``).
DEFAULT_RENDER_SIZE = 512

#: ``X-Texture`` value when the TexGlo network made the texture.
TEXGLO_TEXTURE_NAME = "texglo"

router = APIRouter()

_MEDIA = {"glb": "model/gltf-binary", "obj": "application/zip", "png": "image/png"}
_FILENAME = {"glb": "body.glb", "obj": "body_obj.zip", "png": "body.png"}
_HEADERS_DOC = {
    "X-Body-Model": {"description": "Body model name, e.g. free-smpl-layout.", "schema": {"type": "string"}},
    "X-Body-Model-Id": {"description": "Body model id (name:sha256 prefix).", "schema": {"type": "string"}},
    "X-Checkpoint-Id": {
        "description": "Checkpoint id (sha256 prefix, or untrained-seedN).",
        "schema": {"type": "string"},
    },
    "X-Texture": {
        "description": "Texture source: 'texglo' (the TexGlo network), or 'flat-default' when no texture model is loaded.",
        "schema": {"type": "string"},
    },
    "X-Texture-Model": {
        "description": "Texture network '<name>:<checkpoint sha256 prefix>', or 'none'.",
        "schema": {"type": "string"},
    },
}


@router.post(
    "/v1/texture",
    operation_id="estimate_texture",
    tags=["inference"],
    summary="Textured body mesh of one person (GLB, OBJ zip, or rendered PNG)",
    dependencies=[Depends(require_api_key)],
    response_class=Response,
    responses={
        200: {
            "description": "The mesh file (format=glb|obj) or a rendered RGBA view (format=png).",
            "headers": _HEADERS_DOC,
            "content": {
                "model/gltf-binary": {"schema": {"type": "string", "format": "binary"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **error_responses(400, 401, 413, 415, 422, 429, 501, 503, 504),
    },
    openapi_extra=upload_body(
        TextureParams,
        {"image": (False, IMAGE_MEDIA_TYPES, "One person crop, or a full image with 'box'", True)},
        json_fields={"box"},
        json_example={"image": EXAMPLE_PNG_BASE64, "format": "png", "yaw": 30, "size": 256},
    ),
)
async def estimate_texture(
    request: Request,
    state: StateDep,
    request_timeout: RequestTimeoutHeader = None,
) -> Response:
    """``format=glb``: binary glTF (y up, the person facing +z); ``format=obj``: zip of
    ``mesh.obj`` + ``material.mtl`` + ``texture.png``; ``format=png``: an RGBA view turned by
    ``yaw`` degrees, ``size`` pixels square. The mesh is the predicted body with the camera
    translation removed; its UV texture is TexGlo's prediction on the crop when the texture
    network is loaded (``X-Texture: texglo``), else a flat grey (``X-Texture: flat-default``).
    """
    deadline = Deadline.for_request(state.settings.request_timeout_s, request_timeout)
    predictor, batcher = state.require_ready()
    s = state.settings
    upload = await read_upload(
        request,
        file_fields={"image"},
        single_file_fields={"image"},
        max_files=1,
        too_many_code="too_many_images",
        too_many_what="images",
        max_json_depth=s.max_json_depth,
    )
    params = parse_fields(TextureParams, upload, json_fields={"box"})
    files = upload.files.get("image", [])
    if len(files) != 1:
        raise ApiError(400, "bad_request", "send exactly one image file in the field 'image'")
    # A size that is sent is checked for every format, as the OpenAPI document says.
    if params.size is not None and params.size > s.max_render_size:
        raise ApiError(422, "invalid_field", f"size: at most {s.max_render_size} pixels, got {params.size}")
    size = params.size if params.size is not None else min(DEFAULT_RENDER_SIZE, s.max_render_size)
    body = predictor.body_model
    if body.face_uvs is None:
        raise ApiError(
            501,
            "not_supported",
            f"the loaded body model {body.name!r} has no UV map; texture output needs the free-smpl-layout model",
        )
    check_capacity(batcher, 1)
    [prepared] = await decode_crops(state, [files[0].data], [to_box(params.box, "box")], "image")
    if isinstance(prepared, ApiError):
        raise prepared
    [pred] = await predict_crops(state, batcher, [prepared.crop.pixels], include_vertices=True, deadline=deadline)
    if isinstance(pred, ApiError):
        raise pred
    assert pred.vertices is not None
    texture_net = state.loaded.texture if state.loaded is not None else None
    faces, face_uvs = body.faces, body.face_uvs
    if texture_net is not None:
        crop = prepared.crop.pixels

        def predict_uv() -> np.ndarray:
            # the prediction of this very crop: a masked TexGlo reuses its mesh for the input mask
            return texture_net.predict_uv([crop], predictions=[pred])[0]

        texture = await anyio.to_thread.run_sync(predict_uv, limiter=state.cpu_limiter)
        texture_name, texture_model = TEXGLO_TEXTURE_NAME, f"{texture_net.name}:{texture_net.checkpoint_id}"
    else:
        texture = default_texture()
        texture_name, texture_model = DEFAULT_TEXTURE_NAME, "none"

    def build() -> bytes:
        if params.format == "png":
            return render_view_png(
                pred.vertices, pred.translation, faces, face_uvs, texture, yaw_deg=params.yaw, size=size
            )
        verts = to_gltf_axes(pred.vertices, pred.translation)
        return (
            mesh_to_glb(verts, faces, face_uvs, texture)
            if params.format == "glb"
            else mesh_to_obj_zip(verts, faces, face_uvs, texture)
        )

    data = await anyio.to_thread.run_sync(build, limiter=state.cpu_limiter)
    headers = {
        "X-Body-Model": predictor.name,
        "X-Body-Model-Id": predictor.model_id,
        "X-Checkpoint-Id": predictor.checkpoint_id,
        "X-Texture": texture_name,
        "X-Texture-Model": texture_model,
        "Content-Disposition": f'attachment; filename="{_FILENAME[params.format]}"',
    }
    return Response(data, media_type=_MEDIA[params.format], headers=headers)
