/**
 * What the training loop consumes: a set of fixed-shape samples (image, target mask,
 * loss mask) that can be written into batch buffers, with augmentation when asked.
 * 2D slice sets and 3D patch sets both implement it.
 */
import type { Rng } from '../util/random.js';

/** Batch buffers: image [N, 1, ...spatial] float32; target and loss mask [N, 1, ...spatial] 0/1. */
export interface BatchBuffers {
  image: Float32Array;
  target: Uint8Array;
  lossMask: Uint8Array;
}

export interface SampleSet {
  /** Spatial shape of every sample: [H, W] (2D) or [D, H, W] (3D). */
  spatial: number[];
  /** Number of samples. */
  length: number;
  /** Sample ids (e.g. "Case-0003_z042"), for logs and per-case metrics. */
  ids: string[];
  /** Case (patient-level) id of each sample, for per-case Dice. */
  caseIds: string[];
  /** Samples drawn more often under 'ends' sampling (src/train/loop.ts). Defaults to none. */
  emphasised?: boolean[];
  /** The share of each sample's lung its lesion covers, for 'lesion' sampling. Defaults to none (0). */
  lesionShares?: number[];
  /**
   * Writes sample `index` into batch slot `slot`. With `rng`, applies random
   * augmentation (training); without, the sample as stored (validation).
   */
  fill(index: number, out: BatchBuffers, slot: number, rng?: Rng): void;
}

export function allocateBatch(set: SampleSet, batchSize: number): BatchBuffers {
  const n = batchSize * set.spatial.reduce((a, b) => a * b, 1);
  return { image: new Float32Array(n), target: new Uint8Array(n), lossMask: new Uint8Array(n) };
}

/** Views of the first `count` samples of a batch (the last batch of an epoch is smaller). */
export function sliceBatch(b: BatchBuffers, count: number, sampleSize: number): BatchBuffers {
  const n = count * sampleSize;
  return { image: b.image.subarray(0, n), target: b.target.subarray(0, n), lossMask: b.lossMask.subarray(0, n) };
}
