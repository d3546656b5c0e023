#!/usr/bin/env bash
# One stretch of the long RSC-Net run on the lent GPU machine (checkpoints/rscnet-long/MODEL_CARD.md).
#   here, once:   bash scripts/gpu_prepare.sh
#   here:         bash scripts/gpu_slim.sh on   (the tracked tree, ~113 MiB, is over the device's 64)
#   device tool:  run(command="bash scripts/gpu_stretch.sh", carry=[".gpu"], timeout_s=600)
#   here, after:  bash scripts/gpu_slim.sh off
# Trains for MINUTES (default 8) from the committed resume file, then leaves under $OUT: the log,
# train.log and the new resume file split into parts of 15 MB (the device returns files of at most
# 16 MiB): join them here with  cat <files_at>/resume.part* > checkpoints/rscnet-long/model.pt
# Tested on CPU with a tiny config (tests/train/test_gpu_stretch.py): CONFIG, PYTHON, OUT, MINUTES.
set -euo pipefail
MINUTES=${MINUTES:-8}
CONFIG=${CONFIG:-configs/train/long/gpu.yaml}
PYTHON=${PYTHON:-python3}
OUT=${OUT:-runs/gpu-out}
mkdir -p "$OUT"
if compgen -G ".gpu/wheels/*.whl" >/dev/null; then
    $PYTHON -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/wheels/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
PHOTOS=/usr/share/doc/opencv-doc/examples/data
if [ -d .gpu/photos ] && [ ! -d "$PHOTOS" ] && [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$PHOTOS" && cp .gpu/photos/* "$PHOTOS/"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
resume=$($PYTHON -c "from model.train.config import load_config; print(load_config('$CONFIG').runtime.resume_file or '')")
run_dir=$($PYTHON -c "from model.train.config import load_config; print(load_config('$CONFIG').runtime.out_dir)")
set +e
PYTHONUNBUFFERED=1 $PYTHON -m model.train --config "$CONFIG" --resume --max-minutes "$MINUTES" --no-progress 2>&1 | tee "$OUT/train.log"
rc=${PIPESTATUS[0]}
set -e
cp "$run_dir/log.jsonl" "$OUT/log.jsonl" 2>/dev/null || true
if [ -n "$resume" ] && [ -f "$resume" ]; then
    split -b 15000000 -d "$resume" "$OUT/resume.part"
fi
exit "$rc"
