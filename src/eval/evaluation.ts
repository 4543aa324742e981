/**
 * Evaluation as a chain of small pure functions (nnU-Net's evaluate_predictions style):
 *
 *   masks of one slice ─ evaluateSlice ─▶ SliceResult
 *   slices of one case ─ poolCase ──────▶ CaseResult
 *   cases of one split ─ summarizeCases ▶ SplitSummary ("0.42 ± 0.23")
 *   all of it ────────── buildEvaluation ▶ Evaluation (what `covseg evaluate --json` writes)
 *
 * What a case is:
 * - a 3D database: one volume;
 * - a 2D database (slice sets): one patient group (`patientGroup`). The confusion counts of
 *   its slices are pooled, so its Dice is 2·ΣTP / (2·ΣTP + ΣFP + ΣFN), which weighs slices
 *   by their lesion size; the mean of its slices' Dice (what COVID-SemiSeg papers report)
 *   is given beside it as `slice_dice_mean`;
 * - a folder of slices (`--images`): one slice.
 *
 * Empty cases: an empty reference with an empty prediction has Dice 1 (nothing to find,
 * nothing found: `diceFromCounts`), an empty reference with any prediction has Dice 0.
 * Sensitivity is undefined (NaN) without reference voxels and precision without predicted
 * voxels; undefined values are left out of the statistics, whose `_n` says how many
 * cases were counted. NaN is written as null in JSON.
 *
 * Key names: metrics and counts are snake_case (`dice`, `dice_in_lungs`, `dice_mean`, as
 * dashboards read them); record fields keep the manifest's words (`id`, `source`,
 * `patientGroup`, `split`, `emptyReference`, `emptyBoth`).
 */
import { CovsegError } from '../util/errors.js';
import type { ModelSpec, ModelTask } from '../infer/model-spec.js';
import { addConfusion, confusion, diceFromCounts, metricStats, precision, sensitivity, specificity, type Confusion, type MetricStats } from '../metrics/index.js';

/** The masks of one slice (or any grid), all of one length; nonzero = positive. */
export interface SliceMasks {
  prediction: ArrayLike<number>;
  reference: ArrayLike<number>;
  /** Lung mask: the Dice is also computed counting only voxels inside it. Absent: no in-lung Dice. */
  lungMask?: ArrayLike<number>;
}

/** Which slice the masks are. */
export interface SliceKey {
  /** The slice's own id, e.g. `Slice-00012_z000` or an image file name. */
  id: string;
  /** The case the slice pools into (a patient group, a volume's case id, or the slice itself). */
  caseId: string;
  /** Axial index within its case's volume; 0 for single slices. */
  z: number;
}

export interface SliceResult extends SliceKey {
  dice: number;
  /** Dice counting only voxels inside the lung mask; NaN without one. */
  dice_in_lungs: number;
  sensitivity: number;
  specificity: number;
  precision: number;
  reference_voxels: number;
  predicted_voxels: number;
  confusion: Confusion;
  /** Counts inside the lung mask; null without one. */
  confusion_in_lungs: Confusion | null;
}

/** Scores of one slice: whole image, and inside the lungs when `masks.lungMask` is given. */
export function evaluateSlice(masks: SliceMasks, key: SliceKey): SliceResult {
  const whole = confusion(masks.prediction, masks.reference);
  const inLungs = masks.lungMask ? confusion(masks.prediction, masks.reference, masks.lungMask) : null;
  return { ...key, ...scores(whole, inLungs), confusion: whole, confusion_in_lungs: inLungs };
}

function scores(whole: Confusion, inLungs: Confusion | null) {
  return {
    dice: diceFromCounts(whole),
    dice_in_lungs: inLungs ? diceFromCounts(inLungs) : NaN,
    sensitivity: sensitivity(whole),
    specificity: specificity(whole),
    precision: precision(whole),
    reference_voxels: whole.tp + whole.fn,
    predicted_voxels: whole.tp + whole.fp,
  };
}

/** Who a case is, besides its slices. */
export interface CaseInfo {
  id: string;
  /** Dataset the case came from (manifest `source`); null for a folder of images. */
  source: string | null;
  /** Patient the case belongs to (manifest `patientGroup`); null for a folder of images. */
  patientGroup: string | null;
  /** Subset the case is in: 'train', 'validation', 'test', or 'images' for a folder. */
  split: string;
  /** Millilitres per voxel; null when the voxel size is unknown (PNG/JPEG slices), and volumes are then given in pixels only. */
  voxelMl: number | null;
}

