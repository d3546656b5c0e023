"""``python -m model.eval.real_people``: 2D keypoints and 3D plausibility on real person crops.

>>> python -m model.eval.real_people --checkpoint checkpoints/rscnet-cpu/model.pt \\
...     --heights 64,48,32,24 --out checkpoints/rscnet-cpu/eval/real_people

The people are the committed set of :mod:`model.data.real_people` (``checks/real_people``: real
photos and video frames from installed packages, BlazePose pseudo-ground truth reviewed by eye).

2D error
--------
For each person and height ``h``, the native square crop is resized to ``h x h`` (antialiased
bicubic, :func:`~model.data.real_people.real_crop_at_height`) and given to
:class:`~model.inference.Predictor`, which picks its resolution row from that size. Its COCO-17
keypoints, in the small crop's pixels, are mapped back to native crop pixels (divided by
``h / side``). The score of a person is the mean, over the joints the review kept, of the 2D
distance to the pseudo-ground truth **divided by the height of the person's tight box**
(``box[3]``, native pixels; the crop is 1.2 times the box's longer side): 0.1 means a tenth of the
person's height. The table gives the mean over people. Baselines in the same table:

* *mean skeleton*: the body model's mean pose (:class:`~model.body.model.MeanParams`, zero
  betas) seen from the front, its mesh scaled to the box height, top at the box top and centred
  across; the same placement for every person, nothing fitted (:func:`place_skeleton_in_box`).
  It depends only on the box, so it scores the same at every height.
* *BlazePose on the degraded crop*: BlazePose-full run on the ``h`` px crop brought back up to the
  native size bicubically, read from ``blazepose_degraded.json`` (made in mediapipe's own
  environment by ``checks/real_people/blazepose.py degraded``); a failed detection scores
  :data:`FAILED_DETECTION_SCORE`.

3D plausibility
---------------
For every person whose activity is ``standing`` or ``walking`` (reviewed keypoints not needed),
the predicted knee flexion: the rotation angle of each knee joint (SMPL joints 4 and 5, the norm
of its axis-angle), degrees, at each height and on the native crop. A crop passes when both knees
are under :data:`KNEE_PASS_DEG`. The counter-check: every ``sitting`` person should keep both knees
bent more than :data:`SEATED_KNEE_MIN_DEG` (a network that straightens every leg would pass the
first check and fail this one; most seated crops show the person from the chest up).

Front or back
-------------
For every scored person whose reviewed shoulders and hips say clearly whether they face the camera
(:attr:`~model.data.real_people.RealPerson.facing`), whether the predicted body (its root rotation)
faces the camera too: the share right among people facing it, among people seen from behind, and
their mean (50 % for a network that always answers the same). Left and right follow from it: a body
turned the wrong way puts every left limb where the right one is.

Writes ``real_people.md`` (the tables printed) and ``real_people.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from model.body.joint_names import COCO17_FLIP_PERMUTATION, SMPL_JOINT_NAMES
from model.body.model import BodyModel
from model.data.real_people import (
    DEFAULT_ROOT,
    RealPerson,
    cut_person_box,
    load_real_people,
    real_crop_at_height,
    square_crop_box,
)
from model.geometry.rotations import axis_angle_to_matrix
from model.inference.crops import widen_to_min_side
from model.inference.predictor import Predictor

__all__ = [
    "FAILED_DETECTION_SCORE",
    "FRAMINGS",
    "KNEE_PASS_DEG",
    "SEATED_KNEE_MIN_DEG",
    "RealPeopleConfig",
    "cut_flags",
    "detection_score",
    "display_path",
    "evaluate_real_people",
    "faces_camera",
    "facing_shares",
    "frame_person",
    "knee_flexion_deg",
    "knees_pass",
    "main",
    "mean_skeleton",
    "normalised_error",
    "place_skeleton_in_box",
    "predict_at",
]

#: Score of a person whose detector found nobody (half the person's height).
FAILED_DETECTION_SCORE = 0.5
#: A standing or walking person passes when both knees flex less than this (degrees).
KNEE_PASS_DEG = 30.0
#: Activities whose people must come back with straight legs.
UPRIGHT_ACTIVITIES = ("standing", "walking")
#: A sitting person "stays seated" when both knees flex more than this (degrees).
SEATED_KNEE_MIN_DEG = 45.0
_KNEES = (SMPL_JOINT_NAMES.index("left_knee"), SMPL_JOINT_NAMES.index("right_knee"))


# ---------------------------------------------------------------------------------------- maths
def normalised_error(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, height: float) -> float:
    """Mean 2D distance over the valid joints, divided by ``height``.

    Args:
        pred: ``(J, 2)`` predicted keypoints (pixels).
        gt: ``(J, 2)`` or ``(J, 3)`` ground truth (a third column, e.g. visibility, is ignored).
        valid: ``(J,)`` bool, the joints that count.
        height: the normaliser (pixels, > 0), the person box height here.

    Raises:
        ValueError: no valid joint, a non-positive height or mismatched shapes.
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)[:, :2]
    valid = np.asarray(valid, bool)
    if pred.shape != gt.shape or pred.shape[-1] != 2 or valid.shape != (pred.shape[0],):
        raise ValueError(f"shapes differ: pred {pred.shape}, gt {gt.shape}, valid {valid.shape}")
    if not valid.any():
        raise ValueError("no valid joint")
    if not height > 0:
        raise ValueError(f"height must be positive, got {height}")
    return float(np.linalg.norm(pred[valid] - gt[valid], axis=-1).mean() / height)


