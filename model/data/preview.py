"""Draw synthetic samples at several resolutions with their keypoints, to check the data by eye.

``python -m model.data.preview --out grid.png [--samples 6] [--resolutions 224,96,52,32,24]``

Each row is one sample: the clean crop with its COCO-17 skeleton (person's left blue, right red,
hidden keypoints hollow) and silhouette outline, then the same crop degraded to each resolution
and brought back to the input size as the network sees it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from model.body.joint_names import COCO17_EDGES, COCO17_NAMES
from model.data.degrade import DegradeConfig, degrade
from model.data.synthetic import SyntheticConfig, SyntheticPeople, generator_for


def _side_colour(name: str) -> str:
    return "tab:blue" if name.startswith("left") else "tab:red" if name.startswith("right") else "white"


def draw_grid(
    people: SyntheticPeople, indices: list[int], resolutions: list[int], out: Path, mode: str = "realistic"
) -> Path:
    """Render ``indices`` and write the grid PNG to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batch = people.generate(indices)
    s = people.config.crop_size
    cols = 1 + len(resolutions)
    fig, axes = plt.subplots(len(indices), cols, figsize=(1.9 * cols, 1.9 * len(indices)), dpi=110, squeeze=False)
    cfg = DegradeConfig(mode=mode)
    for r, idx in enumerate(indices):
        image = batch["image"][r].cpu()
        ax = axes[r, 0]
        ax.imshow(image.permute(1, 2, 0).numpy())
        ax.contour(batch["silhouette"][r, 0].cpu().numpy(), levels=[0.5], colors="lime", linewidths=0.5)
        kp = batch["keypoints2d_coco17"][r].cpu().numpy()
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.data.preview", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("grid.png"))
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--start", type=int, default=0, help="first sample index")
    parser.add_argument("--resolutions", default="224,96,52,32,24", help="comma-separated crop sizes")
    parser.add_argument("--mode", choices=("bicubic", "realistic"), default="realistic")
    parser.add_argument("--crop-size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    people = SyntheticPeople(SyntheticConfig(crop_size=args.crop_size, seed=args.seed))
    res = [int(x) for x in args.resolutions.split(",") if x]
    path = draw_grid(people, list(range(args.start, args.start + args.samples)), res, args.out, args.mode)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
