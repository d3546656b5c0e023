"""Synthetic CCTV clips: GT consistency (3D joints project onto the crop keypoints, the body model
with ``pose``/``cam_t`` reproduces the joints), a static camera over a grounded world, tracker
crops following a walker, a moving camera that turns around the person, per-index reproducibility,
identity sets and the dataset wrapper."""

from __future__ import annotations

import pickle

import pytest
import torch

from model.data.motion import MotionConfig
from model.data.sequences import SequenceConfig, SequenceDataset, look_at, render_identity_set, render_sequence
from model.data.synthetic import KEYPOINT_LAYOUTS, SyntheticConfig, SyntheticPeople
from model.geometry.rotations import axis_angle_to_matrix

S, T = 48, 6
NUM_JOINTS = {"smpl24": 24, "coco17": 17, "lsp14": 14}
CONFIG = SequenceConfig(length=T, crop_size=S)
#: Always walking at a steady pace, at a low frame rate so that 6 frames cover 0.75 s.
WALK = SequenceConfig(
    length=T, fps=8.0, crop_size=S, cross_angle_deg=20.0,
    motion=MotionConfig(idle_prob=0.0, run_prob=0.0, start_stop_prob=0.0, walk_speed=(1.2, 1.6)),
)  # fmt: skip


@pytest.fixture(scope="module")
def people() -> SyntheticPeople:
    return SyntheticPeople(SyntheticConfig(crop_size=S))


@pytest.fixture(scope="module")
def clips(people: SyntheticPeople) -> list[dict[str, torch.Tensor]]:
    return [render_sequence(people, i, CONFIG) for i in range(3)]


@pytest.fixture(scope="module")
def walks(people: SyntheticPeople) -> list[dict[str, torch.Tensor]]:
    return [render_sequence(people, i, WALK) for i in range(3)]


def test_shapes(clips: list[dict[str, torch.Tensor]]) -> None:
    c = clips[0]
    assert c["image"].shape == (T, 3, S, S) and c["silhouette"].shape == (T, 1, S, S)
    assert 0.0 <= float(c["image"].min()) and float(c["image"].max()) <= 1.0
    assert c["betas"].shape == (T, 10) and c["pose"].shape == (T, 24, 3) and c["cam_t"].shape == (T, 3)
    assert c["focal"].shape == (T,) and c["principal"].shape == (T, 2) and c["crop_box"].shape == (T, 4)
    assert c["camera_rotation"].shape == (T, 3, 3) and c["camera_translation"].shape == (T, 3)
    assert (c["camera_rotation"] == c["camera_rotation"][0]).all()  # static
    assert (c["camera_translation"] == c["camera_translation"][0]).all()
    assert c["fps"].shape == () and float(c["fps"]) == CONFIG.fps
    for layout in KEYPOINT_LAYOUTS:
        assert c[f"joints3d_{layout}"].shape == (T, NUM_JOINTS[layout], 3)
        assert c[f"keypoints2d_{layout}"].shape == (T, NUM_JOINTS[layout], 3)
    assert (c["identity"] == c["identity"][0]).all() and (c["index"] == 0).all()
    assert (c["betas"] == c["betas"][0]).all()
    for clip in clips:
        assert (clip["silhouette"].flatten(1).sum(1) > 0.05 * S * S).all()  # the person is in every crop
        assert (clip["crop_box"][:, 2] == clip["crop_box"][:, 3]).all()
        assert torch.isfinite(clip["image"]).all()


def test_reproducible_per_index(people: SyntheticPeople, clips: list[dict[str, torch.Tensor]]) -> None:
    fresh = SyntheticPeople(SyntheticConfig(crop_size=S))  # own texture cache
    again = render_sequence(fresh, 1, CONFIG)
    for key, value in clips[1].items():
        assert torch.equal(value, again[key]), key
    assert not torch.equal(clips[0]["pose"], clips[1]["pose"])


def test_keypoints_are_projected_joints(clips: list[dict[str, torch.Tensor]]) -> None:
    for c in clips:
        for layout in KEYPOINT_LAYOUTS:
            j = c[f"joints3d_{layout}"]
            uv = c["focal"][:, None, None] * j[..., :2] / j[..., 2:] + c["principal"][:, None]
            kp = c[f"keypoints2d_{layout}"]
            assert torch.allclose(uv, kp[..., :2], atol=1e-2)
            inside = ((uv >= 0) & (uv < S)).all(-1).float()
            assert torch.equal(inside, kp[..., 2])
        # the principal point is the full frame's centre seen through the crop window
        box = c["crop_box"]
        expect = (c["frame_principal"] - box[:, :2]) * S / box[:, 2:3]
        assert torch.allclose(c["principal"], expect, atol=1e-3)
        assert torch.allclose(c["focal"], c["frame_focal"] * S / box[:, 2], rtol=1e-5)


