"""How large does a network draw a person it sees only in part?

``python -m benchmarks.train.partial_scale --checkpoint C [C2 ...] [--height 32] [--sets checks/real_people ...]``

A crop of a half-visible person (cut by the frame, a desk, a crowd; a detector's box around what shows)
is filled by the head and the torso. A network that reads the figure's extent as the body's draws the
whole body shrunk into the crop: its skeleton is too small and too high, and the 2D error of the visible
joints is mostly that placement, not the pose. This measures it, per checkpoint, at one crop height:

* **scale**: the median over crops of ``s`` of the best fit ``s * pred + t`` (least squares, no rotation)
  of the network's 2D keypoints to the truth's, over the joints the crop shows. 1.0: drawn at the right
  size; 2.0: drawn half as large as the person is.
* **2D error** of the visible joints, and the same **after the fit** (what is left when size and
  position are given: the pose).

On the own test's generator (test seed, clean 224-px crops): the upright people cut with
:func:`model.data.partial_view.partial_view` to their top ``keep`` fraction, in bins of ``keep``, and
uncut, each brought to ``--height`` pixels (bicubic); errors are per crop side. On the real sets (the
committed crops at ``--height``, the service's cut of the person box with ``--framing box``): the scored
crops split into full-body people, partial people whose hips show and partial people whose hips do not
(head and shoulders); errors per person-box height, as :mod:`model.eval.real_people` scores them.
Writes ``--out`` (Markdown) and its JSON twin.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from benchmarks.report import checkpoint_parser, publish, run_meta
from model.data.degrade import bicubic_resize
from model.data.partial_view import PartialViewConfig, partial_view
from model.data.real_people import RealPerson, load_real_people
from model.data.synthetic import generator_for
from model.eval.evaluate import labelled_predictors, load_test_set
from model.eval.real_people import FRAMINGS, predict_at
from model.inference.predictor import Predictor

DEFAULT_OUT = Path(__file__).resolve().parent / "PARTIAL_SCALE.md"
DEFAULT_CACHE_DIR = Path("data/eval/checks")
#: Bins of the kept fraction of the person's height (from the top); ``(1, 1)``: uncut.
KEEP_BINS: tuple[tuple[float, float], ...] = ((0.2, 0.35), (0.35, 0.55), (0.55, 0.8), (1.0, 1.0))
#: COCO-17 hips: a partial real crop "shows the hips" when both are scored.
_HIPS = (11, 12)
REAL_GROUPS = ("full body", "partial, hips show", "partial, no hips")


def fit_scale(pred: np.ndarray, truth: np.ndarray) -> tuple[float, np.ndarray]:
    """The best ``s`` and ``s * pred + t`` (least squares over the rows, no rotation).

    Args:
        pred: ``(N, 2)`` predicted points; truth: ``(N, 2)`` the true ones (``N >= 2``).

    Returns:
        ``(s, fitted (N, 2))``; ``s`` is 1 for points that have no spread.
    """
    pc, tc = pred.mean(0), truth.mean(0)
    spread = float(((pred - pc) ** 2).sum())
    s = float(((pred - pc) * (truth - tc)).sum()) / spread if spread > 1e-12 else 1.0
    return s, (pred - pc) * s + tc


def placement_scores(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray, norm: float) -> tuple[float, float, float] | None:
    """``(scale, error, error after the fit)`` of one crop (errors: mean distance / ``norm``), ``None``
    with fewer than 3 valid joints."""
    valid = np.asarray(valid, bool)
    if valid.sum() < 3:
        return None
    p, t = np.asarray(pred, np.float64)[valid], np.asarray(truth, np.float64)[valid, :2]
    s, fitted = fit_scale(p, t)
    return s, float(np.linalg.norm(p - t, axis=-1).mean() / norm), float(np.linalg.norm(fitted - t, axis=-1).mean() / norm)


def summarise(rows: Sequence[tuple[float, float, float]]) -> dict[str, float | int]:
    a = np.asarray(rows, np.float64).reshape(-1, 3)
    if a.shape[0] == 0:
        return {"n": 0}
    return {"n": int(a.shape[0]), "scale": round(float(np.median(a[:, 0])), 2), "error": round(float(a[:, 1].mean()), 4),
            "fitted": round(float(a[:, 2].mean()), 4)}


def synthetic_views(samples: int, seed: int, cache_dir: Path | None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per keep bin (label): ``(images (N, 3, 224, 224), keypoints2d_coco17 (N, 17, 3))`` of the own test's people
    cut to that bin (uncut: every person)."""
    data = load_test_set(samples, cache_dir / f"own-{samples}.pt" if cache_dir is not None else None)  # model.eval.checks' cache
    out: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for lo, hi in KEEP_BINS:
        images, kps = [], []
        view = PartialViewConfig(prob=1.0, keep=(lo, hi)) if lo < 1.0 else None
        for i in range(data["images"].shape[0]):
            sample = {"image": data["images"][i].float(), "silhouette": data["silhouette"][i][None].float(),
                      "keypoints2d_coco17": data["keypoints2d_coco17"][i].clone()}
            if view is not None:
                sample = partial_view(sample, view, generator_for(seed, "partial-scale", i))
                if float(sample["partial_view"]) != 1.0:  # not upright enough to cut
                    continue
            images.append(sample["image"].clamp(0, 1))
            kps.append(sample["keypoints2d_coco17"])
        label = "uncut" if lo >= 1.0 else f"top {100 * lo:.0f}-{100 * hi:.0f} %"
        out[label] = (torch.stack(images), torch.stack(kps))
    return out


