"""How much of the mirror twin shows in the pixels: each scene rendered with its pose and with its twin's.

``python -m benchmarks.data.twin_visibility [--samples 200] [--sizes 224,64,32] [--control-deg 10]``

Every network measured answers as close to the depth-mirror twin of the truth as to the truth
(``benchmarks/train/CHIRALITY.md``). Either the network does not learn what tells the two apart, or
the generator's pictures hardly hold it. This benchmark asks the second question. For people of the
own test's generator (the test seed) it renders each scene three times with everything the same --
identity, outfit, camera, light, background, occluder, second person, and the pelvis at the same
point of the camera frame (``SceneParams.cam_t``) -- except the pose:

* **truth**: the scene's pose;
* **twin**: its depth mirror (:func:`model.body.symmetry.depth_mirror_rotmat`: left and right
  swapped, the body turned to face the other way, the same 2D points);
* **control**: the truth with every body joint turned by ``--control-deg`` degrees about a random
  axis (a small change of pose that a network is expected to see).

and reports, at each size (the 224-px render brought down bicubically), the mean absolute pixel
difference (0-255 levels) of the twin and of the control from the truth inside the union of the two
silhouettes, their ratio, and the share of people whose twin differs less than their control; also
the silhouettes' IoU and, as a check of the construction, how far the twin's 2D keypoints lie from
the truth's with left and right swapped (pixels at 224) and its joints from the mirror twin of the
truth's (PA-MPJPE, mm). Per pose family too. Writes ``--out`` (Markdown) and its JSON twin.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from benchmarks.report import publish, run_meta
from model.body.joint_names import COCO17_FLIP_PERMUTATION, LSP14_FLIP_PERMUTATION
from model.data.degrade import bicubic_resize
from model.data.poses import FAMILIES
from model.data.synthetic import SceneParams, SyntheticConfig, SyntheticPeople
from model.data.twins import twin_scene
from model.eval.evaluate import TEST_CROP, TEST_SEED
from model.eval.metrics import mirror_twin, pa_mpjpe
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

DEFAULT_OUT = Path(__file__).resolve().parent / "TWIN_VISIBILITY.md"


def control_scene(scene: SceneParams, degrees: float, generator: torch.Generator) -> SceneParams:
    """The scene with every body joint (not the root) turned by ``degrees`` about a random axis."""
    axis = torch.randn(23, 3, generator=generator)
    axis = axis / axis.norm(dim=-1, keepdim=True)
    turn = axis_angle_to_matrix(axis * math.radians(degrees))
    rot = axis_angle_to_matrix(scene.body_pose.float())
    rot = torch.cat([rot[:1], rot[1:] @ turn])
    return dataclasses.replace(scene, body_pose=matrix_to_axis_angle(rot))


def _difference(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor, size: int) -> torch.Tensor:
    """Mean absolute difference (0-255) of images ``(N, 3, S, S)`` inside ``mask (N, S, S)`` at ``size``."""
    if size != a.shape[-1]:
        a, b = bicubic_resize(a, (size, size)).clamp(0, 1), bicubic_resize(b, (size, size)).clamp(0, 1)
        mask = torch.nn.functional.interpolate(mask[:, None].float(), size=(size, size), mode="area")[:, 0] > 0.25
    diff = (a - b).abs().mean(1) * 255.0
    return (diff * mask).sum((-1, -2)) / mask.sum((-1, -2)).clamp_min(1)


def measure(samples: int, sizes: list[int], control_deg: float, batch: int = 8) -> dict[str, Any]:
    """Per person: ``twin`` and ``control`` differences per size, ``iou``, ``kp_gap``, ``pa_gap`` and ``family``."""
    people = SyntheticPeople(SyntheticConfig(crop_size=TEST_CROP, seed=TEST_SEED))
    gen = torch.Generator().manual_seed(0)
    rows: dict[str, list[torch.Tensor]] = {"iou": [], "kp_gap": [], "pa_gap": [], "family": []}
    for s in sizes:
        rows[f"twin_{s}"], rows[f"control_{s}"] = [], []
    for first in tqdm(range(0, samples, batch), desc="rendering truth, twin and control", unit="batch"):
        scenes = [people.sample_scene(i) for i in range(first, min(first + batch, samples))]
        truth = people.render(scenes)
        placed = [dataclasses.replace(sc, cam_t=t) for sc, t in zip(scenes, truth["cam_t"])]
        twin = people.render([twin_scene(sc) for sc in placed])
        control = people.render([control_scene(sc, control_deg, gen) for sc in placed])
        sil_t, sil_w, sil_c = (r["silhouette"][:, 0] > 0.5 for r in (truth, twin, control))
        rows["iou"].append((sil_t & sil_w).sum((-1, -2)) / (sil_t | sil_w).sum((-1, -2)).clamp_min(1))
        swapped = truth["keypoints2d_coco17"][:, list(COCO17_FLIP_PERMUTATION), :2]
        rows["kp_gap"].append((twin["keypoints2d_coco17"][..., :2] - swapped).norm(dim=-1).mean(-1))
        rows["pa_gap"].append(pa_mpjpe(twin["joints3d_lsp14"].float(), mirror_twin(truth["joints3d_lsp14"].float(), LSP14_FLIP_PERMUTATION)))
        rows["family"].append(truth["family"])
        for s in sizes:
            rows[f"twin_{s}"].append(_difference(truth["image"], twin["image"], sil_t | sil_w, s))
            rows[f"control_{s}"].append(_difference(truth["image"], control["image"], sil_t | sil_c, s))
    return {k: torch.cat(v) for k, v in rows.items()}


def summarise(per_person: dict[str, torch.Tensor], sizes: list[int]) -> dict[str, Any]:
    """Means overall and per pose family."""

    def block(sel: torch.Tensor) -> dict[str, float]:
        out = {"n": int(sel.sum()), "iou": float(per_person["iou"][sel].mean())}
        for s in sizes:
            t, c = per_person[f"twin_{s}"][sel], per_person[f"control_{s}"][sel]
            out[f"twin_{s}"], out[f"control_{s}"] = float(t.mean()), float(c.mean())
            out[f"below_control_{s}"] = float((t < c).float().mean())
        return out

    everyone = torch.ones_like(per_person["family"], dtype=torch.bool)
    result = {"all": block(everyone), "kp_gap_px": float(per_person["kp_gap"].mean()), "pa_gap_mm": float(per_person["pa_gap"].mean()),
              "families": {}}
    for i, name in enumerate(FAMILIES):
        sel = per_person["family"] == i
        if sel.any():
            result["families"][name] = block(sel)
    return result


def render(summary: dict[str, Any], meta: dict[str, Any], sizes: list[int], control_deg: float) -> str:
    lines = [
        "# How much of the mirror twin shows in the pixels",
        "",
        f"`{meta['command']}`",
        "",
        f"{meta['cpu']}, {meta['date']}. {summary['all']['n']} people of the own test's generator (test seed), each rendered"
        f" as itself, as its depth-mirror twin and as a control with every body joint turned by {control_deg:g} degrees; mean"
        " absolute difference from the truth's picture (0-255 levels) inside the union of the two silhouettes. Construction check:"
        f" the twin's 2D keypoints lie {summary['kp_gap_px']:.2f} px (at 224) from the truth's with left and right swapped, its joints"
        f" {summary['pa_gap_mm']:.2f} mm (PA-MPJPE) from the mirror twin of the truth's.",
        "",
        "| people | n | silhouette IoU | " + " | ".join(f"twin / control at {s} px (twin below control)" for s in sizes) + " |",
        "|---|---|---|" + "---|" * len(sizes),
    ]

    def row(name: str, b: dict[str, float]) -> str:
        cells = [f"{b[f'twin_{s}']:.1f} / {b[f'control_{s}']:.1f} ({100 * b[f'below_control_{s}']:.0f} %)" for s in sizes]
        return f"| {name} | {b['n']} | {b['iou']:.3f} | " + " | ".join(cells) + " |"

    lines.append(row("**all**", summary["all"]))
    for name, b in summary["families"].items():
        lines.append(row(name, b))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.data.twin_visibility", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=200, help="people rendered (default: %(default)s)")
    parser.add_argument("--sizes", default="224,64,32", help="comma-separated sizes in pixels (default: %(default)s)")
    parser.add_argument("--control-deg", type=float, default=10.0, help="turn of every body joint in the control (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.samples < 1 or any(s < 8 or s > TEST_CROP for s in sizes) or args.control_deg <= 0:
        parser.error(f"--samples must be >= 1, sizes within 8..{TEST_CROP}, --control-deg > 0")
    torch.set_num_threads(args.threads)
    per_person = measure(args.samples, sizes, args.control_deg)
    summary = summarise(per_person, sizes)
    meta = run_meta("benchmarks.data.twin_visibility", argv, threads=args.threads, samples=args.samples, sizes=sizes, control_deg=args.control_deg)
    publish(args.out, render(summary, meta, sizes, args.control_deg), {"meta": meta, "summary": summary})


if __name__ == "__main__":
    main()
