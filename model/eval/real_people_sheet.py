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

from model.data.real_people import DEFAULT_ROOT, load_real_people, real_crop_at_height
from model.eval.real_people import knee_flexion_deg
from model.geometry.rotations import axis_angle_to_matrix
from model.inference import Predictor

__all__ = ["COCO17_EDGES", "render_sheet"]

#: COCO-17 limbs ``(joint, joint)``; left-side limbs first in each pair of sides.
COCO17_EDGES = ((5, 7), (7, 9), (11, 13), (13, 15), (5, 11), (6, 8), (8, 10), (12, 14), (14, 16), (6, 12), (5, 6), (11, 12), (0, 5), (0, 6))
_LEFT = {5, 7, 9, 11, 13, 15}
_RIGHT = {6, 8, 10, 12, 14, 16}
#: SMPL-24 bones for the side view (parent, child).
_SMPL_BONES = ((0, 1), (0, 2), (0, 3), (1, 4), (2, 5), (3, 6), (4, 7), (5, 8), (6, 9), (9, 12), (12, 15), (9, 13), (9, 14), (13, 16), (14, 17), (16, 18), (17, 19))
_SMPL_LEFT = {1, 4, 7, 13, 16, 18}
_SMPL_RIGHT = {2, 5, 8, 14, 17, 19}
_BLUE, _RED, _GREEN, _GREY = (40, 110, 255), (235, 50, 40), (40, 220, 80), (200, 200, 200)


def _colour(a: int, b: int, left: set[int], right: set[int]) -> tuple[int, int, int]:
    if a in left or b in left:
        return _BLUE
    if a in right or b in right:
        return _RED
    return _GREY


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
        draw.line([tuple(kp[a]), tuple(kp[b])], fill=_colour(a, b, _LEFT, _RIGHT), width=2)
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
        draw.line([pts[a], pts[b]], fill=_colour(a, b, _SMPL_LEFT, _SMPL_RIGHT), width=2)
    return canvas


def render_sheet(predictor: Predictor, height: int, root: Path = DEFAULT_ROOT, tile: int = 160, columns: int = 5) -> Image.Image:
    """The contact sheet (see the module docstring) of every person under ``root``."""
    people = load_real_people(root, usable_only=False)
    crops = [real_crop_at_height(p, height)[0] for p in people]
    scales = [real_crop_at_height(p, height)[1] for p in people]
    preds = predictor.predict(crops, batch_size=16)
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
    return sheet


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.real_people_sheet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="single-frame checkpoint")
    parser.add_argument("--height", type=int, default=32, help="crop height the network sees, pixels (default: %(default)s)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the set's folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="JPEG file (default: <checkpoint folder>/eval/real_people/sheet_<height>px.jpg)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    if not 8 <= args.height <= 4096:
        parser.error(f"--height must be in [8, 4096], got {args.height}")
    torch.set_num_threads(args.threads)
    predictor = Predictor.from_checkpoint(args.checkpoint, device="cpu", precision="fp32")
    sheet = render_sheet(predictor, args.height, args.root)
    out = args.out if args.out is not None else Path(args.checkpoint).parent / "eval" / "real_people" / f"sheet_{args.height}px.jpg"
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=85)
    print(f"wrote {out} ({len(load_real_people(args.root, usable_only=False))} people)")


if __name__ == "__main__":
    main()
