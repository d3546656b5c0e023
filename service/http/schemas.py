"""Request fields and response bodies of the API (pydantic models, also the OpenAPI schemas).

Responses are built as plain dictionaries by the ``*_json`` helpers (large float arrays are not
re-validated on the way out); the models below document exactly those shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from model.inference import Prediction
from model.inference.turn_limit import DEFAULT_MAX_TURN_DEG
from service.http.images import Box

__all__ = [
    "ErrorResponse",
    "HealthResponse",
    "ItemError",
    "ModelsResponse",
    "NotReadyResponse",
    "ReadyResponse",
    "SequenceFrame",
    "SequenceParams",
    "SequenceResponse",
    "SequenceWarning",
    "SmplParams",
    "SmplResponse",
    "SmplResult",
    "TextureParams",
    "item_error_json",
    "prediction_json",
    "to_box",
]

BoxList = list[float]


def to_box(values: list[float] | None, what: str) -> Box | None:
    """A validated :class:`Box` from ``[x0, y0, w, h]`` (``None`` stays ``None``)."""
    if values is None:
        return None
    if len(values) != 4:
        raise ValueError(f"{what} must be [x0, y0, w, h], got {len(values)} numbers")
    try:
        return Box(*(float(v) for v in values))
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _check_boxes(values: list[list[float] | None] | None, name: str) -> list[list[float] | None] | None:
    if values is not None:
        for i, b in enumerate(values):
            to_box(b, f"{name}[{i}]")
    return values


# ---------------------------------------------------------------------------------------- requests
class SmplParams(BaseModel):
    """Non-file fields of ``POST /v1/smpl``."""

    model_config = ConfigDict(extra="forbid")

    include_vertices: bool = Field(False, description="Also return the (V, 3) mesh vertices of each person.")
    boxes: list[BoxList | None] | None = Field(
        None,
        description="One person box [x0, y0, w, h] (pixels) per image, or null to use the whole image. "
        "Without it every image is taken as a person crop.",
        examples=[[[12, 30, 64, 160], None]],
    )

    cut: list[bool | None] | None = Field(
        None,
        description="Per image: does the person go on beyond the picture (cut by the frame's edge, or only the "
        "upper body shows)? null (or no list): the service decides -- true when the image's box reaches the "
        "image's bottom row, false otherwise. Read by a network with a cut input (GET /v1/models "
        "network.cut_input), which then draws the visible part at its size instead of a whole body shrunk into "
        "the crop; ignored by others. One entry per image.",
        examples=[[None, True]],
    )

    @field_validator("boxes")
    @classmethod
    def _boxes(cls, v: list[list[float] | None] | None) -> list[list[float] | None] | None:
        return _check_boxes(v, "boxes")


class SequenceParams(BaseModel):
    """Non-file fields of ``POST /v1/sequence``."""

    model_config = ConfigDict(extra="forbid")

    track: list[BoxList | None] | None = Field(
        None,
        description="Per-frame person boxes [x0, y0, w, h], or null where the person is not visible (the frame is "
        "skipped). One entry per frame: a different length is a 422 naming both counts. Without it every "
        "frame is taken whole as a person crop.",
        examples=[[[100, 40, 60, 150], [102, 41, 60, 150], None]],
    )
    temporal: Literal["auto", "gru", "filter"] = Field(
        "auto",
        description="Temporal model: 'gru' = RSC-Net's video module (422 when it is not loaded), 'filter' = the "
        "Gaussian filter, 'auto' = the GRU when loaded, else the filter.",
    )
    sigma: float = Field(
        1.5, ge=0.0, le=30.0, description="Gaussian filter strength (sigma, in frames); used by the filter only."
    )
    max_turn_deg: float = Field(
        DEFAULT_MAX_TURN_DEG,
        ge=0.0,
        le=180.0,
        description="Most the body's heading may turn between two frames, degrees (times the frames between, "
        "across frames with no person): after the temporal model, frame by frame in order, each answer is turned "
        "about the camera's vertical axis towards the model's heading by at most this, so the mesh never flips "
        "round between two frames (a flip: a turn above 90 degrees). Causal. 0: no limit. The default is above any "
        "real person's turn between two frames at 10 fps or more.",
    )
    include_single_frame: bool = Field(False, description="Also return the unsmoothed per-frame results.")
    include_vertices: bool = Field(False, description="Also return (V, 3) mesh vertices per frame.")

    @field_validator("track")
    @classmethod
    def _track(cls, v: list[list[float] | None] | None) -> list[list[float] | None] | None:
        return _check_boxes(v, "track")


class TextureParams(BaseModel):
    """Non-file fields of ``POST /v1/texture``."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["glb", "obj", "png"] = Field(
        "glb", description="glb: binary glTF; obj: zip of OBJ+MTL+PNG; png: a rendered view."
    )
    box: BoxList | None = Field(None, description="Person box [x0, y0, w, h] in the image; null: the whole image.")
    yaw: float = Field(
        0.0, ge=-360.0, le=360.0, description="png only: turn of the body about the vertical axis, degrees."
    )
    size: int | None = Field(
        None,
        ge=16,
        le=4096,
        description="png only: side of the rendered image in pixels, at most the server's max_render_size (422 beyond, "
        "for any format); not given: 512, or max_render_size when smaller.",
    )

    @field_validator("box")
    @classmethod
    def _box(cls, v: list[float] | None) -> list[float] | None:
        to_box(v, "box")
        return v


