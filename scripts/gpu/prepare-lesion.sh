#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored) for scripts/gpu/train-lesion.sh on the GPU machine: Node and
# headers (prepare.sh), covseg's CLI as one bundle (no node_modules travels: onnxruntime
# is stubbed, training does not use it) and the 2D database packed small (pack-db.js).
#   bash scripts/gpu/prepare-lesion.sh DB
# then the device tool: command "bash scripts/gpu/train-lesion.sh", carry [".gpu"], timeout_s 600.
set -euo pipefail
cd "$(dirname "$0")/../.."
DB=${1:?usage: prepare-lesion.sh DB}
bash scripts/gpu/prepare.sh
# Three folders down from the repository root, as dist/src/nn/ is: the addon is found at ../../../native.
for entry in dist/src/cli/main.js:covseg scripts/gpu/pack-db.js:pack-db; do
  npx esbuild "${entry%%:*}" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --alias:onnxruntime-node=./scripts/gpu/no-onnxruntime.js \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
    --outfile=".gpu/bundle/cli/${entry##*:}.mjs"
done
node scripts/gpu/pack-db.js pack "$DB" .gpu/db
cp models/lesion-2d.onnx .gpu/init.onnx
du -sh .gpu
