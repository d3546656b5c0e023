"""Temporal GRU regressor and motion discriminator: shapes, causality, chunking, gaps, initialisation."""

from __future__ import annotations

import pytest
import torch

from model.body import load_body_model
from model.geometry.rotations import axis_angle_to_matrix
from model.losses import lsgan_discriminator_loss, lsgan_generator_loss
from model.nets import IterativeRegressor
from model.nets.motion_discriminator import MotionDiscriminator, MotionDiscriminatorConfig
from model.nets.temporal import TemporalConfig, TemporalRegressor, fill_missing_features

C = 32
SMALL = dict(feature_dim=C, hidden_dim=24, regressor_hidden_dim=48, chunk_size=8, chunk_overlap=3)


@pytest.fixture(scope="module")
def mean_params():
    return load_body_model().mean_params


def trained_like(net: TemporalRegressor) -> TemporalRegressor:
    """Give the zero-initialised residual projection some weight so the GRU matters."""
    torch.manual_seed(3)
    with torch.no_grad():
        net.encoder.proj.weight.normal_(0, 0.3)
    return net.eval()


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("t", [1, 5, 20])
def test_output_shapes(mean_params, bidirectional: bool, t: int) -> None:
    net = TemporalRegressor(TemporalConfig(**SMALL, bidirectional=bidirectional), mean_params)
    out = net(torch.randn(3, t, C))
    assert out.features.shape == (3, t, C)
    assert out.pose_rotmat.shape == (3, t, 24, 3, 3)
    assert out.pose_6d.shape == (3, t, 24, 6)
    assert out.betas.shape == (3, t, 10)
    assert out.camera.shape == (3, t, 3)
    r = out.pose_rotmat.reshape(-1, 3, 3)
    assert torch.allclose(r @ r.transpose(1, 2), torch.eye(3).expand_as(r), atol=1e-4)


def test_starts_as_the_single_frame_regressor(mean_params) -> None:
    net = TemporalRegressor(TemporalConfig(**SMALL), mean_params).eval()
    single = IterativeRegressor(C, mean_params, hidden_dim=48, dropout=0.0).eval()
    torch.nn.init.normal_(single.decpose.weight, 0, 0.05)
    net.regressor.load_state_dict(single.state_dict())
    phi = torch.randn(2, 6, C)
    out = net(phi)
    ref = single(phi.reshape(12, C))
    assert torch.allclose(out.features, phi)
    assert torch.allclose(out.pose_rotmat.reshape(12, 24, 3, 3), ref.pose_rotmat, atol=1e-6)


def test_causal_model_ignores_the_future_and_bidirectional_does_not(mean_params) -> None:
    phi = torch.randn(1, 10, C)
    later = phi.clone()
    later[:, 6:] += 1.0
    causal = trained_like(TemporalRegressor(TemporalConfig(**SMALL), mean_params))
    a, b = causal(phi).pose_6d, causal(later).pose_6d
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6) and not torch.allclose(a[:, 6:], b[:, 6:])
    bi = trained_like(TemporalRegressor(TemporalConfig(**SMALL, bidirectional=True), mean_params))
    assert not torch.allclose(bi(phi).pose_6d[:, :6], bi(later).pose_6d[:, :6])


def test_chunked_causal_equals_one_pass(mean_params) -> None:
    net = trained_like(TemporalRegressor(TemporalConfig(**SMALL), mean_params))
    phi = torch.randn(2, 29, C)
    full, chunked = net(phi), net.forward_chunked(phi, chunk_size=8)
    assert torch.allclose(full.features, chunked.features, atol=1e-5)
    assert torch.allclose(full.pose_6d, chunked.pose_6d, atol=1e-5)


