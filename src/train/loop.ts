/**
 * The epoch loop: SGD (or Adam) over shuffled, augmented batches; validation every
 * epoch; the weights with the lowest validation loss kept (the method's rule) plus the
 * last; early stopping; an atomic checkpoint every epoch so a killed run resumes where
 * it stopped; history.csv; ONNX export of the best weights.
 *
 * Determinism: weight init is seeded, and each epoch's order and augmentation come from
 * Rng(seed, epoch), so a resumed run replays exactly what an uninterrupted one would.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTorchModel, type NamedTensor, type StepResult, type TorchModel, type UNetConfig } from '../nn/torch-addon.js';
import { exportUNetOnnx, unetWeightsFromOnnx } from '../nn/unet-onnx.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';
import { describeIoError } from '../util/output-target.js';
import type { ProgressCallback } from '../util/progress.js';
import { Rng } from '../util/random.js';
import { diceFromCounts } from '../metrics/index.js';
import { Type } from '@sinclair/typebox';
import { loadCheckpoint, networkTensors, saveCheckpoint } from './checkpoint.js';
import { readRunRecord, RunProgressSchema, type RunProgress, type TrainingRecord } from './run-record.js';
import { readHistory, writeHistory, type EpochRecord } from './history.js';
import { allocateBatch, sliceBatch, type SampleSet } from './samples.js';
import { learningRate, type LrSchedule } from './schedule.js';
import { epochOrder, type SamplingMode } from './sampling.js';
import { writeTrainingPlot } from './plot.js';

export interface TrainOptions {
  /** Output folder (checkpoints, history.csv, model.onnx). */
  runDir: string;
  network: UNetConfig;
  /** Maximum number of epochs (the method ran up to 2000). Defaults to 100. */
  epochs?: number;
  /** Stop when the validation loss has not improved for this many epochs. Defaults to 20. */
  patience?: number;
  /** Samples per batch. Defaults to 8. */
  batchSize?: number;
  /**
   * How an epoch's samples are drawn (without replacement):
   * - 'uniform': every sample equally likely (the method);
   * - 'case-sqrt': a sample's weight is 1/√(samples of its case), so a patient with 150
   *   slices counts about 12× one with a single slice, not 150× (small groups and
   *   single-slice sources are not drowned by a few long scans);
   * - 'ends': the samples the set marks as `emphasised` (slices near either end of their
   *   case, negatives) weigh ENDS_WEIGHT×: the lung model's weakest ground is the apices,
   *   the bases next to the stomach and lung-free abdominal slices, which a uniform draw
   *   from the middle of chest scans seldom shows it.
   * - 'lesion': as 'ends', and each sample's weight further × (1 + LESION_SHARE_WEIGHT ×
   *   the share of its lung its lesion covers): a lung model learns that consolidation is
   *   lung from the slices where the lesion fills the lung, which a uniform draw gives as
   *   often as a slice with one small spot (the 2D database holds only slices with lesion).
   * - 'case-sqrt-ends': case-sqrt's weight × ENDS_WEIGHT for an emphasised sample. Under
   *   case-sqrt alone the 20 lung-free negatives are one "case" and drawn 1/√20 as often as a
   *   single-slice case's slice (under 2 % of an epoch), so a lung model fine-tuned that way
   *   takes abdominal gas for lung again; this keeps both the small sources and the negatives.
   * Defaults to 'uniform'.
   */
  sampling?: SamplingMode;
  /** Training samples drawn per epoch (a random subset when smaller than the set). Defaults to all. */
  samplesPerEpoch?: number;
  /** 'sgd' (the method) or 'adam'. Defaults to 'sgd'. */
  optimizer?: 'sgd' | 'adam';
  /** Base learning rate. Defaults to 0.01 (SGD) / 0.001 (Adam). */
  lr?: number;
  /** SGD momentum. Defaults to 0.9. */
  momentum?: number;
  /** Defaults to 0. */
  weightDecay?: number;
  /** Defaults to 'constant'. */
  schedule?: LrSchedule;
  /**
   * Weight of a pixel-wise binary cross-entropy over the whole image (target 0 outside the
   * lungs) added to the method's lung-masked negative Dice. The Dice never sees outside the
   * lung mask, so a network trained on it alone fires freely on the heart, the chest wall
   * and bowel gas, which costs Dice wherever an image is scored over its whole area.
   * Defaults to 0 (the method's loss alone).
   */
  bceWeight?: number;
  /** Random augmentation of training samples. Defaults to true. */
  augment?: boolean;
  /** Defaults to 42. */
  seed?: number;
  /** Defaults to 'cpu'. */
  device?: 'cpu' | 'cuda';
  /** libtorch threads. Defaults to 0 (all cores). */
  threads?: number;
  /** Continue from RUN/checkpoint-last.ckpt if it exists. Defaults to false (and an existing run is an error). */
  resume?: boolean;
  /**
   * Start a new run from the network weights of this checkpoint, or of a covseg model file
   * (.onnx, e.g. a shipped model: its batch norm is folded into the convs, so the run needs
   * norm 'none'), for fine-tuning; the optimiser starts fresh. Defaults to none.
   */
  initFrom?: string;
  /** Extra key/values stored in model.onnx (task, input transform, input size …). */
  modelMetadata?: Record<string, string>;
  /** Store model.onnx weights as float16. Defaults to false. */
  float16?: boolean;
  /** Title of the training-curves figure. Defaults to '<dims>D U-Net'. */
  title?: string;
  /** Told (batches done, batches in the epoch, 'epoch E/N', 'loss L') after each training batch. Defaults to none. */
  onProgress?: ProgressCallback;
  /** Told each finished epoch (after validation and the checkpoint), and whether it is the new best. Defaults to none. */
  onEpoch?: (record: EpochRecord, improved: boolean) => void;
  /** Told what the run is about to do (resuming, the network and data sizes). Defaults to none. */
  onMessage?: (message: string) => void;
}

