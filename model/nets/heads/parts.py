"""Body-part segmentation head: each stride-4 cell's class of :mod:`model.body.parts`.

The pose regressor reads one pooled feature, and every network trained so far answers from the
outline (model card, "What the network reads"). This head asks the backbone's early stages for what
only the inside of the figure tells: which part of the body shows in each cell, left from right and
front from back. It is the stride-4 pyramid of :class:`~model.nets.heads.heatmaps.HeatmapHead`
(layer1-layer3 summed into layer1's grid, 3x3 and 1x1 convs), one channel per class, read as a
per-cell softmax over the classes (:func:`model.losses.parts.part_loss`).

>>> head = PartHead((64, 128, 256))
>>> logits = head(layer1, layer2, layer3)   # (B, 21, 16, 16) at a 64-px input
"""

from __future__ import annotations

from torch import Tensor, nn

from model.body.parts import NUM_PART_CLASSES
from model.nets.heads.heatmaps import HeatmapHead

__all__ = ["PartHead"]


class PartHead(nn.Module):
    """Per-cell part-class logits at stride 4 from layer1-layer3.

    Args:
        in_channels: channels of layer1, layer2 and layer3 (ResNet-18: 64, 128, 256).
        num_classes: classes (:data:`~model.body.parts.NUM_PART_CLASSES`).
        hidden: channels of the pyramid.
    """

    #: The backbone stages it reads (indices into ``forward_stages``).
    STAGES = HeatmapHead.STAGES

    def __init__(self, in_channels: tuple[int, int, int] = (64, 128, 256), num_classes: int = NUM_PART_CLASSES, hidden: int = 64) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.maps = HeatmapHead(in_channels, num_classes, hidden)

    def forward(self, layer1: Tensor, layer2: Tensor, layer3: Tensor) -> Tensor:
        """``(B, num_classes, H1, W1)`` float32 logits on layer1's grid."""
        return self.maps.heatmap_logits(layer1, layer2, layer3).float()
