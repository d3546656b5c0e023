"""Framing: camera root rotation (upright, facing the camera, seen from above, off the axis), view draws and crop framing."""

from __future__ import annotations

import math

import pytest
import torch

from model.body import COCO17_NAMES, SMPL_JOINT_NAMES, load_body_model
from model.data.framing import (
    FramingConfig,
    _projected_box,
    camera_root_rotation,
    concat_views,
    frame_person,
    frame_position,
    mounted_elevation,
    sample_view,
    view_ray_elevation,
)

HEAD = SMPL_JOINT_NAMES.index("head")
PELVIS = SMPL_JOINT_NAMES.index("pelvis")
ANKLES = [SMPL_JOINT_NAMES.index("left_ankle"), SMPL_JOINT_NAMES.index("right_ankle")]
NOSE = COCO17_NAMES.index("nose")


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def _posed(body, yaw: list[float], elevation: list[float]):
    """Body in the zero pose seen from ``yaw``/``elevation`` (pose with root = camera rotation)."""
    b = len(yaw)
    rot = camera_root_rotation(torch.tensor(yaw), torch.tensor(elevation))
    pose = torch.eye(3).expand(b, 24, 3, 3).clone()
    pose[:, 0] = rot
    return body(torch.zeros(b, 10), pose)


def test_camera_root_rotation_is_a_rotation() -> None:
    r = camera_root_rotation(torch.tensor([0.0, 1.0, -2.5]), torch.tensor([0.0, 0.3, 0.7]))
    assert r.shape == (3, 3, 3)
    torch.testing.assert_close(r @ r.transpose(1, 2), torch.eye(3).expand(3, 3, 3), atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(3), atol=1e-6, rtol=0)


def test_yaw0_upright_and_facing_camera(body) -> None:
    out = _posed(body, [0.0], [0.0])
    j, nose = out.joints[0], out.coco17[0, NOSE]
    # OpenCV camera axes: y down, z forward. Upright = head above feet = smaller y.
    assert j[HEAD, 1] < j[ANKLES, 1].min() - 1.0  # more than a metre apart
    # Facing the camera: the nose is in front of the head centre (closer to the camera).
    assert nose[2] < j[HEAD, 2] - 0.03
    # Eye level: head and feet at about the same depth; upright: head and feet at about the same x.
    assert abs(float(j[HEAD, 2] - j[ANKLES, 2].mean())) < 0.1
    assert abs(float(j[HEAD, 0] - j[ANKLES, 0].mean())) < 0.1
    # Facing the camera, the person's left is on the viewer's right (camera +x).
    left_hip, right_hip = out.joints[0, SMPL_JOINT_NAMES.index("left_hip")], out.joints[0, SMPL_JOINT_NAMES.index("right_hip")]
    assert left_hip[0] > right_hip[0]


def test_yaw_pi_faces_away(body) -> None:
    out = _posed(body, [math.pi], [0.0])
    j, nose = out.joints[0], out.coco17[0, NOSE]
    assert j[HEAD, 1] < j[ANKLES, 1].min() - 1.0
    assert nose[2] > j[HEAD, 2] + 0.03


def test_elevation_shows_camera_above(body) -> None:
    out = _posed(body, [0.0, 0.0, 1.0], [0.0, math.radians(30), math.radians(30)])
    head_z = out.joints[:, HEAD, 2]
    feet_z = out.joints[:, ANKLES, 2].mean(1)
    height = (out.joints[:, ANKLES, 1].mean(1) - out.joints[:, HEAD, 1])
    # Seen from above, the head is closer to the camera than the feet, by about h*sin(elevation).
    assert abs(float(head_z[0] - feet_z[0])) < 0.1
    for i in (1, 2):
        assert head_z[i] < feet_z[i] - 0.5
        assert float(feet_z[i] - head_z[i]) == pytest.approx(float(height[0]) * math.sin(math.radians(30)), abs=0.1)
        assert height[i] > 0  # still upright in the image


