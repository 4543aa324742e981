/**
 * Overlap metrics. The project's one Dice: everything (training logs, evaluation,
 * lung-model checks) goes through `diceFromCounts`.
 */
import { percentiles } from '../volume/index.js';
import { CovsegError } from '../util/errors.js';

/** Voxel counts of a binary prediction against a binary reference. */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/**
 * Counts TP/FP/FN/TN of `prediction` vs `reference` (nonzero = positive).
 * With `mask`, only voxels where mask ≠ 0 count (e.g. Dice inside the lungs).
 */
export function confusion(prediction: ArrayLike<number>, reference: ArrayLike<number>, mask?: ArrayLike<number>): Confusion {
  if (prediction.length !== reference.length || (mask && mask.length !== reference.length)) {
    throw new CovsegError(`confusion: prediction (${prediction.length}), reference (${reference.length})${mask ? ` and mask (${mask.length})` : ''} differ in size; compare masks on one grid (resize with nearest-neighbour first)`);
  }
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < reference.length; i++) {
    if (mask && mask[i] === 0) continue;
    const p = prediction[i] !== 0;
    const r = reference[i] !== 0;
    if (p && r) tp++;
    else if (p) fp++;
    else if (r) fn++;
    else tn++;
  }
  return { tp, fp, fn, tn };
}

export function addConfusion(a: Confusion, b: Confusion): Confusion {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn, tn: a.tn + b.tn };
}

/**
 * Sørensen–Dice 2·TP / (2·TP + FP + FN). When reference and prediction are both empty
 * the Dice is undefined; it counts as `emptyValue` (1 by default: nothing to find,
 * nothing found).
 */
export function diceFromCounts(c: Pick<Confusion, 'tp' | 'fp' | 'fn'>, emptyValue = 1): number {
  const denom = 2 * c.tp + c.fp + c.fn;
  return denom === 0 ? emptyValue : (2 * c.tp) / denom;
}

/** TP / (TP + FN); NaN when the reference is empty. */
export function sensitivity(c: Confusion): number {
  return c.tp + c.fn === 0 ? NaN : c.tp / (c.tp + c.fn);
}

/** TN / (TN + FP); NaN when there are no negatives. */
export function specificity(c: Confusion): number {
  return c.tn + c.fp === 0 ? NaN : c.tn / (c.tn + c.fp);
}

/** TP / (TP + FP); NaN when nothing was predicted. */
export function precision(c: Confusion): number {
  return c.tp + c.fp === 0 ? NaN : c.tp / (c.tp + c.fp);
}

/** Mean and sample standard deviation (n − 1), ignoring NaN; as the method reports "0.42 ± 0.23". */
export function meanStd(values: number[]): { mean: number; std: number; n: number } {
  const v = values.filter((x) => !Number.isNaN(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Distribution of one metric over cases (or slices), NaN values left out. */
export interface MetricStats {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for one value. */
  std: number;
  median: number;
  min: number;
  max: number;
  /** Values that were not NaN. */
  n: number;
}

/**
 * Mean ± sample std, median, min and max of `values` (NaN = undefined for that case, left
 * out and not counted in `n`). With no defined value every statistic is NaN and n is 0.
 * The median uses the project's one percentile (numpy's linear interpolation).
 */
export function metricStats(values: readonly number[]): MetricStats {
  const defined = Float64Array.from(values.filter((v) => !Number.isNaN(v)));
  const { mean, std, n } = meanStd([...defined]);
  if (n === 0) return { mean: NaN, std: NaN, median: NaN, min: NaN, max: NaN, n: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (const v of defined) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { mean, std, median: percentiles(defined, [50])[0]!, min, max, n };
}
