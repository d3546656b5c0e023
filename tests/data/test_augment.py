"""Augmentation keeps image, 2D keypoints, 3D joints, pose and translation consistent."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from model.body import COCO17_NAMES, SMPL_JOINT_NAMES
from model.data.augment import AugmentConfig, augment_batch
from model.data.poses import mirror_pose
from model.data.synthetic import KEYPOINT_LAYOUTS, SyntheticConfig, SyntheticPeople

S = 64
K = 2
OFF = dict(channel_gain=0.0, brightness=0.0, contrast=0.0, noise_std=0.0)
FLIP_ONLY = AugmentConfig(flip_prob=1.0, rotation_prob=0.0, **OFF)
ROTATE_ONLY = AugmentConfig(flip_prob=0.0, rotation_prob=1.0, rotation_deg=30.0, **OFF)
TORSO_COCO = [COCO17_NAMES.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]


@pytest.fixture(scope="module")
def people() -> SyntheticPeople:
    return SyntheticPeople(SyntheticConfig(crop_size=S))


@pytest.fixture(scope="module")
def batch(people: SyntheticPeople) -> dict[str, torch.Tensor]:
    """A collated training-style batch: ``images (B, K, 3, S, S)`` plus the clean crop and GT."""
    out = people.generate([0, 1, 2])
    image = out.pop("image")
    out["image_hr"] = image
    # K "resolutions": the clean crop and a darker copy (augmentations must treat them alike).
    out["images"] = torch.stack([image, image * 0.5], dim=1)
    return out


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _project(joints: torch.Tensor, focal: torch.Tensor) -> torch.Tensor:
    return focal[:, None, None] * joints[..., :2] / joints[..., 2:] + S / 2


def _assert_projects(batch: dict[str, torch.Tensor]) -> None:
    for layout in KEYPOINT_LAYOUTS:
        uv = _project(batch[f"joints3d_{layout}"], batch["focal"])
        torch.testing.assert_close(uv, batch[f"keypoints2d_{layout}"][..., :2], atol=1e-3, rtol=0, msg=layout)


def _assert_pose_reproduces_joints(people: SyntheticPeople, batch: dict[str, torch.Tensor], atol: float) -> None:
    """``body(betas, pose) + cam_t`` gives ``joints3d`` (the GT stays one consistent body)."""
    out = people.body(batch["betas"], batch["pose"])
    for layout in KEYPOINT_LAYOUTS:
        torch.testing.assert_close(
            out.keypoints(layout) + batch["cam_t"][:, None], batch[f"joints3d_{layout}"], atol=atol, rtol=0, msg=layout
        )


def test_input_not_modified_and_noop_config(batch: dict[str, torch.Tensor]) -> None:
    before = {k: v.clone() for k, v in batch.items()}
    none = AugmentConfig(flip_prob=0.0, rotation_prob=0.0, **OFF)
    out = augment_batch(batch, none, _gen())
    for key in before:
        assert torch.equal(batch[key], before[key]), key  # the input batch is untouched
        torch.testing.assert_close(out[key], before[key], atol=1e-6, rtol=0, msg=key)


def test_flip_twice_is_identity(batch: dict[str, torch.Tensor]) -> None:
    once = augment_batch(batch, FLIP_ONLY, _gen(0))
    twice = augment_batch(once, FLIP_ONLY, _gen(1))
    for key in batch:
        torch.testing.assert_close(twice[key], batch[key], atol=1e-5, rtol=0, msg=key)
    # ... and once is a real change: the images are mirrored.
    assert torch.equal(once["image_hr"], batch["image_hr"].flip(-1))
    torch.testing.assert_close(once["images"], batch["images"].flip(-1), atol=1e-6, rtol=0)
    assert torch.equal(once["silhouette"], batch["silhouette"].flip(-1))


def test_flipped_keypoints_follow_the_picture(people: SyntheticPeople, batch: dict[str, torch.Tensor]) -> None:
    flipped = augment_batch(batch, FLIP_ONLY, _gen(0))
    _assert_projects(flipped)
    # x -> S - x with left and right swapped: the flipped left hip is where the right hip was.
    lh, rh = COCO17_NAMES.index("left_hip"), COCO17_NAMES.index("right_hip")
    kp, fkp = batch["keypoints2d_coco17"], flipped["keypoints2d_coco17"]
    torch.testing.assert_close(fkp[:, lh, 0], S - kp[:, rh, 0], atol=1e-4, rtol=0)
    torch.testing.assert_close(fkp[:, lh, 1:], kp[:, rh, 1:], atol=1e-6, rtol=0)
    # Flipped torso keypoints are still on the (flipped) silhouette.
    sil = F.max_pool2d(flipped["silhouette"], 3, 1, 1)[:, 0]
    pts = fkp[:, TORSO_COCO]
    vis = pts[..., 2] > 0.5
    px = pts[..., :2].floor().long().clamp(0, S - 1)
    rows = torch.arange(pts.shape[0])[:, None].expand_as(vis)
    assert (sil[rows, px[..., 1], px[..., 0]] > 0.5)[vis].all()
    # Translation mirrored.
    torch.testing.assert_close(flipped["cam_t"][:, 0], -batch["cam_t"][:, 0])
    torch.testing.assert_close(flipped["cam_t"][:, 1:], batch["cam_t"][:, 1:])


def test_mirrored_pose_poses_the_flipped_joints(people: SyntheticPeople, batch: dict[str, torch.Tensor]) -> None:
    """``mirror_pose`` + the flip permutations: the body posed with the flipped pose has the flipped
    3D joints (up to the body model's left/right asymmetry: well under a centimetre for the free
    model (< 0.1 mm measured); we allow 1 cm)."""
    flipped = augment_batch(batch, FLIP_ONLY, _gen(0))
    torch.testing.assert_close(flipped["pose"], mirror_pose(batch["pose"]))
    out = people.body(flipped["betas"], flipped["pose"])
    for layout in KEYPOINT_LAYOUTS:
        posed = out.keypoints(layout) - out.joints[:, :1]
        target = flipped[f"joints3d_{layout}"] - flipped["joints3d_smpl24"][:, :1]
        err = (posed - target).norm(dim=-1)
        assert err.max() < 0.01, (layout, float(err.max()))
        assert err.mean() < 0.003, (layout, float(err.mean()))
        # Without the permutation the left and right limbs would be swapped: much larger errors.
        unpermuted = batch[f"joints3d_{layout}"] * torch.tensor([-1.0, 1.0, 1.0]) - flipped["joints3d_smpl24"][:, :1]
        assert (posed - unpermuted).norm(dim=-1).max() > 0.1
    # And the absolute position: cam_t carries the body to the flipped joints.
    _assert_pose_reproduces_joints(people, flipped, atol=0.01)


def test_mirror_pose_is_an_involution() -> None:
    pose = torch.randn(5, 24, 3, generator=_gen(3)) * 0.5
    assert torch.equal(mirror_pose(mirror_pose(pose)), pose)
    m = mirror_pose(pose)
    lk, rk = SMPL_JOINT_NAMES.index("left_knee"), SMPL_JOINT_NAMES.index("right_knee")
    torch.testing.assert_close(m[:, lk], pose[:, rk] * torch.tensor([1.0, -1.0, -1.0]))


def _rotated_point(xy: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Apply the rotation that took keypoints ``before`` (B, N, 2) to ``after`` to points ``xy`` (B, 2)."""
    c = S / 2
    a = torch.atan2(after[..., 1] - c, after[..., 0] - c) - torch.atan2(before[..., 1] - c, before[..., 0] - c)
    angle = torch.atan2(torch.sin(a), torch.cos(a)).median(dim=1).values
    cos, sin = torch.cos(angle), torch.sin(angle)
    d = xy - c
    return torch.stack([cos * d[:, 0] - sin * d[:, 1], sin * d[:, 0] + cos * d[:, 1]], -1) + c


