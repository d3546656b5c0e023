"""Can the pictures tell a front view from a back view? A network trained on that question alone.

``python -m benchmarks.train.facing_probe [--subset 16384] [--steps 1200] [--every 300]``

The served network answers whether a person faces the camera right for about two people in three
(``benchmarks/train/CHIRALITY_PROBE.md``), and a linear probe on its features does no better; without
the facing, which limb is the left one cannot follow. This asks whether the generator's pictures
hold the facing at the network's input size: a ResNet-18 (the backbone of RSC-Net, one resolution
row) with a single logit is trained from scratch with a binary cross-entropy on "faces the camera"
only, on clean crops of the shards (``--shards``, the first ``--subset`` scenes) brought to
``--size`` px, with horizontal flips (which keep the answer) and colour jitter, on people whose forward
axis points within 60 degrees of towards or away from the camera (the control question of the probe).
Every ``--every`` steps it reports the accuracy on 400 such scenes of the fit subset and on people of
the own test (the test seed, drawn by the generator the shards were rendered with) and, the question that matters, on the real people of the
committed sets (``--real``) whose reviewed shoulders and hips say clearly whether they face the camera
(:attr:`~model.data.real_people.RealPerson.facing`), brought to ``--size`` px as a camera would give them:
share right among those facing, among those seen from behind, and their mean (most real people face the
camera, so the plain share would reward answering "front" always). Writes ``--out`` (Markdown) and its
JSON twin.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from benchmarks.report import publish, run_meta
from benchmarks.train.chirality_probe import QUESTIONS, body_frame_answers
from benchmarks.train.outline_probe import fill_figure
from model.data.degrade import bicubic_resize
from model.data.real_people import real_crop_at_height
from model.data.shards import ShardDataset
from model.eval.evaluate import TEST_CROP, TEST_SEED, network_input, render_test_set
from model.eval.real_facing import REAL_SETS, facing_people
from model.eval.real_people import display_path, facing_shares
from model.geometry.rotations import axis_angle_to_matrix
from model.nets.backbones.resnet import ResolutionAwareResNet
from model.nets.config import BackboneConfig
from model.nets.rscnet import IMAGENET_MEAN, IMAGENET_STD

DEFAULT_OUT = Path(__file__).resolve().parent / "FACING_PROBE.md"


class FacingNet(torch.nn.Module):
    """ResNet-18 backbone and one logit: does the person face the camera?"""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = ResolutionAwareResNet(BackboneConfig(depth=18, num_ranges=1))
        self.head = torch.nn.Linear(self.backbone.feature_dim, 1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - self.mean) / self.std
        return self.head(self.backbone(x, torch.zeros(x.shape[0], dtype=torch.long)))[:, 0]


#: ``--upright``: the body's up axis within this many degrees of the image's up (standing, walking people).
UPRIGHT_DEG = 25.0


def _facing(joints: torch.Tensor, root_aa: torch.Tensor, upright: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(asked, faces)``: people clearly facing towards or away from the camera (and, with
    ``upright``, upright in the picture), and which."""
    root = axis_angle_to_matrix(root_aa)
    answer = body_frame_answers(joints, root)["facing"]
    asked = answer.abs() >= QUESTIONS["facing"]
    if upright:  # the body's +y (up) against the camera's -y (image up)
        asked = asked & (-root[:, 1, 1] >= math.cos(math.radians(UPRIGHT_DEG)))
    return asked, answer > 0


def _answers(net: FacingNet, images: torch.Tensor) -> torch.Tensor:
    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(images[i : i + 128]) for i in range(0, images.shape[0], 128)])
    net.train()
    return logits > 0


