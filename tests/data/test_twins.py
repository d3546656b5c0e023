"""Twin pairs: the twin scene, pair rendering, shards degraded alike, the pair sampler, shared draws."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from model.body.joint_names import LSP14_FLIP_PERMUTATION
from model.data.augment import AugmentConfig, augment_batch
from model.data.dataset import ResolutionConfig
from model.data.shards import ShardDataset, write_shards
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.data.twins import TwinPairSampler, pair_base, partner_mask, shared_draws, twin_scene
from model.eval.metrics import mirror_twin, pa_mpjpe
from model.geometry.resolution import ResolutionRanges

S = 64


@pytest.fixture(scope="module")
def people() -> SyntheticPeople:
    return SyntheticPeople(SyntheticConfig(crop_size=S))


def test_twin_scene_poses_the_mirror_twin_at_the_same_place(people: SyntheticPeople) -> None:
    scenes = [people.sample_scene(i) for i in (0, 1, 2)]
    truth = people.render(scenes)
    placed = [dataclasses.replace(sc, cam_t=t) for sc, t in zip(scenes, truth["cam_t"])]
    twin = people.render([twin_scene(sc) for sc in placed])
    gap = pa_mpjpe(twin["joints3d_lsp14"].float(), mirror_twin(truth["joints3d_lsp14"].float(), LSP14_FLIP_PERMUTATION))
    assert float(gap.max()) < 0.5  # mm
    pelvis = twin["joints3d_smpl24"][:, 0]
    torch.testing.assert_close(pelvis, truth["joints3d_smpl24"][:, 0])
    # the depth mirror about the pelvis: x and y of every joint kept relative to it, z negated
    rel_t = truth["joints3d_lsp14"] - truth["joints3d_smpl24"][:, :1]
    rel_w = (twin["joints3d_lsp14"] - pelvis[:, None])[:, list(LSP14_FLIP_PERMUTATION)]
    torch.testing.assert_close(rel_w * torch.tensor([1.0, 1.0, -1.0]), rel_t, atol=1e-4, rtol=0)
    twice = twin_scene(twin_scene(scenes[0]))
    torch.testing.assert_close(twice.body_pose, scenes[0].body_pose, atol=1e-4, rtol=0)


def test_pair_base_and_partner_mask() -> None:
    assert [pair_base(i) for i in (10, 11, 12)] == [10, 10, 12]
    # pairs (10, 11) and (20, 21); (13, 14) is not a pair (starts odd), (30, 32) neither; the odd last sample is left out
    index = torch.tensor([10, 11, 13, 14, 20, 21, 30, 32, 40])
    assert partner_mask(index).tolist() == [True, False, True, False]
    assert shared_draws(index).tolist() == [0, 0, 2, 3, 4, 4, 6, 7, 8]


def test_twin_pair_generation_matches_the_scene_and_its_twin() -> None:
    plain = SyntheticPeople(SyntheticConfig(crop_size=S, seed=5))
    paired = SyntheticPeople(SyntheticConfig(crop_size=S, seed=5, twin_pairs=True))
    out = paired.generate([7, 4, 5, 6])  # any order, a pair split across the ask, an odd index alone
    assert out["index"].tolist() == [7, 4, 5, 6]
    base = plain.generate([4, 6])
    # the even index is exactly the plain generator's scene
    for key in ("image", "joints3d_lsp14", "cam_t", "betas", "pose"):
        torch.testing.assert_close(out[key][1], base[key][0])
        torch.testing.assert_close(out[key][3], base[key][1])
    # the odd index: the twin, same person and place, the depth-mirror pose
    for twin, scene in ((2, 1), (0, 3)):
        torch.testing.assert_close(out["cam_t"][twin], out["cam_t"][scene])
        torch.testing.assert_close(out["betas"][twin], out["betas"][scene])
        assert out["identity"][twin] == out["identity"][scene] and out["family"][twin] == out["family"][scene]
        gap = pa_mpjpe(out["joints3d_lsp14"][twin : twin + 1].float(), mirror_twin(out["joints3d_lsp14"][scene : scene + 1].float(), LSP14_FLIP_PERMUTATION))
        assert float(gap.max()) < 0.5
        assert not torch.equal(out["image"][twin], out["image"][scene])


def test_shards_of_twin_pairs_are_degraded_alike(tmp_path) -> None:
    config = SyntheticConfig(crop_size=S, seed=3, twin_pairs=True)
    write_shards(tmp_path, 4, config, start=10, shard_size=4, show_progress=False)
    res = ResolutionConfig(ranges=ResolutionRanges((64, 48, 32, 24)), out_size=S, per_sample=2)
    data = ShardDataset(tmp_path, res)
    assert data.twin_pairs and data.synthetic_config.twin_pairs
    a, b, c = data[0], data[1], data[2]
    assert (int(a["index"]), int(b["index"])) == (10, 11)
    assert torch.equal(a["sizes"], b["sizes"]) and torch.equal(a["range_index"], b["range_index"])
    assert not torch.equal(a["images"], b["images"])  # the same cut and degradation of different poses
    assert not torch.equal(a["sizes"], c["sizes"]) or not torch.equal(a["images"], c["images"])


def test_twin_pair_sampler_draws_whole_pairs() -> None:
    order = list(TwinPairSampler(9, torch.Generator().manual_seed(0)))
    assert len(order) == 8 and sorted(order) == list(range(8))
    assert all(order[i] % 2 == 0 and order[i + 1] == order[i] + 1 for i in range(0, 8, 2))
    # weights: pairs drawn with replacement by their first sample's weight (pair 1 only)
    weights = torch.tensor([0.0, 5.0, 1.0, 1.0, 0.0, 0.0])
    drawn = list(TwinPairSampler(6, torch.Generator().manual_seed(1), weights))
    assert drawn == [2, 3] * 3
    with pytest.raises(ValueError, match="at least 2"):
        TwinPairSampler(1)
    with pytest.raises(ValueError, match="shape"):
        TwinPairSampler(4, weights=torch.ones(3))


def test_twin_pair_sampler_mixes_pairs_and_singles_by_share() -> None:
    sampler = TwinPairSampler(40, torch.Generator().manual_seed(3), pair_share=0.5, batch_size=8)
    order = list(sampler)
    # 2 whole pairs + 4 singles per batch use 6 of the 20 pairs: 3 whole batches
    assert len(sampler) == 24 and len(order) == 24
    seen: set[int] = set()
    for b in range(3):
        batch = torch.tensor(order[8 * b : 8 * b + 8])
        assert partner_mask(batch).tolist() == [True, True, False, False]
        pairs = [pair_base(i) for i in batch.tolist()]
        assert len(set(pairs)) == 6  # the singles are members of six further, different pairs
        assert not seen & set(pairs)  # an epoch uses each pair once
        seen |= set(pairs)
    assert {i % 2 for i in order[4::8] + order[5::8] + order[6::8] + order[7::8]} == {0, 1}  # scenes and twins
    assert partner_mask(torch.tensor(list(TwinPairSampler(40, torch.Generator().manual_seed(3), pair_share=0.0, batch_size=8)))).sum() == 0
    with pytest.raises(ValueError, match="even batch_size"):
        TwinPairSampler(40, pair_share=0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        TwinPairSampler(40, pair_share=1.5, batch_size=8)
    with pytest.raises(ValueError, match="cannot fill"):
        TwinPairSampler(6, pair_share=0.5, batch_size=8)


def test_augmentation_shares_a_pairs_draws() -> None:
    b, s = 6, 16
    batch = {"images": torch.rand(b, 1, 3, s, s).expand(b, 1, 3, s, s).clone(), "keypoints2d_coco17": torch.rand(b, 17, 3) * s}
    batch["images"][1] = batch["images"][0]  # a pair with equal pictures stays equal
    shared = shared_draws(torch.tensor([10, 11, 20, 22, 30, 31]))
    config = AugmentConfig(flip_prob=0.5, rotation_prob=1.0, noise_std=0.0)
    out = augment_batch(batch, config, torch.Generator().manual_seed(3), shared)
    torch.testing.assert_close(out["images"][1], out["images"][0])
    # the same draws are taken with and without sharing: unshared samples come out the same
    plain = augment_batch(batch, config, torch.Generator().manual_seed(3))
    for i in (0, 2, 3, 4):
        torch.testing.assert_close(out["images"][i], plain["images"][i])
