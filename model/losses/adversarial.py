"""Least-squares GAN losses (Mao et al. 2017) for the motion discriminator of the video model.

With real label 1 and fake label 0, as VIBE uses them:

* discriminator: ``L_D = E[(D(real) - 1)^2] + E[D(fake)^2]`` (fake scores detached by the caller);
* generator: ``L_adv = E[(D(fake) - 1)^2]``.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["lsgan_discriminator_loss", "lsgan_generator_loss"]


def lsgan_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """``mean((D(real) - 1)^2) + mean(D(fake)^2)``; scores ``(B,)`` (any shapes), returns a scalar."""
    return (real_scores.float() - 1.0).square().mean() + fake_scores.float().square().mean()


def lsgan_generator_loss(fake_scores: Tensor) -> Tensor:
    """``mean((D(fake) - 1)^2)``: pushes generated sequences towards the real label."""
    return (fake_scores.float() - 1.0).square().mean()
