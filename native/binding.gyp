# The libtorch training addon. Built against Debian's libtorch-dev by default;
# set LIBTORCH_DIR to a libtorch root (with include/ and lib/, e.g.
# .../site-packages/torch of a CUDA PyTorch install) to build against another one.
# TORCH_CXX11_ABI=0|1 overrides the C++ ABI (pip wheels before 2.7 used 0).
{
  "variables": {
    "libtorch_dir%": "<!(node -p \"process.env.LIBTORCH_DIR || ''\")",
    "cxx11_abi%": "<!(node -p \"process.env.TORCH_CXX11_ABI || '1'\")",
    "has_cuda%": "<!(node -p \"const d=process.env.LIBTORCH_DIR; d && require('fs').existsSync(d + '/lib/libtorch_cuda.so') ? 1 : 0\")"
  },
  "targets": [
    {
      "target_name": "covseg_torch",
      "sources": ["src/addon.cc", "src/unet.cc", "src/loss.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GLIBCXX_USE_CXX11_ABI=<(cxx11_abi)"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-frtti", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "conditions": [
        ["libtorch_dir==''", {
          "include_dirs": ["/usr/include", "/usr/include/torch/csrc/api/include"],
          "libraries": ["-ltorch", "-ltorch_cpu", "-lc10"]
        }, {
          "include_dirs": ["<(libtorch_dir)/include", "<(libtorch_dir)/include/torch/csrc/api/include"],
          "libraries": ["-L<(libtorch_dir)/lib", "-Wl,-rpath,<(libtorch_dir)/lib", "-ltorch", "-ltorch_cpu", "-lc10"],
          "conditions": [
            ["has_cuda==1", {
              "defines": ["COVSEG_WITH_CUDA=1"],
              "libraries": ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"]
            }]
          ]
        }]
      ]
    }
  ]
}
