"""Tests for model.geometry.camera."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model.geometry.camera import (
    crop_affine,
    crop_to_full,
    crop_translation_to_full,
    focal_for_size,
    full_to_crop,
    perspective_projection,
    square_crop_box,
    translation_to_weak_perspective,
    weak_perspective_to_translation,
)
from model.geometry.rotations import axis_angle_to_matrix

F64 = torch.float64


def test_focal_for_size() -> None:
    assert focal_for_size(224) == pytest.approx(5000.0)
    assert focal_for_size(448) == pytest.approx(10000.0)
    assert focal_for_size(56) == pytest.approx(1250.0)
    torch.testing.assert_close(focal_for_size(torch.tensor([112.0, 224.0])), torch.tensor([2500.0, 5000.0]))


def test_perspective_projection_hand_computed() -> None:
    points = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 2.0, 0.0], [0.5, -0.5, 1.0]]], dtype=F64)
    translation = torch.tensor([[0.0, 0.0, 10.0]], dtype=F64)
    principal = torch.tensor([[112.0, 112.0]], dtype=F64)
    expected = torch.tensor(
        [[[112.0, 112.0], [212.0, 312.0], [112.0 + 500.0 / 11.0, 112.0 - 500.0 / 11.0]]], dtype=F64
    )
    torch.testing.assert_close(perspective_projection(points, translation, 1000.0, principal), expected)
    # Per-sample focal (B,) and per-axis focal (B, 2).
    torch.testing.assert_close(perspective_projection(points, translation, torch.tensor([1000.0], dtype=F64), principal), expected)
    uv = perspective_projection(points, translation, torch.tensor([[1000.0, 500.0]], dtype=F64), principal)
    torch.testing.assert_close(uv[0, 1], torch.tensor([212.0, 212.0], dtype=F64))
    # No principal point: coordinates relative to it.
    torch.testing.assert_close(perspective_projection(points, translation, 1000.0), expected - 112.0)


def test_perspective_projection_rotation_and_opencv_axes() -> None:
    # Rotation by +90 deg about z maps +x to +y, i.e. downwards in the image.
    rotation = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, math.pi / 2]], dtype=F64))
    points = torch.tensor([[[1.0, 0.0, 0.0]]], dtype=F64)
    translation = torch.tensor([[0.0, 0.0, 5.0]], dtype=F64)
    uv = perspective_projection(points, translation, 100.0, rotation=rotation)
    torch.testing.assert_close(uv, torch.tensor([[[0.0, 20.0]]], dtype=F64))
    # Farther points project closer to the principal point (z forward).
    far = perspective_projection(torch.tensor([[[1.0, 1.0, 5.0]]], dtype=F64), translation, 100.0)
    torch.testing.assert_close(far, torch.tensor([[[10.0, 10.0]]], dtype=F64))


def test_perspective_projection_batch_dims_and_dtypes() -> None:
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, F64):
        points = torch.randn(2, 3, 7, 3, generator=g, dtype=dtype)
        translation = torch.tensor([0.1, -0.2, 20.0], dtype=dtype).expand(2, 3, 3)
        focal = torch.full((2, 3), 500.0, dtype=dtype)
        principal = torch.full((2, 3, 2), 64.0, dtype=dtype)
        uv = perspective_projection(points, translation, focal, principal)
        assert uv.shape == (2, 3, 7, 2) and uv.dtype == dtype
        flat = perspective_projection(points.reshape(6, 7, 3), translation.reshape(6, 3), 500.0, principal.reshape(6, 2))
        torch.testing.assert_close(uv.reshape(6, 7, 2), flat)


def test_weak_perspective_translation_inverses() -> None:
    cam = torch.tensor([[0.9, 0.1, -0.2], [1.3, -0.05, 0.3], [0.2, 0.0, 0.0]], dtype=F64)
    for focal in (5000.0, torch.tensor([5000.0, 2500.0, 1000.0], dtype=F64)):
        t = weak_perspective_to_translation(cam, focal, 224)
        torch.testing.assert_close(translation_to_weak_perspective(t, focal, 224), cam, atol=1e-12, rtol=1e-12)
        torch.testing.assert_close(weak_perspective_to_translation(translation_to_weak_perspective(t, focal, 224), focal, 224), t)
    t = weak_perspective_to_translation(cam, 5000.0, 224)
    torch.testing.assert_close(t[:, :2], cam[:, 1:])
    torch.testing.assert_close(t[:, 2], 2 * 5000.0 / (224 * cam[:, 0]))


def test_weak_perspective_matches_perspective_at_root_depth() -> None:
    # For points at Z = 0 the perspective crop camera equals the weak-perspective projection.
    crop = 224
    focal = focal_for_size(crop)
    cam = torch.tensor([[0.8, 0.1, -0.15]], dtype=F64)
    points = torch.tensor([[[0.3, -0.4, 0.0], [-0.2, 0.7, 0.0], [0.0, 0.0, 0.0]]], dtype=F64)
    weak = crop / 2 * (1 + cam[:, None, :1] * (points[..., :2] + cam[:, None, 1:]))
    principal = torch.full((1, 2), crop / 2, dtype=F64)
    persp = perspective_projection(points, weak_perspective_to_translation(cam, focal, crop), focal, principal)
    torch.testing.assert_close(persp, weak)


def test_crop_conventions_hand_computed() -> None:
    bbox = torch.tensor([[100.0, 50.0, 40.0, 80.0]], dtype=F64)  # centre (120, 90), side 80
    centre, side = square_crop_box(bbox)
    torch.testing.assert_close(centre, torch.tensor([[120.0, 90.0]], dtype=F64))
    torch.testing.assert_close(side, torch.tensor([80.0], dtype=F64))
    full = torch.tensor([[[80.0, 50.0], [160.0, 130.0], [120.0, 90.0], [100.0, 70.0]]], dtype=F64)
    crop = torch.tensor([[[0.0, 0.0], [224.0, 224.0], [112.0, 112.0], [56.0, 56.0]]], dtype=F64)
    torch.testing.assert_close(full_to_crop(full, bbox, 224), crop)
    torch.testing.assert_close(crop_to_full(crop, bbox, 224), full)
    # scale enlarges the square around the same centre: side 96.
    torch.testing.assert_close(full_to_crop(torch.tensor([[[72.0, 42.0]]], dtype=F64), bbox, 224, scale=1.2), torch.zeros(1, 1, 2, dtype=F64))


def test_crop_full_round_trip_and_affine() -> None:
    g = torch.Generator().manual_seed(1)
    bbox = torch.cat([torch.rand(4, 2, generator=g, dtype=F64) * 500, 20 + torch.rand(4, 2, generator=g, dtype=F64) * 300], dim=-1)
    points = torch.rand(4, 9, 2, generator=g, dtype=F64) * 800
    for scale in (1.0, 1.25):
        crop = full_to_crop(points, bbox, 64, scale)
        torch.testing.assert_close(crop_to_full(crop, bbox, 64, scale), points)
        torch.testing.assert_close(full_to_crop(crop_to_full(points, bbox, 64, scale), bbox, 64, scale), points)
        affine = crop_affine(bbox, 64, scale)
        assert affine.shape == (4, 2, 3)
        torch.testing.assert_close(points @ affine[:, :, :2].transpose(-1, -2) + affine[:, None, :, 2], crop)
        # OpenCV variant: integer pixel centres, u_cv = u - 1/2 in both images.
        affine_cv = crop_affine(bbox, 64, scale, cv2_pixel_centres=True)
        torch.testing.assert_close((points - 0.5) @ affine_cv[:, :, :2].transpose(-1, -2) + affine_cv[:, None, :, 2], crop - 0.5)


def test_crop_affine_with_cv2_warp_affine() -> None:
    cv2 = pytest.importorskip("cv2")
    height, width, crop = 120, 160, 32
    # A linear image: value = 3 * column + 2 * row (column/row index = pixel centre - 1/2).
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    image = (3.0 * cols + 2.0 * rows).astype(np.float32)
    bbox = torch.tensor([[50.0, 30.0, 44.0, 30.0]], dtype=F64)
    matrix = crop_affine(bbox, crop, cv2_pixel_centres=True)[0].numpy()
    warped = cv2.warpAffine(image, matrix, (crop, crop), flags=cv2.INTER_LINEAR)
    # Crop pixel centres mapped to the full image with crop_to_full.
    jj, ii = np.meshgrid(np.arange(crop) + 0.5, np.arange(crop) + 0.5)
    centres = torch.tensor(np.stack([jj, ii], axis=-1).reshape(1, -1, 2))
    full = crop_to_full(centres, bbox, crop)[0].numpy().reshape(crop, crop, 2) - 0.5
    expected = 3.0 * full[..., 0] + 2.0 * full[..., 1]
    np.testing.assert_allclose(warped, expected, atol=2e-2)


def _full_and_crop_projections(
    points: torch.Tensor, cam: torch.Tensor, bbox: torch.Tensor, image_size: torch.Tensor, focal_full: torch.Tensor, crop: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Full-image projection with the converted translation, the crop projection mapped back, and tz."""
    t_full = crop_translation_to_full(cam, bbox, image_size, focal_full)
    principal_full = 0.5 * image_size.flip(-1)
    full = perspective_projection(points, t_full, focal_full, principal_full)
    _, side = square_crop_box(bbox)
    focal_crop = focal_full * crop / side  # consistent focal scaling
    t_crop = weak_perspective_to_translation(cam, focal_crop, crop)
    crop_uv = perspective_projection(points, t_crop, focal_crop, torch.full_like(principal_full, crop / 2))
    torch.testing.assert_close(t_crop[:, 2], t_full[:, 2])
    return full, crop_to_full(crop_uv, bbox, crop), t_full[:, 2]


