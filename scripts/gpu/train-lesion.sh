#!/usr/bin/env bash
# Runs on the GPU machine (after prepare-lesion.sh here): builds the addon against the
# machine's libtorch, unpacks the database, and trains the lesion recipe of models/README.md
# (fine-tuned from the shipped model, --norm none, all sources, case-sqrt sampling) for
# EPOCHS (default 200: 25× the CPU run's 8) or TIME_S seconds, whichever ends first; the
# best weights go to $OUT/lesion-2d.onnx with history.csv, training-curves.png and the log.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out}; EPOCHS=${EPOCHS:-200}; TIME_S=${TIME_S:-420}; RUN=/tmp/lesion-gpu
mkdir -p "$OUT"
source scripts/gpu/build-addon.sh
node .gpu/bundle/cli/pack-db.mjs unpack .gpu/db
TRAIN=(node .gpu/bundle/cli/covseg.mjs train --db .gpu/db --dims 2 --task lesion --out "$RUN"
  --init .gpu/init.onnx --norm none --input-size 256 --batch 16 --samples-per-epoch 400
  --optimizer adam --sampling case-sqrt --lr 0.0003 --schedule cosine --patience 40
  --device cuda --threads 8 --float16 --quiet)
start=$(date +%s)
timeout "$TIME_S" "${TRAIN[@]}" --epochs "$EPOCHS" 2>&1 | tee "$OUT/train.log" || true
epochs=$(($(wc -l < "$RUN/history.csv") - 1))
# Cut short by the time limit: resuming at the epoch it reached exports its best checkpoint.
[[ -f $RUN/model.onnx ]] || "${TRAIN[@]}" --resume --epochs "$epochs" 2>&1 | tee -a "$OUT/train.log"
echo "{\"seconds\": $(($(date +%s) - start)), \"epochs\": $epochs}" | tee "$OUT/timing.json"
cp "$RUN/model.onnx" "$OUT/lesion-2d.onnx"
cp "$RUN/history.csv" "$RUN/training-curves.png" "$OUT/"
