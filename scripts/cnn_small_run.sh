#!/usr/bin/env bash
# Lesson 7's small CNN, from training to the demo: train it by distillation from the course's best model (its int8
# copy runs as the teacher on a CPU), quantise it, ship it as app/models/small (which the app's webcam uses) and keep
# its record in results/cnn_small.json. Resumable: run the same command again after an interruption and training
# continues from its last checkpoint.
# Usage: scripts/cnn_small_run.sh DATA OUT     e.g. scripts/cnn_small_run.sh "$EMOTION_FASTAI_DATA" runs
# On a 2-core CPU an epoch takes about 2 minutes with nothing else running; 60 epochs (the recipe), about two hours.
set -euo pipefail
DATA=$1; OUT=$2/cnn_small
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f "$OUT/results.json" ]; then
  resume=(); [ -f "$OUT/checkpoint.json" ] && resume=(--resume)
  emotion-fastai train --arch cnn_small --data "$DATA" --out "$OUT" --teacher app/models/cnn_aug_kd --epochs 60 \
    --tta --half "${resume[@]}"
fi
emotion-fastai quantize "$OUT" --data "$DATA"
rm -rf app/models/small && mkdir -p app/models/small
cp "$OUT"/{model.json,model.safetensors,model.int8.onnx,results.json} app/models/small/
cp "$OUT/results.json" results/cnn_small.json
echo "shipped app/models/small; record in results/cnn_small.json"
