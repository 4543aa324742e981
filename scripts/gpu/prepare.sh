#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored) for a run on the GPU machine, which has CUDA, g++ and a
# PyTorch install but no Node.js: an xz-compressed copy of this machine's node binary,
# Node's N-API headers and node-addon-api's headers. Then:
#   run tool: command "bash scripts/gpu/run.sh", carry [".gpu", "dist"]
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run --silent build
rm -rf .gpu && mkdir -p .gpu/include
xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
cp -r "$(dirname "$(command -v node)")/../include/node" .gpu/include/node
cp node_modules/node-addon-api/*.h .gpu/include/
du -sh .gpu dist