def _accuracy(net: FacingNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((_answers(net, images) == labels).float().mean())


def real_facing_set(roots: list[Path], size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Real people whose facing is clear (:func:`~model.eval.real_facing.facing_people`): images
    ``(N, 3, size, size)`` in ``[0, 1]``, labels ``(N,)`` bool (faces the camera) and crop ids."""
    people = facing_people(roots)
    images = [torch.from_numpy(real_crop_at_height(p, size)[0]).permute(2, 0, 1).float() / 255.0 for p in people]
    return torch.stack(images), torch.tensor([bool(p.facing) for p in people]), [p.id for p in people]


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.manual_seed(args.seed)
    data = ShardDataset(args.shards, limit=args.subset)
    images, labels = [], []
    for i in tqdm(range(len(data)), desc="reading scenes", unit="scene"):
        s = data.clean(i)
        asked, faces = _facing(s["joints3d_lsp14"][None, :, :3].float(), s["pose"][None, 0].float(), args.upright)
        if bool(asked):
            image = s["image"][None]
            if args.fill_figure:
                image = fill_figure(image, s["silhouette"] > 0.5)
            images.append(bicubic_resize(image, (args.size, args.size)).clamp(0, 1)[0])
            labels.append(bool(faces))
    x, y = torch.stack(images), torch.tensor(labels)
    fit = (x[:400], y[:400])
    test = render_test_set(args.samples, config=dataclasses.replace(data.synthetic_config, seed=TEST_SEED, crop_size=TEST_CROP))
    asked, faces = _facing(test["joints3d_lsp14"][..., :3].float(), test["pose"][:, 0].float(), args.upright)
    test_images = fill_figure(test["images"].float(), test["silhouette"]) if args.fill_figure else test["images"].float()
    held = (network_input(test_images[asked], args.size, args.size), faces[asked])
    real_x, real_y, _ = real_facing_set(args.real, args.size)
    net = FacingNet()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    rows, t0 = [], time.perf_counter()
    for step in tqdm(range(1, args.steps + 1), desc="training", unit="step"):
        idx = torch.randint(len(x), (args.batch,), generator=gen)
        batch = x[idx].clone()
        flip = torch.rand(args.batch, generator=gen) < 0.5
        batch[flip] = batch[flip].flip(-1)
        batch = (batch * (1 + 0.4 * (torch.rand(args.batch, 3, 1, 1, generator=gen) * 2 - 1))).clamp(0, 1)
        loss = F.binary_cross_entropy_with_logits(net(batch), y[idx].float())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % args.every == 0:
            rows.append({
                "step": step, "fit": _accuracy(net, *fit), "held_out": _accuracy(net, *held),
                "real": facing_shares(_answers(net, real_x).tolist(), real_y.tolist()), "seconds": round(time.perf_counter() - t0),
            })  # fmt: skip
    share = float(held[1].float().mean())
    return {
        "rows": rows, "scenes": int(len(x)), "held_out_people": int(held[1].numel()), "held_out_majority": max(share, 1 - share),
        "real_people": int(real_y.numel()), "real_front": int(real_y.sum()),
    }  # fmt: skip


def render(result: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# Can the pictures tell a front view from a back view?", "",
        f"`{meta['command']}`", "",
        f"{meta['cpu']}, {meta['threads']} threads, {meta['date']}. A ResNet-18 trained from scratch on 'faces the camera' alone:"
        f" {result['scenes']} clean scenes at {meta['size']} px (people within 60 degrees of facing towards or away from the camera"
        f"{', upright in the picture' if meta.get('upright') else ''}"
        f"{'; every figure filled with its mean colour, the outline alone, in training and held out' if meta.get('fill_figure') else ''}),"
        f" batch {meta['batch']}, Adam {meta['lr']:g}; accuracy on 400 of them (fit) and on {result['held_out_people']} people of the"
        f" own test (held out; majority answer {100 * result['held_out_majority']:.0f} %); and on {result['real_people']} real people"
        f" of {', '.join(meta['real'])} whose reviewed shoulders and hips say it ({result['real_front']} facing the camera,"
        f" {result['real_people'] - result['real_front']} from behind): share right among each, and their mean (50 % for a"
        " constant answer).", "",
        "| step | fit | held out | real: front | real: back | real: mean | seconds |", "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        real = r["real"]
        lines.append(
            f"| {r['step']} | {100 * r['fit']:.0f} % | {100 * r['held_out']:.0f} % | {100 * real['front']:.0f} % |"
            f" {100 * real['back']:.0f} % | {100 * real['balanced']:.0f} % | {r['seconds']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train.facing_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=Path, default=Path("data/shards/train-300k-380k"))
    parser.add_argument("--subset", type=int, default=16384, help="scenes read (those clearly facing towards or away are kept)")
    parser.add_argument("--samples", type=int, default=800, help="own-test people rendered (default: %(default)s)")
    parser.add_argument("--size", type=int, default=64, help="input size in pixels (default: %(default)s)")
    parser.add_argument("--upright", action="store_true",
                        help=f"only people upright in the picture (body up within {UPRIGHT_DEG:g} degrees of the image's up), in training and held out")
    parser.add_argument("--fill-figure", action="store_true",
                        help="fill every figure with its mean colour (training and held-out scenes; the real people stay as"
                             " photographed): how much of the answer is the outline alone. The generator's silhouette is"
                             " amodal, so where an occluder hides the person the fill paints the hidden outline over it:"
                             " the outlines shown are, if anything, more complete than the pictures'")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--every", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5.0e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--real", type=lambda v: [Path(p) for p in v.split(",") if p], default=list(REAL_SETS),
                        help="real-people sets, comma-separated (default: the committed sets, model.eval.real_facing.REAL_SETS)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.steps < args.every or args.every < 1 or args.subset < 400:
        parser.error("--steps must be >= --every >= 1 and --subset >= 400")
    torch.set_num_threads(args.threads)
    result = run(args)
    meta = run_meta("benchmarks.train.facing_probe", argv, threads=args.threads, size=args.size, batch=args.batch, lr=args.lr,
                    real=[display_path(r) for r in args.real], upright=args.upright, fill_figure=args.fill_figure)
    publish(args.out, render(result, meta), {"meta": meta, **result})


if __name__ == "__main__":
    main()