def score_synthetic(
    predictor: Predictor, views: dict[str, tuple[torch.Tensor, torch.Tensor]], height: int, tell_cut: bool = True
) -> dict[str, dict[str, float | int]]:
    """Per keep bin, the :func:`summarise`\ d placement of the network's 2D keypoints; a network with a cut
    input is told which crops are cut (every bin but ``uncut``) unless ``tell_cut`` is off."""
    result = {}
    for label, (images, kps) in views.items():
        side = images.shape[-1]
        small = bicubic_resize(images, (height, height)).clamp(0, 1)
        crops = (small.permute(0, 2, 3, 1).numpy() * 255.0).round().astype(np.uint8)
        preds = predictor.predict(list(crops), batch_size=32, cut=[label != "uncut"] * len(crops) if tell_cut else None)
        rows = [placement_scores(p.keypoints2d_coco17, k[:, :2].numpy() * height / side, k[:, 2].numpy() > 0.5, height)
                for p, k in zip(preds, kps)]
        result[label] = summarise([r for r in rows if r is not None])
    return result


def real_group(person: RealPerson) -> str:
    if person.full_body:
        return REAL_GROUPS[0]
    return REAL_GROUPS[1] if all(bool(person.valid[j]) for j in _HIPS) else REAL_GROUPS[2]


def score_real(
    predictor: Predictor, people: list[RealPerson], height: int, framing: str, tell_cut: bool = True
) -> dict[str, dict[str, float | int]]:
    """Per :data:`REAL_GROUPS` group, the :func:`summarise`\ d placement (cut flags as :func:`predict_at` gives them)."""
    kps, _, _ = predict_at(predictor, people, height, 32, framing=framing, tell_cut=tell_cut)
    rows: dict[str, list[tuple[float, float, float]]] = {g: [] for g in REAL_GROUPS}
    for kp, p in zip(kps, people):
        r = placement_scores(kp, p.keypoints, p.valid, p.box_height)
        if r is not None:
            rows[real_group(p)].append(r)
    return {g: summarise(v) for g, v in rows.items()}


def run(
    checkpoints: list[str], height: int, samples: int, sets: list[Path], framing: str, cache_dir: Path | None, seed: int = 0,
    tell_cut: bool = True,
) -> dict[str, Any]:
    predictors = labelled_predictors(checkpoints)
    views = synthetic_views(samples, seed, cache_dir)
    people = {s.name: load_real_people(s, usable_only=True) for s in sets}
    models: dict[str, Any] = {}
    for name, predictor in tqdm(predictors.items(), desc="models", unit="model"):
        models[name] = {"synthetic": score_synthetic(predictor, views, height, tell_cut),
                        "real": {s: score_real(predictor, ps, height, framing, tell_cut) for s, ps in people.items()},
                        "cut_input": predictor.cut_input}
    return {"height": height, "framing": framing, "tell_cut": tell_cut, "samples": samples, "sets": [str(s) for s in sets],
            "crops": {label: int(v[0].shape[0]) for label, v in views.items()}, "models": models}


