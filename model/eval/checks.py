"""Checks our generator cannot flatter: held-out pose kinds and held-out appearance, beside our own test.

``python -m model.eval.checks --checkpoint C [C2 ...] [--checks own poses appearance] [--samples 400]``

Each check is a synthetic test set of 224-px people rendered from a seed no training config uses:

* ``own``: the training generator itself (pose mix, appearance pool ``train``) -- what our own test
  always measured;
* ``poses``: pose kinds the default training mix never draws (:data:`model.data.poses.HELD_OUT_FAMILIES`:
  cycling, fighting, pushing/pulling), with the training appearance, scored per kind as well;
* ``appearance``: the training pose mix with textures, backgrounds, photos and body shapes from the
  held-out appearance pool (:mod:`model.data.pools`), which training never draws;
* ``partial``: the own test's upright people cut to partial views (their upper 35-80 %, as a
  detector box around what is visible gives; :mod:`model.data.partial_view`, seeded per person),
  scored on the **whole** skeleton: the legs the crop no longer shows count. People too flat to
  cut (lying, falling) are left out of this check.

Every crop is brought down bicubically to each resolution and up to the network input, as in
:mod:`model.eval.evaluate`; with ``--camera realistic`` every crop below 224 px is degraded as a
camera would instead (:data:`REALISTIC_CAMERA`: the training generator's blur, noise, compression,
dark and night frames, none left clean; the same pixels for every model), the surveillance case
the clean checks do not show. Errors are MPJPE and PA-MPJPE (mm) on the LSP-14 joints. **Knees**
(:func:`knee_table`): of the people whose true knees are both straight (< 30 degrees), the share
answered straight, and of those whose true knees are both bent (> 45 degrees), the share answered
bent -- the synthetic, larger twin of the real-people knee check and its seated counter-check.
**Heading** (:func:`heading_table`): the mean error of which way the body faces, and the share
facing the wrong way (more than 90 degrees off). **Mirror twin** (:func:`twin_table`): how close each
answer is to the truth's mirror twin (left and right swapped, facing turned) -- does it read limbs? The constant
mean-parameters answer (no network) is scored beside every checkpoint. Real photos are the third
check: :mod:`model.eval.real_people`.

Writes ``<out>/CHECKS.md`` and ``<out>/checks.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model.data.degrade import DegradeConfig
from model.data.partial_view import PartialViewConfig, partial_view
from model.data.poses import FAMILIES, held_out_pose_config
from model.data.synthetic import SyntheticConfig, generator_for
from model.eval.evaluate import (
    MEAN_ROW,
    TEST_CROP,
    TEST_SEED,
    checkpoint_label,
    load_test_set,
    mean_params_predictor,
    per_sample_errors,
)
from model.eval.real_people import KNEE_PASS_DEG, SEATED_KNEE_MIN_DEG, knee_flexion_deg
from model.geometry.heading import heading_angle, heading_weight
from model.geometry.rotations import axis_angle_to_matrix
from model.inference import Predictor

__all__ = ["CAMERAS", "CHECKS", "DEFAULT_CHECK_RESOLUTIONS", "REALISTIC_CAMERA", "check_config", "family_table", "heading_table", "knee_table", "main", "partial_test_set", "run_checks", "twin_table"]

#: Seeds of the held-out sets (no training config uses them).
HELD_OUT_POSE_SEED = 77_001
HELD_OUT_APPEARANCE_SEED = 77_002
CHECKS: tuple[str, ...] = ("own", "poses", "appearance", "partial")
#: The partial-view check's cuts (always cut; the training share is a config's ``data.partial_view.prob``).
PARTIAL_CHECK_VIEW = PartialViewConfig(prob=1.0)
DEFAULT_CHECK_RESOLUTIONS = (224, 96, 64, 48, 32, 24)
#: ``--camera realistic``: the training generator's camera effects, every crop degraded (none clean).
REALISTIC_CAMERA = DegradeConfig(mode="realistic", clean_prob=0.0)
CAMERAS: dict[str, DegradeConfig | None] = {"bicubic": None, "realistic": REALISTIC_CAMERA}

_DESCRIPTIONS = {
    "own": "own test: the training generator (training pose mix and appearance)",
    "poses": "held-out poses: cycling, fighting, pushing/pulling (never in the training mix), training appearance",
    "appearance": "held-out appearance: textures, backgrounds, photos and body shapes training never draws, training pose mix",
    "partial": "partial views of the own test: upright people cut to their upper 35-80 %, scored on the whole skeleton (hidden legs count)",
}


def check_config(check: str) -> SyntheticConfig:
    """The generator of one check (224-px crops)."""
    if check in ("own", "partial"):
        return SyntheticConfig(crop_size=TEST_CROP, seed=TEST_SEED)
    if check == "poses":
        return SyntheticConfig(crop_size=TEST_CROP, seed=HELD_OUT_POSE_SEED, poses=held_out_pose_config())
    if check == "appearance":
        return SyntheticConfig(crop_size=TEST_CROP, seed=HELD_OUT_APPEARANCE_SEED, appearance_pool="heldout")
    raise ValueError(f"unknown check {check!r}; expected one of {CHECKS}")


Errors = dict[int, dict[str, torch.Tensor]]


def partial_test_set(data: dict[str, torch.Tensor], seed: int, view: PartialViewConfig = PARTIAL_CHECK_VIEW) -> dict[str, torch.Tensor]:
    """The people of a test set (``images``, ``silhouette``, ...) that :func:`partial_view` can cut,
    each cut once with a generator seeded by ``seed`` and its index; 3D ground truth unchanged;
    ``cut`` (all ones) tells a network with a cut input that they are."""
    images, keep = [], []
    for i in range(data["images"].shape[0]):
        sample = {"image": data["images"][i], "silhouette": data["silhouette"][i][None].float()}
        sample = partial_view(sample, view, generator_for(seed, "partial-check", i))
        if float(sample["partial_view"]) == 1.0:
            images.append(sample["image"].clamp(0, 1))
            keep.append(i)
    index = torch.tensor(keep, dtype=torch.long)
    out = {k: v[index] for k, v in data.items() if k not in ("images", "silhouette", "keypoints2d_coco17")}  # 2D moved with the cut
    out["images"] = torch.stack(images) if images else data["images"][:0]
    out["cut"] = torch.ones(len(keep))  # every one of them goes on beyond its crop
    return out


def family_table(errors: dict[str, Errors], family: torch.Tensor, resolution: int, metric: str = "pa_mpjpe") -> str:
    """Markdown table: mean ``metric`` per pose family (rows) for every model (columns) at one resolution."""
    names = list(errors)
    lines = [f"| family (n) | {' | '.join(names)} |", "|---|" + "---|" * len(names)]
    for k in sorted(set(family.tolist())):
        sel = family == k
        cells = [f"{float(errors[n][resolution][metric][sel].mean()):.1f}" for n in names]
        lines.append(f"| {FAMILIES[k]} ({int(sel.sum())}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def knee_table(errors: dict[str, Errors], true_pose: torch.Tensor, resolutions: list[int]) -> tuple[str, dict[str, dict[str, dict[str, float]]]]:
    """Markdown table and JSON-ready rates: per model and resolution, the share of straight-legged
    people (true knees both < :data:`KNEE_PASS_DEG`) answered straight and of bent-legged people
    (both > :data:`SEATED_KNEE_MIN_DEG`) answered bent. ``true_pose``: ``(N, 24, 3)`` axis-angle."""
    truth = torch.from_numpy(knee_flexion_deg(true_pose))
    straight = (truth < KNEE_PASS_DEG).all(-1)
    bent = (truth > SEATED_KNEE_MIN_DEG).all(-1)
    head = " | ".join(f"straight at {r} px | bent at {r} px" for r in resolutions)
    lines = [f"| model | {head} |", "|---|" + "---|" * (2 * len(resolutions))]
    rates: dict[str, dict[str, dict[str, float]]] = {}
    for name, e in errors.items():
        cells, rates[name] = [], {}
        for r in resolutions:
            pred = e[r]["knees_deg"]
            ok_straight = float((pred[straight] < KNEE_PASS_DEG).all(-1).float().mean()) if straight.any() else float("nan")
            ok_bent = float((pred[bent] > SEATED_KNEE_MIN_DEG).all(-1).float().mean()) if bent.any() else float("nan")
            rates[name][str(r)] = {"straight": ok_straight, "bent": ok_bent}
            cells += [f"{100 * ok_straight:.0f} %", f"{100 * ok_bent:.0f} %"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    title = (f"**Knees**: straight-legged people (true knees both < {KNEE_PASS_DEG:.0f} degrees, n = {int(straight.sum())}) answered straight;"
             f" bent-legged people (both > {SEATED_KNEE_MIN_DEG:.0f}, n = {int(bent.sum())}) answered bent")
    return "\n".join([title, "", *lines]), rates


#: The joint-error tables of every check: metric key of :func:`per_sample_errors`, title, note.
_JOINT_TABLES = (
    ("pa_mpjpe", "PA-MPJPE (mm)", ""),
    ("mpjpe", "MPJPE (mm)", ""),
    ("mpjpe_true_root", "MPJPE with the true root rotation (mm)",
     " (the answer's articulation and shape with the global orientation set right: the gap to MPJPE is what the orientation costs)"),
)
#: People whose true forward axis is within 60 degrees of the horizontal have a heading to score.
HEADING_MIN_WEIGHT = 0.5
#: A heading error above this is a body facing the wrong way.
WRONG_FACING_DEG = 90.0
#: ... and above this, a body turned round (front for back).
FLIP_DEG = 150.0
#: Sectors of the true heading's magnitude (degrees; 0 = facing away from the camera, 180 = facing it).
HEADING_SECTORS = {"from behind": (0.0, 45.0), "from the side": (45.0, 135.0), "from the front": (135.0, 180.0)}


def heading_table(errors: dict[str, Errors], true_pose: torch.Tensor, resolutions: list[int]) -> tuple[str, dict[str, dict[str, dict[str, Any]]]]:
    """Markdown tables and JSON-ready figures of the heading (which way the body faces), over the
    people whose true forward axis is within 60 degrees of the horizontal
    (:func:`~model.geometry.heading.heading_weight` > 0.5). ``true_pose``: ``(N, 24, 3)``.

    Per model and resolution: the mean heading error and the share facing the wrong way (error above
    :data:`WRONG_FACING_DEG`). At the last resolution, per sector of the true heading
    (:data:`HEADING_SECTORS`: seen from behind, the side, the front): the median error and the share
    turned round (above :data:`FLIP_DEG`).
    """
    true_root = axis_angle_to_matrix(true_pose[:, 0].float())
    scored = heading_weight(true_root) > HEADING_MIN_WEIGHT
    true_heading = torch.rad2deg(heading_angle(true_root)).abs()
    sectors = {name: scored & (true_heading >= lo) & ((true_heading < hi) | (hi >= 180.0)) for name, (lo, hi) in HEADING_SECTORS.items()}
    r_last = resolutions[-1]
    head = " | ".join(f"error at {r} px | wrong way at {r} px" for r in resolutions)
    lines = [f"| model | {head} |", "|---|" + "---|" * (2 * len(resolutions))]
    sector_head = " | ".join(f"{name} ({lo:.0f}-{hi:.0f}, n = {int(sectors[name].sum())})" for name, (lo, hi) in HEADING_SECTORS.items())
    sector_lines = [f"| model | {sector_head} |", "|---|" + "---|" * len(sectors)]
    figures: dict[str, dict[str, dict[str, Any]]] = {}
    for name, e in errors.items():
        cells, figures[name] = [], {}
        for r in resolutions:
            err = e[r]["heading_deg"][scored]
            mean, wrong = float(err.mean()), float((err > WRONG_FACING_DEG).float().mean())
            figures[name][str(r)] = {"error_deg": mean, "wrong_way": wrong}
            cells += [f"{mean:.1f}", f"{100 * wrong:.1f} %"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        figures[name]["sectors"], cells = {}, []
        for sector, sel in sectors.items():
            err = e[r_last]["heading_deg"][sel]
            if not sel.any():
                cells.append("-")
                continue
            median, turned = float(err.median()), float((err > FLIP_DEG).float().mean())
            figures[name]["sectors"][sector] = {"median_deg": median, "turned_round": turned}
            cells.append(f"{median:.1f} / {100 * turned:.1f} %")
        sector_lines.append(f"| {name} | " + " | ".join(cells) + " |")
    title = (f"**Heading** (which way the body faces about the camera's vertical): mean error in degrees and the share"
             f" more than {WRONG_FACING_DEG:.0f} degrees off, over the {int(scored.sum())} people whose forward axis is within 60 degrees of the horizontal")
    sector_title = (f"Heading error by the true heading at {r_last} px (degrees from facing away from the camera): median error / share"
                    f" turned round (more than {FLIP_DEG:.0f} degrees off)")
    return "\n".join([title, "", *lines, "", sector_title, "", *sector_lines]), figures


def twin_table(errors: dict[str, Errors], resolutions: list[int]) -> tuple[str, dict[str, dict[str, dict[str, float]]]]:
    """Markdown table and JSON-ready figures of the **mirror twin** test: per model and resolution the
    PA-MPJPE to the truth and to its mirror twin (:func:`~model.eval.metrics.mirror_twin`: left and
    right swapped, facing turned, the same picture), and the share of people answered closer to the
    twin. A network that reads limbs is far closer to the truth; one that hedges (or a constant
    answer) is as close to both, near 50 %."""
    head = " | ".join(f"truth / twin at {r} px | closer to the twin at {r} px" for r in resolutions)
    lines = [f"| model | {head} |", "|---|" + "---|" * (2 * len(resolutions))]
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for name, e in errors.items():
        cells, figures[name] = [], {}
        for r in resolutions:
            pa, twin = e[r]["pa_mpjpe"], e[r]["pa_mpjpe_twin"]
            closer = float((twin < pa).float().mean())
            figures[name][str(r)] = {"pa_mpjpe": float(pa.mean()), "pa_mpjpe_twin": float(twin.mean()), "closer_to_twin": closer}
            cells += [f"{float(pa.mean()):.1f} / {float(twin.mean()):.1f}", f"{100 * closer:.1f} %"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    title = ("**Mirror twin** (does the network read limbs?): PA-MPJPE (mm) to the truth / to its mirror twin (left and right"
             " swapped, facing turned: the same picture), and the share of people answered closer to the twin (hedging: ~50 %)")
    return "\n".join([title, "", *lines]), figures


def _means(errors: Errors) -> dict[int, dict[str, float]]:
    return {r: {m: float(v.mean()) for m, v in e.items() if v.dim() == 1} for r, e in errors.items()}


def betas_table(errors: dict[str, Errors], res: int) -> str:
    """Mean absolute error of each shape coefficient at ``res`` px, one row per model."""
    first = next(iter(errors.values()))[res]["betas_abs"]
    lines = ["| model | " + " | ".join(f"beta {i}" for i in range(first.shape[1])) + " |", "|---|" + "---|" * first.shape[1]]
    for name, e in errors.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in e[res]["betas_abs"].mean(0).tolist()) + " |")
    return "\n".join(lines)


def _table(results: dict[str, dict[int, dict[str, float]]], resolutions: list[int], metric: str, digits: int = 1) -> str:
    lines = ["| model | " + " | ".join(f"{r} px" for r in resolutions) + " |", "|---|" + "---|" * len(resolutions)]
    for name, res in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{res[r][metric]:.{digits}f}" for r in resolutions) + " |")
    return "\n".join(lines)


FLIP_TEST_CHOICES = ("off", "on", "both")
FLIP_SUFFIX = " + flip test"


def run_checks(
    checkpoints: list[str], checks: list[str], samples: int, resolutions: list[int], cache_dir: Path | None, device: str | None = None,
    flip_test: str = "off", camera: str = "bicubic",
) -> tuple[str, dict[str, object]]:
    """Evaluate ``checkpoints`` (and the mean answer) on ``checks``; returns the markdown report and a JSON payload.

    ``camera``: ``"bicubic"`` (clean crops) or ``"realistic"`` (:data:`REALISTIC_CAMERA`).

    ``flip_test``: ``"off"`` (single pass), ``"on"`` (every checkpoint with the flip test,
    :mod:`model.inference.flip_test`, its rows suffixed ``+ flip test``) or ``"both"`` (one row of each).
    """
    if flip_test not in FLIP_TEST_CHOICES:
        raise ValueError(f"flip_test must be one of {FLIP_TEST_CHOICES}, got {flip_test!r}")
    if camera not in CAMERAS:
        raise ValueError(f"camera must be one of {sorted(CAMERAS)}, got {camera!r}")
    camera_config = CAMERAS[camera]
    how = "bicubic down to each size" if camera_config is None else "degraded to each size by the realistic camera (none clean; 224 px stays clean)"
    predictors: dict[str, Predictor] = {}
    taken: set[str] = set()
    for ckpt in checkpoints:
        label = checkpoint_label(ckpt, taken)
        if flip_test in ("off", "both"):
            predictors[label] = Predictor.from_checkpoint(ckpt, device=device)
        if flip_test in ("on", "both"):
            predictors[label + FLIP_SUFFIX] = Predictor.from_checkpoint(ckpt, device=device, flip_test=True)
    predictors[MEAN_ROW] = mean_params_predictor(next(iter(predictors.values())))
    md = ["# Checks on data the training generator did not make", ""]
    payload: dict[str, object] = {"samples": samples, "resolutions": resolutions, "checkpoints": checkpoints, "flip_test": flip_test,
                               "camera": camera, "checks": {}}
    rendered: dict[str, dict[str, torch.Tensor]] = {}  # the partial check cuts the own test's people
    summary_sizes = sorted({max(resolutions), 32} & set(resolutions), reverse=True) or resolutions[:1]  # knees, heading, twin
    for check in checks:
        config = check_config(check)
        source = "own" if check == "partial" else check
        if source not in rendered:
            rendered[source] = load_test_set(samples, cache_dir / f"{source}-{samples}.pt" if cache_dir is not None else None, config)
        data = rendered[source]
        if check == "partial":
            data = partial_test_set(data, config.seed)
            if data["images"].shape[0] == 0:
                md += [f"## {check}: {_DESCRIPTIONS[check]}", "", f"none of the {samples} people is upright enough to cut.", ""]
                payload["checks"][check] = {"people": 0, "results": {}}  # type: ignore[index]
                continue
        errors = {name: per_sample_errors(p, data, resolutions, camera=camera_config) for name, p in tqdm(predictors.items(), desc=f"check {check}", unit="model")}
        results = {name: _means(e) for name, e in errors.items()}
        people = f"{data['images'].shape[0]} of {samples} people (the upright ones, cut)" if check == "partial" else f"{samples} people"
        md += [f"## {check}: {_DESCRIPTIONS[check]}", "", f"{people}, seed {config.seed}, {how}.", ""]
        for metric, title, note in _JOINT_TABLES:
            md += [f"**{title}**, LSP-14{note}", "", _table(results, resolutions, metric), ""]
        if all("betas_mae" in res[r] for res in results.values() for r in resolutions):
            md += ["**Betas**: mean absolute error of the 10 shape coefficients (the mean answer predicts zeros)", "",
                   _table(results, resolutions, "betas_mae", digits=3), "",
                   f"Per coefficient at {max(resolutions)} px:", "", betas_table(errors, max(resolutions)), ""]
        twin_md, twin_figures = twin_table(errors, summary_sizes)
        md += [twin_md, ""]
        knees_md, knee_rates = knee_table(errors, data["pose"], summary_sizes)
        md += [knees_md, ""]
        heading_md, heading_figures = heading_table(errors, data["pose"], summary_sizes)
        md += [heading_md, ""]
        if check in ("own", "poses", "partial"):
            for res in sorted({max(resolutions), 32} & set(resolutions), reverse=True):
                md += [f"PA-MPJPE (mm) per pose family at {res} px:", "", family_table(errors, data["family"], res), ""]
        payload["checks"][check] = {  # type: ignore[index]
            "config": json.loads(json.dumps(dataclasses.asdict(config), default=str)),
            "people": int(data["images"].shape[0]),
            "results": {n: {str(r): v for r, v in res.items()} for n, res in results.items()},
            "knees": knee_rates,
            "heading": heading_figures,
            "twin": twin_figures,
        }
    return "\n".join(md), payload


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", nargs="+", required=True, help="one or more checkpoints")
    parser.add_argument("--checks", nargs="+", default=list(CHECKS), choices=CHECKS, help="which checks to run")
    parser.add_argument("--samples", type=int, default=400, help="people per check")
    parser.add_argument("--resolutions", default=",".join(map(str, DEFAULT_CHECK_RESOLUTIONS)), help="comma-separated crop sizes")
    parser.add_argument("--out", type=Path, default=Path("runs/checks"), help="folder for CHECKS.md and checks.json")
    parser.add_argument("--cache", default="data/eval/checks", help="folder of cached test sets ('' = do not cache)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--flip-test", choices=FLIP_TEST_CHOICES, default="off",
                        help="also (both) or only (on) score each checkpoint with flip test-time augmentation (default: %(default)s)")
    parser.add_argument("--camera", choices=sorted(CAMERAS), default="bicubic",
                        help="bicubic: clean crops; realistic: every crop degraded as a camera would (default: %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    resolutions = [int(r) for r in args.resolutions.split(",") if r]
    md, payload = run_checks(args.checkpoint, args.checks, args.samples, resolutions, Path(args.cache) if args.cache else None, args.device,
                             flip_test=args.flip_test, camera=args.camera)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "CHECKS.md").write_text(md)
    (args.out / "checks.json").write_text(json.dumps(payload, indent=1))
    print(md)
    print(f"wrote {args.out / 'CHECKS.md'} and {args.out / 'checks.json'}")


if __name__ == "__main__":
    main()
