/**
 * `covseg train` as one call: the splits of a covseg database read as samples for the
 * task (2D slices or 3D volumes), the negatives added, the network trained by the epoch
 * loop, and the model's metadata (task, input size and transform, what it was trained on)
 * written into model.onnx so that `covseg segment` and `covseg evaluate` run it as trained.
 */
import type { UNetConfig } from '../nn/torch-addon.js';
import type { SourceName } from '../datasets/types.js';
import { specToMetadata } from '../infer/model-spec.js';
import type { SliceInputTransform } from '../preprocess/model-input.js';
import { CovsegError } from '../util/errors.js';
import { loadSliceSplit, loadVolumeSplit, type TrainTask } from './database-samples.js';
import { trainNetwork, type TrainOptions, type TrainResult } from './loop.js';
import { loadNegativeSlices } from './negative-samples.js';

/** The database's slice side (2D) and in-plane volume side (3D): the default 2D input and a 3D model's input size. */
const DATABASE_SIDE = 320;

export interface DatabaseTrainingOptions extends Omit<TrainOptions, 'network' | 'batchSize' | 'modelMetadata' | 'title'> {
  /** The database folder (from `covseg build-db`). */
  db: string;
  /** 2D U-Net on slices or 3D U-Net on volumes. */
  dims: 2 | 3;
  /** 'lesion': target = lesion, loss inside the lung mask; 'lung': target = lung mask, loss everywhere. Defaults to 'lesion'. */
  task?: TrainTask;
  /** Only cases of these sources. Defaults to all. */
  sources?: SourceName[];
  /** A validation fold instead of DB/splits.json (`out=NAME`, `kK/I`, see src/database/folds.ts); recorded in the model. Defaults to none. */
  fold?: string;
  /** 2D: side of the square network input, divisible by 2^depth. Defaults to 320. */
  inputSize?: number;
  /** 2D: the input transform (src/preprocess/model-input.ts). Defaults to 'clahe-v2'. */
  transform?: SliceInputTransform;
  /** 3D: [D, H, W] of the random training patches, each divisible by 2^depth. Defaults to whole volumes. */
  patch?: number[];
  /** The U-Net's size. Defaults to 16 base filters, depth 4, batch norm. */
  network?: Omit<UNetConfig, 'dims'>;
  /** Samples per batch. Defaults to 8 for 2D, 1 for 3D. */
  batchSize?: number;
  /** 2D lung model: CTs (files or DICOM folders) with no lung in view, whose slices train with an empty target. Defaults to none. */
  negatives?: string[];
  /** 2D lung model: each lesion pixel of the lung target counts this many times in the loss (integer 1–255). Defaults to 1. */
  lesionWeight?: number;
  /** 2D lung model: probability of painting a synthetic consolidation into a training slice's lung (src/train/augment.ts). Defaults to 0. */
  syntheticConsolidation?: number;
}

/**
 * The settings that cannot work together, found before anything is read; `fail` makes the
 * error (the CLI's names the flags as usage errors).
 */
export function checkDatabaseTraining(o: DatabaseTrainingOptions, fail: (problem: string) => Error = (problem) => new CovsegError(problem)): void {
  const div = 2 ** (o.network?.depth ?? 4);
  if (o.inputSize !== undefined && o.inputSize % div !== 0) throw fail(`--input-size: ${o.inputSize} is not divisible by 2^depth = ${div}`);
  if (o.patch && (o.dims !== 3 || o.patch.length !== 3 || o.patch.some((p) => !Number.isInteger(p) || p % div !== 0))) {
    throw fail(`--patch: three integers divisible by ${div}, for --dims 3`);
  }
  // Flags that only a 2D lung model's slices can use.
  const lung2d = o.dims === 2 && (o.task ?? 'lesion') === 'lung';
  const onlyLung2d = (flag: string): Error => fail(`${flag} is for the 2D lung model (--dims 2 --task lung)`);
  if (o.negatives?.length && !lung2d) throw onlyLung2d('--negatives');
  if (o.lesionWeight !== undefined && o.lesionWeight !== 1) {
    if (!lung2d) throw onlyLung2d('--lesion-weight');
    if (!Number.isInteger(o.lesionWeight) || o.lesionWeight < 1 || o.lesionWeight > 255) throw fail(`--lesion-weight: an integer from 1 to 255, got ${o.lesionWeight}`);
  }
  if (o.syntheticConsolidation) {
    if (!lung2d) throw onlyLung2d('--synthetic-consolidation');
    if (!(o.syntheticConsolidation > 0 && o.syntheticConsolidation <= 1)) throw fail(`--synthetic-consolidation: a probability in (0, 1], got ${o.syntheticConsolidation}`);
  }
}

/** Trains a U-Net on the train split of `o.db`, choosing the weights on its validation split. */
export async function trainOnDatabase(o: DatabaseTrainingOptions): Promise<TrainResult> {
  checkDatabaseTraining(o);
  const { db, dims, sources, fold, patch, negatives, network, task = 'lesion', inputSize = DATABASE_SIDE, transform = 'clahe-v2', batchSize, lesionWeight = 1, syntheticConsolidation = 0, ...loop } = o;
  const load = dims === 2 ? loadSliceSplit : loadVolumeSplit;
  const data = { task, sources, fold, inputSize, transform, lesionWeight, onProgress: o.onProgress, set: { patch, augment: { consolidationProbability: syntheticConsolidation } } };
  const train = await load(db, 'train', data);
  if (negatives?.length) train.set = train.set.concat(await loadNegativeSlices(negatives, { inputSize, transform }));
  const val = await load(db, 'validation', data);
  for (const [name, s] of [['train', train], ['validation', val]] as const) {
    if (s.skippedNoLung) o.onMessage?.(`${name}: ${s.skippedNoLung} samples skipped (no lung mask; build the database with --lung-model to include them)`);
  }
  const spec = dims === 2
    ? { task, dims, inputSize, inputTransform: transform, threshold: 0.5 } as const
    : { task, dims, inputSize: DATABASE_SIDE, inputTransform: 'method-3d', threshold: 0.5 } as const;
  return trainNetwork({
    ...loop,
    network: { dims, ...network },
    batchSize: batchSize ?? (dims === 2 ? 8 : 1),
    title: `${dims}D ${task} U-Net`,
    modelMetadata: {
      ...specToMetadata(spec),
      'covseg.trainedOn': JSON.stringify({ db, sources: sources ?? 'all', ...(fold ? { fold } : {}), ...(lesionWeight !== 1 ? { lesionWeight } : {}), ...(syntheticConsolidation ? { syntheticConsolidation } : {}), trainSamples: train.set.length, valSamples: val.set.length }),
    },
  }, { train: train.set, val: val.set });
}
