"""Differentiable mesh rendering for RSC-Net: synthetic training images with exact 3D ground
truth, and gradients to the UV texture for the texture network.

Conventions (see the module docstrings for details):

* camera frame OpenCV-style: x right, y down, z forward; ``u = fx X/Z + cx``, pixel ``(i, j)``
  centred at ``(j + 0.5, i + 0.5)`` (:mod:`model.render.cameras`);
* UV ``v = 0`` is the bottom row of the texture image (OBJ convention), texture tensors are
  stored top row first (:mod:`model.render.texturing`, :mod:`model.render.export`);
* both sides of faces are rendered by default; background depth is 0 and face index -1.

Public API::

    from model.render import PerspectiveCameras, Lights, make_renderer
    renderer = make_renderer("auto", ssaa=2)
    out = renderer.render(vertices, faces, cameras, texture=tex, face_uvs=face_uvs, lights=lights)
    out.image, out.mask, out.depth, out.face_index, out.part_map, out.normals
"""

from __future__ import annotations

from model.render.backends import PyTorch3DRenderer, make_renderer, pytorch3d_available
from model.render.cameras import PerspectiveCameras, Projection
from model.render.export import export_glb, export_obj_zip, split_uv_seams, texture_to_image
from model.render.rasterizer import ForegroundPixels, Fragments, RasterSettings, rasterize
from model.render.renderer import MeshRenderer, RenderOutput
from model.render.shading import Lights, face_normals, vertex_normals

__all__ = [
    "ForegroundPixels",
    "Fragments",
    "Lights",
    "MeshRenderer",
    "PerspectiveCameras",
    "Projection",
    "PyTorch3DRenderer",
    "RasterSettings",
    "RenderOutput",
    "export_glb",
    "export_obj_zip",
    "face_normals",
    "make_renderer",
    "pytorch3d_available",
    "rasterize",
    "split_uv_seams",
    "texture_to_image",
    "vertex_normals",
]
