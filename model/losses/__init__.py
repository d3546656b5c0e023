"""Training losses of RSC-Net: basic supervision (Eq. 8), self-supervision (Eqs. 9-10), contrastive
(Eqs. 11-12), the least-squares GAN losses of the video model's motion discriminator, and its root
angular-velocity loss."""

from __future__ import annotations

from model.losses.adversarial import lsgan_discriminator_loss, lsgan_generator_loss
from model.losses.basic import (
    BasicLossConfig,
    BasicPrediction,
    BasicTarget,
    basic_loss,
    masked_sample_mean,
    normalize_keypoints,
)
from model.losses.config import LossWeights, TotalLossConfig, combine_losses
from model.losses.contrastive import (
    ContrastiveKind,
    FeatureQueue,
    contrastive_loss,
    multi_resolution_contrastive_loss,
)
from model.losses.heading import heading_loss
from model.losses.root_velocity import root_velocity_loss
from model.losses.self_supervision import (
    SelfSupervisionMode,
    output_self_supervision_loss,
    resolution_pairs,
    self_supervision_loss,
    stack_resolutions,
)

__all__ = [
    "BasicLossConfig",
    "BasicPrediction",
    "BasicTarget",
    "ContrastiveKind",
    "FeatureQueue",
    "LossWeights",
    "SelfSupervisionMode",
    "TotalLossConfig",
    "basic_loss",
    "combine_losses",
    "contrastive_loss",
    "heading_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "masked_sample_mean",
    "multi_resolution_contrastive_loss",
    "normalize_keypoints",
    "output_self_supervision_loss",
    "resolution_pairs",
    "root_velocity_loss",
    "self_supervision_loss",
    "stack_resolutions",
]
