/**
 * What a training run folder records about itself, as schemas (src/util/schema.ts): the
 * settings in `run.json`, which a resumed run must share, and the progress carried in
 * each checkpoint's header.
 */
import { Type } from '@sinclair/typebox';
import { loadJsonFile } from '../util/json-file.js';
import { literals, orNull, type Static } from '../util/schema.js';
import { LR_SCHEDULES } from './schedule.js';
import { SAMPLING_MODES } from './sampling.js';

/** The network as configured (UNetConfig). */
const NetworkSchema = Type.Object({
  dims: Type.Union([Type.Literal(2), Type.Literal(3)]),
  inChannels: Type.Optional(Type.Number()),
  outChannels: Type.Optional(Type.Number()),
  baseFilters: Type.Optional(Type.Number()),
  depth: Type.Optional(Type.Number()),
  norm: Type.Optional(literals(['batch', 'instance', 'none'])),
});

/** The settings a run was started with; `--resume` refuses other ones (the epoch cap aside). */
export const TrainingRecordSchema = Type.Object({
  initFrom: orNull(Type.String()),
  sampling: literals(SAMPLING_MODES),
  /** Model metadata (task, input size and transform): a resumed run must export the same model. */
  model: Type.Record(Type.String(), Type.String()),
  network: NetworkSchema,
  optimizer: literals(['sgd', 'adam']),
  lr: Type.Number(),
  momentum: Type.Number(),
  weightDecay: Type.Number(),
  schedule: literals(LR_SCHEDULES),
  batchSize: Type.Number(),
  samplesPerEpoch: orNull(Type.Number()),
  /** Absent when 0 (the method's loss), so that runs from before the term resume as they were. */
  bceWeight: Type.Optional(Type.Number()),
  augment: Type.Boolean(),
  seed: Type.Number(),
  epochs: Type.Number(),
  spatial: Type.Array(Type.Number()),
  trainSamples: Type.Number(),
  valSamples: Type.Number(),
});
export type TrainingRecord = Static<typeof TrainingRecordSchema>;

/** `RUN/run.json`. Every setting is optional on reading: one that a run.json predates counts as unset. */
const RunFileSchema = Type.Object({ training: Type.Partial(TrainingRecordSchema) });

export async function readRunRecord(path: string): Promise<Static<typeof RunFileSchema>> {
  return loadJsonFile(RunFileSchema, path, 'run settings', 'the run folder is damaged: train into another --out');
}

/** Progress carried in the checkpoints' header. */
export const RunProgressSchema = Type.Object({
  epoch: Type.Integer({ minimum: 0 }),
  bestEpoch: Type.Integer({ minimum: 0 }),
  bestValLoss: Type.Number(),
  bestValDice: Type.Number(),
  sinceBest: Type.Integer({ minimum: 0 }),
});
export type RunProgress = Static<typeof RunProgressSchema>;
