#include "loss.h"

namespace covseg {

torch::Tensor maskedDiceLoss(const torch::Tensor& prob, const torch::Tensor& target, const torch::Tensor& lung,
                             double eps, DiceReduction reduction) {
  auto p = prob * lung;
  auto t = target * lung;
  if (reduction == DiceReduction::Batch) {
    return -2.0 * (p * t).sum() / (p.sum() + t.sum() + eps);
  }
  auto pf = p.flatten(1), tf = t.flatten(1);
  auto dice = 2.0 * (pf * tf).sum(1) / (pf.sum(1) + tf.sum(1) + eps);
  return -dice.mean();
}

torch::Tensor trainingLoss(const torch::Tensor& prob, const torch::Tensor& target, const torch::Tensor& lung,
                           double eps, DiceReduction reduction, double bceWeight) {
  auto loss = maskedDiceLoss(prob, target, lung, eps, reduction);
  if (bceWeight <= 0) return loss;
  // Clamped so that a saturated sigmoid (p = 0 or 1 in float32) gives a finite log.
  auto p = prob.clamp(1e-6, 1.0 - 1e-6);
  return loss + bceWeight * torch::binary_cross_entropy(p, target);
}

}  // namespace covseg
