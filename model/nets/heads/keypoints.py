"""2D keypoint head: soft-argmax heatmaps on an intermediate feature map (integral regression).

At 64-px input a ResNet-18's last map is 2x2 and the regressor sees only its average: the network
must learn where the joints are from a global, pooled feature, with one 3D/2D loss per crop as its
only signal. This head gives the backbone a dense, spatial task one stage earlier:

>>> head = KeypointHead(in_channels=(128, 256), num_keypoints=17)
>>> kp = head(layer2, layer3)   # (B, 128, 8, 8), (B, 256, 4, 4) at 64 px -> (B, 17, 2) in [-1, 1]

``layer3`` is upsampled to ``layer2``'s size (bilinear) and concatenated with it; a 3x3 conv
(BN, ReLU) and a 1x1 conv give one heatmap per keypoint; a softmax over the map's cells turns
each into a distribution whose expectation is the keypoint, in the crop's normalised coordinates
``2 u / S - 1`` (SPIN's 2D convention, :func:`model.losses.basic.normalize_keypoints`). The
expectation places a keypoint between cells, so an 8x8 map at 64 px is not limited to 8-px steps.
The heatmaps are computed in the backbone's dtype; the softmax and the expectation in float32.

With ``NetConfig.keypoint_head: feed`` the keypoints also enter the regressor beside the pooled
feature (a 2D-to-3D lifting path); with ``aux`` they are only supervised.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["KeypointHead"]


class KeypointHead(nn.Module):
    """Heatmaps on two backbone stages -> ``(B, J, 2)`` keypoints; see the module docstring.

    Args:
        in_channels: channels of the finer and the coarser stage (ResNet-18: layer2 128, layer3 256).
        num_keypoints: ``J`` (COCO-17).
        hidden: channels of the 3x3 conv.
    """

    #: The backbone stages it reads (indices into ``forward_stages``: layer2, layer3).
    STAGES = (1, 2)

    def __init__(self, in_channels: tuple[int, int] = (128, 256), num_keypoints: int = 17, hidden: int = 128) -> None:
        super().__init__()
        self.num_keypoints = num_keypoints
        self.fuse = nn.Sequential(
            nn.Conv2d(sum(in_channels), hidden, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
        )
        self.heatmaps = nn.Conv2d(hidden, num_keypoints, kernel_size=1)
        nn.init.normal_(self.heatmaps.weight, std=0.001)
        nn.init.zeros_(self.heatmaps.bias)

    def heatmap_logits(self, fine: Tensor, coarse: Tensor) -> Tensor:
        """``(B, C1, H, W)``, ``(B, C2, h, w)`` -> logits ``(B, J, H, W)``."""
        up = F.interpolate(coarse, size=fine.shape[-2:], mode="bilinear", align_corners=False)
        return self.heatmaps(self.fuse(torch.cat([fine, up.to(fine.dtype)], dim=1)))

    def forward(self, fine: Tensor, coarse: Tensor) -> Tensor:
        """Keypoints ``(B, J, 2)`` float32 ``(x, y)`` in ``[-1, 1]`` (cell centres span the crop)."""
        return self.decode(self.heatmap_logits(fine, coarse))

    @staticmethod
    def decode(logits: Tensor) -> Tensor:
        """Logits ``(B, J, H, W)`` -> the expectation of each map's softmax ``(B, J, 2)`` in ``[-1, 1]``."""
        logits = logits.float()
        b, j, h, w = logits.shape
        prob = torch.softmax(logits.reshape(b, j, h * w), dim=-1).reshape(b, j, h, w)
        xs = (torch.arange(w, device=logits.device, dtype=torch.float32) + 0.5) * (2.0 / w) - 1.0
        ys = (torch.arange(h, device=logits.device, dtype=torch.float32) + 0.5) * (2.0 / h) - 1.0
        x = (prob.sum(dim=2) * xs).sum(-1)
        y = (prob.sum(dim=3) * ys).sum(-1)
        return torch.stack([x, y], dim=-1)