# ---------------------------------------------------------------------------------------- responses
class ErrorResponse(BaseModel):
    """Every error answer."""

    error: str = Field(description="Machine-readable code, e.g. 'undecodable_image'.", examples=["undecodable_image"])
    detail: str = Field(
        description="What was wrong and what is accepted.", examples=["images[0] is not a decodable image"]
    )
    items: list[dict[str, Any]] | None = Field(None, description="Per-item errors when every item of a request failed.")


class ItemError(BaseModel):
    """A failed item of a multi-item request (the others still succeed)."""

    index: int = Field(description="Position of the item in the request.")
    ok: Literal[False] = False
    status: int = Field(description="The HTTP status this item alone would have had.", examples=[415])
    error: str = Field(examples=["undecodable_image"])
    detail: str


class CameraJson(BaseModel):
    weak: list[float] = Field(description="Weak-perspective [s, tx, ty] of the padded square crop.")
    translation: list[float] = Field(description="[tx, ty, tz] in metres (OpenCV camera frame).")
    focal: float = Field(description="Focal length in pixels.")
    principal: list[float] = Field(description="Principal point (x, y) in the uploaded image's pixels.")


class Joints3dJson(BaseModel):
    smpl24: list[list[float]] = Field(description="(24, 3) SMPL-layout joints, camera frame, metres.")
    coco17: list[list[float]] = Field(description="(17, 3) COCO keypoints, camera frame, metres.")


class Keypoints2dJson(BaseModel):
    coco17: list[list[float]] = Field(description="(17, 2) COCO keypoints (x, y) in the uploaded image's pixels.")


class SmplResult(BaseModel):
    """Body parameters of one person."""

    index: int = Field(description="Position of the image (or frame) in the request.")
    ok: Literal[True] = True
    betas: list[float] = Field(description="(10,) shape coefficients of the body model.")
    pose: list[list[float]] = Field(
        description="(24, 3) axis-angle joint rotations; joint 0 = global orientation (camera axes)."
    )
    camera: CameraJson
    joints3d: Joints3dJson
    keypoints2d: Keypoints2dJson
    vertices: list[list[float]] | None = Field(None, description="(V, 3) camera-frame vertices when requested.")
    resolution_index: int = Field(description="Resolution range used (0 = full resolution).")
    crop_size: int = Field(description="Side max(H, W) of the person crop in pixels.")
    crop_box: list[int] = Field(description="[x0, y0, w, h]: the pixels of the uploaded image used as the crop.")
    cut: bool | None = Field(
        None,
        description="The cut flag given with the person (the request's 'cut', else the service's rule: the box "
        "reaches the image's bottom row); a network without a cut input (GET /v1/models network.cut_input) "
        "ignores it. null where the endpoint reads every person as whole.",
    )
    flip_disagreement: float | None = Field(
        None,
        description=(
            "With the flip test on (RSCNET_FLIP_TEST, /v1/models network.flip_test), the mean distance in metres "
            "between the body joints answered for the crop and for its mirror image: a confidence signal, larger "
            "means less reliable. null when the flip test is off."
        ),
    )
    timings_ms: dict[str, float] = Field(
        description="decode: decoding and cropping; inference: queue wait plus forward pass."
    )


class SmplResponse(BaseModel):
    """``POST /v1/smpl``: one entry per image, in upload order."""

    body_model: str = Field(examples=["free-smpl-layout"])
    body_model_id: str = Field(examples=["free-smpl-layout:c396bc99c5ec44d6"])
    checkpoint_id: str = Field(examples=["untrained-seed0"])
    is_trained: bool
    results: list[SmplResult | ItemError]


class SequenceFrame(BaseModel):
    """One frame of a sequence answer."""

    index: int
    ok: Literal[True] = True
    smoothed: SmplResult
    single_frame: SmplResult | None = None


