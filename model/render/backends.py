"""Renderer backends behind one interface, and the factory that picks one.

Backends (all subclasses of :class:`MeshRenderer`, same ``render(...)`` signature, same
:class:`RenderOutput`, same conventions; they differ only in how they rasterise):

* ``"torch"`` -- :class:`MeshRenderer`, the pure-torch rasteriser of this package.  Default and
  fallback; runs on CPU and CUDA.
* ``"pytorch3d"`` -- :class:`PyTorch3DRenderer`: PyTorch3D's ``MeshRasterizer`` (CUDA kernels,
  one face per pixel, perspective-correct barycentrics) produces the fragments; texturing
  (bilinear ``grid_sample`` with ``align_corners=False``, the same lookup PyTorch3D's
  ``TexturesUV(align_corners=False)`` does, with ``v = 0`` at the bottom in both), Lambert shading
  and compositing are the shared code of :mod:`model.render.renderer`, so both backends give the
  same images up to rasterisation ties.  pytorch3d is imported lazily; asking for this backend
  explicitly without pytorch3d installed raises :class:`ImportError`.
* ``"auto"`` -- the torch backend, on CPU always.  On CUDA it is the torch backend too unless
  configured otherwise with ``cuda_backend="pytorch3d"`` (or the environment variable
  ``RSCNET_RENDER_CUDA_BACKEND=pytorch3d``): then CUDA inputs are rasterised by PyTorch3D when it
  imports, and everything else (CPU inputs, pytorch3d missing) silently falls back to torch.
  Rationale: the torch rasteriser is what the test-suite validates on every machine and needs no
  compiled extension; PyTorch3D is an opt-in speed-up for large GPU batches.
"""

from __future__ import annotations

import os
import warnings

import torch
from torch import Tensor

from model.render.cameras import PerspectiveCameras
from model.render.rasterizer import Fragments, RasterSettings
from model.render.renderer import MeshRenderer
from model.render.shading import Lights

BACKENDS: tuple[str, ...] = ("auto", "torch", "pytorch3d")
CUDA_BACKEND_ENV = "RSCNET_RENDER_CUDA_BACKEND"


def pytorch3d_available() -> bool:
    """Whether ``pytorch3d.renderer`` imports."""
    try:
        import pytorch3d.renderer  # noqa: F401
    except Exception:  # ImportError, or a broken compiled extension
        return False
    return True


def _opencv_to_pytorch3d_cameras(cameras: PerspectiveCameras, dtype: torch.dtype) -> object:
    """PyTorch3D cameras equivalent to ``cameras`` for points already in the OpenCV camera frame."""
    from pytorch3d.utils import cameras_from_opencv_projection

    b = cameras.batch_size
    device = cameras.device
    h, w = cameras.image_size
    k = torch.zeros(b, 3, 3, device=device, dtype=dtype)
    k[:, 0, 0] = cameras.focal[:, 0].to(dtype)
    k[:, 1, 1] = cameras.focal[:, 1].to(dtype)
    k[:, 0, 2] = cameras.principal[:, 0].to(dtype)
    k[:, 1, 2] = cameras.principal[:, 1].to(dtype)
    k[:, 2, 2] = 1.0
    rot = torch.eye(3, device=device, dtype=dtype).expand(b, 3, 3).contiguous()
    tvec = torch.zeros(b, 3, device=device, dtype=dtype)
    size = torch.tensor([[h, w]], device=device, dtype=dtype).expand(b, 2).contiguous()
    return cameras_from_opencv_projection(rot, tvec, k, size)