def test_chunked_bidirectional_close_to_one_pass(mean_params) -> None:
    net = trained_like(TemporalRegressor(TemporalConfig(**SMALL, bidirectional=True), mean_params))
    phi = torch.randn(1, 30, C)
    full = net(phi).features
    chunked = net.forward_chunked(phi, chunk_size=8, overlap=3).features
    assert chunked.shape == (1, 30, C) and torch.isfinite(chunked).all()
    # Windows lack the far context, so the blend differs from one pass, but only by a fraction of
    # what the GRU adds to phi.
    assert (chunked - full).abs().mean() < 0.5 * (full - phi).abs().mean()
    short = phi[:, :8]  # a sequence that fits one chunk is one pass
    assert torch.allclose(net.forward_chunked(short, chunk_size=8).features, net(short).features)


def test_first_frame_initial_state(mean_params) -> None:
    """``init_state="first_frame"``: starts as zeros (the single-frame model), then the state comes
    from the first frame (the last one for the backward direction), chunking stays exact."""
    phi = torch.randn(2, 9, C)
    for bidirectional in (False, True):
        net = TemporalRegressor(TemporalConfig(**SMALL, init_state="first_frame", bidirectional=bidirectional), mean_params).eval()
        assert net.encoder.init is not None
        assert torch.count_nonzero(net.encoder.initial_state(phi)) == 0  # zero map at the start
        trained_like(net)
        with torch.no_grad():
            net.encoder.init.weight.normal_(0, 0.3)
        h = net.encoder.initial_state(phi)
        d = 2 if bidirectional else 1
        assert h.shape == (2 * d, 2, SMALL["hidden_dim"])  # (layers * directions, B, H)
        changed = phi.clone()
        changed[:, 0] += 1.0  # another first frame: another forward start
        assert not torch.allclose(net.encoder.initial_state(changed)[0], h[0])
        if bidirectional:  # the backward direction starts from the last frame
            assert torch.allclose(net.encoder.initial_state(changed)[1], h[1])
            later = phi.clone()
            later[:, -1] += 1.0
            assert not torch.allclose(net.encoder.initial_state(later)[1], h[1])
        # a constant clip: the first output already reads the state built from that frame
        still = phi[:, :1].expand(2, 9, C)
        zero_start = TemporalRegressor(TemporalConfig(**SMALL, bidirectional=bidirectional), mean_params).eval()
        zero_start.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith("encoder.init.")})
        assert not torch.allclose(net(still).features[:, 0], zero_start(still).features[:, 0])
    causal = TemporalRegressor(TemporalConfig(**SMALL, init_state="first_frame"), mean_params).eval()
    trained_like(causal)
    with torch.no_grad():
        causal.encoder.init.weight.normal_(0, 0.3)
    long = torch.randn(2, 29, C)
    assert torch.allclose(causal(long).pose_6d, causal.forward_chunked(long, chunk_size=8).pose_6d, atol=1e-5)
    with pytest.raises(ValueError, match="init_state"):
        TemporalConfig(init_state="learned")


def test_motion_input_keeps_a_still_input_at_the_single_frame_answer(mean_params) -> None:
    """``gru_input="motion"``: the GRU reads frame-to-frame changes and has no biases, so a still clip
    gives exactly ``phi`` (the single-frame answer) at every frame, however trained; a moving clip
    does not; chunking carries the previous frame across chunks (one pass exactly)."""
    for bidirectional in (False, True):
        net = TemporalRegressor(TemporalConfig(**SMALL, gru_input="motion", bidirectional=bidirectional), mean_params)
        assert all(not name.endswith("bias") and "bias_" not in name for name, _ in net.encoder.named_parameters())
        trained_like(net)
        with torch.no_grad():
            for p in net.encoder.gru.parameters():
                p.normal_(0, 0.5)
        still = torch.randn(2, 1, C).expand(2, 12, C)
        assert torch.equal(net(still).features, still)
        # (the bidirectional windows' cross-fade divides by the summed ramps: equal up to rounding)
        assert torch.allclose(net.forward_chunked(still, chunk_size=5, overlap=2).features, still, rtol=0, atol=1e-6)
        moving = still + 0.5 * torch.randn(2, 12, C)
        out = net(moving).features
        assert torch.equal(out[:, 0], moving[:, 0]) or bidirectional  # causal: no change before frame 2
        assert not torch.allclose(out, moving)
        # a missing frame of a still clip is filled with the same feature: still exactly phi
        valid = torch.ones(2, 12, dtype=torch.bool)
        valid[:, 4] = False
        assert torch.equal(net(still, valid).features, still)
    causal = trained_like(TemporalRegressor(TemporalConfig(**SMALL, gru_input="motion"), mean_params))
    long = torch.randn(2, 29, C)
    assert torch.allclose(causal(long).features, causal.forward_chunked(long, chunk_size=8).features, atol=1e-5)
    assert causal.encoder.gru_input(long)[:, 0].abs().max() == 0
    assert torch.allclose(causal.encoder.gru_input(long)[:, 1:], long[:, 1:] - long[:, :-1])
    with pytest.raises(ValueError, match="gru_input"):
        TemporalConfig(gru_input="delta")
    with pytest.raises(ValueError, match="init_state='zeros'"):
        TemporalConfig(gru_input="motion", init_state="first_frame")