def _box_after_framing(points: torch.Tensor, focal: torch.Tensor, s: int, scale: torch.Tensor, offset: torch.Tensor):
    t = frame_person(points, focal, s, scale, offset)
    return t, *_projected_box(points + t[:, None], focal)


@pytest.mark.parametrize("focal_mult", [1.3, 5.5, 22.0])
@pytest.mark.parametrize("s", [64, 224])
def test_frame_person_box_size_and_centre(body, focal_mult: float, s: int) -> None:
    out = _posed(body, [0.0, 2.0, -1.0], [0.0, 0.5, 0.2])
    pts = out.vertices
    b = pts.shape[0]
    focal = torch.full((b,), focal_mult * s)
    scale = torch.tensor([1.2, 1.0, 0.8])
    offset = torch.tensor([[0.0, 0.0], [0.06, -0.04], [-0.1, 0.12]])
    t, side, centre = _box_after_framing(pts, focal, s, scale, offset)
    assert (t[:, 2] > 0).all()
    torch.testing.assert_close(side, s / scale, atol=0.5, rtol=0)
    torch.testing.assert_close(centre, offset * s, atol=0.5, rtol=0)
    # Independently projected (pixel coordinates with the principal point at S/2).
    cam = pts + t[:, None]
    uv = focal[:, None, None] * cam[..., :2] / cam[..., 2:] + s / 2
    lo, hi = uv.amin(1), uv.amax(1)
    torch.testing.assert_close((lo + hi) / 2, s / 2 + offset * s, atol=0.5, rtol=0)
    torch.testing.assert_close((hi - lo).amax(1), s / scale, atol=0.5, rtol=0)


def test_frame_person_depth_scales_with_focal(body) -> None:
    pts = _posed(body, [0.3, 0.3], [0.2, 0.2]).vertices
    s = 96
    t = frame_person(pts, torch.tensor([22.0 * s, 11.0 * s]), s, torch.tensor([1.2, 1.2]), torch.zeros(2, 2))
    # At long focal lengths perspective is weak: halving the focal about halves the distance.
    assert float(t[0, 2] / t[1, 2]) == pytest.approx(2.0, rel=0.02)


def test_sample_view_ranges_and_reproducible() -> None:
    cfg = FramingConfig()
    s = 96
    views = [sample_view(cfg, s, torch.Generator().manual_seed(i)) for i in range(400)]
    v = concat_views(views)
    assert v.yaw.shape == (400,) and v.centre_offset.shape == (400, 2) and v.off_axis.shape == (400, 2)
    assert (v.yaw.abs() <= math.pi).all()
    lo, hi = (math.radians(a) for a in cfg.elevation_deg)
    assert (v.elevation >= lo - 1e-6).all() and (v.elevation <= hi + 1e-6).all()
    assert (v.focal >= cfg.focal_range[0] * s - 1e-3).all() and (v.focal <= cfg.focal_range[1] * s + 1e-3).all()
    assert (v.box_scale >= 0.75 - 1e-6).all() and (v.box_scale <= 1.35 + 1e-6).all()
    assert (v.centre_offset.abs() <= 0.12 + 1e-6).all()
    # Log-uniform focal: the median is near the geometric mean of the range.
    assert float(v.focal.median()) / s == pytest.approx(math.sqrt(cfg.focal_range[0] * cfg.focal_range[1]), rel=0.35)
    # A mix of eye-level and mounted cameras, mounted ones 2-6 m high.
    mounted = v.camera_height > 0
    assert float(mounted.float().mean()) == pytest.approx(1 - cfg.eye_level_prob, abs=0.08)
    assert (v.camera_height[mounted] >= 2.0).all() and (v.camera_height[mounted] <= 6.0).all()
    eye = v.elevation[~mounted].rad2deg()
    assert (eye >= cfg.eye_level_elevation_deg[0] - 1e-4).all() and (eye <= cfg.eye_level_elevation_deg[1] + 1e-4).all()
    # Mounted cameras: a real share of steep views (>= 30 degrees), some at the 60 degree limit.
    steep = v.elevation[mounted].rad2deg()
    assert float((steep >= 30).float().mean()) > 0.2 and float(steep.max()) == pytest.approx(60.0, abs=1e-3)
    # Off the axis: up to the half field of view of the widest lens (55 degrees), often beyond 20.
    angle = torch.atan(v.off_axis.norm(dim=1)).rad2deg()
    assert float(angle.max()) <= 58.0 and float((angle > 20).float().mean()) > 0.3
    again = sample_view(cfg, s, torch.Generator().manual_seed(7))
    for name in ("yaw", "elevation", "focal", "box_scale", "centre_offset", "off_axis", "camera_height"):
        assert torch.equal(getattr(again, name), getattr(views[7], name))


