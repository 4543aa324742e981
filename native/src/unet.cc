#include "unet.h"
#include <cmath>

namespace covseg {

ConvImpl::ConvImpl(int dims_, int in, int out, int kernel, bool withBias, bool transposed_)
    : dims(dims_), padding(transposed_ ? 0 : kernel / 2), transposed(transposed_) {
  std::vector<int64_t> shape = transposed ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in};
  for (int i = 0; i < dims; i++) shape.push_back(kernel);
  // Kaiming-normal (fan-in, ReLU gain), the usual U-Net initialisation.
  int64_t fanIn = (transposed ? out : in) * static_cast<int64_t>(std::pow(kernel, dims));
  weight = register_parameter("weight", torch::randn(shape) * std::sqrt(2.0 / fanIn));
  if (withBias) bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor ConvImpl::forward(const torch::Tensor& x) {
  if (transposed) {
    // kernel 2, stride 2: exact ×2 up-sampling
    return dims == 2 ? torch::conv_transpose2d(x, weight, bias, 2) : torch::conv_transpose3d(x, weight, bias, 2);
  }
  return dims == 2 ? torch::conv2d(x, weight, bias, 1, padding) : torch::conv3d(x, weight, bias, 1, padding);
}

NormLayerImpl::NormLayerImpl(Norm kind_, int channels) : kind(kind_) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  if (kind == Norm::Batch) {
    running_mean = register_buffer("running_mean", torch::zeros({channels}));
    running_var = register_buffer("running_var", torch::ones({channels}));
  }
}

torch::Tensor NormLayerImpl::forward(const torch::Tensor& x) {
  const double eps = 1e-5, momentum = 0.1;
  if (kind == Norm::Batch) {
    return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps, true);
  }
  return torch::instance_norm(x, weight, bias, {}, {}, true, momentum, eps, true);
}

DoubleConvImpl::DoubleConvImpl(const UNetConfig& cfg, int in, int out) : hasNorm(cfg.norm != Norm::None) {
  // A conv bias before a norm layer is redundant (the norm's shift absorbs it).
  conv1 = register_module("conv1", Conv(cfg.dims, in, out, 3, !hasNorm, false));
  conv2 = register_module("conv2", Conv(cfg.dims, out, out, 3, !hasNorm, false));
  if (hasNorm) {
    norm1 = register_module("norm1", NormLayer(cfg.norm, out));
    norm2 = register_module("norm2", NormLayer(cfg.norm, out));
  }
}

torch::Tensor DoubleConvImpl::forward(torch::Tensor x) {
  x = conv1->forward(x);
  if (hasNorm) x = norm1->forward(x);
  x = torch::relu(x);
  x = conv2->forward(x);
  if (hasNorm) x = norm2->forward(x);
  return torch::relu(x);
}

UNetImpl::UNetImpl(const UNetConfig& c) : cfg(c) {
  int in = cfg.inChannels;
  for (int l = 0; l <= cfg.depth; l++) {
    int f = cfg.baseFilters << l;
    enc.push_back(register_module("enc" + std::to_string(l), DoubleConv(cfg, in, f)));
    in = f;
  }
  for (int l = cfg.depth - 1; l >= 0; l--) {
    int f = cfg.baseFilters << l;
    up.push_back(register_module("up" + std::to_string(l), Conv(cfg.dims, f * 2, f, 2, true, true)));
    dec.push_back(register_module("dec" + std::to_string(l), DoubleConv(cfg, f * 2, f)));
  }
  head = register_module("head", Conv(cfg.dims, cfg.baseFilters, cfg.outChannels, 1, true, false));
}

torch::Tensor UNetImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> skips;
  for (int l = 0; l <= cfg.depth; l++) {
    x = enc[l]->forward(x);
    if (l < cfg.depth) {
      skips.push_back(x);
      x = cfg.dims == 2 ? torch::max_pool2d(x, 2) : torch::max_pool3d(x, 2);
    }
  }
  for (int i = 0; i < cfg.depth; i++) {
    x = up[i]->forward(x);
    x = torch::cat({x, skips[cfg.depth - 1 - i]}, 1);
    x = dec[i]->forward(x);
  }
  return head->forward(x);
}

}  // namespace covseg
