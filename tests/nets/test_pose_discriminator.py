"""The adversarial pose prior's discriminator: output shapes, root handling, input checks, gradients."""

from __future__ import annotations

import pytest
import torch

from model.geometry.rotations import axis_angle_to_matrix
from model.nets.pose_discriminator import PoseDiscriminator, PoseDiscriminatorConfig


def test_scores_per_joint_pose_and_shape() -> None:
    disc = PoseDiscriminator(PoseDiscriminatorConfig(pose_hidden=64))
    pose = axis_angle_to_matrix(torch.randn(5, 24, 3) * 0.3)
    betas = torch.randn(5, 10)
    scores = disc(pose, betas)
    assert scores.shape == (5, disc.config.num_scores) == (5, 25)
    # The root (global orientation) is ignored: any heading is plausible.
    turned = pose.clone()
    turned[:, 0] = axis_angle_to_matrix(torch.randn(5, 3))
    assert torch.allclose(disc(turned, betas), scores)
    assert torch.allclose(disc(pose[:, 1:], betas), scores)


def test_gradients_reach_the_pose_and_betas() -> None:
    disc = PoseDiscriminator(PoseDiscriminatorConfig(pose_hidden=16))
    pose = axis_angle_to_matrix(torch.randn(2, 24, 3) * 0.3).requires_grad_(True)
    betas = torch.randn(2, 10, requires_grad=True)
    disc(pose, betas).square().sum().backward()
    assert pose.grad is not None and pose.grad[:, 1:].abs().sum() > 0 and betas.grad is not None


@pytest.mark.parametrize(("shape", "betas"), [((2, 22, 3, 3), (2, 10)), ((2, 24, 3), (2, 10)), ((2, 24, 3, 3), (3, 10)), ((2, 24, 3, 3), (2, 8))])
def test_rejects_wrong_shapes(shape: tuple[int, ...], betas: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        PoseDiscriminator(PoseDiscriminatorConfig(pose_hidden=8))(torch.zeros(shape), torch.zeros(betas))


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        PoseDiscriminatorConfig(joint_dim=0)
    assert PoseDiscriminatorConfig.from_dict(PoseDiscriminatorConfig().to_dict()) == PoseDiscriminatorConfig()
