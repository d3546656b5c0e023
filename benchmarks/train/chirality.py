"""Does a network read limbs? Its answers against the truth and against the truth's mirror twin.

``python -m benchmarks.train.chirality --checkpoint C [C2 ...] [--samples 400] [--resolutions 224,32]``

One picture of a body fits two skeletons almost equally well: the true one and its **mirror twin**
(:func:`model.eval.metrics.mirror_twin`, the depth mirror of :mod:`model.body.symmetry`: the same
2D points with left and right swapped, the body facing the other way). Which of the two is in the picture shows only in small things -- which
limb hides which, where the toes and the face point -- and in which image-side arm or leg is the
left one once the facing is known. A network that reads limbs is much closer to the truth than to
its twin; one that does not hedges between them and lands as far from both (for a left/right
symmetric pose the two coincide, for a waving arm or a walking stride they do not).

For each checkpoint (and the constant mean-parameters answer), on people of the own test's generator
rendered at 224 px (the test seed, never trained on) and brought bicubically to each size:

* **3D**: PA-MPJPE (mm, LSP-14) to the truth and to its mirror twin, the share of people whose
  answer is closer to the twin, and the mean of the smaller of the two (what committing to either
  twin would cost at most) -- overall and per pose family;
* **2D**: the projected COCO-17 keypoints (the network's camera) against the true keypoints and
  against the same keypoints with left and right labels swapped, as a fraction of the crop side,
  on the people whose 17 keypoints all lie in the crop; the keypoint head's own answer too when the
  network has one.

Writes ``--out`` (Markdown, default ``benchmarks/train/CHIRALITY.md``) and its JSON twin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from benchmarks.report import checkpoint_parser, parse_resolutions, publish, run_meta
from model.body.joint_names import COCO17_FLIP_PERMUTATION, LSP14_FLIP_PERMUTATION
from model.data.poses import FAMILIES
from model.eval.evaluate import labelled_predictors, network_input, render_test_set
from model.eval.metrics import mirror_twin, pa_mpjpe
from model.geometry.camera import crop_camera
from model.inference import Predictor

DEFAULT_OUT = Path(__file__).resolve().parent / "CHIRALITY.md"


@torch.inference_mode()
def score(predictor: Predictor, data: dict[str, torch.Tensor], resolution: int, batch: int = 50) -> dict[str, torch.Tensor]:
    """Per person: ``pa (N,)``, ``pa_twin (N,)`` (mm), ``kp2d``, ``kp2d_swapped`` (N,) and, with a keypoint
    head, ``head2d``, ``head2d_swapped`` (N,) (fraction of the crop side)."""
    s = predictor.input_size
    row = predictor.ranges.index(resolution)
    gt = data["joints3d_lsp14"][..., :3].float()
    out: dict[str, list[torch.Tensor]] = {"pa": [], "pa_twin": [], "kp2d": [], "kp2d_swapped": [], "head2d": [], "head2d_swapped": []}
    crop = data["images"].shape[-1]
    true2d = data["keypoints2d_coco17"][..., :2].float() / crop
    swapped2d = true2d[:, list(COCO17_FLIP_PERMUTATION)]
    for start in range(0, gt.shape[0], batch):
        imgs = data["images"][start : start + batch].float()
        pred = predictor.predict_tensor(network_input(imgs, resolution, s), torch.full((imgs.shape[0],), row, dtype=torch.long))
        joints = pred.lsp14.float().cpu()
        g = gt[start : start + batch]
        out["pa"].append(pa_mpjpe(joints, g))
        out["pa_twin"].append(pa_mpjpe(joints, mirror_twin(g, LSP14_FLIP_PERMUTATION)))
        _, kp = crop_camera(pred.camera.float(), s, pred.coco17.float())
        kp = kp.cpu() / s
        t, sw = true2d[start : start + batch], swapped2d[start : start + batch]
        out["kp2d"].append((kp - t).norm(dim=-1).mean(-1))
        out["kp2d_swapped"].append((kp - sw).norm(dim=-1).mean(-1))
        if pred.head_keypoints2d is not None:
            head = pred.head_keypoints2d.float().cpu() / s  # network-input pixels
            out["head2d"].append((head - t).norm(dim=-1).mean(-1))
            out["head2d_swapped"].append((head - sw).norm(dim=-1).mean(-1))
    return {k: torch.cat(v) for k, v in out.items() if v}


def summarise(errors: dict[str, torch.Tensor], family: torch.Tensor, in_crop: torch.Tensor) -> dict[str, Any]:
    """Means of :func:`score`'s per-person errors (2D on the people wholly in the crop) and per family."""
    pa, twin = errors["pa"], errors["pa_twin"]
    result: dict[str, Any] = {
        "pa": round(float(pa.mean()), 1), "pa_twin": round(float(twin.mean()), 1),
        "pa_min": round(float(torch.minimum(pa, twin).mean()), 1), "twin_closer": round(float((twin < pa).float().mean()), 3),
        "kp2d": round(float(errors["kp2d"][in_crop].mean()), 4), "kp2d_swapped": round(float(errors["kp2d_swapped"][in_crop].mean()), 4),
        "kp2d_swapped_closer": round(float((errors["kp2d_swapped"] < errors["kp2d"])[in_crop].float().mean()), 3),
        "families": {},
    }
    if "head2d" in errors:
        result["head2d"] = round(float(errors["head2d"][in_crop].mean()), 4)
        result["head2d_swapped"] = round(float(errors["head2d_swapped"][in_crop].mean()), 4)
    for k, name in enumerate(FAMILIES):
        mask = family == k
        if int(mask.sum()) >= 5:
            result["families"][name] = {"people": int(mask.sum()), "pa": round(float(pa[mask].mean()), 1),
                                        "pa_twin": round(float(twin[mask].mean()), 1),
                                        "twin_closer": round(float((twin[mask] < pa[mask]).float().mean()), 2)}
    return result


