#!/usr/bin/env bash
# The GPU recipe (nbs/api/13_recipe.ipynb, emotion_fastai/recipe.py) on the lent GPU machine, in three steps.
#
#   1. Here, once:   bash scripts/gpu_recipe.sh pack
#      packs the train and PublicTest faces of $EMOTION_FASTAI_DATA into .gpu/data/fer2013.npz (about 45 MiB; the GPU
#      machine has no data and no network) and downloads fastai's pure-Python wheels into .gpu/wheels (the machine has
#      torch but not fastai; the library's own `load_model` and `evaluate` check the model there with them). .gpu/ is
#      ignored by git: FER2013 is never committed. It prints what will travel: it must stay under 64 MiB in all.
#   2. There, with the device tool (one command, under its 10-minute limit):
#        run(command="bash scripts/gpu_recipe.sh run", carry=[".gpu"], timeout_s=600)
#      trains for MINUTES (default 7.5) minutes, scores on PublicTest (centre crop and ten crops), checks the model
#      directory with the library, and leaves in $OUT: vgg_fer.json (the record, with the command), log.txt, and
#      model/ (model.json, SHA256 and the weights in 15 MiB parts: files come back at 16 MiB at most, 8 files in all).
#   3. Here again:   bash scripts/gpu_recipe.sh fetch FILES_AT
#      joins and checks the weights into models/vgg_fer and copies the record to results/vgg_fer.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=(fastai==2.8.12 fastcore==2.2.41 fastprogress==1.0.3 fasttransform==0.0.5 plum-dispatch==2.9.0 beartype==0.23.1
        fastdownload==0.0.8)  # fastprogress 1.0.3: the 1.1 series imports python-fasthtml, which that machine lacks
say() { echo "gpu_recipe.sh: $*" >&2; }

mib() { awk '{s+=$1} END {printf "%.1f", s/1048576}'; }
travelling() {  # MiB that a device call sends: tracked and untracked-not-ignored files, then the carried .gpu/
  local tree; tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | mib)
  local gpu; gpu=$(find .gpu -type f -printf '%s\n' 2>/dev/null | mib)
  say "what travels: the working tree ${tree} MiB + .gpu ${gpu} MiB (the limit is 64 MiB in all)"
  awk -v a="$tree" -v b="$gpu" 'BEGIN {exit !(a + b < 64)}' || { say "over 64 MiB: the device tool will refuse the call"; return 1; }
}

pack() {
  : "${EMOTION_FASTAI_DATA:?set EMOTION_FASTAI_DATA to FER2013 (a folder, an archive or fer2013.csv)}"
  git check-ignore -q .gpu/data/fer2013.npz || { say ".gpu/ is not ignored by git: FER2013 must never be committed"; exit 2; }
  mkdir -p .gpu/data .gpu/wheels
  "$PY" -c 'import sys; from emotion_fastai.recipe import pack_data; print(pack_data(sys.argv[1], sys.argv[2]))' \
    "$EMOTION_FASTAI_DATA" .gpu/data/fer2013.npz
  rm -f .gpu/wheels/*.whl
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/wheels "${WHEELS[@]}"
  ls -la .gpu/data .gpu/wheels >&2
  travelling
}

run() {  # on the GPU machine
  : "${OUT:?OUT is the output folder of the device tool: run this through it}"
  export PYTHONUNBUFFERED=1
  local minutes=${MINUTES:-7.5} dir=runs/vgg_fer log="$OUT/log.txt" resume=()
  [ -f .gpu/data/fer2013.npz ] || { say "no .gpu/data/fer2013.npz: run 'bash scripts/gpu_recipe.sh pack' here and carry .gpu"; exit 2; }
  [ -f "$dir/checkpoint.pt" ] && resume=(--resume)  # a warm machine that ran it before carries on
  { nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; "$PY" -c 'import torch; print("torch", torch.__version__)'; } >"$log" 2>&1 || true
  set +e
  "$PY" -m emotion_fastai.recipe --data .gpu/data/fer2013.npz --out "$dir" --minutes "$minutes" --device cuda \
    --record "$OUT/vgg_fer.json" "${resume[@]}" >>"$log" 2>&1
  local rc=$?
  set -e
  tail -n 3 "$log" >&2
  [ $rc -eq 0 ] || { say "the recipe failed (exit $rc): see log.txt"; exit $rc; }
  mkdir -p "$OUT/model" /tmp/site
  cp "$dir/model.json" "$OUT/model/"
  (cd "$dir" && sha256sum model.safetensors) >"$OUT/model/SHA256"
  split -b 15M -d -a 2 "$dir/model.safetensors" "$OUT/model/model.safetensors.part-"
  if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/wheels/*.whl >>"$log" 2>&1; then
    PYTHONPATH="$PWD:/tmp/site" timeout 100 "$PY" - "$dir" >>"$log" 2>&1 <<'EOF' || say "the library's check did not finish: see log.txt"
import json, sys, time
from emotion_fastai.data import FERData, to_fer_csv
from emotion_fastai.recipe import load_faces
from emotion_fastai.saved_model import load_model
from emotion_fastai.evaluate import evaluate_model
model, meta = load_model(sys.argv[1])
v = load_faces('.gpu/data/fer2013.npz').split('valid')
csv = to_fer_csv(FERData(v.images, v.labels, ['valid']*len(v), [f'PublicTest_{i}' for i in range(len(v))], 'packed'), '/tmp/publictest.csv')
for tta in (False, 'ten'):
    t = time.time(); r = evaluate_model(sys.argv[1], csv, split='valid', tta=tta, progress=False, int8=False)
    print(f"library check: evaluate tta={tta}: accuracy {r['accuracy']:.4f} on {r['n_images']} faces ({time.time() - t:.0f} s on the CPU)")
EOF
  else say "fastai's wheels did not install: the library's check is skipped"; fi
  ls -la "$OUT" "$OUT/model" >&2
}

fetch() {  # here, after the device call: FILES_AT is the folder the tool put $OUT's files in
  local src=${1:?usage: gpu_recipe.sh fetch FILES_AT} dst=models/vgg_fer
  mkdir -p "$dst" results
  cat "$src"/model/model.safetensors.part-* >"$dst/model.safetensors"
  cp "$src/model/model.json" "$dst/"
  (cd "$dst" && sha256sum -c "$src/model/SHA256") >&2
  cp "$src/vgg_fer.json" results/vgg_fer.json && cp "$src/vgg_fer.json" "$dst/results.json"
  "$PY" -c 'import sys; from emotion_fastai.saved_model import load_model; m, meta = load_model(sys.argv[1]); print(sys.argv[1], meta["arch"], meta["valid_accuracy"], meta["valid_tta_accuracy"])' "$dst"
  say "next: emotion-fastai evaluate $dst \"\$EMOTION_FASTAI_DATA\" --tta ten"
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  fetch) fetch "${2:-}" ;;
  size) travelling ;;
  *) say "usage: gpu_recipe.sh pack | run | fetch FILES_AT | size"; exit 2 ;;
esac
