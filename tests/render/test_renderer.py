"""Renderer: texture orientation, texture gradients, shading, compositing, part maps, ssaa."""

from __future__ import annotations

import math

import pytest
import torch

from model.render.cameras import PerspectiveCameras
from model.render.renderer import MeshRenderer
from model.render.shading import Lights, face_normals, vertex_normals

QUADRANT_COLOURS = torch.tensor(
    [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]]
)  # [top/bottom][left/right] -> RGB


def _quadrant_texture(size: int = 8) -> torch.Tensor:
    """(1, 3, size, size) texture: red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    tex = torch.zeros(1, 3, size, size)
    h = size // 2
    for r in range(2):
        for c in range(2):
            tex[0, :, r * h : (r + 1) * h, c * h : (c + 1) * h] = QUADRANT_COLOURS[r, c][:, None, None]
    return tex


def test_textured_quad_orientation(quad, camera) -> None:
    """Upright poster: the image's top-left shows the texture's top-left (v = 1 is the top row)."""
    verts, faces, face_uvs = quad(half=1.0, depth=2.0)
    cams = camera(32, focal=24.0)
    out = MeshRenderer().render(verts, faces, cams, texture=_quadrant_texture(), face_uvs=face_uvs)
    img = out.image[0]  # quad spans pixels 4..27
    samples = {(0, 0): (8, 8), (0, 1): (8, 23), (1, 0): (23, 8), (1, 1): (23, 23)}
    for (r, c), (i, j) in samples.items():
        assert torch.allclose(img[:, i, j], QUADRANT_COLOURS[r, c]), (r, c, img[:, i, j])
    assert torch.equal(out.image[0, :, 0, 0], torch.zeros(3))


def test_uv_convention_single_texel_lookup(quad, camera) -> None:
    """A pixel with uv (u, v) samples texel row (1 - v) * Ht - 0.5, column u * Wt - 0.5."""
    verts, faces, face_uvs = quad(half=1.0, depth=2.0)
    tex = torch.arange(4 * 6, dtype=torch.float32).reshape(1, 1, 4, 6)
    cams = camera(32, focal=24.0)
    out = MeshRenderer().render(verts, faces, cams, texture=tex, face_uvs=face_uvs)
    # Pixel (i, j) -> u = (j + 0.5 - 4) / 24, v = 1 - (i + 0.5 - 4) / 24 on the upright quad.
    for i, j in [(7, 9), (15, 20), (25, 5)]:
        u = (j + 0.5 - 4) / 24
        v = 1 - (i + 0.5 - 4) / 24
        row = min(max((1 - v) * 4 - 0.5, 0), 3)
        col = min(max(u * 6 - 0.5, 0), 5)
        r0, c0 = min(int(math.floor(row)), 2), min(int(math.floor(col)), 4)
        fr, fc = row - r0, col - c0
        t = tex[0, 0]
        expected = (
            t[r0, c0] * (1 - fr) * (1 - fc) + t[r0, c0 + 1] * (1 - fr) * fc
            + t[r0 + 1, c0] * fr * (1 - fc) + t[r0 + 1, c0 + 1] * fr * fc
        )
        assert torch.allclose(out.image[0, 0, i, j], expected, atol=1e-4)


def test_texture_gradient_sums_to_foreground_count(quad, camera) -> None:
    verts, faces, face_uvs = quad(half=1.0, depth=3.0)
    verts = torch.cat([verts, verts + torch.tensor([0.4, 0.2, 1.0])])  # batch of 2, different coverage
    tex = torch.rand(2, 3, 16, 16, requires_grad=True)
    lights = Lights.create(2, ambient=1.0, diffuse=0.0)
    for ssaa in (1, 3):
        tex.grad = None
        out = MeshRenderer(ssaa=ssaa).render(
            verts, faces, camera(24, focal=20.0, batch=2), texture=tex, face_uvs=face_uvs, lights=lights
        )
        out.image.sum().backward()
        per_image = tex.grad.sum((1, 2, 3))
        expected = out.mask.sum((1, 2, 3)) * 3
        assert torch.allclose(per_image, expected, rtol=1e-5), (per_image, expected)
        if ssaa == 1:
            assert torch.equal(out.mask.sum((1, 2, 3)), out.mask.sum((1, 2, 3)).round())


def test_lambert_shading_and_light_direction(quad, camera) -> None:
    verts, faces, _ = quad(depth=3.0)
    cams = camera(16, focal=12.0)
    colours = torch.tensor([[[0.2, 0.4, 0.8]] * 4])
    renderer = MeshRenderer()
    head_on = Lights.create(1, ambient=0.1, diffuse=0.5, direction=(0.0, 0.0, -2.0))
    grazing = Lights.create(1, ambient=0.1, diffuse=0.5, direction=(1.0, 0.0, 0.0))
    tilted = Lights.create(1, ambient=0.0, diffuse=1.0, direction=(0.0, -1.0, -1.0))
    px = (8, 8)
    albedo = colours[0, 0]
    img = renderer.render(verts, faces, cams, vertex_colors=colours, lights=head_on).image[0, :, px[0], px[1]]
    assert torch.allclose(img, albedo * 0.6)
    img = renderer.render(verts, faces, cams, vertex_colors=colours, lights=grazing).image[0, :, px[0], px[1]]
    assert torch.allclose(img, albedo * 0.1)
    img = renderer.render(verts, faces, cams, vertex_colors=colours, lights=tilted).image[0, :, px[0], px[1]]
    assert torch.allclose(img, albedo * math.cos(math.pi / 4), atol=1e-6)
    # Default renderer lights are used when render() gets none; unlit otherwise.
    lit = MeshRenderer(lights=head_on).render(verts, faces, cams, vertex_colors=colours)
    assert torch.allclose(lit.image[0, :, 8, 8], albedo * 0.6)
    unlit = renderer.render(verts, faces, cams, vertex_colors=colours)
    assert torch.allclose(unlit.image[0, :, 8, 8], albedo)


def test_shading_gamma_shades_in_linear_light(quad, camera) -> None:
    """With gamma 2.2 half the light shows a surface at 0.5 ** (1 / 2.2) = 73 % of its colour, as a camera
    encodes it; full light and the unlit render are unchanged."""
    verts, faces, _ = quad(depth=3.0)
    cams = camera(16, focal=12.0)
    colours = torch.tensor([[[0.2, 0.4, 0.8]] * 4])
    albedo = colours[0, 0]
    camera_like = MeshRenderer(shading_gamma=2.2)
    half = Lights.create(1, ambient=0.1, diffuse=0.4, direction=(0.0, 0.0, -1.0))
    full = Lights.create(1, ambient=0.2, diffuse=0.8, direction=(0.0, 0.0, -1.0))
    img = camera_like.render(verts, faces, cams, vertex_colors=colours, lights=half).image[0, :, 8, 8]
    assert torch.allclose(img, albedo * 0.5 ** (1 / 2.2), atol=1e-6)
    assert torch.allclose(MeshRenderer().render(verts, faces, cams, vertex_colors=colours, lights=half).image[0, :, 8, 8], albedo * 0.5)
    assert torch.allclose(camera_like.render(verts, faces, cams, vertex_colors=colours, lights=full).image[0, :, 8, 8], albedo, atol=1e-6)
    assert torch.allclose(camera_like.render(verts, faces, cams, vertex_colors=colours).image[0, :, 8, 8], albedo)
    with pytest.raises(ValueError, match="shading_gamma"):
        MeshRenderer(shading_gamma=0.0)


def test_two_sided_normals_face_the_camera(quad, camera) -> None:
    cams = camera(16, focal=12.0)
    lights = Lights.create(1, ambient=0.0, diffuse=1.0, direction=(0.0, 0.0, -1.0))
    for front in (True, False):
        verts, faces, _ = quad(depth=3.0, front=front)
        out = MeshRenderer().render(verts, faces, cams, lights=lights, return_normals=True)
        n = out.normals[0][:, out.mask[0, 0] > 0]
        assert torch.allclose(n, torch.tensor([0.0, 0.0, -1.0])[:, None].expand_as(n), atol=1e-6)
        assert torch.allclose(out.image[0][:, out.mask[0, 0] > 0], torch.tensor(1.0))


def test_sphere_vertex_normals_point_outwards() -> None:
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=2)
    verts = torch.tensor(sphere.vertices, dtype=torch.float64)[None]
    faces = torch.tensor(sphere.faces, dtype=torch.long)
    n = vertex_normals(verts, faces)
    assert torch.allclose(n.norm(dim=-1), torch.tensor(1.0, dtype=torch.float64))
    assert (n * verts / verts.norm(dim=-1, keepdim=True)).sum(-1).min() > 0.999
    fn = face_normals(verts, faces)[0]
    assert torch.allclose(fn / fn.norm(dim=-1, keepdim=True), torch.tensor(sphere.face_normals))


def test_background_part_map_depth_and_outputs(quad, camera) -> None:
    verts, faces, face_uvs = quad(half=1.0, depth=4.0)
    cams = camera(20, focal=20.0)
    bg = torch.full((1, 3, 20, 20), 0.25)
    labels = torch.tensor([7, 9])
    out = MeshRenderer().render(verts, faces, cams, face_labels=labels, background=bg)
    mask = out.mask[0, 0] > 0
    assert out.image.shape == (1, 3, 20, 20) and out.mask.shape == (1, 1, 20, 20)
    assert torch.allclose(out.image[0][:, ~mask], torch.tensor(0.25))
    assert torch.allclose(out.image[0][:, mask], torch.tensor(1.0))
    assert set(out.part_map[0][mask].unique().tolist()) == {7, 9}
    assert (out.part_map[0][~mask] == -1).all()
    assert torch.equal(out.part_map[0][mask], labels[out.face_index[0][mask]])
    assert torch.allclose(out.depth[0][mask], torch.tensor(4.0)) and (out.depth[0][~mask] == 0).all()
    assert out.normals is None


def test_ssaa_antialiased_mask_area(camera) -> None:
    """A square whose edges fall mid-pixel: ssaa gives fractional edge coverage, exact area."""
    side_px, focal, depth = 9.5, 20.0, 4.0
    half = side_px / 2 * depth / focal
    off = 0.25 * depth / focal  # shift by a quarter pixel
    verts = torch.tensor(
        [[[-half + off, -half + off, depth], [-half + off, half + off, depth], [half + off, half + off, depth],
          [half + off, -half + off, depth]]]
    )
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    bg = torch.zeros(1, 3, 20, 20)
    out = MeshRenderer(ssaa=4).render(verts, faces, camera(20, focal=focal), background=bg)
    assert abs(float(out.mask.sum()) - side_px**2) < 0.5
    edge_values = out.mask[0, 0][(out.mask[0, 0] > 0) & (out.mask[0, 0] < 1)]
    assert edge_values.numel() > 0
    assert torch.allclose(out.image[0, 0], out.mask[0, 0])  # white mesh over black background


def test_rigid_camera_transform_equals_pre_transformed_vertices(quad) -> None:
    verts, faces, face_uvs = quad(depth=0.0)
    angle = 0.3
    rot = torch.tensor(
        [[math.cos(angle), 0.0, math.sin(angle)], [0.0, 1.0, 0.0], [-math.sin(angle), 0.0, math.cos(angle)]]
    )[None]
    t = torch.tensor([[0.1, -0.2, 4.0]])
    base = PerspectiveCameras.from_focal(1, (24, 24), 18.0)
    posed = PerspectiveCameras(base.focal, base.principal, base.image_size, rotation=rot, translation=t)
    tex = _quadrant_texture()
    lights = Lights.create(1, direction=(0.3, 0.2, -1.0))
    a = MeshRenderer().render(verts, faces, posed, texture=tex, face_uvs=face_uvs, lights=lights)
    moved = verts @ rot[0].T + t
    b = MeshRenderer().render(moved, faces, base, texture=tex, face_uvs=face_uvs, lights=lights)
    assert torch.allclose(a.image, b.image, atol=1e-5) and torch.equal(a.face_index, b.face_index)


def test_batch_one_texture_colours_and_lights_broadcast(quad, camera) -> None:
    verts, faces, face_uvs = quad(depth=3.0)
    verts = torch.cat([verts, verts + torch.tensor([0.3, 0.0, 1.0])])
    cams = camera(16, focal=12.0, batch=2)
    lights = Lights.create(1, ambient=0.5, diffuse=0.5)
    tex = _quadrant_texture()
    out = MeshRenderer().render(verts, faces, cams, texture=tex, face_uvs=face_uvs, lights=lights)
    full = MeshRenderer().render(
        verts, faces, cams, texture=tex.expand(2, -1, -1, -1), face_uvs=face_uvs, lights=lights.expand(2)
    )
    assert torch.equal(out.image, full.image)
    colours = torch.rand(1, 4, 3)
    a = MeshRenderer().render(verts, faces, cams, vertex_colors=colours)
    b = MeshRenderer().render(verts, faces, cams, vertex_colors=colours.expand(2, -1, -1))
    assert torch.equal(a.image, b.image)
