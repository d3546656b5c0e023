"""Mesh export: GLB and OBJ zip round-trips through trimesh keep UVs, texture and convention."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import torch
import trimesh
from PIL import Image

from model.render.export import export_glb, export_obj_zip, split_uv_seams, texture_to_image


def _cube_with_seams() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A unit cube (8 vertices) whose 6 faces each map to their own UV rectangle (seams everywhere)."""
    box = trimesh.creation.box()
    verts = np.asarray(box.vertices)
    faces = np.asarray(box.faces)
    rng = np.random.default_rng(0)
    face_uvs = np.zeros((len(faces), 3, 2))
    for i in range(len(faces)):
        face_uvs[i] = rng.uniform(0.05, 0.95, size=(3, 2))
    image = rng.integers(0, 256, size=(12, 20, 3), dtype=np.uint8)
    return verts, faces, face_uvs, image


def _corner_uvs(mesh: trimesh.Trimesh) -> np.ndarray:
    return np.asarray(mesh.visual.uv)[np.asarray(mesh.faces)]


def test_split_uv_seams() -> None:
    verts, faces, face_uvs, _ = _cube_with_seams()
    split = split_uv_seams(verts, faces, face_uvs)
    pairs = np.concatenate([faces.reshape(-1, 1), face_uvs.reshape(-1, 2)], 1)
    assert len(split.vertices) == len(np.unique(pairs, axis=0))
    # Consistent UVs on shared vertices: no duplication; one differing corner: one extra vertex.
    quad_faces = np.array([[0, 1, 2], [0, 2, 3]])
    quad_uv = np.array([[0.0, 1.0], [0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])[quad_faces]
    quad_verts = np.zeros((4, 3))
    assert len(split_uv_seams(quad_verts, quad_faces, quad_uv).vertices) == 4
    quad_uv[1, 0] = [0.5, 0.5]
    assert len(split_uv_seams(quad_verts, quad_faces, quad_uv).vertices) == 5
    assert np.allclose(split.uvs[split.faces], face_uvs)
    assert np.allclose(split.vertices[split.faces], verts[faces])
    assert np.array_equal(split.source_vertex[split.faces], faces)


def test_glb_roundtrip_uvs_texture_and_raw_convention() -> None:
    verts, faces, face_uvs, image = _cube_with_seams()
    data = export_glb(torch.as_tensor(verts), torch.as_tensor(faces), torch.as_tensor(face_uvs), image)
    assert data[:4] == b"glTF"
    scene = trimesh.load(io.BytesIO(data), file_type="glb", process=False)
    (mesh,) = scene.geometry.values()
    assert len(mesh.faces) == len(faces)
    assert np.allclose(_corner_uvs(mesh), face_uvs, atol=1e-6)  # trimesh undoes glTF's v flip
    assert np.allclose(np.asarray(mesh.vertices)[mesh.faces], verts[faces], atol=1e-6)
    tex = np.asarray(mesh.visual.material.baseColorTexture.convert("RGB"))
    assert tex.shape == image.shape and np.array_equal(tex, image)

    # Raw glTF: TEXCOORD_0 stores 1 - v (top-left origin) and the material is plain white.
    json_len = struct.unpack("<I", data[12:16])[0]
    gltf = json.loads(data[20 : 20 + json_len])
    bin_start = 20 + json_len + 8
    prim = gltf["meshes"][0]["primitives"][0]
    acc = gltf["accessors"][prim["attributes"]["TEXCOORD_0"]]
    view = gltf["bufferViews"][acc["bufferView"]]
    offset = bin_start + view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    raw_uv = np.frombuffer(data, dtype=np.float32, count=acc["count"] * 2, offset=offset).reshape(-1, 2)
    split = split_uv_seams(verts, faces, face_uvs)
    assert np.allclose(np.sort(raw_uv[:, 0]), np.sort(split.uvs[:, 0]), atol=1e-6)
    assert np.allclose(np.sort(raw_uv[:, 1]), np.sort(1.0 - split.uvs[:, 1]), atol=1e-6)
    pbr = gltf["materials"][0]["pbrMetallicRoughness"]
    assert pbr["baseColorFactor"] == [1.0, 1.0, 1.0, 1.0] and pbr.get("metallicFactor") == 0.0


def test_obj_zip_contents_and_roundtrip(tmp_path: Path) -> None:
    verts, faces, face_uvs, image = _cube_with_seams()
    data = export_obj_zip(verts, faces, face_uvs, image)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["material.mtl", "mesh.obj", "texture.png"]
        mtl = zf.read("material.mtl").decode()
        obj = zf.read("mesh.obj").decode()
        png = np.asarray(Image.open(io.BytesIO(zf.read("texture.png"))).convert("RGB"))
        zf.extractall(tmp_path)
    lines = mtl.splitlines()
    assert "Kd 1 1 1" in lines and "map_Kd texture.png" in lines
    assert "mtllib material.mtl" in obj and "usemtl material0" in obj
    assert sum(1 for line in obj.splitlines() if line.startswith("v ")) == len(verts)  # no splitting in OBJ
    assert np.array_equal(png, image)

    mesh = trimesh.load(tmp_path / "mesh.obj", process=False)
    assert len(mesh.faces) == len(faces)
    assert np.allclose(_corner_uvs(mesh), face_uvs, atol=1e-6)
    assert np.allclose(np.asarray(mesh.vertices)[mesh.faces], verts[faces], atol=1e-6)
    material = mesh.visual.material
    assert np.array_equal(np.asarray(material.diffuse)[:3], [255, 255, 255])
    tex = np.asarray(material.image.convert("RGB"))
    assert tex.shape == image.shape
    for r, c in [(0, 0), (11, 19), (5, 7), (11, 0)]:
        assert np.array_equal(tex[r, c], image[r, c])


def test_texture_to_image_keeps_row_order() -> None:
    tex = torch.zeros(3, 4, 2)
    tex[0, 0, :] = 1.0  # top row red
    img = texture_to_image(tex)
    assert img.shape == (4, 2, 3) and img.dtype == np.uint8
    assert img[0, 0].tolist() == [255, 0, 0] and img[3, 0].tolist() == [0, 0, 0]


def test_renderer_and_reloaded_export_agree_on_uv_orientation(tmp_path: Path) -> None:
    """Sampling our texture at (u, v) gives the colour trimesh finds at (u, v) in the exported files."""
    rng = np.random.default_rng(1)
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    quadrant = rng.integers(0, 256, size=(2, 2, 3), dtype=np.uint8)
    for r in range(2):
        for c in range(2):
            image[4 * r : 4 * r + 4, 4 * c : 4 * c + 4] = quadrant[r, c]
    verts = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    faces = np.array([[0, 1, 2]])
    face_uvs = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    with zipfile.ZipFile(io.BytesIO(export_obj_zip(verts, faces, face_uvs, image))) as zf:
        zf.extractall(tmp_path)
    obj_image = trimesh.load(tmp_path / "mesh.obj", process=False).visual.material.image
    glb = export_glb(verts, faces, face_uvs, image)
    (glb_mesh,) = trimesh.load(io.BytesIO(glb), file_type="glb").geometry.values()
    glb_image = glb_mesh.visual.material.baseColorTexture

    from model.render.texturing import uv_to_grid

    probe = np.array([[0.2, 0.8], [0.8, 0.8], [0.2, 0.2], [0.8, 0.2]])
    texture = torch.as_tensor(image).permute(2, 0, 1)[None].double()
    grid = uv_to_grid(torch.as_tensor(probe))[None, None]
    ours = torch.nn.functional.grid_sample(texture, grid, align_corners=False)[0, :, 0].T.round().byte().numpy()
    for img in (obj_image, glb_image):
        theirs = trimesh.visual.color.uv_to_color(probe, img)[:, :3]
        assert np.array_equal(ours, theirs)
    # v = 0.8 is near the top: the top-left quadrant of the image.
    assert np.array_equal(ours[0], quadrant[0, 0])
