#!/usr/bin/env bash
# Runs on the GPU machine (see scripts/gpu/prepare.sh): unpacks Node, builds the
# training addon against the PyTorch-bundled libtorch there (with CUDA), checks it,
# and runs the training benchmark on the GPU. Prints JSON lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/gpu/build-addon.sh
node -e "import('./dist/src/nn/torch-addon.js').then(m => { const a = m.loadTorchAddon(); console.log(JSON.stringify({ torch: a.torchVersion, cuda: a.cudaAvailable() })); })"
node dist/bench/training.js --device cuda --threads 4 "$@"
