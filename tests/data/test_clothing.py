"""Clothing geometry: skirts close the gap between the legs and widen the silhouette, padded tops
thicken it, backpacks and bags add meshes, absent accessories are invisible; the joints are the
body's."""

from __future__ import annotations

import math

import pytest
import torch

from model.body import load_body_model
from model.data.clothing import ACCESSORY_SLOTS, ClothingConfig, ClothingRig, Outfit
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.render import MeshRenderer, PerspectiveCameras

S = 128


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def rig(body) -> ClothingRig:
    return ClothingRig(body)


@pytest.fixture(scope="module")
def posed(body):
    """A body facing the camera (camera axes), legs apart, 4 m away."""
    pose = torch.zeros(1, 24, 3)
    pose[0, 0] = torch.tensor([math.pi, 0.0, 0.0])  # y up / facing +z -> camera's y down / facing it
    pose[0, 1] = torch.tensor([0.0, 0.0, 0.35])
    pose[0, 2] = torch.tensor([0.0, 0.0, -0.35])
    out = body(torch.zeros(1, 10), pose)
    root = torch.diag(torch.tensor([1.0, -1.0, -1.0]))
    up = torch.tensor([0.0, -1.0, 0.0])
    return out, root, up


def _silhouette(rig: ClothingRig, verts: torch.Tensor) -> torch.Tensor:
    cams = PerspectiveCameras(focal=torch.tensor([[300.0, 300.0]]), principal=torch.tensor([[S / 2, S / 2]]), image_size=(S, S))
    moved = verts + torch.tensor([0.0, 0.0, 4.0])
    return MeshRenderer().render(moved[None], rig.faces, cams).mask[0, 0] > 0.5


def test_plain_outfit_is_the_body(rig: ClothingRig, posed) -> None:
    out, root, up = posed
    v = rig.dress(out.vertices[0], out.joints[0], root, up, Outfit())
    n = rig.num_body_vertices
    assert v.shape == (n + rig.num_accessory_vertices, 3)
    assert torch.equal(v[:n], out.vertices[0])
    # absent accessories collapse to one point: degenerate faces, nothing drawn
    assert (v[n:] - out.joints[0, 0]).abs().max() == 0
    assert rig.faces.shape[0] == rig.body_faces.shape[0] + len(ACCESSORY_SLOTS) * rig._box_f.shape[0]


