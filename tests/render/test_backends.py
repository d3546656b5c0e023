"""Backend selection, device independence, PyTorch3D parity (skipped without it)."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import trimesh

from model.render.backends import AutoRenderer, make_renderer, pytorch3d_available
from model.render.cameras import PerspectiveCameras
from model.render.renderer import MeshRenderer
from model.render.shading import Lights


def _sphere_scene(batch: int = 2, size: int = 48, device: str = "cpu"):
    sphere = trimesh.creation.icosphere(subdivisions=3)
    verts = torch.tensor(sphere.vertices, dtype=torch.float32)
    faces = torch.tensor(sphere.faces, dtype=torch.long)
    unit = verts / verts.norm(dim=-1, keepdim=True)
    vert_uv = torch.stack(
        [0.5 + torch.atan2(unit[:, 0], unit[:, 2]) / (2 * math.pi), 0.5 - torch.asin(unit[:, 1]) / math.pi], -1
    )
    offsets = torch.tensor([[0.0, 0.0, 3.0], [0.3, -0.2, 4.0], [-0.4, 0.1, 3.5]])[:batch]
    v = (verts[None] * torch.tensor([1.0, 1.3, 0.8]) + offsets[:, None]).to(device)
    cams = PerspectiveCameras.from_focal(batch, (size, size + 8), 30.0, device=device)
    gen = torch.Generator().manual_seed(0)
    tex = torch.rand(batch, 3, 16, 16, generator=gen).to(device)
    lights = Lights.create(batch, ambient=0.3, diffuse=0.7, direction=(0.4, -0.5, -1.0), device=device)
    labels = (torch.arange(faces.shape[0]) % 5).to(device)
    return v, faces.to(device), vert_uv[faces].to(device), cams, tex, lights, labels


def test_make_renderer_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RSCNET_RENDER_CUDA_BACKEND", raising=False)
    assert type(make_renderer()) is MeshRenderer and make_renderer().name == "torch"
    assert type(make_renderer("torch", ssaa=2)) is MeshRenderer and make_renderer("torch", ssaa=2).ssaa == 2
    assert isinstance(make_renderer("auto", cuda_backend="pytorch3d"), AutoRenderer)
    monkeypatch.setenv("RSCNET_RENDER_CUDA_BACKEND", "pytorch3d")
    assert isinstance(make_renderer("auto"), AutoRenderer)
    with pytest.raises(ValueError):
        make_renderer("opengl")
    with pytest.raises(ValueError):
        make_renderer("auto", cuda_backend="vulkan")


def test_explicit_pytorch3d_without_it_raises_import_error() -> None:
    if pytorch3d_available():
        pytest.skip("pytorch3d is installed")
    with pytest.raises(ImportError, match="pytorch3d"):
        make_renderer("pytorch3d")


def test_auto_renderer_uses_torch_on_cpu() -> None:
    v, faces, face_uvs, cams, tex, lights, _ = _sphere_scene()
    ours = MeshRenderer().render(v, faces, cams, texture=tex, face_uvs=face_uvs, lights=lights)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # CPU inputs never even try pytorch3d
        auto = make_renderer("auto", cuda_backend="pytorch3d").render(
            v, faces, cams, texture=tex, face_uvs=face_uvs, lights=lights
        )
    assert torch.equal(ours.image, auto.image)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu() -> None:
    cpu = _sphere_scene(device="cpu")
    gpu = _sphere_scene(device="cuda")
    tex_cpu = cpu[4].clone().requires_grad_(True)
    tex_gpu = gpu[4].clone().requires_grad_(True)
    renderer = MeshRenderer(ssaa=2)
    out_cpu = renderer.render(*cpu[:4], texture=tex_cpu, face_uvs=cpu[2], lights=cpu[5], face_labels=cpu[6])
    out_gpu = renderer.render(*gpu[:4], texture=tex_gpu, face_uvs=gpu[2], lights=gpu[5], face_labels=gpu[6])
    assert out_gpu.image.device.type == "cuda"
    mismatch = (out_cpu.face_index != out_gpu.face_index.cpu()).float().mean()
    assert mismatch < 0.002
    same = out_cpu.face_index == out_gpu.face_index.cpu()
    assert torch.allclose(out_cpu.depth[same], out_gpu.depth.cpu()[same], atol=1e-4)
    assert (out_cpu.image - out_gpu.image.cpu()).abs().mean() < 1e-3
    out_cpu.image.sum().backward()
    out_gpu.image.sum().backward()
    assert torch.allclose(tex_cpu.grad, tex_gpu.grad.cpu(), rtol=1e-3, atol=1e-2)


def test_pytorch3d_backend_matches_torch() -> None:
    pytest.importorskip("pytorch3d")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        v, faces, face_uvs, cams, tex, lights, labels = _sphere_scene(device=device)
        kwargs = dict(texture=tex, face_uvs=face_uvs, lights=lights, face_labels=labels)
        ours = make_renderer("torch").render(v, faces, cams, **kwargs)
        theirs = make_renderer("pytorch3d").render(v, faces, cams, **kwargs)
        assert theirs.image.shape == ours.image.shape
        mask_diff = (ours.mask != theirs.mask).float().mean()
        assert mask_diff < 0.005, mask_diff
        same = ours.face_index == theirs.face_index
        assert same.float().mean() > 0.99
        assert torch.allclose(ours.depth[same], theirs.depth[same], atol=1e-3)
        assert (ours.image - theirs.image).abs().mean() < 5e-3


def _install_fake_pytorch3d(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-in pytorch3d modules whose 'MeshRasterizer' runs our rasteriser mesh by mesh and returns
    PyTorch3D-shaped fragments (packed face indices, K = 1, zbuf -1 for background).  This checks the
    glue of PyTorch3DRenderer (culling, packed-index mapping, Fragments.from_dense), not PyTorch3D."""
    import sys
    import types

    from model.render.rasterizer import rasterize

    class Meshes:
        def __init__(self, verts: list[torch.Tensor], faces: list[torch.Tensor]) -> None:
            self.verts, self.faces = verts, faces

    class RasterizationSettings:
        def __init__(self, **kwargs: object) -> None:
            self.__dict__.update(kwargs)

    class FakeCameras:
        def __init__(self, k: torch.Tensor, size: torch.Tensor) -> None:
            self.k, self.size = k, size

    class MeshRasterizer:
        def __init__(self, cameras: FakeCameras, raster_settings: RasterizationSettings) -> None:
            self.cameras, self.settings = cameras, raster_settings

        def __call__(self, meshes: Meshes) -> types.SimpleNamespace:
            assert self.settings.faces_per_pixel == 1 and self.settings.perspective_correct
            h, w = self.settings.image_size
            p2f, bary, zbuf, offset = [], [], [], 0
            for i, (v, f) in enumerate(zip(meshes.verts, meshes.faces)):
                k = self.cameras.k[i : i + 1]
                cam = PerspectiveCameras(k[:, [0, 1], [0, 1]], k[:, [0, 1], [2, 2]], (h, w))
                fr = rasterize(v[None], f, cam)
                p2f.append(torch.where(fr.mask, fr.face_index + offset, -1))
                bary.append(fr.bary)
                zbuf.append(torch.where(fr.mask, fr.depth, torch.full_like(fr.depth, -1.0)))
                offset += f.shape[0]
            return types.SimpleNamespace(
                pix_to_face=torch.cat(p2f)[..., None],
                bary_coords=torch.cat(bary)[..., None, :],
                zbuf=torch.cat(zbuf)[..., None],
            )

    root = types.ModuleType("pytorch3d")
    renderer = types.ModuleType("pytorch3d.renderer")
    structures = types.ModuleType("pytorch3d.structures")
    utils = types.ModuleType("pytorch3d.utils")
    renderer.MeshRasterizer, renderer.RasterizationSettings = MeshRasterizer, RasterizationSettings
    structures.Meshes = Meshes
    utils.cameras_from_opencv_projection = lambda r, t, k, size: FakeCameras(k, size)
    root.renderer, root.structures, root.utils = renderer, structures, utils
    for name, mod in {"pytorch3d": root, "pytorch3d.renderer": renderer, "pytorch3d.structures": structures,
                      "pytorch3d.utils": utils}.items():
        monkeypatch.setitem(sys.modules, name, mod)


