/**
 * The steps of `covseg segment` on a CT in memory that pipeline.ts runs in order: the
 * input checks, lesions inside the lungs, and the names the report gives the models.
 * No file or Node access here, so that the web page's browser mode runs this very code
 * (over onnxruntime-web) and gives the numbers `covseg segment` gives.
 */
import { createVolume, type LabelMap, type Volume } from '../volume/volume.js';
import { asLps, checkHu, type HuCheck } from '../volume/index.js';
import type { ImageMeta } from '../io/types.js';
import { isColourPicture } from '../io/raster-decode.js';
import type { SegmentationModel } from '../infer/segmentation-model.js';
import { predictSlicesFlipped, TTA_FLIPS, threshold } from '../infer/slice-inferer.js';
import { predictVolume3d } from '../infer/volume-inferer.js';
import { lungQuality, type LungQuality } from '../lungs/quality.js';
import type { AnatomyRemoved } from '../lungs/anatomy.js';
import { CovsegError } from '../util/errors.js';

/** What the input checks need to know about how the image was read (and the report tells of it). */
export type InputMeta = Pick<ImageMeta, 'format' | 'path' | 'warnings' | 'modality' | 'palette'> & Partial<Pick<ImageMeta, 'spacingKnown' | 'seriesDescription' | 'patientId' | 'studyDate'>>;

export interface InputCheck {
  /** The values look like Hounsfield units. */
  isHu: boolean;
  /** Why (or why not), in words. */
  huReason: string;
  /** The check itself, for the steps that would otherwise check again. */
  hu: HuCheck;
  /** The reader's warnings, plus what `force` let through. */
  warnings: string[];
  /** Whether the voxel size is known (the reader's `spacingKnown`; false for PNG/JPEG slices): volumes are reported only then. */
  spacingKnown: boolean;
}

export interface CheckInputOptions {
  /** Let input that fails a check through, with a warning. Defaults to false (refuse it). */
  force?: boolean;
}

/** Refuses input that is not a CT covseg can interpret; returns the warnings for what `force` let through. */
export function checkInput(ct: Volume, meta: InputMeta, options: CheckInputOptions = {}): InputCheck {
  const warnings = [...meta.warnings];
  const refuse = (why: string) => {
    if (!options.force) throw new CovsegError(`${why}; pass --force to segment it anyway`, { file: meta.path });
    warnings.push(`segmented despite: ${why} (--force)`);
  };
  if (meta.modality && meta.modality !== 'CT') refuse(`the DICOM modality is '${meta.modality}', not CT`);
  if (meta.palette) refuse('this is an indexed-colour PNG (a label mask?), not a CT slice');
  if (isColourPicture(meta)) refuse('this is a colour picture, not a greyscale CT slice');
  if (ct.dims[0] < 64 || ct.dims[1] < 64) refuse(`the image is only ${ct.dims[0]}×${ct.dims[1]} pixels, too small for a CT slice`);
  const isSlice = isImageFile(meta);
  const hu = checkHu(ct);
  if (!isSlice && !hu.isHu) refuse(`the values are not Hounsfield units (${hu.reason})`);
  if (isSlice) warnings.push('image file: the pixel size is unknown, so volumes are not reported and the percentages are of lung area on this slice');
  return { isHu: hu.isHu, huReason: hu.reason, hu, warnings, spacingKnown: meta.spacingKnown ?? !isSlice };
}

/** PNG or JPEG: no voxel size, no Hounsfield units, one slice. */
export function isImageFile(meta: Pick<InputMeta, 'format'>): boolean {
  return meta.format === 'png' || meta.format === 'jpeg';
}

/** The report's quality block for `lungs` (on `ct`'s grid), as the input was read; `anatomy`: what the lung model's anatomy rules removed, when told. */
export function qualityOf(ct: Volume, lungs: LabelMap, meta: Pick<InputMeta, 'format'>, input: Pick<InputCheck, 'isHu' | 'spacingKnown'>, anatomy?: AnatomyRemoved): LungQuality {
  return lungQuality(ct, lungs, { imageFile: isImageFile(meta), isHu: input.isHu, spacingKnown: input.spacingKnown, anatomy });
}

