"""Compact re-identification network ``f_Re`` (RSC-Net Section 3.6, after RSTG's ReID loss).

A small ResNet (:class:`~model.nets.backbones.resnet.BasicBlock` stages) on ``(B, 3, H, W)``
person crops (default ``128 x 64``), trained on synthetic identities with identity
classification and a batch-hard triplet loss (:mod:`model.losses.reid`). For the texture
network it is frozen and used as a feature extractor: :class:`ReIDOutput` carries the feature
map of every stage (for the multi-layer feature distance) and the pooled embedding.

Layout: stem ``conv3x3(stride 2) + BN + ReLU`` -> ``len(widths)`` stages of ``blocks`` basic
blocks (the first of every stage after the first has stride 2) -> global average pooling ->
``Linear(widths[-1], embed_dim)`` + BatchNorm1d ("BNNeck") -> the embedding; the classifier
(``Linear(embed_dim, num_classes)``, no bias) sits on the embedding and is used only in training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.nets.backbones.resnet import BasicBlock

__all__ = ["ReIDConfig", "ReIDNet", "ReIDOutput"]


@dataclass(frozen=True)
class ReIDConfig:
    """Architecture of :class:`ReIDNet`.

    Attributes:
        input_size: ``(H, W)`` the crops are resized to.
        widths: channels of each stage.
        blocks: basic blocks per stage.
        embed_dim: embedding size.
        num_classes: training identities (classifier outputs; 0 = no classifier).
    """

    input_size: tuple[int, int] = (128, 64)
    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks: int = 1
    embed_dim: int = 128
    num_classes: int = 0

    def __post_init__(self) -> None:
        h, w = self.input_size
        if h < 16 or w < 8:
            raise ValueError(f"input_size must be at least (16, 8), got {self.input_size}")
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths must be positive, got {self.widths}")
        if self.blocks < 1 or self.embed_dim < 1 or self.num_classes < 0:
            raise ValueError("blocks and embed_dim must be >= 1, num_classes >= 0")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ReIDConfig":
        d = dict(d)
        d["input_size"] = tuple(int(v) for v in d["input_size"])
        d["widths"] = tuple(int(v) for v in d["widths"])
        return cls(**d)


@dataclass
class ReIDOutput:
    """What :meth:`ReIDNet.forward` returns.

    Attributes:
        features: one ``(B, C_k, H_k, W_k)`` map per stage (``C_k = widths[k]``).
        embedding: ``(B, embed_dim)`` after the BNNeck (compare with cosine / L2 after normalising).
        logits: ``(B, num_classes)`` identity logits, or ``None`` without a classifier.
    """

    features: list[Tensor]
    embedding: Tensor
    logits: Tensor | None


class ReIDNet(nn.Module):
    """Compact ResNet for person re-identification (see the module docstring)."""

    def __init__(self, config: ReIDConfig = ReIDConfig()) -> None:
        super().__init__()
        self.config = config
        w0 = config.widths[0]
        self.stem = nn.Sequential(
            nn.Conv2d(3, w0, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w0), nn.ReLU(inplace=True)
        )
        stages = []
        in_ch = w0
        for k, width in enumerate(config.widths):
            blocks = [BasicBlock(in_ch, width, stride=1 if k == 0 else 2)]
            blocks += [BasicBlock(width, width) for _ in range(config.blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            in_ch = width
        self.stages = nn.ModuleList(stages)
        self.embed = nn.Linear(in_ch, config.embed_dim)
        self.neck = nn.BatchNorm1d(config.embed_dim)
        self.classifier = nn.Linear(config.embed_dim, config.num_classes, bias=False) if config.num_classes else None
        self.register_buffer("mean", torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1), persistent=False)

    def prepare(self, images: Tensor) -> Tensor:
        """Resize ``(B, 3, H, W)`` images in ``[0, 1]`` to ``input_size`` (bilinear, differentiable)."""
        if tuple(images.shape[-2:]) != tuple(self.config.input_size):
            images = F.interpolate(images, size=self.config.input_size, mode="bilinear", align_corners=False, antialias=False)
        return images

    def forward(self, images: Tensor) -> ReIDOutput:
        """``images`` ``(B, 3, H, W)`` float in ``[0, 1]`` (resized to ``input_size``) -> :class:`ReIDOutput`."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        x = (self.prepare(images) - self.mean) / self.std
        x = self.stem(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        pooled = x.float().mean(dim=(2, 3))
        embedding = self.neck(self.embed(pooled))
        logits = self.classifier(embedding) if self.classifier is not None else None
        return ReIDOutput(features=features, embedding=embedding, logits=logits)
