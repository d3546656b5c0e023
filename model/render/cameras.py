"""Pinhole cameras in the project's OpenCV convention.

Camera frame: x right, y down, z forward; a point is in front of the camera when
``z > 0``.  Pixel coordinates::

    u = fx * X / Z + cx        v = fy * Y / Z + cy

Pixel ``(i, j)`` (row ``i``, column ``j``) has its centre at ``(u, v) = (j + 0.5, i + 0.5)``,
so the image spans ``u in [0, W]`` and ``v in [0, H]``; ``(cx, cy)`` is usually ``(W/2, H/2)``.

Vertices handed to the renderer are normally already in camera coordinates.  Optionally a
camera carries a per-image rigid transform ``X_cam = R @ X_world + t`` (``rotation`` (B, 3, 3),
``translation`` (B, 3)); when either is set the renderer applies it before rasterising, and
everything downstream (normals, lights, depth) lives in the camera frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch import Tensor


class Projection(NamedTuple):
    """Result of :meth:`PerspectiveCameras.project`.

    Attributes:
        uv: pixel coordinates ``(B, N, 2)`` as ``(u, v)``.
        depth: camera-frame ``z`` ``(B, N)`` (positive in front of the camera).
    """

    uv: Tensor
    depth: Tensor


@dataclass(frozen=True)
class PerspectiveCameras:
    """A batch of pinhole cameras sharing one image size.

    Attributes:
        focal: ``(B, 2)`` focal lengths ``(fx, fy)`` in pixels.
        principal: ``(B, 2)`` principal point ``(cx, cy)`` in pixels.
        image_size: ``(H, W)`` of the rendered image in pixels.
        rotation: optional ``(B, 3, 3)`` world-to-camera rotation ``R``.
        translation: optional ``(B, 3)`` world-to-camera translation ``t``.
        min_depth: depths below this are clamped in the perspective division of
            :meth:`project` (the rasteriser culls such faces anyway).
    """

    focal: Tensor
    principal: Tensor
    image_size: tuple[int, int]
    rotation: Tensor | None = None
    translation: Tensor | None = None
    min_depth: float = 1e-6

    def __post_init__(self) -> None:
        if self.focal.ndim != 2 or self.focal.shape[-1] != 2:
            raise ValueError(f"focal must be (B, 2), got {tuple(self.focal.shape)}")
        if self.principal.shape != self.focal.shape:
            raise ValueError(
                f"principal must match focal {tuple(self.focal.shape)}, got {tuple(self.principal.shape)}"
            )
        h, w = self.image_size
        object.__setattr__(self, "image_size", (int(h), int(w)))
        if self.image_size[0] <= 0 or self.image_size[1] <= 0:
            raise ValueError(f"image_size must be positive, got {self.image_size}")

    @classmethod
    def from_focal(
        cls,
        batch_size: int,
        image_size: tuple[int, int],
        focal: float,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> PerspectiveCameras:
        """Identical cameras with square pixels, focal ``focal`` px and centred principal point."""
        h, w = image_size
        f = torch.full((batch_size, 2), float(focal), device=device, dtype=dtype)
        c = torch.tensor([w / 2.0, h / 2.0], device=device, dtype=dtype).expand(batch_size, 2).clone()
        return cls(focal=f, principal=c, image_size=(h, w))

    @property
    def batch_size(self) -> int:
        return int(self.focal.shape[0])

    @property
    def device(self) -> torch.device:
        return self.focal.device

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> PerspectiveCameras:
        """Copy onto ``device`` (and optionally cast floating tensors to ``dtype``)."""

        def move(x: Tensor | None) -> Tensor | None:
            if x is None:
                return None
            return x.to(device=device, dtype=dtype) if dtype is not None else x.to(device)

        return replace(
            self,
            focal=move(self.focal),
            principal=move(self.principal),
            rotation=move(self.rotation),
            translation=move(self.translation),
        )

    def scaled(self, factor: int) -> PerspectiveCameras:
        """Cameras for an image ``factor`` times larger in each axis (used for supersampling).

        With the pixel-centre convention, sub-pixel ``(k*i + s, k*j + r)`` of the large image
        samples the small image at ``(j + (r + 0.5)/k, i + (s + 0.5)/k)``: a regular k x k grid
        inside every original pixel.
        """
        h, w = self.image_size
        return replace(
            self,
            focal=self.focal * factor,
            principal=self.principal * factor,
            image_size=(h * factor, w * factor),
        )

    def world_to_camera(self, points: Tensor) -> Tensor:
        """Apply the optional rigid transform: ``(B, N, 3) -> (B, N, 3)`` camera-frame points."""
        out = points
        if self.rotation is not None:
            out = torch.einsum("bij,bnj->bni", self.rotation.to(points.dtype), out)
        if self.translation is not None:
            out = out + self.translation.to(points.dtype)[:, None, :]
        return out

    def project(self, points: Tensor) -> Projection:
        """Project camera-frame points ``(B, N, 3)`` to pixels.

        The optional rigid transform is *not* applied here (see :meth:`world_to_camera`).

        Returns:
            :class:`Projection` with ``uv`` ``(B, N, 2)`` and ``depth`` ``(B, N)``.
        """
        if points.ndim != 3 or points.shape[-1] != 3:
            raise ValueError(f"points must be (B, N, 3), got {tuple(points.shape)}")
        z = points[..., 2]
        z_safe = torch.where(z.abs() < self.min_depth, torch.full_like(z, self.min_depth), z)
        xy = points[..., :2] / z_safe[..., None]
        uv = xy * self.focal.to(points.dtype)[:, None, :] + self.principal.to(points.dtype)[:, None, :]
        return Projection(uv=uv, depth=z)
