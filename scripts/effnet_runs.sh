#!/usr/bin/env bash
# Lesson 6's comparison: EfficientNet-Lite0 from ImageNet weights and from random initialisation, same data,
# same number of epochs (12), one after the other. Resumable: run the same command again after an interruption
# and each run continues from its last checkpoint (finished runs are skipped).
# Usage: scripts/effnet_runs.sh DATA OUT     e.g. scripts/effnet_runs.sh "$EMOTION_FASTAI_DATA" runs
#   pretrained: 2 epochs of the head (body frozen), then 10 of the whole network;
#   scratch:    12 epochs of the whole network (--no-pretrained).
# Each finished run's record goes to results/<name>.json with its evaluation on the four views
# (results/evaluate_<name>_tta_all.json). The pretrained model is also quantised (measured, not shipped: its int8 copy
# gives the float model's label for too few faces), shipped as app/models/effnet_lite0 in float16, and scored in an
# ensemble with the course's best CNN (results/evaluate_ensemble_effnet_tta_all.json).
# Then progressive resizing: the shipped pretrained model continued at 128 px (effnet_lite0_128), as many of 6 epochs
# as fit in 90 minutes, one learning rate for the whole network (its weights come from --init, so --no-pretrained).
# On a 2-core CPU (bf16) the pretrained run took 86 minutes and the one from random weights 155, four hours together
# (epochs took 7 to 13 minutes, depending on the machine); on a GPU, minutes.
set -uo pipefail
DATA=$1; OUT=$2
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ARCH=effnet_lite0
source scripts/runs_lib.sh
if run effnet_lite0 --epochs 10 && ! cmp -s "$OUT/effnet_lite0/model.safetensors" app/models/effnet_lite0/model.safetensors; then
  emotion-fastai quantize "$OUT/effnet_lite0" --data "$DATA"  # measured, not shipped: see lesson 6
  evaluate "$OUT/effnet_lite0" effnet_lite0
  rm -rf app/models/effnet_lite0 && mkdir -p app/models/effnet_lite0
  cp "$OUT"/effnet_lite0/{model.safetensors,results.json} app/models/effnet_lite0/
  python -c 'import json, sys; m = json.load(open(sys.argv[1])); m.pop("int8", None); open(sys.argv[2], "w").write(json.dumps(m, indent=2))' \
    "$OUT/effnet_lite0/model.json" app/models/effnet_lite0/model.json
  emotion-fastai evaluate app/models/cnn_aug_kd app/models/effnet_lite0 "$DATA" --split valid --tta all \
    --json results/evaluate_ensemble_effnet_tta_all.json | tail -n 4
fi
run effnet_lite0_scratch --no-pretrained --epochs 12 && evaluate "$OUT/effnet_lite0_scratch" effnet_lite0_scratch
run effnet_lite0_128 --init app/models/effnet_lite0 --no-pretrained --size 128 --lr 5e-4 --epochs 6 --time-budget 5400 \
  && evaluate "$OUT/effnet_lite0_128" effnet_lite0_128