def test_body_model_reproduces_joints(people: SyntheticPeople, clips: list[dict[str, torch.Tensor]]) -> None:
    for c in clips:
        out = people.body(c["betas"], c["pose"])
        for layout in KEYPOINT_LAYOUTS:
            joints = out.keypoints(layout) + c["cam_t"][:, None]
            assert (joints - c[f"joints3d_{layout}"]).norm(dim=-1).max() < 1e-3, layout


def test_static_camera_over_grounded_world(people: SyntheticPeople, clips: list[dict[str, torch.Tensor]]) -> None:
    for c in clips:
        rot, t = c["camera_rotation"][0], c["camera_translation"][0]
        assert torch.allclose(rot @ rot.T, torch.eye(3), atol=1e-5)
        assert abs(float(torch.linalg.det(rot)) - 1.0) < 1e-5
        assert abs(float(rot[0, 1])) < 1e-6  # no roll: the image x axis is horizontal
        eye = -rot.T @ t
        assert CONFIG.camera_height_range[0] - 1e-4 <= float(eye[1]) <= CONFIG.camera_height_range[1] + 1e-4
        # back to the world: the feet touch the ground, the body stays upright
        verts = people.body(c["betas"], c["pose"]).vertices + c["cam_t"][:, None]
        world = (verts - t) @ rot
        assert abs(float(world[..., 1].min())) < 2e-3
        world_root = rot.T @ axis_angle_to_matrix(c["pose"][:, 0])
        assert (world_root[:, 1, 1] > 0.8).all()  # the body's up axis is close to the world's
        # the camera looks down at the person, who stands 6-20 m away horizontally
        pelvis = (c["joints3d_smpl24"][:, 0] - t) @ rot
        horizontal = (pelvis - eye)[:, [0, 2]].norm(dim=-1)
        assert (horizontal > CONFIG.camera_distance_range[0] - 3.0).all()
        assert (horizontal < CONFIG.camera_distance_range[1] + 3.0).all()
        assert (c["joints3d_smpl24"][:, 0, 2] > 0).all()


def test_walker_crosses_the_view(walks: list[dict[str, torch.Tensor]]) -> None:
    for c in walks:
        box = c["crop_box"]
        centre = box[:, :2] + box[:, 2:] / 2
        shift = centre[-1] - centre[0]
        # ~1 m walked roughly across the view at <= 23 m moves the box by a good fraction of its side
        assert float(shift.norm()) > 0.25 * float(box[:, 2].mean())
        assert abs(float(shift[0])) > abs(float(shift[1]))


def test_keypoints_move_smoothly_in_the_crop(clips: list[dict[str, torch.Tensor]], walks: list[dict[str, torch.Tensor]]) -> None:
    for c in clips:  # 25 fps
        kp = c["keypoints2d_smpl24"][..., :2]
        accel = (kp[2:] - 2 * kp[1:-1] + kp[:-2]).norm(dim=-1)
        assert float(accel[:, 0].max()) < 0.05 * S  # the pelvis hardly moves in a tracked crop
        assert float(accel.max()) < 0.25 * S
    for c in walks:  # tracked: the person stays centred while walking across the frame
        kp = c["keypoints2d_smpl24"][..., :2]
        assert float((kp[:, 0] - S / 2).abs().max()) < 0.2 * S


#: The camera turns 60-90 degrees around a walker while following them.
ORBIT = SequenceConfig(length=T, crop_size=S, orbit_deg_range=(60.0, 90.0))


def _heading(rot: torch.Tensor) -> torch.Tensor:
    """Azimuth (radians) of the body's forward axis (+z) in the world's ground plane."""
    forward = rot[..., :, 2]
    return torch.atan2(forward[..., 0], forward[..., 2])


