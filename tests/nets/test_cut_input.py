"""The cut flag (``NetConfig.cut_input``): regressor condition, RSCNet wiring, a start from a network
without it and the predictor passing clients' flags (the trainer's side: tests/train/test_cut_input_training.py)."""

from __future__ import annotations

import pytest
import torch

from model.body.model import MeanParams
from model.nets import NetConfig, RSCNet
from model.nets.heads.regressor import IterativeRegressor

TINY = {"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 32}


def test_regressor_condition_starts_at_zero_and_then_moves_the_answer() -> None:
    torch.manual_seed(0)
    reg = IterativeRegressor(16, MeanParams.default(), hidden_dim=32, dropout=0.0, condition_dim=1).eval()
    assert reg.condition is not None and reg.condition.weight.shape == (32, 1) and reg.condition.bias is None
    phi = torch.randn(3, 16)
    whole, cut = reg(phi, condition=torch.zeros(3, 1)), reg(phi, condition=torch.ones(3, 1))
    torch.testing.assert_close(whole.camera, cut.camera)  # zero weights: the flag changes nothing yet
    torch.nn.init.normal_(reg.condition.weight)
    moved = reg(phi, condition=torch.ones(3, 1))
    assert not torch.allclose(moved.camera, whole.camera)
    torch.testing.assert_close(reg(phi, condition=torch.zeros(3, 1)).camera, whole.camera)  # 0 still reads as no shift
    assert moved.pose_rotmat.shape == (3, 24, 3, 3) and len(moved.iterations) == 3
    assert "condition_dim=1" in repr(reg)
    plain = IterativeRegressor(16, MeanParams.default(), hidden_dim=32, dropout=0.0).eval()
    plain.load_state_dict(reg.unconditioned_state_dict(), strict=True)  # e.g. the video module's copy
    torch.testing.assert_close(plain(phi).camera, reg(phi, condition=torch.zeros(3, 1)).camera)


def test_regressor_condition_is_checked_and_none_reads_as_zeros() -> None:
    torch.manual_seed(0)
    with_flag = IterativeRegressor(8, MeanParams.default(), hidden_dim=16, condition_dim=2).eval()
    plain = IterativeRegressor(8, MeanParams.default(), hidden_dim=16)
    phi = torch.randn(2, 8)
    torch.nn.init.normal_(with_flag.condition.weight)
    torch.testing.assert_close(with_flag(phi).camera, with_flag(phi, condition=torch.zeros(2, 2)).camera)
    with pytest.raises(ValueError, match=r"condition must be \(2, 2\)"):
        with_flag(phi, condition=torch.zeros(2, 1))
    with pytest.raises(ValueError, match="takes no condition"):
        plain(phi, condition=torch.zeros(2, 1))
    with pytest.raises(ValueError, match="condition_dim"):
        IterativeRegressor(8, MeanParams.default(), condition_dim=-1)


def test_rscnet_starts_from_a_network_without_the_flag_and_answers_the_same() -> None:
    torch.manual_seed(0)
    plain = RSCNet(NetConfig.from_dict(TINY), MeanParams.default()).eval()
    net = RSCNet(NetConfig.from_dict({**TINY, "cut_input": True}), MeanParams.default()).eval()
    report = net.initialise_from(plain.state_dict())
    assert report.newly_initialised == ["regressor.condition.weight"]
    images, ranges = torch.rand(2, 3, 64, 64), torch.tensor([0, 3])
    with torch.no_grad():
        ref = plain(images, ranges)
        for cut in (None, torch.tensor([0.0, 1.0])):
            out = net(images, ranges, cut)
            torch.testing.assert_close(out.camera, ref.camera)
            torch.testing.assert_close(out.pose_rotmat, ref.pose_rotmat)
    with pytest.raises(ValueError, match=r"cut must be \(2,\)"):
        net(images, ranges, torch.ones(3))
    with pytest.raises(ValueError, match="no cut input"):
        plain(images, ranges, torch.ones(2))
    with pytest.raises(Exception, match="regressor.condition.weight"):  # the reverse drops a trained tensor: refused
        RSCNet(NetConfig.from_dict(TINY), MeanParams.default()).initialise_from(net.state_dict())


def test_cut_flag_reaches_the_answer_and_gradients_only_through_cut_samples() -> None:
    torch.manual_seed(1)
    net = RSCNet(NetConfig.from_dict({**TINY, "cut_input": True, "regressor_dropout": 0.0}), MeanParams.default())
    images, ranges = torch.rand(4, 3, 64, 64), torch.zeros(4, dtype=torch.long)
    net(images, ranges, torch.zeros(4)).camera.sum().backward()
    grad = net.regressor.condition.weight.grad
    assert grad is not None and float(grad.abs().sum()) == 0.0  # nobody cut: the flag's weights learn nothing
    net.zero_grad()
    net(images, ranges, torch.tensor([0.0, 1.0, 0.0, 0.0])).camera.sum().backward()
    assert float(net.regressor.condition.weight.grad.abs().sum()) > 0.0
    with torch.no_grad():
        net.regressor.condition.weight.fill_(0.5)
        net.eval()
        a, b = net(images, ranges, torch.zeros(4)), net(images, ranges, torch.ones(4))
    assert not torch.allclose(a.camera, b.camera)


def test_predictor_passes_flags_to_a_network_that_reads_them() -> None:
    import numpy as np

    from model.inference.predictor import Predictor

    bounds = (224, 128, 64, 40, 24)
    plain = Predictor.random_init(TINY, bounds, device="cpu", seed=0, precision="fp32")
    flagged = Predictor.random_init({**TINY, "cut_input": True}, bounds, device="cpu", seed=0, precision="fp32")
    with torch.no_grad():
        flagged.net.regressor.condition.weight.fill_(0.3)
    assert flagged.cut_input and not plain.cut_input and flagged.describe()["cut_input"] is True
    crops = [np.random.default_rng(i).integers(0, 255, (48, 40, 3), dtype=np.uint8) for i in range(3)]
    told = flagged.predict(crops, cut=[False, True, False], batch_size=2)
    whole = flagged.predict(crops, batch_size=2)
    assert np.allclose(told[0].keypoints2d_coco17, whole[0].keypoints2d_coco17)
    assert not np.allclose(told[1].keypoints2d_coco17, whole[1].keypoints2d_coco17)  # the second batch-mate reads its own flag
    assert np.allclose(told[2].keypoints2d_coco17, whole[2].keypoints2d_coco17)
    # A network without the input is not changed by flags (a client may always send them).
    a, b = plain.predict(crops, cut=[True] * 3), plain.predict(crops)
    assert all(np.allclose(x.keypoints2d_coco17, y.keypoints2d_coco17) for x, y in zip(a, b))
    with pytest.raises(ValueError, match="3 entries"):
        flagged.predict(crops, cut=[True])
    with pytest.raises(ValueError, match="0/1"):
        flagged.predict(crops, cut=[2, 0, 0])
    images = torch.rand(2, 3, 64, 64)
    t_cut = flagged.predict_tensor(images, [0, 0], cut=torch.tensor([1.0, 1.0]))
    t_whole = flagged.predict_tensor(images, [0, 0])
    assert not torch.allclose(t_cut.camera, t_whole.camera)


def test_flip_test_gives_the_mirror_its_original_flag() -> None:
    import numpy as np

    from model.inference.predictor import Predictor

    flagged = Predictor.random_init({**TINY, "cut_input": True}, (224, 128, 64, 40, 24), device="cpu", seed=0, precision="fp32",
                                    flip_test=True)
    with torch.no_grad():
        flagged.net.regressor.condition.weight.fill_(0.3)
    crop = np.random.default_rng(0).integers(0, 255, (48, 40, 3), dtype=np.uint8)
    [cut], [whole] = flagged.predict([crop], cut=[True]), flagged.predict([crop])
    assert cut.flip_disagreement is not None and not np.allclose(cut.keypoints2d_coco17, whole.keypoints2d_coco17)
