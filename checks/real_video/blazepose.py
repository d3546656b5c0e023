"""BlazePose pseudo-ground truth for the real-video clips, and their contact sheet.

Runs in mediapipe's own environment (see ``checks/real_people/blazepose.py``)::

    .venv-mediapipe/bin/python checks/real_video/blazepose.py pseudo-gt   # clips.json keypoints + contact_sheet.png
    .venv-mediapipe/bin/python checks/real_video/blazepose.py sheet       # only redraw the sheet

BlazePose-full (``model_complexity=1``) in **static image mode**, every crop on its own (no
tracking between frames, so its frame-to-frame jitter is that of a per-frame detector, the
single-frame network's situation), through the real-people set's wrapper
(``checks/real_people/blazepose.py``: the 33 landmarks mapped to COCO-17 with
:data:`model.data.real_people.COCO17_FROM_BLAZEPOSE33`). Keypoints are written in saved-crop
pixels with BlazePose's visibility; a joint is valid when its visibility is at least
``--min-visibility``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

_REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "real_people_blazepose", _REPO / "checks" / "real_people" / "blazepose.py"
)
assert _spec is not None and _spec.loader is not None
_still = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_still)  # puts the repository root on sys.path and model.body.joint_names in without torch
sys.modules.setdefault("real_people_blazepose", _still)

from model.data.real_video import DEFAULT_ROOT, MIN_VISIBILITY, RealFrame, load_real_clips  # noqa: E402

BlazePose = _still.BlazePose
MODEL_COMPLEXITY = _still.MODEL_COMPLEXITY


def pseudo_gt(root: Path, min_visibility: float) -> None:
    """Keypoints of every frame's crop into ``clips.json``."""
    data = json.loads((root / "clips.json").read_text())
    pose = BlazePose()
    failed: dict[str, list[int]] = {}
    for c in data["clips"]:
        failed[c["id"]] = []
        for entry in tqdm(c["frames"], desc=f"BlazePose {c['id']}"):
            rgb = cv2.cvtColor(cv2.imread(str(root / "crops" / entry["file"]), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            kp = pose(rgb)
            entry["keypoints"] = None if kp is None else np.round(kp, 2).tolist()
            if kp is None:
                failed[c["id"]].append(entry["frame"])
    pose.close()
    data["pseudo_gt"] = {
        "model": f"mediapipe {pose.version} BlazePose-full (model_complexity={MODEL_COMPLEXITY}), static image mode, every frame on its own",
        "valid_rule": f"visibility >= {min_visibility}",
        "min_visibility": min_visibility,
    }
    (root / "clips.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"keypoints written to {root / 'clips.json'}; frames without a detection: {failed}")


def draw(frame: RealFrame, tile: int, label: str) -> np.ndarray:
    """The crop at ``tile x tile`` with its person box (grey) and skeleton (left blue, right red,
    centre green; joints under the visibility threshold as hollow circles)."""
    s = tile / frame.crop_side
    img = cv2.resize(cv2.cvtColor(frame.image(), cv2.COLOR_RGB2BGR), (tile, tile), interpolation=cv2.INTER_AREA)
    x0, y0, w, h = frame.box
    cx, cy = frame.crop_box[:2]
    k = frame.crop_scale * s
    cv2.rectangle(
        img,
        (int((x0 - cx) * k), int((y0 - cy) * k)),
        (int((x0 - cx + w) * k), int((y0 - cy + h) * k)),
        (160, 160, 160),
        1,
    )
    if frame.detected:
        _still.draw_skeleton(img, frame.keypoints, frame.valid, s)
    else:
        label += " [none]"
    cv2.rectangle(img, (0, tile - 14), (tile, tile), (0, 0, 0), -1)
    cv2.putText(img, label, (2, tile - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def contact_sheet(root: Path, tile: int, cols: int, every: int) -> Path:
    """Every ``every``-th frame of each clip (and its last) with its skeleton, to contact_sheet.png."""
    tiles = []
    for clip in load_real_clips(root):
        picked = list(clip.frames[::every])
        if picked[-1] is not clip.frames[-1]:
            picked.append(clip.frames[-1])
        tiles += [draw(f, tile, f"{clip.id} {f.frame}") for f in picked]
    return _still.save_sheet(tiles, cols, root / "contact_sheet.png")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the set's folder (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    gt = sub.add_parser("pseudo-gt", help="keypoints of every crop into clips.json, then the contact sheet")
    gt.add_argument(
        "--min-visibility", type=float, default=MIN_VISIBILITY, help="BlazePose visibility for a valid joint"
    )
    sheet = sub.add_parser("sheet", help="only redraw contact_sheet.png")
    for p in (gt, sheet):
        p.add_argument("--tile", type=int, default=150, help="tile side in the contact sheet (pixels)")
        p.add_argument("--cols", type=int, default=8, help="tiles per row")
        p.add_argument("--every", type=int, default=4, help="draw every n-th frame of each clip")
    args = parser.parse_args(argv)
    if args.command == "pseudo-gt":
        pseudo_gt(args.root, args.min_visibility)
    contact_sheet(args.root, args.tile, args.cols, args.every)


if __name__ == "__main__":
    main()
