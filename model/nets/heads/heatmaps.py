"""2D keypoint heatmaps at stride 4: a light feature pyramid over layer1-layer3, one map per keypoint.

The stride-8 head (:mod:`model.nets.heads.keypoints`) is supervised through the expectation of its
softmax only, so a keypoint it cannot tell apart from its left/right partner is answered between the
two (the expectation of a two-peaked map), and the loss never asks the map to be peaked. This head is
made for the other supervision, a cross-entropy of each map against a Gaussian around the true point
(:func:`model.losses.heatmap.heatmap_loss`): every cell of every map gets a target, a map may keep
two peaks while it is unsure, and the answer is read at the strongest peak.

At 64-px input the maps are 16 x 16 (stride 4): each stage is brought to 64 channels by a 1x1 conv
(BN), the coarser ones upsampled (bilinear) and summed into layer1's grid (a feature pyramid's top-down
sum), then a 3x3 conv (BN, ReLU) and a 1x1 conv give the logits: ~12 M multiply-adds per 64-px crop
by count, about 8 % of a ResNet-18 at that size.

>>> head = HeatmapHead((64, 128, 256), num_keypoints=17)
>>> logits = head.heatmap_logits(layer1, layer2, layer3)   # (B, 17, 16, 16) at 64 px
>>> kp = head(layer1, layer2, layer3)                       # (B, 17, 2) in [-1, 1]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["HeatmapHead", "peak_keypoints"]


def peak_keypoints(logits: Tensor, window: int = 3) -> Tensor:
    """Keypoints at each map's strongest peak, refined by a soft-argmax over the ``window`` x ``window``
    cells around it.

    Args:
        logits: ``(B, J, H, W)`` heatmap logits.
        window: odd side of the refinement window in cells.

    Returns:
        ``(B, J, 2)`` float32 ``(x, y)`` in the crop's normalised coordinates ``2 u / S - 1`` (cell
        centres at ``(c + 0.5) 2 / W - 1``). Differentiable through the window's softmax.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number, got {window}")
    logits = logits.float()
    b, j, h, w = logits.shape
    flat = logits.reshape(b, j, h * w)
    peak = flat.argmax(dim=-1)
    py, px = peak // w, peak % w
    r = window // 2
    offsets = torch.arange(-r, r + 1, device=logits.device)
    ys = (py[..., None] + offsets).clamp(0, h - 1)  # (B, J, win)
    xs = (px[..., None] + offsets).clamp(0, w - 1)
    cells = ys[..., :, None] * w + xs[..., None, :]  # (B, J, win, win)
    local = flat.gather(-1, cells.reshape(b, j, -1))
    weight = torch.softmax(local, dim=-1).reshape(b, j, window, window)
    y = (weight.sum(-1) * ys.float()).sum(-1)
    x = (weight.sum(-2) * xs.float()).sum(-1)
    return torch.stack([(x + 0.5) * (2.0 / w) - 1.0, (y + 0.5) * (2.0 / h) - 1.0], dim=-1)


class HeatmapHead(nn.Module):
    """A stride-4 feature pyramid over three backbone stages -> heatmap logits; see the module docstring.

    Args:
        in_channels: channels of layer1, layer2 and layer3 (ResNet-18: 64, 128, 256).
        num_keypoints: ``J`` (COCO-17).
        hidden: channels of the pyramid and of the 3x3 conv.
    """

    #: The backbone stages it reads (indices into ``forward_stages``: layer1, layer2, layer3).
    STAGES = (0, 1, 2)

    def __init__(self, in_channels: tuple[int, int, int] = (64, 128, 256), num_keypoints: int = 17, hidden: int = 64) -> None:
        super().__init__()
        self.num_keypoints = num_keypoints
        self.lateral = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, hidden, kernel_size=1, bias=False), nn.BatchNorm2d(hidden)) for c in in_channels
        )
        self.fuse = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
        )
        self.heatmaps = nn.Conv2d(hidden, num_keypoints, kernel_size=1)
        nn.init.normal_(self.heatmaps.weight, std=0.001)
        nn.init.zeros_(self.heatmaps.bias)

    def heatmap_logits(self, *stages: Tensor) -> Tensor:
        """``layer1 (B, C1, H, W)``, ``layer2``, ``layer3`` (coarser) -> logits ``(B, J, H, W)``."""
        if len(stages) != len(self.lateral):
            raise ValueError(f"expected {len(self.lateral)} stages, got {len(stages)}")
        size = stages[0].shape[-2:]
        total = self.lateral[0](stages[0])
        for conv, stage in zip(self.lateral[1:], stages[1:]):
            total = total + F.interpolate(conv(stage), size=size, mode="bilinear", align_corners=False).to(total.dtype)
        return self.heatmaps(self.fuse(total))

    def forward(self, *stages: Tensor) -> Tensor:
        """Keypoints ``(B, J, 2)`` float32 in ``[-1, 1]`` at each map's peak (:func:`peak_keypoints`)."""
        return self.decode(self.heatmap_logits(*stages))

    @staticmethod
    def decode(logits: Tensor) -> Tensor:
        """Logits ``(B, J, H, W)`` -> keypoints ``(B, J, 2)`` at each map's peak (:func:`peak_keypoints`)."""
        return peak_keypoints(logits)
