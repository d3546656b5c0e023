"""Draw synthetic samples at several resolutions with their keypoints, and beside real people, to check the data by eye.

``python -m model.data.preview --out grid.png [--samples 6] [--resolutions 224,96,52,32,24] [--real 8]``

``grid.png``: each row is one sample: the clean crop with its COCO-17 skeleton (person's left blue,
right red, hidden keypoints hollow) and silhouette outline, then the same crop degraded to each
resolution and brought back to the input size as the network sees it.

``grid_vs_real.png`` (with ``--real K > 0``): synthetic crops (the training generator, realistic
camera degradation) beside ``K`` real person crops of the committed real-people set
(:mod:`model.data.real_people`), both at 64, 32 and 24 px and shown pixel for pixel (nearest
upscaling), so that a reader can judge the gap between our renders and people by eye.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from model.body.joint_names import COCO17_EDGES, COCO17_NAMES
from model.data.degrade import DegradeConfig, degrade
from model.data.partial_view import PartialViewConfig, partial_view
from model.data.real_people import DEFAULT_ROOT, RealPerson, load_real_people, real_crop_at_height
from model.data.synthetic import SyntheticConfig, SyntheticPeople, generator_for


def _side_colour(name: str) -> str:
    return "tab:blue" if name.startswith("left") else "tab:red" if name.startswith("right") else "white"


def draw_grid(
    people: SyntheticPeople, indices: list[int], resolutions: list[int], out: Path, mode: str = "realistic",
    partial: PartialViewConfig = PartialViewConfig(),
) -> Path:
    """Render ``indices`` and write the grid PNG to ``out`` (``partial``: cut partial views as training does)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batch = people.generate(indices)
    s = people.config.crop_size
    cols = 1 + len(resolutions)
    fig, axes = plt.subplots(len(indices), cols, figsize=(1.9 * cols, 1.9 * len(indices)), dpi=110, squeeze=False)
    cfg = DegradeConfig(mode=mode)
    for r, idx in enumerate(indices):
        sample = {"image": batch["image"][r].cpu(), "silhouette": batch["silhouette"][r].cpu(), "keypoints2d_coco17": batch["keypoints2d_coco17"][r].cpu()}
        sample = partial_view(sample, partial, generator_for("preview-partial", idx))
        image = sample["image"]
        ax = axes[r, 0]
        ax.imshow(image.permute(1, 2, 0).numpy())
        ax.contour(sample["silhouette"][0].numpy(), levels=[0.5], colors="lime", linewidths=0.5)
        kp = sample["keypoints2d_coco17"].numpy()
        for a, b in COCO17_EDGES:
            ax.plot(kp[[a, b], 0], kp[[a, b], 1], color="yellow", lw=0.8)
        for k, name in enumerate(COCO17_NAMES):
            filled = kp[k, 2] > 0.5
            ax.scatter(kp[k, 0], kp[k, 1], s=10, c=_side_colour(name) if filled else "none",
                       edgecolors=_side_colour(name), linewidths=0.8, zorder=3)
        ax.set_title(f"#{idx} id {int(batch['identity'][r])}", fontsize=7)
        gen = generator_for("preview", idx)
        lows = degrade(image[None].expand(len(resolutions), -1, -1, -1), torch.tensor(resolutions), s, cfg, gen)
        for c, (res, low) in enumerate(zip(resolutions, lows), start=1):
            axes[r, c].imshow(low.permute(1, 2, 0).numpy())
            axes[r, c].set_title(f"{res} px", fontsize=7)
    for ax in axes.ravel():
        ax.set_xlim(0, s)
        ax.set_ylim(s, 0)
        ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def draw_comparison(
    people: SyntheticPeople, indices: list[int], real: list[RealPerson], heights: list[int], out: Path
) -> Path:
    """Synthetic crops (left block) beside real crops (right block), one row per height; writes ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batch = people.generate(indices)
    s = people.config.crop_size
    cfg = DegradeConfig(mode="realistic")
    cols = len(indices) + len(real)
    fig, axes = plt.subplots(len(heights), cols, figsize=(1.1 * cols, 1.25 * len(heights)), dpi=110, squeeze=False)
    for r, h in enumerate(heights):
        for c, idx in enumerate(indices):
            gen = generator_for("preview-compare", idx, h)
            # degraded at h px (camera effects at that size), then shown at h px
            low = degrade(batch["image"][c : c + 1].cpu(), [h], s, cfg, gen)
            small = torch.nn.functional.interpolate(low, size=(h, h), mode="area")[0]
            axes[r, c].imshow(small.clamp(0, 1).permute(1, 2, 0).numpy(), interpolation="nearest")
            axes[r, c].set_title(f"synthetic {h} px" if c == 0 else "", fontsize=6, loc="left")
        for c, person in enumerate(real, start=len(indices)):
            crop, _ = real_crop_at_height(person, h)
            axes[r, c].imshow(crop, interpolation="nearest")
            axes[r, c].set_title(f"real {h} px" if c == len(indices) else "", fontsize=6, loc="left")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def _spread(items: list[RealPerson], k: int) -> list[RealPerson]:
    """``k`` items spread evenly over ``items`` (all of them when there are fewer)."""
    if k >= len(items):
        return items
    return [items[round(i * (len(items) - 1) / max(k - 1, 1))] for i in range(k)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.data.preview", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("grid.png"))
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--start", type=int, default=0, help="first sample index")
    parser.add_argument("--resolutions", default="224,96,52,32,24", help="comma-separated crop sizes")
    parser.add_argument("--mode", choices=("bicubic", "realistic"), default="realistic")
    parser.add_argument("--crop-size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--partial-view", type=float, default=0.0, help="share of people cut to partial views (model.data.partial_view)")
    parser.add_argument("--real", type=int, default=8, help="real people beside as many synthetic ones (0: no comparison)")
    parser.add_argument("--real-root", type=Path, default=DEFAULT_ROOT, help="real-people set folder")
    parser.add_argument("--compare-heights", default="64,32,24", help="heights of the synthetic vs real comparison")
    args = parser.parse_args(argv)
    people = SyntheticPeople(SyntheticConfig(crop_size=args.crop_size, seed=args.seed))
    res = [int(x) for x in args.resolutions.split(",") if x]
    path = draw_grid(people, list(range(args.start, args.start + args.samples)), res, args.out, args.mode, PartialViewConfig(prob=args.partial_view))
    print(f"wrote {path}")
    if args.real > 0:
        real = _spread(load_real_people(args.real_root, usable_only=False), args.real)
        heights = [int(x) for x in args.compare_heights.split(",") if x]
        synthetic = list(range(args.start, args.start + len(real)))
        compare = draw_comparison(people, synthetic, real, heights, args.out.with_name(f"{args.out.stem}_vs_real.png"))
        print(f"wrote {compare}")


if __name__ == "__main__":
    main()
