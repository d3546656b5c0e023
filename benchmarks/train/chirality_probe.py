"""Where is left/right lost: in the backbone's features, or between them and the answer?

``python -m benchmarks.train.chirality_probe --checkpoint C [--train 4000] [--samples 400]``

A network that hedges between a body and its mirror twin (``benchmarks/train/CHIRALITY.md``) either
has no left/right in its features, or has it and does not turn it into the pose. For three yes/no
questions about each person, asked in the body's own frame (y up, z forward):

* **feet**: is the left ankle in front of the right one? (people whose ankles are >= 15 cm apart
  along the body's forward axis: a stride);
* **hands**: is the left wrist higher than the right one? (wrists >= 20 cm apart in height);
* **facing** (the control, no left/right in it): does the person face the camera? (people whose forward
  axis points within 60 degrees of towards or away from it)

it reports how often the network's own answer (its joints turned back by its own root rotation) gets
the question right, and how often a **linear probe** on its pooled feature ``phi`` does: logistic
regression fitted on ``--train`` clean scenes of the shards (``--shards``), scored on people of the
own test's generator (test seed, never trained on), all brought to the network's input as a camera
that sees them ``--resolution`` px tall. Chance is the majority answer's share. Writes ``--out``
(Markdown) and its JSON twin.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from benchmarks.report import publish, run_meta
from model.body.joint_names import LSP14_NAMES
from model.data.shards import ShardDataset
from model.eval.evaluate import network_input, render_test_set
from model.geometry.rotations import axis_angle_to_matrix
from model.inference import Predictor

DEFAULT_OUT = Path(__file__).resolve().parent / "CHIRALITY_PROBE.md"
_J = {name: LSP14_NAMES.index(name) for name in ("left_ankle", "right_ankle", "left_wrist", "right_wrist", "left_hip", "right_hip")}
#: question -> the smallest separation (metres) a person needs to be asked it.
QUESTIONS = {"feet": 0.15, "hands": 0.20, "facing": 0.5}


def body_frame_answers(joints: torch.Tensor, root: torch.Tensor) -> dict[str, torch.Tensor]:
    """Signed answers ``(N,)`` to the three questions for LSP-14 joints ``(N, 14, 3)`` (camera frame) and
    root rotations ``(N, 3, 3)`` (body to camera): positive = yes; ``facing`` is the forward axis's
    component towards the camera."""
    pelvis = 0.5 * (joints[:, _J["left_hip"]] + joints[:, _J["right_hip"]])
    body = (joints - pelvis[:, None]) @ root  # row vectors: x_body = R^T x
    return {
        "feet": body[:, _J["left_ankle"], 2] - body[:, _J["right_ankle"], 2],
        "hands": body[:, _J["left_wrist"], 1] - body[:, _J["right_wrist"], 1],
        "facing": -root[:, 2, 2],
    }


@torch.inference_mode()
def _encode(predictor: Predictor, images: torch.Tensor, resolution: int, batch: int = 64) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Features ``phi (N, C)`` and the network's own signed answers for crops ``(N, 3, S, S)``."""
    s = predictor.input_size
    row = predictor.ranges.index(resolution)
    feats, answers = [], []
    for start in range(0, images.shape[0], batch):
        imgs = images[start : start + batch].float()
        out = predictor.predict_tensor(network_input(imgs, resolution, s), torch.full((imgs.shape[0],), row, dtype=torch.long))
        feats.append(out.phi.float().cpu())
        answers.append(body_frame_answers(out.lsp14.float().cpu(), out.pose_rotmat[:, 0].float().cpu()))
    return torch.cat(feats), {k: torch.cat([a[k] for a in answers]) for k in answers[0]}


