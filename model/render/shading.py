"""Normals, lights and Lambertian shading (all in the camera frame: x right, y down, z forward).

Shading model::

    shaded = albedo * (ambient + diffuse * max(0, n . l))

with ``n`` the normalised, barycentrically interpolated area-weighted vertex normal of the posed
mesh and ``l`` the unit vector from the surface *towards* the light.  For two-sided rendering
the interpolated normal is flipped on faces seen from behind (geometric face normal pointing
away from the camera), so shading normals always face the viewer on back faces while smooth
normals near silhouettes of front faces are left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from model.render.rasterizer import ForegroundPixels
from model.render.texturing import interpolate_vertex_attribute


@dataclass(frozen=True)
class Lights:
    """Ambient plus one directional light per image, camera frame (batch ``B`` or 1).

    Attributes:
        ambient: ``(B, 3)`` ambient colour (or ``(B, 1)``/``(B, C)`` for ``C``-channel albedo).
        diffuse: ``(B, 3)`` directional light colour (same channel rule).
        direction: ``(B, 3)`` vector from the surface towards the light (normalised internally);
            ``(0, 0, -1)`` is a light at the camera.
    """

    ambient: Tensor
    diffuse: Tensor
    direction: Tensor

    @classmethod
    def create(
        cls,
        batch_size: int,
        ambient: float = 0.5,
        diffuse: float = 0.5,
        direction: tuple[float, float, float] = (0.0, 0.0, -1.0),
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> Lights:
        """White lights identical for the whole batch."""
        return cls(
            ambient=torch.full((batch_size, 3), float(ambient), device=device, dtype=dtype),
            diffuse=torch.full((batch_size, 3), float(diffuse), device=device, dtype=dtype),
            direction=torch.tensor(direction, device=device, dtype=dtype).expand(batch_size, 3).clone(),
        )

    def expand(self, batch_size: int) -> Lights:
        """Broadcast lights given for one image (batch 1) to ``batch_size`` images."""
        if all(t.shape[0] == batch_size for t in (self.ambient, self.diffuse, self.direction)):
            return self
        return replace(
            self,
            ambient=self.ambient.expand(batch_size, -1),
            diffuse=self.diffuse.expand(batch_size, -1),
            direction=self.direction.expand(batch_size, -1),
        )

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> Lights:
        """Copy onto ``device`` (optionally casting to ``dtype``)."""
        kw = {"device": device} if dtype is None else {"device": device, "dtype": dtype}
        return replace(
            self,
            ambient=self.ambient.to(**kw),
            diffuse=self.diffuse.to(**kw),
            direction=self.direction.to(**kw),
        )


def _corner_edges(vertices: Tensor, faces: Tensor) -> tuple[Tensor, Tensor]:
    """Edges ``v1 - v0`` and ``v2 - v0`` in a ``(F, 3, B)`` layout (fast row gathers on CPU)."""
    b, nv, _ = vertices.shape
    nf = faces.shape[0]
    vt = vertices.permute(1, 2, 0).reshape(nv, 3 * b)  # (V, 3B): rows of [x_b..., y_b..., z_b...]
    p0, p1, p2 = (vt.index_select(0, faces[:, k]) for k in range(3))  # (F, 3B)
    return (p1 - p0).view(nf, 3, b), (p2 - p0).view(nf, 3, b)


def _cross_rows(e1: Tensor, e2: Tensor) -> Tensor:
    """Cross product of ``(F, 3, B)`` vectors along dim 1 -> ``(F, 3 * B)``."""
    ax, ay, az = e1.unbind(1)
    bx, by, bz = e2.unbind(1)
    return torch.cat([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], dim=1)


def face_normals(vertices: Tensor, faces: Tensor) -> Tensor:
    """Unnormalised face normals ``(v1 - v0) x (v2 - v0)`` (length = twice the area): ``(B, F, 3)``."""
    b = vertices.shape[0]
    n = _cross_rows(*_corner_edges(vertices, faces))
    return n.view(-1, 3, b).permute(2, 0, 1).contiguous()


def vertex_normals(vertices: Tensor, faces: Tensor, eps: float = 1e-12) -> Tensor:
    """Area-weighted unit vertex normals ``(B, V, 3)`` of meshes ``(B, V, 3)`` with faces ``(F, 3)``.

    Each face adds its unnormalised normal (twice its area times the unit normal) to its three
    vertices; isolated vertices get a zero normal.
    """
    b, nv, _ = vertices.shape
    n = _cross_rows(*_corner_edges(vertices, faces))  # (F, 3B)
    acc = torch.zeros(nv, 3 * b, dtype=vertices.dtype, device=vertices.device)
    for corner in range(3):  # three index_adds, not a loop over faces
        acc = acc.index_add(0, faces[:, corner], n)
    acc = acc.view(nv, 3, b)
    x, y, z = acc.unbind(1)
    inv = torch.rsqrt((x * x + y * y + z * z).clamp_min(eps * eps))
    return (acc * inv[:, None, :]).permute(2, 0, 1).contiguous()


def pixel_normals(
    pixels: ForegroundPixels, vertices: Tensor, faces: Tensor, two_sided: bool = True
) -> Tensor:
    """Unit shading normals ``(P, 3)`` of the covered pixels (camera frame).

    Args:
        pixels: covered pixels.
        vertices: ``(B, V, 3)`` camera-frame vertices.
        faces: ``(F, 3)`` long.
        two_sided: flip the normal on faces whose geometric normal points away from the camera.
    """
    vn = vertex_normals(vertices, faces)
    n = F.normalize(interpolate_vertex_attribute(pixels, faces, vn), dim=-1, eps=1e-12)
    if two_sided:
        nv = vertices.shape[1]
        vidx = faces[pixels.face_index] + (pixels.batch_index * nv)[:, None]
        corners = vertices.reshape(-1, 3)[vidx]  # (P, 3, 3)
        geo = torch.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0], dim=-1)
        back = (geo * corners[:, 0]).sum(-1) > 0
        n = torch.where(back[:, None], -n, n)
    return n


def lambert(albedo: Tensor, normals: Tensor, lights: Lights, batch_index: Tensor, gamma: float = 1.0) -> Tensor:
    """Lambertian shading of ``P`` pixels.

    Args:
        albedo: ``(P, C)``.
        normals: ``(P, 3)`` unit normals.
        lights: per-image lights; colours broadcast over channels (``(B, 1)`` or ``(B, C)``).
        batch_index: ``(P,)`` image of each pixel.
        gamma: display gamma of ``albedo`` (values as a camera's encoded image shows them). The light
            ``L = ambient + diffuse * max(0, n . l)`` acts on linear light, so the encoded colour is
            ``albedo * L ** (1 / gamma)``: with 2.2 a surface in half light shows at 73 % of its lit
            value, as on a camera; 1 (the default) multiplies the encoded albedo by ``L`` itself,
            which makes shadows and dim scenes darker than cameras record them.

    Returns:
        ``(P, C)`` shaded colours.
    """
    dtype = albedo.dtype
    direction = F.normalize(lights.direction.to(dtype), dim=-1)[batch_index]  # (P, 3)
    cos = (normals.to(dtype) * direction).sum(-1, keepdim=True).clamp(min=0.0)
    ambient = lights.ambient.to(dtype)[batch_index]
    diffuse = lights.diffuse.to(dtype)[batch_index]
    light = ambient + diffuse * cos
    if gamma != 1.0:
        light = light.clamp(min=0.0) ** (1.0 / gamma)
    return albedo * light
