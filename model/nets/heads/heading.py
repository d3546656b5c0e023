"""Heading head: which way the person faces, classified into bins (:mod:`model.geometry.heading`).

The regressor answers the root rotation with a 6D regression from the mean rotation, trained by a
mean squared error. For a direction the image leaves open (front or back, left or right) such a
regression answers the average of the candidates, and its gradient asks the backbone for little
more. A classifier over heading bins, trained by cross-entropy, can say "one of these two" and keeps
asking the backbone for what separates them.

>>> head = HeadingHead(in_channels=512, bins=12)
>>> logits = head(layer4)     # (B, 512, 2, 2) at 64 px -> (B, 12)

The last stage's map is average-pooled to 2x2 (so the head keeps where in the crop a feature lies:
a face on the left of the head, say) and reduced by a 1x1 conv; two linear layers give the logits.
The map is used in the backbone's dtype; the logits are float32.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["HeadingHead"]

#: Side of the pooled map the head reads.
POOLED_SIDE = 2


class HeadingHead(nn.Module):
    """Last-stage map ``(B, C, h, w)`` -> heading logits ``(B, K)``; see the module docstring.

    Args:
        in_channels: C of the last stage (ResNet-18: 512).
        bins: K, heading bins.
        reduced: channels after the 1x1 conv.
        hidden: width of the hidden linear layer.
    """

    def __init__(self, in_channels: int = 512, bins: int = 12, reduced: int = 64, hidden: int = 256) -> None:
        super().__init__()
        if bins < 2:
            raise ValueError(f"bins must be >= 2, got {bins}")
        self.in_channels, self.bins = in_channels, bins
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, reduced, kernel_size=1), nn.ReLU(inplace=True))
        self.classify = nn.Sequential(
            nn.Linear(reduced * POOLED_SIDE * POOLED_SIDE, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, bins)
        )

    def forward(self, features: Tensor) -> Tensor:
        """Heading logits ``(B, K)`` float32 of a last-stage map ``(B, C, h, w)``."""
        if features.ndim != 4 or features.shape[1] != self.in_channels:
            raise ValueError(f"features must be (B, {self.in_channels}, h, w), got {tuple(features.shape)}")
        pooled = F.adaptive_avg_pool2d(features, POOLED_SIDE)
        return self.classify(self.reduce(pooled).flatten(1)).float()

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, bins={self.bins}"
