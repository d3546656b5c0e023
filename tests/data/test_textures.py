"""Procedural UV textures: layout, determinism, regions on the right body parts, seams."""

from __future__ import annotations

import pytest
import torch

from model.body.joint_names import SMPL_JOINT_NAMES
from model.body.model import load_body_model
from model.data.clothing import ClothingConfig
from model.data.textures import REGION, REGIONS, TextureSampler, get_atlas
from model.render import MeshRenderer, PerspectiveCameras

HANDS = [SMPL_JOINT_NAMES.index(n) for n in ("left_wrist", "right_wrist", "left_hand", "right_hand")]
TOES = [SMPL_JOINT_NAMES.index(n) for n in ("left_foot", "right_foot")]
BELLY = SMPL_JOINT_NAMES.index("spine1")


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def sampler(body):
    return TextureSampler(body, size=256)


@pytest.fixture(scope="module")
def front_sampler(body):
    return TextureSampler(body, size=256, clothing=ClothingConfig(front_cues=True))


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_shape_dtype_range(sampler):
    tex = sampler.sample(_gen(0))
    assert tex.shape == (3, 256, 256) and tex.dtype == torch.float32
    assert float(tex.min()) >= 0.0 and float(tex.max()) <= 1.0
    batch = sampler.sample_batch(3, _gen(1))
    assert batch.shape == (3, 3, 256, 256) and batch.dtype == torch.float32
    tex, regions = sampler.sample_with_regions(_gen(2))
    assert regions.shape == (256, 256) and regions.dtype == torch.uint8
    assert int(regions.max()) < len(REGIONS)


def test_deterministic_per_seed(sampler):
    a, ra = sampler.sample_with_regions(_gen(5))
    b, rb = sampler.sample_with_regions(_gen(5))
    assert torch.equal(a, b) and torch.equal(ra, rb)
    assert torch.equal(sampler.sample(_gen(5)), a)  # with or without regions: same texture
    assert not torch.equal(sampler.sample(_gen(6)), a)
    batch = sampler.sample_batch(2, _gen(7))
    g = _gen(7)
    assert torch.equal(batch[0], sampler.sample(g)) and torch.equal(batch[1], sampler.sample(g))


def test_atlas_covers_the_faces(body, sampler):
    atlas = sampler.atlas
    assert 0.5 < float(atlas.covered.float().mean()) < 0.8  # the layout's UV area is ~0.63
    # every face's UV centroid texel lies in (or next to: tiny faces) the covered area
    centroid = body.face_uvs.mean(1)
    col = (centroid[:, 0] * 256).long().clamp(0, 255)
    row = ((1.0 - centroid[:, 1]) * 256).long().clamp(0, 255)
    near = torch.nn.functional.max_pool2d(atlas.covered.float()[None, None], 3, 1, 1)[0, 0] > 0
    assert float(atlas.covered[row, col].float().mean()) > 0.95
    assert bool(near[row, col].all())
    _, regions = sampler.sample_with_regions(_gen(0))
    assert bool((regions != REGION["none"]).all())  # gutters are filled too
    assert get_atlas(body, 256) is atlas  # cached


@pytest.mark.parametrize("seed", range(6))
def test_regions_on_the_right_parts(sampler, seed):
    atlas = sampler.atlas
    tex, regions = sampler.sample_with_regions(_gen(seed))
    covered = atlas.covered
    hands = covered & torch.isin(atlas.part, torch.tensor(HANDS))
    toes = covered & torch.isin(atlas.part, torch.tensor(TOES))
    belly = covered & (atlas.part == BELLY)
    assert bool((regions[hands] == REGION["skin"]).all())
    assert bool((regions[toes] == REGION["shoes"]).all())
    assert bool(torch.isin(regions[belly], torch.tensor([REGION["upper"], REGION["lower"]])).all())
    # no hair (nor headwear) on the face between the mouth and the eyes
    lm = atlas.landmarks
    y = atlas.position[1]
    face = covered & sampler._head & (atlas.head_phi < 0.6) & (y > lm["y_mouth"] + 0.012) & (y < lm["y_eye"] - 0.01)
    assert int(face.sum()) > 50
    face_regions = regions[face]
    assert not bool(torch.isin(face_regions, torch.tensor([REGION["hair"], REGION["headwear"]])).any())
    # the hands are skin-coloured: the cheeks' chromaticity, brightness up to the shading noise
    cheeks = face & (regions == REGION["skin"])
    hand_rgb = tex[:, hands].median(dim=1).values
    cheek_rgb = tex[:, cheeks].median(dim=1).values
    assert float((hand_rgb / hand_rgb.sum() - cheek_rgb / cheek_rgb.sum()).abs().max()) < 0.02
    assert 0.7 < float(hand_rgb.sum() / cheek_rgb.sum()) < 1.4


def test_outfits_vary(sampler):
    """Over a few dozen draws every clothing region shows up, and sleeve lengths differ."""
    seen = set()
    upper_on_forearm = []
    forearm = sampler.atlas.covered & (sampler.atlas.arm_t > 1.3) & sampler._arm
    for seed in range(40):
        _, regions = sampler.sample_with_regions(_gen(seed))
        seen |= set(torch.unique(regions).tolist())
        upper_on_forearm.append(float((regions[forearm] == REGION["upper"]).float().mean()))
    for name in ("skin", "hair", "upper", "lower", "shoes", "eyes", "lips", "brows", "mouth"):
        assert REGION[name] in seen, name
    assert min(upper_on_forearm) < 0.05 and max(upper_on_forearm) > 0.95


