#pragma once
#include <torch/torch.h>

namespace covseg {

enum class DiceReduction { Batch, Sample };

// Negative Sørensen–Dice over the voxels inside the lung mask (the method's loss):
//   L = −2·Σ_{i∈lung} p_i t_i / (Σ_{i∈lung} p_i + Σ_{i∈lung} t_i + ε)
// prob, target, lung: same shape [N, 1, ...]; lung is 0/1.
// Batch: sums run over the whole batch (one Dice; slices without lesion still
// penalise false positives). Sample: one Dice per sample, averaged.
torch::Tensor maskedDiceLoss(const torch::Tensor& prob, const torch::Tensor& target, const torch::Tensor& lung,
                             double eps, DiceReduction reduction);

// The training loss: maskedDiceLoss plus bceWeight × the mean binary cross-entropy over
// every voxel of the batch, lung or not (target 0 outside the lungs). Dice alone never
// sees outside the lung mask, so the network is free to fire on the heart, the chest wall
// or bowel gas; an image scored over its whole area (as COVID-SemiSeg papers score) pays
// for that, and the pixel-wise term teaches it to stay quiet there. bceWeight 0 is the
// method's loss exactly.
torch::Tensor trainingLoss(const torch::Tensor& prob, const torch::Tensor& target, const torch::Tensor& lung,
                           double eps, DiceReduction reduction, double bceWeight);

}  // namespace covseg
