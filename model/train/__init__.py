"""Training of RSC-Net: YAML configs, the trainer (progressive stages, SS + contrastive losses, DDP).

Checkpoints are read and written through :mod:`model.nets.checkpoint`.
"""

from model.train.config import ConfigError, TrainConfig, load_config
from model.train.trainer import Trainer, compute_losses

__all__ = ["ConfigError", "TrainConfig", "Trainer", "compute_losses", "load_config"]
