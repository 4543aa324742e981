/**
 * Floating-point operations of the U-Net (multiply and add counted separately), for
 * benchmarks that report achieved GFLOP/s. Convolutions and transposed convolutions
 * dominate; norms, activations and pooling are counted as zero.
 */
import type { UNetConfig } from './torch-addon.js';

/** Forward FLOPs for one sample of spatial size `spatial` ([H, W] or [D, H, W]). */
export function unetForwardFlops(config: UNetConfig, spatial: number[]): number {
  const depth = config.depth ?? 4;
  const base = config.baseFilters ?? 16;
  const k3 = 3 ** config.dims;
  const voxels = (level: number) => spatial.reduce((a, s) => a * (s / 2 ** level), 1);
  let flops = 0;
  let inCh = config.inChannels ?? 1;
  for (let l = 0; l <= depth; l++) {
    const f = base << l;
    flops += 2 * k3 * voxels(l) * (inCh * f + f * f);
    inCh = f;
  }
  for (let l = depth - 1; l >= 0; l--) {
    const f = base << l;
    // transposed conv 2^dims kernel, stride 2: each input voxel scatters to 2^dims outputs
    flops += 2 * (2 ** config.dims) * voxels(l + 1) * (2 * f) * f;
    flops += 2 * k3 * voxels(l) * (2 * f * f + f * f);
  }
  flops += 2 * voxels(0) * base * (config.outChannels ?? 1);
  return flops;
}

/** Forward + backward ≈ 3 × forward (input-gradient and weight-gradient each cost about one forward). */
export function unetTrainFlops(config: UNetConfig, spatial: number[]): number {
  return 3 * unetForwardFlops(config, spatial);
}
