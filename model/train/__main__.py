"""``python -m model.train --config C [--resume] [--max-steps N] [--max-minutes M]``

One entry point for every trainer. The config's top-level ``kind:`` picks it (absent: ``rscnet``):

* ``rscnet`` - RSC-Net (:mod:`model.train.trainer`), e.g. ``configs/train/cpu.yaml``;
* ``video`` - the temporal GRU module and motion discriminator (:mod:`model.train.video`);
* ``reid`` - the re-identification network (:mod:`model.train.reid`);
* ``texture`` - the TexGlo texture network (:mod:`model.train.texture`).

Each configures the one training loop (:mod:`model.train.loop`) and writes ``<out_dir>/last.pt``
(resumable) and ``log.jsonl``. Under
``torchrun --nproc_per_node N -m model.train ...`` the RSC-Net trainer runs data-parallel.
"""

from __future__ import annotations

import argparse
import importlib
import json

from model.train.config import config_kind, load_config
from model.train.trainer import Trainer

#: kind -> module with ``train_from_args(args: argparse.Namespace) -> None``.
_TRAINER_MODULES = {"video": "model.train.video", "reid": "model.train.reid", "texture": "model.train.texture"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model.train",
        description="Train a network from a YAML config; its 'kind:' (rscnet, video, reid, texture) picks the trainer.",
    )
    parser.add_argument("--config", required=True, help="YAML config (see configs/train/)")
    parser.add_argument("--resume", action="store_true", help="continue from <out_dir>/last.pt")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in this call")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after this many minutes in this call (checkpoints first)")
    parser.add_argument("--out-dir", default=None, help="override runtime.out_dir")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--threads", type=int, default=None, help="override runtime.threads")
    parser.add_argument("--workers", type=int, default=None, help="override runtime.workers")
    parser.add_argument("--seed", type=int, default=None, help="override runtime.seed (repeat a run with other seeds)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def runtime_overrides(args: argparse.Namespace) -> dict | None:
    """``{"runtime": {...}}`` from the command-line overrides, or ``None``."""
    pairs = (("out_dir", args.out_dir), ("threads", args.threads), ("workers", args.workers), ("seed", args.seed))
    runtime = {k: v for k, v in pairs if v is not None}
    return {"runtime": runtime} if runtime else None


def train_rscnet(args: argparse.Namespace) -> None:
    config = load_config(args.config, runtime_overrides(args))
    trainer = Trainer(
        config, device=args.device, resume=args.resume, max_steps=args.max_steps, show_progress=not args.no_progress,
        max_minutes=args.max_minutes,
    )
    last = trainer.train()
    if trainer.rank == 0:
        print(json.dumps(last))
        print(f"checkpoint: {trainer.out_dir / 'last.pt'}")
        if config.runtime.resume_file:
            print(f"resume file (commit it): {config.runtime.resume_file}")


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    kind = config_kind(args.config)
    if kind == "rscnet":
        train_rscnet(args)
    else:
        importlib.import_module(_TRAINER_MODULES[kind]).train_from_args(args)


if __name__ == "__main__":
    main()