def detection_score(
    pred: np.ndarray | None, gt: np.ndarray, valid: np.ndarray, height: float, failed: float = FAILED_DETECTION_SCORE
) -> float:
    """:func:`normalised_error`, or ``failed`` when the detector returned nothing (``None``)."""
    if pred is None:
        return float(failed)
    return normalised_error(np.asarray(pred, np.float64)[:, :2], gt, valid, height)


def knee_flexion_deg(pose: np.ndarray | torch.Tensor) -> np.ndarray:
    """Rotation angle of the left and right knee joints, degrees.

    Args:
        pose: ``(..., 24, 3)`` axis-angle SMPL-layout pose.

    Returns:
        ``(..., 2)`` ``[left, right]`` in ``[0, 180]``.
    """
    pose = pose.detach().cpu().numpy() if isinstance(pose, torch.Tensor) else np.asarray(pose)
    if pose.shape[-2:] != (24, 3):
        raise ValueError(f"pose must be (..., 24, 3) axis-angle, got {pose.shape}")
    angle = np.linalg.norm(pose[..., _KNEES, :].astype(np.float64), axis=-1)
    # An axis-angle vector longer than pi is the same rotation as a shorter one the other way.
    angle = np.remainder(angle, 2 * math.pi)
    angle = np.where(angle > math.pi, 2 * math.pi - angle, angle)
    return np.degrees(angle)


def faces_camera(pose: np.ndarray | torch.Tensor) -> np.ndarray:
    """``(N, 24, 3)`` axis-angle poses -> ``(N,)`` bool: the body's forward axis points towards the
    camera (the camera looks along +z, so the root rotation's forward column has a negative z)."""
    root = torch.as_tensor(np.asarray(pose, dtype=np.float32)[:, 0])
    return (axis_angle_to_matrix(root)[:, 2, 2] < 0).numpy()


def knees_pass(flexion_deg: np.ndarray, limit: float = KNEE_PASS_DEG) -> np.ndarray:
    """``(..., 2)`` knee flexions -> ``(...)`` bool: both knees under ``limit`` degrees."""
    return np.all(np.asarray(flexion_deg) < limit, axis=-1)


