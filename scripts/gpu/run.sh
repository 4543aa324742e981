#!/usr/bin/env bash
# Runs on the GPU machine (see scripts/gpu/prepare.sh): unpacks Node, builds the
# training addon against the PyTorch-bundled libtorch there (with CUDA), checks it,
# and runs the training benchmark on the GPU. Prints JSON lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
TORCH_DIR=${LIBTORCH_DIR:-/opt/torch/.venv/lib/python3.12/site-packages/torch}
PY=${TORCH_PYTHON:-/opt/torch/.venv/bin/python}
mkdir -p .gpu/bin native/build/Release
xz -dc .gpu/node.xz > .gpu/bin/node && chmod +x .gpu/bin/node
export PATH="$PWD/.gpu/bin:$PATH"
ABI=$("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)
echo "building the addon against $TORCH_DIR (C++11 ABI $ABI)"
# The same sources and flags as native/binding.gyp, without node-gyp (no Python/npm needed).
g++ -shared -fPIC -O2 -std=c++17 -fexceptions -frtti -Wno-deprecated-declarations \
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -D_GLIBCXX_USE_CXX11_ABI="$ABI" -DCOVSEG_WITH_CUDA=1 \
  -I.gpu/include -I.gpu/include/node -I"$TORCH_DIR/include" -I"$TORCH_DIR/include/torch/csrc/api/include" \
  native/src/addon.cc native/src/unet.cc native/src/loss.cc \
  -L"$TORCH_DIR/lib" -Wl,-rpath,"$TORCH_DIR/lib" -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed -ltorch -ltorch_cpu -lc10 \
  -o native/build/Release/covseg_torch.node
node -e "import('./dist/src/nn/torch-addon.js').then(m => { const a = m.loadTorchAddon(); console.log(JSON.stringify({ torch: a.torchVersion, cuda: a.cudaAvailable() })); })"
node dist/bench/training.js --device cuda --threads 4 "$@"
