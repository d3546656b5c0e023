"""TexGlo's body-mask input (``TexGloConfig.input_mask``): the network, the renderer's silhouette,
old checkpoints, and the served masks of :class:`TexturePredictor` lining up with the mesh."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model.inference import Prediction, Predictor
from model.inference.texture import TexturePredictor, crop_coverage, square_camera, square_offsets
from model.nets.checkpoint import load_texglo
from model.nets.texture import TexGlo, TexGloConfig
from model.render import MeshRenderer, PerspectiveCameras

ROOT = Path(__file__).resolve().parents[2]
EARLIER = ROOT / "checkpoints" / "texture" / "model-gt-geometry.pt"  # unmasked, no input_mask key
SERVED = ROOT / "checkpoints" / "texture" / "model.pt"
TINY = dict(input_size=(32, 16), uv_size=32, widths=(8, 16), reduce_channels=4, fc_dim=16, out_channels=4)
#: COCO-17 shoulders and hips: their mean is the torso centre, inside any upright body's silhouette.
TORSO = [5, 6, 11, 12]


def _masked_net(seed: int = 0, **kw: object) -> TexGlo:
    torch.manual_seed(seed)
    return TexGlo(TexGloConfig(**{**TINY, "input_mask": True, **kw})).eval()


def _box_mask(b: int, h: int, w: int) -> torch.Tensor:
    mask = torch.zeros(b, 1, h, w)
    mask[:, :, h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = 1.0
    return mask


# ------------------------------------------------------------------ the network
def test_background_outside_the_mask_does_not_reach_the_output() -> None:
    net = _masked_net()
    images = torch.rand(2, 3, 48, 40)
    mask = _box_mask(2, 48, 40)
    other_background = torch.where(mask > 0, images, torch.rand_like(images))
    other_person = torch.where(mask > 0, torch.rand_like(images), images)
    with torch.no_grad():
        out = net(images, mask)
        assert torch.equal(net(other_background, mask), out)  # background changed: identical output
        assert not torch.allclose(net(other_person, mask), out)  # the person changed: the output follows
        assert not torch.allclose(net(images, torch.ones_like(mask)), out)  # so does the mask


def test_masked_input_is_the_grey_composite_plus_the_mask_channel() -> None:
    net = _masked_net(mask_fill=0.5)
    images = torch.rand(1, 3, 32, 16)  # already input_size: no resampling
    mask = _box_mask(1, 32, 16)
    x = net.network_input(images, mask)
    assert x.shape == (1, 4, 32, 16) and net.encoder[0][0].in_channels == 4
    expected = torch.where(mask > 0, images, torch.full_like(images, 0.5))
    assert torch.allclose(x[:, :3], (expected - 0.45) / 0.25)
    assert torch.equal(x[:, 3:], mask * 2 - 1)


def test_masked_network_needs_a_mask_of_the_images_shape() -> None:
    net = _masked_net()
    images = torch.rand(2, 3, 32, 16)
    with pytest.raises(ValueError, match="input_mask=True"):
        net(images)
    with pytest.raises(ValueError, match="mask must be"):
        net(images, torch.ones(2, 1, 16, 16))
    with pytest.raises(ValueError, match="mask must be"):
        net(images, torch.ones(2, 3, 32, 16))
    unmasked = TexGlo(TexGloConfig(**TINY)).eval()
    with pytest.raises(ValueError, match="takes no mask"):
        unmasked(images, torch.ones(2, 1, 32, 16))


def test_gradients_reach_every_parameter_of_a_masked_network() -> None:
    net = _masked_net().train()
    net(torch.rand(2, 3, 32, 16), _box_mask(2, 32, 16)).mean().backward()
    assert not [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]


def test_config_validates_and_round_trips_the_mask_keys() -> None:
    with pytest.raises(ValueError, match="input_mask"):
        TexGloConfig(input_mask="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mask_fill"):
        TexGloConfig(mask_fill=1.5)
    cfg = TexGloConfig(**TINY, input_mask=True, mask_fill=0.25)
    assert TexGloConfig.from_dict(cfg.to_dict()) == cfg and cfg.in_channels == 4


def test_old_config_without_the_keys_loads_strictly_and_runs_unmasked() -> None:
    old = {k: v for k, v in TexGloConfig(**TINY).to_dict().items() if k not in ("input_mask", "mask_fill")}
    cfg = TexGloConfig.from_dict(old)
    assert cfg.input_mask is False and cfg.in_channels == 3
    torch.manual_seed(0)
    reference = TexGlo(TexGloConfig(**TINY)).eval()
    net = TexGlo(cfg).eval()
    net.load_state_dict(reference.state_dict(), strict=True)
    images = torch.rand(2, 3, 40, 40)
    with torch.no_grad():
        assert torch.equal(net(images), reference(images))
        # The unmasked input is what it always was: the resized crop, normalised.
        assert torch.equal(net.network_input(images), (net.prepare(images) - net.mean) / net.std)


@pytest.mark.skipif(not EARLIER.is_file(), reason="committed texture checkpoint absent")
def test_checkpoint_without_the_mask_key_loads_unmasked() -> None:
    raw = torch.load(EARLIER, map_location="cpu", weights_only=True)
    assert "input_mask" not in raw["net_config"]
    net, _ = load_texglo(EARLIER)  # strict
    assert net.config.input_mask is False and net.encoder[0][0].in_channels == 3
    with torch.no_grad():
        assert net(torch.rand(1, 3, 128, 128)).shape == (1, 3, 128, 128)


@pytest.mark.skipif(not SERVED.is_file(), reason="committed texture checkpoint absent")
def test_served_checkpoint_is_masked() -> None:
    net, ckpt = load_texglo(SERVED)  # strict
    assert net.config.input_mask is True and net.encoder[0][0].in_channels == 4
    assert ckpt["geometry"]["source"] == "predictor"
    image = torch.rand(1, 3, 128, 128)
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 32:96, 40:88] = 1.0
    other = image.clone()
    other[..., :16, :] = torch.rand(1, 3, 16, 128)  # outside the mask
    with torch.no_grad():
        assert torch.equal(net(image, mask), net(other, mask))
    with pytest.raises(ValueError):
        net(image)


# ------------------------------------------------------------------ the renderer's silhouette
@pytest.mark.parametrize("ssaa", [1, 2])
def test_silhouette_is_the_render_mask(ssaa: int) -> None:
    from model.body import load_body_model

    body = load_body_model()
    verts = body(torch.zeros(2, 10), torch.zeros(2, 24, 3)).vertices * torch.tensor([1.0, -1.0, -1.0])
    verts = verts + torch.tensor([[[0.0, 0.0, 5.0]], [[0.3, 0.1, 7.0]]])
    cams = PerspectiveCameras.from_focal(2, (40, 32), 300.0)
    renderer = MeshRenderer(ssaa=ssaa)
    sil = renderer.silhouette(verts, body.faces, cams)
    assert sil.shape == (2, 1, 40, 32) and sil.sum() > 50 and not sil.requires_grad
    assert torch.equal(sil, renderer.render(verts, body.faces, cams).mask)


# ------------------------------------------------------------------ serving
@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.random_init(device="cpu", precision="fp32")


def _crop(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (*shape, 3), dtype=np.uint8)


def _crop_frame_mask(predictor: Predictor, pred: Prediction, h: int, w: int) -> torch.Tensor:
    """The prediction's mesh rendered with its own camera in the original crop's pixels, ``(H, W)``."""
    cams = PerspectiveCameras(
        focal=torch.tensor([[pred.focal, pred.focal]], dtype=torch.float32),
        principal=torch.tensor(np.asarray(pred.principal), dtype=torch.float32)[None],
        image_size=(h, w),
    )
    return MeshRenderer().silhouette(torch.from_numpy(pred.vertices)[None], predictor.body_model.faces, cams)[0, 0]


@pytest.mark.parametrize("shape", [(120, 60), (50, 100), (64, 64)])
def test_served_mask_lines_up_with_the_predicted_mesh(predictor: Predictor, shape: tuple[int, int]) -> None:
    size = 64
    tp = TexturePredictor(_masked_net(), predictor, crop_size=size)
    crop = _crop(shape)
    [pred] = predictor.predict([crop], include_vertices=True)
    mask = tp.silhouettes([crop], [pred])
    assert mask.shape == (1, 1, size, size) and mask.min() >= 0 and mask.max() <= 1
    m = mask[0, 0]
    assert m.sum() > 20  # the body covers part of the crop
    # Nothing outside the crop's part of the square (the replicated padding).
    assert torch.all(m[crop_coverage(*shape, size)[0] == 0] == 0)
    h, w = shape
    side, left, top = square_offsets(h, w)
    # The Predictor's own 2D torso centre, mapped into the square, is inside the mask.
    u, v = (pred.keypoints2d_coco17[TORSO].mean(0) + np.array([left, top])) * size / side
    assert m[int(v), int(u)] == 1
    # The mesh covers the crop's centre (random-init camera: centred, upright), so does the mask.
    reference = _crop_frame_mask(predictor, pred, h, w)
    assert reference[h // 2, w // 2] == 1
    cu, cv = (np.array([w / 2, h / 2]) + np.array([left, top])) * size / side
    assert m[int(cv), int(cu)] == 1
    # Same silhouette as rendering in the crop's own frame, padding with zeros and resizing to the square.
    square = torch.zeros(side, side)
    square[top : top + h, left : left + w] = reference
    expected = F.interpolate(square[None, None], size=(size, size), mode="area")[0, 0]
    iou = torch.minimum(m, expected).sum() / torch.maximum(m, expected).sum()
    assert iou > 0.8, iou


def test_square_crop_at_the_network_size_keeps_the_predictor_camera(predictor: Predictor) -> None:
    size = 48
    tp = TexturePredictor(_masked_net(), predictor, crop_size=size)
    crop = _crop((size, size), seed=1)
    [pred] = predictor.predict([crop], include_vertices=True)
    focal, principal = square_camera(pred, size, size, size)
    assert focal == pytest.approx(pred.focal) and np.allclose(principal, pred.principal)
    assert torch.equal(tp.silhouettes([crop], [pred])[0, 0], _crop_frame_mask(predictor, pred, size, size))


def test_crop_coverage_marks_the_crop_inside_its_square() -> None:
    cov = crop_coverage(60, 30, 32)[0]  # P = 60, left = 15: columns [8, 24) of 32
    assert torch.all(cov[:, 8:24] == 1) and torch.all(cov[:, :8] == 0) and torch.all(cov[:, 24:] == 0)
    cov = crop_coverage(30, 61, 32)[0]  # P = 61, top = 15: rows from 15 * 32/61 = 7.87 to 45 * 32/61 = 23.61
    assert cov[7, 0] == pytest.approx(8 - 15 * 32 / 61, abs=1e-5) and cov[23, 0] == pytest.approx(45 * 32 / 61 - 23, abs=1e-5)
    assert torch.all(cov[8:23] == 1) and torch.all(cov[:7] == 0) and torch.all(cov[24:] == 0)
    assert torch.equal(crop_coverage(32, 32, 32), torch.ones(1, 32, 32))


def test_masked_predict_uv_uses_the_predictor_mesh(predictor: Predictor) -> None:
    tp = TexturePredictor(_masked_net(), predictor, crop_size=32)
    assert tp.input_mask
    crops = [_crop((60, 30)), _crop((40, 40), seed=2)]
    preds = predictor.predict(crops, include_vertices=True)
    uv = tp.predict_uv(crops)  # runs the Predictor itself
    assert len(uv) == 2 and uv[0].shape == (32, 32, 3) and uv[0].dtype == np.uint8
    given = tp.predict_uv(crops, batch_size=1, predictions=preds)
    assert all(np.array_equal(a, b) for a, b in zip(uv, given))
    assert np.array_equal(tp.texture(crops[0]).texture_image, uv[0])
    with pytest.raises(ValueError, match="predictions"):
        tp.predict_uv(crops, predictions=preds[:1])
    with pytest.raises(ValueError, match="vertices"):
        tp.predict_uv(crops[:1], predictions=predictor.predict(crops[:1]))


def test_unmasked_predict_uv_does_not_run_the_predictor(predictor: Predictor, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    tp = TexturePredictor(TexGlo(TexGloConfig(**TINY)).eval(), predictor, crop_size=32)
    assert not tp.input_mask

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Predictor ran for an unmasked network")

    monkeypatch.setattr(predictor, "predict", refuse)
    [uv] = tp.predict_uv([_crop((60, 30))])
    assert uv.shape == (32, 32, 3)
