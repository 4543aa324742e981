/**
 * Runs a covseg model over an evaluation plan exactly as inference does (2D: `predictSlices`
 * on stacks of slices, so the same input transform and resize path; 3D: `predictVolume3d`),
 * thresholds the probabilities, and scores every slice against its reference on the
 * reference's own grid (the database resolution).
 */
import { writeFile } from 'node:fs/promises';
import { CovsegError } from '../util/errors.js';
import type { ProgressCallback } from '../util/progress.js';
import { writeFilesAtomic, type PendingFile } from '../util/output-target.js';
import { readImage, type ImageMeta, type ReadVolumeOptions } from '../io/index.js';
import { isColourPicture } from '../io/raster-decode.js';
import { createVolume, labelValues, MAX_LABEL_VALUES, type Volume } from '../volume/index.js';
import { predictSlices, predictSlicesFlipped, TTA_FLIPS, threshold as thresholdProbabilities } from '../infer/slice-inferer.js';
import { predictVolume3d } from '../infer/volume-inferer.js';
import type { SegmentationModel } from '../infer/segmentation-model.js';
import { segmentLungsDefault } from '../lungs/default-model.js';
import { basename } from 'node:path';
import { buildEvaluation, evaluateSlice, evaluationToJson, poolCase, type CaseResult, type Evaluation, type SliceResult } from './evaluation.js';
import type { EvaluationPlan, SliceCasePlan, SliceFiles, VolumeCasePlan } from './plan.js';
import { evaluationMarkdown } from './table.js';
import { evaluationFigureFiles, type FigureSlice } from './figures.js';
import { allInOrder } from '../util/in-order.js';

export interface EvaluateModelOptions {
  /** Probability above which a voxel counts as predicted, in (0, 1). Defaults to the model's own (`spec.threshold`). */
  threshold?: number;
  /** 2D: slices per ONNX Runtime call (and per read). Defaults to 8. */
  batchSize?: number;
  /** Told (slices or volumes done, their total, 'evaluating <split>' or 'evaluating images') as the work goes. Defaults to none. */
  onProgress?: ProgressCallback;
  /** Date written into the evaluation. Defaults to now. */
  date?: Date;
  /**
   * Lesion models: the lung model that supplies lung masks for slices that come without
   * one (predictions are restricted to the lungs, as in `covseg segment`). Without it such
   * slices are scored unrestricted, and the evaluation says so. Defaults to none.
   */
  lungModel?: SegmentationModel;
  /** Most voxels an image or mask may have, checked from its header before decoding. Defaults to DEFAULT_MAX_VOXELS (src/io/limits.ts). */
  maxVoxels?: number;
  /** 2D: test-time flips, the model averaged over the four mirrors of each slice, as `covseg segment --tta` runs it. Defaults to false. */
  tta?: boolean;
}

export interface EvaluationRun {
  evaluation: Evaluation;
  /** Per case id, its slice with the most reference voxels, for figures. */
  figureSlices: Map<string, FigureSlice>;
}