def _cell(s: dict[str, float | int]) -> str:
    return "-" if not s.get("n") else f"{s['scale']:.2f} / {s['error']:.3f} / {s['fitted']:.3f}"


def _label(result: dict[str, Any], name: str) -> str:
    return f"{name} *cut*" if result["models"][name].get("cut_input") else name


def render(result: dict[str, Any], meta: dict[str, Any]) -> str:
    names = list(result["models"])
    bins = list(result["crops"])
    lines = [
        "# How large a network draws a person it sees only in part", "",
        f"`{meta['command']}`", "",
        f"{meta['cpu']}, {meta['date']}. Crops {result['height']} px. Each cell: **scale** (median over crops of the best"
        " fit `s` of the predicted visible 2D joints onto the true ones; 1.0 = drawn at the right size, 2.0 = drawn half"
        " as large as the person is) / 2D error / 2D error after that fit (size and position given: the pose).", "",
        "Networks with a cut input (marked *cut*) are " + ("told which crops are cut: every cut bin of the generator, and the real"
        " people the review finds not wholly inside their photo." if result.get("tell_cut", True) else "not told which crops are cut"
        " (`--no-cut-flags`: every flag 0, as for a client that sends none)."), "",
        f"**The own test's generator** (test seed, {result['samples']} people; the upright ones cut to the top fraction"
        " of their height named, as `model.data.partial_view` cuts training crops; errors per crop side):", "",
        "| model | " + " | ".join(f"{b} ({result['crops'][b]})" for b in bins) + " |", "|---|" + "---|" * len(bins),
    ]  # fmt: skip
    for name in names:
        lines.append(f"| {_label(result, name)} | " + " | ".join(_cell(result["models"][name]["synthetic"][b]) for b in bins) + " |")
    for s in result["sets"]:
        label = Path(s).name
        first = result["models"][names[0]]["real"][label]
        lines += ["", f"**{s}** (framing `{result['framing']}`; errors per person-box height):", "",
                  "| model | " + " | ".join(f"{g} ({first[g]['n']})" for g in REAL_GROUPS) + " |", "|---|" + "---|" * len(REAL_GROUPS)]
        for name in names:
            lines.append(f"| {_label(result, name)} | " + " | ".join(_cell(result["models"][name]["real"][label][g]) for g in REAL_GROUPS) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = checkpoint_parser("benchmarks.train.partial_scale", __doc__, DEFAULT_OUT, 400, "own-test people rendered", resolutions=False)
    parser.add_argument("--height", type=int, default=32, help="crop height in pixels (default: %(default)s)")
    parser.add_argument("--sets", nargs="*", type=Path, default=[Path("checks/real_people"), Path("checks/real_people_c")],
                        help="real sets (default: the two with partial people)")
    parser.add_argument("--framing", choices=FRAMINGS, default="box", help="real crops' framing (default: %(default)s, the service's cut)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR,
                        help="folder of model.eval.checks' test-set caches, own-<samples>.pt (default: %(default)s)")
    parser.add_argument("--no-cut-flags", action="store_true",
                        help="do not tell networks with a cut input which crops are cut (every flag 0, as for a client that sends none)")
    args = parser.parse_args(argv)
    if args.samples < 1 or not 16 <= args.height <= 224:
        parser.error("--samples must be >= 1 and --height in [16, 224]")
    torch.set_num_threads(args.threads)
    result = run(args.checkpoint, args.height, args.samples, args.sets, args.framing, args.cache_dir, tell_cut=not args.no_cut_flags)
    meta = run_meta("benchmarks.train.partial_scale", argv, threads=args.threads)
    publish(args.out, render(result, meta), {"meta": meta, **result})


if __name__ == "__main__":
    main()
