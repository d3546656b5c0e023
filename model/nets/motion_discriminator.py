"""Motion discriminator of the video model (paper Section 3.5, after VIBE).

>>> disc = MotionDiscriminator(MotionDiscriminatorConfig())
>>> score = disc(body_pose_rotmat)     # (B, T, 23, 3, 3) body-joint rotations -> (B,) real-ness

It judges whether a sequence of **body poses** (the 23 joints below the root, without the global
orientation, so the camera does not matter) moves like a person: each frame's rotations become
6D vectors ``(B, T, 23*6)``, a 2-layer GRU reads them, self-attention pooling weighs the GRU
outputs over time (an MLP scores each step, softmax over ``T``), and a linear layer gives one
unbounded score per sequence, trained with the least-squares GAN loss of
:mod:`model.losses.adversarial`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from model.geometry.rotations import matrix_to_rot6d
from model.nets.config import FlatConfig

__all__ = ["MotionDiscriminator", "MotionDiscriminatorConfig"]

NUM_BODY_JOINTS = 23


@dataclass(frozen=True)
class MotionDiscriminatorConfig(FlatConfig):
    """Attributes: ``hidden_dim`` (GRU width), ``num_layers`` (GRU layers), ``attention_dim``
    (width of the attention MLP), ``dropout`` (before the output layer)."""

    hidden_dim: int = 256
    num_layers: int = 2
    attention_dim: int = 256
    dropout: float = 0.1

    def __post_init__(self) -> None:
        for name in ("hidden_dim", "num_layers", "attention_dim"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class MotionDiscriminator(nn.Module):
    """GRU + self-attention pooling over body-pose sequences; see the module docstring."""

    def __init__(self, config: MotionDiscriminatorConfig = MotionDiscriminatorConfig()) -> None:
        super().__init__()
        self.config = config
        self.gru = nn.GRU(NUM_BODY_JOINTS * 6, config.hidden_dim, num_layers=config.num_layers, batch_first=True)
        self.attention = nn.Sequential(
            nn.Linear(config.hidden_dim, config.attention_dim),
            nn.Tanh(),
            nn.Linear(config.attention_dim, 1),
        )
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(config.hidden_dim, 1)

    @staticmethod
    def pose_features(body_pose: Tensor) -> Tensor:
        """``(B, T, 23, 3, 3)`` rotations (or ``(B, T, 24, 3, 3)``: the root is dropped) -> ``(B, T, 138)``."""
        if body_pose.ndim != 5 or body_pose.shape[-2:] != (3, 3) or body_pose.shape[2] not in (23, 24):
            raise ValueError(f"body_pose must be (B, T, 23 or 24, 3, 3), got {tuple(body_pose.shape)}")
        if body_pose.shape[2] == 24:
            body_pose = body_pose[:, :, 1:]
        b, t = body_pose.shape[:2]
        return matrix_to_rot6d(body_pose.float()).reshape(b, t, NUM_BODY_JOINTS * 6)

    def attention_weights(self, hidden: Tensor) -> Tensor:
        """``(B, T, H)`` GRU outputs -> ``(B, T)`` pooling weights (softmax over time)."""
        return torch.softmax(self.attention(hidden).squeeze(-1), dim=1)

    def forward(self, body_pose: Tensor) -> Tensor:
        """``(B, T, 23|24, 3, 3)`` rotations -> ``(B,)`` scores (1 = real, 0 = generated under LSGAN)."""
        with torch.autocast(device_type=body_pose.device.type, enabled=False):
            h, _ = self.gru(self.pose_features(body_pose))
            w = self.attention_weights(h)
            pooled = (w[..., None] * h).sum(dim=1)
            return self.out(self.dropout(pooled)).squeeze(-1)
