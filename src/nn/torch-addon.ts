/**
 * The libtorch training addon (native/), loaded lazily: inference (`covseg segment`)
 * never needs it, and when it is missing the error says how to build it.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CovsegError } from '../util/errors.js';

/** U-Net architecture (the method's Figures 3 and 4). */
export interface UNetConfig {
  /** Spatial dimensions: 2 (slices, input [N,1,H,W]) or 3 (volumes, [N,1,D,H,W]). */
  dims: 2 | 3;
  /** Input channels. Defaults to 1. */
  inChannels?: number;
  /** Output channels (sigmoid each). Defaults to 1. */
  outChannels?: number;
  /** Filters of the first level, doubled per level. Defaults to 16. */
  baseFilters?: number;
  /** Down-sampling steps; spatial sizes must be divisible by 2^depth. Defaults to 4. */
  depth?: number;
  /** Normalisation after each conv: 'batch' (the method), 'instance', 'none'. Defaults to 'batch'. */
  norm?: 'batch' | 'instance' | 'none';
}

export interface TorchModelOptions extends UNetConfig {
  /** 'cpu' or 'cuda' (needs the addon built against a CUDA libtorch). Defaults to 'cpu'. */
  device?: 'cpu' | 'cuda';
  /** Intra-op threads; 0 = libtorch's default (all cores). Defaults to 0. */
  threads?: number;
  /** Seed for weight initialisation. Defaults to 0. */
  seed?: number;
  /** ε in the Dice denominator. Defaults to 1e-6. */
  lossEps?: number;
  /**
   * 'batch': one Dice over all voxels of the batch (slices without lesion still penalise
   * false positives); 'sample': mean of per-sample Dice. Defaults to 'batch'.
   */
  diceReduction?: 'batch' | 'sample';
  /** Weight of the whole-image binary cross-entropy added to the masked Dice (native/src/loss.h `trainingLoss`). Defaults to 0. */
  bceWeight?: number;
}

export interface OptimizerOptions {
  /** 'sgd' (the method) or 'adam'. */
  type: 'sgd' | 'adam';
  lr: number;
  /** SGD momentum. Defaults to 0.9. */
  momentum?: number;
  nesterov?: boolean;
  /** L2 weight decay. Defaults to 0. */
  weightDecay?: number;
}

/**
 * One batch: its loss, and per sample (arrays of length N) the sums inside the lung
 * mask: hard counts at threshold 0.5 and the soft sums of the Dice loss.
 */
export interface StepResult {
  loss: number;
  tp: number[];
  fp: number[];
  fn: number[];
  /** Σ p·t */
  intersection: number[];
  /** Σ p */
  predSum: number[];
  /** Σ t */
  targetSum: number[];
}

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** Network parameters, batch-norm buffers and optimiser buffers, by name. */
export interface ModelState {
  tensors: Record<string, NamedTensor>;
  optimizerSteps: number;
}

/**
 * Shapes: `shape` is the image batch shape [N, C, H, W] or [N, C, D, H, W]; target and
 * lung mask have the same shape with C = 1 (Float32Array or 0/1 Uint8Array).
 */
export interface TorchModel {
  trainStep(image: Float32Array, target: Float32Array | Uint8Array, lungMask: Float32Array | Uint8Array, shape: number[]): Promise<StepResult>;
  evaluate(image: Float32Array, target: Float32Array | Uint8Array, lungMask: Float32Array | Uint8Array, shape: number[]): Promise<StepResult>;
  /** Sigmoid probabilities, shape [N, outChannels, ...spatial]. */
  predict(image: Float32Array, shape: number[]): Promise<Float32Array>;
  setOptimizer(options: OptimizerOptions): void;
  setLearningRate(lr: number): void;
  getState(): ModelState;
  setState(state: ModelState): void;
  numParameters(): number;
}

export interface TorchAddon {
  Model: new (options: TorchModelOptions) => TorchModel;
  torchVersion: string;
  cudaAvailable(): boolean;
  /** Achieved GFLOP/s of an n×n float32 matrix product (the practical peak). */
  matmulGflops(n: number, iterations: number, threads: number, device?: 'cpu' | 'cuda'): number;
  maskedDiceLoss(prob: Float32Array, target: Float32Array, lungMask: Float32Array, shape: number[], eps: number, reduction: 'batch' | 'sample'): number;
  /** What a training step minimises: maskedDiceLoss + bceWeight × the mean BCE over every voxel. */
  trainingLoss(prob: Float32Array, target: Float32Array, lungMask: Float32Array, shape: number[], eps: number, reduction: 'batch' | 'sample', bceWeight: number): number;
}

const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/covseg_torch.node', import.meta.url));

export const ADDON_MISSING_HELP =
  'Training needs the libtorch addon. Install libtorch (Debian/Ubuntu: `sudo apt-get install libtorch-dev`) ' +
  'and build it with `npm run build:native` (or run `bash scripts/setup.sh`). ' +
  'To use another libtorch (e.g. a CUDA build), set LIBTORCH_DIR to its root before building.';

let cached: TorchAddon | undefined;

/** Loads the addon, or throws a CovsegError that says how to build it. */
export function loadTorchAddon(): TorchAddon {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) throw new CovsegError(`the training addon is not built (${ADDON_PATH} is missing). ${ADDON_MISSING_HELP}`);
  try {
    cached = createRequire(import.meta.url)(ADDON_PATH) as TorchAddon;
  } catch (err) {
    throw new CovsegError(`cannot load the training addon: ${(err as Error).message}. ${ADDON_MISSING_HELP}`, { cause: err });
  }
  return cached;
}

/** True when the addon can be loaded (for tests and `--help` texts). */
export function torchAddonAvailable(): boolean {
  try {
    loadTorchAddon();
    return true;
  } catch {
    return false;
  }
}

export function createTorchModel(options: TorchModelOptions): TorchModel {
  const addon = loadTorchAddon();
  return new addon.Model(options);
}
