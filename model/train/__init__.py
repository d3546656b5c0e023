"""Training of RSC-Net: YAML configs, the trainer (progressive stages, SS + contrastive losses, DDP), checkpoints."""

from model.train.checkpoint import CheckpointError, export_served, load_checkpoint, save_checkpoint
from model.train.config import ConfigError, TrainConfig, load_config
from model.train.trainer import Trainer, compute_losses

__all__ = [
    "CheckpointError",
    "ConfigError",
    "TrainConfig",
    "Trainer",
    "compute_losses",
    "export_served",
    "load_checkpoint",
    "load_config",
    "save_checkpoint",
]
