"""A frozen RSC-Net used as a feature extractor (the video model's backbone).

>>> backbone = FrozenBackbone(load_rscnet("checkpoints/rscnet-cpu/model.pt", body), device="cpu")
>>> phi = backbone.features(images, range_index)     # (B, 3, S, S), (B,) -> (B, C) float32

The network runs in eval mode, channels_last, without gradients, under the autocast of
:func:`model.runtime.resolve_precision` (``"auto"`` by default), exactly as
:class:`model.inference.Predictor` runs it, so features computed here and when serving agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from model.geometry.resolution import ResolutionRanges
from model.nets.checkpoint import LoadedRSCNet
from model.nets.rscnet import RSCNet
from model.runtime import autocast, resolve_device, resolve_precision

__all__ = ["FrozenBackbone"]


class FrozenBackbone:
    """A loaded RSC-Net with frozen weights on a device (see the module docstring).

    Args:
        loaded: the network and its checkpoint (:func:`model.nets.checkpoint.load_rscnet`).
        device: ``None``: CUDA when available, else the CPU.
        precision: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"fp16"`` (CUDA).
    """

    def __init__(self, loaded: LoadedRSCNet, device: str | torch.device | None = None, precision: str = "auto") -> None:
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.net: RSCNet = loaded.net.eval().to(self.device).to(memory_format=torch.channels_last)
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.ranges: ResolutionRanges = loaded.ranges
        self.path: Path = loaded.path
        self.checkpoint_id: str = loaded.checkpoint_id

    @property
    def input_size(self) -> int:
        """S, side of the square network input."""
        return self.net.config.input_size

    @property
    def feature_dim(self) -> int:
        """C, width of the pooled feature ``phi``."""
        return self.net.feature_dim

    @torch.inference_mode()
    def features(self, images: Tensor, range_index: Tensor | Sequence[int]) -> Tensor:
        """Pooled features ``phi (B, C)`` float32 of network inputs ``(B, 3, S, S)`` in ``[0, 1]`` and rows ``(B,)``."""
        idx = torch.as_tensor(range_index, dtype=torch.int64).reshape(-1).to(self.device)
        with autocast(self.precision, self.device):
            return self.net(images.to(self.device, torch.float32), idx).phi.float()
