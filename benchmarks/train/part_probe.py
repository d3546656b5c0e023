"""Does the backbone read the inside? The part head's answers against the truth and against the twin.

``python -m benchmarks.train.part_probe --checkpoint C [C2 ...] [--samples 200] [--resolutions 224,32]``

A network with a part head (``net.part_head``, :mod:`model.nets.heads.parts`) answers, for every cell
of a stride-4 grid, which part of the body shows there: left from right, front from back
(:mod:`model.body.parts`). The outline decides where the body is and roughly which part; only the
inside of the figure decides the side and the left/right labels, which are exactly the ones the
depth-mirror twin has swapped (its left is the truth's right, its front the truth's back). For people
of the own test's generator (the test seed), brought to each size as the checks bring them, this
reports on the cells the body covers, with the head's strongest body class there (where the body is
is the outline's answer; which part shows there is the question):

* **exact**: the answered class is the true one;
* **twin's class**: the answered class is the one the twin would have there (left and right swapped,
  front and back swapped) -- a head that reads only the outline scores as well here as on **exact**;
* **part**: the part right whatever the side and left/right labels (what the outline can give);
* **front/back**: the side right, among cells answered as body;
* **left/right**: the left/right label right, among limb cells answered as a limb.

The majority answer of each row is given beside it (the largest class share among the body cells,
and 50 % for the two binary rows). Writes ``--out`` (Markdown) and its JSON twin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from benchmarks.report import checkpoint_parser, parse_resolutions, publish, run_meta
from model.body.parts import PART_FLIP_PERMUTATION, PART_GROUPS, part_class_names
from model.data.synthetic import SyntheticConfig
from model.eval.evaluate import TEST_CROP, TEST_SEED, checkpoint_label, network_input, render_test_set
from model.inference.predictor import Predictor
from model.losses.parts import part_targets

DEFAULT_OUT = Path(__file__).resolve().parent / "PART_PROBE.md"
ROWS = ("exact", "twin's class", "part", "front/back", "left/right")


def _class_tables() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per class: its part whatever left or right (-1 background), side (0 front, 1 back, -1), left/right (0 left, 1 right,
    -1 neither) and the twin's class."""
    names = part_class_names()
    kinds = sorted({g.removeprefix("left_").removeprefix("right_") for g in PART_GROUPS})
    group = torch.tensor([-1] + [kinds.index(PART_GROUPS[(c - 1) // 2].removeprefix("left_").removeprefix("right_")) for c in range(1, len(names))])
    side = torch.tensor([-1] + [(c - 1) % 2 for c in range(1, len(names))])
    lr = torch.tensor([0 if n.startswith("left_") else 1 if n.startswith("right_") else -1 for n in names])
    # the twin: left and right swapped (the flip permutation) and front and back swapped
    swapped = torch.tensor(PART_FLIP_PERMUTATION)
    twin = torch.tensor([0] + [int(swapped[c]) + (1 if (int(swapped[c]) - 1) % 2 == 0 else -1) for c in range(1, len(names))])
    return group, side, lr, twin


def scores(answer: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """The rows of :data:`ROWS` (shares, 0-1) for answered and true classes ``(N, H, W)`` on the true body cells."""
    group, side, lr, twin = _class_tables()
    body = truth > 0
    a, t = answer[body], truth[body]
    said_body = a > 0
    limbs = (lr[t] >= 0) & (lr[a] >= 0)
    return {
        "exact": float((a == t).float().mean()),
        "twin's class": float((a == twin[t]).float().mean()),
        "part": float((group[a] == group[t]).float().mean()),
        "front/back": float((side[a] == side[t])[said_body].float().mean()) if bool(said_body.any()) else float("nan"),
        "left/right": float((lr[a] == lr[t])[limbs].float().mean()),
    }


@torch.inference_mode()
def probe(predictor: Predictor, data: dict[str, torch.Tensor], resolution: int, batch: int = 32) -> dict[str, float]:
    net = predictor.net.eval()
    if net.part_head is None:
        raise ValueError(f"{predictor.name} has no part head (net.part_head)")
    row = predictor.ranges.index(resolution)
    answers, truths = [], []
    for start in range(0, data["images"].shape[0], batch):
        imgs = network_input(data["images"][start : start + batch], resolution, predictor.input_size)
        ri = torch.full((imgs.shape[0],), row, dtype=torch.long)
        logits = net(imgs.to(predictor.device), ri.to(predictor.device)).part_logits.float().cpu()
        answers.append(logits[:, 1:].argmax(1) + 1)  # which part shows, asked where the body is
        truths.append(part_targets(data["parts"][start : start + batch], tuple(logits.shape[-2:])))
    answer, truth = torch.cat(answers), torch.cat(truths)
    result = scores(answer, truth)
    counts = torch.bincount(truth[truth > 0], minlength=len(part_class_names()))
    result["majority"] = float(counts.max() / counts.sum())
    return result


def run(checkpoints: list[str], samples: int, resolutions: list[int]) -> dict[str, Any]:
    data = render_test_set(samples, config=SyntheticConfig(crop_size=TEST_CROP, seed=TEST_SEED, part_maps=True))
    taken: set[str] = set()
    models: dict[str, dict[str, dict[str, float]]] = {}
    for ckpt in tqdm(checkpoints, desc="models", unit="model"):
        predictor = Predictor.from_checkpoint(ckpt, device="cpu")
        models[checkpoint_label(ckpt, taken)] = {str(r): probe(predictor, data, r) for r in resolutions}
    return {"people": samples, "resolutions": resolutions, "parts": list(PART_GROUPS), "models": models}


def render(result: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# Does the backbone read the inside? The part head against the truth and the twin", "",
        f"`{meta['command']}`", "",
        f"{meta['cpu']}, {meta['date']}. {result['people']} people of the own test's generator (test seed), brought to"
        " each size as the checks bring them; shares of the cells the body covers on the head's grid (stride 4). A head"
        " that reads only the outline scores on **twin's class** as on **exact**. Majority: the largest class's share"
        " of the body cells (50 % for the two binary columns).", "",
        "| model | size | " + " | ".join(ROWS) + " | majority class |", "|---|---|" + "---|" * (len(ROWS) + 1),
    ]  # fmt: skip
    for name, per_size in result["models"].items():
        for size, row in per_size.items():
            cells = " | ".join(f"{100 * row[k]:.1f} %" for k in ROWS)
            lines.append(f"| {name} | {size} | {cells} | {100 * row['majority']:.1f} % |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = checkpoint_parser("benchmarks.train.part_probe", __doc__, DEFAULT_OUT, 200, "test people")
    args = parser.parse_args(argv)
    resolutions = parse_resolutions(parser, args.resolutions, 8, TEST_CROP)
    if args.samples < 1:
        parser.error("--samples must be >= 1")
    torch.set_num_threads(args.threads)
    result = run(args.checkpoint, args.samples, resolutions)
    meta = run_meta("benchmarks.train.part_probe", argv, threads=args.threads)
    publish(args.out, render(result, meta), {"meta": meta, **result})

if __name__ == "__main__":
    main()
