/**
 * Training samples from a covseg database (`covseg build-db`): the 2D slices or 3D
 * volumes of one split, held in memory, with the target and loss mask the task needs.
 *
 * Tasks:
 * - 'lesion': target = lesion, loss computed only inside the lung mask (the method);
 *   slices/cases without a lung mask are skipped (and counted).
 * - 'lung': target = lung mask, loss over the whole image (the lung model).
 */
import { readFile } from 'node:fs/promises';
import { decodePng, rasterToGrey, readVolume } from '../io/index.js';
import { resizeSlice } from '../volume/index.js';
import { openDatabase, type SplitName } from '../database/index.js';
import type { SourceName } from '../datasets/types.js';
import { sliceToModelStage1, sliceToModelStage2, type SliceInputTransform } from '../preprocess/model-input.js';
import { CovsegError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';
import { StoredSampleSet, type StoredSample, type StoredSetOptions } from './stored-samples.js';
import { allInOrder } from '../util/in-order.js';

export type TrainTask = 'lesion' | 'lung';

export interface DatabaseSamplesOptions {
  task: TrainTask;
  /** Only cases from these sources. Defaults to all. */
  sources?: SourceName[];
  /** A validation fold to use instead of DB/splits.json (`out=NAME`, `kK/I`, see src/database/folds.ts). Defaults to none. */
  fold?: string;
  /** 2D: side of the square model input. Defaults to 320 (the database's slice size). */
  inputSize?: number;
  /** 2D: input transform. Defaults to 'clahe-v2'. */
  transform?: SliceInputTransform;
  /**
   * 2D, task 'lung': the loss counts each lesion pixel of the lung target this many times
   * (an integer 1–255, carried in the loss mask): missed consolidation at the pleura costs
   * a lung model little Dice otherwise, as it is a small part of a large lung. Defaults to 1.
   */
  lesionWeight?: number;
  /** Passed to the sample set (augmentation, 3D patch size). */
  set?: StoredSetOptions;
  /** Told (samples read, their total, 'loading <split> slices|volumes') as they are read. Defaults to none. */
  onProgress?: ProgressCallback;
}

export interface LoadedSplit {
  set: StoredSampleSet;
  /** Cases in the split (after source filtering). */
  cases: number;
  /** Samples skipped because the case has no lung mask (task 'lesion'). */
  skippedNoLung: number;
}

async function readPngGrey(path: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const img = decodePng(new Uint8Array(await readFile(path)), path);
  const grey = rasterToGrey(img);
  if (!(grey instanceof Uint8Array)) throw new CovsegError('expected an 8-bit PNG', { file: path });
  return { data: grey, width: img.width, height: img.height };
}

function binaryResized(mask: Uint8Array, w: number, h: number, size: number): Uint8Array {
  const r = w === size && h === size ? mask : (resizeSlice(mask, w, h, size, size, { interpolation: 'nearest' }) as Uint8Array);
  return r.map((v) => (v > 127 ? 1 : 0));
}

/** Share of a case's stored slices, at each end, that 'ends' sampling emphasises. */
export const CASE_END_SHARE = 0.15;

/**
 * Marks the slices in the outer CASE_END_SHARE at either end of their case (samples in
 * stored order, which is the case's slice order: case ids follow the original ids). A
 * case's ends are its apices and bases — a single-slice case has none.
 */
export function markCaseEnds(samples: StoredSample[]): void {
  const byCase = new Map<string, StoredSample[]>();
  for (const s of samples) {
    const list = byCase.get(s.caseId);
    if (list) list.push(s);
    else byCase.set(s.caseId, [s]);
  }
  for (const list of byCase.values()) {
    const k = Math.floor(list.length * CASE_END_SHARE);
    list.forEach((s, rank) => {
      if (rank < k || rank >= list.length - k) s.emphasis = true;
    });
  }
}

/** The share of the lung mask's pixels that the lesion mask marks (0 for an empty lung); both masks on one grid. */
export function lesionShare(lesion: ArrayLike<number>, lung: ArrayLike<number>): number {
  if (lesion.length !== lung.length) throw new Error(`lesion and lung masks differ in size (${lesion.length} vs ${lung.length} pixels)`);
  let inLung = 0, both = 0;
  for (let i = 0; i < lung.length; i++) {
    if (!lung[i]) continue;
    inLung++;
    if (lesion[i]) both++;
  }
  return inLung ? both / inLung : 0;
}

/** A lung model's loss mask: 1 everywhere, `weight` on the lesion's pixels (nearest-resized to `size`²). */
function lungLossWeights(lesion: { data: Uint8Array; width: number; height: number } | undefined, size: number, weight: number): Uint8Array {
  const mask = new Uint8Array(size * size).fill(1);
  if (!lesion || weight === 1) return mask;
  const inLesion = binaryResized(lesion.data, lesion.width, lesion.height, size);
  for (let i = 0; i < mask.length; i++) if (inLesion[i]) mask[i] = weight;
  return mask;
}

/** The 2D slices of `split`, as model inputs of `inputSize`². */
export async function loadSliceSplit(db: string, split: SplitName, options: DatabaseSamplesOptions): Promise<LoadedSplit> {
  const size = options.inputSize ?? 320;
  const transform = options.transform ?? 'clahe-v2';
  const cases = (await openDatabase(db, { fold: options.fold })).cases({ split, sources: options.sources, task: options.task });
  const slices = cases.flatMap((c) => c.slices.map((s) => ({ c: c.record, s })));
  const stage = `loading ${split} slices`;
  options.onProgress?.(0, slices.length, stage);
  const samples: StoredSample[] = [];
  let skippedNoLung = 0;
  for (const [k, { c, s }] of slices.entries()) {
    options.onProgress?.(k + 1, slices.length, stage);
    // Both tasks need the lung mask: a lesion model's loss mask, a lung model's target.
    if (!s.lungMask || !s.reference) {
      skippedNoLung++;
      continue;
    }
    // A lesion model's third mask is the lung (its loss mask); a lung model's is the lesion its
    // target holds (the loss weights and 'lesion' sampling).
    const [image, target, third] = await allInOrder([readPngGrey(s.image), readPngGrey(s.reference), readPngGrey(options.task === 'lesion' ? s.lungMask : s.lesionMask)]);
    const [lung, lesion] = options.task === 'lesion' ? [third, undefined] : [undefined, third];
    // Stored before equalisation, so training can jitter intensities the way exports differ.
    const input = sliceToModelStage1(image.data, image.width, image.height, size, transform);
    samples.push({
      id: `${c.caseId}_z${String(s.z).padStart(3, '0')}`,
      caseId: c.patientGroup,
      image: input,
      target: binaryResized(target.data, target.width, target.height, size),
      lossMask: lung ? binaryResized(lung.data, lung.width, lung.height, size) : lungLossWeights(lesion, size, options.lesionWeight ?? 1),
      ...(lesion ? { lesionShare: lesionShare(lesion.data, target.data) } : {}),
    });
  }
  markCaseEnds(samples);
  const finishInput = (img: Float32Array) => sliceToModelStage2(img, size, transform);
  return { set: new StoredSampleSet(samples, [size, size], { ...options.set, finishInput }), cases: cases.length, skippedNoLung };
}

/** The 3D volumes of `split` ([D, H, W] = [80, 320, 320] in a default database). */
export async function loadVolumeSplit(db: string, split: SplitName, options: DatabaseSamplesOptions): Promise<LoadedSplit> {
  const cases = (await openDatabase(db, { fold: options.fold })).cases({ split, sources: options.sources, task: options.task }).filter((c) => c.volume);
  const stage = `loading ${split} volumes`;
  options.onProgress?.(0, cases.length, stage);
  const samples: StoredSample[] = [];
  let shape: number[] | undefined;
  let skippedNoLung = 0;
  for (const [k, { record: c, volume: f }] of cases.entries()) {
    options.onProgress?.(k + 1, cases.length, stage);
    if (!f!.lungMask || !f!.reference) {
      skippedNoLung++;
      continue;
    }
    const [image, target, lung] = await allInOrder([readVolume(f!.image), readVolume(f!.reference), options.task === 'lesion' ? readVolume(f!.lungMask) : undefined]);
    const dzyx = [image.dims[2], image.dims[1], image.dims[0]];
    if (shape && shape.join() !== dzyx.join()) throw new CovsegError(`volume grid ${dzyx} differs from the other cases' ${shape}`, { file: f!.image });
    shape = dzyx;
    samples.push({
      id: c.caseId,
      caseId: c.caseId,
      image: Float32Array.from(image.data),
      target: Uint8Array.from(target.data, (v) => (v ? 1 : 0)),
      lossMask: lung ? Uint8Array.from(lung.data, (v) => (v ? 1 : 0)) : new Uint8Array(target.data.length).fill(1),
    });
  }
  if (!shape) throw new CovsegError(`the ${split} split has no 3D cases with lung masks`, { file: db });
  return { set: new StoredSampleSet(samples, shape, options.set), cases: cases.length, skippedNoLung };
}
