#!/usr/bin/env bash
# Lesson 7's webcam model, from training to the demo: the narrower small CNN (`cnn_tiny`) trained twice by
# distillation, from the small CNN and from the course's best model, side by side (one thread each: two 1-thread
# runs on a 2-core CPU train faster together than one after the other); both records go to results/. Then each is
# quantised, and the one more accurate on PublicTest in int8 ships as app/models/cnn_tiny (the webcam's model).
# Resumable: run the same command again after an interruption and training continues from its last checkpoint.
# Usage: scripts/cnn_tiny_run.sh DATA OUT     e.g. scripts/cnn_tiny_run.sh "$EMOTION_FASTAI_DATA" runs
# On a 2-core CPU the two runs take 85 minutes (--time-budget 5100 each).
set -euo pipefail
DATA=$1; OUT=$2/tiny
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p "$OUT"
for teacher in small cnn_aug_kd; do
  dir=$OUT/cnn_tiny_$teacher
  if [ ! -f "$dir/results.json" ]; then
    resume=(); [ -f "$dir/checkpoint.json" ] && resume=(--resume)
    OMP_NUM_THREADS=1 emotion-fastai train --arch cnn_tiny --data "$DATA" --out "$dir" --teacher "app/models/$teacher" \
      --time-budget 5100 --tta --half "${resume[@]}" > "$OUT/$teacher.log" 2>&1 &
  fi
done
wait
best= best_acc=0
for teacher in small cnn_aug_kd; do
  dir=$OUT/cnn_tiny_$teacher
  cp "$dir/results.json" "results/cnn_tiny_$teacher.json"
  emotion-fastai quantize "$dir" --data "$DATA"
  acc=$(python -c "import json; print(json.load(open('$dir/model.json'))['int8']['valid_accuracy'])")
  echo "cnn_tiny taught by $teacher: PublicTest $acc in int8"
  if python -c "import sys; sys.exit(not $acc > $best_acc)"; then best=$dir best_acc=$acc; fi
done
rm -rf app/models/cnn_tiny && mkdir -p app/models/cnn_tiny
cp "$best"/{model.json,model.safetensors,model.int8.onnx,results.json} app/models/cnn_tiny/
echo "shipped $best as app/models/cnn_tiny (PublicTest $best_acc in int8)"
