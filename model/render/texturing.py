"""UV texture lookup for the renderer.

UV convention (OBJ / OpenGL / trimesh convention): ``u, v in [0, 1]``, ``u = 0`` is the left
column and ``v = 0`` the *bottom* row of the texture image, ``v = 1`` its top row.  Texture
tensors ``(B, C, Ht, Wt)`` are stored like images (row 0 at the top), so ``(u, v)`` lands on
texel row ``(1 - v) * Ht - 0.5`` and column ``u * Wt - 0.5`` (texel centres, i.e.
``grid_sample(align_corners=False)``).  :mod:`model.render.export` writes OBJ ``vt`` unchanged
and lets trimesh flip ``v`` for glTF, whose origin is the top-left.

UVs are per face corner (``face_uvs`` ``(F, 3, 2)``) so seams need no vertex splitting.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from model.render.rasterizer import ForegroundPixels


def uv_to_grid(uv: Tensor) -> Tensor:
    """Map UVs ``(..., 2)`` to ``grid_sample`` coordinates ``(..., 2)`` in ``[-1, 1]``."""
    return torch.stack([uv[..., 0] * 2.0 - 1.0, 1.0 - uv[..., 1] * 2.0], dim=-1)


def interpolate_face_attribute(pixels: ForegroundPixels, face_values: Tensor) -> Tensor:
    """Barycentric interpolation of per-corner values.

    Args:
        pixels: covered pixels (``P`` of them).
        face_values: ``(F, 3, D)`` shared by the batch, or ``(B, F, 3, D)`` per image.

    Returns:
        ``(P, D)`` interpolated values.
    """
    if face_values.ndim == 3:
        corners = face_values[pixels.face_index]  # (P, 3, D)
    else:
        corners = face_values[pixels.batch_index, pixels.face_index]
    return (pixels.bary.to(corners.dtype)[..., None] * corners).sum(-2)


def interpolate_vertex_attribute(pixels: ForegroundPixels, faces: Tensor, vertex_values: Tensor) -> Tensor:
    """Barycentric interpolation of per-vertex values ``(B, V, D)`` -> ``(P, D)``."""
    nv = vertex_values.shape[1]
    vidx = faces[pixels.face_index] + (pixels.batch_index * nv)[:, None]  # (P, 3)
    corners = vertex_values.reshape(-1, vertex_values.shape[-1])[vidx]  # (P, 3, D)
    return (pixels.bary.to(corners.dtype)[..., None] * corners).sum(-2)


def sample_texture(
    texture: Tensor,
    pixels: ForegroundPixels,
    face_uvs: Tensor,
    padding_mode: str = "border",
) -> Tensor:
    """Bilinearly sample ``texture`` ``(B, C, Ht, Wt)`` at the covered pixels -> ``(P, C)``.

    Uses ``grid_sample(mode="bilinear", align_corners=False)`` on a ``(B, 1, Pmax, 2)`` grid that
    packs each image's covered pixels (``Pmax`` = most covered pixels in one image), so the cost
    scales with coverage, gradients flow to the texture and, through the interpolated UVs, to the
    vertices.  With ``padding_mode="border"`` the bilinear weights of every pixel sum to one even
    next to the texture border.
    """
    bsz = texture.shape[0]
    n = pixels.flat_index.shape[0]
    if n == 0:
        return texture.new_zeros(0, texture.shape[1]) + 0.0 * texture.sum()
    uv = interpolate_face_attribute(pixels, face_uvs.to(texture.dtype))  # (P, 2)
    counts = torch.bincount(pixels.batch_index, minlength=bsz)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(n, device=texture.device) - starts[pixels.batch_index]  # rank within image
    pmax = int(counts.max())
    grid = texture.new_zeros(bsz, pmax, 2).index_put((pixels.batch_index, slot), uv_to_grid(uv))
    sampled = F.grid_sample(
        texture, grid[:, None], mode="bilinear", padding_mode=padding_mode, align_corners=False
    )  # (B, C, 1, Pmax)
    return sampled[:, :, 0].permute(0, 2, 1)[pixels.batch_index, slot]