def test_pytorch3d_glue_with_fake_module(monkeypatch: pytest.MonkeyPatch) -> None:
    _install_fake_pytorch3d(monkeypatch)
    from model.render.rasterizer import RasterSettings

    v, faces, face_uvs, cams, tex, lights, labels = _sphere_scene(batch=3)
    v = v.clone()
    v[1, :40, 2] = -1.0  # some faces of image 1 cross the camera plane: culled by the glue
    v = v.requires_grad_(True)
    for settings in (RasterSettings(), RasterSettings(cull_backfaces=True)):
        kwargs = dict(texture=tex, face_uvs=face_uvs, lights=lights, face_labels=labels, return_normals=True)
        ours = MeshRenderer(ssaa=2, raster_settings=settings).render(v, faces, cams, **kwargs)
        glue = make_renderer("pytorch3d", ssaa=2, raster_settings=settings).render(v, faces, cams, **kwargs)
        assert glue.__class__ is ours.__class__
        # Per-mesh rasterisation of the kept faces only can break exact depth ties differently.
        assert (ours.face_index != glue.face_index).float().mean() < 1e-3
        assert torch.allclose(ours.image, glue.image, atol=1e-3)
        assert torch.equal(ours.part_map == -1, glue.part_map == -1)
        g1 = torch.autograd.grad(ours.image.sum(), v)[0]
        g2 = torch.autograd.grad(glue.image.sum(), v)[0]
        assert torch.allclose(g1, g2, atol=1e-3)