class TemporalModelJson(BaseModel):
    name: str = Field(examples=["gru", "gaussian-chordal"])
    kind: Literal["filter", "gru"] = Field(
        description="'gru': RSC-Net's temporal module; 'filter': Gaussian smoothing of per-frame predictions."
    )
    sigma: float | None = None
    max_turn_deg: float | None = Field(
        None, description="The turn limit per frame applied after the model, degrees; absent: no limit."
    )
    checkpoint_id: str | None = Field(None, description="The GRU checkpoint's id (kind 'gru').")
    bidirectional: bool | None = Field(None, description="Whether the GRU reads future frames (kind 'gru').")
    description: str
    gru_note: str | None = Field(
        None,
        description="Kind 'filter' while no GRU is loaded: why not (e.g. the committed GRU was trained on another "
        "backbone than the served network). Absent when the filter was asked for and a GRU is loaded.",
    )


class SequenceWarning(BaseModel):
    """One entry of ``warnings`` in a ``/v1/sequence`` answer."""

    code: str = Field(examples=["truncated_video"])
    detail: str
    declared_frames: int | None = Field(None, description="Frames the video's header states.")
    decoded_frames: int | None = Field(None, description="Frames that could be decoded.")


class SequenceResponse(BaseModel):
    """``POST /v1/sequence``: one entry per frame, in order."""

    body_model: str
    body_model_id: str
    checkpoint_id: str
    is_trained: bool
    temporal_model: TemporalModelJson
    num_frames: int
    frames: list[SequenceFrame | ItemError]
    warnings: list[SequenceWarning] = Field(
        default_factory=list,
        description="What the answer leaves out and why (e.g. a truncated video); empty when nothing.",
    )


class HealthResponse(BaseModel):
    """``GET /healthz``."""

    status: Literal["alive"] = "alive"


class ReadyResponse(BaseModel):
    """``GET /readyz`` when ready."""

    status: Literal["ready"] = "ready"
    device: str = Field(examples=["cpu"])
    body_model: str = Field(examples=["free-smpl-layout"])
    checkpoint_id: str = Field(examples=["untrained-seed0"])


class NotReadyResponse(BaseModel):
    """``GET /readyz`` while loading, warming up, failed or shutting down (503)."""

    error: str = Field(examples=["not_ready"])
    detail: str
    status: str = Field(description="starting, loading, warming_up, failed or stopping.", examples=["loading"])
    device: str | None = None


class ModelsResponse(BaseModel):
    """``GET /v1/models``: what is loaded (see the example)."""

    model_config = ConfigDict(extra="allow")

    status: str
    body_model: dict[str, Any]
    checkpoint: dict[str, Any]
    network: dict[str, Any]
    modules: dict[str, Any]
    batching: dict[str, Any]
    limits: dict[str, Any]
    versions: dict[str, Any]


# ---------------------------------------------------------------------------------------- builders
def item_error_json(index: int, status: int, code: str, detail: str) -> dict[str, Any]:
    """An :class:`ItemError` as a dict."""
    return {"index": index, "ok": False, "status": status, "error": code, "detail": detail}


def prediction_json(
    pred: Prediction,
    *,
    index: int,
    offset: tuple[int, int],
    crop_box: tuple[int, int, int, int],
    timings_ms: dict[str, float],
    cut: bool | None = None,
) -> dict[str, Any]:
    """A :class:`SmplResult` dict; ``offset`` ``(x, y)`` moves crop pixels to uploaded-image pixels."""
    ox, oy = offset
    kp = pred.keypoints2d_coco17.astype("float64")
    kp[:, 0] += ox
    kp[:, 1] += oy
    principal = [float(pred.principal[0]) + ox, float(pred.principal[1]) + oy]
    return {
        "index": index,
        "ok": True,
        "betas": pred.betas.tolist(),
        "pose": pred.pose.tolist(),
        "camera": {
            "weak": pred.camera_weak.tolist(),
            "translation": pred.translation.tolist(),
            "focal": float(pred.focal),
            "principal": principal,
        },
        "joints3d": {"smpl24": pred.joints3d_smpl24.tolist(), "coco17": pred.joints3d_coco17.tolist()},
        "keypoints2d": {"coco17": kp.tolist()},
        "vertices": None if pred.vertices is None else pred.vertices.tolist(),
        "resolution_index": int(pred.resolution_index),
        "crop_size": int(pred.input_size),
        "crop_box": [int(v) for v in crop_box],
        "cut": cut,
        "flip_disagreement": None if pred.flip_disagreement is None else round(float(pred.flip_disagreement), 6),
        "timings_ms": {k: round(float(v), 3) for k, v in timings_ms.items()},
    }