def test_rotation_moves_image_and_keypoints_together(people: SyntheticPeople, batch: dict[str, torch.Tensor]) -> None:
    b = batch["images"].shape[0]
    rows = torch.arange(b)
    # Per sample, the visible keypoint farthest from the centre (rotations move it most) that
    # stays inside the crop's inscribed circle whatever the angle.
    all_kp = batch["keypoints2d_coco17"]
    radius = (all_kp[..., :2] - S / 2).norm(dim=-1)
    radius = torch.where((all_kp[..., 2] > 0.5) & (radius < S / 2 - 4), radius, torch.zeros_like(radius))
    joint = radius.argmax(1)
    assert (radius[rows, joint] > S / 5).all()
    kp = all_kp[rows, joint, :2]
    # A bright dot at the keypoint (a small Gaussian centred on its sub-pixel position), on black.
    ys = torch.arange(S, dtype=torch.float32)[:, None] + 0.5
    xs = torch.arange(S, dtype=torch.float32)[None, :] + 0.5
    dots = torch.exp(-((xs - kp[:, 0, None, None]) ** 2 + (ys - kp[:, 1, None, None]) ** 2) / (2 * 1.2**2))
    dotted = dict(batch)
    dotted["images"] = dots[:, None, None].expand(b, K, 3, S, S).clone()
    out = augment_batch(dotted, ROTATE_ONLY, _gen(5))
    rot_kp = out["keypoints2d_coco17"][rows, joint, :2]
    # The keypoints did rotate (by up to 30 degrees about the centre).
    moved = (rot_kp - kp).norm(dim=-1)
    assert moved.max() > 3.0
    radius_before = (batch["keypoints2d_coco17"][..., :2] - S / 2).norm(dim=-1)
    radius_after = (out["keypoints2d_coco17"][..., :2] - S / 2).norm(dim=-1)
    torch.testing.assert_close(radius_after, radius_before, atol=1e-3, rtol=0)
    for i in range(b):
        for k in range(K):
            img = out["images"][i, k, 0]
            y, x = divmod(int(img.argmax()), S)
            assert math.hypot(x + 0.5 - rot_kp[i, 0], y + 0.5 - rot_kp[i, 1]) <= 1.5, (i, k)
            # Sub-pixel: the blob's centroid is the rotated keypoint.
            w = img / img.sum()
            centroid = torch.stack([(w * xs).sum(), (w * ys).sum()])
            assert (centroid - rot_kp[i]).norm() < 0.25, (i, k, centroid.tolist(), rot_kp[i].tolist())
    # Every keypoint of every layout rotated by the same angle about the crop centre.
    for layout in KEYPOINT_LAYOUTS:
        before, after = batch[f"keypoints2d_{layout}"][..., :2], out[f"keypoints2d_{layout}"][..., :2]
        for j in range(before.shape[1]):
            torch.testing.assert_close(_rotated_point(before[:, j], kp[:, None], rot_kp[:, None]), after[:, j], atol=1e-3, rtol=0)


