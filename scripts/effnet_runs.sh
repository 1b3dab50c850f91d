#!/usr/bin/env bash
# Lesson 4b's comparison: EfficientNet-Lite0 from ImageNet weights and from random initialisation, same data,
# same number of epochs (14), one after the other. Resumable: run the same command again after an interruption
# and each run continues from its last checkpoint (finished runs are skipped).
# Usage: scripts/effnet_runs.sh DATA OUT     e.g. scripts/effnet_runs.sh "$EMOTION_FASTAI_DATA" runs
#   pretrained: 2 epochs of the head (body frozen), then 12 of the whole network;
#   scratch:    14 epochs of the whole network (--no-pretrained).
# On a 2-core CPU an epoch at 96 px takes about 9 minutes (bf16); on a GPU, seconds.
set -uo pipefail
DATA=$1; OUT=$2
mkdir -p "$OUT"
run() {
  local name=$1; shift
  if [ -f "$OUT/$name/results.json" ]; then echo "$name: done already ($OUT/$name/results.json)"; return; fi
  local resume=(); [ -f "$OUT/$name/checkpoint.json" ] && resume=(--resume)
  emotion-fastai train --arch effnet_lite0 --data "$DATA" --bs 128 --tta --half --out "$OUT/$name" "$@" "${resume[@]}" \
    >> "$OUT/$name.log" 2>&1
  echo "$name: exit $? $(tail -n 1 "$OUT/$name.log")"
}
run effnet_lite0 --epochs 12
run effnet_lite0_scratch --no-pretrained --epochs 14
