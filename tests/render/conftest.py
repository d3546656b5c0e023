"""Small scenes shared by the renderer tests (exposed as fixtures returning factories)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from model.render.cameras import PerspectiveCameras

QuadFactory = Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def make_quad(
    half: float = 1.0, depth: float = 4.0, dtype: torch.dtype = torch.float32, front: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A square of side ``2 * half`` at camera depth ``depth``, centred on the optical axis.

    Vertex order: top-left, bottom-left, bottom-right, top-right in the image (y down).  Returns
    ``vertices (1, 4, 3)``, ``faces (2, 3)`` (front-facing = normal towards the camera when
    ``front``) and ``face_uvs (2, 3, 2)`` mapping the texture upright onto the image
    (top-left vertex -> ``(u, v) = (0, 1)``, the texture's top-left corner).
    """
    verts = torch.tensor(
        [[-half, -half, depth], [-half, half, depth], [half, half, depth], [half, -half, depth]], dtype=dtype
    )[None]
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]]) if front else torch.tensor([[0, 2, 1], [0, 3, 2]])
    vert_uv = torch.tensor([[0.0, 1.0], [0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], dtype=dtype)
    return verts, faces, vert_uv[faces]


def make_camera(
    size: int | tuple[int, int], focal: float, batch: int = 1, dtype: torch.dtype = torch.float32
) -> PerspectiveCameras:
    """Centred pinhole cameras for ``size`` (int = square) images."""
    hw = (size, size) if isinstance(size, int) else size
    return PerspectiveCameras.from_focal(batch, hw, focal, dtype=dtype)


@pytest.fixture
def quad() -> QuadFactory:
    return make_quad


@pytest.fixture
def camera() -> Callable[..., PerspectiveCameras]:
    return make_camera
