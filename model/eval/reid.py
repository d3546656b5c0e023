"""``python -m model.eval.reid --checkpoint C --data D``: rank-1 / mAP of a ReID checkpoint.

The metrics are those of :mod:`model.losses.reid` (:func:`~model.losses.reid.retrieval_metrics`,
:func:`~model.losses.reid.evaluate_reid`), on the held-out identities, clean and low-resolution.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from model.data.identity import load_identity_set
from model.losses.reid import RetrievalMetrics, evaluate_reid, retrieval_metrics
from model.nets.checkpoint import load_reid

__all__ = ["RetrievalMetrics", "main", "retrieval_metrics"]


def main(argv: list[str] | None = None) -> None:
    """Print the retrieval metrics of ``--checkpoint`` on ``<data>/test.pt`` as JSON."""
    parser = argparse.ArgumentParser(prog="python -m model.eval.reid", description="Rank-1 / mAP of a ReID checkpoint on the held-out identities (clean and low-resolution).")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", default="data/texture", help="folder with test.pt")
    parser.add_argument("--low-res", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, _ = load_reid(args.checkpoint)
    print(json.dumps(evaluate_reid(net, load_identity_set(Path(args.data) / "test.pt"), torch.device("cpu"), "fp32", args.low_res), indent=2))


if __name__ == "__main__":
    main()
