// U-Net for 2D and 3D (the method's Figures 3 and 4), written with functional ops so
// one class serves both: each level has two 3×3(×3) conv + norm + ReLU, 2×2(×2) max
// pooling down, transposed-conv up-sampling, skip concatenation, 1×1 conv + sigmoid.
// Parameter names (e.g. "enc0.conv1.weight", "dec2.up.weight") are the contract with
// the TypeScript ONNX exporter (src/nn/unet-onnx.ts): change them together.
#pragma once
#include <torch/torch.h>
#include <string>
#include <vector>

namespace covseg {

enum class Norm { Batch, Instance, None };

struct UNetConfig {
  int dims = 2;           // 2 or 3 spatial dimensions
  int inChannels = 1;
  int outChannels = 1;
  int baseFilters = 16;   // filters of the first level, doubled per level
  int depth = 4;          // number of down-sampling steps
  Norm norm = Norm::Batch;
};

// Convolution weights + bias as plain parameters ("weight", "bias").
struct ConvImpl : torch::nn::Module {
  ConvImpl(int dims, int in, int out, int kernel, bool bias, bool transposed);
  torch::Tensor forward(const torch::Tensor& x);
  int dims, padding;
  bool transposed;
  torch::Tensor weight, bias;
};
TORCH_MODULE(Conv);

// Batch or instance norm with affine parameters; batch norm keeps running stats.
struct NormLayerImpl : torch::nn::Module {
  NormLayerImpl(Norm kind, int channels);
  torch::Tensor forward(const torch::Tensor& x);
  Norm kind;
  torch::Tensor weight, bias, running_mean, running_var;
};
TORCH_MODULE(NormLayer);

// conv → norm → ReLU → conv → norm → ReLU
struct DoubleConvImpl : torch::nn::Module {
  DoubleConvImpl(const UNetConfig& cfg, int in, int out);
  torch::Tensor forward(torch::Tensor x);
  Conv conv1{nullptr}, conv2{nullptr};
  NormLayer norm1{nullptr}, norm2{nullptr};
  bool hasNorm;
};
TORCH_MODULE(DoubleConv);

struct UNetImpl : torch::nn::Module {
  explicit UNetImpl(const UNetConfig& cfg);
  // x: [N, C, H, W] (2D) or [N, C, D, H, W] (3D), spatial sizes divisible by 2^depth.
  // Returns logits of the same spatial size with outChannels channels.
  torch::Tensor forward(torch::Tensor x);
  UNetConfig cfg;
  std::vector<DoubleConv> enc, dec;
  std::vector<Conv> up;
  Conv head{nullptr};
};
TORCH_MODULE(UNet);

}  // namespace covseg