def test_mounted_elevation_follows_height_and_distance() -> None:
    # Distance = 2 * 1.0 * 1.7 = 3.4 m along the ground; a 4.3 m camera sees the 0.9 m centre 45 degrees down.
    assert mounted_elevation(4.3, 2.0, 1.0) == pytest.approx(math.radians(45.0))
    assert mounted_elevation(6.0, 20.0, 1.2) < mounted_elevation(6.0, 2.0, 1.2) < mounted_elevation(6.0, 1.0, 1.2)
    assert mounted_elevation(2.0, 5.0, 1.2) < mounted_elevation(6.0, 5.0, 1.2)


@pytest.mark.parametrize("elevation_deg", [0.0, 20.0, 45.0, 60.0, -5.0])
@pytest.mark.parametrize("position", [(1.0, 1.0), (-1.0, -1.0), (0.7, -0.2), (0.0, 0.0)])
def test_off_axis_rotation_keeps_the_ray_elevation(elevation_deg: float, position: tuple[float, float]) -> None:
    elevation = math.radians(elevation_deg)
    x, y = frame_position(elevation, 110.0, *position)
    rot = camera_root_rotation(torch.tensor([0.4]), torch.tensor([elevation]), torch.tensor([[x, y]]))
    torch.testing.assert_close(rot @ rot.transpose(1, 2), torch.eye(3)[None], atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(1), atol=1e-6, rtol=0)
    assert float(view_ray_elevation(rot)) == pytest.approx(elevation, abs=1e-5)
    # On the axis it is the plain camera rotation.
    plain = camera_root_rotation(torch.tensor([0.4]), torch.tensor([elevation]))
    same = camera_root_rotation(torch.tensor([0.4]), torch.tensor([elevation]), torch.zeros(1, 2))
    torch.testing.assert_close(same, plain, atol=1e-6, rtol=0)


def test_frame_position_limits() -> None:
    half = math.tan(math.radians(55.0))
    assert frame_position(0.0, 110.0, 1.0, 1.0) == pytest.approx((half, half * 9 / 16))
    # A steep ray cannot come from the far sides of the frame: at the top row the camera is
    # already tilted 85 degrees down (x = 0); lower, |x| stops where the tilt reaches 85 degrees.
    x, y = frame_position(math.radians(60.0), 110.0, 1.0, -1.0, (0.0, 85.0))
    assert math.degrees(math.atan(y)) == pytest.approx(60.0 - 85.0) and x == pytest.approx(0.0, abs=1e-6)
    clamped = 0
    for v in (-0.9, -0.5, 0.0, 0.5, 1.0):
        x, y = frame_position(math.radians(60.0), 110.0, 1.0, v, (0.0, 85.0))
        ratio = math.sqrt(1 + x * x + y * y) * math.sin(math.radians(60.0)) / math.sqrt(1 + y * y)
        tilt = math.degrees(math.asin(min(ratio, 1.0)) - math.atan(y))
        assert 0 < x <= half and tilt <= 85.0 + 1e-6 and ratio <= 1.0 + 1e-9
        if x < half:  # pulled in: to the tilt limit, or to where the ray meets the ground straight down
            clamped += 1
            assert tilt == pytest.approx(85.0) or ratio == pytest.approx(1.0)
    assert clamped >= 2
    # A camera tilted down sees far (nearly level) people in the upper half of its frame only.
    for v in (-1.0, 0.0, 1.0):
        _, y = frame_position(math.radians(5.0), 90.0, 0.0, v, (0.0, 85.0))
        assert -0.5625 - 1e-9 <= y <= math.tan(math.radians(5.0)) + 1e-9
    # Eye level (tilt -10..10): the person is near the middle row.
    for v in (-1.0, 1.0):
        _, y = frame_position(0.0, 90.0, 0.0, v, (-10.0, 10.0))
        assert abs(math.degrees(math.atan(y))) <= 10.0 + 1e-6
    # No tilt in range can show the ray: the nearest frame edge.
    assert frame_position(math.radians(80.0), 40.0, 0.0, 0.0, (0.0, 30.0))[1] == pytest.approx(math.tan(math.radians(20.0)) * 9 / 16)