export interface TrainResult {
  runDir: string;
  epochsRun: number;
  bestEpoch: number;
  bestValLoss: number;
  bestValDice: number;
  stoppedEarly: boolean;
  history: EpochRecord[];
  modelPath: string;
  secondsPerEpoch: number;
}

export const RUN_FILES = {
  options: 'run.json',
  last: 'checkpoint-last.ckpt',
  best: 'checkpoint-best.ckpt',
  history: 'history.csv',
  model: 'model.onnx',
  plot: 'training-curves.png',
} as const;

/** Whole-set metrics from per-sample sums. */
export interface SetMetrics {
  /** Negative soft Dice over all voxels of the set inside the loss mask. */
  loss: number;
  /** Hard Dice (threshold 0.5) over all voxels of the set. */
  dice: number;
  /** Hard Dice per sample (empty reference and prediction count as 1). */
  sampleDice: number[];
}

export function setMetrics(results: StepResult[], eps = 1e-6): SetMetrics {
  let inter = 0, pred = 0, targ = 0, tp = 0, fp = 0, fn = 0;
  const sampleDice: number[] = [];
  for (const r of results) {
    for (let i = 0; i < r.tp.length; i++) {
      inter += r.intersection[i]!;
      pred += r.predSum[i]!;
      targ += r.targetSum[i]!;
      tp += r.tp[i]!;
      fp += r.fp[i]!;
      fn += r.fn[i]!;
      sampleDice.push(diceFromCounts({ tp: r.tp[i]!, fp: r.fp[i]!, fn: r.fn[i]! }));
    }
  }
  return { loss: (-2 * inter) / (pred + targ + eps), dice: diceFromCounts({ tp, fp, fn }), sampleDice };
}

/** Runs `set` through the model without augmentation; per-sample results in set order. */
export async function evaluateSet(model: TorchModel, set: SampleSet, batchSize: number): Promise<StepResult[]> {
  const batch = allocateBatch(set, batchSize);
  const per = set.spatial.reduce((a, b) => a * b, 1);
  const results: StepResult[] = [];
  for (let start = 0; start < set.length; start += batchSize) {
    const count = Math.min(batchSize, set.length - start);
    for (let k = 0; k < count; k++) set.fill(start + k, batch, k);
    const b = sliceBatch(batch, count, per);
    results.push(await model.evaluate(b.image, b.target, b.lossMask, [count, 1, ...set.spatial]));
  }
  return results;
}

/** The network weights to fine-tune from: a run's checkpoint, or a covseg model file (.onnx). */
async function initialWeights(path: string, network: UNetConfig): Promise<Record<string, NamedTensor>> {
  if (!path.toLowerCase().endsWith('.onnx')) return networkTensors((await loadCheckpoint(path, Type.Unknown())).state);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new CovsegError(`cannot read the model to start from: ${(err as Error).message}`, { file: path, cause: err });
  }
  try {
    return unetWeightsFromOnnx(bytes, network);
  } catch (err) {
    throw new CovsegError(`cannot start from this model: ${(err as Error).message}`, { file: path, cause: err });
  }
}