def place_skeleton_in_box(
    keypoints: np.ndarray, extent: tuple[float, float, float, float], box: Sequence[float]
) -> np.ndarray:
    """Scale and shift a front-view skeleton so its body fills a person box the same way always.

    Args:
        keypoints: ``(J, 2)`` skeleton keypoints (any units, y down).
        extent: ``(x_min, y_min, x_max, y_max)`` of the whole body (mesh) in the same units.
        box: ``(x0, y0, w, h)`` person box (pixels).

    Returns:
        ``(J, 2)`` pixels: the body's height becomes ``h``, its top sits at ``y0`` and its
        horizontal centre at the box's centre.
    """
    x_min, y_min, x_max, y_max = (float(v) for v in extent)
    if not y_max > y_min:
        raise ValueError(f"extent must have a positive height, got {extent}")
    x0, y0, w, h = (float(v) for v in box)
    scale = h / (y_max - y_min)
    kp = np.asarray(keypoints, np.float64)
    out = np.empty_like(kp)
    out[:, 0] = (kp[:, 0] - (x_min + x_max) / 2.0) * scale + x0 + w / 2.0
    out[:, 1] = (kp[:, 1] - y_min) * scale + y0
    return out


def mean_skeleton(body: BodyModel) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The body model's mean-pose COCO-17 keypoints seen from the front, and its mesh's extent.

    The mean pose's root already turns the body upright in camera axes (x right, y down), so the
    front view is the orthographic ``(x, y)``.

    Returns:
        ``(17, 2)`` keypoints (metres) and ``(x_min, y_min, x_max, y_max)`` of the vertices.
    """
    mean = body.mean_params
    with torch.no_grad():
        out = body(mean.betas[None].float(), mean.pose[None].float())
    verts = out.vertices[0, :, :2].cpu().numpy().astype(np.float64)
    kp = out.coco17[0, :, :2].cpu().numpy().astype(np.float64)
    return kp, (float(verts[:, 0].min()), float(verts[:, 1].min()), float(verts[:, 0].max()), float(verts[:, 1].max()))


# ---------------------------------------------------------------------------------------- evaluation
def display_path(path: Path | str) -> str:
    """``path`` relative to the working directory when it lies under it (reports stay portable)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


KEYPOINT_SOURCES = ("projected", "head")
#: Table-title notes of the framings other than the committed crops.
_FRAMING_TITLES = {"box": ", tight person boxes", "square": ", squares of the box's longer side"}
#: What the network is given of each person (:attr:`RealPeopleConfig.framing`).
FRAMINGS = ("crop", "box", "square")


@dataclass(frozen=True)
class RealPeopleConfig:
    """What to evaluate.

    Attributes:
        heights: crop heights in pixels (each in ``[8, 4096]``).
        root: the set's folder.
        blazepose_file: BlazePose-on-degraded-crops results (default ``root/blazepose_degraded.json``).
        batch_size: crops per network call.
        keypoints: which 2D keypoints are scored: ``"projected"`` (the 3D joints through the
            predicted camera, what the service returns) or ``"head"`` (the network's 2D keypoint
            head, ``NetConfig.keypoint_head``).
        framing: what the network sees of each person. ``"crop"``: the committed square crop, 1.2
            times the box's longer side around it (SPIN's framing, and the training data's:
            ``box_scale`` 1.1-1.35). ``"box"``: the tight person box alone, cut from that crop after
            it is brought to the height (the same pixels on the person), the way the service cuts a
            detector box sent with a frame (a side thinner than the smallest accepted crop widened
            with the frame's pixels); the predictor pads it to a square with black.
            ``"square"``: the square of the box's longer side around it (the frame's own pixels
            beside a thin person instead of black; no margin).
    """

    heights: tuple[int, ...] = (64, 48, 32, 24)
    root: Path = DEFAULT_ROOT
    blazepose_file: Path | None = None
    batch_size: int = 32
    keypoints: str = "projected"
    framing: str = "crop"

    def __post_init__(self) -> None:
        if self.keypoints not in KEYPOINT_SOURCES:
            raise ValueError(f"keypoints must be one of {KEYPOINT_SOURCES}, got {self.keypoints!r}")
        if self.framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {FRAMINGS}, got {self.framing!r}")
        if not self.heights or any(isinstance(h, bool) or not isinstance(h, int) or not 8 <= h <= 4096 for h in self.heights):
            raise ValueError(f"heights must be integers in [8, 4096], got {self.heights}")
        if len(set(self.heights)) != len(self.heights):
            raise ValueError(f"heights repeat: {self.heights}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")

    @property
    def blazepose_path(self) -> Path:
        return self.blazepose_file if self.blazepose_file is not None else Path(self.root) / "blazepose_degraded.json"