def test_crop_translation_to_full_equivalence() -> None:
    g = torch.Generator().manual_seed(2)
    crop = 224
    cam = torch.tensor([[0.9, 0.05, 0.2], [1.1, -0.1, -0.05], [0.7, 0.0, 0.1]], dtype=F64)
    bbox = torch.tensor([[600.0, 100.0, 150.0, 400.0], [20.0, 300.0, 220.0, 180.0], [500.0, 300.0, 280.0, 120.0]], dtype=F64)
    image_size = torch.tensor([[720.0, 1280.0], [720.0, 1280.0], [720.0, 1280.0]], dtype=F64)  # (H, W)
    centre, _ = square_crop_box(bbox)
    focal_full = torch.sqrt(image_size[:, 0] ** 2 + image_size[:, 1] ** 2)  # CLIFF's default focal

    # Points at the root depth (Z = 0): exact equivalence, also with the weak-perspective projection.
    flat = torch.cat([torch.randn(3, 20, 2, generator=g, dtype=F64) * 0.5, torch.zeros(3, 20, 1, dtype=F64)], dim=-1)
    full, crop_back, _ = _full_and_crop_projections(flat, cam, bbox, image_size, focal_full, crop)
    torch.testing.assert_close(full, crop_back, atol=1e-7, rtol=0)
    weak = crop / 2 * (1 + cam[:, None, :1] * (flat[..., :2] + cam[:, None, 1:]))
    torch.testing.assert_close(full, crop_to_full(weak, bbox, crop), atol=1e-7, rtol=0)

    # Points at depth: the difference is exactly -(c - o) Z / (Z + tz), as documented.
    deep = torch.randn(3, 20, 3, generator=g, dtype=F64) * 0.4
    full, crop_back, tz = _full_and_crop_projections(deep, cam, bbox, image_size, focal_full, crop)
    z = deep[..., 2:]
    offset = (centre - 0.5 * image_size.flip(-1))[:, None, :]
    predicted = -offset * z / (z + tz[:, None, None])
    torch.testing.assert_close(full - crop_back, predicted, atol=1e-7, rtol=0)
    # ... which is small compared to the box for a body-sized depth range.
    assert (full - crop_back).abs().max() < 0.1 * bbox[:, 2:].max()

    # A box centred on the image centre is exact at every depth.
    centred = torch.tensor([[640.0 - 100.0, 360.0 - 150.0, 200.0, 300.0]], dtype=F64).expand(3, 4)
    full, crop_back, _ = _full_and_crop_projections(deep, cam, centred, image_size, focal_full, crop)
    torch.testing.assert_close(full, crop_back, atol=1e-7, rtol=0)


