"""model.inference.Predictor: crops in, predictions out; checkpoints; exact keypoint mapping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from model.body import load_body_model
from model.geometry.camera import (
    focal_for_size,
    perspective_projection,
    weak_perspective_to_translation,
)
from model.inference import MAX_SIDE, MIN_SIDE, Prediction, Predictor, TensorPrediction
from model.nets import NetConfig, RSCNet
from model.nets.checkpoint import (
    CheckpointError,
    body_model_entry,
    export_served,
    load_checkpoint,
    save_checkpoint,
)

TINY = {"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}
BOUNDS = (224, 128, 64, 40, 24)


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def predictor(body) -> Predictor:
    return Predictor.random_init(TINY, BOUNDS, device="cpu", seed=0, body=body, precision="fp32")


@pytest.fixture(scope="module")
def mean_predictor(body) -> Predictor:
    """Decoder weights zeroed: every prediction is exactly the mean parameters."""
    p = Predictor.random_init(TINY, BOUNDS, device="cpu", seed=1, body=body, precision="fp32")
    for dec in (p.net.regressor.decpose, p.net.regressor.decshape, p.net.regressor.deccam):
        torch.nn.init.zeros_(dec.weight)
        torch.nn.init.zeros_(dec.bias)
    return p


def crop(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def close(a, b, atol: float = 1e-4) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=atol)


# ---------------------------------------------------------------------------------------- outputs
def test_shapes_dtypes_and_json(predictor: Predictor, body) -> None:
    preds = predictor.predict([crop(100, 60), crop(30, 30, 1)])
    assert len(preds) == 2 and all(isinstance(p, Prediction) for p in preds)
    p = preds[0]
    shapes = {
        "betas": (10,), "pose": (24, 3), "camera_weak": (3,), "translation": (3,), "principal": (2,),
        "joints3d_smpl24": (24, 3), "joints3d_coco17": (17, 3), "keypoints2d_coco17": (17, 2), "phi": (512,),
    }
    for name, shape in shapes.items():
        value = getattr(p, name)
        assert value.shape == shape and value.dtype == np.float32, name
        assert np.isfinite(value).all(), name
    assert p.vertices is None and p.input_size == 100 and isinstance(p.focal, float)
    d = json.loads(json.dumps(p.to_dict()))
    assert set(d) == set(Prediction.__dataclass_fields__)
    assert np.asarray(d["keypoints2d_coco17"]).shape == (17, 2) and d["vertices"] is None
    assert isinstance(d["resolution_index"], int) and isinstance(d["input_size"], int)
    json.dumps(predictor.describe())
    assert predictor.model_id == body.info.model_id and predictor.name == body.name
    assert not predictor.is_trained and predictor.checkpoint_path is None
    assert predictor.input_size == 64 and predictor.ranges.bounds == BOUNDS
    assert predictor.device == torch.device("cpu") and predictor.body_model is not None


def test_include_vertices(predictor: Predictor, body) -> None:
    [p] = predictor.predict([crop(40, 32)], include_vertices=True)
    assert p.vertices is not None and p.vertices.shape == (body.num_vertices, 3) and p.vertices.dtype == np.float32
    json.dumps(p.to_dict())
    # Vertices are in the same (camera) frame as the joints: in front of the camera.
    assert (p.vertices[:, 2] > 0).all()
    assert abs(p.vertices.mean(0)[2] - p.joints3d_smpl24.mean(0)[2]) < 0.5


def test_empty_and_array_input(predictor: Predictor) -> None:
    assert predictor.predict([]) == []
    batch = np.stack([crop(32, 32, s) for s in range(3)])
    preds = predictor.predict(batch)
    assert len(preds) == 3
    close(preds[1].betas, predictor.predict([batch[1]])[0].betas)


def test_non_contiguous_and_readonly_crops(predictor: Predictor) -> None:
    base = crop(80, 80)
    view = base[::2, ::2]  # 40x40, not contiguous
    ro = np.ascontiguousarray(view)
    ro.setflags(write=False)
    a, b = predictor.predict([view, ro])
    close(a.betas, b.betas, 1e-6)


# ---------------------------------------------------------------------------------------- ranges
@pytest.mark.parametrize(
    "hw,row", [((30, 20), 4), ((224, 100), 0), ((300, 50), 0), ((223, 223), 1), ((100, 64), 2), ((63, 40), 3), ((8, 8), 4)]
)
def test_range_from_crop_size(predictor: Predictor, hw: tuple[int, int], row: int) -> None:
    [p] = predictor.predict([crop(*hw)])
    assert p.resolution_index == row and p.input_size == max(hw)


def test_range_row_reaches_the_network(predictor: Predictor, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[int]] = []
    forward = predictor.net.forward

    def spy(images, range_index, cut=None):
        seen.append(range_index.tolist())
        return forward(images, range_index, cut)

    monkeypatch.setattr(predictor.net, "forward", spy)
    predictor.predict([crop(30, 20), crop(224, 100), crop(50, 64)])
    assert seen == [[4, 0, 2]]


# ---------------------------------------------------------------------------------------- geometry
def test_mean_prediction_keypoints_exact(mean_predictor: Predictor, body) -> None:
    """Known network output (the mean): keypoints equal an independent projection in crop pixels."""
    mean = body.mean_params
    for h, w in [(100, 60), (37, 90), (64, 64), (250, 251)]:
        [p] = mean_predictor.predict([crop(h, w)])
        close(p.camera_weak, mean.camera, 1e-6)
        close(p.betas, np.zeros(10), 1e-6)
        side = max(h, w)
        left, top = (side - w) // 2, (side - h) // 2
        posed = body(mean.betas[None], mean.pose[None])
        f = focal_for_size(side)
        t = weak_perspective_to_translation(mean.camera[None], f, side)
        principal = torch.tensor([[side / 2 - left, side / 2 - top]])
        expected = perspective_projection(posed.coco17, t, f, principal)[0]
        close(p.keypoints2d_coco17, expected, 2e-3 * side / 64)
        close(p.focal, f, 1e-6)
        close(p.principal, principal[0], 1e-6)
        close(p.translation, t[0], 1e-4)
        close(p.joints3d_coco17, (posed.coco17 + t[:, None])[0], 1e-4)
        # Rotations agree with the mean pose (axis-angle may differ only at angle pi, so compare matrices).
        from model.geometry.rotations import axis_angle_to_matrix

        close(axis_angle_to_matrix(torch.from_numpy(p.pose)), axis_angle_to_matrix(mean.pose), 1e-5)


def test_keypoints_scale_with_crop_size(mean_predictor: Predictor) -> None:
    small, big = mean_predictor.predict([crop(50, 50), crop(100, 100)])
    close(big.keypoints2d_coco17, 2 * small.keypoints2d_coco17, 1e-3)
    close(big.focal, 2 * small.focal, 1e-9)
    close(big.translation, small.translation, 1e-5)  # the 3D result does not depend on the pixel count


def test_keypoints_undo_padding(mean_predictor: Predictor) -> None:
    square, tall, wide = mean_predictor.predict([crop(100, 100), crop(100, 60), crop(61, 100)])
    close(tall.keypoints2d_coco17, square.keypoints2d_coco17 - np.array([20.0, 0.0]), 1e-3)
    close(wide.keypoints2d_coco17, square.keypoints2d_coco17 - np.array([0.0, 19.0]), 1e-3)
    close(tall.principal, [30.0, 50.0])
    close(wide.principal, [50.0, 31.0])


def test_keypoints_consistent_with_3d(predictor: Predictor) -> None:
    """For any network output: keypoints2d = focal * X / Z + principal of joints3d_coco17."""
    for p in predictor.predict([crop(90, 41, 3), crop(17, 12, 4), crop(400, 300, 5)]):
        j = p.joints3d_coco17.astype(np.float64)
        proj = p.focal * j[:, :2] / j[:, 2:] + p.principal
        close(p.keypoints2d_coco17, proj, 1e-3 * p.input_size / 64)


# ---------------------------------------------------------------------------------------- inputs
@pytest.mark.parametrize(
    "bad,needle",
    [
        (np.zeros((32, 32, 3), np.float32), "uint8"),
        (np.zeros((32, 32), np.uint8), "3 dimensions"),
        (np.zeros((32, 32, 4), np.uint8), "3 RGB channels"),
        (np.zeros((7, 32, 3), np.uint8), "sides"),
        (np.zeros((32, MAX_SIDE + 1, 3), np.uint8), "sides"),
        ([[1, 2, 3]], "numpy array"),
    ],
)
def test_bad_crops_raise_naming_the_crop(predictor: Predictor, bad, needle: str) -> None:
    with pytest.raises(ValueError, match=needle) as info:
        predictor.predict([crop(32, 32), bad])
    assert "crop 1" in str(info.value)


def test_min_side_accepted_and_bad_batch_size(predictor: Predictor) -> None:
    assert len(predictor.predict([crop(MIN_SIDE, MIN_SIDE)])) == 1
    with pytest.raises(ValueError, match="batch_size"):
        predictor.predict([crop(32, 32)], batch_size=0)


def test_batches_are_chunked(predictor: Predictor, monkeypatch: pytest.MonkeyPatch) -> None:
    crops = [crop(20 + 13 * i, 30 + 7 * i, i) for i in range(5)]
    reference = predictor.predict(crops, batch_size=32)
    sizes: list[int] = []
    forward = predictor.net.forward

    def spy(images, range_index, cut=None):
        sizes.append(images.shape[0])
        return forward(images, range_index, cut)

    monkeypatch.setattr(predictor.net, "forward", spy)
    chunked = predictor.predict(crops, batch_size=2)
    assert sizes == [2, 2, 1]
    for a, b in zip(reference, chunked):
        assert a.resolution_index == b.resolution_index
        close(a.keypoints2d_coco17, b.keypoints2d_coco17, 1e-2)
        close(a.betas, b.betas, 1e-4)


# ---------------------------------------------------------------------------------------- precision / low level
def test_precision_option(body) -> None:
    with pytest.raises(ValueError, match="precision"):
        Predictor.random_init(TINY, device="cpu", body=body, precision="int8")
    with pytest.raises(ValueError, match="CUDA"):
        Predictor.random_init(TINY, device="cpu", body=body, precision="fp16")
    auto = Predictor.random_init(TINY, device="cpu", body=body)
    assert auto.precision in ("bf16", "fp32")
    bf16 = Predictor.random_init(TINY, device="cpu", body=body, precision="bf16")
    [p] = bf16.predict([crop(48, 40)])
    assert p.betas.dtype == np.float32 and p.phi.dtype == np.float32 and np.isfinite(p.keypoints2d_coco17).all()


def test_random_init_deterministic_and_rng_untouched(body) -> None:
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = Predictor.random_init(TINY, device="cpu", seed=7, body=body)
    after = torch.rand(3)
    torch.testing.assert_close(before, after)
    b = Predictor.random_init(TINY, device="cpu", seed=7, body=body)
    c = Predictor.random_init(TINY, device="cpu", seed=8, body=body)
    sa, sb, sc = a.net.state_dict(), b.net.state_dict(), c.net.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    with pytest.raises(ValueError, match="resolution rows"):
        Predictor.random_init(TINY, resolution_bounds=(224, 64), device="cpu", body=body)


def test_predict_tensor(predictor: Predictor, body) -> None:
    images = torch.rand(3, 3, 64, 64)
    out = predictor.predict_tensor(images, torch.tensor([0, 2, 4]), include_vertices=True)
    assert isinstance(out, TensorPrediction)
    assert out.pose_rotmat.shape == (3, 24, 3, 3) and out.betas.shape == (3, 10) and out.camera.shape == (3, 3)
    assert out.smpl24.shape == (3, 24, 3) and out.coco17.shape == (3, 17, 3) and out.lsp14.shape == (3, 14, 3)
    assert out.vertices is not None and out.vertices.shape == (3, body.num_vertices, 3)
    assert out.translation.shape == (3, 3) and out.phi.shape == (3, 512)
    assert out.keypoints("lsp14") is out.lsp14
    assert predictor.predict_tensor(images, [0, 2, 4]).vertices is None
    with pytest.raises(ValueError):
        predictor.predict_tensor(torch.rand(2, 3, 32, 32), [0, 0])
    with pytest.raises(ValueError):
        predictor.predict_tensor(images, [0, 5, 1])
    # Same network input as predict() for a square crop of the input size: same result.
    c = crop(64, 64, 9)
    [p] = predictor.predict([c])
    x = torch.from_numpy(c).permute(2, 0, 1)[None].float() / 255
    t = predictor.predict_tensor(x, [2])
    close(p.betas, t.betas[0], 1e-5)
    close(p.joints3d_smpl24, (t.smpl24 + t.translation[:, None])[0], 1e-4)


# ---------------------------------------------------------------------------------------- checkpoints
def make_checkpoint(body, path: Path, seed: int = 0) -> tuple[Path, RSCNet]:
    cfg = NetConfig.from_dict(TINY)
    torch.manual_seed(seed)
    net = RSCNet(cfg, body.mean_params)
    with torch.no_grad():  # non-trivial alpha rows, so a wrong row would show
        net.backbone.alpha.add_(0.1 * torch.randn_like(net.backbone.alpha))
    state = {
        "model": net.state_dict(),
        "net_config": cfg.to_dict(),
        "train_config": {},
        "body_model": body_model_entry(body.info),
        "resolution_bounds": list(BOUNDS),
        "input_size": cfg.input_size,
        "step": 10,
        "optimizer": {},
        "queue": {},
    }
    return save_checkpoint(state, path), net.eval()


@pytest.fixture(scope="module")
def checkpoint(body, tmp_path_factory) -> tuple[Path, RSCNet]:
    return make_checkpoint(body, tmp_path_factory.mktemp("ckpt") / "last.pt")


def test_from_checkpoint_matches_network(checkpoint, body) -> None:
    path, net = checkpoint
    p = Predictor.from_checkpoint(path, device="cpu", body=body, precision="fp32")
    assert p.is_trained and p.checkpoint_path == path and len(p.checkpoint_id) == 16
    state = p.net.state_dict()
    for k, v in net.state_dict().items():
        assert torch.equal(state[k].cpu(), v), k
    images = torch.rand(2, 3, 64, 64)
    out = p.predict_tensor(images, [1, 3])
    with torch.no_grad():
        ref = net(images, torch.tensor([1, 3]))
    close(out.betas, ref.betas, 1e-5)
    close(out.camera, ref.camera, 1e-5)


def test_from_checkpoint_fp16_export(checkpoint, body, tmp_path: Path) -> None:
    path, net = checkpoint
    served = export_served(load_checkpoint(path), tmp_path / "served.pt")
    raw = load_checkpoint(served)
    assert raw["weights_dtype"] == "float16" and raw["model"]["regressor.fc1.weight"].dtype == torch.float16
    p = Predictor.from_checkpoint(served, device="cpu", body=body, precision="fp32")
    state = p.net.state_dict()
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
    torch.testing.assert_close(state["regressor.fc1.weight"], net.regressor.fc1.weight.detach().half().float())
    full = Predictor.from_checkpoint(path, device="cpu", body=body, precision="fp32")
    crops = [crop(120, 80, 1), crop(30, 24, 2)]
    for a, b in zip(p.predict(crops), full.predict(crops)):
        close(a.keypoints2d_coco17, b.keypoints2d_coco17, 0.5)
        close(a.betas, b.betas, 1e-2)


def test_from_checkpoint_is_strict(checkpoint, body, tmp_path: Path) -> None:
    path, _ = checkpoint
    ckpt = load_checkpoint(path)
    missing = dict(ckpt, model={k: v for k, v in ckpt["model"].items() if k != "regressor.fc2.bias"})
    save_checkpoint({k: v for k, v in missing.items() if k != "format"}, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="regressor.fc2.bias"):
        Predictor.from_checkpoint(tmp_path / "missing.pt", device="cpu", body=body)
    extra = dict(ckpt, model={**ckpt["model"], "unexpected.weight": torch.zeros(2)})
    save_checkpoint({k: v for k, v in extra.items() if k != "format"}, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match="unexpected.weight"):
        Predictor.from_checkpoint(tmp_path / "extra.pt", device="cpu", body=body)
    with pytest.raises(CheckpointError):
        Predictor.from_checkpoint(tmp_path / "nope.pt", device="cpu", body=body)


def test_from_checkpoint_body_model_mismatch(checkpoint, body, tmp_path: Path) -> None:
    path, _ = checkpoint
    ckpt = load_checkpoint(path)
    other = {"name": "smpl", "sha256": "ab" * 32, "model_id": "smpl:abababababababab"}
    save_checkpoint({**{k: v for k, v in ckpt.items() if k != "format"}, "body_model": other}, tmp_path / "other.pt")
    with pytest.raises(ValueError) as info:
        Predictor.from_checkpoint(tmp_path / "other.pt", device="cpu", body=body)
    assert "smpl:abababababababab" in str(info.value) and body.info.model_id in str(info.value)
