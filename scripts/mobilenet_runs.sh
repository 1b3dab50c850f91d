#!/usr/bin/env bash
# Lesson 3's comparison: MobileNetV2 through `vision_learner` from torchvision's ImageNet weights and from random
# initialisation, same data, same number of epochs (9), one after the other. Resumable: run the same command again
# after an interruption and each run continues from its last checkpoint (finished runs are skipped).
# Usage: scripts/mobilenet_runs.sh DATA OUT     e.g. scripts/mobilenet_runs.sh "$EMOTION_FASTAI_DATA" runs
#   pretrained: 1 epoch of the head (body frozen), then 8 of the whole network with discriminative learning rates;
#   scratch:    9 epochs of the whole network (--no-pretrained).
# Each finished run's record goes to results/<name>.json, with its evaluation on the four views of PublicTest
# (results/evaluate_<name>_tta_all.json). The pretrained model is shipped as app/models/mobilenet_v2 (float16).
set -uo pipefail
DATA=$1; OUT=$2
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ARCH=mobilenet_v2
source scripts/runs_lib.sh
if run mobilenet_v2 --freeze-epochs 1 --epochs 8; then
  evaluate "$OUT/mobilenet_v2" mobilenet_v2
  rm -rf app/models/mobilenet_v2 && mkdir -p app/models/mobilenet_v2
  cp "$OUT"/mobilenet_v2/{model.safetensors,model.json,results.json} app/models/mobilenet_v2/
fi
run mobilenet_v2_scratch --no-pretrained --epochs 9 && evaluate "$OUT/mobilenet_v2_scratch" mobilenet_v2_scratch
