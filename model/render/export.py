"""Textured mesh export: binary glTF (``.glb``) and a zipped OBJ + MTL + PNG.

UV convention (identical to the renderer, :mod:`model.render.texturing`): ``u, v in [0, 1]``,
``v = 0`` is the *bottom* row of the texture image; the texture image is stored top row first
(``(H, W, 3)`` uint8, like any image / the renderer's ``(C, H, W)`` texture tensor).

* OBJ: ``vt`` uses the same convention, so UVs are written unchanged and the PNG is the texture
  as is.  Faces index positions and UVs separately (``f v/vt``), so seams need no splitting.
* glTF puts the UV origin at the top-left; the mesh goes through trimesh, whose internal UVs use
  the OBJ convention and which writes ``1 - v`` into ``TEXCOORD_0``.  glTF has one index per
  corner, so vertices are split at UV seams first (one vertex per unique (position, uv) pair).

Materials are plain white diffuse: OBJ ``Kd 1 1 1`` + ``map_Kd texture.png`` (written by hand,
not trimesh's grey default); glTF ``baseColorFactor = 1``, ``metallic 0``, ``roughness 1``,
double sided (the renderer's default is two-sided too).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np
import torch
import trimesh
from PIL import Image

ArrayLike = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class SeamSplitMesh:
    """A mesh with one UV per vertex.

    Attributes:
        vertices: ``(V', 3)`` float64 positions (original vertices duplicated at seams).
        faces: ``(F, 3)`` int64 indices into ``vertices``.
        uvs: ``(V', 2)`` float64 UVs (``v = 0`` bottom).
        source_vertex: ``(V',)`` int64 original vertex of each new vertex.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    source_vertex: np.ndarray


def _numpy(x: ArrayLike, dtype: type | np.dtype) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _check(vertices: np.ndarray, faces: np.ndarray, face_uvs: np.ndarray) -> None:
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be (V, 3), got {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be (F, 3), got {faces.shape}")
    if face_uvs.shape != (faces.shape[0], 3, 2):
        raise ValueError(f"face_uvs must be (F, 3, 2) = {(faces.shape[0], 3, 2)}, got {face_uvs.shape}")


def texture_to_image(texture: ArrayLike) -> np.ndarray:
    """Renderer texture ``(3, H, W)`` float in ``[0, 1]`` -> ``(H, W, 3)`` uint8 image (no flip)."""
    tex = _numpy(texture, np.float64)
    if tex.ndim != 3 or tex.shape[0] not in (3, 4):
        raise ValueError(f"texture must be (3, H, W), got {tex.shape}")
    return np.round(np.clip(tex[:3].transpose(1, 2, 0), 0.0, 1.0) * 255.0).astype(np.uint8)


def _image(texture_image: ArrayLike) -> Image.Image:
    img = _numpy(texture_image, np.uint8) if not isinstance(texture_image, np.ndarray) else texture_image
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"texture_image must be (H, W, 3) uint8, got {img.shape} {img.dtype}")
    return Image.fromarray(np.ascontiguousarray(img))


def split_uv_seams(vertices: ArrayLike, faces: ArrayLike, face_uvs: ArrayLike) -> SeamSplitMesh:
    """Duplicate vertices so that each (vertex, uv) pair is one vertex.

    Args:
        vertices: ``(V, 3)``; faces: ``(F, 3)``; face_uvs: ``(F, 3, 2)`` per-corner UVs.
    """
    v = _numpy(vertices, np.float64)
    f = _numpy(faces, np.int64)
    uv = _numpy(face_uvs, np.float64)
    _check(v, f, uv)
    corners = np.concatenate([f.reshape(-1, 1).astype(np.float64), uv.reshape(-1, 2)], axis=1)  # (3F, 3)
    unique, inverse = np.unique(corners, axis=0, return_inverse=True)
    source = unique[:, 0].astype(np.int64)
    return SeamSplitMesh(
        vertices=v[source],
        faces=inverse.reshape(-1, 3).astype(np.int64),
        uvs=unique[:, 1:],
        source_vertex=source,
    )


def export_glb(
    vertices: ArrayLike, faces: ArrayLike, face_uvs: ArrayLike, texture_image: ArrayLike
) -> bytes:
    """Binary glTF with the texture embedded as PNG.

    Args:
        vertices: ``(V, 3)`` positions (any frame; exported as given).
        faces: ``(F, 3)`` vertex indices.
        face_uvs: ``(F, 3, 2)`` per-corner UVs, ``v = 0`` at the texture's bottom row.
        texture_image: ``(H, W, 3)`` uint8, top row first.

    Returns:
        The ``.glb`` file content.
    """
    mesh = split_uv_seams(vertices, faces, face_uvs)
    material = trimesh.visual.material.PBRMaterial(
        name="material0",
        baseColorTexture=_image(texture_image),
        baseColorFactor=[255, 255, 255, 255],
        metallicFactor=0.0,
        roughnessFactor=1.0,
        doubleSided=True,
    )
    tm = trimesh.Trimesh(
        vertices=mesh.vertices,
        faces=mesh.faces,
        visual=trimesh.visual.TextureVisuals(uv=mesh.uvs, material=material),
        process=False,
    )
    data = tm.export(file_type="glb")
    return bytes(data)


def _obj_text(v: np.ndarray, f: np.ndarray, uv: np.ndarray, digits: int) -> str:
    corners_uv = uv.reshape(-1, 2)
    unique_uv, uv_index = np.unique(corners_uv, axis=0, return_inverse=True)
    uv_index = uv_index.reshape(-1, 3) + 1
    out = io.StringIO()
    out.write("# rscnet textured mesh; vt v = 0 is the bottom row of texture.png\n")
    out.write("mtllib material.mtl\no mesh\n")
    np.savetxt(out, v, fmt=f"v %.{digits}f %.{digits}f %.{digits}f")
    np.savetxt(out, unique_uv, fmt=f"vt %.{digits}f %.{digits}f")
    out.write("usemtl material0\n")
    idx = np.stack([f + 1, uv_index], axis=-1).reshape(-1, 6)  # v1 t1 v2 t2 v3 t3
    np.savetxt(out, idx, fmt="f %d/%d %d/%d %d/%d")
    return out.getvalue()


MTL_TEXT = (
    "# rscnet material: white diffuse modulated by the texture\n"
    "newmtl material0\n"
    "Ka 1 1 1\n"
    "Kd 1 1 1\n"
    "Ks 0 0 0\n"
    "Ns 1\n"
    "d 1\n"
    "illum 1\n"
    "map_Kd texture.png\n"
)


def export_obj_zip(
    vertices: ArrayLike,
    faces: ArrayLike,
    face_uvs: ArrayLike,
    texture_image: ArrayLike,
    digits: int = 6,
) -> bytes:
    """Zip archive with ``mesh.obj``, ``material.mtl`` (``Kd 1 1 1``, ``map_Kd texture.png``) and
    ``texture.png``.

    Args:
        vertices: ``(V, 3)``; faces: ``(F, 3)``; face_uvs: ``(F, 3, 2)`` (``v = 0`` bottom);
        texture_image: ``(H, W, 3)`` uint8, top row first; digits: decimals in the OBJ.

    Returns:
        The ``.zip`` file content.
    """
    v = _numpy(vertices, np.float64)
    f = _numpy(faces, np.int64)
    uv = _numpy(face_uvs, np.float64)
    _check(v, f, uv)
    png = io.BytesIO()
    _image(texture_image).save(png, format="PNG")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mesh.obj", _obj_text(v, f, uv, digits))
        zf.writestr("material.mtl", MTL_TEXT)
        zf.writestr("texture.png", png.getvalue())
    return buf.getvalue()
