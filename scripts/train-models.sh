#!/usr/bin/env bash
# Retrains the two shipped models (models/lung-2d.onnx, models/lesion-2d.onnx) from
# ../shared/data, the way they were trained (see models/README.md). About 3.5 hours on
# 2 CPU cores; pass DEVICE=cuda with a CUDA build of the addon for minutes.
#   bash scripts/train-models.sh [WORK_DIR]      (default: runs/)
# Every stage resumes if interrupted: run the script again.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${COVSEG_SHARED_DATA:-../shared/data}
WORK=${1:-runs}
DEVICE=${DEVICE:-cpu}
covseg() { node dist/src/cli/main.js "$@"; }
train() { # train OUT ARGS…: a stage that resumes when its run folder exists
  local out=$1; shift
  if [[ -f "$WORK/$out/model.onnx" ]]; then echo "$out: done"; return; fi
  local resume=(); [[ -f "$WORK/$out/checkpoint-last.ckpt" ]] && resume=(--resume)
  covseg train --out "$WORK/$out" --device "$DEVICE" --threads 2 --float16 "${resume[@]}" "$@"
}
mkdir -p "$WORK"

# 1. The 2D database of the two real slice sources (lung masks: Zenodo's own).
covseg build-db --source zenodo-slices="$DATA/zenodo20-slices" --source semiseg="$DATA/covid-semiseg" --out "$WORK/db" --quiet

# 2. Lung model: 192² input, CLAHE transform v1, Adam; then fine-tuned with lung-free
#    abdominal slices as negatives, then with quarter-turn/zoom augmentation.
LUNG=(--db "$WORK/db" --dims 2 --task lung --sources zenodo-slices --input-size 192 --input-transform clahe-v1 --batch 8 --samples-per-epoch 640 --optimizer adam)
train lung-1 "${LUNG[@]}" --epochs 40 --patience 8 --lr 0.001 --schedule cosine
train lung-2 "${LUNG[@]}" --init "$WORK/lung-1/checkpoint-best.ckpt" --negatives "$DATA/small-ct-volume/example_ct_dicom" --epochs 10 --patience 5 --lr 0.0003 --schedule cosine
train lung-3 "${LUNG[@]}" --init "$WORK/lung-2/checkpoint-best.ckpt" --negatives "$DATA/small-ct-volume/example_ct_dicom" --epochs 10 --patience 6 --lr 0.0005 --schedule cosine
cp "$WORK/lung-3/model.onnx" models/lung-2d.onnx

# 3. COVID-SemiSeg has no lung masks: the lung model supplies them.
covseg build-db --source zenodo-slices="$DATA/zenodo20-slices" --source semiseg="$DATA/covid-semiseg" --out "$WORK/db" --lung-model default --quiet

# 4. Lesion model: 256² input, CLAHE transform v2, the method's lung-masked Dice loss;
#    Zenodo slices first (this stage is also the cross-source model), then all sources.
LESION=(--db "$WORK/db" --dims 2 --task lesion --input-size 256 --batch 8 --samples-per-epoch 480 --optimizer adam)
train lesion-1 "${LESION[@]}" --sources zenodo-slices --epochs 40 --patience 10 --lr 0.001 --schedule warmup-cosine
train lesion-2 "${LESION[@]}" --sources zenodo-slices --init "$WORK/lesion-1/checkpoint-best.ckpt" --epochs 20 --patience 8 --lr 0.0005 --schedule cosine
train lesion-3 "${LESION[@]}" --init "$WORK/lesion-2/checkpoint-best.ckpt" --sampling case-sqrt --epochs 12 --patience 6 --lr 0.0003 --schedule cosine
cp "$WORK/lesion-3/model.onnx" models/lesion-2d.onnx

# 5. Held-out evaluation, as in models/README.md.
covseg evaluate --model models/lung-2d.onnx --db "$WORK/db" --split test --sources zenodo-slices --json "$WORK/lung-test.json"
covseg evaluate --model models/lesion-2d.onnx --db "$WORK/db" --split test --json "$WORK/lesion-test.json" --markdown "$WORK/lesion-test.md" --figures "$WORK/lesion-test-figures"