def test_moving_camera_turns_around_the_person(people: SyntheticPeople, clips: list[dict[str, torch.Tensor]]) -> None:
    for i in range(3):
        c = render_sequence(people, i, ORBIT)
        rot, t = c["camera_rotation"], c["camera_translation"]
        assert rot.shape == (T, 3, 3) and t.shape == (T, 3)
        assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3).expand(T, 3, 3), atol=1e-5)
        assert (rot[:, 0, 1].abs() < 1e-5).all()  # no roll in any frame
        # the same person and motion as the static clip of this index
        assert torch.equal(c["betas"], clips[i]["betas"])
        eye = -(rot.transpose(1, 2) @ t[..., None])[..., 0]
        assert torch.allclose(eye[:, 1], eye[0, 1].expand(T), atol=1e-4)  # constant height
        # the camera's azimuth around the scene turns by the drawn angle (60-90 degrees)
        look = rot[:, 2]  # optical axis in world
        azimuth = torch.atan2(look[:, 0], look[:, 2])
        turn = torch.rad2deg((azimuth[-1] - azimuth[0] + torch.pi) % (2 * torch.pi) - torch.pi).abs()
        assert 40.0 < float(turn) < 110.0
        # so the body's heading seen from the camera turns too, while it does not in the world
        world_root = rot.transpose(1, 2) @ axis_angle_to_matrix(c["pose"][:, 0])
        static_root = axis_angle_to_matrix(clips[i]["pose"][:, 0])
        seen = _heading(axis_angle_to_matrix(c["pose"][:, 0]))
        seen_turn = torch.rad2deg((seen[-1] - seen[0] + torch.pi) % (2 * torch.pi) - torch.pi).abs()
        static_turn = torch.rad2deg((_heading(static_root)[-1] - _heading(static_root)[0] + torch.pi) % (2 * torch.pi) - torch.pi).abs()
        assert float(seen_turn) > float(static_turn) + 20.0
        assert (world_root[:, 1, 1] > 0.8).all()
        # the person stays in the tracked crop and the labels stay consistent
        assert (c["silhouette"].flatten(1).sum(1) > 0.05 * S * S).all()
        j = c["joints3d_smpl24"]
        uv = c["focal"][:, None, None] * j[..., :2] / j[..., 2:] + c["principal"][:, None]
        assert torch.allclose(uv, c["keypoints2d_smpl24"][..., :2], atol=1e-2)
        out = people.body(c["betas"], c["pose"])
        assert (out.keypoints("smpl24") + c["cam_t"][:, None] - j).norm(dim=-1).max() < 1e-3


def test_identity_set(people: SyntheticPeople) -> None:
    views = render_identity_set(people, identity=7, views=3, start_index=10)
    assert views["image"].shape == (3, 3, S, S)
    assert (views["identity"] == 7).all()
    assert (views["betas"] == people.identity_betas(7)).all()
    poses = views["pose"][:, 1:]
    assert not torch.allclose(poses[0], poses[1]) and not torch.allclose(poses[1], poses[2])
    with pytest.raises(ValueError):
        render_identity_set(people, identity=7, views=0)


def test_dataset(clips: list[dict[str, torch.Tensor]]) -> None:
    data = SequenceDataset(4, CONFIG, SyntheticConfig(crop_size=224))
    assert len(data) == 4 and data.people_config.crop_size == S
    state = pickle.loads(pickle.dumps(data))  # worker-safe: the renderer is not pickled
    assert state._people is None
    item = data[2]
    assert torch.equal(item["image"], clips[2]["image"]) and torch.equal(item["pose"], clips[2]["pose"])
    assert torch.equal(data[-2]["image"], item["image"])
    with pytest.raises(IndexError):
        data[4]


def test_look_at() -> None:
    rot, t = look_at(torch.tensor([0.0, 3.0, -10.0]), torch.tensor([0.0, 1.0, 0.0]))
    target_cam = rot @ torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64) + t
    assert torch.allclose(target_cam[:2], torch.zeros(2, dtype=torch.float64), atol=1e-9) and float(target_cam[2]) > 0
    above = rot @ torch.tensor([0.0, 2.0, 0.0], dtype=torch.float64) + t
    assert float(above[1]) < 0  # world up is image up (y down)
    right = rot @ torch.tensor([-1.0, 1.0, 0.0], dtype=torch.float64) + t
    assert float(right[0]) > 0  # right-handed world, y up, looking along +z: world -x is image right
    with pytest.raises(ValueError):
        look_at(torch.tensor([0.0, 5.0, 0.0]), torch.tensor([0.0, 0.0, 0.0]))


@pytest.mark.parametrize(
    "kwargs",
    [{"length": 0}, {"fps": 0.0}, {"crop_size": 8}, {"frame_size": (8, 640)}, {"camera_height_range": (3.0, 2.0)},
     {"focal_range": (0.0, 10.0)}, {"box_scale": 0.1}, {"cross_angle_deg": 200.0}, {"box_jitter": 0.5},
     {"orbit_deg_range": (90.0, 30.0)}, {"orbit_deg_range": (-10.0, 30.0)}],
)  # fmt: skip
def test_config_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        SequenceConfig(**kwargs)
