"""Rasteriser: coverage, z-buffer, culling, perspective-correct barycentrics, chunking."""

from __future__ import annotations

import math

import pytest
import torch

from model.render.cameras import PerspectiveCameras
from model.render.rasterizer import RasterSettings, rasterize


def _disc(radius: float, depth: float, n: int = 256, cx: float = 0.0, cy: float = 0.0):
    """Triangle fan approximating a disc facing the camera: vertices (1, n+1, 3), faces (n, 3)."""
    ang = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    rim = torch.stack(
        [cx + radius * torch.cos(ang), cy + radius * torch.sin(ang), torch.full_like(ang, depth)], -1
    )
    verts = torch.cat([torch.tensor([[cx, cy, depth]], dtype=torch.float64), rim])[None].float()
    idx = torch.arange(n)
    faces = torch.stack([torch.zeros_like(idx), 1 + idx, 1 + (idx + 1) % n], -1)
    return verts, faces


def _reference_faces(verts: torch.Tensor, faces: torch.Tensor, cams: PerspectiveCameras) -> torch.Tensor:
    """Dense float64 reference z-buffer over all (face, pixel) pairs: (B, H, W) face index."""
    h, w = cams.image_size
    proj = cams.to("cpu", torch.float64).project(verts.double())
    out = []
    for b in range(verts.shape[0]):
        uv = proj.uv[b][faces]  # (F, 3, 2)
        z = proj.depth[b][faces]  # (F, 3)
        jj, ii = torch.meshgrid(torch.arange(w) + 0.5, torch.arange(h) + 0.5, indexing="xy")
        px, py = jj.reshape(1, -1).double(), ii.reshape(1, -1).double()
        x0, x1, x2 = (uv[:, k, 0:1] for k in range(3))
        y0, y1, y2 = (uv[:, k, 1:2] for k in range(3))
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        l0 = ((x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)) / area
        l1 = ((x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)) / area
        l2 = 1 - l0 - l1
        inside = (l0 >= 0) & (l1 >= 0) & (l2 >= 0) & (z.min(-1).values[:, None] > 1e-3)
        depth = 1.0 / (l0 / z[:, 0:1] + l1 / z[:, 1:2] + l2 / z[:, 2:3])
        depth = torch.where(inside, depth, torch.full_like(depth, math.inf))
        best = depth.argmin(0)
        covered = torch.isfinite(depth.min(0).values)
        out.append(torch.where(covered, best, torch.full_like(best, -1)).reshape(h, w))
    return torch.stack(out)


def test_square_fills_expected_pixels(quad, camera) -> None:
    verts, faces, _ = quad(half=1.0, depth=4.0)
    cams = camera(20, focal=20.0)  # side = 2 * 20 / 4 = 10 px, from u = 5 to 15
    frags = rasterize(verts, faces, cams)
    mask = frags.mask[0]
    assert int(mask.sum()) == 100
    assert mask[5:15, 5:15].all()
    assert torch.allclose(frags.depth[0][mask], torch.tensor(4.0))
    assert (frags.depth[0][~mask] == 0).all() and (frags.face_index[0][~mask] == -1).all()
    assert torch.allclose(frags.bary[0][mask].sum(-1), torch.tensor(1.0), atol=1e-5)


@pytest.mark.parametrize("radius_px", [7.3, 19.6])
def test_disc_area_matches_analytic(radius_px: float) -> None:
    depth, focal, size = 5.0, 50.0, 48
    verts, faces = _disc(radius=radius_px * depth / focal, depth=depth, cx=0.013, cy=-0.021)
    n = faces.shape[0]
    polygon_area = 0.5 * n * radius_px**2 * math.sin(2 * math.pi / n)
    cams = PerspectiveCameras.from_focal(1, (size, size), focal)
    count = float(rasterize(verts, faces, cams).mask.sum())
    # Pixel-centre sampling: the error is bounded by the boundary pixels, statistically much less.
    assert abs(count - polygon_area) < 0.5 * 2 * math.pi * radius_px * 0.25
    # Supersampled coverage (8 x 8 sub-pixels) is within a fraction of a pixel of the truth.
    fine = float(rasterize(verts, faces, cams.scaled(8)).mask.sum()) / 64.0
    assert abs(fine - polygon_area) < 0.02 * 2 * math.pi * radius_px


def test_zbuffer_nearer_face_wins_regardless_of_order(camera) -> None:
    near = [[-1.0, -1.0, 3.0], [-1.0, 1.0, 3.0], [1.0, 1.0, 3.0]]
    far = [[-1.5, -0.2, 6.0], [1.5, -1.5, 6.0], [1.5, 1.5, 6.0]]
    cams = camera(32, focal=24.0)
    for order in ([0, 1], [1, 0]):
        tris = [near, far]
        verts = torch.tensor([tris[order[0]] + tris[order[1]]])
        faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
        near_id = order.index(0)
        frags = rasterize(verts, faces, cams)
        ref = _reference_faces(verts, faces, cams)
        assert torch.equal(frags.face_index, ref)
        fi = frags.face_index[0]
        both = (fi == near_id) & (ref[0] == near_id)
        assert both.sum() > 20
        assert torch.allclose(frags.depth[0][fi == near_id], torch.tensor(3.0), atol=1e-5)
        assert torch.allclose(frags.depth[0][fi == 1 - near_id], torch.tensor(6.0), atol=1e-5)
        # Pixel (16, 14) lies in both triangles: the near one must win.
        assert int(fi[16, 14]) == near_id


