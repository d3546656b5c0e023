"""Evaluate checkpoints on the fixed synthetic test set at several crop resolutions.

``python -m model.evaluate --checkpoint C [C2 ...] --resolutions 224,176,96,52,32,24 [--json]``

The test set is rendered from a seed that training never uses (:data:`TEST_SEED`): ``--samples``
people at 224 px. For a resolution ``r`` every crop is downsampled bicubically to ``r`` px and
brought to the network's input size exactly as the service does with an ``r``-pixel crop
(bicubic, the range row chosen from ``r``). Errors are MPJPE and PA-MPJPE in millimetres on the
LSP-14 joints, both skeletons centred on the mean of their hips.

Writes ``<out>/eval.md`` (a table per metric, checkpoints side by side), ``<out>/eval.png``
(error vs resolution) and ``<out>/eval.json``; ``--json`` prints
``{checkpoint: {resolution: {"mpjpe": .., "pa_mpjpe": ..}}}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch
from tqdm import tqdm

import model.data
from model.body.joint_names import HIPS, LSP14_FLIP_PERMUTATION
from model.data.degrade import DegradeConfig, bicubic_resize, degrade
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.eval.metrics import mirror_twin, mpjpe, pa_mpjpe, pelvis_center
from model.eval.real_people import knee_flexion_deg
from model.geometry.heading import heading_angle, heading_error_deg
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from model.inference import Predictor
from model.runtime import atomic_save

#: Seed of the evaluation people; training configs use other seeds (0 by default).
TEST_SEED = 90_210
TEST_CROP = 224
DEFAULT_RESOLUTIONS = (224, 176, 96, 52, 32, 24)


def render_test_set(
    samples: int, batch: int = 16, seed: int = TEST_SEED, config: SyntheticConfig | None = None, start: int = 0,
) -> dict[str, torch.Tensor]:
    """Clean 224-px test crops ``images (N, 3, 224, 224)``, ``joints3d_lsp14 (N, 14, 3)``, ``keypoints2d_coco17
    (N, 17, 3)`` (crop pixels, visibility), ``betas (N, 10)``, ``pose (N, 24, 3)`` (axis-angle), ``family (N,)``
    and the amodal ``silhouette (N, 224, 224)`` (bool); with ``config.part_maps`` also ``parts (N, 1, 224, 224)``.

    ``config`` (default: the training generator at :data:`TEST_SEED`) sets what the people look like;
    the people are the generator's samples ``start .. start + samples - 1`` (with a training seed and
    the indices of a training run's shards: the scenes that run trained on, rendered clean).
    """
    config = config or SyntheticConfig(crop_size=TEST_CROP, seed=seed)
    people = SyntheticPeople(config)
    images, joints, keypoints, family, betas, poses, silhouettes = [], [], [], [], [], [], []
    parts: list[torch.Tensor] = []
    for first in tqdm(range(start, start + samples, batch), desc="rendering test set", unit="batch"):
        out = people.generate(list(range(first, min(first + batch, start + samples))))
        images.append(out["image"].cpu())
        joints.append(out["joints3d_lsp14"].cpu())
        keypoints.append(out["keypoints2d_coco17"].cpu())
        family.append(out["family"].cpu())
        betas.append(out["betas"].cpu())
        poses.append(out["pose"].reshape(-1, 24, 3).cpu())
        silhouettes.append(out["silhouette"][:, 0].cpu() > 0.5)
        if "parts" in out:
            parts.append(out["parts"].cpu())
    data = {"images": torch.cat(images), "joints3d_lsp14": torch.cat(joints), "keypoints2d_coco17": torch.cat(keypoints),
            "family": torch.cat(family), "betas": torch.cat(betas),
            "pose": torch.cat(poses), "silhouette": torch.cat(silhouettes)}
    if parts:  # config.part_maps
        data["parts"] = torch.cat(parts)
    return data


def generator_fingerprint(config: SyntheticConfig) -> str:
    """A hash of ``config`` and of the data engine's source files: a cached test set is reused only
    when neither changed (a new pose family or camera model makes another test set)."""
    digest = hashlib.sha256(repr(config).encode())
    for path in sorted((Path(model.data.__file__).parent).glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load_test_set(samples: int, cache: Path | None, config: SyntheticConfig | None = None) -> dict[str, torch.Tensor]:
    """The test set of ``config`` (default: the training generator at :data:`TEST_SEED`), read from
    ``cache`` when it holds the same number of samples of the same generator."""
    config = config or SyntheticConfig(crop_size=TEST_CROP, seed=TEST_SEED)
    fingerprint = generator_fingerprint(config)
    if cache is not None and cache.is_file():
        data = torch.load(cache, weights_only=True)
        if data["images"].shape[0] == samples and data.get("fingerprint") == fingerprint and {"betas", "pose", "silhouette"} <= set(data):
            return {k: v for k, v in data.items() if k != "fingerprint"}
    data = render_test_set(samples, config=config)
    if cache is not None:
        atomic_save({**data, "fingerprint": fingerprint}, cache)
    return data


#: Seed of the camera effects of a degraded evaluation (:func:`per_sample_errors` with ``camera``).
CAMERA_SEED = 90_211


def camera_generator(resolution: int, start: int, seed: int = CAMERA_SEED) -> torch.Generator:
    """The generator of the camera effects of the test people from index ``start`` at ``resolution``.

    Seeded by the resolution and the batch's first index only, so every model of a comparison sees
    the very same degraded pixels.
    """
    return torch.Generator().manual_seed(seed * 1_000_003 + resolution * 100_003 + start)


def network_input(images: torch.Tensor, resolution: int, input_size: int, camera: DegradeConfig | None = None, start: int = 0) -> torch.Tensor:
    """Test crops ``(B, 3, S, S)`` as a camera that sees them ``resolution`` pixels tall gives them to the
    network: brought down bicubically (or, with a realistic ``camera``, degraded with the draws of
    :func:`camera_generator` for the batch starting at test index ``start``) and up to ``input_size``."""
    if camera is not None and camera.mode != "bicubic":
        return degrade(images, resolution, input_size, camera, camera_generator(resolution, start))
    low = bicubic_resize(images, (resolution, resolution)) if resolution != images.shape[-1] else images
    return bicubic_resize(low, (input_size, input_size)).clamp(0, 1) if resolution != input_size else low


@torch.inference_mode()
def per_sample_errors(
    predictor: Predictor, data: dict[str, torch.Tensor], resolutions: list[int], batch: int = 32,
    camera: DegradeConfig | None = None,
) -> dict[int, dict[str, torch.Tensor]]:
    """``{resolution: {"mpjpe", "pa_mpjpe", "pa_mpjpe_twin", "heading_deg", "mpjpe_true_root": (N,), "knees_deg": (N, 2)[, "betas_mae": (N,), "betas_abs": (N, 10)]}}`` per test person.

    MPJPE and PA-MPJPE in mm; ``pa_mpjpe_twin`` the PA-MPJPE to the truth's mirror twin
    (:func:`~model.eval.metrics.mirror_twin`: a network that reads limbs is far closer to the truth); ``mpjpe_true_root`` the MPJPE of the answer with its root rotation
    replaced by the true one (what is left when the global orientation is right); ``heading_deg`` the error of the heading (which way the body faces,
    :func:`model.geometry.heading.heading_angle`), 0-180 degrees; ``knees_deg`` the predicted flexion of the left and right knee
    (:func:`~model.eval.real_people.knee_flexion_deg`); ``betas_mae`` (when the set has ground-truth
    ``betas``) is the mean absolute error over the shape coefficients (the mean-parameters answer
    predicts zeros), and ``betas_abs`` the absolute error of each coefficient; ``flip_disagreement_mm``
    (with a flip-test predictor) how far its two answers were apart (:func:`model.inference.flip_test.flip_disagreement`).

    ``camera``: ``None`` (or the bicubic mode) brings every crop down bicubically; a realistic
    :class:`~model.data.degrade.DegradeConfig` degrades it as a camera would (blur, noise,
    compression, dark and night frames), drawn by :func:`camera_generator`, the same for every model
    (:func:`network_input`).

    A set with a ``cut`` entry ``(N,)`` (people cut to a partial view, :func:`model.eval.checks.partial_test_set`)
    gives each crop's flag to a network that reads one (:attr:`Predictor.cut_input`).
    """
    results: dict[int, dict[str, torch.Tensor]] = {}
    hips = HIPS["lsp14"]
    s = predictor.input_size
    for res in resolutions:
        errs, pa_errs, twin_errs, beta_errs, knees, headings, true_root_errs, disagreement = [], [], [], [], [], [], [], []
        range_row = predictor.ranges.index(res)
        for start in range(0, data["images"].shape[0], batch):
            imgs = data["images"][start : start + batch]
            ri = torch.full((imgs.shape[0],), range_row, dtype=torch.long)
            cut = data["cut"][start : start + batch] if "cut" in data else None
            out = predictor.predict_tensor(network_input(imgs, res, s, camera, start), ri, cut=cut)
            pred = out.lsp14.float().cpu()
            gt = data["joints3d_lsp14"][start : start + batch]
            errs.append(mpjpe(pelvis_center(pred, *hips), pelvis_center(gt, *hips)))
            pa_errs.append(pa_mpjpe(pred, gt))
            twin_errs.append(pa_mpjpe(pred, mirror_twin(gt, LSP14_FLIP_PERMUTATION)))
            knees.append(torch.from_numpy(knee_flexion_deg(matrix_to_axis_angle(out.pose_rotmat.float().cpu()))))
            true_root = axis_angle_to_matrix(data["pose"][start : start + batch, 0].float())
            headings.append(heading_error_deg(heading_angle(out.pose_rotmat[:, 0].float().cpu()), heading_angle(true_root)))
            rotmat = out.pose_rotmat.float().clone()
            rotmat[:, 0] = true_root.to(rotmat.device)
            fixed = predictor.body_model.keypoints_only(out.betas.float(), rotmat).lsp14.float().cpu()
            true_root_errs.append(mpjpe(pelvis_center(fixed, *hips), pelvis_center(gt, *hips)))
            if out.flip_disagreement is not None:
                disagreement.append(out.flip_disagreement.float().cpu() * 1000.0)
            if "betas" in data:
                gt_betas = data["betas"][start : start + batch].float()
                beta_errs.append((out.betas.float().cpu()[:, : gt_betas.shape[1]] - gt_betas).abs())
        results[res] = {"mpjpe": torch.cat(errs), "pa_mpjpe": torch.cat(pa_errs), "pa_mpjpe_twin": torch.cat(twin_errs), "heading_deg": torch.cat(headings),
                        "mpjpe_true_root": torch.cat(true_root_errs), "knees_deg": torch.cat(knees)}
        if disagreement:
            results[res]["flip_disagreement_mm"] = torch.cat(disagreement)
        if beta_errs:
            results[res]["betas_abs"] = torch.cat(beta_errs)
            results[res]["betas_mae"] = results[res]["betas_abs"].mean(dim=1)
    return results


def evaluate_checkpoint(predictor: Predictor, data: dict[str, torch.Tensor], resolutions: list[int], batch: int = 32) -> dict[int, dict[str, float]]:
    """``{resolution: {"mpjpe": mm, "pa_mpjpe": mm, "heading_deg": degrees, "mpjpe_true_root": mm[, "betas_mae"]}}`` for one predictor (means over the test set)."""
    errors = per_sample_errors(predictor, data, resolutions, batch)
    return {res: {k: float(v.mean()) for k, v in e.items() if v.dim() == 1} for res, e in errors.items()}


def mean_params_predictor(reference: Predictor) -> Predictor:
    """A predictor that always answers the body model's mean parameters (decoders zeroed).

    Same input size and ranges as ``reference``: the floor any trained network must beat.
    """
    from model.nets.config import NetConfig

    config = NetConfig.from_dict({**reference.net.config.to_dict(), "regressor_iterations": 1})
    mean = Predictor.random_init(config, reference.ranges.bounds, device=str(reference.device), precision="fp32")
    reg = mean.net.regressor
    with torch.no_grad():
        for dec in (reg.decpose, reg.decshape, reg.deccam):
            dec.weight.zero_()
            dec.bias.zero_()
    return mean


#: The row label of :func:`mean_params_predictor` in every report that sets networks beside it.
MEAN_ROW = "mean-params (no network)"


def labelled_predictors(checkpoints: list[str], device: str = "cpu") -> dict[str, Predictor]:
    """Checkpoints loaded as predictors, keyed by :func:`checkpoint_label` in the given order, and the
    constant mean answer (:func:`mean_params_predictor` of the first) last, under :data:`MEAN_ROW`."""
    if not checkpoints:
        raise ValueError("at least one checkpoint is needed")
    predictors: dict[str, Predictor] = {}
    taken: set[str] = set()
    for ckpt in checkpoints:
        predictors[checkpoint_label(ckpt, taken)] = Predictor.from_checkpoint(ckpt, device=device)
    predictors[MEAN_ROW] = mean_params_predictor(next(iter(predictors.values())))
    return predictors


def markdown_table(results: dict[str, dict[int, dict[str, float]]], resolutions: list[int]) -> str:
    lines = []
    for metric, title in (("mpjpe", "MPJPE (mm)"), ("pa_mpjpe", "PA-MPJPE (mm)")):
        lines += [f"### {title}, LSP-14 joints", "", "| checkpoint | " + " | ".join(f"{r} px" for r in resolutions) + " |",
                  "|---|" + "---|" * len(resolutions)]
        for name, res in results.items():
            lines.append(f"| {name} | " + " | ".join(f"{res[r][metric]:.1f}" for r in resolutions) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(results: dict[str, dict[int, dict[str, float]]], resolutions: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    for ax, metric, title in zip(axes, ("mpjpe", "pa_mpjpe"), ("MPJPE", "PA-MPJPE")):
        for name, res in results.items():
            ax.plot(resolutions, [res[r][metric] for r in resolutions], marker="o", label=name)
        ax.set_xscale("log")
        ax.minorticks_off()  # the log axis' minor labels (2x10^2, 6x10^1 ...) overlap the sizes
        ax.set_xticks(resolutions)
        ax.set_xticklabels([str(r) for r in resolutions])
        ax.invert_xaxis()
        ax.set_xlabel("crop size (px)")
        ax.set_ylabel(f"{title} (mm)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Error vs crop resolution (synthetic test set, LSP-14)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def checkpoint_label(path: str, taken: set[str]) -> str:
    p = Path(path)
    name = p.parent.name if p.stem in ("last", "model", "checkpoint") else p.stem
    label, i = name, 2
    while label in taken:
        label, i = f"{name}-{i}", i + 1
    taken.add(label)
    return label


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", nargs="+", required=True, help="one or more checkpoints")
    parser.add_argument("--resolutions", default=",".join(map(str, DEFAULT_RESOLUTIONS)), help="comma-separated crop sizes")
    parser.add_argument("--samples", type=int, default=500, help="test-set size")
    parser.add_argument("--out", type=Path, default=Path("runs/eval"), help="folder for eval.md/png/json")
    parser.add_argument("--cache", default="data/eval/testset.pt", help="cached test set file ('' = do not cache)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--mean-baseline", action="store_true", help="add a row for the constant mean-parameters answer")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    resolutions = [int(r) for r in args.resolutions.split(",") if r]
    data = load_test_set(args.samples, Path(args.cache) if args.cache else None)
    results: dict[str, dict[int, dict[str, float]]] = {}
    taken: set[str] = set()
    for ckpt in tqdm(args.checkpoint, desc="checkpoints"):
        predictor = Predictor.from_checkpoint(ckpt, device=args.device)
        results[checkpoint_label(ckpt, taken)] = evaluate_checkpoint(predictor, data, resolutions)
    if args.mean_baseline:
        results["mean-params (no network)"] = evaluate_checkpoint(mean_params_predictor(predictor), data, resolutions)
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown_table(results, resolutions)
    (args.out / "eval.md").write_text(f"Test set: {args.samples} synthetic people (seed {TEST_SEED}), bicubic down to each size.\n\n" + table)
    plot(results, resolutions, args.out / "eval.png")
    payload = {name: {str(r): v for r, v in res.items()} for name, res in results.items()}
    (args.out / "eval.json").write_text(json.dumps(payload, indent=2))
    if args.json:
        print(json.dumps(payload))
    else:
        print(table)
        print(f"wrote {args.out / 'eval.md'}, {args.out / 'eval.png'}, {args.out / 'eval.json'}")


if __name__ == "__main__":
    main()