def frame_person(
    image: np.ndarray, box: tuple[float, float, float, float], framing: str
) -> tuple[np.ndarray, tuple[int, int]]:
    """What the network is given of a person, as :attr:`RealPeopleConfig.framing` says.

    Args:
        image: the square crop around the person at the size the camera gives, ``(S, S, 3)`` uint8.
        box: the person box ``(x0, y0, w, h)`` in ``image`` pixels.
        framing: one of :data:`FRAMINGS`; ``"crop"`` returns ``image`` itself.

    Returns:
        ``(crop, (left, top))``: the network's input and its top-left corner in ``image`` pixels
        (add it to the input's coordinates to get ``image`` coordinates).
    """
    if framing not in FRAMINGS:
        raise ValueError(f"framing must be one of {FRAMINGS}, got {framing!r}")
    if framing == "crop":
        return image, (0, 0)
    if framing == "square":
        x0, y0, side, _ = square_crop_box(box, 1.0)
        return cut_person_box(image, (x0, y0, side, side))
    # the service's rule: a side thinner than the smallest crop is widened with the frame
    (x0, x1), (y0, y1) = (widen_to_min_side(math.floor(lo), math.ceil(lo + n)) for lo, n in ((box[0], box[2]), (box[1], box[3])))
    return cut_person_box(image, (x0, y0, x1 - x0, y1 - y0))


def cut_flags(people: Sequence[RealPerson]) -> list[bool]:
    """Per person, whether they go on beyond their photo (not :attr:`RealPerson.full_body`: the
    review found head or feet outside the source image) -- the cut flag a network with a cut input
    reads (:attr:`model.nets.config.NetConfig.cut_input`)."""
    return [not p.full_body for p in people]


def predict_at(
    predictor: Predictor,
    people: Sequence[RealPerson],
    height: int | None,
    batch_size: int,
    keypoints: str = "projected",
    framing: str = "crop",
    tell_cut: bool = True,
) -> tuple[list[np.ndarray], list[np.ndarray], list[float | None]]:
    """Keypoints in native crop pixels ``(17, 2)``, poses ``(24, 3)`` and the flip test's
    disagreement (metres, ``None`` without it) per person at ``height`` (``None``: the native crop),
    framed as :attr:`RealPeopleConfig.framing` says.

    A network with a cut input (:attr:`Predictor.cut_input`) is told which people go on beyond
    their photo (:func:`cut_flags`), as a client whose detector box touches the frame's edge tells
    the service; ``tell_cut=False`` leaves every flag 0 (a client that sends none)."""
    crops, scales, offsets = [], [], []
    for p in people:
        image, scale = (p.image(), 1.0) if height is None else real_crop_at_height(p, height)
        image, offset = frame_person(image, tuple(v * scale for v in p.box_in_crop), framing)
        crops.append(image)
        scales.append(scale)
        offsets.append(np.asarray(offset, dtype=np.float64))
    preds = predictor.predict(crops, batch_size=batch_size, cut=cut_flags(people) if tell_cut else None)
    if keypoints == "head" and any(pr.keypoints2d_head_coco17 is None for pr in preds):
        raise ValueError("keypoints='head' needs a network with a 2D keypoint head (NetConfig.keypoint_head)")
    kps = [pr.keypoints2d_head_coco17 if keypoints == "head" else pr.keypoints2d_coco17 for pr in preds]
    native = [(kp + o) / s for kp, o, s in zip(kps, offsets, scales)]
    return native, [pr.pose for pr in preds], [pr.flip_disagreement for pr in preds]