export async function trainNetwork(options: TrainOptions, data: { train: SampleSet; val: SampleSet }): Promise<TrainResult> {
  const o = {
    epochs: 100, patience: 20, batchSize: 8, optimizer: 'sgd' as const, momentum: 0.9, weightDecay: 0,
    schedule: 'constant' as LrSchedule, augment: true, seed: 42, device: 'cpu' as const, threads: 0, resume: false,
    float16: false, ...options,
  };
  const lr = o.lr ?? (o.optimizer === 'adam' ? 0.001 : 0.01);
  const { train, val } = data;
  if (train.length === 0) throw new CovsegError('the training split has no samples');
  if (val.length === 0) throw new CovsegError('the validation split has no samples: the best-weights rule needs a validation set');
  if (train.spatial.join() !== val.spatial.join()) throw new CovsegError(`train and validation sample shapes differ: ${train.spatial} vs ${val.spatial}`);
  const div = 2 ** (o.network.depth ?? 4);
  if (train.spatial.some((s) => s % div !== 0)) throw new CovsegError(`sample shape [${train.spatial}] must be divisible by 2^depth = ${div}`);

  const path = (f: string) => join(o.runDir, f);
  // What a resumed run must share with the run it continues (model metadata: task, input size and transform).
  const recorded: TrainingRecord = { initFrom: o.initFrom ?? null, sampling: o.sampling ?? 'uniform', model: o.modelMetadata ?? {}, network: o.network, optimizer: o.optimizer, lr, momentum: o.momentum, weightDecay: o.weightDecay, schedule: o.schedule, batchSize: o.batchSize, samplesPerEpoch: o.samplesPerEpoch ?? null, ...(o.bceWeight ? { bceWeight: o.bceWeight } : {}), augment: o.augment, seed: o.seed, epochs: o.epochs, spatial: train.spatial, trainSamples: train.length, valSamples: val.length };
  const resuming = o.resume && existsSync(path(RUN_FILES.last));
  if (existsSync(path(RUN_FILES.last)) && !o.resume) {
    throw new CovsegError(`a training run already exists here; pass --resume to continue it or choose another --out`, { file: o.runDir });
  }
  if (resuming && existsSync(path(RUN_FILES.options))) {
    const before = await readRunRecord(path(RUN_FILES.options));
    // A setting a run.json predates counts as unset (null).
    const changed = (Object.keys(recorded) as (keyof TrainingRecord)[]).filter((k) => k !== 'epochs' && JSON.stringify(before.training[k] ?? null) !== JSON.stringify(recorded[k]));
    if (changed.length) throw new CovsegError(`cannot resume: the run was started with other settings (${changed.join(', ')})`, { file: path(RUN_FILES.options) });
  }
  await writeFileAtomic(path(RUN_FILES.options), JSON.stringify({ training: recorded }, null, 2) + '\n');

  const model = createTorchModel({ ...o.network, device: o.device, threads: o.threads, seed: o.seed, bceWeight: o.bceWeight ?? 0 });
  model.setOptimizer({ type: o.optimizer, lr, momentum: o.momentum, weightDecay: o.weightDecay });
  if (o.initFrom && !resuming) model.setState({ tensors: await initialWeights(o.initFrom, o.network), optimizerSteps: 0 });
  let progress: RunProgress = { epoch: 0, bestEpoch: 0, bestValLoss: Infinity, bestValDice: NaN, sinceBest: 0 };
  let history: EpochRecord[] = [];
  if (resuming) {
    const ck = await loadCheckpoint(path(RUN_FILES.last), RunProgressSchema);
    model.setState(ck.state);
    progress = ck.meta;
    history = (await readHistory(path(RUN_FILES.history))).filter((h) => h.epoch <= progress.epoch);
    o.onMessage?.(`resuming ${o.runDir} after epoch ${progress.epoch} (best ${progress.bestValLoss.toFixed(4)} at epoch ${progress.bestEpoch})`);
  }
  o.onMessage?.(`training ${o.network.dims}D U-Net (${model.numParameters().toLocaleString('en')} parameters) on ${train.length} samples [${train.spatial.join('×')}], validating on ${val.length}; ${o.optimizer} lr ${lr}, batch ${o.batchSize}, up to ${o.epochs} epochs, patience ${o.patience}`);

  const per = train.spatial.reduce((a, b) => a * b, 1);
  const buffers = [allocateBatch(train, o.batchSize), allocateBatch(train, o.batchSize)];
  let stoppedEarly = false;
  for (let epoch = progress.epoch + 1; epoch <= o.epochs; epoch++) {
    if (progress.sinceBest >= o.patience) {
      stoppedEarly = true;
      break;
    }
    const t0 = Date.now();
    const epochLr = learningRate(o.schedule, lr, epoch, o.epochs);
    model.setLearningRate(epochLr);
    const rng = new Rng((o.seed * 1_000_003 + epoch) >>> 0);
    const order = epochOrder(train, o.sampling, Math.min(train.length, o.samplesPerEpoch ?? train.length), rng);
    const batches: number[][] = [];
    for (let i = 0; i < order.length; i += o.batchSize) batches.push(order.slice(i, i + o.batchSize));
    const stage = `epoch ${epoch}/${o.epochs}`;
    o.onProgress?.(0, batches.length, stage);
    const fill = (k: number) => {
      const b = buffers[k % 2]!;
      batches[k]!.forEach((idx, slot) => train.fill(idx, b, slot, o.augment ? rng : undefined));
      return sliceBatch(b, batches[k]!.length, per);
    };
    const trainResults: StepResult[] = [];
    let next = fill(0);
    for (let k = 0; k < batches.length; k++) {
      const cur = next;
      const step = model.trainStep(cur.image, cur.target, cur.lossMask, [batches[k]!.length, 1, ...train.spatial]);
      // Prepare the next batch in JavaScript while libtorch computes this one.
      if (k + 1 < batches.length) next = fill(k + 1);
      const r = await step;
      if (!Number.isFinite(r.loss)) throw new CovsegError(`training diverged at epoch ${epoch}: loss is ${r.loss}; lower --lr`);
      trainResults.push(r);
      o.onProgress?.(k + 1, batches.length, stage, `loss ${r.loss.toFixed(4)}`);
    }
    const trainM = setMetrics(trainResults);
    const valM = setMetrics(await evaluateSet(model, val, o.batchSize));
    const seconds = (Date.now() - t0) / 1000;
    const record: EpochRecord = { epoch, trainLoss: trainM.loss, trainDice: trainM.dice, valLoss: valM.loss, valDice: valM.dice, lr: epochLr, seconds };
    history.push(record);
    const improved = valM.loss < progress.bestValLoss;
    progress = improved
      ? { epoch, bestEpoch: epoch, bestValLoss: valM.loss, bestValDice: valM.dice, sinceBest: 0 }
      : { ...progress, epoch, sinceBest: progress.sinceBest + 1 };
    const state = model.getState();
    // Best first, then last: a kill between the two never loses a best.
    if (improved) await saveCheckpoint(path(RUN_FILES.best), { state: { tensors: networkTensors(state), optimizerSteps: state.optimizerSteps }, meta: progress });
    await saveCheckpoint(path(RUN_FILES.last), { state, meta: progress });
    await writeHistory(path(RUN_FILES.history), history);
    await writeTrainingPlot(path(RUN_FILES.plot), history, progress.bestEpoch, o.title ?? `${o.network.dims}D U-Net`);
    o.onEpoch?.(record, improved);
  }
  if (progress.sinceBest >= o.patience && progress.epoch < o.epochs) stoppedEarly = true;

  if (!existsSync(path(RUN_FILES.best))) throw new CovsegError('no epoch finished, so there is no model to export', { file: o.runDir });
  const best = await loadCheckpoint(path(RUN_FILES.best), RunProgressSchema);
  const onnx = exportUNetOnnx(o.network, best.state.tensors, {
    float16: o.float16,
    metadata: { ...(o.modelMetadata ?? {}), 'covseg.dims': String(o.network.dims), 'covseg.network': JSON.stringify(o.network), 'covseg.bestEpoch': String(best.meta.bestEpoch), 'covseg.bestValLoss': best.meta.bestValLoss.toFixed(5), 'covseg.bestValDice': best.meta.bestValDice.toFixed(5) },
  });
  await writeFileAtomic(path(RUN_FILES.model), onnx);
  const secondsPerEpoch = history.length ? history.reduce((a, h) => a + h.seconds, 0) / history.length : 0;
  return { runDir: o.runDir, epochsRun: progress.epoch, bestEpoch: best.meta.bestEpoch, bestValLoss: best.meta.bestValLoss, bestValDice: best.meta.bestValDice, stoppedEarly, history, modelPath: path(RUN_FILES.model), secondsPerEpoch };
}
