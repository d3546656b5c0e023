"""Adversarial prior over single-frame body poses and shapes (after HMR, Kanazawa et al. 2018).

>>> disc = PoseDiscriminator(PoseDiscriminatorConfig())
>>> scores = disc(body_pose_rotmat, betas)   # (B, 23, 3, 3), (B, 10) -> (B, 25) real-ness scores

It keeps the regressor's output inside the space of human poses when the image is unlike the
training data. Like HMR it judges several things at once, each with its own unbounded score
(1 = real, 0 = generated under the least-squares GAN loss of :mod:`model.losses.adversarial`):

* **each joint** (23 scores): a small MLP shared by all joints embeds every 3x3 rotation
  (9 numbers -> ``joint_dim``); one linear scorer per joint judges its rotation alone;
* **the whole pose** (1 score): an MLP over all 23 embeddings together judges how the joints
  combine (a plausible knee with an impossible hip);
* **the shape** (1 score): an MLP over the betas.

The global orientation (joint 0) is left out: any heading and tilt of the body is plausible and
depends on the camera. Real samples are ground-truth poses drawn from the synthetic pose and
motion priors (:mod:`model.data.poses`); the trainer feeds them (see
:class:`~model.train.trainer.Trainer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from model.nets.config import FlatConfig

__all__ = ["PoseDiscriminator", "PoseDiscriminatorConfig"]

NUM_BODY_JOINTS = 23


@dataclass(frozen=True)
class PoseDiscriminatorConfig(FlatConfig):
    """Attributes: ``joint_dim`` (per-joint embedding width), ``pose_hidden`` (width of the whole-pose
    MLP), ``shape_hidden`` (width of the shape MLP), ``num_betas`` (shape coefficients judged)."""

    joint_dim: int = 32
    pose_hidden: int = 1024
    shape_hidden: int = 10
    num_betas: int = 10

    def __post_init__(self) -> None:
        for name in ("joint_dim", "pose_hidden", "shape_hidden", "num_betas"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")

    @property
    def num_scores(self) -> int:
        """Scores per sample: one per body joint, the whole pose, the shape."""
        return NUM_BODY_JOINTS + 2


class PoseDiscriminator(nn.Module):
    """Per-joint, whole-pose and shape discriminators; see the module docstring."""

    def __init__(self, config: PoseDiscriminatorConfig = PoseDiscriminatorConfig()) -> None:
        super().__init__()
        self.config = config
        d = config.joint_dim
        self.joint_embed = nn.Sequential(nn.Linear(9, d), nn.ReLU(inplace=True), nn.Linear(d, d), nn.ReLU(inplace=True))
        # One scorer per joint: a (23, d) weight applied joint-wise.
        self.joint_weight = nn.Parameter(torch.randn(NUM_BODY_JOINTS, d) / d**0.5)
        self.joint_bias = nn.Parameter(torch.zeros(NUM_BODY_JOINTS))
        h = config.pose_hidden
        self.pose_mlp = nn.Sequential(
            nn.Linear(NUM_BODY_JOINTS * d, h), nn.ReLU(inplace=True), nn.Linear(h, h), nn.ReLU(inplace=True), nn.Linear(h, 1)
        )
        s = config.shape_hidden
        self.shape_mlp = nn.Sequential(
            nn.Linear(config.num_betas, s), nn.ReLU(inplace=True), nn.Linear(s, max(s // 2, 1)), nn.ReLU(inplace=True),
            nn.Linear(max(s // 2, 1), 1),
        )

    def forward(self, body_pose: Tensor, betas: Tensor) -> Tensor:
        """Scores ``(B, 25)``: 23 joints, the whole pose, the shape.

        Args:
            body_pose: ``(B, 23, 3, 3)`` body-joint rotations, or ``(B, 24, 3, 3)`` (the root is dropped).
            betas: ``(B, num_betas)`` shape coefficients.
        """
        if body_pose.ndim != 4 or body_pose.shape[-2:] != (3, 3) or body_pose.shape[1] not in (23, 24):
            raise ValueError(f"body_pose must be (B, 23 or 24, 3, 3), got {tuple(body_pose.shape)}")
        if betas.ndim != 2 or betas.shape[0] != body_pose.shape[0] or betas.shape[1] != self.config.num_betas:
            raise ValueError(f"betas must be (B, {self.config.num_betas}), got {tuple(betas.shape)}")
        if body_pose.shape[1] == 24:
            body_pose = body_pose[:, 1:]
        b = body_pose.shape[0]
        with torch.autocast(device_type=body_pose.device.type, enabled=False):
            emb = self.joint_embed(body_pose.float().reshape(b, NUM_BODY_JOINTS, 9))  # (B, 23, d)
            joints = (emb * self.joint_weight).sum(-1) + self.joint_bias  # (B, 23)
            pose = self.pose_mlp(emb.reshape(b, -1))  # (B, 1)
            shape = self.shape_mlp(betas.float())  # (B, 1)
            return torch.cat([joints, pose, shape], dim=1)
