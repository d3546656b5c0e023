"""Tests for model.geometry.rotations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from model.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rot6d_to_matrix,
)

DTYPES = [torch.float32, torch.float64]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SPECIAL_ANGLES = [0.0, 1e-7, 1e-3, math.pi - 1e-6, math.pi]


def _tol(dtype: torch.dtype) -> float:
    """Absolute tolerance for comparisons in ``dtype``."""
    return 1e-12 if dtype == torch.float64 else 2e-6


def _random_rotations(n: int, seed: int = 0) -> Rotation:
    """``n`` uniformly random rotations (scipy)."""
    return Rotation.random(n, random_state=seed)


def _special_axis_angles(dtype: torch.dtype) -> torch.Tensor:
    """Rotation vectors at the special angles about several axes, ``(K, 3)``."""
    rng = np.random.default_rng(1)
    axes = np.concatenate([np.eye(3), -np.eye(3), rng.normal(size=(4, 3))])
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    vecs = [angle * axis for angle in SPECIAL_ANGLES for axis in axes]
    return torch.tensor(np.array(vecs), dtype=dtype)


def _same_rotation_vector(a: torch.Tensor, b: torch.Tensor, atol: float) -> bool:
    """Whether rotation vectors agree, allowing ``r ~ -r`` at angle pi."""
    direct = (a - b).abs().amax(-1) <= atol
    angle = torch.linalg.vector_norm(b, dim=-1)
    flipped = ((a + b).abs().amax(-1) <= atol) & (angle > math.pi - 1e-5)
    return bool((direct | flipped).all())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_axis_angle_to_matrix_matches_scipy(dtype: torch.dtype, device: str) -> None:
    rot = _random_rotations(64)
    aa = torch.tensor(rot.as_rotvec(), dtype=dtype, device=device)
    expected = torch.tensor(rot.as_matrix(), dtype=dtype, device=device)
    torch.testing.assert_close(axis_angle_to_matrix(aa), expected, atol=_tol(dtype), rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_matrix_to_axis_angle_matches_scipy(dtype: torch.dtype, device: str) -> None:
    rot = _random_rotations(64, seed=2)
    mat = torch.tensor(rot.as_matrix(), dtype=dtype, device=device)
    expected = torch.tensor(rot.as_rotvec(), dtype=dtype, device=device)
    torch.testing.assert_close(matrix_to_axis_angle(mat), expected, atol=10 * _tol(dtype), rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_quaternions_match_scipy_scalar_first(dtype: torch.dtype) -> None:
    rot = _random_rotations(64, seed=3)
    xyzw = rot.as_quat()
    wxyz = np.concatenate([xyzw[:, 3:], xyzw[:, :3]], axis=1)
    wxyz *= np.sign(wxyz[:, :1])  # canonical w >= 0
    expected_q = torch.tensor(wxyz, dtype=dtype)
    mat = torch.tensor(rot.as_matrix(), dtype=dtype)
    aa = torch.tensor(rot.as_rotvec(), dtype=dtype)

    torch.testing.assert_close(matrix_to_quaternion(mat), expected_q, atol=_tol(dtype), rtol=0)
    torch.testing.assert_close(axis_angle_to_quaternion(aa), expected_q, atol=_tol(dtype), rtol=0)
    torch.testing.assert_close(quaternion_to_matrix(expected_q), mat, atol=_tol(dtype), rtol=0)
    torch.testing.assert_close(quaternion_to_axis_angle(expected_q), aa, atol=10 * _tol(dtype), rtol=0)


def test_quaternion_to_matrix_accepts_unnormalised_and_negated() -> None:
    q = torch.tensor([[0.3, -0.2, 0.9, 0.1]], dtype=torch.float64)
    expected = quaternion_to_matrix(q / q.norm())
    torch.testing.assert_close(quaternion_to_matrix(3.5 * q), expected)
    torch.testing.assert_close(quaternion_to_matrix(-q), expected)
    torch.testing.assert_close(quaternion_to_axis_angle(-q), quaternion_to_axis_angle(q))


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trips_at_special_angles(dtype: torch.dtype) -> None:
    aa = _special_axis_angles(dtype)
    aa64 = aa.double().numpy()
    mat = axis_angle_to_matrix(aa)
    # Matrices agree with scipy evaluated in float64.
    torch.testing.assert_close(mat, torch.tensor(Rotation.from_rotvec(aa64).as_matrix(), dtype=dtype), atol=_tol(dtype), rtol=0)
    # Proper rotations.
    eye = torch.eye(3, dtype=dtype).expand_as(mat)
    torch.testing.assert_close(mat @ mat.transpose(-1, -2), eye, atol=_tol(dtype), rtol=0)

    atol = 1e-9 if dtype == torch.float64 else 1e-5
    assert _same_rotation_vector(matrix_to_axis_angle(mat), aa, atol)
    assert _same_rotation_vector(quaternion_to_axis_angle(axis_angle_to_quaternion(aa)), aa, atol)
    torch.testing.assert_close(quaternion_to_matrix(matrix_to_quaternion(mat)), mat, atol=_tol(dtype), rtol=0)
    torch.testing.assert_close(axis_angle_to_matrix(matrix_to_axis_angle(mat)), mat, atol=10 * _tol(dtype), rtol=0)


def test_exactly_pi_rotations_are_recovered() -> None:
    # Exact rotations by pi: R = 2 n n^T - I.
    axes = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 0], [1.0, -2.0, 3.0]], dtype=torch.float64)
    axes = axes / axes.norm(dim=-1, keepdim=True)
    mat = 2.0 * axes[:, :, None] * axes[:, None, :] - torch.eye(3, dtype=torch.float64)
    aa = matrix_to_axis_angle(mat)
    torch.testing.assert_close(aa.norm(dim=-1), torch.full((5,), math.pi, dtype=torch.float64))
    assert _same_rotation_vector(aa, math.pi * axes, 1e-12)
    q = matrix_to_quaternion(mat)
    torch.testing.assert_close(q[:, 0], torch.zeros(5, dtype=torch.float64), atol=1e-12, rtol=0)


def test_near_pi_accuracy_float64() -> None:
    # Angles just below pi: the angle and the axis are recovered to ~1e-10.
    axis = torch.tensor([0.48, -0.6, 0.64], dtype=torch.float64)
    for delta in (1e-4, 1e-6, 1e-8):
        aa = (math.pi - delta) * axis
        back = matrix_to_axis_angle(axis_angle_to_matrix(aa))
        torch.testing.assert_close(back, aa, atol=1e-9, rtol=0)


def test_taylor_switch_is_seamless() -> None:
    axis = torch.tensor([0.6, 0.0, -0.8], dtype=torch.float64)
    angles = torch.tensor([1e-3 * (1 - 1e-9), 1e-3 * (1 + 1e-9), 2e-3, 5e-4], dtype=torch.float64)
    aa = angles[:, None] * axis
    expected = torch.tensor(Rotation.from_rotvec(aa.numpy()).as_matrix())
    torch.testing.assert_close(axis_angle_to_matrix(aa), expected, atol=1e-15, rtol=0)
    torch.testing.assert_close(matrix_to_axis_angle(expected), aa, atol=1e-15, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_rot6d_to_matrix_is_a_proper_rotation(dtype: torch.dtype, device: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 16, 6, generator=g, dtype=dtype).to(device)
    mat = rot6d_to_matrix(x)
    assert mat.shape == (4, 16, 3, 3)
    eye = torch.eye(3, dtype=dtype, device=device).expand_as(mat)
    atol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(mat.transpose(-1, -2) @ mat, eye, atol=atol, rtol=0)
    torch.testing.assert_close(torch.linalg.det(mat), torch.ones(4, 16, dtype=dtype, device=device), atol=atol, rtol=0)
    # First column is the normalised first input column; second lies in the plane of the inputs.
    cols = x.reshape(4, 16, 3, 2)
    torch.testing.assert_close(mat[..., 0], cols[..., 0] / cols[..., 0].norm(dim=-1, keepdim=True), atol=atol, rtol=0)
    normal = torch.linalg.cross(cols[..., 0], cols[..., 1], dim=-1)
    torch.testing.assert_close(mat[..., 2], normal / normal.norm(dim=-1, keepdim=True), atol=atol, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rot6d_round_trip_and_layout(dtype: torch.dtype) -> None:
    mat = torch.tensor(_random_rotations(32, seed=4).as_matrix(), dtype=dtype)
    six = matrix_to_rot6d(mat)
    assert six.shape == (32, 6)
    # Layout: the first two columns, reshaped to (3, 2).
    torch.testing.assert_close(six.reshape(32, 3, 2), mat[:, :, :2], atol=0, rtol=0)
    torch.testing.assert_close(rot6d_to_matrix(six), mat, atol=_tol(dtype), rtol=0)
    torch.testing.assert_close(matrix_to_rot6d(rot6d_to_matrix(six)), six, atol=_tol(dtype), rtol=0)


def test_gradients_are_finite_and_correct_at_zero_angle() -> None:
    zero = torch.zeros(3, dtype=torch.float64)
    # dR/dr at r = 0 is the cross-product generator: R ~ I + [r]_x.
    jac = torch.autograd.functional.jacobian(axis_angle_to_matrix, zero)  # (3, 3, 3)
    generators = torch.zeros(3, 3, 3, dtype=torch.float64)
    generators[2, 1, 0], generators[1, 2, 0] = 1.0, -1.0
    generators[0, 2, 1], generators[2, 0, 1] = 1.0, -1.0
    generators[1, 0, 2], generators[0, 1, 2] = 1.0, -1.0
    torch.testing.assert_close(jac, generators)

    jac_q = torch.autograd.functional.jacobian(axis_angle_to_quaternion, zero)  # (4, 3)
    torch.testing.assert_close(jac_q, torch.cat([torch.zeros(1, 3), 0.5 * torch.eye(3)]).double())

    round_trip = torch.autograd.functional.jacobian(lambda r: matrix_to_axis_angle(axis_angle_to_matrix(r)), zero)
    torch.testing.assert_close(round_trip, torch.eye(3, dtype=torch.float64))

    for dtype in DTYPES:
        r = torch.zeros(2, 3, dtype=dtype, requires_grad=True)
        (axis_angle_to_matrix(r).sum() + axis_angle_to_quaternion(r).sum()).backward()
        assert torch.isfinite(r.grad).all()
        m = torch.eye(3, dtype=dtype).repeat(2, 1, 1).requires_grad_(True)
        matrix_to_axis_angle(m).sum().backward()
        assert torch.isfinite(m.grad).all()
        q = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=dtype, requires_grad=True)
        quaternion_to_axis_angle(q).sum().backward()
        assert torch.isfinite(q.grad).all()


def test_gradcheck_at_generic_rotations() -> None:
    g = torch.Generator().manual_seed(5)
    aa = (0.8 * torch.randn(3, 3, generator=g, dtype=torch.float64)).requires_grad_(True)
    six = torch.randn(3, 6, generator=g, dtype=torch.float64).requires_grad_(True)
    mat = axis_angle_to_matrix(aa.detach()).requires_grad_(True)
    assert torch.autograd.gradcheck(axis_angle_to_matrix, (aa,))
    assert torch.autograd.gradcheck(axis_angle_to_quaternion, (aa,))
    assert torch.autograd.gradcheck(rot6d_to_matrix, (six,))
    assert torch.autograd.gradcheck(matrix_to_quaternion, (mat,))


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_shapes(dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(6)
    aa = torch.randn(2, 5, 3, generator=g, dtype=dtype)
    mat = axis_angle_to_matrix(aa)
    quat = axis_angle_to_quaternion(aa)
    assert mat.shape == (2, 5, 3, 3) and mat.dtype == dtype
    assert quat.shape == (2, 5, 4) and quat.dtype == dtype
    assert matrix_to_axis_angle(mat).shape == (2, 5, 3)
    assert matrix_to_quaternion(mat).shape == (2, 5, 4)
    assert quaternion_to_matrix(quat).shape == (2, 5, 3, 3)
    assert quaternion_to_axis_angle(quat).shape == (2, 5, 3)
    assert matrix_to_rot6d(mat).shape == (2, 5, 6)
    assert rot6d_to_matrix(matrix_to_rot6d(mat)).shape == (2, 5, 3, 3)
    # Batched results equal per-element results.
    flat = axis_angle_to_matrix(aa.reshape(10, 3)).reshape(2, 5, 3, 3)
    torch.testing.assert_close(mat, flat, atol=0, rtol=0)
    # Unbatched inputs work too.
    assert axis_angle_to_matrix(aa[0, 0]).shape == (3, 3)
    assert matrix_to_axis_angle(mat[0, 0]).shape == (3,)


def test_shape_errors() -> None:
    with pytest.raises(ValueError):
        axis_angle_to_matrix(torch.zeros(2, 4))
    with pytest.raises(ValueError):
        rot6d_to_matrix(torch.zeros(2, 9))
    with pytest.raises(ValueError):
        matrix_to_quaternion(torch.zeros(3))


def test_mean_rotation_is_the_geodesic_midpoint() -> None:
    from model.geometry.rotations import axis_angle_to_matrix, mean_rotation

    axis = torch.nn.functional.normalize(torch.tensor([0.3, -1.0, 0.5]), dim=0)
    a, b = axis_angle_to_matrix(0.2 * axis), axis_angle_to_matrix(1.4 * axis)
    mid = mean_rotation(torch.stack([a, b]))
    torch.testing.assert_close(mid, axis_angle_to_matrix(0.8 * axis), atol=1e-5, rtol=0)
    many = axis_angle_to_matrix(torch.randn(5, 7, 3, generator=torch.Generator().manual_seed(0)))
    same = mean_rotation(torch.stack([many, many, many]), dim=0)
    torch.testing.assert_close(same, many, atol=1e-5, rtol=0)
    m = mean_rotation(many, dim=1)  # (5, 3, 3), proper rotations
    assert m.shape == (5, 3, 3)
    torch.testing.assert_close(m @ m.transpose(-1, -2), torch.eye(3).expand(5, 3, 3), atol=1e-5, rtol=0)
    assert torch.allclose(torch.det(m), torch.ones(5), atol=1e-5)
    with pytest.raises(ValueError, match="3, 3"):
        mean_rotation(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="leading dimension"):
        mean_rotation(many, dim=2)
