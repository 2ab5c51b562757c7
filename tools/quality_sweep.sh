#!/usr/bin/env bash
# The measurement behind docs/quality.md: the demo config trained for several
# (VGG normalisation, style weight) pairs, then one evaluation of every run and of
# Gatys et al. on the same held-out pairs (the shared images; the demo trains on
# scikit-image's).
#
#   bash tools/quality_sweep.sh                 # all runs, then the report
#   RUNS="none:10 per_channel:1" bash tools/quality_sweep.sh
#   RUNS="none:10:encoder_transpose" bash tools/quality_sweep.sh   # NORMALISATION:WEIGHT[:DECODER_INIT[:STEPS]]
#
# Every run is configs/demo.yaml with STEPS steps (default 300) unless the entry names its own;
# "none:10:random:600" is exactly what `make demo` trains.
#
# A run that already finished is resumed at its last step, i.e. skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/quality}
DATA=${DATA:-../shared/data}
RUNS=${RUNS:-"none:10 none:30 per_channel:1 per_channel:3 none:10:encoder_transpose per_channel:3:encoder_transpose none:10:random:600"}
STEPS=${STEPS:-300}
MAX_IMAGES=${MAX_IMAGES:-3}
GATYS_ITERATIONS=${GATYS_ITERATIONS:-100}

checkpoints=()
for run in $RUNS; do
  IFS=: read -r normalization weight init steps <<< "$run"
  init=${init:-random}
  steps=${steps:-$STEPS}
  run_dir="$OUT/${normalization}_w${weight}"
  [ "$init" = random ] || run_dir="${run_dir}_${init}"
  [ "$steps" = "$STEPS" ] || run_dir="${run_dir}_${steps}steps"
  echo "== $run_dir"
  /usr/bin/time -f "$run_dir: %e s wall" "$PY" train.py --config configs/demo.yaml \
    --set "run_dir=$run_dir" \
    --set "model.vgg_normalization=$normalization" \
    --set "train.style_weight=$weight" \
    --set "model.decoder_init=$init" \
    --set "train.steps=$steps"
  checkpoints+=(--checkpoint "$run_dir")
done

"$PY" -m adain evaluate "${checkpoints[@]}" \
  --content "$DATA/content" --style "$DATA/style" --max-images "$MAX_IMAGES" \
  --size 256 --style-size 256 \
  --gatys --gatys-iterations "$GATYS_ITERATIONS" \
  --output "$OUT/report"
