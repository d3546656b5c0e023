"""Networks of RSC-Net: the resolution-aware ResNet backbone, the iterative SMPL regressor, the
contrastive projection head, and :class:`RSCNet`, which puts them together.

Layout: ``backbones/`` (feature extractors), ``heads/`` (what sits on the pooled feature),
``config.py`` (dataclass configs, separate from the code), ``rscnet.py`` (the full network),
``checkpoint.py`` (every checkpoint format, loading and saving), ``frozen.py`` (a frozen RSC-Net as a
feature extractor). The throughput benchmark is ``python -m benchmarks.nets.bench --help``.
"""

from __future__ import annotations

from model.nets.backbones.resnet import (
    IncompatibleStateDictError,
    LoadReport,
    ResolutionAwareResNet,
    load_torchvision_state_dict,
)
from model.nets.config import BackboneConfig, NetConfig
from model.nets.heads.projection import ProjectionHead
from model.nets.heads.regressor import IterationOutput, IterativeRegressor, RegressorOutput
from model.nets.rscnet import RSCNet, RSCNetOutput

__all__ = [
    "BackboneConfig",
    "IncompatibleStateDictError",
    "IterationOutput",
    "IterativeRegressor",
    "LoadReport",
    "NetConfig",
    "ProjectionHead",
    "RSCNet",
    "RSCNetOutput",
    "RegressorOutput",
    "ResolutionAwareResNet",
    "load_torchvision_state_dict",
]