/** Evaluates `model` on the cases of `plan` (see plan.ts); the model's spec must match the plan's 2D/3D kind. */
export async function evaluateModel(model: SegmentationModel, plan: EvaluationPlan, options: EvaluateModelOptions = {}): Promise<EvaluationRun> {
  const level = options.threshold ?? model.spec.threshold;
  if (!(level > 0 && level < 1)) throw new CovsegError(`threshold must be in (0, 1), got ${level}`, { file: model.file });
  if (model.spec.dims !== plan.dims) {
    throw new CovsegError(`the model is ${model.spec.dims}D but the plan holds ${plan.dims}D cases; plan with the model's spec`, { file: model.file });
  }
  const read: ReadVolumeOptions = options.maxVoxels !== undefined ? { maxVoxels: options.maxVoxels } : {};
  const batchSize = options.batchSize ?? 8;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new CovsegError(`batch size must be a positive integer, got ${batchSize}`);
  const tta = options.tta ?? false;
  if (tta && plan.dims !== 2) throw new CovsegError('test-time flips are for 2D models', { file: model.file });
  const stage = plan.data.kind === 'database' ? `evaluating ${plan.data.split}` : 'evaluating images';
  const progress = (done: number, total: number) => options.onProgress?.(done, total, stage);
  /** Where the lung masks predictions were restricted to came from (lesion models). */
  const lungSources = new Set<string>();
  const cases: CaseResult[] = [];
  const slices: SliceResult[] = [];
  const figureSlices = new Map<string, FigureSlice>();
  const warnings = [...plan.warnings];
  if (plan.dims === 2) {
    // A folder's masks are the user's files: every one is checked before the model runs (a database's were written by build-db).
    if (plan.data.kind === 'folder') await checkFolderMasks(plan.cases, read);
    const colourImages: string[] = [];
    const perCase = await evaluateSlices(model, plan.cases, { level, batchSize, tta }, figureSlices, options.lungModel, lungSources, read, colourImages, progress);
    for (const c of plan.cases) {
      const own = perCase.get(c.info.id)!;
      cases.push(poolCase(own, c.info));
      slices.push(...own);
    }
    if (colourImages.length) {
      const shown = colourImages.slice(0, 5).map((f) => basename(f)).join(', ');
      warnings.push(`${colourImages.length} image(s) are colour pictures, not greyscale CT slices, scored after conversion to grey (Rec. 601 luma): ${shown}${colourImages.length > 5 ? ', …' : ''}`);
    }
  } else {
    progress(0, plan.cases.length);
    for (const [k, c] of plan.cases.entries()) {
      const own = await evaluateVolumeCase(model, c, level, figureSlices, lungSources, read);
      cases.push(poolCase(own, c.info));
      // Slices with neither reference nor prediction are left out of the list (their TN still count in the case).
      slices.push(...own.filter((s) => s.reference_voxels + s.predicted_voxels > 0));
      progress(k + 1, plan.cases.length);
    }
  }
  const evaluation = buildEvaluation(cases, slices, {
    model: { file: model.file, spec: model.spec },
    data: plan.data,
    threshold: level,
    date: (options.date ?? new Date()).toISOString(),
    warnings,
    lungMask: model.spec.task === 'lesion' ? ([...lungSources].sort().join(' + ') || 'none') : 'none',
    ...(tta ? { testTimeFlips: TTA_FLIPS.length } : {}),
  });
  return { evaluation, figureSlices };
}

/**
 * Refuses a reference file that is not a mask: a colour picture, or (lossless files) one
 * with more than 16 distinct values, such as a CT slice given as its own mask. JPEG masks
 * (lossy: their edges hold many grey values) are only refused when in colour.
 */
function checkMask(volume: Volume, meta: ImageMeta): void {
  const what = 'a mask is a binary or label image (one grey channel, nonzero = positive)';
  if (isColourPicture(meta)) throw new CovsegError(`this is a colour picture, not a mask: ${what}`, { file: meta.path });
  if (meta.format !== 'jpeg' && !labelValues(volume.data)) {
    throw new CovsegError(`holds more than ${MAX_LABEL_VALUES} distinct values (an image?), not a mask: ${what}`, { file: meta.path });
  }
}

/** Reads every mask and lung mask of `cases` and refuses the first that is not a mask (see checkMask). */
async function checkFolderMasks(cases: readonly SliceCasePlan[], read: ReadVolumeOptions): Promise<void> {
  for (const file of cases.flatMap((c) => c.slices.flatMap((s) => (s.lungMask ? [s.reference, s.lungMask] : [s.reference])))) {
    const { volume, meta } = await readImage(file, read);
    checkMask(volume, meta);
  }
}

/** A mask file as 0/1 on its own grid: nonzero = positive, except JPEG (lossy: ≥ 128). */
async function readMask(path: string, width: number, height: number, image: string, read: ReadVolumeOptions): Promise<Uint8Array> {
  const { volume, meta } = await readImage(path, read);
  checkMask(volume, meta);
  const [w, h, d] = volume.dims;
  if (w !== width || h !== height || d !== 1) {
    throw new CovsegError(`mask is ${w}×${h}${d > 1 ? `×${d}` : ''} but its image ${image} is ${width}×${height}; a mask must be on its slice's grid`, { file: path });
  }
  return binarize(volume.data, meta.format === 'jpeg' ? 128 : 1);
}

/** 1 where value ≥ `cut`, else 0 (a flat loop: a mapping callback per pixel costs ~10× more). */
function binarize(values: Volume['data'], cut: number): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! >= cut ? 1 : 0;
  return out;
}

interface LoadedSlice {
  files: SliceFiles;
  image: Volume;
  /** A colour picture, converted to grey (as `covseg segment` warns). */
  colour: boolean;
  reference: Uint8Array;
  lungMask: Uint8Array | undefined;
}

