"""Benchmark the torch rasteriser / renderer on a human-sized synthetic mesh.

The mesh is a crude "person" made of six subdivided, stretched icospheres (head, torso, two
arms, two legs; ~30k faces, ~15k vertices, overlapping parts so the depth complexity is
realistic), placed so that it fills the frame like a person crop.  Each image of the batch gets
a random rotation about the vertical axis.  Timings are medians after one warm-up batch.

Usage::

    python -m benchmarks.render.bench --sizes 64 128 224 --batch 16 --threads 1 2
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import trimesh
from tqdm import tqdm

from benchmarks.report import write_report
from model.render.cameras import PerspectiveCameras
from model.render.renderer import MeshRenderer
from model.render.shading import Lights

#: Where the table goes by default.
DEFAULT_REPORT = Path(__file__).resolve().parent / "REPORT.md"


@dataclass(frozen=True)
class BenchMesh:
    """A benchmark mesh: ``vertices`` ``(V, 3)`` float32, ``faces`` ``(F, 3)`` long,
    ``face_uvs`` ``(F, 3, 2)`` float32 (spherical per-part UVs)."""

    vertices: torch.Tensor
    faces: torch.Tensor
    face_uvs: torch.Tensor


def person_mesh(subdivisions: int = 4) -> BenchMesh:
    """Six stretched icospheres forming a 1.8 m tall figure centred at the origin (y down)."""
    # (centre xyz, radii xyz) in metres, OpenCV axes (y down => head has negative y).
    parts = [
        ((0.0, -0.78, 0.0), (0.11, 0.13, 0.12)),  # head
        ((0.0, -0.30, 0.0), (0.24, 0.36, 0.15)),  # torso
        ((-0.34, -0.28, 0.02), (0.075, 0.36, 0.075)),  # left arm
        ((0.34, -0.28, 0.02), (0.075, 0.36, 0.075)),  # right arm
        ((-0.12, 0.45, 0.0), (0.10, 0.46, 0.11)),  # left leg
        ((0.12, 0.45, 0.0), (0.10, 0.46, 0.11)),  # right leg
    ]
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    unit = np.asarray(sphere.vertices, dtype=np.float64)
    tri = np.asarray(sphere.faces, dtype=np.int64)
    u = 0.5 + np.arctan2(unit[:, 0], unit[:, 2]) / (2 * math.pi)
    v = 0.5 - np.arcsin(np.clip(unit[:, 1], -1, 1)) / math.pi
    uv = np.stack([u, v], axis=-1)
    verts, faces, face_uvs = [], [], []
    for i, (centre, radii) in enumerate(parts):
        verts.append(unit * np.asarray(radii) + np.asarray(centre))
        faces.append(tri + i * len(unit))
        face_uvs.append(uv[tri])
    return BenchMesh(
        vertices=torch.as_tensor(np.concatenate(verts), dtype=torch.float32),
        faces=torch.as_tensor(np.concatenate(faces), dtype=torch.long),
        face_uvs=torch.as_tensor(np.concatenate(face_uvs), dtype=torch.float32),
    )


def batch_scene(
    mesh: BenchMesh, batch: int, size: int, seed: int = 0
) -> tuple[torch.Tensor, PerspectiveCameras, torch.Tensor, Lights]:
    """Posed vertices ``(B, V, 3)``, cameras, textures ``(B, 3, 256, 256)`` and lights."""
    gen = torch.Generator().manual_seed(seed)
    angles = torch.rand(batch, generator=gen) * 2 * math.pi
    c, s = torch.cos(angles), torch.sin(angles)
    rot = torch.zeros(batch, 3, 3)
    rot[:, 0, 0], rot[:, 0, 2], rot[:, 1, 1], rot[:, 2, 0], rot[:, 2, 2] = c, s, 1.0, -s, c
    depth = 5.0
    verts = torch.einsum("bij,vj->bvi", rot, mesh.vertices) + torch.tensor([0.0, 0.0, depth])
    # Fill ~90 % of the image height with the 1.8 m figure.
    focal = 0.9 * size * depth / 1.8
    cams = PerspectiveCameras.from_focal(batch, (size, size), focal)
    texture = torch.rand(batch, 3, 256, 256, generator=gen)
    lights = Lights.create(batch, ambient=0.4, diffuse=0.6, direction=(0.3, -0.5, -1.0))
    return verts, cams, texture, lights


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.render.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 224], help="square image sizes")
    parser.add_argument("--batch", type=int, default=16, help="images per batch")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch.set_num_threads values")
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per setting (median reported)")
    parser.add_argument("--ssaa", type=int, default=1, help="supersampling factor")
    parser.add_argument("--subdivisions", type=int, default=4, help="icosphere subdivisions per body part")
    parser.add_argument("--mode", choices=["full", "raster"], default="full",
                        help="full = textured + lit render; raster = rasteriser only")
    parser.add_argument("--backward", choices=["none", "texture", "all"], default="none",
                        help="also time backward of image.sum() to the texture (or texture + vertices)")
    parser.add_argument("--device", default="cpu", help="torch device")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="table to write (default %(default)s)")
    args = parser.parse_args(argv)

    mesh = person_mesh(args.subdivisions)
    print(f"mesh: {mesh.vertices.shape[0]} vertices, {mesh.faces.shape[0]} faces; batch {args.batch}; "
          f"mode {args.mode}; ssaa {args.ssaa}; backward {args.backward}; device {args.device}")
    renderer = MeshRenderer(ssaa=args.ssaa)
    device = torch.device(args.device)
    faces = mesh.faces.to(device)
    face_uvs = mesh.face_uvs.to(device)
    rows: list[tuple[int, int, float, float, float]] = []
    settings = [(t, s) for t in args.threads for s in args.sizes]
    for threads, size in tqdm(settings, desc="settings"):
        torch.set_num_threads(threads)
        verts, cams, texture, lights = batch_scene(mesh, args.batch, size)
        verts, cams, texture, lights = verts.to(device), cams.to(device), texture.to(device), lights.to(device)
        times = []
        coverage = 0.0
        for rep in range(args.repeats + 1):  # first run is warm-up
            tex = texture.clone().requires_grad_(args.backward != "none")
            pts = verts.clone().requires_grad_(args.backward == "all")
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            if args.mode == "raster":
                with torch.no_grad():
                    frags = renderer.rasterize(verts, faces, cams.scaled(args.ssaa) if args.ssaa > 1 else cams)
                coverage = float(frags.mask.float().mean())
            else:
                out = renderer.render(pts, faces, cams, texture=tex, face_uvs=face_uvs, lights=lights)
                if args.backward != "none":
                    out.image.sum().backward()
                coverage = float(out.mask.mean())
            if device.type == "cuda":
                torch.cuda.synchronize()
            if rep > 0:
                times.append(time.perf_counter() - t0)
        ms = 1000.0 * float(np.median(times))
        rows.append((threads, size, ms, args.batch / (ms / 1000.0), coverage))

    lines = ["| threads | size | ms/batch | images/s | coverage |", "|---|---|---|---|---|"]
    lines += [f"| {threads} | {size} | {ms:.1f} | {ips:.1f} | {cov:.2f} |" for threads, size, ms, ips, cov in rows]
    table = "\n".join(lines)
    print("\n" + table)
    write_report(args.report, f"Renderer throughput (python -m benchmarks.render.bench): batch {args.batch}, mode {args.mode}, "
                              f"ssaa {args.ssaa}, backward {args.backward}, device {args.device}.\n\n{table}")  # fmt: skip


if __name__ == "__main__":
    main()