def test_rotation_keeps_3d_consistent(people: SyntheticPeople, batch: dict[str, torch.Tensor]) -> None:
    out = augment_batch(batch, ROTATE_ONLY, _gen(5))
    _assert_projects(out)
    # Rotation about the optical axis: depths unchanged, joint distances unchanged.
    for layout in KEYPOINT_LAYOUTS:
        torch.testing.assert_close(out[f"joints3d_{layout}"][..., 2], batch[f"joints3d_{layout}"][..., 2], atol=1e-5, rtol=0)
    torch.testing.assert_close(out["cam_t"][:, 2], batch["cam_t"][:, 2], atol=1e-5, rtol=0)
    # The rotated root + translation pose the body onto the rotated joints.
    _assert_pose_reproduces_joints(people, out, atol=1e-4)
    # Silhouette rotated with the image: torso keypoints stay on it (bilinear edges: dilate 1 px).
    sil = F.max_pool2d((out["silhouette"] > 0.25).float(), 3, 1, 1)[:, 0]
    pts = out["keypoints2d_coco17"][:, TORSO_COCO]
    vis = pts[..., 2] > 0.5
    px = pts[..., :2].floor().long().clamp(0, S - 1)
    rows = torch.arange(pts.shape[0])[:, None].expand_as(vis)
    assert (sil[rows, px[..., 1], px[..., 0]] > 0.5)[vis].all()


def test_rotation_hides_keypoints_leaving_the_crop(batch: dict[str, torch.Tensor]) -> None:
    big = AugmentConfig(flip_prob=0.0, rotation_prob=1.0, rotation_deg=180.0, **OFF)
    for seed in range(3):
        out = augment_batch(batch, big, _gen(seed))
        kp = out["keypoints2d_smpl24"]
        inside = ((kp[..., :2] >= 0) & (kp[..., :2] < S)).all(-1)
        assert not (kp[..., 2].bool() & ~inside).any()
        # Visibility can only be lost, never gained.
        assert (kp[..., 2] <= batch["keypoints2d_smpl24"][..., 2]).all()


