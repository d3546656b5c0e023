"""``python -m model.train.export --checkpoint runs/rscnet-cpu/last.pt --out checkpoints/rscnet-cpu/model.pt``

Turns a resumable training checkpoint into the file the service loads: optimiser state, queues and
discriminators dropped, floating weights in fp16 (``--fp32`` keeps them), optionally large
convolutions as int8 with per-channel scales (``--int8-min-numel``) to stay under the 25 MB limit
of committed files, or lossless fp16 byte planes (``--packed``, ~14 % smaller than fp16). Works for every checkpoint format of :mod:`model.nets.checkpoint` (RSC-Net, video, ReID, TexGlo):
the format is kept and checked on load. ``--plain-from-range ROW`` writes a resolution-aware RSC-Net as a
plain ResNet that answers as its range ``ROW`` does (the start of the paper's baselines,
:func:`model.nets.checkpoint.plain_from_range`). Prints the size and the largest weight difference to the
training checkpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.nets.checkpoint import export_served, load_checkpoint, plain_from_range

#: Training-only entries of each checkpoint format.
TRAINING_ONLY = ("optimizer", "queue", "disc_optimizer", "discriminator", "discriminator_config", "optimizer_restart_step")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.train.export", description=__doc__.split("\n\n")[1])
    parser.add_argument("--checkpoint", required=True, help="training checkpoint (e.g. runs/<name>/last.pt)")
    parser.add_argument("--out", required=True, help="served checkpoint to write")
    parser.add_argument("--fp32", action="store_true", help="keep float32 weights")
    parser.add_argument("--int8-min-numel", type=int, default=None, help="store conv weights with >= this many elements as int8")
    parser.add_argument("--packed", action="store_true", help="lossless fp16 byte planes, zlib-compressed (no int8)")
    parser.add_argument("--plain-from-range", type=int, default=None, metavar="ROW",
                        help="fold this resolution range's alpha row into the blocks: a plain ResNet (RSC-Net files only)")
    args = parser.parse_args(argv)
    ckpt = load_checkpoint(args.checkpoint, expected_format=None)
    if args.plain_from_range is not None:
        ckpt = plain_from_range(ckpt, args.plain_from_range)
    out = export_served(ckpt, args.out, half=not args.fp32, int8_min_numel=args.int8_min_numel, drop=TRAINING_ONLY, packed=args.packed)
    served = load_checkpoint(out, expected_format=None)  # packed weights unpacked, int8 dequantized
    worst = 0.0
    for k, v in ckpt["model"].items():
        w = served["model"][k].float()
        if v.is_floating_point():
            worst = max(worst, float((w - v.float()).abs().max()))
    size = Path(out).stat().st_size
    print(f"wrote {out}: {size / 2**20:.1f} MiB ({served.get('weights_dtype', '?')}), format {served['format']}, "
          f"step {served.get('step', '?')}, max |weight difference| {worst:.2e}")


if __name__ == "__main__":
    main()
