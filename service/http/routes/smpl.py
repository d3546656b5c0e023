"""``POST /v1/smpl``: body pose, shape and camera for one or more person images."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from service.http.api_docs import EXAMPLE_PNG_BASE64, IMAGE_MEDIA_TYPES, error_responses, upload_body
from service.http.auth import require_api_key
from service.http.deps import StateDep
from service.http.errors import ApiError
from service.http.pipeline import (
    Deadline,
    PreparedCrop,
    RequestTimeoutHeader,
    check_capacity,
    decode_crops,
    error_entry,
    predict_crops,
    raise_if_all_failed,
)
from service.http.schemas import SmplParams, SmplResponse, prediction_json, to_box
from service.http.uploads import parse_fields, read_upload

__all__ = ["router"]

router = APIRouter()

_EXAMPLE_RESULT = {
    "index": 0,
    "ok": True,
    "betas": [0.0] * 10,
    "pose": [[0.0, 0.0, 0.0]] * 24,
    "camera": {"weak": [0.9, 0.0, 0.2], "translation": [0.0, 0.2, 24.8], "focal": 1428.6, "principal": [44.0, 80.0]},
    "joints3d": {"smpl24": [[0.0, 0.2, 24.8]] * 24, "coco17": [[0.0, -0.4, 24.8]] * 17},
    "keypoints2d": {"coco17": [[44.0, 56.0]] * 17},
    "vertices": None,
    "resolution_index": 2,
    "crop_size": 64,
    "crop_box": [12, 16, 64, 128],
    "timings_ms": {"decode": 0.4, "inference": 35.2},
}


@router.post(
    "/v1/smpl",
    operation_id="estimate_smpl",
    tags=["inference"],
    summary="Estimate body pose, shape and camera from person crops",
    dependencies=[Depends(require_api_key)],
    responses={
        200: {
            "model": SmplResponse,
            "description": "One entry per image; failed images are entries with ok=false (the others still succeed).",
            "content": {
                "application/json": {
                    "example": {
                        "body_model": "free-smpl-layout",
                        "body_model_id": "free-smpl-layout:c396bc99c5ec44d6",
                        "checkpoint_id": "untrained-seed0",
                        "is_trained": False,
                        "results": [
                            _EXAMPLE_RESULT,
                            {
                                "index": 1,
                                "ok": False,
                                "status": 415,
                                "error": "undecodable_image",
                                "detail": "images[1] is not a decodable image; accepted formats: JPEG, PNG, WEBP, BMP",
                            },
                        ],
                    }
                }
            },
        },
        **error_responses(400, 401, 413, 415, 422, 429, 503, 504),
    },
    openapi_extra=upload_body(
        SmplParams,
        {
            "images": (
                True,
                IMAGE_MEDIA_TYPES,
                "Person crops, or full images with 'boxes'; one file part per image",
                True,
            )
        },
        json_fields={"boxes", "cut"},
        json_example={
            "images": [EXAMPLE_PNG_BASE64, EXAMPLE_PNG_BASE64],
            "boxes": [None, [2, 0, 12, 32]],
            "cut": [None, True],
            "include_vertices": False,
        },
    ),
)
async def estimate_smpl(
    request: Request,
    state: StateDep,
    request_timeout: RequestTimeoutHeader = None,
) -> JSONResponse:
    """Per image: betas, pose (24 x 3 axis-angle), camera, 3D joints (SMPL-24, COCO-17), COCO-17 2D
    keypoints in the uploaded image's pixels, the resolution range used, and timings.

    Send ``multipart/form-data`` with one ``images`` file part per image (optional text fields
    ``boxes`` and ``cut`` as JSON and ``include_vertices``), or ``application/json`` with the same
    fields and base64 images. ``cut`` tells a network with a cut input which people go on beyond
    their picture (default: those whose box reaches the image's bottom row). If every image fails, the answer is the first image's error status with all
    per-image errors in ``items``; otherwise 200 with per-image entries.
    """
    deadline = Deadline.for_request(state.settings.request_timeout_s, request_timeout)
    predictor, batcher = state.require_ready()
    s = state.settings
    upload = await read_upload(
        request,
        file_fields={"images"},
        max_files=s.max_images,
        too_many_code="too_many_images",
        too_many_what="images",
        max_json_depth=s.max_json_depth,
    )
    params = parse_fields(SmplParams, upload, json_fields={"boxes", "cut"})
    files = upload.files.get("images", [])
    if not files:
        raise ApiError(400, "bad_request", "no images: send one or more image files in the field 'images'")
    boxes = None
    if params.boxes is not None:
        if len(params.boxes) != len(files):
            raise ApiError(422, "invalid_field", f"boxes has {len(params.boxes)} entries for {len(files)} images")
        boxes = [to_box(b, f"boxes[{i}]") for i, b in enumerate(params.boxes)]
    if params.cut is not None and len(params.cut) != len(files):
        raise ApiError(422, "invalid_field", f"cut has {len(params.cut)} entries for {len(files)} images")
    check_capacity(batcher, len(files))
    prepared = await decode_crops(state, [f.data for f in files], boxes, "images")
    ok = [(i, p) for i, p in enumerate(prepared) if isinstance(p, PreparedCrop)]
    cut = {i: p.crop.cut_by_frame if params.cut is None or params.cut[i] is None else params.cut[i] for i, p in ok}
    started = time.perf_counter()
    preds = await predict_crops(
        state, batcher, [p.crop.pixels for _, p in ok], include_vertices=params.include_vertices, deadline=deadline,
        cut=[cut[i] for i, _ in ok],
    )
    inference_ms = (time.perf_counter() - started) * 1000.0
    entries: list[dict[str, Any] | None] = [None] * len(prepared)
    for i, p in enumerate(prepared):
        if isinstance(p, ApiError):
            entries[i] = error_entry(state, i, p)
    for (i, p), pred in zip(ok, preds):
        if isinstance(pred, ApiError):
            entries[i] = error_entry(state, i, pred)
        else:
            entries[i] = prediction_json(
                pred,
                index=i,
                offset=p.crop.offset,
                crop_box=p.crop.box,
                timings_ms={"decode": p.decode_ms, "inference": inference_ms},
                cut=cut[i],
            )
    results = [e for e in entries if e is not None]
    raise_if_all_failed(results, "image")
    return JSONResponse(
        {
            "body_model": predictor.name,
            "body_model_id": predictor.model_id,
            "checkpoint_id": predictor.checkpoint_id,
            "is_trained": predictor.is_trained,
            "results": results,
        }
    )
