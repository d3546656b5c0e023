"""Camera and image-crop conventions shared by the whole project.

Camera frame
------------
OpenCV convention: ``x`` points right, ``y`` points down, ``z`` points forward
(into the scene); visible points have ``z > 0``. A model-space point ``X`` is
taken to the camera frame by ``X_cam = R @ X + t`` (``R`` defaults to the
identity; SMPL outputs are usually already rotated by their global orient).

Pixel coordinates
-----------------
Continuous pixel coordinates ``(u, v)``: ``u`` grows along columns (right),
``v`` along rows (down). The origin is the **top-left corner of the top-left
pixel**, so pixel ``[row i, column j]`` covers ``[j, j+1) x [i, i+1)`` and its
centre is ``(j + 0.5, i + 0.5)``; an ``H x W`` image spans ``[0, W] x [0, H]``
and its centre is exactly ``(W/2, H/2)``. As in SPIN, the principal point is
the image centre ``(W/2, H/2)``. (OpenCV's ``warpAffine``/``remap`` put pixel
centres at integers instead; see :func:`crop_affine`.) Projection:
``u = f_x * X_cam / Z_cam + c_x``, ``v = f_y * Y_cam / Z_cam + c_y``.

Focal length
------------
SPIN's convention: 5000 px for a 224 x 224 crop, scaled linearly with the
crop side, ``focal_for_size(size) = 5000 * size / 224``.

Weak perspective
----------------
A weak-perspective camera ``[s, tx, ty]`` maps a point to normalised crop
coordinates ``s * (X + tx, Y + ty)`` in ``[-1, 1]`` (``-1`` = left/top edge,
``+1`` = right/bottom edge of the crop), i.e. crop pixels
``crop_size / 2 * (1 + s * (X + tx))``. It corresponds to the perspective
translation ``t = [tx, ty, 2 f / (crop_size * s)]`` with the principal point
at the crop centre.

Bounding boxes and crops
------------------------
A bounding box is ``(x0, y0, w, h)`` in full-image pixels: ``(x0, y0)`` is its
top-left corner, ``(w, h)`` its width and height, in the pixel convention
above. The crop fed to the network is the **square** of side
``side = max(w, h) * scale`` centred on the box centre
``(x0 + w/2, y0 + h/2)``, resampled to ``crop_size x crop_size`` pixels; the
square may extend past the image borders (the outside is padded). ``scale``
defaults to 1.0 in this module.

All functions are batched over any leading dimensions (written ``B`` below),
work on CPU and CUDA, and in float32 and float64.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "SPIN_CROP_SIZE",
    "SPIN_FOCAL_LENGTH",
    "crop_affine",
    "crop_camera",
    "crop_to_full",
    "crop_translation_to_full",
    "focal_for_size",
    "full_to_crop",
    "perspective_projection",
    "square_crop_box",
    "translation_to_weak_perspective",
    "weak_perspective_to_translation",
]

SPIN_FOCAL_LENGTH: float = 5000.0
"""Focal length (px) that SPIN assumes for a ``SPIN_CROP_SIZE`` crop."""

SPIN_CROP_SIZE: int = 224
"""Crop side (px) for which ``SPIN_FOCAL_LENGTH`` is defined."""

_DEFAULT_EPS = 1e-9


def focal_for_size(size: float | Tensor) -> float | Tensor:
    """SPIN focal length for a square crop of side ``size`` pixels.

    Args:
        size: crop side in pixels, a number or a tensor of any shape.

    Returns:
        ``5000 * size / 224`` (same type and shape as ``size``).
    """
    return SPIN_FOCAL_LENGTH * size / SPIN_CROP_SIZE


def _per_sample(value: float | Tensor, batch_shape: torch.Size, like: Tensor) -> Tensor:
    """Broadcast a number, a ``(B,)`` or a ``(B, 2)`` tensor to ``(B, 2)``.

    A tensor with as many dimensions as ``batch_shape`` holds one value per
    sample (used for both axes); one more trailing dimension of size 2 holds
    ``(x, y)`` values.

    Args:
        value: number, ``(B,)`` or ``(B, 2)`` tensor.
        batch_shape: the leading batch shape ``B``.
        like: tensor whose dtype and device the result takes.

    Returns:
        ``(B, 2)`` tensor.
    """
    value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if value.dim() == len(batch_shape) + 1 and value.shape[-1] == 2:
        return value.expand(*batch_shape, 2)
    if value.dim() <= len(batch_shape):
        return value[..., None].expand(*batch_shape, 2)
    raise ValueError(f"expected a number, (B,) or (B, 2) for batch shape {tuple(batch_shape)}, got {tuple(value.shape)}")


def _per_sample_scalar(value: float | Tensor, like: Tensor) -> Tensor:
    """Convert a number or a ``(B,)`` tensor to a tensor with ``like``'s dtype/device.

    Args:
        value: number or ``(B,)`` tensor.
        like: tensor whose dtype and device the result takes.

    Returns:
        ``()`` or ``(B,)`` tensor.
    """
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


def perspective_projection(
    points: Tensor,
    translation: Tensor,
    focal: float | Tensor,
    principal: Tensor | None = None,
    rotation: Tensor | None = None,
) -> Tensor:
    """Project 3D points with a pinhole camera (OpenCV frame, see module docstring).

    ``X_cam = R @ X + t``; ``u = f_x X_cam / Z_cam + c_x``,
    ``v = f_y Y_cam / Z_cam + c_y``. Points must have ``Z_cam > 0``; there is
    no clamping.

    Args:
        points: ``(B, N, 3)`` points in model space (metres).
        translation: ``(B, 3)`` camera translation ``t``.
        focal: focal length in pixels: a number, ``(B,)`` or ``(B, 2)`` for
            ``(f_x, f_y)``.
        principal: ``(B, 2)`` principal point ``(c_x, c_y)`` in pixels, e.g.
            ``(W/2, H/2)``. ``None`` means ``(0, 0)``: the result is then
            relative to the principal point.
        rotation: ``(B, 3, 3)`` camera rotation ``R``; ``None`` = identity.

    Returns:
        ``(B, N, 2)`` pixel coordinates ``(u, v)``.
    """
    if points.shape[-1] != 3 or translation.shape[-1] != 3:
        raise ValueError(f"points (B, N, 3) and translation (B, 3) expected, got {tuple(points.shape)}, {tuple(translation.shape)}")
    batch_shape = points.shape[:-2]
    if rotation is not None:
        points = points @ rotation.transpose(-1, -2)
    cam = points + translation[..., None, :]
    uv = cam[..., :2] / cam[..., 2:]
    uv = uv * _per_sample(focal, batch_shape, points)[..., None, :]
    if principal is not None:
        uv = uv + principal[..., None, :]
    return uv


def weak_perspective_to_translation(
    cam: Tensor, focal: float | Tensor, crop_size: float, eps: float = _DEFAULT_EPS
) -> Tensor:
    """Turn a weak-perspective crop camera into a perspective translation (SPIN).

    ``t = [tx, ty, 2 f / (crop_size * s + eps)]``. Projecting with this ``t``,
    focal ``f`` and the principal point at the crop centre matches the weak
    perspective projection exactly for points at depth ``Z = 0`` (model
    space) and approximately for the rest of the body.

    Args:
        cam: ``(B, 3)`` weak-perspective camera ``[s, tx, ty]``.
        focal: crop focal length in pixels, a number or ``(B,)``.
        crop_size: crop side in pixels.
        eps: guards against ``s = 0``.

    Returns:
        ``(B, 3)`` translation ``[tx, ty, tz]``.
    """
    s, tx, ty = cam.unbind(-1)
    tz = 2.0 * _per_sample_scalar(focal, cam) / (crop_size * s + eps)
    return torch.stack((tx, ty, tz), dim=-1)


def crop_camera(
    cam: Tensor, crop_size: float, points: Tensor | None = None, min_scale: float | None = None
) -> tuple[Tensor, Tensor | None]:
    """A network's weak-perspective crop camera as a perspective camera, and the projection of ``points``.

    The one place the predictor, the trainers and the service's smoothing turn ``[s, tx, ty]`` into
    pixels: SPIN's focal ``focal_for_size(crop_size)``, the translation of
    :func:`weak_perspective_to_translation` and the principal point at the crop centre
    ``(crop_size/2, crop_size/2)``.

    Args:
        cam: ``(B, 3)`` weak-perspective camera ``[s, tx, ty]``.
        crop_size: side ``S`` of the square crop (network input) in pixels.
        points: ``(B, N, 3)`` model-space points (metres) to project, or ``None``.
        min_scale: floor of ``s`` (a scale near zero or negative puts the body at or behind the
            camera, where the projection is unbounded; training losses clamp it); ``None``: none.

    Returns:
        ``(translation (B, 3), pixels (B, N, 2) in the crop or None)``.
    """
    if min_scale is not None:
        cam = torch.cat([cam[..., :1].clamp_min(min_scale), cam[..., 1:]], dim=-1)
    focal = focal_for_size(crop_size)
    translation = weak_perspective_to_translation(cam, focal, crop_size)
    if points is None:
        return translation, None
    principal = torch.full((*translation.shape[:-1], 2), crop_size / 2.0, device=translation.device)
    return translation, perspective_projection(points, translation, focal, principal)


def translation_to_weak_perspective(
    translation: Tensor, focal: float | Tensor, crop_size: float, eps: float = _DEFAULT_EPS
) -> Tensor:
    """Exact inverse of :func:`weak_perspective_to_translation`.

    ``s = (2 f / tz - eps) / crop_size``.

    Args:
        translation: ``(B, 3)`` translation ``[tx, ty, tz]``, ``tz > 0``.
        focal: crop focal length in pixels, a number or ``(B,)``.
        crop_size: crop side in pixels.
        eps: the same ``eps`` as used in the forward conversion.

    Returns:
        ``(B, 3)`` weak-perspective camera ``[s, tx, ty]``.
    """
    tx, ty, tz = translation.unbind(-1)
    s = (2.0 * _per_sample_scalar(focal, translation) / tz - eps) / crop_size
    return torch.stack((s, tx, ty), dim=-1)


def square_crop_box(bbox: Tensor, scale: float = 1.0) -> tuple[Tensor, Tensor]:
    """Centre and side of the square crop taken around a bounding box.

    Args:
        bbox: ``(B, 4)`` boxes ``(x0, y0, w, h)`` in full-image pixels.
        scale: the square side is ``max(w, h) * scale``.

    Returns:
        ``(centre (B, 2), side (B,))`` in full-image pixels.
    """
    if bbox.shape[-1] != 4:
        raise ValueError(f"bbox: expected (B, 4) = (x0, y0, w, h), got {tuple(bbox.shape)}")
    centre = bbox[..., :2] + 0.5 * bbox[..., 2:]
    side = torch.maximum(bbox[..., 2], bbox[..., 3]) * scale
    return centre, side


def full_to_crop(points: Tensor, bbox: Tensor, crop_size: float, scale: float = 1.0) -> Tensor:
    """Map full-image pixel coordinates into crop pixel coordinates.

    ``p_crop = (p_full - centre) * crop_size / side + crop_size / 2``.

    Args:
        points: ``(B, N, 2)`` full-image pixels ``(u, v)``.
        bbox: ``(B, 4)`` boxes ``(x0, y0, w, h)``.
        crop_size: crop side in pixels.
        scale: crop enlargement, see :func:`square_crop_box`.

    Returns:
        ``(B, N, 2)`` crop pixels.
    """
    centre, side = square_crop_box(bbox, scale)
    k = (crop_size / side)[..., None, None]
    return (points - centre[..., None, :]) * k + 0.5 * crop_size


def crop_to_full(points: Tensor, bbox: Tensor, crop_size: float, scale: float = 1.0) -> Tensor:
    """Map crop pixel coordinates back to full-image pixel coordinates.

    Exact inverse of :func:`full_to_crop`:
    ``p_full = (p_crop - crop_size / 2) * side / crop_size + centre``.

    Args:
        points: ``(B, N, 2)`` crop pixels ``(u, v)``.
        bbox: ``(B, 4)`` boxes ``(x0, y0, w, h)``.
        crop_size: crop side in pixels.
        scale: crop enlargement, see :func:`square_crop_box`.

    Returns:
        ``(B, N, 2)`` full-image pixels.
    """
    centre, side = square_crop_box(bbox, scale)
    k = (side / crop_size)[..., None, None]
    return (points - 0.5 * crop_size) * k + centre[..., None, :]


def crop_affine(bbox: Tensor, crop_size: float, scale: float = 1.0, cv2_pixel_centres: bool = False) -> Tensor:
    """The ``2 x 3`` affine matrix that maps full-image pixels to crop pixels.

    With ``cv2_pixel_centres=False`` it is :func:`full_to_crop` in matrix form
    (``[p_crop; 1] = A @ [p_full; 1]`` in this module's pixel convention).
    OpenCV places pixel centres at integer coordinates, half a pixel off from
    this module's convention; pass ``cv2_pixel_centres=True`` to get the
    matrix to give to ``cv2.warpAffine(image, A[i].numpy(), (crop_size,
    crop_size))`` so that the warped crop agrees exactly with
    :func:`full_to_crop`.

    Args:
        bbox: ``(B, 4)`` boxes ``(x0, y0, w, h)``.
        crop_size: crop side in pixels.
        scale: crop enlargement, see :func:`square_crop_box`.
        cv2_pixel_centres: express the map in OpenCV's integer-centre pixels.

    Returns:
        ``(B, 2, 3)`` affine matrices.
    """
    centre, side = square_crop_box(bbox, scale)
    k = crop_size / side
    offset = 0.5 * crop_size - k[..., None] * centre  # (B, 2)
    if cv2_pixel_centres:
        # u_cv = u - 1/2 in both images: u'_cv = k u_cv + offset + (k - 1) / 2.
        offset = offset + 0.5 * (k[..., None] - 1.0)
    zero = torch.zeros_like(k)
    rows = (
        torch.stack((k, zero, offset[..., 0]), dim=-1),
        torch.stack((zero, k, offset[..., 1]), dim=-1),
    )
    return torch.stack(rows, dim=-2)


def crop_translation_to_full(
    cam: Tensor,
    bbox: Tensor,
    image_size: Tensor,
    focal_full: float | Tensor,
    scale: float = 1.0,
    eps: float = _DEFAULT_EPS,
) -> Tensor:
    """Express a crop's weak-perspective camera as a full-image translation (CLIFF/PARE).

    The crop camera is the perspective camera of
    :func:`weak_perspective_to_translation` with the *consistently scaled*
    focal ``f_crop = focal_full * crop_size / side`` and principal point at the
    crop centre; it is equivalent to a full-image camera with focal
    ``focal_full`` whose principal point is the box centre ``c``. This
    function returns the translation for the real full-image camera
    (focal ``focal_full``, principal point at the image centre
    ``o = (W/2, H/2)``):

    ``tz = 2 f / (s * side + eps)``,
    ``(tx', ty') = (tx, ty) + 2 (c - o) / (s * side + eps)``.

    Approximation: moving the principal point cannot be done exactly by a
    translation. Both cameras place a point ``X`` (camera-aligned model
    space: after any rotation, before translation) at the same full-image
    pixel when ``X_z = 0``, i.e. at the root depth (exact for the root and for every point in that fronto-parallel
    plane; this is also exactly the weak-perspective projection mapped back
    with :func:`crop_to_full`). Otherwise the full-image projection differs
    from the crop projection mapped back to the full image by
    ``-(c - o) * X_z / (X_z + tz)`` pixels, which is small when the body's
    depth extent is small compared to ``tz``. The result is independent of
    ``crop_size``.

    Args:
        cam: ``(B, 3)`` weak-perspective crop camera ``[s, tx, ty]``.
        bbox: ``(B, 4)`` boxes ``(x0, y0, w, h)`` in full-image pixels.
        image_size: ``(B, 2)`` full-image size as ``(H, W)``.
        focal_full: full-image focal length in pixels, a number or ``(B,)``.
        scale: crop enlargement, see :func:`square_crop_box`.
        eps: guards against ``s = 0``.

    Returns:
        ``(B, 3)`` translation in the full-image camera frame.
    """
    s, tx, ty = cam.unbind(-1)
    centre, side = square_crop_box(bbox, scale)
    image_size = torch.as_tensor(image_size, dtype=cam.dtype, device=cam.device)
    image_centre = 0.5 * image_size.flip(-1)  # (W/2, H/2)
    s_side = s * side + eps
    offset = 2.0 * (centre - image_centre) / s_side[..., None]
    tz = 2.0 * _per_sample_scalar(focal_full, cam) / s_side
    return torch.stack((tx + offset[..., 0], ty + offset[..., 1], tz), dim=-1)
