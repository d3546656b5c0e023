"""Backbones: the resolution-aware ResNet."""

from __future__ import annotations

from model.nets.backbones.resnet import (
    BackboneConfig,
    BasicBlock,
    Bottleneck,
    IncompatibleStateDictError,
    LoadReport,
    ResolutionAwareResNet,
    load_torchvision_state_dict,
)

__all__ = [
    "BackboneConfig",
    "BasicBlock",
    "Bottleneck",
    "IncompatibleStateDictError",
    "LoadReport",
    "ResolutionAwareResNet",
    "load_torchvision_state_dict",
]
