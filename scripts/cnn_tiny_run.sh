#!/usr/bin/env bash
# Lesson 7's fastest model, from training to the demo: the narrower small CNN (`cnn_tiny`) trained twice by
# distillation, from the small CNN and from the course's best model, side by side (one thread each: two 1-thread
# runs on a 2-core CPU train faster together than one after the other); then the one more accurate on PublicTest in
# int8 is trained further, 60 epochs from its weights with the small CNN as teacher (one thread, so that the CPU's
# other core stays free). Every record goes to results/; the most accurate in int8 ships as app/models/cnn_tiny.
# Resumable: run the same command again after an interruption and training continues from its last checkpoint.
# Usage: scripts/cnn_tiny_run.sh DATA OUT     e.g. scripts/cnn_tiny_run.sh "$EMOTION_FASTAI_DATA" runs
# On a 2-core CPU the first two runs take 85 minutes (--time-budget 5100 each), the third about 80 (60 epochs).
set -euo pipefail
DATA=$1; OUT=$2/tiny
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p "$OUT"

train() {  # train NAME ARGS...: one thread, in the background, resumed from its checkpoint if there is one
  local dir=$OUT/$1; shift
  [ -f "$dir/results.json" ] && return
  local resume=(); [ -f "$dir/checkpoint.json" ] && resume=(--resume)
  OMP_NUM_THREADS=1 emotion-fastai train --arch cnn_tiny --data "$DATA" --out "$dir" --tta --half "$@" "${resume[@]}" \
    > "$dir.log" 2>&1 &
}

int8_accuracy() {  # quantise the model in $1 (once), record it, print its int8 PublicTest accuracy
  [ -f "$1/model.int8.onnx" ] || emotion-fastai quantize "$1" --data "$DATA" >&2
  python -c "import json; print(json.load(open('$1/model.json'))['int8']['valid_accuracy'])"
}

best() {  # the model directory of $@ most accurate in int8
  local top= top_acc=0
  for dir in "$@"; do
    acc=$(int8_accuracy "$dir")
    echo "$(basename "$dir"): PublicTest $acc in int8" >&2
    if python -c "import sys; sys.exit(not $acc > $top_acc)"; then top=$dir top_acc=$acc; fi
  done
  echo "$top"
}

for teacher in small cnn_aug_kd; do train "cnn_tiny_$teacher" --teacher "app/models/$teacher" --time-budget 5100; done
wait
first=$(best "$OUT/cnn_tiny_small" "$OUT/cnn_tiny_cnn_aug_kd")
train cnn_tiny_long --init "$first" --teacher app/models/small --time-budget 5700
wait
for run in cnn_tiny_small cnn_tiny_cnn_aug_kd cnn_tiny_long; do cp "$OUT/$run/results.json" "results/$run.json"; done
ship=$(best "$first" "$OUT/cnn_tiny_long")
rm -rf app/models/cnn_tiny && mkdir -p app/models/cnn_tiny
cp "$ship"/{model.json,model.safetensors,model.int8.onnx,results.json} app/models/cnn_tiny/
echo "shipped $ship as app/models/cnn_tiny"
