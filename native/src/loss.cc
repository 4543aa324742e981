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

}  // namespace covseg