def fit_probe(x: torch.Tensor, y: torch.Tensor, weight_decay: float = 1e-2, steps: int = 200) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logistic regression on standardised features: ``(mean, std, w, b)``."""
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    z = (x - mean) / std
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z @ w + b, y.float()) + weight_decay * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    return mean, std, w.detach(), b.detach()


def probe_accuracy(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor) -> float:
    mean, std, w, b = fit_probe(train_x, train_y)
    return float((((test_x - mean) / std @ w + b > 0) == test_y).float().mean())


def run(checkpoint: str, shards: Path, train: int, samples: int, resolution: int) -> dict[str, Any]:
    predictor = Predictor.from_checkpoint(checkpoint, device="cpu")
    data = ShardDataset(shards, limit=train)
    train_imgs, train_joints, train_roots = [], [], []
    for i in tqdm(range(min(train, len(data))), desc="reading training scenes", unit="scene"):
        s = data.clean(i)
        train_imgs.append(s["image"])
        train_joints.append(s["joints3d_lsp14"][..., :3].float())
        train_roots.append(s["pose"][0].float())
    train_truth = body_frame_answers(torch.stack(train_joints), axis_angle_to_matrix(torch.stack(train_roots)))
    train_x, _ = _encode(predictor, torch.stack(train_imgs), resolution)
    test = render_test_set(samples)
    test_truth = body_frame_answers(test["joints3d_lsp14"][..., :3].float(), axis_angle_to_matrix(test["pose"][:, 0].float()))
    test_x, answers = _encode(predictor, test["images"], resolution)
    rows = {}
    for q, margin in QUESTIONS.items():
        tr, te = train_truth[q].abs() >= margin, test_truth[q].abs() >= margin
        ytr, yte = train_truth[q][tr] > 0, test_truth[q][te] > 0
        share = float(yte.float().mean())
        rows[q] = {
            "people": int(te.sum()), "train_people": int(tr.sum()), "chance": max(share, 1.0 - share),
            "network": float(((answers[q][te] > 0) == yte).float().mean()),
            "probe": probe_accuracy(train_x[tr], ytr, test_x[te], yte),
        }
    return {"checkpoint": checkpoint, "resolution": resolution, "questions": rows}


def render(result: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# Where is left/right lost? The network's answer against a linear probe on its features", "",
        f"`{meta['command']}`", "",
        f"{meta['cpu']}, {meta['date']}. `{result['checkpoint']}` at {result['resolution']} px. Questions in the body's own frame;"
        f" the probe is logistic regression on the pooled feature phi, fitted on {meta['train']} clean scenes of `{meta['shards']}`"
        f" and scored, like the network, on people of the own test's generator (test seed).", "",
        "| question | people asked (test / fit) | majority answer | the network's own answer | linear probe on phi |",
        "|---|---|---|---|---|",
    ]
    labels = {"feet": "feet: left ankle in front (stride >= 15 cm)", "hands": "hands: left wrist higher (>= 20 cm)",
              "facing": "facing the camera (control; within 60 degrees of towards or away)"}
    for q, r in result["questions"].items():
        lines.append(f"| {labels[q]} | {r['people']} / {r['train_people']} | {100 * r['chance']:.0f} % | {100 * r['network']:.0f} % | {100 * r['probe']:.0f} % |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train.chirality_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--shards", type=Path, default=Path("data/shards/train-300k-380k"), help="scenes the probe is fitted on")
    parser.add_argument("--train", type=int, default=4000, help="scenes the probe is fitted on (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=400, help="own-test people it is scored on (default: %(default)s)")
    parser.add_argument("--resolution", type=int, default=64, help="person height the crops are brought to (a range bound of the network)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.train < 10 or args.samples < 10:
        parser.error("--train and --samples must be >= 10")
    torch.set_num_threads(args.threads)
    result = run(args.checkpoint, args.shards, args.train, args.samples, args.resolution)
    meta = run_meta("benchmarks.train.chirality_probe", argv, train=args.train, shards=str(args.shards))
    publish(args.out, render(result, meta), {"meta": meta, **result})


if __name__ == "__main__":
    main()
