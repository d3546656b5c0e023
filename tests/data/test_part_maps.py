"""Part maps: rendered with the scene (only where the body shows), cut, flipped and turned with the picture."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from model.body.parts import NUM_PART_CLASSES, PART_FLIP_PERMUTATION, part_class_names
from model.data.augment import AugmentConfig, augment_batch
from model.data.partial_view import _recrop
from model.data.synthetic import SyntheticConfig, SyntheticPeople

S = 64


@pytest.fixture(scope="module")
def rendered() -> tuple[list, dict[str, torch.Tensor]]:
    people = SyntheticPeople(SyntheticConfig(crop_size=S, seed=2, part_maps=True))
    scenes = [people.sample_scene(i) for i in range(6)]
    return scenes, people.render(scenes)


def test_parts_show_where_the_body_shows(rendered) -> None:
    scenes, out = rendered
    parts = out["parts"]
    assert parts.shape == (6, 1, S, S) and parts.dtype == torch.uint8 and int(parts.max()) < NUM_PART_CLASSES
    body = parts[:, 0] > 0
    assert bool((body <= (out["silhouette"][:, 0] > 0.5)).all())  # never outside the amodal silhouette
    assert int(body.sum()) > 0
    # without the part maps the render is the same picture
    plain = SyntheticPeople(SyntheticConfig(crop_size=S, seed=2)).render(scenes)
    assert "parts" not in plain
    torch.testing.assert_close(plain["image"], out["image"])


def test_occluded_pixels_are_background() -> None:
    people = SyntheticPeople(SyntheticConfig(crop_size=S, seed=4, part_maps=True, occluder_prob=1.0))
    scenes = [people.sample_scene(i) for i in range(4)]
    clear = people.render([dataclasses.replace(sc, occluder=None) for sc in scenes])
    hidden = people.render(scenes)
    lost = (clear["parts"] > 0) & (hidden["parts"] == 0)
    assert int(lost.sum()) > 0  # an occluder in front of some of the body takes its labels away
    kept = hidden["parts"] > 0
    assert torch.equal(hidden["parts"][kept], clear["parts"][kept])


def test_a_cut_keeps_whole_classes(rendered) -> None:
    _, out = rendered
    sample = {"image": out["image"][0].clone(), "silhouette": out["silhouette"][0].clone(), "parts": out["parts"][0].clone()}
    _recrop(sample, 8.0, 4.0, 40.0)
    assert sample["parts"].dtype == torch.uint8
    assert set(torch.unique(sample["parts"]).tolist()) <= set(torch.unique(out["parts"][0]).tolist())


def test_a_flip_swaps_left_and_right_parts(rendered) -> None:
    _, out = rendered
    b = out["parts"].shape[0]
    batch = {"images": out["image"][:, None].clone(), "parts": out["parts"].clone()}
    flipped = augment_batch(batch, AugmentConfig(flip_prob=1.0, rotation_prob=0.0, noise_std=0.0), torch.Generator().manual_seed(0))
    perm = torch.tensor(PART_FLIP_PERMUTATION)
    assert torch.equal(flipped["parts"], perm[out["parts"].flip(-1).long()].to(torch.uint8))
    names = part_class_names()
    left = [i for i, n in enumerate(names) if n.startswith("left_")]
    right = [names.index(names[i].replace("left_", "right_")) for i in left]
    for i in range(b):
        was_left = torch.isin(out["parts"][i], torch.tensor(left)).flip(-1)
        assert bool(torch.isin(flipped["parts"][i][was_left], torch.tensor(right)).all())


def test_a_turn_keeps_labels_whole(rendered) -> None:
    _, out = rendered
    batch = {"images": out["image"][:, None].clone(), "parts": out["parts"].clone()}
    turned = augment_batch(batch, AugmentConfig(flip_prob=0.0, rotation_prob=1.0, noise_std=0.0), torch.Generator().manual_seed(1))
    assert turned["parts"].dtype == torch.uint8 and not torch.equal(turned["parts"], out["parts"])
    for i in range(out["parts"].shape[0]):
        assert set(torch.unique(turned["parts"][i]).tolist()) <= set(torch.unique(out["parts"][i]).tolist())