class PyTorch3DRenderer(MeshRenderer):
    """:class:`MeshRenderer` whose rasterisation is done by PyTorch3D.

    Faces are culled exactly as in the torch backend before PyTorch3D sees them (any vertex at
    ``z < znear``; back faces when ``cull_backfaces``), so PyTorch3D never clips.

    Args:
        ssaa, raster_settings, lights, padding_mode: as for :class:`MeshRenderer`.
        bin_size, max_faces_per_bin: passed to ``pytorch3d.renderer.RasterizationSettings``
            (``None`` = PyTorch3D's heuristics; ``bin_size=0`` = naive rasterisation).

    Raises:
        ImportError: pytorch3d is not importable.
    """

    name: str = "pytorch3d"

    def __init__(
        self,
        ssaa: int = 1,
        raster_settings: RasterSettings | None = None,
        lights: Lights | None = None,
        padding_mode: str = "border",
        bin_size: int | None = None,
        max_faces_per_bin: int | None = None,
    ) -> None:
        super().__init__(ssaa=ssaa, raster_settings=raster_settings, lights=lights, padding_mode=padding_mode)
        try:
            import pytorch3d.renderer  # noqa: F401
        except Exception as exc:
            raise ImportError(
                "the 'pytorch3d' render backend needs pytorch3d (pip install pytorch3d, or build it "
                "from source); use make_renderer('torch') or 'auto' for the pure-torch backend"
            ) from exc
        self.bin_size = bin_size
        self.max_faces_per_bin = max_faces_per_bin

    def rasterize(self, vertices: Tensor, faces: Tensor, cameras: PerspectiveCameras) -> Fragments:
        """Rasterise camera-frame ``vertices`` ``(B, V, 3)`` with PyTorch3D -> :class:`Fragments`."""
        from pytorch3d.renderer import MeshRasterizer, RasterizationSettings
        from pytorch3d.structures import Meshes

        settings = self.raster_settings
        b = vertices.shape[0]
        h, w = cameras.image_size
        device = vertices.device
        faces = faces.to(device=device, dtype=torch.long)

        with torch.no_grad():
            corners = vertices.detach()[:, faces]  # (B, F, 3, 3)
            keep = corners[..., 2].min(-1).values >= settings.znear
            if settings.cull_backfaces:
                e1 = corners[:, :, 1] - corners[:, :, 0]
                e2 = corners[:, :, 2] - corners[:, :, 0]
                normal = torch.cross(e1, e2, dim=-1)
                keep &= (normal * corners[:, :, 0]).sum(-1) < 0
        kept = [torch.nonzero(keep[i], as_tuple=False).squeeze(1) for i in range(b)]
        meshes = Meshes(verts=list(vertices.unbind(0)), faces=[faces[k] for k in kept])
        packed_to_face = torch.cat(kept + [torch.full((1,), -1, dtype=torch.long, device=device)])

        raster = MeshRasterizer(
            cameras=_opencv_to_pytorch3d_cameras(cameras, vertices.dtype),
            raster_settings=RasterizationSettings(
                image_size=(h, w),
                blur_radius=0.0,
                faces_per_pixel=1,
                perspective_correct=True,
                cull_backfaces=False,
                bin_size=self.bin_size,
                max_faces_per_bin=self.max_faces_per_bin,
            ),
        )
        frags = raster(meshes)
        packed = frags.pix_to_face[..., 0]  # (B, H, W), -1 background, packed face index otherwise
        face_index = packed_to_face[torch.where(packed >= 0, packed, torch.full_like(packed, -1))]
        covered = face_index >= 0
        bary = frags.bary_coords[..., 0, :]
        bary = torch.where(covered[..., None], bary, torch.zeros_like(bary))
        depth = torch.where(covered, frags.zbuf[..., 0], torch.zeros_like(frags.zbuf[..., 0]))
        return Fragments.from_dense(face_index, bary.to(vertices.dtype), depth.to(vertices.dtype))


class AutoRenderer(MeshRenderer):
    """``"auto"`` with ``cuda_backend="pytorch3d"``: PyTorch3D for CUDA inputs when importable,
    the torch rasteriser otherwise (see the module docstring)."""

    name: str = "auto"

    def __init__(self, **options: object) -> None:
        self._p3d_options = {k: options.pop(k) for k in ("bin_size", "max_faces_per_bin") if k in options}
        super().__init__(**options)  # type: ignore[arg-type]
        self._p3d: PyTorch3DRenderer | None = None
        self._p3d_failed = False

    def rasterize(self, vertices: Tensor, faces: Tensor, cameras: PerspectiveCameras) -> Fragments:
        if vertices.is_cuda and not self._p3d_failed:
            if self._p3d is None:
                try:
                    self._p3d = PyTorch3DRenderer(
                        raster_settings=self.raster_settings,
                        **self._p3d_options,  # type: ignore[arg-type]
                    )
                except ImportError:
                    self._p3d_failed = True
                    warnings.warn("pytorch3d is not importable; rendering with the torch backend", stacklevel=2)
            if self._p3d is not None:
                return self._p3d.rasterize(vertices, faces, cameras)
        return super().rasterize(vertices, faces, cameras)


def make_renderer(backend: str = "auto", cuda_backend: str | None = None, **options: object) -> MeshRenderer:
    """Build a renderer.

    Args:
        backend: ``"auto"`` (default), ``"torch"`` or ``"pytorch3d"``.
        cuda_backend: only for ``"auto"``: ``"torch"`` (default) or ``"pytorch3d"``; ``None`` reads
            ``$RSCNET_RENDER_CUDA_BACKEND`` (unset = ``"torch"``).
        **options: constructor options of :class:`MeshRenderer` (``ssaa``, ``raster_settings``,
            ``lights``, ``padding_mode``) and, for PyTorch3D, ``bin_size`` / ``max_faces_per_bin``.

    Raises:
        ValueError: unknown backend.
        ImportError: ``backend="pytorch3d"`` and pytorch3d is not importable.
    """
    name = backend.lower()
    if name not in BACKENDS:
        raise ValueError(f"unknown render backend {backend!r}; choose one of {BACKENDS}")
    if name == "pytorch3d":
        return PyTorch3DRenderer(**options)  # type: ignore[arg-type]
    p3d_only = {k: options.pop(k) for k in ("bin_size", "max_faces_per_bin") if k in options}
    if name == "torch":
        return MeshRenderer(**options)  # type: ignore[arg-type]
    choice = (cuda_backend or os.environ.get(CUDA_BACKEND_ENV, "") or "torch").lower()
    if choice not in ("torch", "pytorch3d"):
        raise ValueError(f"cuda_backend must be 'torch' or 'pytorch3d', got {choice!r}")
    if choice == "pytorch3d":
        return AutoRenderer(**options, **p3d_only)
    return MeshRenderer(**options)  # type: ignore[arg-type]