def evaluate_real_people(predictor: Predictor, config: RealPeopleConfig, progress: bool = True) -> dict[str, Any]:
    """Scores of the network and both baselines, and the knee check (JSON-ready)."""
    people = load_real_people(config.root, usable_only=True)
    everyone = load_real_people(config.root, usable_only=False)
    upright = [p for p in everyone if p.activity in UPRIGHT_ACTIVITIES]
    seated = [p for p in everyone if p.activity == "sitting"]
    blaze = json.loads(config.blazepose_path.read_text())
    missing = [h for h in config.heights if str(h) not in next(iter(blaze["keypoints"].values()))]
    if missing:
        raise ValueError(f"{config.blazepose_path} has no BlazePose results at heights {missing}; rerun its command")

    skel, extent = mean_skeleton(predictor.body_model)
    mean_scores = [normalised_error(place_skeleton_in_box(skel, extent, p.box_in_crop), p.keypoints, p.valid, p.box_height) for p in people]

    columns: list[int | None] = [None, *config.heights]
    net: dict[str, list[float]] = {}
    swapped: dict[str, list[float]] = {}  # the network's keypoints with left and right labels swapped
    blazepose: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    knees: dict[str, list[list[float]]] = {}
    seated_knees: dict[str, list[list[float]]] = {}
    disagreement: dict[str, list[float | None]] = {}
    facing_truth = [p.facing for p in people]
    facing_net: dict[str, list[bool | None]] = {}
    for h in tqdm(columns, desc="heights", disable=not progress):
        key = "native" if h is None else str(h)
        kps, people_poses, disagreement[key] = predict_at(predictor, people, h, config.batch_size, config.keypoints, config.framing)
        facing_net[key] = [bool(f) if t is not None else None for f, t in zip(faces_camera(np.stack(people_poses)), facing_truth)]
        net[key] = [normalised_error(kp, p.keypoints, p.valid, p.box_height) for kp, p in zip(kps, people)]
        swapped[key] = [normalised_error(kp[list(COCO17_FLIP_PERMUTATION)], p.keypoints, p.valid, p.box_height) for kp, p in zip(kps, people)]
        _, poses, _ = predict_at(predictor, upright, h, config.batch_size, framing=config.framing)
        knees[key] = knee_flexion_deg(np.stack(poses)).tolist()
        if seated:
            _, poses, _ = predict_at(predictor, seated, h, config.batch_size, framing=config.framing)
            seated_knees[key] = knee_flexion_deg(np.stack(poses)).tolist()
        if h is not None:
            entries = [blaze["keypoints"][p.id][key] for p in people]
            blazepose[key] = [
                detection_score(None if e is None else np.asarray(e), p.keypoints, p.valid, p.box_height) for e, p in zip(entries, people)
            ]
            failed[key] = sum(e is None for e in entries)

    knee_pass = {k: knees_pass(np.asarray(v)).tolist() for k, v in knees.items()}
    return {
        "checkpoint": display_path(predictor.checkpoint_path) if predictor.checkpoint_path else None,
        "checkpoint_id": predictor.checkpoint_id,
        "flip_test": predictor.flip_test,
        "cut_flags": "review (not full_body)" if predictor.cut_input else None,
        "keypoints": config.keypoints,
        "framing": config.framing,
        "body_model": predictor.model_id,
        "normaliser": "person box height (box[3], native pixels)",
        "people": [p.id for p in people],
        "person_ids": [p.person_id for p in people],
        "full_body": [p.full_body for p in people],
        "heights": list(config.heights),
        "error": {"network": net, "network_swapped": swapped, "mean_skeleton": mean_scores, "blazepose_degraded": blazepose},
        "flip_disagreement_m": disagreement if predictor.flip_test else None,
        "blazepose_failed": failed,
        "blazepose_source": {"file": display_path(config.blazepose_path), "model": blaze.get("model"), "command": blaze.get("command")},
        "facing": {"truth": facing_truth, "network": facing_net},
        "knees": {
            "people": [p.id for p in upright],
            "person_ids": [p.person_id for p in upright],
            "activity": [p.activity for p in upright],
            "full_body": [p.full_body for p in upright],
            "scored_2d": [p.usable for p in upright],
            "flexion_deg": knees,
            "pass": knee_pass,
            "pass_limit_deg": KNEE_PASS_DEG,
        },
        "seated_knees": {
            "people": [p.id for p in seated],
            "person_ids": [p.person_id for p in seated],
            "full_body": [p.full_body for p in seated],
            "flexion_deg": seated_knees,
            "bent": {k: (np.asarray(v) > SEATED_KNEE_MIN_DEG).all(axis=-1).tolist() for k, v in seated_knees.items()},
            "bent_limit_deg": SEATED_KNEE_MIN_DEG,
        },
    }