def test_skirt_closes_the_gap_between_the_legs(rig: ClothingRig, posed) -> None:
    out, root, up = posed
    bare = _silhouette(rig, rig.dress(out.vertices[0], out.joints[0], root, up, Outfit()))
    skirt = _silhouette(rig, rig.dress(out.vertices[0], out.joints[0], root, up, Outfit(skirt_hem=1.2, skirt_flare=0.2)))
    # the pixel column of the body's centre line, between hip and knee height
    hip_y = int(300 * float(out.joints[0, 1, 1]) / 4.0 + S / 2)
    knee_y = int(300 * float(out.joints[0, 4, 1]) / 4.0 + S / 2)
    mid = (hip_y + knee_y) // 2 + 2
    assert not bare[mid, S // 2 - 1 : S // 2 + 1].any()  # precondition: legs apart, a gap
    assert skirt[mid, S // 2 - 1 : S // 2 + 1].all()
    assert skirt.sum() > bare.sum() * 1.05
    # above the hips nothing changes
    assert torch.equal(skirt[: hip_y - 6], bare[: hip_y - 6])


def test_padded_top_and_accessories_widen_the_silhouette(rig: ClothingRig, posed) -> None:
    out, root, up = posed
    bare = _silhouette(rig, rig.dress(out.vertices[0], out.joints[0], root, up, Outfit()))
    padded = _silhouette(rig, rig.dress(out.vertices[0], out.joints[0], root, up, Outfit(puff=0.04)))
    assert padded.sum() > bare.sum() * 1.05
    bag = Outfit(bag=("hand", "left"), bag_size=(0.3, 0.25, 0.1))
    v = rig.dress(out.vertices[0], out.joints[0], root, up, bag)
    n = rig.num_body_vertices + rig.num_accessory_vertices // 2
    bag_v = v[n:]
    hand = out.joints[0, 22]
    assert float(bag_v[:, 1].min()) > float(hand[1])  # hangs below the hand (camera y is down)
    assert float(bag_v[:, 1].max() - bag_v[:, 1].min()) == pytest.approx(0.25, abs=0.01)  # its height hangs along gravity
    with_bag = _silhouette(rig, v)
    assert with_bag.sum() > bare.sum()
    pack = rig.dress(out.vertices[0], out.joints[0], root, up, Outfit(backpack=(0.3, 0.4, 0.2)))
    pack_v = pack[rig.num_body_vertices : n]
    assert float(pack_v[:, 2].mean()) > float(out.joints[0, 9, 2])  # behind the spine (further from the camera)


def test_paint_accessories_leaves_the_body_texels(rig: ClothingRig, body) -> None:
    from model.data.textures import get_atlas

    tex = torch.rand(3, 128, 128)
    painted = rig.paint_accessories(tex.clone(), Outfit(backpack_rgb=(1.0, 0.0, 0.0), bag_rgb=(0.0, 0.0, 1.0)))
    covered = get_atlas(body, 128).covered
    assert torch.equal(painted[:, covered], tex[:, covered])
    assert not torch.equal(painted, tex)


def test_clothing_changes_the_silhouette_not_the_joints() -> None:
    none = ClothingConfig(coat_prob=0, padded_prob=0, loose_prob=0, skirt_geometry=False, backpack_prob=0,
                          shoulder_bag_prob=0, hand_bag_prob=0)  # fmt: skip
    heavy = ClothingConfig(coat_prob=0.6, padded_prob=0.4, backpack_prob=1.0, shoulder_bag_prob=0.5, hand_bag_prob=0.5)
    base = {"crop_size": 64, "occluder_prob": 0.0, "second_person_prob": 0.0, "backgrounds": ("procedural",), "photo_dirs": ()}
    a = SyntheticPeople(SyntheticConfig(clothing=none, **base)).generate([0, 1, 2, 3])
    b = SyntheticPeople(SyntheticConfig(clothing=heavy, **base)).generate([0, 1, 2, 3])
    for key in ("betas", "pose"):
        assert torch.equal(a[key], b[key]), key
    for layout in ("smpl24", "coco17"):
        ra = a[f"joints3d_{layout}"] - a["cam_t"][:, None]
        rb = b[f"joints3d_{layout}"] - b["cam_t"][:, None]
        torch.testing.assert_close(ra, rb, atol=1e-5, rtol=0)
    for i in range(4):
        assert not torch.equal(a["silhouette"][i], b["silhouette"][i])


def test_config_validation() -> None:
    for kwargs in ({"coat_prob": -0.1}, {"backpack_prob": 1.2}, {"coat_prob": 0.7, "padded_prob": 0.5},
                   {"shoulder_bag_prob": 0.6, "hand_bag_prob": 0.6}):  # fmt: skip
        with pytest.raises(ValueError):
            ClothingConfig(**kwargs)


def test_outfits_stay_finite_and_attached_over_the_pose_prior(body, rig: ClothingRig) -> None:
    from model.data.poses import PosePrior

    poses = PosePrior().sample(24, torch.Generator().manual_seed(11)).pose
    crossed = torch.zeros(1, 24, 3)
    crossed[0, 1] = torch.tensor([0.0, 0.0, -0.5])  # left thigh across the right one
    crossed[0, 2] = torch.tensor([0.0, 0.0, 0.5])
    poses = torch.cat([poses, crossed])
    outfits = [
        Outfit(skirt_hem=1.5, skirt_flare=0.35, puff=0.05, backpack=(0.36, 0.46, 0.24), bag=("hand", "right")),
        Outfit(coat_hem=1.1, puff=0.03, bag=("shoulder", "left")),
    ]
    up = torch.tensor([0.0, 1.0, 0.0])
    for i in range(poses.shape[0]):
        out = body(torch.zeros(1, 10), poses[i : i + 1])
        for outfit in outfits:
            v = rig.dress(out.vertices[0], out.joints[0], torch.eye(3), up, outfit)
            assert torch.isfinite(v).all()
            # nothing is flung away from the body: every vertex within 0.7 m of some joint
            assert torch.cdist(v, out.joints[0]).min(1).values.max() < 0.7
