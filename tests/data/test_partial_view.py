"""Partial views: the upper part of a person re-cropped, with the 2D keypoints following it."""

from __future__ import annotations

import pytest
import torch

from model.data.dataset import ResolutionConfig, ResolutionTransform
from model.data.partial_view import PartialViewConfig, partial_view, partial_view_box
from model.data.pose_families import FAMILIES
from model.geometry.resolution import ResolutionRanges

S = 64


def _person(top: int = 8, bottom: int = 60, left: int = 24, right: int = 40) -> dict[str, torch.Tensor]:
    """A standing 'person': a rectangle silhouette, a dark image with one bright pixel per keypoint."""
    sil = torch.zeros(1, S, S)
    sil[0, top:bottom, left:right] = 1.0
    image = torch.zeros(3, S, S)
    # head, chest, hip, knee, ankle (pixel centres), all visible
    points = [(32, 10), (30, 24), (33, 36), (28, 48), (35, 58)]
    kp = torch.tensor([[x + 0.5, y + 0.5, 1.0] for x, y in points])
    for x, y in points:
        image[:, y, x] = 1.0
    return {"image": image, "silhouette": sil, "keypoints2d_lsp14": kp, "joints3d_lsp14": torch.randn(5, 4), "focal": torch.tensor(100.0)}


def test_off_by_default_and_draws_nothing() -> None:
    sample = _person()
    before = {k: v.clone() for k, v in sample.items()}
    gen = torch.Generator().manual_seed(3)
    state = gen.get_state()
    out = partial_view(sample, PartialViewConfig(), gen)
    assert set(out) == set(before) and all(torch.equal(out[k], before[k]) for k in before)
    assert torch.equal(gen.get_state(), state)


def test_box_keeps_the_top_of_the_person_with_the_service_margin() -> None:
    sil = _person()["silhouette"][0]
    x0, y0, side = partial_view_box(sil, keep=0.5, enlarge=1.2, min_aspect=1.2)
    # kept part: rows 8..34 (26 px tall), columns 24..40 (16 wide) -> side 1.2 * 26, centred on it
    assert side == pytest.approx(1.2 * 26.0)
    assert x0 + side / 2 == pytest.approx(32.0) and y0 + side / 2 == pytest.approx(8.0 + 13.0)
    assert partial_view_box(torch.zeros(S, S), 0.5, 1.2, 1.2) is None
    wide = torch.zeros(S, S)
    wide[30:40, 4:60] = 1.0  # a lying person: flatter than min_aspect
    assert partial_view_box(wide, 0.5, 1.2, 1.2) is None


def test_keypoints_follow_the_image_and_the_cut_ones_become_invisible() -> None:
    sample = partial_view(_person(), PartialViewConfig(prob=1.0, keep=(0.5, 0.5)), torch.Generator().manual_seed(0))
    assert float(sample["partial_view"]) == 1.0
    kp = sample["keypoints2d_lsp14"]
    visible = kp[:, 2] > 0
    assert visible.tolist() == [True, True, True, False, False]  # knee and ankle below the crop
    image = sample["image"][0]
    for x, y, _ in kp[visible].tolist():
        # the bright pixel, now zoomed ~2x, lies under its moved keypoint
        assert image[int(y), int(x)] > 0.2, (x, y)
    zoom = S / (1.2 * 26.0)
    assert float(sample["focal"]) == pytest.approx(100.0 * zoom)
    assert sample["silhouette"].shape == (1, S, S) and sample["silhouette"][0, -1].sum() > 0  # the body goes on below the box
    assert sample["joints3d_lsp14"].shape == (5, 4)  # 3D ground truth untouched


def test_flat_people_and_unlucky_draws_keep_their_full_view() -> None:
    flat = _person(top=30, bottom=40, left=4, right=60)
    out = partial_view(flat, PartialViewConfig(prob=1.0), torch.Generator().manual_seed(0))
    assert float(out["partial_view"]) == 0.0 and torch.equal(out["image"], _person(30, 40, 4, 60)["image"])
    never = partial_view(_person(), PartialViewConfig(prob=1e-9), torch.Generator().manual_seed(0))
    assert float(never["partial_view"]) == 0.0


