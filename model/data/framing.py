"""Camera views of synthetic people: where the camera is, its lens, and the crop framing.

A synthetic sample is rendered directly as the person crop the network sees (side ``S`` px, the
principal point at the crop centre). The distributions imitate the cameras that see people at
low resolution -- surveillance cameras mounted above head height, handheld and broadcast
cameras at about eye level -- rather than a photographer's portrait:

* **mount** (probability ``eye_level_prob``): an *eye-level* camera sees the person along a ray
  between ``eye_level_elevation_deg`` (-5..10 degrees, slightly up to slightly down); a
  *mounted* camera hangs ``mount_height_m`` (2-6 m) high, and its ray to the person's centre
  (``PERSON_CENTRE_M`` = 0.9 m above the ground) falls by ``atan((h - 0.9) / d)``, where the
  distance ``d`` follows from the focal length and the crop (a person ``~1.7 m`` tall filling
  ``S / box_scale`` pixels at focal ``f`` is ``d = f / S * box_scale * 1.7`` m away). Close
  people under a high camera are therefore seen steeply from above, far ones almost level, as
  on real footage; the elevation is clipped to ``elevation_deg`` (up to 60 degrees).
* **focal length**, log-uniform in multiples of ``S`` (``focal_range``): 1.0 S is a wide-angle
  lens close to the person (strong perspective: the head is much larger than the feet from
  above); a 1080p surveillance camera with a 1500 px focal length seeing a person 10 m away
  gives about 5.5 S; SPIN's 5000 px at 224 (22 S) is the long end.
* **oblique view** (``lens_hfov_deg``, ``*_tilt_deg``): the person stands anywhere across a
  16:9 frame of a lens with a 40-110 degree horizontal field of view, and at a height in the
  frame that the camera's tilt allows (eye level: -10..10 degrees; mounted: 0..85 degrees down,
  so far people are high in the frame), so the ray to the person is up to ~57 degrees off
  the optical axis. The crop is rendered by a *virtual* camera turned
  from the real one onto that ray (its principal point at the crop centre, the same focal
  length): the body is rotated by the extra rotation between the two, which tilts and turns
  people near the edges of an elevated wide-angle frame exactly as the real camera sees them.
  What is not modelled: an axis-aligned crop of the real image differs from this virtual crop
  by the homography ``K R_v^T K^-1`` (a keystone stretch of up to ``1 / cos(55 deg) = 1.7``
  at the very edge) and by lens distortion; both would need a principal point off the crop
  centre (or distortion coefficients) in the ground truth, which the losses do not take.
* **framing**: the person's projected bounding box, made square and scaled like SPIN's crops
  (1.2x), with random scale and centre jitter, and occasional tight framings that truncate
  limbs.

Draw counts are fixed (every branch consumes the same numbers), so a generator seeded per
sample gives the same view whatever else changes in the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from model.geometry.rotations import axis_angle_to_matrix

#: Height above the ground (m) of the point a mounted camera's ray to the person aims at.
PERSON_CENTRE_M = 0.9
#: Nominal person height (m) used to turn a focal length and crop into a distance.
NOMINAL_HEIGHT_M = 1.7
#: Aspect ratio (height / width) of the full camera frame the person stands in.
FRAME_ASPECT = 9.0 / 16.0


@dataclass(frozen=True)
class FramingConfig:
    """How synthetic crops are framed (all angles in degrees, see the module docstring).

    Attributes:
        elevation_deg: limits of the view ray's elevation (0 = eye level, 60 = looking down steeply).
        eye_level_prob: share of eye-level cameras (the rest are mounted).
        eye_level_elevation_deg: elevation range of eye-level cameras, uniform.
        mount_height_m: height range of mounted cameras in metres, uniform.
        focal_range: crop focal length range in multiples of the crop side, sampled log-uniformly.
        lens_hfov_deg: horizontal field of view of the full camera frame, uniform; the person's
            position in that frame sets how oblique the view is. ``(0, 0)`` = always on the axis.
        eye_level_tilt_deg: tilt range of an eye-level camera's optical axis (> 0: down).
        mount_tilt_deg: tilt range of a mounted camera's optical axis (0 = level, 90 = straight down).
        box_scale: square crop side / person's projected box side (SPIN uses 1.2).
        centre_jitter: crop centre jitter as a fraction of the crop side (uniform, per axis).
        truncation_prob: probability of a tight framing that can cut limbs off.
        truncation_scale: box scale range of tight framings.
    """

    elevation_deg: tuple[float, float] = (-5.0, 60.0)
    eye_level_prob: float = 0.35
    eye_level_elevation_deg: tuple[float, float] = (-5.0, 10.0)
    mount_height_m: tuple[float, float] = (2.0, 6.0)
    focal_range: tuple[float, float] = (1.0, 22.0)
    lens_hfov_deg: tuple[float, float] = (40.0, 110.0)
    eye_level_tilt_deg: tuple[float, float] = (-10.0, 10.0)
    mount_tilt_deg: tuple[float, float] = (0.0, 85.0)
    box_scale: tuple[float, float] = (1.1, 1.35)
    centre_jitter: float = 0.06
    truncation_prob: float = 0.1
    truncation_scale: tuple[float, float] = (0.75, 1.0)

    def __post_init__(self) -> None:
        for name in ("elevation_deg", "eye_level_elevation_deg"):
            lo, hi = getattr(self, name)
            if not -10.0 <= lo <= hi <= 80.0:
                raise ValueError(f"{name} must satisfy -10 <= lo <= hi <= 80, got {(lo, hi)}")
        lo, hi = self.mount_height_m
        if not PERSON_CENTRE_M < lo <= hi <= 30.0:
            raise ValueError(f"mount_height_m must satisfy {PERSON_CENTRE_M} < lo <= hi <= 30, got {self.mount_height_m}")
        for name in ("eye_level_tilt_deg", "mount_tilt_deg"):
            lo, hi = getattr(self, name)
            if not -30.0 <= lo <= hi <= 90.0:
                raise ValueError(f"{name} must satisfy -30 <= lo <= hi <= 90, got {(lo, hi)}")
        lo, hi = self.lens_hfov_deg
        if not 0.0 <= lo <= hi <= 150.0:
            raise ValueError(f"lens_hfov_deg must satisfy 0 <= lo <= hi <= 150, got {self.lens_hfov_deg}")
        if not 0.1 <= self.focal_range[0] <= self.focal_range[1]:
            raise ValueError(f"focal_range must be increasing and >= 0.1, got {self.focal_range}")
        for name in ("box_scale", "truncation_scale"):
            a, b = getattr(self, name)
            if not 0.3 <= a <= b <= 3.0:
                raise ValueError(f"{name} must be increasing within [0.3, 3], got {(a, b)}")
        if not 0.0 <= self.centre_jitter <= 0.5 or not 0.0 <= self.truncation_prob <= 1.0:
            raise ValueError("centre_jitter must be in [0, 0.5] and truncation_prob in [0, 1]")
        if not 0.0 <= self.eye_level_prob <= 1.0:
            raise ValueError(f"eye_level_prob must be in [0, 1], got {self.eye_level_prob}")


@dataclass
class View:
    """Sampled viewpoint and intrinsics for a batch.

    Attributes:
        yaw: (B,) radians, rotation of the body about the world up axis.
        elevation: (B,) radians, elevation of the ray from the camera to the person (> 0: from above).
        focal: (B,) crop focal length in pixels.
        box_scale: (B,) crop side / projected person box side.
        centre_offset: (B, 2) crop centre offset, fraction of the crop side.
        off_axis: (B, 2) direction ``(x, y)`` of that ray in the full camera, ``(x, y, 1)`` in
            OpenCV axes (tangents of the angles off the optical axis; zeros = on the axis).
        camera_height: (B,) metres above the ground of a mounted camera, 0 for eye level.
    """

    yaw: Tensor
    elevation: Tensor
    focal: Tensor
    box_scale: Tensor
    centre_offset: Tensor
    off_axis: Tensor
    camera_height: Tensor


_VIEW_FIELDS = ("yaw", "elevation", "focal", "box_scale", "centre_offset", "off_axis", "camera_height")


def _uniform(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=gen))


def mounted_elevation(height: float, focal_mult: float, box_scale: float) -> float:
    """Elevation (radians, unclipped) of a camera ``height`` m high seeing a person framed at ``focal_mult`` S.

    ``atan((height - PERSON_CENTRE_M) / d)`` with the person's distance
    ``d = focal_mult * box_scale * NOMINAL_HEIGHT_M`` taken along the ground (a nominal
    distance: at steep views the foreshortened person is framed from closer, which this ignores).
    """
    distance = focal_mult * box_scale * NOMINAL_HEIGHT_M
    return math.atan2(height - PERSON_CENTRE_M, distance)


def frame_position(
    elevation: float, hfov_deg: float, u: float, v: float, tilt_deg: tuple[float, float] = (-90.0, 90.0)
) -> tuple[float, float]:
    """Ray direction ``(x, y)`` (tangents) of a person at frame position ``(u, v)`` in ``[-1, 1]^2``.

    The frame is 16:9 with horizontal field of view ``hfov_deg``. ``v`` spans the rows a ray at
    ``elevation`` can come from when the camera's tilt is within ``tilt_deg`` (about
    ``elevation - atan(y)``): far people seen by a camera tilted down are in the upper part of
    its frame, people below it in the lower part. ``u`` spans the frame's width, pulled in where
    a steep ray cannot reach its far sides (see :func:`camera_root_rotation`).
    """
    half = math.tan(math.radians(hfov_deg) / 2.0)
    half_v = half * FRAME_ASPECT
    y_lo = max(-half_v, math.tan(max(elevation - math.radians(tilt_deg[1]), -math.pi / 2 + 1e-6)))
    y_hi = min(half_v, math.tan(min(elevation - math.radians(tilt_deg[0]), math.pi / 2 - 1e-6)))
    if y_lo <= y_hi:
        y = y_lo + (v + 1.0) / 2.0 * (y_hi - y_lo)
    else:  # no tilt in range shows this ray: the frame edge nearest to it
        y = half_v if y_lo > 0 else -half_v
    # Off to the side, the same elevation needs a steeper tilt (|tilt| grows with |x|, see
    # camera_root_rotation): |x| stops where the tilt reaches its limit, or where the ray would
    # need the camera to look past straight down.
    x = u * half
    s = abs(math.sin(elevation))
    if s > 1e-6:
        limit = math.radians(tilt_deg[1]) + math.atan(y) if elevation > 0 else -(math.radians(tilt_deg[0]) + math.atan(y))
        limit = min(max(limit, abs(elevation)), math.pi / 2)
        x_max = math.sqrt(1.0 + y * y) * math.sqrt(max(0.0, (math.sin(limit) / s) ** 2 - 1.0))
        x = max(-x_max, min(x_max, x))
    return x, y


def sample_view(config: FramingConfig, crop_size: int, gen: torch.Generator) -> View:
    """One view ``(B=1)`` drawn from ``gen`` (a per-sample generator keeps samples reproducible).

    Always draws 13 numbers from ``gen``, whichever branch (mount, truncation) is taken.
    """
    yaw = _uniform(gen, -math.pi, math.pi)
    eye_level = float(torch.rand((), generator=gen)) < config.eye_level_prob
    eye_elevation = math.radians(_uniform(gen, *config.eye_level_elevation_deg))
    height = _uniform(gen, *config.mount_height_m)
    lo, hi = config.focal_range
    focal_mult = math.exp(_uniform(gen, math.log(lo), math.log(hi)))
    truncated = float(torch.rand((), generator=gen)) < config.truncation_prob
    scale = _uniform(gen, *(config.truncation_scale if truncated else config.box_scale))
    jitter = config.centre_jitter * (2.0 if truncated else 1.0)
    offset = [_uniform(gen, -jitter, jitter) for _ in range(2)]
    hfov = _uniform(gen, *config.lens_hfov_deg)
    u, v = _uniform(gen, -1.0, 1.0), _uniform(gen, -1.0, 1.0)
    elevation = eye_elevation if eye_level else mounted_elevation(height, focal_mult, scale)
    e_lo, e_hi = (math.radians(a) for a in config.elevation_deg)
    elevation = min(max(elevation, e_lo), e_hi)
    off_axis = frame_position(elevation, hfov, u, v, config.eye_level_tilt_deg if eye_level else config.mount_tilt_deg)
    return View(
        yaw=torch.tensor([yaw]),
        elevation=torch.tensor([elevation]),
        focal=torch.tensor([crop_size * focal_mult]),
        box_scale=torch.tensor([scale]),
        centre_offset=torch.tensor([offset]),
        off_axis=torch.tensor([off_axis]),
        camera_height=torch.tensor([0.0 if eye_level else height]),
    )


def concat_views(views: list[View]) -> View:
    """Stack single views into one batch."""
    return View(*(torch.cat([getattr(v, f) for v in views]) for f in _VIEW_FIELDS))


def camera_root_rotation(yaw: Tensor, elevation: Tensor, off_axis: Tensor | None = None) -> Tensor:
    """World (SMPL axes, y up) to crop-camera (OpenCV) rotation for a body seen at ``yaw``/``elevation``.

    On the axis (``off_axis`` None or zero): ``R = Rx(pi) @ Rx(elevation) @ Ry(yaw)``: yaw turns
    the body about the vertical, the elevation tilts its top towards the camera (seen from
    above), and ``Rx(pi)`` maps y-up/facing +z to the camera's y-down/z-forward so that yaw 0
    faces the camera.

    Off the axis, the full camera's optical axis is tilted by ``tau`` such that its ray
    ``d = (x, y, 1)`` to the person falls by ``elevation``: with world-down ``(0, cos tau, sin tau)``
    in camera axes, ``y cos(tau) + sin(tau) = |d| sin(elevation)``, i.e.
    ``tau = asin(|d| sin(elevation) / sqrt(1 + y^2)) - atan(y)``. The crop camera is that camera
    turned onto ``d`` by the smallest rotation ``R_v`` (``R_v d ~ z``), so
    ``R = R_v @ Rx(pi) @ Rx(tau) @ Ry(yaw)``: the person is still seen along a ray of the given
    elevation, but leaning and turned as at that place in the wide frame.

    Args:
        yaw: (B,) radians.
        elevation: (B,) radians, elevation of the ray to the person.
        off_axis: (B, 2) ray direction ``(x, y)`` in the full camera, or None.
    Returns:
        (B, 3, 3).
    """
    zeros = torch.zeros_like(yaw)
    ry = axis_angle_to_matrix(torch.stack([zeros, yaw, zeros], dim=-1))
    if off_axis is None:
        rx = axis_angle_to_matrix(torch.stack([elevation + math.pi, zeros, zeros], dim=-1))
        return rx @ ry
    off = off_axis.to(yaw)
    x, y = off[:, 0], off[:, 1]
    norm = torch.sqrt(1.0 + x * x + y * y)
    tilt = torch.asin((norm * torch.sin(elevation) / torch.sqrt(1.0 + y * y)).clamp(-1.0, 1.0)) - torch.atan(y)
    rx = axis_angle_to_matrix(torch.stack([tilt + math.pi, zeros, zeros], dim=-1))
    # Smallest rotation taking d / |d| to z: axis d x z = (y, -x, 0), angle acos(1 / |d|).
    sin_a = torch.sqrt(x * x + y * y) / norm
    angle = torch.atan2(sin_a, 1.0 / norm)
    ratio = torch.where(sin_a > 1e-9, angle / sin_a.clamp_min(1e-9), torch.ones_like(sin_a)) / norm
    rv = axis_angle_to_matrix(torch.stack([y * ratio, -x * ratio, zeros], dim=-1))
    return rv @ rx @ ry


def view_ray_elevation(rotation: Tensor) -> Tensor:
    """Elevation (B,) radians of the crop camera's optical axis for world-to-camera ``rotation`` (B, 3, 3).

    ``asin`` of the world-down direction's component along the camera's z axis.
    """
    return torch.asin((-rotation[:, 2, 1]).clamp(-1.0, 1.0))


def frame_person(points: Tensor, focal: Tensor, crop_size: int, box_scale: Tensor, centre_offset: Tensor, iterations: int = 4) -> Tensor:
    """Camera translation that frames root-relative camera-frame points in a square crop.

    Solves for ``t`` so the projected points' bounding box (its longer side times ``box_scale``)
    spans the crop and its centre sits at the crop centre plus ``centre_offset * crop_size``; a
    few fixed-point iterations correct for perspective.

    Args:
        points: (B, N, 3) body points (e.g. vertices) in camera axes, before translation.
        focal: (B,) focal length in pixels.
        crop_size: crop side S in pixels (principal point at S/2).
        box_scale: (B,) crop side / projected box side.
        centre_offset: (B, 2) fraction of S.
    Returns:
        (B, 3) translation ``t``; ``points + t[:, None]`` projects as requested.
    """
    target_side = crop_size / box_scale
    target_centre = centre_offset * crop_size  # relative to the principal point
    extent = (points.amax(1) - points.amin(1))[:, :2].amax(1)
    z = focal * extent / target_side
    t = torch.stack([-points[..., 0].mean(1), -points[..., 1].mean(1), z], dim=1)
    points = _extreme_candidates(points + t[:, None]) - t[:, None]
    for _ in range(iterations):
        side, centre = _projected_box(points + t[:, None], focal)
        t[:, 2] = t[:, 2] * side / target_side  # projected size scales as 1/depth
        side, centre = _projected_box(points + t[:, None], focal)
        t[:, :2] = t[:, :2] + (target_centre - centre) * t[:, 2:] / focal[:, None]
    return t


#: Points kept per box side by :func:`_extreme_candidates`.
EXTREME_CANDIDATES = 128


def _extreme_candidates(cam: Tensor, k: int = EXTREME_CANDIDATES) -> Tensor:
    """The points ``(B, <=4k, 3)`` that bound the projected box, for the fixed-point iterations.

    The iterations only move the camera a little (depth by the box-size ratio, a small sideways
    shift), so the points that end up on the box's sides are among the ``k`` most extreme in
    each of the four image directions at the first guess; projecting those instead of every
    vertex made ``frame_person`` 2.8x cheaper (34 -> 12 ms for 16 meshes of 13718 vertices, one
    thread). Meshes with at most ``4k`` points are returned whole.
    """
    if cam.shape[1] <= 4 * k:
        return cam
    uv = cam[..., :2] / cam[..., 2:].clamp_min(1e-3)
    idx = torch.cat([uv.topk(k, dim=1).indices, (-uv).topk(k, dim=1).indices], dim=1).flatten(1)  # (B, 4k)
    return torch.gather(cam, 1, idx[..., None].expand(-1, -1, 3))


def _projected_box(cam: Tensor, focal: Tensor) -> tuple[Tensor, Tensor]:
    """Longer side ``(B,)`` and centre ``(B, 2)`` of the projected box, relative to the principal point."""
    uv = focal[:, None, None] * cam[..., :2] / cam[..., 2:].clamp_min(1e-3)
    lo, hi = uv.amin(1), uv.amax(1)
    return (hi - lo).amax(1), (lo + hi) / 2
