"""``python -m model.train --config configs/train/cpu.yaml [--resume] [--max-steps N]``

Trains RSC-Net as the config says, writing ``<out_dir>/last.pt`` (resumable) and ``log.jsonl``.
Under ``torchrun --nproc_per_node N -m model.train ...`` it runs data-parallel (gloo on CPU).
"""

from __future__ import annotations

import argparse
import json

from model.train.config import load_config
from model.train.trainer import Trainer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.train", description="Train RSC-Net from a YAML config.")
    parser.add_argument("--config", required=True, help="YAML config (see configs/train/)")
    parser.add_argument("--resume", action="store_true", help="continue from <out_dir>/last.pt")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in this call")
    parser.add_argument("--out-dir", default=None, help="override runtime.out_dir")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--threads", type=int, default=None, help="override runtime.threads")
    parser.add_argument("--workers", type=int, default=None, help="override runtime.workers")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    runtime = {k: v for k, v in (("out_dir", args.out_dir), ("threads", args.threads), ("workers", args.workers)) if v is not None}
    overrides = {"runtime": runtime} if runtime else None
    config = load_config(args.config, overrides)
    trainer = Trainer(config, device=args.device, resume=args.resume, max_steps=args.max_steps, show_progress=not args.no_progress)
    last = trainer.train()
    if trainer.rank == 0:
        print(json.dumps(last))
        print(f"checkpoint: {trainer.out_dir / 'last.pt'}")


if __name__ == "__main__":
    main()
