"""``python -m model.cli.identity_data {build,geometry}``: the identity sets of the ReID / texture trainers.

``build`` renders the train / test identity sets; ``geometry`` caches the mesh and camera of every
``x_H``, from the rendering parameters (``--ground-truth``) or from the RSC-Net predictor
(``--predictor``). See :mod:`model.data.identity` for the files. A driver: it joins the data layer
and the predictor, which sit apart.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from model.data.identity import (
    GEOMETRY_SOURCES,
    IdentitySet,
    build_identity_sets,
    geometry_path,
    ground_truth_geometry,
    load_identity_set,
)
from model.inference import Predictor
from model.runtime import atomic_save

__all__ = ["compute_geometry", "main"]


@torch.no_grad()
def compute_geometry(data: IdentitySet, source: str, predictor_path: str | Path | None = None, batch_size: int = 32, show_progress: bool = True) -> dict[str, Any]:
    """Mesh parameters and camera of every ``x_H`` of a split (see :mod:`model.data.identity`)."""
    if source not in GEOMETRY_SOURCES:
        raise ValueError(f"source must be one of {GEOMETRY_SOURCES}, got {source!r}")
    if source == "ground_truth":
        return ground_truth_geometry(data)
    if predictor_path is None:
        raise ValueError("source 'predictor' needs predictor_path")
    n = len(data)
    predictor = Predictor.from_checkpoint(predictor_path, device="cpu")
    out: dict[str, list[Any]] = {k: [] for k in ("betas", "pose", "translation", "focal", "principal")}
    for start in tqdm(range(0, n, batch_size), desc="predictor", disable=not show_progress):
        crops = [img.permute(1, 2, 0).numpy() for img in data.images[start : start + batch_size]]
        for p in predictor.predict(crops, batch_size=batch_size):
            out["betas"].append(torch.from_numpy(p.betas))
            out["pose"].append(torch.from_numpy(p.pose))
            out["translation"].append(torch.from_numpy(p.translation))
            out["focal"].append(torch.tensor(float(p.focal)))
            out["principal"].append(torch.from_numpy(np.asarray(p.principal, dtype=np.float32)))
    result: dict[str, Any] = {k: torch.stack(v).float() for k, v in out.items()}
    result["source"] = source
    result["checkpoint"] = {"path": str(predictor_path), "id": predictor.checkpoint_id}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.cli.identity_data", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="render the train/test identity sets")
    b.add_argument("--out", required=True)
    b.add_argument("--train-identities", type=int, default=400)
    b.add_argument("--test-identities", type=int, default=100)
    b.add_argument("--views", type=int, default=8, help="looks per training identity")
    b.add_argument("--test-views", type=int, default=None, help="looks per held-out identity (default --views)")
    b.add_argument("--crop-size", type=int, default=128)
    b.add_argument("--texture-size", type=int, default=128)
    b.add_argument("--seed", type=int, default=7)
    g = sub.add_parser("geometry", help="cache the mesh/camera of every x_H")
    g.add_argument("--data", required=True)
    src = g.add_mutually_exclusive_group(required=True)
    src.add_argument("--predictor", help="RSC-Net checkpoint (run through model.inference.Predictor)")
    src.add_argument("--ground-truth", action="store_true", help="use the rendering parameters")
    for p in (b, g):
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    if args.cmd == "build":
        paths = build_identity_sets(args.out, args.train_identities, args.test_identities, args.views, args.crop_size, args.texture_size, args.seed, not args.no_progress, args.test_views)
        print(json.dumps({k: str(v) for k, v in paths.items()} | {"seconds": round(time.time() - t0, 1)}))
        return
    source = "ground_truth" if args.ground_truth else "predictor"
    result = {}
    for split in ("train", "test"):
        data = load_identity_set(Path(args.data) / f"{split}.pt")
        result[split] = compute_geometry(data, source, args.predictor, show_progress=not args.no_progress)
    path = geometry_path(args.data, source)
    atomic_save(result, path)
    print(json.dumps({"geometry": str(path), "source": source, "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
