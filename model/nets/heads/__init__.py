"""Heads on top of the backbone feature: the iterative SMPL regressor and the contrastive projection."""

from __future__ import annotations

from model.nets.heads.projection import ProjectionHead
from model.nets.heads.regressor import IterationOutput, IterativeRegressor, RegressorOutput, mean_state_from_params

__all__ = ["IterationOutput", "IterativeRegressor", "ProjectionHead", "RegressorOutput", "mean_state_from_params"]
