"""Projection head of the contrastive loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from model.nets.heads.projection import ProjectionHead


def test_shape_and_structure() -> None:
    head = ProjectionHead(512)
    assert [type(m) for m in head.children()] == [nn.Linear, nn.ReLU, nn.Linear]
    assert (head.fc1.in_features, head.fc1.out_features, head.fc2.out_features) == (512, 512, 128)
    assert head(torch.randn(4, 512)).shape == (4, 128)
    assert ProjectionHead(2048, 256, 64)(torch.randn(3, 2048)).shape == (3, 64)


def test_not_normalised_float32_under_autocast_and_differentiable() -> None:
    head = ProjectionHead(64, out_dim=16)
    phi = torch.randn(5, 64, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = head(phi)
    assert z.dtype == torch.float32 and z.shape == (5, 16)
    assert not torch.allclose(z.norm(dim=1), torch.ones(5))
    z.square().sum().backward()
    assert phi.grad is not None and phi.grad.abs().sum() > 0


def test_wrong_width_raises() -> None:
    with pytest.raises(ValueError, match=r"\(B, 64\)"):
        ProjectionHead(64)(torch.randn(2, 32))
