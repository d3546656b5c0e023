"""Finite-difference gradient checks (float64) w.r.t. texture, colours, lights and vertex positions.

Coverage is discrete, so the vertex checks use a scene where every pixel centre is far (in units
of the finite-difference step) from every triangle edge: perturbing a vertex then changes the
barycentrics, depth, normals and UVs of the covered pixels but never which face covers them.
"""

from __future__ import annotations

import torch

from model.render.cameras import PerspectiveCameras
from model.render.rasterizer import rasterize
from model.render.renderer import MeshRenderer
from model.render.shading import Lights

DT = torch.float64
SIZE = 12


def _scene() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, PerspectiveCameras]:
    """Two tilted triangles sharing an edge, plus a nearer one overlapping them."""
    verts = torch.tensor(
        [
            [-1.13, -0.97, 4.1],
            [-1.07, 1.11, 3.8],
            [1.09, 1.03, 4.4],
            [1.17, -1.02, 4.6],
            [-0.31, -0.43, 2.9],
            [0.52, 0.66, 3.1],
            [0.61, -0.58, 2.7],
        ],
        dtype=DT,
    )[None]
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6]])
    uv = torch.tensor(
        [[0.05, 0.9], [0.1, 0.1], [0.95, 0.15], [0.9, 0.95], [0.3, 0.4], [0.6, 0.7], [0.7, 0.35]], dtype=DT
    )
    cams = PerspectiveCameras.from_focal(1, (SIZE, SIZE), 20.0, dtype=DT)
    return verts, faces, uv[faces], cams


def _min_edge_distance(verts: torch.Tensor, faces: torch.Tensor, cams: PerspectiveCameras) -> float:
    """Smallest screen distance between a pixel centre and any (infinite) triangle edge line."""
    uv = cams.project(verts).uv[0]
    jj, ii = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="xy")
    p = torch.stack([jj, ii], -1).reshape(-1, 2).to(DT)
    best = float("inf")
    for f in faces.tolist():
        for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
            d = uv[b] - uv[a]
            rel = p - uv[a]
            dist = (d[0] * rel[:, 1] - d[1] * rel[:, 0]).abs() / d.norm()
            best = min(best, float(dist.min()))
    return best


def test_scene_is_valid_for_finite_differences() -> None:
    verts, faces, _, cams = _scene()
    assert _min_edge_distance(verts, faces, cams) > 1e-3
    frags = rasterize(verts, faces, cams)
    counts = torch.bincount(frags.face_index[frags.mask], minlength=3)
    assert (counts > 3).all(), counts  # every face is visible somewhere, the front one occludes


def test_gradcheck_texture_and_lights() -> None:
    verts, faces, face_uvs, cams = _scene()
    tex = torch.rand(1, 2, 4, 5, dtype=DT, requires_grad=True)
    ambient = torch.tensor([[0.3, 0.5]], dtype=DT, requires_grad=True)
    diffuse = torch.tensor([[0.6, 0.4]], dtype=DT, requires_grad=True)
    direction = torch.tensor([[0.2, -0.3, -1.0]], dtype=DT, requires_grad=True)
    bg = torch.rand(1, 2, SIZE, SIZE, dtype=DT, requires_grad=True)
    renderer = MeshRenderer(ssaa=2)

    def fn(t: torch.Tensor, a: torch.Tensor, d: torch.Tensor, l: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        lights = Lights(ambient=a, diffuse=d, direction=l)
        return renderer.render(verts, faces, cams, texture=t, face_uvs=face_uvs, lights=lights, background=b).image

    assert torch.autograd.gradcheck(fn, (tex, ambient, diffuse, direction, bg), eps=1e-6, atol=1e-6)


def test_gradcheck_vertices_colours_normals_depth() -> None:
    verts, faces, _, cams = _scene()
    verts = verts.clone().requires_grad_(True)
    colours = torch.rand(1, 7, 3, dtype=DT, requires_grad=True)
    lights = Lights.create(1, ambient=0.2, diffuse=0.8, direction=(0.3, -0.2, -1.0), dtype=DT)
    renderer = MeshRenderer()

    def fn(v: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = renderer.render(v, faces, cams, vertex_colors=c, lights=lights, return_normals=True)
        return out.image, out.depth, out.normals, out.fragments.bary

    assert torch.autograd.gradcheck(fn, (verts, colours), eps=1e-6, atol=1e-5)


def test_gradcheck_vertices_through_texture_uvs() -> None:
    verts, faces, face_uvs, cams = _scene()
    verts = verts.clone().requires_grad_(True)
    gen = torch.Generator().manual_seed(0)
    tex = torch.rand(1, 3, 6, 6, dtype=DT, generator=gen)
    renderer = MeshRenderer()

    def fn(v: torch.Tensor) -> torch.Tensor:
        return renderer.render(v, faces, cams, texture=tex, face_uvs=face_uvs).image

    assert torch.autograd.gradcheck(fn, (verts,), eps=1e-6, atol=1e-5)
    # Gradients are non-trivial: moving vertices moves the texture under the pixels.
    verts.grad = None
    fn(verts).sum().backward()
    assert verts.grad.abs().sum() > 0
