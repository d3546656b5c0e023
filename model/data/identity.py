"""Pre-rendered synthetic identity sets of the ReID and texture trainers, their cached mesh / camera
per high-resolution image, and how a UV texture is rendered on those meshes.

``python -m model.cli.identity_data build --out data/texture`` renders, once, ``train_identities``
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

``python -m model.cli.identity_data geometry --data data/texture --predictor checkpoints/rscnet-cpu/model.pt``
runs the RSC-Net predictor on every ``x_H`` once and writes ``geometry-predictor.pt``
(``--ground-truth`` writes ``geometry-ground_truth.pt`` from the rendering parameters instead,
:func:`ground_truth_geometry`): ``betas (N, 10)``, ``pose (N, 24, 3)``, ``translation (N, 3)``,
``focal (N,)``, ``principal (N, 2)`` per split, the mesh ``body(betas, pose).vertices + translation``
in the camera of ``x_H`` (:class:`GeometryBatch`); :func:`render_silhouette` rasterises its
silhouette (TexGlo's input mask with ``input_mask``), :func:`render_texture` drapes a UV texture on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from model.body import BodyModel
from model.data.lighting import sample_lights
from model.data.sequences import render_identity_set
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.render import Lights, MeshRenderer, PerspectiveCameras
from model.runtime import atomic_save

__all__ = [
    "GEOMETRY_SOURCES",
    "GeometryBatch",
    "IdentitySet",
    "build_identity_sets",
    "geometry_path",
    "ground_truth_geometry",
    "load_geometry",
    "load_identity_set",
    "mean_lights",
    "render_silhouette",
    "render_texture",
]

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
    splits = {"train": range(train_identities), "test": range(train_identities, total)}
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
        atomic_save(data, paths[split])
    return paths


def load_identity_set(path: str | Path) -> IdentitySet:
    """Load one split written by :func:`build_identity_sets` (``weights_only``)."""
    d = torch.load(Path(path), map_location="cpu", weights_only=True)
    return IdentitySet(**{k: d[k] for k in IdentitySet.__dataclass_fields__})


def ground_truth_geometry(data: IdentitySet) -> dict[str, Any]:
    """The geometry cache of a split from its rendering parameters (``source: ground_truth``)."""
    n, s = len(data), data.crop_size
    return {
        "source": "ground_truth", "checkpoint": None,
        "betas": data.betas.clone(), "pose": data.pose.clone(), "translation": data.cam_t.clone(),
        "focal": data.focal.clone(), "principal": torch.full((n, 2), s / 2.0),
    }  # fmt: skip


def geometry_path(data_dir: str | Path, source: str) -> Path:
    return Path(data_dir) / f"geometry-{source}.pt"


def load_geometry(data_dir: str | Path, source: str, split: str) -> dict[str, Any]:
    """One split of the cached geometry (``betas, pose, translation, focal, principal``)."""
    path = geometry_path(data_dir, source)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run python -m model.cli.identity_data geometry --data {data_dir} ...")
    return torch.load(path, map_location="cpu", weights_only=True)[split]



def mean_lights(batch_size: int = 1, samples: int = 4096) -> Lights:
    """The mean of :func:`model.data.lighting.sample_lights` (fixed seed), repeated ``batch_size`` times."""
    lights = sample_lights(samples, torch.Generator().manual_seed(0))
    direction = torch.nn.functional.normalize(lights.direction.mean(0, keepdim=True), dim=1)
    return Lights(
        ambient=lights.ambient.mean(0, keepdim=True).expand(batch_size, -1).clone(),
        diffuse=lights.diffuse.mean(0, keepdim=True).expand(batch_size, -1).clone(),
        direction=direction.expand(batch_size, -1).clone(),
    )


class GeometryBatch:
    """Posed meshes and cameras for indices of a split from a geometry cache (see :mod:`model.data.identity`)."""

    def __init__(self, geometry: dict[str, Any], body: BodyModel, image_size: int) -> None:
        self.geometry = geometry
        self.body = body
        self.image_size = int(image_size)

    @torch.no_grad()
    def __call__(self, idx: Tensor, device: torch.device) -> tuple[Tensor, PerspectiveCameras]:
        """``(B, V, 3)`` camera-frame vertices and the ``B`` cameras of ``x_H``."""
        g = self.geometry
        out = self.body(g["betas"][idx].to(device), g["pose"][idx].to(device))
        verts = out.vertices + g["translation"][idx].to(device)[:, None]
        focal = g["focal"][idx].to(device).float()
        cams = PerspectiveCameras(
            focal=focal[:, None].expand(-1, 2).contiguous(),
            principal=g["principal"][idx].to(device).float(),
            image_size=(self.image_size, self.image_size),
        )
        return verts, cams


def render_silhouette(renderer: MeshRenderer, body: BodyModel, verts: Tensor, cams: PerspectiveCameras) -> Tensor:
    """The silhouette of the meshes ``verts`` ``(B, V, 3)`` under ``cams``: ``(B, 1, S, S)`` in ``[0, 1]``
    (binary with the default ``ssaa = 1``), no gradient.

    With ``input_mask`` it is TexGlo's input mask: the pixels of ``x_L`` where the render of the
    texture replaces ``x_H`` (:func:`render_texture` on the same mesh and camera), i.e. the only
    pixels the training loss judges the texture on.
    """
    return renderer.silhouette(verts, body.faces, cams)


def render_texture(renderer: MeshRenderer, body: BodyModel, verts: Tensor, cams: PerspectiveCameras, texture: Tensor, lights: Lights, background: Tensor) -> Tensor:
    """``R(M, delta, T)`` composited over ``background``: ``(B, 3, S, S)`` (differentiable in ``texture``)."""
    out = renderer.render(verts, body.faces, cams, texture=texture.float(), face_uvs=body.face_uvs, lights=lights, background=background)
    return out.image.clamp(0.0, 1.0)