def test_colour_and_noise_change_only_pixels(batch: dict[str, torch.Tensor]) -> None:
    cfg = AugmentConfig(flip_prob=0.0, rotation_prob=0.0, channel_gain=0.4, brightness=0.2, contrast=0.3, noise_std=0.05)
    a = augment_batch(batch, cfg, _gen(9))
    b = augment_batch(batch, cfg, _gen(9))
    assert torch.equal(a["images"], b["images"])  # reproducible from the generator
    assert a["images"].min() >= 0 and a["images"].max() <= 1
    assert (a["images"] - batch["images"]).abs().mean() > 0.01
    for key in batch:
        if key != "images":
            assert torch.equal(a[key], batch[key]), key
    c = augment_batch(batch, cfg, _gen(10))
    assert not torch.equal(a["images"], c["images"])


def test_real_batch_without_3d_keys() -> None:
    """Missing keys are skipped: a real-data batch with only 2D keypoints is augmented."""
    imgs = torch.rand(2, 1, 3, S, S, generator=_gen(0))
    kp = torch.tensor([[[10.0, 20.0, 1.0]] * 17] * 2)
    out = augment_batch({"images": imgs, "keypoints2d_coco17": kp}, FLIP_ONLY, _gen(0))
    assert set(out) == {"images", "keypoints2d_coco17"}
    torch.testing.assert_close(out["keypoints2d_coco17"][..., 0], S - kp[..., 0])


def test_config_validation() -> None:
    for kwargs in ({"flip_prob": 1.5}, {"rotation_prob": -0.1}, {"rotation_deg": -1.0}, {"noise_std": -0.1},
                   {"grayscale_prob": 2.0}, {"random_conv_prob": -0.5}, {"random_conv_max_kernel": 4}, {"random_conv_max_kernel": 0}):
        with pytest.raises(ValueError):
            AugmentConfig(**kwargs)


def test_grayscale_gives_equal_channels_of_the_luminance() -> None:
    from model.data.augment import grayscale

    x = torch.rand(2, 3, 3, 8, 8, generator=_gen(1))
    g = grayscale(x)
    assert g.shape == x.shape and torch.equal(g[:, :, 0], g[:, :, 1]) and torch.equal(g[:, :, 1], g[:, :, 2])
    torch.testing.assert_close(g[:, :, 0], 0.299 * x[:, :, 0] + 0.587 * x[:, :, 1] + 0.114 * x[:, :, 2])


def test_random_convolution_keeps_statistics_and_shares_the_filter_across_copies() -> None:
    from model.data.augment import random_convolution

    one = torch.rand(3, 1, 3, 16, 16, generator=_gen(2))
    x = one.repeat(1, 2, 1, 1, 1)  # two identical resolution copies per sample
    y = random_convolution(x, 3, _gen(3))
    assert y.shape == x.shape
    assert torch.equal(y[:, 0], y[:, 1])  # one filter per sample, whatever the copy
    dims = (1, 3, 4)
    torch.testing.assert_close(y.mean(dim=dims), x.mean(dim=dims), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(dim=dims), x.std(dim=dims), atol=1e-4, rtol=1e-3)
    assert (y - x).abs().mean() > 0.01
    assert not torch.equal(random_convolution(x, 3, _gen(4)), y)


def test_appearance_randomisation_changes_only_pixels_and_keeps_copies_alike(batch: dict[str, torch.Tensor]) -> None:
    cfg = AugmentConfig(flip_prob=0.0, rotation_prob=0.0, grayscale_prob=0.5, random_conv_prob=1.0, **OFF)
    same = {**batch, "images": batch["images"][:, :1].repeat(1, 2, 1, 1, 1)}
    a = augment_batch(same, cfg, _gen(5))
    assert torch.equal(a["images"], augment_batch(same, cfg, _gen(5))["images"])  # reproducible
    assert torch.equal(a["images"][:, 0], a["images"][:, 1])  # the K copies of a sample get the same filter
    assert a["images"].min() >= 0 and a["images"].max() <= 1
    assert (a["images"] - same["images"]).abs().mean() > 0.01
    for key in batch:
        if key != "images":
            assert torch.equal(a[key], same[key]), key


def test_appearance_randomisation_off_draws_nothing(batch: dict[str, torch.Tensor], monkeypatch: pytest.MonkeyPatch) -> None:
    """With both probabilities 0 the step is skipped (no draws): runs made before the option replay exactly."""
    import model.data.augment as augment

    def refuse(*args: object) -> None:
        raise AssertionError("appearance randomisation ran while off")

    monkeypatch.setattr(augment, "_randomise_appearance", refuse)
    augment_batch(batch, AugmentConfig(), _gen(6))
    with pytest.raises(AssertionError, match="while off"):
        augment_batch(batch, AugmentConfig(grayscale_prob=0.1), _gen(6))