async function loadSlice(files: SliceFiles, read: ReadVolumeOptions): Promise<LoadedSlice> {
  const { volume: image, meta } = await readImage(files.image, read);
  if (image.dims[2] !== 1) throw new CovsegError(`expected one 2D slice, found ${image.dims[2]} slices`, { file: files.image });
  const [w, h] = image.dims;
  const [reference, lungMask] = await allInOrder([
    readMask(files.reference, w, h, files.image, read),
    files.lungMask ? readMask(files.lungMask, w, h, files.image, read) : undefined,
  ]);
  return { files, image, colour: isColourPicture(meta), reference, lungMask };
}

/**
 * Runs `predictSlices` once per run of consecutive same-sized slices, stacked as one
 * volume (8-bit slices stay 8-bit, mixed types become float32), and returns each
 * slice's thresholded prediction.
 */
interface SlicePrediction {
  level: number;
  batchSize: number;
  tta: boolean;
}

async function predictStacked(model: SegmentationModel, loaded: readonly LoadedSlice[], { level, batchSize, tta }: SlicePrediction): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let start = 0; start < loaded.length;) {
    const [w, h] = loaded[start]!.image.dims;
    let end = start + 1;
    while (end < loaded.length && loaded[end]!.image.dims[0] === w && loaded[end]!.image.dims[1] === h) end++;
    const run = loaded.slice(start, end);
    const plane = w * h;
    const data = run.every((s) => s.image.data instanceof Uint8Array) ? new Uint8Array(plane * run.length) : new Float32Array(plane * run.length);
    run.forEach((s, k) => data.set(s.image.data, k * plane));
    // PNG/JPEG slices carry no geometry: identity direction, so predictSlices' LPS reorientation leaves them as they are.
    const stack = createVolume(data, [w, h, run.length]);
    const probability = tta ? (await predictSlicesFlipped(model, stack, { batchSize, flips: TTA_FLIPS })).probability : await predictSlices(model, stack, { batchSize });
    const prediction = thresholdProbabilities(probability, level);
    for (let k = 0; k < run.length; k++) out.push(prediction.data.slice(k * plane, (k + 1) * plane));
    start = end;
  }
  return out;
}

/**
 * Scores every slice of `cases`, read and run in batches of `batchSize` across case
 * boundaries (a folder of single-slice cases still fills each ONNX Runtime call).
 * Returns each case's slice results, by case id.
 */
async function evaluateSlices(
  model: SegmentationModel,
  cases: readonly SliceCasePlan[],
  predict: SlicePrediction,
  figureSlices: Map<string, FigureSlice>,
  lungModel: SegmentationModel | undefined,
  lungSources: Set<string>,
  read: ReadVolumeOptions,
  colourImages: string[],
  progress: (done: number, total: number) => void,
): Promise<Map<string, SliceResult[]>> {
  const perCase = new Map<string, SliceResult[]>(cases.map((c) => [c.info.id, []]));
  const work = cases.flatMap((c) => c.slices.map((files) => ({ caseId: c.info.id, files })));
  progress(0, work.length);
  const { batchSize } = predict;
  for (let start = 0; start < work.length; start += batchSize) {
    const chunk = work.slice(start, start + batchSize);
    const loaded = await allInOrder(chunk.map((w) => loadSlice(w.files, read)));
    const predictions = await predictStacked(model, loaded, predict);
    for (const [k, s] of loaded.entries()) {
      const { caseId } = chunk[k]!;
      if (s.colour) colourImages.push(s.files.image);
      const prediction = predictions[k]!;
      let lungMask = s.lungMask;
      if (model.spec.task === 'lesion') {
        if (lungMask) lungSources.add('reference');
        else if (lungModel) {
          lungMask = binarize((await segmentLungsDefault(s.image, { model: lungModel })).data, 1);
          lungSources.add(`model:${basename(lungModel.file)}`);
        }
        if (lungMask) for (let i = 0; i < prediction.length; i++) prediction[i]! &= lungMask[i]!;
      }
      const masks = lungMask ? { prediction, reference: s.reference, lungMask } : { prediction, reference: s.reference };
      const result = evaluateSlice(masks, { id: s.files.id, caseId, z: s.files.z });
      perCase.get(caseId)!.push(result);
      keepFigureSlice(figureSlices, caseId, { width: s.image.dims[0], height: s.image.dims[1], image: s.image.data, prediction, reference: s.reference }, result);
    }
    progress(start + chunk.length, work.length);
  }
  return perCase;
}

