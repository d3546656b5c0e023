"""Mesh renderer: rasterise, texture / colour, Lambert-shade and composite.

:class:`MeshRenderer` is the pure-torch backend (``name == "torch"``); other backends (see
:mod:`model.render.backends`) subclass it and only replace :meth:`MeshRenderer.rasterize`, so
shading, texturing, compositing and every output convention are shared.

Conventions:

* vertices are camera-frame (OpenCV: x right, y down, z forward) unless the cameras carry a
  rigid transform (``X_cam = R X + t``, see :mod:`model.render.cameras`);
* both sides of every face are rendered unless ``RasterSettings(cull_backfaces=True)``;
* background pixels: ``image`` = ``background`` (or 0), ``mask`` = 0, ``depth`` = 0,
  ``face_index`` = ``part_map`` = -1, ``normals`` = 0;
* UV ``v = 0`` is the bottom row of the texture (see :mod:`model.render.texturing`);
* with ``ssaa = k > 1`` the image is rendered at ``k x`` resolution on a regular sub-pixel grid
  and average-pooled: ``image`` and ``mask`` are anti-aliased (the shaded foreground is pooled
  premultiplied and composited over the background at output resolution), while ``depth``,
  ``face_index``, ``part_map`` and ``normals`` are taken from the sub-sample nearest to each pixel
  centre (sub-sample ``(k // 2, k // 2)``, the exact centre for odd ``k``).

Gradients: ``image`` is differentiable w.r.t. texture, vertex colours, lights, background and,
inside covered pixels, vertex positions (through perspective-correct barycentrics and normals).
Coverage (silhouette edges) is discrete and has no gradient w.r.t. vertex positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from model.render.cameras import PerspectiveCameras
from model.render.rasterizer import ForegroundPixels, Fragments, RasterSettings, rasterize
from model.render.shading import Lights, lambert, pixel_normals
from model.render.texturing import interpolate_vertex_attribute, sample_texture


@dataclass(frozen=True)
class RenderOutput:
    """What :meth:`MeshRenderer.render` returns (``H, W`` = ``cameras.image_size``).

    Attributes:
        image: ``(B, C, H, W)`` shaded image composited over the background (0 if none).
        mask: ``(B, 1, H, W)`` float silhouette in ``[0, 1]`` (fractional coverage with ssaa).
        depth: ``(B, H, W)`` camera-frame z of the visible surface, 0 for background.
        face_index: ``(B, H, W)`` long visible face, -1 for background.
        part_map: ``(B, H, W)`` long ``face_labels`` of the visible face, -1 for background;
            ``None`` when no ``face_labels`` were given.
        normals: ``(B, 3, H, W)`` camera-frame unit shading normals (facing the camera on back
            faces), 0 for background; ``None`` unless requested.
        fragments: the raw :class:`Fragments` at the supersampled resolution.
    """

    image: Tensor
    mask: Tensor
    depth: Tensor
    face_index: Tensor
    part_map: Tensor | None
    normals: Tensor | None
    fragments: Fragments


def _centre_sample(x: Tensor, k: int, channels_first: bool = False) -> Tensor:
    """Sub-sample ``(k//2, k//2)`` of every ``k x k`` block of ``(B, kH, kW)`` or ``(B, C, kH, kW)``."""
    if k == 1:
        return x
    if channels_first:
        return x[:, :, k // 2 :: k, k // 2 :: k].contiguous()
    return x[:, k // 2 :: k, k // 2 :: k].contiguous()


def _to_image(values: Tensor, pixels: ForegroundPixels, bsz: int, h: int, w: int) -> Tensor:
    """Scatter per-pixel values ``(P, C)`` into a zero ``(B, C, H, W)`` image (autograd-safe)."""
    chans = values.shape[1]
    hw = h * w
    within = pixels.flat_index - pixels.batch_index * hw  # (P,) pixel index inside its image
    base = pixels.batch_index * (chans * hw) + within  # (P,) offset of channel 0
    index = base[:, None] + torch.arange(chans, device=values.device) * hw  # (P, C)
    out = values.new_zeros(bsz * chans * hw)
    return out.index_copy(0, index.reshape(-1), values.reshape(-1)).reshape(bsz, chans, h, w)


class MeshRenderer:
    """Pure-torch differentiable mesh renderer (runs on CPU or CUDA, device follows the inputs).

    Args:
        ssaa: supersampling factor ``k`` (render at ``k x`` and average-pool); 1 disables it.
        raster_settings: :class:`RasterSettings` (back-face culling, near plane, chunk size).
        lights: default lights used when :meth:`render` gets ``lights=None``; if both are ``None``
            the image is unlit (``image = albedo``).
        padding_mode: ``grid_sample`` padding for texture lookups (``"border"`` keeps the bilinear
            weights summing to one at the texture border).
        shading_gamma: display gamma of the albedo (:func:`~model.render.shading.lambert`): 1 (the
            default) shades the albedo as given; 2.2 shades in linear light as a camera records it.
    """

    name: str = "torch"

    def __init__(
        self,
        ssaa: int = 1,
        raster_settings: RasterSettings | None = None,
        lights: Lights | None = None,
        padding_mode: str = "border",
        shading_gamma: float = 1.0,
    ) -> None:
        if int(ssaa) < 1:
            raise ValueError(f"ssaa must be >= 1, got {ssaa}")
        if not shading_gamma > 0:
            raise ValueError(f"shading_gamma must be > 0, got {shading_gamma}")
        self.shading_gamma = float(shading_gamma)
        self.ssaa = int(ssaa)
        self.raster_settings = raster_settings or RasterSettings()
        self.lights = lights
        self.padding_mode = padding_mode

    def rasterize(self, vertices: Tensor, faces: Tensor, cameras: PerspectiveCameras) -> Fragments:
        """Rasterise camera-frame ``vertices`` ``(B, V, 3)`` -> :class:`Fragments` at ``cameras.image_size``."""
        return rasterize(vertices, faces, cameras, self.raster_settings)

    @torch.no_grad()
    def silhouette(self, vertices: Tensor, faces: Tensor, cameras: PerspectiveCameras) -> Tensor:
        """The meshes' silhouettes ``(B, 1, H, W)`` float in ``[0, 1]`` at ``cameras.image_size``.

        The same values as ``render(vertices, faces, cameras).mask`` (fractional coverage with
        ``ssaa > 1``), from rasterisation alone: no texturing, shading or gradient.

        Args:
            vertices: ``(B, V, 3)`` vertex positions (camera frame unless the cameras carry R, t).
            faces: ``(F, 3)`` long vertex indices.
            cameras: ``B`` cameras.
        """
        device = vertices.device
        cameras = cameras.to(device)
        k = self.ssaa
        frags = self.rasterize(
            cameras.world_to_camera(vertices), faces.to(device=device, dtype=torch.long), cameras.scaled(k) if k > 1 else cameras
        )
        mask = frags.mask.to(vertices.dtype)[:, None]
        return F.avg_pool2d(mask, k) if k > 1 else mask

    def render(
        self,
        vertices: Tensor,
        faces: Tensor,
        cameras: PerspectiveCameras,
        texture: Tensor | None = None,
        face_uvs: Tensor | None = None,
        vertex_colors: Tensor | None = None,
        lights: Lights | None = None,
        face_labels: Tensor | None = None,
        background: Tensor | None = None,
        return_normals: bool = False,
    ) -> RenderOutput:
        """Render a batch of meshes sharing one topology.

        Args:
            vertices: ``(B, V, 3)`` vertex positions (camera frame unless the cameras carry R, t).
            faces: ``(F, 3)`` long vertex indices; the front side is the one ``(v1 - v0) x (v2 - v0)``
                points to (counter-clockwise as seen in the image).
            cameras: ``B`` cameras; output size is ``cameras.image_size``.
            texture: ``(B, C, Ht, Wt)`` (or batch 1, broadcast) UV texture, row 0 = top; needs
                ``face_uvs``.
            face_uvs: ``(F, 3, 2)`` per-corner UVs, ``v = 0`` at the texture's bottom row.
            vertex_colors: ``(B, V, C)`` (or batch 1) per-vertex albedo (alternative to ``texture``).
            lights: Lambert lights (batch ``B`` or 1); ``None`` falls back to the renderer's default
                lights, and to an unlit render (``image = albedo``) when that is ``None`` too.
            face_labels: ``(F,)`` long part label per face -> ``part_map``.
            background: ``(B, C, H, W)`` (or broadcastable) image composited behind the mesh.
            return_normals: also return the ``(B, 3, H, W)`` shading normals.

        Without ``texture`` and ``vertex_colors`` the albedo is white with 3 channels.
        """
        if texture is not None and vertex_colors is not None:
            raise ValueError("give either texture or vertex_colors, not both")
        if texture is not None and face_uvs is None:
            raise ValueError("texture needs face_uvs (F, 3, 2)")
        device = vertices.device
        faces = faces.to(device=device, dtype=torch.long)
        k = self.ssaa
        h, w = cameras.image_size
        bsz = vertices.shape[0]
        cameras = cameras.to(device)
        verts_cam = cameras.world_to_camera(vertices)
        frags = self.rasterize(verts_cam, faces, cameras.scaled(k) if k > 1 else cameras)
        pixels = frags.foreground()
        hh, wh = h * k, w * k

        if texture is not None:
            assert face_uvs is not None
            texture = texture.expand(bsz, -1, -1, -1) if texture.shape[0] == 1 else texture
            albedo = sample_texture(texture, pixels, face_uvs.to(device), padding_mode=self.padding_mode)
        elif vertex_colors is not None:
            vertex_colors = vertex_colors.expand(bsz, -1, -1) if vertex_colors.shape[0] == 1 else vertex_colors
            albedo = interpolate_vertex_attribute(pixels, faces, vertex_colors)
        else:
            albedo = torch.ones(pixels.flat_index.shape[0], 3, dtype=vertices.dtype, device=device)

        lights = lights if lights is not None else self.lights
        normals_p = None
        if lights is not None or return_normals:
            normals_p = pixel_normals(
                pixels, verts_cam, faces, two_sided=not self.raster_settings.cull_backfaces
            )
        shaded = albedo if lights is None else lambert(
            albedo, normals_p, lights.to(device).expand(bsz), pixels.batch_index, self.shading_gamma
        )

        fg = _to_image(shaded, pixels, bsz, hh, wh)
        mask = frags.mask.to(shaded.dtype)[:, None]
        if k > 1:
            fg = F.avg_pool2d(fg, k)
            mask = F.avg_pool2d(mask, k)
        image = fg if background is None else fg + (1.0 - mask) * background.to(fg.dtype)

        face_index = _centre_sample(frags.face_index, k)
        part_map = None
        if face_labels is not None:
            labels = face_labels.to(device=device, dtype=torch.long)
            visible_labels = labels[face_index.clamp(min=0)]
            part_map = torch.where(face_index >= 0, visible_labels, torch.full_like(face_index, -1))
        normals = None
        if return_normals:
            assert normals_p is not None
            normals = _centre_sample(_to_image(normals_p, pixels, bsz, hh, wh), k, channels_first=True)
        return RenderOutput(
            image=image,
            mask=mask,
            depth=_centre_sample(frags.depth, k),
            face_index=face_index,
            part_map=part_map,
            normals=normals,
            fragments=frags,
        )
