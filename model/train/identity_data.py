"""Pre-rendered synthetic identity sets for the ReID and texture trainers, and the cached mesh /
camera of every high-resolution image.

``python -m model.train.identity_data build --out data/texture`` renders, once, ``train_identities``
and ``test_identities`` identities (disjoint id ranges) x ``views`` looks each with
:func:`model.data.sequences.render_identity_set` (the same shape and texture in different poses,
viewpoints, framings, backgrounds and lighting) and writes ``train.pt`` / ``test.pt``:

==============  =====================  ====================================================
key             shape                  meaning
==============  =====================  ====================================================
images          (N, 3, S, S) uint8     clean high-resolution renders ``x_H`` over the background
identity        (N,) int64             identity id (SyntheticPeople identity)
betas           (N, 10)                ground-truth shape
pose            (N, 24, 3)             ground-truth axis-angle pose, root in camera axes
cam_t           (N, 3)                 ground-truth camera-frame translation
focal           (N,)                   focal length (px), principal point ``(S/2, S/2)``
textures        (I, 3, T, T) uint8     ground-truth UV albedo of each identity of the split
texture_ids     (I,)                   identity of each row of ``textures``
config          dict                   what was rendered (plain types)
==============  =====================  ====================================================

``python -m model.train.identity_data geometry --data data/texture --predictor checkpoints/rscnet-cpu/model.pt``
runs the RSC-Net :class:`~model.inference.Predictor` on every ``x_H`` once and writes
``geometry-predictor.pt`` (``--ground-truth`` writes ``geometry-ground_truth.pt`` from the
rendering parameters instead): ``betas (N, 10)``, ``pose (N, 24, 3)``, ``translation (N, 3)``,
``focal (N,)``, ``principal (N, 2)`` per split, the mesh ``body(betas, pose).vertices + translation``
in the camera of ``x_H``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from model.data.sequences import render_identity_set
from model.data.synthetic import SyntheticConfig, SyntheticPeople

__all__ = ["GEOMETRY_SOURCES", "IdentitySet", "build_identity_sets", "compute_geometry", "load_geometry", "load_identity_set"]

#: Where the mesh and camera of ``x_H`` come from.
GEOMETRY_SOURCES = ("predictor", "ground_truth")


@dataclass
class IdentitySet:
    """One split of the pre-rendered identity data (see the module docstring for the keys)."""

    images: Tensor
    identity: Tensor
    betas: Tensor
    pose: Tensor
    cam_t: Tensor
    focal: Tensor
    textures: Tensor
    texture_ids: Tensor
    config: dict[str, Any]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def crop_size(self) -> int:
        return int(self.images.shape[-1])

    def texture_rows(self, identity: Tensor) -> Tensor:
        """Row of ``textures`` for each identity in ``identity`` ``(B,)``."""
        lookup = {int(t): i for i, t in enumerate(self.texture_ids.tolist())}
        return torch.tensor([lookup[int(i)] for i in identity.tolist()], dtype=torch.long)

    def labels(self) -> Tensor:
        """``(N,)`` identity ids mapped to ``0 .. I-1`` (classifier labels)."""
        return self.texture_rows(self.identity)


def _to_uint8(x: Tensor) -> Tensor:
    return (x.clamp(0, 1) * 255.0).round().to(torch.uint8)


def build_identity_sets(
    out: str | Path,
    train_identities: int = 400,
    test_identities: int = 100,
    views: int = 8,
    crop_size: int = 128,
    texture_size: int = 128,
    seed: int = 7,
    show_progress: bool = True,
    test_views: int | None = None,
) -> dict[str, Path]:
    """Render the train and test identity sets into ``out`` (``train.pt``, ``test.pt``).

    Identities ``0 .. train_identities - 1`` form the training split, the next ``test_identities``
    the held-out split. ``views`` looks per training identity, ``test_views`` (default ``views``)
    per held-out one. Sample indices are ``identity * max_views + k``, so every look is distinct.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    total = train_identities + test_identities
    people = SyntheticPeople(SyntheticConfig(crop_size=crop_size, texture_size=texture_size, seed=seed, num_identities=total, texture_cache=8))
    paths = {}
    splits = {"train": range(0, train_identities), "test": range(train_identities, total)}
    per_split = {"train": views, "test": views if test_views is None else test_views}
    stride = max(per_split.values())
    for split, ids in splits.items():
        views = per_split[split]
        chunks: dict[str, list[Tensor]] = {k: [] for k in ("images", "identity", "betas", "pose", "cam_t", "focal")}
        textures = []
        for ident in tqdm(ids, desc=f"render {split}", disable=not show_progress):
            r = render_identity_set(people, ident, views, start_index=ident * stride)
            chunks["images"].append(_to_uint8(r["image"]))
            for k in ("identity", "betas", "pose", "cam_t", "focal"):
                chunks[k].append(r[k].cpu())
            textures.append(_to_uint8(people.identity_texture(ident)))
        data = {k: torch.cat(v) for k, v in chunks.items()}
        data["textures"] = torch.stack(textures)
        data["texture_ids"] = torch.tensor(list(ids), dtype=torch.long)
        data["config"] = {
            "split": split, "views": views, "crop_size": crop_size, "texture_size": texture_size, "seed": seed,
            "identities": [ids.start, ids.stop], "body_model": people.body.info.model_id,
        }  # fmt: skip
        paths[split] = out / f"{split}.pt"
        torch.save(data, paths[split])
    return paths


def load_identity_set(path: str | Path) -> IdentitySet:
    """Load one split written by :func:`build_identity_sets` (``weights_only``)."""
    d = torch.load(Path(path), map_location="cpu", weights_only=True)
    return IdentitySet(**{k: d[k] for k in IdentitySet.__dataclass_fields__})


@torch.no_grad()
def compute_geometry(data: IdentitySet, source: str, predictor_path: str | Path | None = None, batch_size: int = 32, show_progress: bool = True) -> dict[str, Any]:
    """Mesh parameters and camera of every ``x_H`` of a split (see the module docstring)."""
    if source not in GEOMETRY_SOURCES:
        raise ValueError(f"source must be one of {GEOMETRY_SOURCES}, got {source!r}")
    n, s = len(data), data.crop_size
    if source == "ground_truth":
        return {
            "source": source, "checkpoint": None,
            "betas": data.betas.clone(), "pose": data.pose.clone(), "translation": data.cam_t.clone(),
            "focal": data.focal.clone(), "principal": torch.full((n, 2), s / 2.0),
        }  # fmt: skip
    from model.inference import Predictor  # lazy: only this source needs the RSC-Net

    if predictor_path is None:
        raise ValueError("source 'predictor' needs predictor_path")
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


def geometry_path(data_dir: str | Path, source: str) -> Path:
    return Path(data_dir) / f"geometry-{source}.pt"


def load_geometry(data_dir: str | Path, source: str, split: str) -> dict[str, Any]:
    """One split of the cached geometry (``betas, pose, translation, focal, principal``)."""
    path = geometry_path(data_dir, source)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run python -m model.train.identity_data geometry --data {data_dir} ...")
    return torch.load(path, map_location="cpu", weights_only=True)[split]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.train.identity_data", description=__doc__.split("\n\n")[0])
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
    src.add_argument("--predictor", help="RSC-Net checkpoint (model.inference.Predictor)")
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
    torch.save(result, path)
    print(json.dumps({"geometry": str(path), "source": source, "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
