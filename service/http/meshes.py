"""Textured-mesh outputs of ``/v1/texture``: GLB, zipped OBJ, or a rendered PNG view.

The mesh is the predicted body in the camera frame with the camera translation removed (the
root stays where the network put it relative to the camera, minus ``t``). Axes:

* GLB / OBJ use glTF's y-up axes: the camera frame (OpenCV: x right, y down, z forward) rotated
  180 degrees about x, i.e. ``(x, -y, -z)``: the person stands upright and faces the viewer of
  a default glTF scene like they faced the camera.
* PNG views are rendered with :class:`model.render.MeshRenderer`: the body turned by ``yaw``
  degrees about the vertical axis through its centre (``yaw = 0``: as the camera saw it; positive
  yaw is counter-clockwise seen from above and turns the person's front towards the image's
  right), framed to fill 90 % of a ``size x size`` image, Lambert-lit from the camera, on a
  transparent background (RGBA, straight alpha).

Until the texture network lands no texture model is loaded and :func:`default_texture` (a
flat light grey) is used; the service says so in its answers.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image

from model.render.cameras import PerspectiveCameras
from model.render.export import export_glb, export_obj_zip
from model.render.renderer import MeshRenderer
from model.render.shading import Lights

__all__ = [
    "DEFAULT_TEXTURE_NAME",
    "default_texture",
    "mesh_to_glb",
    "mesh_to_obj_zip",
    "render_view_png",
    "to_gltf_axes",
]

#: How the default texture is named in answers.
DEFAULT_TEXTURE_NAME = "flat-default"
_GREY = 184


def default_texture(size: int = 16) -> np.ndarray:
    """A flat light-grey ``(size, size, 3)`` uint8 texture (no texture model loaded)."""
    return np.full((size, size, 3), _GREY, dtype=np.uint8)


def to_gltf_axes(vertices: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """Camera-frame ``(V, 3)`` vertices minus ``translation`` ``(3,)``, as ``(x, -y, -z)`` (y up)."""
    v = np.asarray(vertices, dtype=np.float64) - np.asarray(translation, dtype=np.float64)[None]
    return v * np.array([1.0, -1.0, -1.0])


def mesh_to_glb(vertices: np.ndarray, faces: torch.Tensor, face_uvs: torch.Tensor, texture: np.ndarray) -> bytes:
    """``.glb`` bytes of ``(V, 3)`` vertices (already in output axes) with ``(H, W, 3)`` uint8 ``texture``."""
    return export_glb(vertices, faces.cpu(), face_uvs.cpu(), texture)


def mesh_to_obj_zip(vertices: np.ndarray, faces: torch.Tensor, face_uvs: torch.Tensor, texture: np.ndarray) -> bytes:
    """``.zip`` bytes with ``mesh.obj``, ``material.mtl`` and ``texture.png``."""
    return export_obj_zip(vertices, faces.cpu(), face_uvs.cpu(), texture)


def _yaw_matrix(yaw_deg: float) -> np.ndarray:
    """Rotation about the camera's vertical axis (``-y``, which points up)."""
    a = math.radians(yaw_deg)
    c, s = math.cos(a), math.sin(a)
    # Right-handed rotation by ``a`` about (0, -1, 0).
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def render_view_png(
    vertices: np.ndarray,
    translation: np.ndarray,
    faces: torch.Tensor,
    face_uvs: torch.Tensor,
    texture: np.ndarray,
    *,
    yaw_deg: float,
    size: int,
    ssaa: int = 2,
) -> bytes:
    """Render the textured body turned by ``yaw_deg`` as an RGBA PNG of ``size x size`` pixels.

    Args:
        vertices: ``(V, 3)`` camera-frame vertices; translation: ``(3,)`` camera translation.
        faces: ``(F, 3)``; face_uvs: ``(F, 3, 2)``; texture: ``(H, W, 3)`` uint8.
        yaw_deg: turn about the vertical axis through the body's centre, degrees.
        size: output side in pixels.
    """
    v = np.asarray(vertices, dtype=np.float64) - np.asarray(translation, dtype=np.float64)[None]
    centre = 0.5 * (v.min(axis=0) + v.max(axis=0))
    v = (v - centre) @ _yaw_matrix(yaw_deg).T
    half_extent = float(np.abs(v[:, :2]).max()) or 1.0
    depth = float(np.abs(v[:, 2]).max())
    focal = 2.5 * size
    # Fill 90 % of the image: the widest point at the nearest depth projects to 0.45 * size.
    z = focal * half_extent / (0.45 * size) + depth
    verts = torch.from_numpy(v + np.array([0.0, 0.0, z])).float()[None]
    cams = PerspectiveCameras.from_focal(1, (size, size), focal)
    tex = torch.from_numpy(np.ascontiguousarray(texture)).float().permute(2, 0, 1)[None] / 255.0
    renderer = MeshRenderer(ssaa=ssaa)
    with torch.inference_mode():
        out = renderer.render(
            verts,
            faces.cpu(),
            cams,
            texture=tex,
            face_uvs=face_uvs.cpu(),
            lights=Lights.create(1, ambient=0.45, diffuse=0.55),
        )
    mask = out.mask[0, 0].clamp(0, 1)
    colour = out.image[0] / mask.clamp(min=1e-6)  # the renderer's foreground is premultiplied by coverage
    rgb = (colour.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    alpha = (mask.numpy() * 255.0).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(buf, format="PNG")
    return buf.getvalue()
