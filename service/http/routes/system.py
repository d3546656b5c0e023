"""Operational endpoints: liveness, readiness, Prometheus metrics, and what is loaded."""

from __future__ import annotations

import platform
from typing import Any

import fastapi
import torch
from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

import service
from model.inference import MIN_SIDE
from model.inference.temporal import FILTER_NAME
from model.inference.turn_limit import DEFAULT_MAX_TURN_DEG
from service.http.api_docs import error_responses, service_limits
from service.http.auth import require_api_key
from service.http.deps import StateDep
from service.http.errors import error_body
from service.http.images import IMAGE_FORMATS
from service.http.meshes import DEFAULT_TEXTURE_NAME
from service.http.schemas import (
    HealthResponse,
    ModelsResponse,
    NotReadyResponse,
    ReadyResponse,
)
from service.http.video import VIDEO_CONTAINERS

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/healthz",
    operation_id="healthz",
    tags=["operations"],
    summary="Liveness: the process is up",
    responses={200: {"model": HealthResponse, "content": {"application/json": {"example": {"status": "alive"}}}}},
)
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves HTTP (use ``/readyz`` to know whether it can predict)."""
    return {"status": "alive"}


@router.get(
    "/readyz",
    operation_id="readyz",
    tags=["operations"],
    summary="Readiness: model loaded and warmed up",
    responses={
        200: {
            "model": ReadyResponse,
            "content": {
                "application/json": {
                    "example": {
                        "status": "ready",
                        "device": "cpu",
                        "body_model": "free-smpl-layout",
                        "checkpoint_id": "untrained-seed0",
                    }
                }
            },
        },
        503: {
            "model": NotReadyResponse,
            "description": "Still loading, failed to load, or shutting down.",
            "content": {
                "application/json": {
                    "example": {
                        **error_body("not_ready", "the service is not ready (status: loading)"),
                        "status": "loading",
                        "device": None,
                    }
                }
            },
        },
    },
)
async def readyz(state: StateDep) -> JSONResponse:
    """200 once the model is loaded and warmed up; 503 before, on failure, and while shutting down."""
    predictor = state.predictor
    device = None if predictor is None else str(predictor.device)
    if state.ready and predictor is not None:
        return JSONResponse(
            {
                "status": "ready",
                "device": device,
                "body_model": predictor.name,
                "checkpoint_id": predictor.checkpoint_id,
            }
        )
    detail = f"the service is not ready (status: {state.status})"
    if state.error:
        detail += f": {state.error}"
    body = {
        **error_body("not_ready" if state.status != "stopping" else "shutting_down", detail),
        "status": state.status,
        "device": device,
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


@router.get(
    "/metrics",
    operation_id="metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}, "example": "rscnet_queue_length 0.0\n"}}}
    },
)
async def metrics(state: StateDep) -> Response:
    """Requests by endpoint and status, latency histograms, queue length, batch sizes and compute times."""
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)


def _ranges(bounds: tuple[int, ...]) -> list[dict[str, Any]]:
    out = []
    for i, low in enumerate(bounds):
        high = None if i == 0 else bounds[i - 1]
        if i == len(bounds) - 1:
            low = MIN_SIDE  # sizes below the last bound still use the last row
        out.append({"index": i, "min_size": low, "max_size_exclusive": high})
    return out


def _sequence_module(loaded: Any, settings: Any) -> dict[str, Any]:
    """``modules.sequence`` of ``/v1/models``: the temporal GRU, or why a filter smooths instead."""
    sequence = getattr(loaded, "sequence", None)
    if sequence is None:
        return {
            "temporal_model": FILTER_NAME,
            "kind": "filter",
            "gru_loaded": False,
            "default_max_turn_deg": DEFAULT_MAX_TURN_DEG,
            "configured_path": str(settings.video_checkpoint),
            "note": getattr(loaded, "sequence_note", None)
            or "RSC-Net's temporal (GRU) module is not loaded: /v1/sequence predicts each frame and smooths "
            "the parameters with a Gaussian filter (rotations by chordal mean).",
        }
    return {
        "temporal_model": "gru",
        "gru_loaded": True,
        "default_max_turn_deg": DEFAULT_MAX_TURN_DEG,
        "configured_path": str(settings.video_checkpoint),
        **sequence.describe(),
    }


def _texture_module(loaded: Any, settings: Any) -> dict[str, Any]:
    """``modules.texture`` of ``/v1/models``: the TexGlo network, or why the texture is flat."""
    texture = getattr(loaded, "texture", None)
    if texture is None:
        return {
            "texture_model": None,
            "loaded": False,
            "texture": DEFAULT_TEXTURE_NAME,
            "configured_path": str(settings.texture_checkpoint),
            "formats": ["glb", "obj", "png"],
            "note": getattr(loaded, "texture_note", None)
            or "No texture network is loaded: /v1/texture returns the predicted mesh with a flat default texture.",
        }
    return {
        "texture_model": f"{texture.name}:{texture.checkpoint_id}",
        "loaded": True,
        "texture": "texglo",
        "configured_path": str(settings.texture_checkpoint),
        "formats": ["glb", "obj", "png"],
        **texture.describe(),
    }


_MODELS_EXAMPLE = {
    "status": "ready",
    "body_model": {"name": "free-smpl-layout", "model_id": "free-smpl-layout:c396bc99c5ec44d6", "has_uv_map": True},
    "checkpoint": {
        "path": None,
        "id": "untrained-seed0",
        "is_trained": False,
        "warning": "checkpoint ... not found: serving a RANDOMLY INITIALISED network ...",
    },
    "network": {
        "input_size": 224,
        "backbone_depth": 50,
        "resolution_bounds": [224, 128, 64, 40, 24],
        "device": "cpu",
        "precision": "fp32",
        "flip_test": False,
        "cut_input": False,
    },
    "modules": {
        "smpl": {"loaded": True, "trained": False},
        "sequence": {
            "temporal_model": "gru",
            "kind": "gru",
            "gru_loaded": True,
            "default_max_turn_deg": DEFAULT_MAX_TURN_DEG,
            "bidirectional": False,
        },
        "texture": {"texture_model": "Glo-S:0123456789abcdef", "loaded": True, "texture": "texglo", "uv_size": 128},
    },
    "batching": {"max_batch_size": 8, "max_delay_ms": 10.0, "queue_size": 512, "worker": "process", "worker_pid": 4242},
    "limits": {"max_images": 32, "max_frames": 300},
    "versions": {"service": "0.1.0", "api": "v1"},
}


@router.get(
    "/v1/models",
    operation_id="get_models",
    tags=["models"],
    summary="What is loaded: body model, checkpoint, network, modules, limits, versions",
    response_model=ModelsResponse,
    dependencies=[Depends(require_api_key)],
    responses={200: {"content": {"application/json": {"example": _MODELS_EXAMPLE}}}, **error_responses(401, 503)},
)
async def get_models(state: StateDep) -> JSONResponse:
    """Say exactly what answers requests, including what is *not* loaded (GRU, texture network when absent)."""
    predictor, _ = state.require_ready()
    loaded = state.loaded
    assert loaded is not None
    s = state.settings
    body = predictor.body_model
    info = body.info
    trained = predictor.is_trained
    return JSONResponse(
        {
            "status": state.status,
            "body_model": {
                "name": info.name,
                "model_id": info.model_id,
                "sha256": info.sha256,
                "source": info.source,
                "num_vertices": info.num_vertices,
                "has_uv_map": body.face_uvs is not None,
            },
            "checkpoint": {
                "path": None if predictor.checkpoint_path is None else str(predictor.checkpoint_path),
                "configured_path": str(s.checkpoint),
                "id": predictor.checkpoint_id,
                "is_trained": trained,
                "warning": loaded.warning,
            },
            "network": {
                "input_size": predictor.input_size,
                "backbone_depth": predictor.net.config.backbone.depth,
                "resolution_aware": predictor.net.config.backbone.resolution_aware,
                "resolution_bounds": list(predictor.ranges.bounds),
                "resolution_ranges": _ranges(tuple(predictor.ranges.bounds)),
                "device": str(predictor.device),
                "precision": predictor.precision,
                "flip_test": predictor.flip_test,
                "cut_input": predictor.cut_input,  # reads /v1/smpl's per-image cut flag
            },
            "modules": {
                "smpl": {"loaded": True, "trained": trained, "endpoints": ["/v1/smpl", "/v1/sequence", "/v1/texture"]},
                "sequence": _sequence_module(loaded, s),
                "texture": _texture_module(loaded, s),
            },
            "batching": {
                "max_batch_size": state.max_batch_size,
                "max_delay_ms": s.max_delay_ms,
                "queue_size": s.queue_size,
                "worker": s.worker,
                "worker_pid": None if state.worker_process is None else state.worker_process["pid"],
            },
            "limits": {
                **service_limits(s),
                "image_formats": list(IMAGE_FORMATS),
                "video_containers": list(VIDEO_CONTAINERS),
            },
            "versions": {
                "service": service.__version__,
                "api": "v1",
                "python": platform.python_version(),
                "torch": torch.__version__,
                "cuda": torch.version.cuda,
                "fastapi": fastapi.__version__,
            },
        }
    )
