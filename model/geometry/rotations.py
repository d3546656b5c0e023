"""Batched rotation conversions between the representations used in the project.

Representations
---------------
* **Rotation matrix** ``(..., 3, 3)``: rotates column vectors, ``y = R @ x``.
* **Axis-angle** ``(..., 3)``: rotation vector ``theta * axis`` (radians), the
  SMPL pose parameterisation.
* **Quaternion** ``(..., 4)``: scalar-first ``(w, x, y, z)``, Hamilton
  convention, so that the rotation matrix of a unit quaternion is the usual
  ``R = I + 2 w [v]_x + 2 [v]_x^2`` with ``v = (x, y, z)``. Note that
  ``scipy.spatial.transform.Rotation`` uses scalar-last ``(x, y, z, w)``.
  Quaternions returned by this module are unit and have ``w >= 0``.
* **6D** ``(..., 6)``: the first two *columns* of the rotation matrix
  (Zhou et al., "On the Continuity of Rotation Representations in Neural
  Networks", CVPR 2019; the layout used by SPIN and HMR 2.0). Reshaped to
  ``(..., 3, 2)`` its columns are ``R[..., :, 0]`` and ``R[..., :, 1]``.

All functions accept any number of leading batch dimensions, work on CPU and
CUDA, in float32 and float64, and are differentiable. Conversions out of the
axis-angle and quaternion forms use Taylor expansions near angle 0, so values
and gradients stay finite there; ``matrix_to_quaternion`` uses Shepperd's
largest-pivot method, so it (and ``matrix_to_axis_angle``) is accurate near
and at angle pi.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "axis_angle_to_matrix",
    "axis_angle_to_quaternion",
    "matrix_to_axis_angle",
    "matrix_to_quaternion",
    "mean_rotation",
    "matrix_to_rot6d",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "rot6d_to_matrix",
    "rotation_angle",
]

# Below this squared angle (rad^2) the Taylor expansions are used. The first
# neglected term is O(theta^6) ~ 1e-18 relative, far below float64 precision.
_SMALL_ANGLE_SQ = 1e-6


def _check_last_dims(x: Tensor, shape: tuple[int, ...], name: str) -> None:
    """Raise ``ValueError`` unless the trailing dimensions of ``x`` equal ``shape``."""
    if x.dim() < len(shape) or tuple(x.shape[-len(shape) :]) != shape:
        raise ValueError(f"{name}: expected shape (..., {', '.join(map(str, shape))}), got {tuple(x.shape)}")


def _skew(v: Tensor) -> Tensor:
    """Cross-product matrix ``[v]_x`` such that ``[v]_x @ u == v x u``.

    Args:
        v: ``(..., 3)`` vectors.

    Returns:
        ``(..., 3, 3)`` skew-symmetric matrices.
    """
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    rows = (
        torch.stack((zero, -z, y), dim=-1),
        torch.stack((z, zero, -x), dim=-1),
        torch.stack((-y, x, zero), dim=-1),
    )
    return torch.stack(rows, dim=-2)


def _half_angle_terms(theta_sq: Tensor) -> tuple[Tensor, Tensor]:
    """``cos(theta / 2)`` and ``sin(theta / 2) / theta`` from the squared angle.

    Both are computed from ``theta_sq`` so that gradients are finite at
    ``theta = 0`` (where ``sqrt`` alone would give an infinite derivative).

    Args:
        theta_sq: ``(...)`` squared rotation angles, ``>= 0``.

    Returns:
        ``(cos_half, sinc_half)``, each ``(...)``.
    """
    small = theta_sq < _SMALL_ANGLE_SQ
    # Evaluate the exact branch on a safe dummy value where the Taylor branch is
    # selected, so that neither branch produces NaN/inf (which would poison the
    # gradient even when masked out by ``torch.where``).
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta_sq), theta_sq))
    half = 0.5 * theta
    cos_exact = torch.cos(half)
    sinc_exact = torch.sin(half) / theta
    # cos(t/2) = 1 - t^2/8 + t^4/384 - ...;  sin(t/2)/t = 1/2 - t^2/48 + t^4/3840 - ...
    cos_taylor = 1.0 - theta_sq / 8.0 + theta_sq * theta_sq / 384.0
    sinc_taylor = 0.5 - theta_sq / 48.0 + theta_sq * theta_sq / 3840.0
    return torch.where(small, cos_taylor, cos_exact), torch.where(small, sinc_taylor, sinc_exact)


def rot6d_to_matrix(x: Tensor) -> Tensor:
    """Map a 6D rotation representation to a rotation matrix (Gram–Schmidt).

    The 6 numbers are read as a ``(..., 3, 2)`` matrix whose two columns
    ``a1, a2`` are orthonormalised: ``b1 = a1 / |a1|``,
    ``b2 = normalise(a2 - (b1 . a2) b1)``, ``b3 = b1 x b2``; the result has
    columns ``(b1, b2, b3)``. Any input with non-parallel columns yields a
    proper rotation (orthonormal, ``det = +1``).

    Args:
        x: ``(..., 6)`` 6D rotations (e.g. raw network outputs).

    Returns:
        ``(..., 3, 3)`` rotation matrices.
    """
    _check_last_dims(x, (6,), "rot6d_to_matrix")
    cols = x.reshape(*x.shape[:-1], 3, 2)
    a1, a2 = cols[..., 0], cols[..., 1]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-1)


def matrix_to_rot6d(matrix: Tensor) -> Tensor:
    """Take the first two columns of a rotation matrix as its 6D representation.

    Exact inverse of :func:`rot6d_to_matrix` on rotation matrices.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 6)``: ``R[..., :, :2]`` flattened row-major, i.e.
        ``(R00, R01, R10, R11, R20, R21)``.
    """
    _check_last_dims(matrix, (3, 3), "matrix_to_rot6d")
    return matrix[..., :, :2].reshape(*matrix.shape[:-2], 6)


def axis_angle_to_matrix(axis_angle: Tensor) -> Tensor:
    """Rodrigues' formula for rotation vectors.

    With ``theta = |r|`` and ``K = [r]_x`` (the *unnormalised* cross-product
    matrix), ``R = I + (sin(theta)/theta) K + ((1 - cos(theta))/theta^2) K^2``.
    The coefficients are evaluated in half-angle form,
    ``sin(theta)/theta = 2 c s`` and ``(1 - cos(theta))/theta^2 = 2 s^2`` with
    ``c = cos(theta/2)``, ``s = sin(theta/2)/theta``, which avoids the
    cancellation in ``1 - cos`` and switches to a Taylor series for tiny
    angles, so values and gradients are finite at ``r = 0``.

    Args:
        axis_angle: ``(..., 3)`` rotation vectors (radians).

    Returns:
        ``(..., 3, 3)`` rotation matrices.
    """
    _check_last_dims(axis_angle, (3,), "axis_angle_to_matrix")
    cos_half, sinc_half = _half_angle_terms((axis_angle * axis_angle).sum(-1))
    k = _skew(axis_angle)
    a = (2.0 * cos_half * sinc_half)[..., None, None]
    b = (2.0 * sinc_half * sinc_half)[..., None, None]
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    return eye + a * k + b * (k @ k)


def axis_angle_to_quaternion(axis_angle: Tensor) -> Tensor:
    """Convert rotation vectors to unit quaternions ``(w, x, y, z)``.

    ``q = (cos(theta/2), sin(theta/2) * r / theta)``; ``w >= 0`` for angles in
    ``[0, pi]``. Finite values and gradients at ``r = 0``.

    Args:
        axis_angle: ``(..., 3)`` rotation vectors (radians).

    Returns:
        ``(..., 4)`` unit quaternions, scalar first.
    """
    _check_last_dims(axis_angle, (3,), "axis_angle_to_quaternion")
    cos_half, sinc_half = _half_angle_terms((axis_angle * axis_angle).sum(-1))
    return torch.cat((cos_half[..., None], sinc_half[..., None] * axis_angle), dim=-1)


def quaternion_to_matrix(quaternion: Tensor) -> Tensor:
    """Convert quaternions ``(w, x, y, z)`` to rotation matrices.

    The input need not be normalised: ``q`` and ``c * q`` (``c != 0``) give the
    same rotation, since the formula divides by ``|q|^2``.

    Args:
        quaternion: ``(..., 4)`` quaternions, scalar first, non-zero.

    Returns:
        ``(..., 3, 3)`` rotation matrices.
    """
    _check_last_dims(quaternion, (4,), "quaternion_to_matrix")
    w, x, y, z = quaternion.unbind(-1)
    two_s = 2.0 / (quaternion * quaternion).sum(-1)
    entries = (
        1.0 - two_s * (y * y + z * z),
        two_s * (x * y - w * z),
        two_s * (x * z + w * y),
        two_s * (x * y + w * z),
        1.0 - two_s * (x * x + z * z),
        two_s * (y * z - w * x),
        two_s * (x * z - w * y),
        two_s * (y * z + w * x),
        1.0 - two_s * (x * x + y * y),
    )
    return torch.stack(entries, dim=-1).reshape(*quaternion.shape[:-1], 3, 3)


def matrix_to_quaternion(matrix: Tensor) -> Tensor:
    """Convert rotation matrices to unit quaternions ``(w, x, y, z)`` with ``w >= 0``.

    Shepperd's method: for a rotation matrix the symmetric matrix
    ``M = 4 q q^T`` can be read off linearly from ``R`` (its diagonal is
    ``4 w^2, 4 x^2, 4 y^2, 4 z^2``). The row of ``M`` with the largest diagonal
    entry (which is ``>= 1`` because the diagonal sums to 4) divided by
    ``2 sqrt`` of that entry is ``+-q``, with no small divisor anywhere, so the
    conversion is accurate at every angle including ``pi``.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 4)`` unit quaternions, scalar first, ``w >= 0``. At angle
        exactly ``pi`` (``w = 0``) the sign is that of the largest component.
    """
    _check_last_dims(matrix, (3, 3), "matrix_to_quaternion")
    r = matrix.reshape(*matrix.shape[:-2], 9)
    r00, r01, r02, r10, r11, r12, r20, r21, r22 = r.unbind(-1)
    wx = r21 - r12
    wy = r02 - r20
    wz = r10 - r01
    xy = r01 + r10
    xz = r02 + r20
    yz = r12 + r21
    rows = (
        torch.stack((1.0 + r00 + r11 + r22, wx, wy, wz), dim=-1),
        torch.stack((wx, 1.0 + r00 - r11 - r22, xy, xz), dim=-1),
        torch.stack((wy, xy, 1.0 - r00 + r11 - r22, yz), dim=-1),
        torch.stack((wz, xz, yz, 1.0 - r00 - r11 + r22), dim=-1),
    )
    m = torch.stack(rows, dim=-2)  # (..., 4, 4) == 4 q q^T
    diag = torch.diagonal(m, dim1=-2, dim2=-1)  # (..., 4)
    pivot = diag.argmax(dim=-1, keepdim=True)  # (..., 1)
    pivot_value = torch.gather(diag, -1, pivot)  # (..., 1)
    pivot_row = torch.gather(m, -2, pivot[..., None].expand(*pivot.shape[:-1], 1, 4)).squeeze(-2)
    q = pivot_row / (2.0 * torch.sqrt(pivot_value.clamp_min(1e-12)))
    q = torch.nn.functional.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_to_axis_angle(quaternion: Tensor) -> Tensor:
    """Convert quaternions ``(w, x, y, z)`` to rotation vectors with angle in ``[0, pi]``.

    The quaternion is first flipped to ``w >= 0`` (``q`` and ``-q`` are the same
    rotation); then ``theta = 2 atan2(|v|, w)`` and ``r = theta * v / |v|``.
    A Taylor series is used for ``|v| -> 0`` so values and gradients are
    finite at the identity.

    Args:
        quaternion: ``(..., 4)`` quaternions, scalar first (need not be unit).

    Returns:
        ``(..., 3)`` rotation vectors (radians).
    """
    _check_last_dims(quaternion, (4,), "quaternion_to_axis_angle")
    quaternion = torch.where(quaternion[..., :1] < 0, -quaternion, quaternion)
    w = quaternion[..., 0]
    v = quaternion[..., 1:]
    n_sq = (v * v).sum(-1)
    # With |q| = 1 the switch happens at angle ~ 2e-3 rad; the neglected term of
    # 2 atan(n/w)/n = (2/w)(1 - n^2/(3w^2) + n^4/(5w^4) - ...) is O(n^6).
    small = n_sq < _SMALL_ANGLE_SQ * (w * w)
    n = torch.sqrt(torch.where(small, torch.ones_like(n_sq), n_sq))
    ratio_exact = 2.0 * torch.atan2(n, w) / n
    w_safe = torch.where(small, w, torch.ones_like(w))
    t = n_sq / (w_safe * w_safe)
    ratio_taylor = (2.0 / w_safe) * (1.0 - t / 3.0 + t * t / 5.0)
    ratio = torch.where(small, ratio_taylor, ratio_exact)
    return ratio[..., None] * v


def matrix_to_axis_angle(matrix: Tensor) -> Tensor:
    """Convert rotation matrices to rotation vectors with angle in ``[0, pi]``.

    Goes through :func:`matrix_to_quaternion` (Shepperd), so it is accurate
    near and at ``pi``. At exactly ``pi`` the axis sign is arbitrary (``r`` and
    ``-r`` are the same rotation).

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 3)`` rotation vectors (radians).
    """
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def mean_rotation(matrices: Tensor, dim: int = 0) -> Tensor:
    """The chordal L2 mean of rotations: the rotation nearest (Frobenius) to their arithmetic mean.

    ``argmin_R sum_i ||R - R_i||_F^2`` over SO(3) is the projection of ``mean_i R_i`` onto SO(3):
    with ``M = U S V^T``, ``R = U diag(1, 1, det(U V^T)) V^T``. For two rotations it is the midpoint
    of the geodesic between them (the slerp at 1/2) as long as they are less than pi apart; at
    exactly pi apart the mean is not unique.

    Args:
        matrices: ``(..., 3, 3)`` rotation matrices, averaged over the batch dimension ``dim``.
        dim: which leading dimension holds the rotations to average.

    Returns:
        The input's shape without ``dim``: rotation matrices (computed in float32 or better).
    """
    if matrices.shape[-2:] != (3, 3):
        raise ValueError(f"expected (..., 3, 3) rotation matrices, got {tuple(matrices.shape)}")
    if dim < 0:
        dim += matrices.ndim
    if not 0 <= dim < matrices.ndim - 2:
        raise ValueError(f"dim must be a leading dimension of {tuple(matrices.shape)}, got {dim}")
    work = matrices if matrices.dtype in (torch.float32, torch.float64) else matrices.float()
    m = work.mean(dim=dim)
    u, _, vh = torch.linalg.svd(m)
    d = torch.det(u @ vh)
    fix = torch.ones_like(m[..., 0])
    fix[..., 2] = d
    return (u * fix[..., None, :]) @ vh


# Added under the square root of the sine so that its gradient stays finite at angle 0 (the angle
# then reads ~1e-4 rad: 0.006 degrees, far below any angle that matters here).
_ANGLE_SINE_EPS = 1e-8


def rotation_angle(matrix: Tensor) -> Tensor:
    """Geodesic angle ``(...)`` in ``[0, pi]`` (radians) of rotation matrices ``(..., 3, 3)``.

    ``atan2(sin, cos)`` with ``cos = (tr R - 1) / 2`` and ``sin = |vee(R - R^T)| / 2``, which keeps
    the value and the gradient finite near 0 and pi (``acos`` of the trace alone has an infinite
    slope at both).
    """
    if matrix.shape[-2:] != (3, 3):
        raise ValueError(f"expected (..., 3, 3) rotation matrices, got {tuple(matrix.shape)}")
    cos = (matrix.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    skew = matrix - matrix.transpose(-1, -2)
    vee = torch.stack([skew[..., 2, 1], skew[..., 0, 2], skew[..., 1, 0]], dim=-1)
    sin = torch.sqrt(vee.square().sum(-1) / 4 + _ANGLE_SINE_EPS)
    return torch.atan2(sin, cos)
