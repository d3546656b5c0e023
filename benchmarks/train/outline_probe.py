"""Outline or limbs? A network's answers when the inside of the figure is gone.

``python -m benchmarks.train.outline_probe --checkpoint C [C2 ...] [--samples 400] [--tiny 8]``

A network brought a person 8 pixels tall keeps much of its gain over the mean answer
(``checkpoints/rscnet-long/eval/resolution_floor``), so much of what it reads is the figure's outline.
This asks the complementary question at full size: for people of the own test's generator (the test
seed) alone in their crop (no occluder, no second person, so the silhouette is what the camera sees),
each checkpoint answers four pictures of the same scene, brought to its input:

* **as rendered** (224 px);
* **figure filled**: every pixel of the person's silhouette set to the figure's mean colour -- the
  outline and the background are kept, everything inside the figure (clothes, face, hands, the limbs
  in front of the body) is gone;
* **figure filled, no background**: the same, with the background set to its own mean colour too --
  a flat silhouette on a flat ground;
* **tiny**: the picture brought down to ``--tiny`` pixels (bicubic) and up again, given to the network
  as a full-resolution crop (its first resolution row; ``model.eval.checks --resolutions 8`` uses the
  row of an 8-px crop instead, and every test person, so its figure differs a little).

PA-MPJPE (mm, LSP-14) and the share of each network's gain over the constant mean answer that each
picture keeps: a network that reads limbs loses most of its gain when the inside is filled; one that
reads the outline keeps it. Writes ``--out`` (Markdown) and its JSON twin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from benchmarks.report import checkpoint_parser, publish, run_meta
from model.data.degrade import bicubic_resize
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.eval.evaluate import (
    MEAN_ROW,
    TEST_CROP,
    TEST_SEED,
    labelled_predictors,
    per_sample_errors,
    render_test_set,
)

DEFAULT_OUT = Path(__file__).resolve().parent / "OUTLINE_PROBE.md"
PICTURES = ("as rendered", "figure filled", "figure filled, no background", "tiny")


def alone_in_crop(samples: int, seed: int = TEST_SEED) -> torch.Tensor:
    """``(N,)`` bool: test scenes with no occluder and no second person (their silhouette is what shows)."""
    people = SyntheticPeople(SyntheticConfig(crop_size=TEST_CROP, seed=seed))
    scenes = [people.sample_scene(i) for i in range(samples)]
    return torch.tensor([s.occluder is None and s.second is None for s in scenes])


def fill_figure(images: torch.Tensor, silhouette: torch.Tensor, background: bool = False) -> torch.Tensor:
    """Images ``(N, 3, H, W)`` with each figure (``silhouette (N, H, W)`` bool) set to its mean colour,
    and with ``background`` the rest set to its own mean colour too."""
    mask = silhouette[:, None].to(images.dtype)
    area = mask.sum((2, 3), keepdim=True).clamp_min(1.0)
    figure = (images * mask).sum((2, 3), keepdim=True) / area
    out = images * (1 - mask) + figure * mask
    if background:
        rest = (1 - mask).sum((2, 3), keepdim=True).clamp_min(1.0)
        ground = (images * (1 - mask)).sum((2, 3), keepdim=True) / rest
        out = ground * (1 - mask) + figure * mask
    return out


def pictures(data: dict[str, torch.Tensor], tiny: int) -> dict[str, torch.Tensor]:
    """The four pictures of :data:`PICTURES` of every scene, ``(N, 3, 224, 224)`` in ``[0, 1]``."""
    images, sil = data["images"].float(), data["silhouette"]
    side = images.shape[-1]
    return {
        "as rendered": images,
        "figure filled": fill_figure(images, sil),
        "figure filled, no background": fill_figure(images, sil, background=True),
        "tiny": bicubic_resize(bicubic_resize(images, (tiny, tiny)), (side, side)).clamp(0, 1),
    }


def run(checkpoints: list[str], samples: int, tiny: int) -> dict[str, Any]:
    data = render_test_set(samples)
    keep = alone_in_crop(samples)
    data = {k: v[keep] for k, v in data.items()}
    views = pictures(data, tiny)
    predictors = labelled_predictors(checkpoints)
    side = data["images"].shape[-1]
    models: dict[str, dict[str, float]] = {}
    for name, predictor in tqdm(predictors.items(), desc="models", unit="model"):
        models[name] = {
            view: round(float(per_sample_errors(predictor, {**data, "images": images}, [side])[side]["pa_mpjpe"].mean()), 1)
            for view, images in views.items()
        }
    return {"people": int(keep.sum()), "rendered": samples, "tiny": tiny, "models": models}


def render(result: dict[str, Any], meta: dict[str, Any]) -> str:
    mean = result["models"][MEAN_ROW]["as rendered"]
    views = [v if v != "tiny" else f"tiny ({result['tiny']} px)" for v in PICTURES]
    lines = [
        "# Outline or limbs? Answers when the inside of the figure is gone", "",
        f"`{meta['command']}`", "",
        f"{meta['cpu']}, {meta['date']}. {result['people']} people of the own test's generator (test seed) alone in their"
        f" crop (no occluder, no second person; of {result['rendered']} rendered), each pictured four ways and brought to"
        " the network's input. PA-MPJPE (mm, LSP-14), and in brackets the share of the network's gain over the constant"
        " mean answer (as rendered) that the picture keeps.", "",
        "| model | " + " | ".join(views) + " |", "|---|" + "---|" * len(views),
    ]  # fmt: skip
    for name, row in result["models"].items():
        gain = mean - row["as rendered"]
        cells = []
        for view in PICTURES:
            kept = f" ({100 * (mean - row[view]) / gain:.0f} %)" if name != MEAN_ROW and view != "as rendered" and gain > 0 else ""
            cells.append(f"{row[view]:.1f}{kept}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = checkpoint_parser(
        "benchmarks.train.outline_probe", __doc__, DEFAULT_OUT, 400, "test scenes rendered; those alone in their crop are scored", resolutions=False,
    )
    parser.add_argument("--tiny", type=int, default=8, help="height in pixels of the tiny picture (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.samples < 1 or not 4 <= args.tiny <= 224:
        parser.error("--samples must be >= 1 and --tiny in [4, 224]")
    torch.set_num_threads(args.threads)
    result = run(args.checkpoint, args.samples, args.tiny)
    meta = run_meta("benchmarks.train.outline_probe", argv, threads=args.threads)
    publish(args.out, render(result, meta), {"meta": meta, **result})


if __name__ == "__main__":
    main()
