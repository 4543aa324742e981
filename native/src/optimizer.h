// SGD with momentum (the method's optimiser) and Adam, with their state held as
// named tensors so TypeScript can checkpoint and resume a run exactly. Written here
// rather than using torch::optim because torch::optim's state map changed its key
// type between libtorch 1.13 and 2.x.
#pragma once
#include <torch/torch.h>
#include <map>
#include <string>

namespace covseg {

enum class OptimizerKind { Sgd, Adam };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  double lr = 0.01;
  double momentum = 0.9;     // SGD
  bool nesterov = false;     // SGD
  double weightDecay = 0.0;  // L2, added to the gradient (both)
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam
};

class Optimizer {
 public:
  Optimizer(std::vector<std::pair<std::string, torch::Tensor>> params, OptimizerConfig cfg)
      : params_(std::move(params)), cfg_(cfg) {}

  void zeroGrad() {
    for (auto& [name, p] : params_) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
  }

  void step() {
    torch::NoGradGuard noGrad;
    step_++;
    for (auto& [name, p] : params_) {
      if (!p.grad().defined()) continue;
      auto g = p.grad();
      if (cfg_.weightDecay != 0) g = g + cfg_.weightDecay * p;
      if (cfg_.kind == OptimizerKind::Sgd) {
        if (cfg_.momentum != 0) {
          auto& buf = state("momentum." + name, p);
          buf.mul_(cfg_.momentum).add_(g);
          g = cfg_.nesterov ? g + cfg_.momentum * buf : buf;
        }
        p.add_(g, -cfg_.lr);
      } else {
        auto& m = state("adam_m." + name, p);
        auto& v = state("adam_v." + name, p);
        m.mul_(cfg_.beta1).add_(g, 1 - cfg_.beta1);
        v.mul_(cfg_.beta2).addcmul_(g, g, 1 - cfg_.beta2);
        double bc1 = 1 - std::pow(cfg_.beta1, static_cast<double>(step_));
        double bc2 = 1 - std::pow(cfg_.beta2, static_cast<double>(step_));
        auto denom = (v / bc2).sqrt_().add_(cfg_.eps);
        p.addcdiv_(m, denom, -cfg_.lr / bc1);
      }
    }
  }

  void setLearningRate(double lr) { cfg_.lr = lr; }
  const OptimizerConfig& config() const { return cfg_; }
  int64_t steps() const { return step_; }
  void setSteps(int64_t s) { step_ = s; }
  std::map<std::string, torch::Tensor>& buffers() { return state_; }

 private:
  torch::Tensor& state(const std::string& key, const torch::Tensor& like) {
    auto it = state_.find(key);
    if (it == state_.end()) it = state_.emplace(key, torch::zeros_like(like)).first;
    return it->second;
  }
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  OptimizerConfig cfg_;
  std::map<std::string, torch::Tensor> state_;
  int64_t step_ = 0;
};

}  // namespace covseg
