#!/usr/bin/env bash
# The full training runs behind results/*.json: all 28,709 training images, validated on PublicTest.
# Usage: scripts/full_runs.sh DATA OUT [--parallel] [--time-budget SECONDS] [extra train args...]
#   DATA  FER2013 folder, archive or CSV;  OUT  folder for the model directories and logs.
#   --parallel runs the four trainings at once (one GPU is enough: these models are small).
#   --time-budget caps each run's training time (the epochs are chosen to fit it).
# Epochs are each arch's recipe (emotion_fastai.train.RECIPES) unless --epochs is given.
# No ImageNet weights are used (--no-pretrained): the backbones train from random initialisation.
# Interrupted? Run the same command again: finished archs are skipped, unfinished ones resume from their
# last epoch's checkpoint (--resume).
set -uo pipefail
DATA=$1; OUT=$2; shift 2
PARALLEL=0; EXTRA=()
for a in "$@"; do if [ "$a" = --parallel ]; then PARALLEL=1; else EXTRA+=("$a"); fi; done
mkdir -p "$OUT"
emotion-fastai data "$DATA" > "$OUT/data.txt" || exit 2   # decode once into the cache before the runs share it
run() {
  local arch=$1 half=() resume=()
  if [ -f "$OUT/$arch/results.json" ]; then echo "$arch: done already ($OUT/$arch/results.json)"; return; fi
  [ -f "$OUT/$arch/checkpoint.json" ] && resume=(--resume)
  [[ $arch == cnn* ]] && half=(--half)   # the scratch CNNs ship (the app's default model): float16 halves their size
  [[ $arch == vgg16_bn || $arch == resnet34 ]] && pre=(--no-pretrained) || pre=()
  emotion-fastai train --arch "$arch" --data "$DATA" --out "$OUT/$arch" --tta \
    "${half[@]}" "${pre[@]}" "${resume[@]}" "${EXTRA[@]}" >> "$OUT/$arch.log" 2>&1
  echo "$arch: exit $? $(tail -n 1 "$OUT/$arch.log")"
}
for arch in cnn cnn_aug vgg16_bn resnet34; do
  if [ $PARALLEL = 1 ]; then run $arch & else run $arch; fi
done
wait