export interface CaseResult extends Omit<CaseInfo, 'voxelMl'> {
  /** Slices pooled into the case. */
  slices: number;
  dice: number;
  /** Pooled in-lung Dice; NaN unless every slice of the case has a lung mask. */
  dice_in_lungs: number;
  sensitivity: number;
  specificity: number;
  precision: number;
  /** Mean of the slices' own Dice (each slice weighs the same, whatever its lesion size). */
  slice_dice_mean: number;
  reference_voxels: number;
  predicted_voxels: number;
  /** Reference volume in mL; NaN when the voxel size is unknown. */
  reference_ml: number;
  predicted_ml: number;
  confusion: Confusion;
  confusion_in_lungs: Confusion | null;
}

/** Pools the confusion counts of a case's slices into the case's scores (see the file comment). */
export function poolCase(slices: readonly SliceResult[], info: CaseInfo): CaseResult {
  if (slices.length === 0) throw new CovsegError(`case ${info.id} has no slices to pool; leave cases without slices out of the evaluation`);
  const zero: Confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  let whole = zero;
  let inLungs: Confusion | null = zero;
  for (const s of slices) {
    whole = addConfusion(whole, s.confusion);
    inLungs = inLungs && s.confusion_in_lungs ? addConfusion(inLungs, s.confusion_in_lungs) : null;
  }
  const s = scores(whole, inLungs);
  const ml = info.voxelMl ?? NaN;
  return {
    id: info.id,
    source: info.source,
    patientGroup: info.patientGroup,
    split: info.split,
    slices: slices.length,
    ...s,
    slice_dice_mean: slices.reduce((a, x) => a + x.dice, 0) / slices.length,
    reference_ml: s.reference_voxels * ml,
    predicted_ml: s.predicted_voxels * ml,
    confusion: whole,
    confusion_in_lungs: inLungs,
  };
}

/** Metrics summarised over cases (`slice_dice` over slices), each as `<metric>_<stat>`. */
export const SUMMARY_METRICS = ['dice', 'dice_in_lungs', 'sensitivity', 'specificity', 'precision', 'slice_dice'] as const;
export type SummaryMetric = (typeof SUMMARY_METRICS)[number];
export const SUMMARY_STATS = ['mean', 'std', 'median', 'min', 'max', 'n'] as const;
export type SummaryStat = (typeof SUMMARY_STATS)[number];

/**
 * One split's summary. `dice_mean` … `precision_max` are over cases, `slice_dice_*` over
 * the cases' slices; `<metric>_n` counts the values that were defined.
 */
export type SplitSummary = {
  /** Cases. */
  n: number;
  /** Slices of those cases. */
  slices: number;
  /** Dice of all cases' counts added up (one big case): large cases weigh more. */
  pooled_dice: number;
  /** Same inside the lungs, over the cases that have lung masks; NaN when none has. */
  pooled_dice_in_lungs: number;
  /** Cases whose reference is empty (Dice 0 unless the prediction is empty too). */
  emptyReference: number;
  /** Cases whose reference and prediction are both empty (Dice 1); included in emptyReference. */
  emptyBoth: number;
} & { [K in `${SummaryMetric}_${SummaryStat}`]: number };

/**
 * Summary of `cases`; `slices` may hold other cases' slices too, only those whose
 * `caseId` is one of `cases`' ids count. Throws on an empty case list: a summary of
 * nothing would print NaN where a reader expects a number.
 */
export function summarizeCases(cases: readonly CaseResult[], slices: readonly SliceResult[]): SplitSummary {
  if (cases.length === 0) throw new CovsegError('summarizeCases: no cases to summarise; evaluate at least one case');
  const ids = new Set(cases.map((c) => c.id));
  const own = slices.filter((s) => ids.has(s.caseId));
  const values: Record<SummaryMetric, number[]> = {
    dice: cases.map((c) => c.dice),
    dice_in_lungs: cases.map((c) => c.dice_in_lungs),
    sensitivity: cases.map((c) => c.sensitivity),
    specificity: cases.map((c) => c.specificity),
    precision: cases.map((c) => c.precision),
    slice_dice: own.map((s) => s.dice),
  };
  const zero: Confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  const pooled = cases.reduce((a, c) => addConfusion(a, c.confusion), zero);
  const withLungs = cases.filter((c) => c.confusion_in_lungs);
  const pooledInLungs = withLungs.reduce((a, c) => addConfusion(a, c.confusion_in_lungs!), zero);
  const emptyReference = cases.filter((c) => c.reference_voxels === 0);
  const summary: Record<string, number> = {
    n: cases.length,
    slices: own.length,
    pooled_dice: diceFromCounts(pooled),
    pooled_dice_in_lungs: withLungs.length ? diceFromCounts(pooledInLungs) : NaN,
    emptyReference: emptyReference.length,
    emptyBoth: emptyReference.filter((c) => c.predicted_voxels === 0).length,
  };
  for (const metric of SUMMARY_METRICS) {
    const stats: MetricStats = metricStats(values[metric]);
    for (const stat of SUMMARY_STATS) summary[`${metric}_${stat}`] = stats[stat];
  }
  return summary as SplitSummary;
}

