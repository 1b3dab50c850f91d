# Shared by the scripts that make a lesson's full runs (source it after setting ARCH, DATA and OUT):
#   run NAME [ARGS...]   train --arch "$ARCH" into "$OUT/NAME" (continuing its checkpoint, skipped once finished),
#                        then copy its record to results/NAME.json
#   evaluate DIR NAME    score DIR on the four views of PublicTest into results/evaluate_NAME_tta_all.json
mkdir -p "$OUT"
run() {
  local name=$1; shift
  if [ ! -f "$OUT/$name/results.json" ]; then
    local resume=(); [ -f "$OUT/$name/checkpoint.json" ] && resume=(--resume)
    emotion-fastai train --arch "$ARCH" --data "$DATA" --bs 128 --tta --half --out "$OUT/$name" "$@" "${resume[@]}" \
      >> "$OUT/$name.log" 2>&1 || { echo "$name: failed, see $OUT/$name.log"; return 1; }
  fi
  cp "$OUT/$name/results.json" "results/$name.json"
  echo "$name: trained, record in results/$name.json"
}
evaluate() {  # the four views of PublicTest: plain, mirrored, zoomed, zoomed and mirrored
  emotion-fastai evaluate "$1" "$DATA" --split valid --tta all --json "results/evaluate_$2_tta_all.json" | tail -n 4
}
