"""Batched z-buffer triangle rasteriser in pure, vectorised torch.

Algorithm (no Python loop over faces, pixels or images; the only loops walk over memory chunks,
so small scenes run as one fully batched pass):

1. Project the camera-frame vertices (``(B, V, 3)``) with :class:`PerspectiveCameras`.
2. Per ``(image, face)`` pair compute the screen-space bounding box of the pixel *centres*
   it may cover, and cull faces that are behind / crossing the near plane (no clipping:
   a face with any vertex at ``z < znear`` is dropped), degenerate (zero screen area),
   non-finite, outside the image, or back-facing when ``cull_backfaces`` is set.
3. Enumerate every candidate (face, pixel) pair inside the bounding boxes exactly
   (``repeat_interleave`` over the per-face pixel counts), in chunks of about
   ``max_candidates`` pairs (a chunk boundary never splits a face, so a chunk holds at most
   ~2 x ``max_candidates`` pairs or one face's clipped bounding box) so memory stays bounded
   however big the faces are; the per-face stage runs on groups of images holding about
   ``faces_per_chunk`` faces.
4. Evaluate the three edge functions and the screen-affine ``1/z`` per candidate from
   per-face plane coefficients, keep the pixels inside the triangle (edges inclusive),
   and resolve visibility with ``scatter_reduce(amin)`` over a packed int64 key per pixel:
   the IEEE bits of the float32 depth in the high bits (monotonic for positive floats),
   the face index in the low bits (ties go to the lower face index).
5. For the winning (pixel, face) pairs only, recompute perspective-correct barycentrics and
   depth from the vertices *with autograd*, so they are differentiable w.r.t. vertex positions
   (visibility/coverage itself is discrete and carries no gradient).

Conventions: pixel ``(i, j)`` is sampled at its centre ``(j + 0.5, i + 0.5)``.  Background
pixels have ``face_index == -1``, ``bary == 0`` and ``depth == 0``.  :class:`Fragments` keeps
the covered pixels sparse (what shading needs) and builds dense views on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

from model.render.cameras import PerspectiveCameras


@dataclass(frozen=True)
class RasterSettings:
    """Options of :func:`rasterize`.

    Attributes:
        cull_backfaces: drop faces whose geometric normal ``(v1 - v0) x (v2 - v0)`` points away
            from the camera (counter-clockwise winding seen from outside = front).  Default
            ``False``: both sides are rendered.
        znear: faces with any vertex at camera depth ``z < znear`` are culled (no clipping).
        max_candidates: target number of (face, pixel) candidate pairs processed at once
            (chunks never split a face: a face bigger than this is processed alone, bounded by the
            image size).
        faces_per_chunk: images are processed in groups of about ``faces_per_chunk / F`` for the
            per-face stage (memory and cache locality; at least one image per group).
    """

    cull_backfaces: bool = False
    znear: float = 1e-3
    max_candidates: int = 1 << 17
    faces_per_chunk: int = 1 << 17


@dataclass(frozen=True)
class ForegroundPixels:
    """The covered pixels of a batch of ``B`` images of size ``H x W`` (``P`` of them).

    Attributes:
        flat_index: ``(P,)`` long, increasing index into the flattened ``B * H * W`` pixel grid.
        batch_index: ``(P,)`` long, image of each covered pixel (non-decreasing).
        face_index: ``(P,)`` long, visible face (index into ``faces``).
        bary: ``(P, 3)`` perspective-correct barycentrics (differentiable w.r.t. vertices).
        depth: ``(P,)`` camera-frame ``z`` of the visible surface (differentiable).
    """

    flat_index: Tensor
    batch_index: Tensor
    face_index: Tensor
    bary: Tensor
    depth: Tensor


@dataclass(frozen=True)
class Fragments:
    """Rasterisation result: sparse covered pixels plus the dense face-index map.

    Attributes:
        face_index: ``(B, H, W)`` long, visible face or ``-1`` for background.
        pixels: :class:`ForegroundPixels`, the covered pixels (what shading consumes).

    Dense views (built on first access): :attr:`bary` ``(B, H, W, 3)`` and :attr:`depth`
    ``(B, H, W)``, both ``0`` for background.
    """

    face_index: Tensor
    pixels: ForegroundPixels

    @classmethod
    def from_dense(cls, face_index: Tensor, bary: Tensor, depth: Tensor) -> Fragments:
        """Build from dense ``(B, H, W)`` face index, ``(B, H, W, 3)`` bary and ``(B, H, W)`` depth."""
        b, h, w = face_index.shape
        flat_faces = face_index.reshape(-1)
        flat_index = torch.nonzero(flat_faces >= 0, as_tuple=False).squeeze(1)
        pixels = ForegroundPixels(
            flat_index=flat_index,
            batch_index=torch.div(flat_index, h * w, rounding_mode="floor"),
            face_index=flat_faces[flat_index],
            bary=bary.reshape(-1, 3)[flat_index],
            depth=depth.reshape(-1)[flat_index],
        )
        return cls(face_index=face_index, pixels=pixels)

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.face_index.shape[1]), int(self.face_index.shape[2])

    @property
    def mask(self) -> Tensor:
        """``(B, H, W)`` bool coverage."""
        return self.face_index >= 0

    def foreground(self) -> ForegroundPixels:
        """The covered pixels."""
        return self.pixels

    def to_dense(self, values: Tensor) -> Tensor:
        """Scatter per-pixel values ``(P, *D)`` into a zero-filled ``(B, H, W, *D)`` tensor (autograd-safe)."""
        b, h, w = self.face_index.shape
        out = values.new_zeros((b * h * w, *values.shape[1:]))
        return out.index_copy(0, self.pixels.flat_index, values).reshape(b, h, w, *values.shape[1:])

    @cached_property
    def bary(self) -> Tensor:
        """``(B, H, W, 3)`` perspective-correct barycentrics, ``0`` for background."""
        return self.to_dense(self.pixels.bary)

    @cached_property
    def depth(self) -> Tensor:
        """``(B, H, W)`` camera-frame depth of the visible surface, ``0`` for background."""
        return self.to_dense(self.pixels.depth)


def _edge(ax: Tensor, ay: Tensor, bx: Tensor, by: Tensor, px: Tensor, py: Tensor) -> Tensor:
    """Edge function ``(b - a) x (p - a)``; positive when ``p`` is left of ``a -> b`` (y down)."""
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


def _candidate_keys(
    coef: Tensor,
    base_pix: Tensor,
    face_of: Tensor,
    nx: Tensor,
    counts: Tensor,
    width: int,
    face_bits: int,
    out: Tensor,
    max_candidates: int,
) -> None:
    """Enumerate the (face, pixel) candidates of ``M`` faces and z-buffer them into ``out``.

    Args:
        coef: ``(M, 12)`` per-face affine coefficients: ``[A(4), B(4), C(4)]`` so that
            ``(l0, l1, l2, 1/z) = A * dx + B * dy + C`` at bbox pixel offset ``(dx, dy)``.
        base_pix: ``(M,)`` flat pixel index (into ``B*H*W``) of the bbox's top-left pixel.
        face_of: ``(M,)`` face index written into the key's low bits.
        nx: ``(M,)`` bbox width in pixels; ``counts``: ``(M,)`` bbox pixel count (> 0).
        out: ``(B*H*W,)`` int64 z-buffer of packed keys, reduced in place with ``amin``.
    """
    device = coef.device
    cum = torch.cumsum(counts, 0)
    total = int(cum[-1])
    if total <= max_candidates:
        bounds = [0, counts.numel()]
    else:
        targets = torch.arange(max_candidates, total, max_candidates, device=device, dtype=cum.dtype)
        cuts = torch.searchsorted(cum, targets, right=False).tolist()
        bounds = sorted({0, counts.numel(), *[c for c in cuts if 0 < c < counts.numel()]})
    cum_excl = cum - counts
    for s, e in zip(bounds[:-1], bounds[1:]):
        c = counts[s:e]
        n = int(cum[e - 1] - cum_excl[s])
        local = torch.repeat_interleave(c, output_size=n)  # (N,) face within the chunk
        off = torch.arange(n, device=device) - (cum_excl[s:e] - cum_excl[s]).index_select(0, local)
        nxr = nx[s:e].index_select(0, local)
        dy = torch.div(off, nxr, rounding_mode="floor")
        dx = off - dy * nxr
        k = coef[s:e].index_select(0, local)  # (N, 12)
        dxf = dx.to(coef.dtype)[:, None]
        dyf = dy.to(coef.dtype)[:, None]
        vals = torch.addcmul(torch.addcmul(k[:, 8:12], k[:, 0:4], dxf), k[:, 4:8], dyf)  # (N, 4)
        inside = (vals[:, 0] >= 0) & (vals[:, 1] >= 0) & (vals[:, 2] >= 0) & (vals[:, 3] > 0)
        idx = torch.nonzero(inside, as_tuple=False).squeeze(1)
        if idx.numel() == 0:
            continue
        face_local = local.index_select(0, idx)
        pix = (base_pix[s:e].index_select(0, face_local)
               + dy.index_select(0, idx) * width + dx.index_select(0, idx))
        depth = torch.reciprocal(vals[:, 3].index_select(0, idx)).to(torch.float32)
        key = (depth.view(torch.int32).to(torch.int64) << face_bits) | face_of[s:e].index_select(0, face_local)
        out.scatter_reduce_(0, pix, key, reduce="amin", include_self=True)


def _visible_faces(
    uv: Tensor,
    depth: Tensor,
    verts_cam: Tensor,
    faces: Tensor,
    image_size: tuple[int, int],
    settings: RasterSettings,
) -> Tensor:
    """Discrete part: the visible face per pixel, ``(B*H*W,)`` long (``-1`` background).

    Images are processed in groups of about ``settings.faces_per_chunk / F`` (a memory / cache
    bound, not a per-image loop: small meshes go in one group).
    """
    h, w = image_size
    bsz, nv = uv.shape[:2]
    nf = faces.shape[0]
    device = uv.device
    cdtype = torch.float64 if uv.dtype == torch.float64 else torch.float32
    face_bits = max(1, int(nf - 1).bit_length())
    empty_key = torch.iinfo(torch.int64).max
    out = torch.full((bsz * h * w,), empty_key, dtype=torch.int64, device=device)

    # (3, B, V): x, y, z per vertex; faces flattened corner-interleaved for one gather per group.
    table = torch.stack([uv[..., 0], uv[..., 1], depth], dim=0).to(cdtype)
    corner_index = faces.reshape(-1)
    if settings.cull_backfaces:
        cam_table = verts_cam.permute(2, 0, 1).to(cdtype)  # (3, B, V)
    group = max(1, settings.faces_per_chunk // max(nf, 1))
    big = float(max(h, w) + 2)
    for b0 in range(0, bsz, group):
        b1 = min(bsz, b0 + group)
        nb = b1 - b0
        g = table[:, b0:b1].reshape(3 * nb, nv).index_select(1, corner_index).view(3, nb, nf, 3)
        x, y, z = g[0], g[1], g[2]  # (nb, F, 3)
        x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
        y0, y1, y2 = y[..., 0], y[..., 1], y[..., 2]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)  # signed, twice the screen area
        zmin = torch.minimum(torch.minimum(z[..., 0], z[..., 1]), z[..., 2])
        xmin = torch.minimum(torch.minimum(x0, x1), x2).clamp_(-big, big)
        xmax = torch.maximum(torch.maximum(x0, x1), x2).clamp_(-big, big)
        ymin = torch.minimum(torch.minimum(y0, y1), y2).clamp_(-big, big)
        ymax = torch.maximum(torch.maximum(y0, y1), y2).clamp_(-big, big)
        # Pixel-centre bounding box: columns j with j + 0.5 in [xmin, xmax], likewise rows.
        j0 = torch.ceil(xmin - 0.5).clamp_(min=0)
        i0 = torch.ceil(ymin - 0.5).clamp_(min=0)
        nx = (torch.floor(xmax - 0.5).clamp_(max=w - 1) - j0 + 1).clamp_(min=0)
        ny = (torch.floor(ymax - 0.5).clamp_(max=h - 1) - i0 + 1).clamp_(min=0)
        valid = (zmin >= settings.znear) & (area.abs() > 1e-10) & torch.isfinite(area)
        if settings.cull_backfaces:
            cg = cam_table[:, b0:b1].reshape(3 * nb, nv).index_select(1, corner_index).view(3, nb, nf, 3)
            e1 = cg[..., 1] - cg[..., 0]
            e2 = cg[..., 2] - cg[..., 0]
            normal = torch.cross(e1, e2, dim=0)  # (3, nb, F)
            valid &= (normal * cg[..., 0]).sum(0) < 0
        counts = nx * ny * valid.to(cdtype)  # NaN/inf coordinates give NaN or 0 -> not > 0
        active = torch.nonzero(counts.reshape(-1) > 0, as_tuple=False).squeeze(1)  # (M,)
        if active.numel() == 0:
            continue

        # Per active face: coefficients of (l0, l1, l2, 1/z) as affine functions of the pixel
        # offset (dx, dy) from the centre of the bbox's top-left pixel (small offsets keep the
        # float32 cancellation negligible).  l0 uses edge (p1, p2), l1 (p2, p0), l2 (p0, p1).
        ga = g.reshape(3, nb * nf, 3).index_select(1, active)  # (3, M, 3)
        ax, bx, qx = ga[0].unbind(-1)
        ay, by, qy = ga[1].unbind(-1)
        inv_z = torch.reciprocal(ga[2])  # (M, 3)
        ox = j0.reshape(-1).index_select(0, active) + 0.5
        oy = i0.reshape(-1).index_select(0, active) + 0.5
        inv_area = torch.reciprocal(area.reshape(-1).index_select(0, active))
        coef = torch.empty(active.numel(), 12, dtype=cdtype, device=device)  # (M, 12)
        a_cols = (by - qy, qy - ay, ay - by)  # d l_i / dx * area
        b_cols = (qx - bx, ax - qx, bx - ax)  # d l_i / dy * area
        c_cols = (_edge(bx, by, qx, qy, ox, oy), _edge(qx, qy, ax, ay, ox, oy), _edge(ax, ay, bx, by, ox, oy))
        for row, cols in enumerate((a_cols, b_cols, c_cols)):
            for i, col in enumerate(cols):
                torch.mul(col, inv_area, out=coef[:, 4 * row + i])
            torch.sum(coef[:, 4 * row : 4 * row + 3] * inv_z, dim=-1, out=coef[:, 4 * row + 3])
        b_local = torch.div(active, nf, rounding_mode="floor")
        face_of = active - b_local * nf
        base_pix = (
            (b_local + b0) * (h * w)
            + i0.reshape(-1).index_select(0, active).long() * w
            + j0.reshape(-1).index_select(0, active).long()
        )
        _candidate_keys(
            coef,
            base_pix,
            face_of,
            nx.reshape(-1).index_select(0, active).long(),
            counts.reshape(-1).index_select(0, active).long(),
            w,
            face_bits,
            out,
            settings.max_candidates,
        )

    face = out & ((1 << face_bits) - 1)
    return face.masked_fill_(out == empty_key, -1)


def rasterize(
    vertices: Tensor,
    faces: Tensor,
    cameras: PerspectiveCameras,
    settings: RasterSettings | None = None,
) -> Fragments:
    """Rasterise a batch of meshes sharing one topology.

    Args:
        vertices: ``(B, V, 3)`` camera-frame vertex positions (the camera's optional rigid
            transform is *not* applied here; :class:`MeshRenderer` does that).
        faces: ``(F, 3)`` long vertex indices shared by the batch.
        cameras: ``B`` cameras; ``cameras.image_size`` gives ``(H, W)``.
        settings: :class:`RasterSettings` (defaults if ``None``).

    Returns:
        :class:`Fragments` with ``(B, H, W)`` face index / depth and ``(B, H, W, 3)``
        perspective-correct barycentrics on the device of ``vertices``.
    """
    settings = settings or RasterSettings()
    if vertices.ndim != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices must be (B, V, 3), got {tuple(vertices.shape)}")
    if faces.ndim != 2 or faces.shape[-1] != 3:
        raise ValueError(f"faces must be (F, 3), got {tuple(faces.shape)}")
    if cameras.batch_size != vertices.shape[0]:
        raise ValueError(f"{cameras.batch_size} cameras for a batch of {vertices.shape[0]} meshes")
    faces = faces.to(device=vertices.device, dtype=torch.long)
    bsz, nv, _ = vertices.shape
    h, w = cameras.image_size

    proj = cameras.project(vertices)
    with torch.no_grad():
        face_flat = _visible_faces(
            proj.uv.detach(), proj.depth.detach(), vertices.detach(), faces, (h, w), settings
        )

    # Differentiable part, only for covered pixels.
    flat_index = torch.nonzero(face_flat >= 0, as_tuple=False).squeeze(1)
    face = face_flat[flat_index]
    batch = torch.div(flat_index, h * w, rounding_mode="floor")
    rem = flat_index - batch * (h * w)
    row = torch.div(rem, w, rounding_mode="floor")
    col = rem - row * w
    vidx = faces[face] + (batch * nv)[:, None]  # (P, 3) into B*V
    uv = proj.uv.reshape(-1, 2)[vidx]  # (P, 3, 2)
    z = proj.depth.reshape(-1)[vidx]  # (P, 3)
    px = (col.to(uv.dtype) + 0.5)[:, None]
    py = (row.to(uv.dtype) + 0.5)[:, None]
    xs, ys = uv[..., 0], uv[..., 1]
    xa, xb, xc = xs.unbind(-1)
    ya, yb, yc = ys.unbind(-1)
    w_edge = torch.stack(
        [
            _edge(xb[:, None], yb[:, None], xc[:, None], yc[:, None], px, py),
            _edge(xc[:, None], yc[:, None], xa[:, None], ya[:, None], px, py),
            _edge(xa[:, None], ya[:, None], xb[:, None], yb[:, None], px, py),
        ],
        dim=-1,
    ).squeeze(1)  # (P, 3) screen-space weights times twice the area
    persp = w_edge / z  # proportional to perspective-correct barycentrics (area cancels)
    denom = persp.sum(-1, keepdim=True)
    bary_p = persp / denom
    depth_p = (w_edge.sum(-1, keepdim=True) / denom).squeeze(-1)

    return Fragments(
        face_index=face_flat.reshape(bsz, h, w),
        pixels=ForegroundPixels(
            flat_index=flat_index, batch_index=batch, face_index=face, bary=bary_p, depth=depth_p
        ),
    )