def test_fill_missing_features() -> None:
    phi = torch.arange(6, dtype=torch.float32).reshape(1, 6, 1).expand(1, 6, 2).contiguous()
    valid = torch.tensor([[False, True, False, False, True, False]])
    causal = fill_missing_features(phi, valid, causal=True)[0, :, 0]
    assert causal.tolist() == [1.0, 1.0, 1.0, 1.0, 4.0, 4.0]
    interp = fill_missing_features(phi, valid, causal=False)[0, :, 0]
    assert torch.allclose(interp, torch.tensor([1.0, 1.0, 2.0, 3.0, 4.0, 4.0]))
    assert fill_missing_features(phi, None, causal=True) is phi
    with pytest.raises(ValueError, match="at least one valid"):
        fill_missing_features(phi, torch.zeros(1, 6, dtype=torch.bool), causal=True)


def test_gaps_are_bridged(mean_params) -> None:
    net = trained_like(TemporalRegressor(TemporalConfig(**SMALL), mean_params))
    phi = torch.randn(1, 8, C)
    valid = torch.ones(1, 8, dtype=torch.bool)
    valid[0, 3] = False
    garbage = phi.clone()
    garbage[0, 3] = 1e3  # a missing frame's feature must not matter
    assert torch.allclose(net(phi, valid).pose_6d, net(garbage, valid).pose_6d)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        TemporalConfig(chunk_size=8, chunk_overlap=8)
    with pytest.raises(ValueError, match="unknown TemporalConfig"):
        TemporalConfig.from_dict({"hidden": 3})
    assert TemporalConfig.from_dict(TemporalConfig(**SMALL).to_dict()) == TemporalConfig(**SMALL)


def test_motion_discriminator_shapes_and_root_invariance() -> None:
    torch.manual_seed(0)
    disc = MotionDiscriminator(MotionDiscriminatorConfig(hidden_dim=16, attention_dim=8)).eval()
    pose = axis_angle_to_matrix(0.3 * torch.randn(4, 7, 24, 3))
    scores = disc(pose)
    assert scores.shape == (4,)
    rotated = pose.clone()
    rotated[:, :, 0] = axis_angle_to_matrix(torch.randn(4, 7, 3))  # the global orientation is ignored
    assert torch.allclose(disc(rotated), scores)
    assert torch.allclose(disc(pose[:, :, 1:]), scores)
    w = disc.attention_weights(torch.randn(4, 7, 16))
    assert torch.allclose(w.sum(1), torch.ones(4))
    with pytest.raises(ValueError, match="body_pose"):
        disc(torch.randn(4, 7, 22, 3, 3))


def test_lsgan_losses_hand_computed() -> None:
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.5, -1.0])
    assert torch.isclose(lsgan_discriminator_loss(real, fake), torch.tensor((0 + 1) / 2 + (0.25 + 1) / 2))
    assert torch.isclose(lsgan_generator_loss(fake), torch.tensor((0.25 + 4) / 2))
