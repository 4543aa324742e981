#include "loss.h"

namespace covseg {

// `lung` is a per-voxel weight: 0/1 is the method's Dice inside the lungs; larger values
// (a lung model's lesion voxels, train --lesion-weight) count those voxels that many times,
// 2·Σwpt / (Σwp + Σwt), which for a 0/1 mask is the same number as before.
torch::Tensor maskedDiceLoss(const torch::Tensor& prob, const torch::Tensor& target, const torch::Tensor& lung,
                             double eps, DiceReduction reduction) {
  auto p = prob * lung;
  auto t = target * lung;
  auto pt = prob * target * lung;
  if (reduction == DiceReduction::Batch) {
    return -2.0 * pt.sum() / (p.sum() + t.sum() + eps);
  }
  auto pf = p.flatten(1), tf = t.flatten(1);
  auto dice = 2.0 * pt.flatten(1).sum(1) / (pf.sum(1) + tf.sum(1) + eps);
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
