#!/usr/bin/env bash
# Sourced on the GPU machine by run.sh and train-lesion.sh: unpacks the Node carried in
# .gpu/ (see prepare.sh) onto PATH and builds the training addon against the libtorch of
# the machine's PyTorch (with CUDA), the same sources and flags as native/binding.gyp.
PY=${TORCH_PYTHON:-$(command -v python3)}
TORCH_DIR=${LIBTORCH_DIR:-$("$PY" -c 'import torch,os;print(os.path.dirname(torch.__file__))' 2>/dev/null || echo /opt/torch/.venv/lib/python3.12/site-packages/torch)}
mkdir -p .gpu/bin native/build/Release
xz -dc .gpu/node.xz > .gpu/bin/node && chmod +x .gpu/bin/node
export PATH="$PWD/.gpu/bin:$PATH"
ABI=$("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null || echo 1)
echo "building the addon against $TORCH_DIR (C++11 ABI $ABI)"
g++ -shared -fPIC -O2 -std=c++17 -fexceptions -frtti -Wno-deprecated-declarations \
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -D_GLIBCXX_USE_CXX11_ABI="$ABI" -DCOVSEG_WITH_CUDA=1 \
  -I.gpu/include -I.gpu/include/node -I"$TORCH_DIR/include" -I"$TORCH_DIR/include/torch/csrc/api/include" \
  native/src/addon.cc native/src/unet.cc native/src/loss.cc \
  -L"$TORCH_DIR/lib" -Wl,-rpath,"$TORCH_DIR/lib" -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed -ltorch -ltorch_cpu -lc10 \
  -o native/build/Release/covseg_torch.node
