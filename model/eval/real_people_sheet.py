"""A contact sheet of a network's answers on the committed real people, to look at, not to score.

``python -m model.eval.real_people_sheet --checkpoint checkpoints/rscnet-long/model.pt --height 32``

For every person of ``checks/real_people`` (scored or not) one tile: the native crop with the
network's COCO-17 skeleton predicted from the crop degraded to ``--height`` pixels (left side blue,
right side red) over the reviewed BlazePose keypoints (green dots), and beside it the predicted 3D
joints in the body's own frame (turned back by the predicted global orientation) seen from the
person's right: forward is to the right, up is up, so a standing person is a vertical line and a
crouch a zigzag whatever the heading. The caption gives the id, the activity and the knee flexions
(degrees, left/right) that :mod:`model.eval.real_people` checks. The numbers live in that module's
report; this sheet shows what they summarise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from tqdm import tqdm

from model.body.joint_names import COCO17_EDGES, COCO17_NAMES, SMPL_JOINT_NAMES, SMPL_PARENTS
from model.data.real_people import DEFAULT_ROOT, load_real_people, real_crop_at_height
from model.eval.real_people import knee_flexion_deg
from model.geometry.rotations import axis_angle_to_matrix
from model.inference import Predictor

__all__ = ["render_sheet"]

#: SMPL-24 bones drawn in the side view (every joint to its parent, hands and feet tips left out).
_SMPL_BONES = tuple((p, j) for j, p in enumerate(SMPL_PARENTS) if p >= 0 and j not in (10, 11, 22, 23))
_BLUE, _RED, _GREEN, _GREY = (40, 110, 255), (235, 50, 40), (40, 220, 80), (200, 200, 200)


def _colour(names: tuple[str, ...], a: int, b: int) -> tuple[int, int, int]:
    """Left limbs blue, right limbs red, the rest grey (from the joints' names)."""
    sides = {names[a].split("_")[0], names[b].split("_")[0]}
    return _BLUE if "left" in sides else _RED if "right" in sides else _GREY


def _crop_panel(image: np.ndarray, keypoints: np.ndarray, reference: np.ndarray, valid: np.ndarray, size: int) -> Image.Image:
    h, w = image.shape[:2]
    scale = size / max(h, w)
    panel = Image.fromarray(image).resize((round(w * scale), round(h * scale)), Image.BICUBIC)
    canvas = Image.new("RGB", (size, size))
    canvas.paste(panel, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for (x, y, _), ok in zip(reference, valid):
        if ok and np.isfinite(x):
            draw.ellipse([x * scale - 2, y * scale - 2, x * scale + 2, y * scale + 2], fill=_GREEN)
    kp = keypoints * scale
    for a, b in COCO17_EDGES:
        draw.line([tuple(kp[a]), tuple(kp[b])], fill=_colour(COCO17_NAMES, a, b), width=2)
    return canvas


def _side_panel(joints: np.ndarray, root: np.ndarray, width: int, height: int) -> Image.Image:
    """SMPL-24 joints ``(24, 3)`` (camera frame) turned back by the root rotation ``(3, 3)`` into the
    body frame (y up, facing +z, left +x), seen from the right: forward z -> right, up y -> up."""
    canvas = Image.new("RGB", (width, height), (25, 25, 25))
    draw = ImageDraw.Draw(canvas)
    body = (joints - joints[0]) @ root  # row vectors: x_body = R^T x
    extent = max(float(np.abs(body[:, [1, 2]]).max()), 0.5)
    scale = 0.45 * height / extent
    pts = [(width / 2 + z * scale, height / 2 - y * scale) for _, y, z in body]
    draw.line([(width / 2, 4), (width / 2, height - 4)], fill=(60, 60, 60))
    for a, b in _SMPL_BONES:
        draw.line([pts[a], pts[b]], fill=_colour(SMPL_JOINT_NAMES, a, b), width=2)
    return canvas


def render_sheet(predictor: Predictor, height: int, root: Path = DEFAULT_ROOT, tile: int = 160, columns: int = 5) -> tuple[Image.Image, int]:
    """The contact sheet (see the module docstring) of every person under ``root``, and how many people it shows."""
    people = load_real_people(root, usable_only=False)
    crops, scales = zip(*(real_crop_at_height(p, height) for p in people))
    preds = predictor.predict(list(crops), batch_size=16)
    side_w, caption = tile // 2, 26
    cell_w, cell_h = tile + side_w, tile + caption
    rows = (len(people) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    for i, (person, pred, scale) in enumerate(zip(tqdm(people, desc="tiles"), preds, scales)):
        x0, y0 = (i % columns) * cell_w, (i // columns) * cell_h
        crop = _crop_panel(person.image(), pred.keypoints2d_coco17 / scale, person.keypoints, person.valid, tile)
        sheet.paste(crop, (x0, y0))
        root = axis_angle_to_matrix(torch.as_tensor(pred.pose[0], dtype=torch.float64)).numpy()
        sheet.paste(_side_panel(pred.joints3d_smpl24, root, side_w, tile), (x0 + tile, y0))
        knees = knee_flexion_deg(pred.pose[None])[0]
        draw.text((x0 + 2, y0 + tile + 1), person.id[:30], fill=(255, 255, 255))
        draw.text((x0 + 2, y0 + tile + 13), f"{person.activity}  knees {knees[0]:.0f}/{knees[1]:.0f}", fill=(200, 200, 200))
    return sheet, len(people)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.real_people_sheet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="single-frame checkpoint")
    parser.add_argument("--height", type=int, default=32, help="crop height the network sees, pixels (default: %(default)s)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the set's folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="JPEG file (default: <checkpoint folder>/eval/real_people/sheet_<height>px.jpg)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--flip-test", action="store_true", help="flip test-time augmentation (model.inference.flip_test)")
    args = parser.parse_args(argv)
    if not 8 <= args.height <= 4096:
        parser.error(f"--height must be in [8, 4096], got {args.height}")
    torch.set_num_threads(args.threads)
    predictor = Predictor.from_checkpoint(args.checkpoint, device="cpu", precision="fp32", flip_test=args.flip_test)
    sheet, count = render_sheet(predictor, args.height, args.root)
    out = args.out if args.out is not None else Path(args.checkpoint).parent / "eval" / "real_people" / f"sheet_{args.height}px.jpg"
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=85)
    print(f"wrote {out} ({count} people)")


if __name__ == "__main__":
    main()