/** Where the cases came from. */
export type EvaluationData =
  | {
      kind: 'database';
      db: string;
      /** The split asked for ('all' = every split). */
      split: string;
      /** Sources kept; null = all. */
      sources: string[] | null;
    }
  | { kind: 'folder'; images: string; masks: string; lungs: string | null };

export interface EvaluationMeta {
  model: { file: string; spec: ModelSpec };
  data: EvaluationData;
  /** Probability above which a voxel counts as predicted (the model's own, or --threshold). */
  threshold: number;
  /** ISO date of the evaluation. */
  date: string;
  /** Things a reader must know: cases skipped, and why. */
  warnings: string[];
  /**
   * Lesion models: where the lung mask that predictions are restricted to came from, as
   * `covseg segment` restricts them ('reference' = the data's own lung masks,
   * 'model:<name>' = the lung model where the data has none, 'none' = not restricted).
   */
  lungMask: string;
  /** 2D: how many mirrors of each slice the prediction averaged (test-time flips); absent: none. */
  testTimeFlips?: number;
}

export const EVALUATION_FORMAT = 'covseg-evaluation';

/** What `covseg evaluate --json` writes; the keys `summary.dice_mean`, `summary.dice_std`, `summary.n`, `cases[].id`, `cases[].dice` are read by dashboards. */
export interface Evaluation extends EvaluationMeta {
  format: typeof EVALUATION_FORMAT;
  version: 1;
  /** What the reference is: the lesion mask for 'lesion' models, the lung mask for 'lung' models (then there is no in-lung Dice). */
  task: ModelTask;
  /** What a case is and how it is scored, in words. */
  definitions: string[];
  /** Over every evaluated case. */
  summary: SplitSummary;
  /** Per split, in train, validation, test order (or 'images'). */
  splits: Record<string, SplitSummary>;
  cases: CaseResult[];
  slices: SliceResult[];
}

const SPLIT_ORDER = ['train', 'validation', 'test', 'images'];

/** Assembles the evaluation: summaries over all cases and per split. */
export function buildEvaluation(cases: readonly CaseResult[], slices: readonly SliceResult[], meta: EvaluationMeta): Evaluation {
  const splitNames = [...new Set(cases.map((c) => c.split))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const splits: Record<string, SplitSummary> = {};
  for (const name of splitNames) splits[name] = summarizeCases(cases.filter((c) => c.split === name), slices);
  const { spec } = meta.model;
  const caseWord = meta.data.kind === 'folder'
    ? 'one image file'
    : spec.dims === 3
      ? 'one volume of the 3D database (slices lists only axial slices with reference or predicted voxels)'
      : 'one patient group: the confusion counts of its slices are pooled; slice_dice_mean is the mean of its slices\' own Dice';
  return {
    format: EVALUATION_FORMAT,
    version: 1,
    date: meta.date,
    model: meta.model,
    data: meta.data,
    task: spec.task,
    threshold: meta.threshold,
    lungMask: meta.lungMask,
    ...(meta.testTimeFlips ? { testTimeFlips: meta.testTimeFlips } : {}),
    definitions: [
      `case = ${caseWord}`,
      `reference = ${spec.task === 'lung' ? 'lung mask (a lung model has no in-lung Dice)' : 'lesion mask; dice_in_lungs counts only voxels inside the lung mask'}`,
      ...(spec.task === 'lesion' ? [`prediction = the model's lesions inside the lungs, as covseg segment reports them (lung mask: ${meta.lungMask}); the loss never saw voxels outside the lungs, so unrestricted outputs there mean nothing`] : []),
      'dice = 2·TP / (2·TP + FP + FN); empty reference and empty prediction = 1, empty reference with a prediction = 0',
      'summaries: over cases, sample std (n − 1), <metric>_n = cases where the metric is defined; slice_dice_* over slices; pooled_dice = Dice of all counts added up; NaN written as null',
    ],
    warnings: meta.warnings,
    summary: summarizeCases(cases, slices),
    splits,
    cases: [...cases],
    slices: [...slices],
  };
}

function rank(split: string): number {
  const i = SPLIT_ORDER.indexOf(split);
  return i < 0 ? SPLIT_ORDER.length : i;
}

/** The evaluation as JSON text (NaN → null), two-space indented. */
export function evaluationToJson(evaluation: Evaluation): string {
  return `${JSON.stringify(evaluation, null, 2)}\n`;
}