def test_families_limit_which_people_are_cut() -> None:
    cfg = PartialViewConfig(prob=1.0, families=("standing", "walking"))
    assert cfg.family_indices == {FAMILIES.index("standing"), FAMILIES.index("walking")}
    on_feet = dict(_person(), family=torch.tensor(FAMILIES.index("walking")))
    assert float(partial_view(on_feet, cfg, torch.Generator().manual_seed(0))["partial_view"]) == 1.0
    sitting = dict(_person(), family=torch.tensor(FAMILIES.index("sitting")))
    out = partial_view(sitting, cfg, torch.Generator().manual_seed(0))
    assert float(out["partial_view"]) == 0.0 and torch.equal(out["image"], _person()["image"])
    # no family label: never cut once a family list is set; every family when none is set
    assert float(partial_view(_person(), cfg, torch.Generator().manual_seed(0))["partial_view"]) == 0.0
    assert float(partial_view(sitting, PartialViewConfig(prob=1.0), torch.Generator().manual_seed(0))["partial_view"]) == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [{"prob": 1.5}, {"keep": (0.9, 0.5)}, {"keep": (0.05, 0.5)}, {"enlarge": 0.5}, {"min_aspect": -1.0}, {"families": ("standing", "dancing")}, {"families": ()}],
)
def test_config_is_validated(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PartialViewConfig(**kwargs)


def test_resolution_transform_cuts_before_degrading() -> None:
    cfg = ResolutionConfig(ranges=ResolutionRanges((64, 32, 16)), out_size=32, per_sample=2,
                           partial_view=PartialViewConfig(prob=1.0, keep=(0.5, 0.5)))
    out = ResolutionTransform(cfg).apply(_person(), torch.Generator().manual_seed(1))
    assert out["images"].shape == (2, 3, 32, 32) and float(out["partial_view"]) == 1.0
    kp = out["keypoints2d_lsp14"]
    assert kp[:, 2].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert float(kp[:, :2][kp[:, 2] > 0].max()) < 32.0  # scaled to the network input


def test_tight_box_view_frames_the_person_like_the_service_with_black_beside() -> None:
    from model.data.partial_view import tight_box_view

    sample = _person()
    sample["image"] += 0.3  # a grey background, to see what is blackened
    assert tight_box_view(sample)
    # The box (rows 8..60, columns 24..40: 52 x 16) fills the crop's height: zoom 64 / 52.
    zoom = S / 52.0
    image, sil = sample["image"][0], sample["silhouette"][0]
    cols = (sil > 0.5).any(dim=0).nonzero().flatten()
    assert (sil > 0.5).any(dim=1).all() and len(cols) == pytest.approx(16 * zoom, abs=2)
    # Columns outside the box are black (the service's padding), those inside keep the frame.
    assert not image[:, : int(cols[0]) - 1].any() and not image[:, int(cols[-1]) + 2 :].any()
    assert image[:, int(cols[0]) : int(cols[-1]) + 1].min() > 0.1
    for x, y, v in sample["keypoints2d_lsp14"].tolist():  # every keypoint visible, on its bright pixel
        assert v == 1.0 and image[int(y), int(x)] > 0.6, (x, y)  # background 0.3
    assert float(sample["focal"]) == pytest.approx(100.0 * zoom)
    empty = _person(top=0, bottom=0)
    assert not tight_box_view(empty)


def test_tight_box_prob_draws_only_when_set_and_composes_with_cuts() -> None:
    cfg = PartialViewConfig(prob=1.0, keep=(0.5, 0.5), tight_box_prob=1.0)
    sample = partial_view(_person(), cfg, torch.Generator().manual_seed(0))
    # Cut to the top half, then framed tight: the kept part (26 px tall) fills the height.
    assert float(sample["partial_view"]) == 1.0
    assert (sample["silhouette"][0] > 0.5).any(dim=1).all()
    assert sample["keypoints2d_lsp14"][:, 2].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="tight_box_prob"):
        PartialViewConfig(tight_box_prob=1.5)