def test_matches_dense_reference_on_random_soup() -> None:
    gen = torch.Generator().manual_seed(3)
    b, nf, size = 2, 40, 24
    lo, span = torch.tensor([-1.5, -1.5, 3.0]), torch.tensor([3.0, 3.0, 4.0])
    centres = torch.rand(b, nf, 1, 3, generator=gen) * span + lo
    verts = (centres + 0.6 * torch.randn(b, nf, 3, 3, generator=gen)).reshape(b, nf * 3, 3)
    faces = torch.arange(nf * 3).reshape(nf, 3)
    cams = PerspectiveCameras.from_focal(b, (size, size + 4), 10.0)
    frags = rasterize(verts, faces, cams)
    ref = _reference_faces(verts, faces, cams)
    agree = (frags.face_index == ref).float().mean()
    assert agree > 0.995  # only exact ties on shared edges may differ
    chunked = rasterize(verts, faces, cams, RasterSettings(max_candidates=7, faces_per_chunk=5))
    assert torch.equal(chunked.face_index, frags.face_index)
    assert torch.allclose(chunked.bary, frags.bary) and torch.allclose(chunked.depth, frags.depth)


def test_face_larger_than_chunk_and_image(camera) -> None:
    verts = torch.tensor([[[-50.0, -50.0, 2.0], [-50.0, 90.0, 2.0], [90.0, -50.0, 2.0]]])
    faces = torch.tensor([[0, 1, 2]])
    frags = rasterize(verts, faces, camera(16, focal=8.0), RasterSettings(max_candidates=10))
    assert bool(frags.mask.all())


def test_culls_faces_behind_or_crossing_the_camera(camera) -> None:
    cams = camera(16, focal=8.0)
    faces = torch.tensor([[0, 1, 2]])
    behind = torch.tensor([[[-1.0, -1.0, -2.0], [-1.0, 1.0, -2.0], [1.0, 1.0, -2.0]]])
    crossing = torch.tensor([[[-1.0, -1.0, 2.0], [-1.0, 1.0, 2.0], [1.0, 1.0, -0.5]]])
    on_plane = torch.tensor([[[-1.0, -1.0, 0.0], [-1.0, 1.0, 2.0], [1.0, 1.0, 2.0]]])
    for verts in (behind, crossing, on_plane):
        frags = rasterize(verts, faces, cams)
        assert not frags.mask.any()
        assert torch.isfinite(frags.bary).all() and torch.isfinite(frags.depth).all()


def test_degenerate_and_nonfinite_faces_are_skipped(camera) -> None:
    verts = torch.tensor(
        [[[0.0, 0.0, 2.0], [0.5, 0.5, 2.0], [1.0, 1.0, 2.0], [float("nan"), 0.0, 2.0], [0.0, 1.0, 2.0]]]
    )
    faces = torch.tensor([[0, 1, 2], [0, 0, 1], [3, 1, 4]])
    frags = rasterize(verts, faces, camera(16, focal=8.0))
    assert not frags.mask.any()


def test_backface_culling_option(quad, camera) -> None:
    cams = camera(16, focal=8.0)
    for front in (True, False):
        verts, faces, _ = quad(front=front)
        two_sided = rasterize(verts, faces, cams)
        culled = rasterize(verts, faces, cams, RasterSettings(cull_backfaces=True))
        assert two_sided.mask.sum() == 16
        assert int(culled.mask.sum()) == (16 if front else 0)


def test_perspective_correct_barycentrics_and_depth(camera) -> None:
    # Quad slanted in depth: z = 3 + 1.5 x for x in [-1, 1].
    x = torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
    y = torch.tensor([-1.0, 1.0, 1.0, -1.0], dtype=torch.float64)
    verts = torch.stack([x, y, 3.0 + 1.5 * x], -1)[None]
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    size, focal = 64, 40.0
    cams = camera(size, focal=focal, dtype=torch.float64)
    frags = rasterize(verts, faces, cams)
    row = size // 2
    cols = torch.nonzero(frags.mask[0, row]).squeeze(1)
    a = (cols.double() + 0.5 - size / 2) / focal  # X / Z along the ray
    z_true = 3.0 / (1.0 - 1.5 * a)
    assert torch.allclose(frags.depth[0, row, cols], z_true, atol=1e-9)
    # Interpolate x with the barycentrics: must be the true X = a Z, not the screen-affine value.
    corner_x = x[faces[frags.face_index[0, row, cols]]]
    x_interp = (frags.bary[0, row, cols] * corner_x).sum(-1)
    assert torch.allclose(x_interp, a * z_true, atol=1e-9)
    u_left = focal * (-1.0 / 1.5) + size / 2
    u_right = focal * (1.0 / 4.5) + size / 2
    x_affine = -1.0 + 2.0 * (cols.double() + 0.5 - u_left) / (u_right - u_left)
    assert (x_interp - x_affine).abs().max() > 0.2


def test_float64_and_batch_of_different_cameras(quad) -> None:
    verts, faces, _ = quad(dtype=torch.float64)
    verts = verts.expand(3, -1, -1)
    cams = PerspectiveCameras(
        focal=torch.tensor([[8.0, 8.0], [16.0, 16.0], [8.0, 4.0]], dtype=torch.float64),
        principal=torch.tensor([[8.0, 8.0], [8.0, 8.0], [4.0, 8.0]], dtype=torch.float64),
        image_size=(16, 16),
    )
    frags = rasterize(verts, faces, cams)
    assert frags.bary.dtype == torch.float64
    assert frags.mask.sum((1, 2)).tolist() == [16, 64, 8]
