#!/usr/bin/env bash
# The texture runs of issue 19 (checkpoints/texture/MODEL_CARD.md, "Masked input on rscnet-long's
# geometry"): identity data from the current generator, the served network's meshes, then Glo-S and
# Glo-C with the body-masked input over SEEDS seeds and the unmasked Glo-S, two one-thread runs at a
# time (one per core), then the evaluation at 32 px.
#   bash scripts/texture_masked_runs.sh            (PYTHON, DATA, SEEDS, OUT can be overridden)
set -euo pipefail
PYTHON=${PYTHON:-.venv/bin/python}
DATA=${DATA:-data/texture}
SEEDS=${SEEDS:-"0 1 2"}
OUT=${OUT:-runs/texture/masked}
PREDICTOR=${PREDICTOR:-checkpoints/rscnet-long/model.pt}
mkdir -p "$OUT"
if [ ! -f "$DATA/test.pt" ]; then
    $PYTHON -m model.cli.identity_data build --out "$DATA" --train-identities 1200 --test-identities 100 --views 4 --test-views 8 --threads 2 --no-progress
fi
$PYTHON -m model.cli.identity_data geometry --data "$DATA" --predictor "$PREDICTOR" --no-progress
$PYTHON -m model.cli.identity_data geometry --data "$DATA" --ground-truth --no-progress
train() {  # config, seed
    local name
    name=$(basename "$1" .yaml)
    $PYTHON -m model.train --config "$1" --seed "$2" --out-dir "$OUT/$name-seed$2" --threads 1 --no-progress > "$OUT/$name-seed$2.log" 2>&1
}
for s in $SEEDS; do
    train configs/texture/glo_s_masked.yaml "$s" &
    train configs/texture/glo_c_masked.yaml "$s" &
    wait
done
train configs/texture/ablations/glo_s_unmasked.yaml 0
checkpoints=()
for s in $SEEDS; do
    checkpoints+=(--checkpoint "$OUT/glo_c_masked-seed$s/last.pt")
done
checkpoints+=(--checkpoint "$OUT/glo_s_unmasked-seed0/last.pt")
for s in $SEEDS; do
    checkpoints+=(--checkpoint "$OUT/glo_s_masked-seed$s/last.pt")
done
$PYTHON -m model.eval.texture "${checkpoints[@]}" --reid checkpoints/texture/reid.pt --judge-reid checkpoints/texture/reid-judge.pt \
    --data "$DATA" --low-res 32 --out "$OUT/eval" --threads 2 --no-progress