def test_crop_translation_to_full_root_lands_in_box_centre_offset() -> None:
    # The root (origin) with tx = ty = 0 projects to the box centre in the full image.
    cam = torch.tensor([[0.9, 0.0, 0.0]], dtype=torch.float32)
    bbox = torch.tensor([[300.0, 100.0, 100.0, 200.0]], dtype=torch.float32)
    image_size = torch.tensor([[480.0, 640.0]], dtype=torch.float32)
    t_full = crop_translation_to_full(cam, bbox, image_size, 1000.0)
    assert t_full.dtype == torch.float32
    uv = perspective_projection(torch.zeros(1, 1, 3), t_full, 1000.0, torch.tensor([[320.0, 240.0]]))
    torch.testing.assert_close(uv, torch.tensor([[[350.0, 200.0]]]), atol=1e-3, rtol=0)


def test_crop_camera_matches_the_weak_perspective_projection_at_depth_zero() -> None:
    from model.geometry.camera import crop_camera, focal_for_size, weak_perspective_to_translation

    cam = torch.tensor([[0.9, 0.05, -0.1], [0.6, -0.2, 0.1]])
    points = torch.tensor([[[0.1, -0.3, 0.0], [0.0, 0.2, 0.0]], [[-0.2, 0.1, 0.0], [0.3, 0.4, 0.0]]])
    size = 64
    t, px = crop_camera(cam, size, points)
    torch.testing.assert_close(t, weak_perspective_to_translation(cam, focal_for_size(size), size))
    weak = size / 2.0 * (1.0 + cam[:, None, :1] * (points[..., :2] + cam[:, None, 1:]))
    torch.testing.assert_close(px, weak, atol=1e-3, rtol=0)
    t_only, none = crop_camera(cam, size)
    assert none is None and torch.equal(t_only, t)
    clamped, _ = crop_camera(torch.tensor([[-1.0, 0.0, 0.0]]), size, min_scale=0.05)
    assert clamped[0, 2] > 0