def run(checkpoints: list[str], samples: int, resolutions: list[int]) -> dict[str, Any]:
    data = render_test_set(samples)
    crop = data["images"].shape[-1]
    kp = data["keypoints2d_coco17"]
    in_crop = ((kp[..., :2] >= 0) & (kp[..., :2] <= crop)).all(-1).all(-1)
    predictors = labelled_predictors(checkpoints)
    results: dict[str, Any] = {"people": samples, "people_in_crop": int(in_crop.sum()), "models": {}}
    for name, predictor in tqdm(predictors.items(), desc="models", unit="model"):
        results["models"][name] = {str(r): summarise(score(predictor, data, r), data["family"], in_crop) for r in resolutions}
    return results


def render(result: dict[str, Any], meta: dict[str, Any]) -> str:
    resolutions = meta["resolutions"]
    lines = ["# Does the network read limbs? Truth against mirror twin", "", f"`{meta['command']}`", "",
             f"{meta['cpu']}, {meta['date']}. {result['people']} people of the own test's generator (test seed, never trained on), "
             f"{result['people_in_crop']} of them wholly in the crop (the 2D columns). A network that reads limbs is far closer "
             "to the truth than to its mirror twin; one that hedges is as far from both.", "",
             "| model | size | PA-MPJPE to truth | to mirror twin | smaller of the two | closer to the twin | 2D to truth | 2D to L/R-swapped | closer to swapped | head 2D to truth / swapped |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, per_res in result["models"].items():
        for r in resolutions:
            m = per_res[str(r)]
            head = f"{m['head2d']:.4f} / {m['head2d_swapped']:.4f}" if "head2d" in m else "-"
            lines.append(f"| {name} | {r} | {m['pa']:.1f} | {m['pa_twin']:.1f} | {m['pa_min']:.1f} | {100 * m['twin_closer']:.1f} % | "
                         f"{m['kp2d']:.4f} | {m['kp2d_swapped']:.4f} | {100 * m['kp2d_swapped_closer']:.1f} % | {head} |")
    top = str(max(resolutions))
    families = sorted({f for per_res in result["models"].values() for f in per_res[top]["families"]}, key=FAMILIES.index)
    lines += ["", f"Per pose family at {top} px: PA-MPJPE to truth / to twin (share closer to the twin):", "",
              "| model | " + " | ".join(families) + " |", "|---|" + "---|" * len(families)]
    for name, per_res in result["models"].items():
        fam = per_res[top]["families"]
        cells = [f"{fam[f]['pa']:.0f} / {fam[f]['pa_twin']:.0f} ({100 * fam[f]['twin_closer']:.0f} %)" if f in fam else "-" for f in families]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = checkpoint_parser("benchmarks.train.chirality", __doc__, DEFAULT_OUT, 400, "people (the own test's first ones)")
    args = parser.parse_args(argv)
    resolutions = parse_resolutions(parser, args.resolutions, 8, 224)
    torch.set_num_threads(args.threads)
    result = run(args.checkpoint, args.samples, resolutions)
    meta = run_meta("benchmarks.train.chirality", argv, resolutions=resolutions)
    publish(args.out, render(result, meta), {"meta": meta, **result})

if __name__ == "__main__":
    main()