def test_the_front_of_a_top_shows_an_opening_or_a_placket_only_in_front(front_sampler, sampler):
    """Open jackets show the layer beneath, closed ones a zip line: down the front centre, never the back."""
    assert all(sampler.sample_with_outfit(_gen(seed))[1].front is None for seed in range(20))  # off by default
    sampler = front_sampler
    atlas = sampler.atlas
    lm = atlas.landmarks
    y, absx = atlas.position[1], atlas.position[0].abs()
    chest = atlas.covered & sampler._torso & (y > lm["y_spine1"] + 0.08) & (y < lm["y_shoulder"] - 0.1)
    centre, side = chest & (absx < 0.003), chest & (absx > 0.1) & (absx < 0.12)
    fronts: dict[str | None, int] = {}
    for seed in range(60):
        tex, outfit = sampler.sample_with_outfit(_gen(seed))
        fronts[outfit.front] = fronts.get(outfit.front, 0) + 1
        if outfit.front is None or outfit.recipe[0] != "plain":  # a plain top: the front centre is the only change
            continue
        top = sampler.sample_with_regions(_gen(seed))[1] == REGION["upper"]  # not the long hair on the back
        front_gap, back_gap = (
            float((tex[:, centre & f & top].median(1).values - tex[:, side & f & top].median(1).values).abs().sum())
            for f in (sampler._front, ~sampler._front)
        )
        assert front_gap > max(0.2, 2.0 * back_gap), (seed, outfit.front, front_gap, back_gap)  # back: the shading noise alone
    assert fronts.get("open", 0) >= 5 and fronts.get("placket", 0) >= 3 and fronts.get(None, 0) >= 20, fronts


def test_the_eyes_cross_the_face_with_a_dark_band(front_sampler):
    """At 32-64 px a face is a light oval with a dark band at the eyes; the back of the head has none."""
    sampler = front_sampler
    band = sampler._eye_band & sampler.atlas.covered
    assert int(band.sum()) > 30
    darker = 0
    for seed in range(12):
        tex, regions = sampler.sample_with_regions(_gen(seed))
        skin = regions == REGION["skin"]
        cheeks = sampler._cheek & ~sampler._eye_band & skin & (sampler.atlas.position[1] < sampler.atlas.landmarks["y_eye"] - 0.02)
        in_band = band & skin
        if int(in_band.sum()) > 10:
            darker += int(float(tex[:, in_band].mean()) < 0.85 * float(tex[:, cheeks].mean()))
    assert darker >= 10


def _render_front(body, textures: torch.Tensor, size: int = 64):
    n = textures.shape[0]
    pose = body.mean_params.pose.expand(n, -1, -1)  # upright in camera axes, arms down
    with torch.no_grad():
        out = body(torch.zeros(n, 10), pose)
    verts = out.vertices + torch.tensor([0.0, -0.07, 2.6])
    cams = PerspectiveCameras.from_focal(n, (size, size), focal=size * 1.2)
    labels = torch.mode(body.part_labels[body.faces], dim=1).values
    return MeshRenderer(ssaa=1).render(
        verts, body.faces, cams, texture=textures, face_uvs=body.face_uvs, face_labels=labels
    )


def test_render_regions_and_no_seams(body, sampler):
    """Rendered unlit: hands are skin, the belly is clothed, UV seams show no dark texels."""
    seeds = range(4)
    pairs = [sampler.sample_with_regions(_gen(s)) for s in seeds]
    textures = torch.stack([t for t, _ in pairs])
    # marker textures: green where the region is skin, grey 0.6 elsewhere (gutters included), and
    # the same with the UV gutters blacked out (what an undilated atlas would give)
    skin = torch.stack([(r == REGION["skin"]).float() for _, r in pairs])[:, None]
    marker = torch.tensor([0.2, 1.0, 0.2]).view(1, 3, 1, 1) * skin + 0.6 * (1 - skin)
    holes = marker * sampler.covered.float()
    n = len(seeds)
    out = _render_front(body, torch.cat([textures, marker, holes]), size=96)
    inside = out.mask[:, 0] > 0.5
    assert int(inside[0].sum()) > 1000
    img_marker, part, inside_m = out.image[n : 2 * n], out.part_map[n : 2 * n], inside[n : 2 * n]
    greenish = (img_marker[:, 1] > 0.9) & (img_marker[:, 0] < 0.5)
    hand_px = inside_m & torch.isin(part, torch.tensor(HANDS))
    belly_px = inside_m & (part == BELLY)
    assert int(hand_px.sum()) > 10 and int(belly_px.sum()) > 40
    assert float(greenish[hand_px].float().mean()) > 0.9
    assert float(greenish[belly_px].float().mean()) < 0.05
    # no seam darkening: every marker colour has a channel >= 0.6, so must every pixel
    assert int((inside_m & (img_marker.amax(1) < 0.57)).sum()) == 0
    # ... while blacked-out gutters do bleed into the image (the check above can fail)
    assert int((inside[2 * n :] & (out.image[2 * n :].amax(1) < 0.57)).sum()) > 0
    # and the sampled textures render without black holes (< 0.5% near-black pixels)
    black = inside[:n] & (out.image[:n].amax(1) < 0.004)
    assert float(black.float().sum() / inside[:n].float().sum()) < 0.005


def test_size_512(body):
    s = TextureSampler(body, size=512)
    tex, regions = s.sample_with_regions(_gen(0))
    assert tex.shape == (3, 512, 512) and regions.shape == (512, 512)
    assert bool((regions != REGION["none"]).all())


def test_body_without_uvs_is_rejected(body):
    class NoUV:
        face_uvs = None
        name = "smpl"

    with pytest.raises(ValueError, match="UV"):
        TextureSampler(NoUV())  # type: ignore[arg-type]