export interface FindLesionsOptions {
  /** Whether `ct` is in Hounsfield units (3D models preprocess by it). Defaults to true. */
  isHu?: boolean;
  /** Called with (done, total): slices for a 2D model, 0/1 then 1/1 for a 3D one. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Test-time flips (2D models): the mean of the model over the four mirrors of each slice,
   * and each mirror's own mask for the spread. Four times the lesion model's time. Defaults to false.
   */
  tta?: boolean;
}

export interface FoundLesions {
  /** 0/1 inside the lungs. */
  lesions: LabelMap;
  /** With `tta`: each mirror's own lesions (0/1, inside the lungs), for the spread of the figures. */
  members?: LabelMap[];
  /** The model's lesion probability (0–1, the mirrors' mean with `tta`), everywhere it ran: what `lesions` thresholds, for a confidence. */
  probability: Volume<Float32Array>;
}

/**
 * Lesions with `lesionModel`, kept inside `lungs` (affected lung is lung by definition),
 * on the grid `ct` and `lungs` share. A 2D model runs only on the slices with lung.
 */
export async function findLesions(ct: Volume, lungs: LabelMap, lesionModel: SegmentationModel, options: FindLesionsOptions = {}): Promise<LabelMap> {
  return (await findLesionsWithSpread(ct, lungs, lesionModel, { ...options, tta: false })).lesions;
}

/** {@link findLesions}, with each test-time mirror's own mask where `options.tta` asks for them. */
export async function findLesionsWithSpread(ct: Volume, lungs: LabelMap, lesionModel: SegmentationModel, options: FindLesionsOptions = {}): Promise<FoundLesions> {
  if (lesionModel.spec.task !== 'lesion') throw new CovsegError(`this is a '${lesionModel.spec.task}' model, not a lesion model`, { file: lesionModel.file });
  const progress = options.onProgress ?? (() => {});
  const level = lesionModel.spec.threshold;
  let prob: Volume<Float32Array>;
  let memberBits: Volume<Uint8Array> | undefined;
  if (lesionModel.spec.dims === 2) {
    // predictSlices numbers the slices of the LPS-ordered volume.
    const lps = asLps(lungs).volume;
    const plane = lps.dims[0] * lps.dims[1];
    const slices: number[] = [];
    for (let z = 0; z < lps.dims[2]; z++) if (lps.data.subarray(z * plane, (z + 1) * plane).some((v) => v !== 0)) slices.push(z);
    const flips = options.tta ? TTA_FLIPS : ([0] as const);
    const out = await predictSlicesFlipped(lesionModel, ct, { slices, onProgress: progress, flips, ...(options.tta ? { memberThreshold: level } : {}) });
    prob = out.probability;
    memberBits = out.members;
  } else {
    if (options.tta) throw new CovsegError('test-time flips are for 2D lesion models', { file: lesionModel.file });
    progress(0, 1);
    prob = await predictVolume3d(lesionModel, ct, { isHu: options.isHu ?? true });
    progress(1, 1);
  }
  const lesionData = threshold(prob, level).data;
  for (let i = 0; i < lesionData.length; i++) if (!lungs.data[i]) lesionData[i] = 0;
  const lesions = createVolume(lesionData, ct.dims, ct);
  if (!memberBits) return { lesions, probability: prob };
  const members = TTA_FLIPS.map((_, m) => {
    const data = new Uint8Array(lesionData.length);
    for (let i = 0; i < data.length; i++) data[i] = lungs.data[i] && (memberBits.data[i]! >> m) & 1 ? 1 : 0;
    return createVolume(data, ct.dims, ct) as LabelMap;
  });
  return { lesions, members, probability: prob };
}

/** A lesion model as the report names it. */
export function lesionModelName(model: SegmentationModel): string {
  return `${model.spec.dims}D lesion U-Net (${baseName(model.file)}, input ${model.spec.inputSize}, threshold ${model.spec.threshold})`;
}

/** Last part of a path or URL, as POSIX `basename` gives it (node:path is not available in the browser). */
function baseName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}