def test_sampled_camera_tilts_stay_in_their_ranges() -> None:
    """The optical-axis tilt implied by elevation and frame row (x = 0: elevation - atan(y))."""
    cfg = FramingConfig()
    for i in range(300):
        v = sample_view(cfg, 64, torch.Generator().manual_seed(i))
        x, y = (float(a) for a in v.off_axis[0])
        e = float(v.elevation[0])
        n, a = math.sqrt(1 + x * x + y * y), math.sqrt(1 + y * y)
        tilt = math.degrees(math.asin(max(-1.0, min(1.0, n * math.sin(e) / a))) - math.atan(y))
        lo, hi = cfg.mount_tilt_deg if float(v.camera_height[0]) > 0 else cfg.eye_level_tilt_deg
        assert lo - 1.0 <= tilt <= hi + 1.0, (i, tilt)


def test_person_at_the_frame_edge_leans_outwards(body) -> None:
    """Verticals of an elevated camera converge to the nadir below the frame: a person on the right
    of a wide frame leans right (head right of the feet), one on the left leans left, one in the
    middle stands straight."""
    elevation = torch.full((3,), math.radians(40.0))
    off = torch.tensor([[0.9, 0.2], [-0.9, 0.2], [0.0, 0.2]])
    rot = camera_root_rotation(torch.zeros(3), elevation, off)
    pose = torch.eye(3).expand(3, 24, 3, 3).clone()
    pose[:, 0] = rot
    j = body(torch.zeros(3, 10), pose).joints
    lean = j[:, HEAD, 0] - j[:, ANKLES, 0].mean(1)  # camera x: right in the image
    assert lean[0] > 0.2 and lean[1] < -0.2 and abs(float(lean[2])) < 0.05
    torch.testing.assert_close(lean[0], -lean[1], atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"elevation_deg": (-20.0, 10.0)},
        {"elevation_deg": (30.0, 10.0)},
        {"elevation_deg": (0.0, 90.0)},
        {"eye_level_elevation_deg": (10.0, 5.0)},
        {"mount_height_m": (0.5, 6.0)},
        {"mount_height_m": (6.0, 2.0)},
        {"lens_hfov_deg": (40.0, 170.0)},
        {"eye_level_prob": 1.5},
        {"mount_tilt_deg": (0.0, 100.0)},
        {"eye_level_tilt_deg": (10.0, -10.0)},
        {"focal_range": (5.0, 2.0)},
        {"focal_range": (0.05, 2.0)},
        {"box_scale": (1.3, 1.1)},
        {"box_scale": (0.1, 1.0)},
        {"truncation_scale": (0.5, 4.0)},
        {"centre_jitter": 0.6},
        {"centre_jitter": -0.1},
        {"truncation_prob": 1.5},
    ],
)
def test_framing_config_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FramingConfig(**kwargs)


def test_framing_config_accepts_edges() -> None:
    FramingConfig(elevation_deg=(-10.0, 80.0), focal_range=(0.1, 0.1), box_scale=(0.3, 3.0), centre_jitter=0.5, truncation_prob=1.0)