async function evaluateVolumeCase(model: SegmentationModel, c: VolumeCasePlan, level: number, figureSlices: Map<string, FigureSlice>, lungSources: Set<string>, read: ReadVolumeOptions): Promise<SliceResult[]> {
  const [{ volume: image }, { volume: referenceVolume, meta: referenceMeta }, lung] = await allInOrder([
    readImage(c.image, read),
    readImage(c.reference, read),
    c.lungMask ? readImage(c.lungMask, read) : undefined,
  ]);
  checkMask(referenceVolume, referenceMeta);
  if (lung) checkMask(lung.volume, lung.meta);
  for (const [path, v] of [[c.reference, referenceVolume], [c.lungMask, lung?.volume]] as const) {
    if (v && v.dims.some((d, i) => d !== image.dims[i])) {
      throw new CovsegError(`mask grid ${v.dims.join('×')} differs from the image's ${image.dims.join('×')} (${c.image}); rebuild the database`, { file: path });
    }
  }
  // The 3D database CT is already normalised to [0, 1]: not HU, so padding uses its own minimum.
  const prediction = thresholdProbabilities(await predictVolume3d(model, image, { preprocessed: true }), level);
  // Database label maps are 0/1 (NRRD): any nonzero voxel is positive. Negative values cannot occur in them.
  const reference = binarize(referenceVolume.data, 1);
  const lungMask = lung ? binarize(lung.volume.data, 1) : undefined;
  if (model.spec.task === 'lesion' && lungMask) {
    for (let i = 0; i < prediction.data.length; i++) prediction.data[i]! &= lungMask[i]!;
    lungSources.add('reference');
  }
  const [nx, ny, nz] = image.dims;
  const plane = nx * ny;
  const results: SliceResult[] = [];
  for (let z = 0; z < nz; z++) {
    const part = <T extends Volume['data']>(a: T): T => a.subarray(z * plane, (z + 1) * plane) as T;
    const planes = { width: nx, height: ny, image: part(image.data), prediction: part(prediction.data), reference: part(reference) };
    const masks = lungMask ? { ...planes, lungMask: part(lungMask) } : planes;
    const result = evaluateSlice(masks, { id: `${c.info.id}_z${String(z).padStart(3, '0')}`, caseId: c.info.id, z });
    results.push(result);
    keepFigureSlice(figureSlices, c.info.id, planes, result);
  }
  return results;
}

/** The planes of one slice, shape [height, width] (views; copied when kept). */
interface SlicePlanes {
  width: number;
  height: number;
  image: Volume['data'];
  prediction: Uint8Array;
  reference: Uint8Array;
}

/** Keeps a copy of the slice for `caseId` if it has more reference voxels than the one kept (or, without any, more predicted voxels). */
function keepFigureSlice(kept: Map<string, FigureSlice>, caseId: string, planes: SlicePlanes, result: SliceResult): void {
  const old = kept.get(caseId);
  if (old && (result.reference_voxels < old.referenceVoxels || (result.reference_voxels === old.referenceVoxels && result.predicted_voxels <= old.predictedVoxels))) return;
  kept.set(caseId, {
    caseId,
    sliceId: result.id,
    width: planes.width,
    height: planes.height,
    image: planes.image instanceof Uint8Array ? planes.image.slice() : Float32Array.from(planes.image),
    prediction: planes.prediction.slice(),
    reference: planes.reference.slice(),
    referenceVoxels: result.reference_voxels,
    predictedVoxels: result.predicted_voxels,
  });
}

export interface WriteEvaluationOptions {
  /** Write the evaluation JSON here. Defaults to not written. */
  json?: string;
  /** Write the markdown report (Table 2 layout) here. Defaults to not written. */
  markdown?: string;
  /** Write the figures into this folder (see writeEvaluationFigures). Defaults to none. */
  figures?: string;
}

/**
 * Writes the requested outputs, all or none (the figures are drawn first, then every file
 * is written under a temporary name and renamed into place), and returns their paths.
 */
export async function writeEvaluation(run: EvaluationRun, options: WriteEvaluationOptions = {}): Promise<string[]> {
  const files: PendingFile[] = [];
  const text = (path: string, content: string): PendingFile => ({ path, write: (tmp) => writeFile(tmp, content) });
  if (options.json) files.push(text(options.json, evaluationToJson(run.evaluation)));
  if (options.markdown) files.push(text(options.markdown, evaluationMarkdown(run.evaluation)));
  if (options.figures) files.push(...evaluationFigureFiles(run.evaluation, run.figureSlices, options.figures));
  await writeFilesAtomic(files);
  return files.map((f) => f.path);
}