# ---------------------------------------------------------------------------------------- report
def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def _per_identity_mean(values: Sequence[float], ids: Sequence[str]) -> float:
    """Mean over identities of the mean over each identity's crops (repeated frames weigh once)."""
    groups: dict[str, list[float]] = {}
    for v, i in zip(values, ids):
        groups.setdefault(i, []).append(float(v))
    return _mean([float(np.mean(g)) for g in groups.values()])


def facing_shares(answers: Sequence[bool | None], truth: Sequence[bool | None]) -> dict[str, float | int]:
    """Share of the people with a known facing answered right: among those facing the camera
    (``front``), those seen from behind (``back``), the mean of the two (``balanced``), and the
    counts ``n_front`` / ``n_back``."""
    pairs = [(a, t) for a, t in zip(answers, truth) if t is not None]
    front = [a == t for a, t in pairs if t]
    back = [a == t for a, t in pairs if not t]
    f, b = _mean(front), _mean(back)
    return {"front": f, "back": b, "balanced": 0.5 * (f + b), "n_front": len(front), "n_back": len(back)}


def _facing_table(result: dict[str, Any], keys: list[str]) -> list[str]:
    fc = result.get("facing")
    if not fc or all(t is None for t in fc["truth"]):  # reports written before it, or a set without clear views
        return []
    shares = {k: facing_shares(fc["network"][k], fc["truth"]) for k in keys}
    first = shares[keys[0]]
    lines = [
        "",
        f"## Front or back: does the predicted body face the camera as the person does? ({first['n_front']} crops facing the camera,"
        f" {first['n_back']} seen from behind, by the reviewed shoulders and hips)",
        "",
        "| people | " + " | ".join("native" if k == "native" else f"{k} px" for k in keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for name, label in (("front", "facing the camera, answered right"), ("back", "seen from behind, answered right"),
                        ("balanced", "mean of the two (50 % for a constant answer)")):
        lines.append(f"| {label} | " + " | ".join(f"{100 * shares[k][name]:.0f} %" for k in keys) + " |")
    return lines


def format_tables(result: dict[str, Any]) -> str:
    """Markdown tables of :func:`evaluate_real_people`'s result."""
    heights = [str(h) for h in result["heights"]]
    err = result["error"]
    n = len(result["people"])
    ids = result.get("person_ids", result["people"])
    full = np.asarray(result["full_body"], bool)
    n_ids, n_full_ids = len(set(ids)), len({i for i, f in zip(ids, full) if f})
    lines = [
        (
            f"## Real people: 2D keypoint error / person box height ({n} crops of {n_ids} people, {int(full.sum())} full-body crops"
            f" of {n_full_ids} people; checkpoint {result['checkpoint_id']}{', flip test' if result.get('flip_test') else ''}"
            f"{', keypoint head' if result.get('keypoints') == 'head' else ''}"
            f"{_FRAMING_TITLES.get(result.get('framing', 'crop'), '')})"
        ),
        "",
        "| method | native | " + " | ".join(f"{h} px" for h in heights) + " |",
        "|---|---|" + "---|" * len(heights),
    ]
    lines.append("| network | " + " | ".join(f"{_mean(err['network'][k]):.3f}" for k in ["native", *heights]) + " |")
    lines.append(
        "| network, full-body crops only | "
        + " | ".join(f"{_mean(np.asarray(err['network'][k])[full].tolist()):.3f}" for k in ["native", *heights])
        + " |"
    )
    if "network_swapped" in err:  # reports written before it lack this row
        cells = [f"{_mean(err['network_swapped'][k]):.3f} ({int(np.sum(np.asarray(err['network_swapped'][k]) < np.asarray(err['network'][k])))}/{n} closer)"
                 for k in ["native", *heights]]
        lines.append("| network, left and right labels swapped (crops closer to the truth swapped) | " + " | ".join(cells) + " |")
    ms = _mean(err["mean_skeleton"])
    ms_full = _mean(np.asarray(err["mean_skeleton"])[full].tolist())
    lines.append("| (i) mean skeleton in the box | " + " | ".join(f"{ms:.3f}" for _ in ["native", *heights]) + " |")
    lines.append("| (i) mean skeleton, full-body crops only | " + " | ".join(f"{ms_full:.3f}" for _ in ["native", *heights]) + " |")
    lines.append(
        "| (ii) BlazePose on the degraded crop (failed = 0.5) | - | "
        + " | ".join(f"{_mean(err['blazepose_degraded'][k]):.3f} ({result['blazepose_failed'][k]}/{n} failed)" for k in heights)
        + " |"
    )
    lines.append(
        "| (ii) BlazePose, full-body crops only | - | "
        + " | ".join(f"{_mean(np.asarray(err['blazepose_degraded'][k])[full].tolist()):.3f}" for k in heights)
        + " |"
    )
    lines.append(
        "| network, per person (a person's crops averaged first) | "
        + " | ".join(f"{_per_identity_mean(err['network'][k], ids):.3f}" for k in ["native", *heights])
        + " |"
    )
    msp = _per_identity_mean(err["mean_skeleton"], ids)
    lines.append("| (i) mean skeleton, per person | " + " | ".join(f"{msp:.3f}" for _ in ["native", *heights]) + " |")
    lines.append(
        "| (ii) BlazePose, per person | - | "
        + " | ".join(f"{_per_identity_mean(err['blazepose_degraded'][k], ids):.3f}" for k in heights)
        + " |"
    )
    src = result["blazepose_source"]
    lines += [
        "",
        f"Normaliser: {result['normaliser']}. Baseline (ii) from `{src['file']}` ({src['model']}; made by `{src['command']}`).",
        "",
        "### Per crop (network)",
        "",
        "| crop | person | full body | native | " + " | ".join(f"{h} px" for h in heights) + " | mean skeleton |",
        "|---|---|---|---|" + "---|" * (len(heights) + 1),
    ]
    for i, pid in enumerate(result["people"]):
        vals = " | ".join(f"{err['network'][k][i]:.3f}" for k in ["native", *heights])
        lines.append(f"| {pid} | {ids[i]} | {'yes' if full[i] else 'no'} | {vals} | {err['mean_skeleton'][i]:.3f} |")
    lines += _facing_table(result, ["native", *heights])
    kn = result["knees"]
    keys = ["native", *heights]
    kids = kn.get("person_ids", kn["people"])
    lines += [
        "",
        (
            f"## 3D plausibility: knee flexion of standing/walking people, degrees [left / right] (pass: both < {kn['pass_limit_deg']:.0f};"
            f" {len(kn['people'])} crops of {len(set(kids))} people)"
        ),
        "",
        "| crop | person | activity | full body | 2D-scored | " + " | ".join("native" if k == "native" else f"{k} px" for k in keys) + " |",
        "|---|---|---|---|---|" + "---|" * len(keys),
    ]
    acts = kn.get("activity", ["" for _ in kn["people"]])
    for i, pid in enumerate(kn["people"]):
        cells = []
        for k in keys:
            left, right = kn["flexion_deg"][k][i]
            cells.append(f"{left:.0f} / {right:.0f} {'pass' if kn['pass'][k][i] else 'FAIL'}")
        lines.append(
            f"| {pid} | {kids[i]} | {acts[i]} | {'yes' if kn['full_body'][i] else 'no'} | {'yes' if kn['scored_2d'][i] else 'no'} | "
            + " | ".join(cells)
            + " |"
        )
    m = len(kn["people"])
    lines.append("| **pass rate** | | | | | " + " | ".join(f"{sum(kn['pass'][k])}/{m}" for k in keys) + " |")
    sk = result.get("seated_knees")
    if sk and sk["people"]:
        n = len(sk["people"])
        lines += [
            "",
            (
                f"## Counter-check: sitting people stay seated, knee flexion in degrees [left / right] (bent: both > {sk['bent_limit_deg']:.0f};"
                f" {n} crops of {len(set(sk['person_ids']))} people)"
            ),
            "",
            "| crop | person | full body | " + " | ".join("native" if k == "native" else f"{k} px" for k in keys) + " |",
            "|---|---|---|" + "---|" * len(keys),
        ]
        for i, pid in enumerate(sk["people"]):
            cells = [f"{sk['flexion_deg'][k][i][0]:.0f} / {sk['flexion_deg'][k][i][1]:.0f} {'bent' if sk['bent'][k][i] else 'STRAIGHT'}" for k in keys]
            lines.append(f"| {pid} | {sk['person_ids'][i]} | {'yes' if sk['full_body'][i] else 'no'} | " + " | ".join(cells) + " |")
        lines.append("| **seated rate** | | | " + " | ".join(f"{sum(sk['bent'][k])}/{n}" for k in keys) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m model.eval.real_people",
        description="2D keypoint error and knee plausibility on the committed real person crops, with baselines.",
    )
    parser.add_argument("--checkpoint", required=True, help="single-frame checkpoint (e.g. checkpoints/rscnet-cpu/model.pt)")
    parser.add_argument("--heights", default="64,48,32,24", help="crop heights in pixels, comma-separated")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the set's folder (default: %(default)s)")
    parser.add_argument("--blazepose", type=Path, default=None, help="BlazePose-on-degraded results (default: ROOT/blazepose_degraded.json)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <checkpoint folder>/eval/real_people)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", help="auto, fp32, bf16 or fp16 (CUDA)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--flip-test", action="store_true", help="flip test-time augmentation (model.inference.flip_test)")
    parser.add_argument("--keypoints", choices=KEYPOINT_SOURCES, default="projected",
                        help="score the projected 3D joints or the network's 2D keypoint head (default: %(default)s)")
    parser.add_argument("--framing", choices=FRAMINGS, default="crop",
                        help="crop: the committed squares, 1.2 x the box; box: the tight person box alone, as the "
                             "service cuts a detector box; square: the square of the box's longer side "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    config = RealPeopleConfig(
        heights=tuple(int(h) for h in args.heights.split(",") if h.strip()), root=args.root, blazepose_file=args.blazepose,
        keypoints=args.keypoints, framing=args.framing,
    )
    predictor = Predictor.from_checkpoint(args.checkpoint, device=args.device, precision=args.precision, flip_test=args.flip_test)
    result = evaluate_real_people(predictor, config)
    tables = format_tables(result)
    print(tables)
    out = args.out if args.out is not None else Path(args.checkpoint).parent / "eval" / "real_people"
    out.mkdir(parents=True, exist_ok=True)
    (out / "real_people.md").write_text(tables)
    (out / "real_people.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out / 'real_people.md'} and {out / 'real_people.json'}")


if __name__ == "__main__":
    main()
