"""Retrieval metrics of a re-identification embedding: rank-1 (CMC top-1) and mAP.

Every image of the held-out identities is a query against all the others (the gallery), so a
query's positives are the other looks at the same identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["RetrievalMetrics", "retrieval_metrics"]


@dataclass(frozen=True)
class RetrievalMetrics:
    """``rank1`` and ``mAP`` in ``[0, 1]`` over ``queries`` queries."""

    rank1: float
    mAP: float
    queries: int

    def to_dict(self) -> dict[str, float | int]:
        return {"rank1": self.rank1, "mAP": self.mAP, "queries": self.queries}


def retrieval_metrics(embeddings: Tensor, labels: Tensor) -> RetrievalMetrics:
    """Leave-one-out retrieval on ``embeddings`` ``(N, D)`` (cosine similarity) with ``labels`` ``(N,)``.

    Queries without any other image of their identity are skipped.
    """
    if embeddings.shape[0] != labels.shape[0] or embeddings.ndim != 2:
        raise ValueError("embeddings must be (N, D) with one label per row")
    z = F.normalize(embeddings.float(), dim=1)
    sim = z @ z.T
    n = sim.shape[0]
    sim.fill_diagonal_(-float("inf"))
    order = sim.argsort(dim=1, descending=True)[:, : n - 1]  # drop self (ranked last)
    match = (labels[order] == labels[:, None]).float()  # (N, N-1)
    npos = match.sum(1)
    keep = npos > 0
    if not bool(keep.any()):
        raise ValueError("no query has another image of its identity")
    match, npos = match[keep], npos[keep]
    rank1 = match[:, 0].mean()
    hits = match.cumsum(1)
    ranks = torch.arange(1, match.shape[1] + 1, dtype=torch.float32)
    ap = ((hits / ranks) * match).sum(1) / npos
    return RetrievalMetrics(rank1=float(rank1), mAP=float(ap.mean()), queries=int(keep.sum()))


def main(argv: list[str] | None = None) -> None:
    """``python -m model.eval.reid --checkpoint C --data D``: rank-1 / mAP on the held-out identities."""
    import argparse
    import json
    from pathlib import Path

    from model.train.identity_data import load_identity_set
    from model.train.reid import evaluate_reid, load_reid

    parser = argparse.ArgumentParser(prog="python -m model.eval.reid", description="Rank-1 / mAP of a ReID checkpoint on the held-out identities (clean and low-resolution).")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", default="data/texture", help="folder with test.pt")
    parser.add_argument("--low-res", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, _ = load_reid(args.checkpoint)
    print(json.dumps(evaluate_reid(net, load_identity_set(Path(args.data) / "test.pt"), torch.device("cpu"), False, args.low_res), indent=2))


if __name__ == "__main__":
    main()
