/**
 * The per-case work of build-db, run in a worker thread (or inline): preprocess one
 * loaded case and write its 3D files, its 2D slices and, when asked, its Figure 2.
 * Every file goes through an atomic writer (temp name, then rename); a file-system error
 * names the file it was writing (a full disk's ENOSPC on write carries no path of its own).
 */
import { join } from 'node:path';
import { writeVolume } from '../io/index.js';
import { writePng } from '../io/raster.js';
import { saveFigure } from '../figures/index.js';
import { ADAPTERS, countNonzero, type LoadedCase } from '../datasets/index.js';
import { preprocessCase, preprocessSlice, toGreyBytes, toMaskBytes } from '../preprocess/index.js';
import type { Vec3, Volume } from '../volume/volume.js';
import { geometryOf } from '../volume/volume.js';
import { explainIoErrors } from '../util/output-target.js';
import { digestFile, type FileDigest } from './checksum.js';
import { preprocessingFigure } from './figures.js';
import { caseOutputs, type CaseRecord, type Slice2dRecord } from './manifest.js';

/** The build options a worker needs. */
export interface JobSettings {
  /** Database folder. */
  out: string;
  spacingMm: Vec3;
  dims: Vec3;
  lowPercentile: number;
  highPercentile: number;
  sliceSize: number;
}

/** What processing a case produced: the record fields that come from its pixels. */
export type BuiltOutputs = Pick<
  CaseRecord,
  'original' | 'isHu' | 'huReason' | 'lungSides' | 'lesionVoxels' | 'lungVoxels' | 'crop' | 'normalization' | 'slices2d' | 'warnings' | 'buildMs'
> & { files3d?: CaseRecord['files3d']; outputs: Record<string, FileDigest>; resizeScale?: number; figure?: string; timingsMs: Record<string, number> };

export const DIR_3D = '3d';
export const DIR_2D_IMAGES = join('2d', 'images');
export const DIR_2D_LESIONS = join('2d', 'lesions');
export const DIR_2D_LUNGS = join('2d', 'lungs');
export const DIR_FIGURES = 'figures';
export const DIR_CASES = 'cases';

/** Relative path of a figure for `caseId`. */
export function figurePath(caseId: string): string {
  return join(DIR_FIGURES, `preprocessing-${caseId}.png`);
}

/** Size and sha256 of each output, read back from the disk: what a rebuild checks them against. */
async function digestOutputs(out: string, record: Pick<CaseRecord, 'files3d' | 'slices2d'>): Promise<Record<string, FileDigest>> {
  const digests: Record<string, FileDigest> = {};
  for (const f of caseOutputs(record)) digests[f] = await explainIoErrors(join(out, f), () => digestFile(join(out, f)));
  return digests;
}

async function writeSlice2d(out: string, name: string, width: number, height: number, image: Uint8Array, lesion: Uint8Array, lung: Uint8Array | undefined, z: number): Promise<Slice2dRecord> {
  const rec: Slice2dRecord = { image: join(DIR_2D_IMAGES, `${name}.png`), lesion: join(DIR_2D_LESIONS, `${name}.png`), z };
  const png = (file: string, data: Uint8Array) => explainIoErrors(join(out, file), () => writePng(join(out, file), { width, height, channels: 1, data }));
  await png(rec.image, image);
  await png(rec.lesion, lesion);
  if (lung) {
    rec.lung = join(DIR_2D_LUNGS, `${name}.png`);
    await png(rec.lung, lung);
  }
  return rec;
}

/** 3D case: preprocess, write `3d/<caseId>/*.nrrd` and every lesion slice to `2d/` (unless its source's slices are in the 2D database already). */
export async function buildVolumeCase(caseId: string, loaded: LoadedCase, settings: JobSettings, options: { figure?: boolean } = {}): Promise<BuiltOutputs> {
  const t0 = performance.now();
  const masks = { lesionMask: loaded.lesionMask, ...(loaded.lungMask ? { lungMask: loaded.lungMask } : {}), ...(loaded.lungSides ? { lungSides: loaded.lungSides } : {}) };
  const prep = preprocessCase(loaded.ct, masks, {
    spacingMm: settings.spacingMm,
    dims: settings.dims,
    lowPercentile: settings.lowPercentile,
    highPercentile: settings.highPercentile,
    isHu: loaded.isHu,
    // The HU check already took p1/p99 and the minimum: reuse them for the method's 1/99 normalisation.
    ...(loaded.ctStats && settings.lowPercentile === 1 && settings.highPercentile === 99
      ? { intensity: { min: loaded.ctStats.min, low: loaded.ctStats.p1, high: loaded.ctStats.p99 } }
      : {}),
  });
  const t1 = performance.now();
  const dir = join(DIR_3D, caseId);
  const files3d: NonNullable<CaseRecord['files3d']> = { image: join(dir, 'image.nrrd'), lesion: join(dir, 'lesion.nrrd') };
  const nrrd = (file: string, vol: Volume) => explainIoErrors(join(settings.out, file), () => writeVolume(join(settings.out, file), vol));
  await nrrd(files3d.image, prep.image);
  await nrrd(files3d.lesion, prep.lesionMask!);
  if (prep.lungMask) {
    files3d.lung = join(dir, 'lung.nrrd');
    await nrrd(files3d.lung, prep.lungMask);
  }
  if (prep.lungSides) {
    files3d.lungSides = join(dir, 'lung-sides.nrrd');
    await nrrd(files3d.lungSides, prep.lungSides);
  }
  const t2 = performance.now();
  const [nx, ny, nz] = prep.image.dims;
  const n = nx * ny;
  const slices2d: Slice2dRecord[] = [];
  const lesion = prep.lesionMask!.data;
  const no2d = ADAPTERS[loaded.ref.source].no2dSlices !== undefined;
  for (let z = 0; z < (no2d ? 0 : nz); z++) {
    const lesionSlice = lesion.subarray(z * n, (z + 1) * n);
    if (countNonzero(lesionSlice) === 0) continue;
    const name = `${caseId}_z${String(z).padStart(3, '0')}`;
    const lung = prep.lungMask ? toMaskBytes(prep.lungMask.data.subarray(z * n, (z + 1) * n)) : undefined;
    slices2d.push(await writeSlice2d(settings.out, name, nx, ny, toGreyBytes(prep.image.data.subarray(z * n, (z + 1) * n)), toMaskBytes(lesionSlice), lung, z));
  }
  const t3 = performance.now();
  const outputs = await digestOutputs(settings.out, { files3d, slices2d });
  const t4 = performance.now();
  const built: BuiltOutputs = {
    original: geometryOf(loaded.ct),
    isHu: loaded.isHu,
    huReason: loaded.huReason,
    lungSides: prep.lungSides !== undefined,
    lesionVoxels: countNonzero(lesion),
    lungVoxels: prep.lungMask ? countNonzero(prep.lungMask.data) : null,
    crop: { sourceGeometry: geometryOf(prep.box.sourceGeometry), offset: [...prep.box.offset] as Vec3, outputDims: [...prep.box.outputDims] as Vec3 },
    normalization: { lowValue: prep.stats.lowValue, highValue: prep.stats.highValue, padValue: prep.stats.padValue },
    files3d,
    slices2d,
    outputs,
    warnings: [...loaded.warnings],
    buildMs: 0,
    timingsMs: { ...prep.stats.timingsMs, preprocess: t1 - t0, write3d: t2 - t1, write2d: t3 - t2, digest: t4 - t3 },
  };
  const originalLesion = countNonzero(loaded.lesionMask.data);
  if (originalLesion > 0 && built.lesionVoxels === 0) built.warnings.push(`no lesion voxel survives resampling and cropping (lesion smaller than a ${settings.spacingMm.join('×')} mm voxel, or outside the ${settings.dims.join('×')} crop): the case has no ${no2d ? 'lesion in 3D' : '2D slices'}`);
  if (options.figure) {
    built.figure = figurePath(caseId);
    const figure = join(settings.out, built.figure);
    await explainIoErrors(figure, () => saveFigure(figure, preprocessingFigure(caseId, loaded.ct, loaded.lesionMask, prep, loaded.isHu)));
  }
  built.buildMs = performance.now() - t0;
  return built;
}

/** 2D-only case: pad to square, resize, normalise; one slice to `2d/` if it has lesion. */
export async function buildSliceCase(caseId: string, loaded: LoadedCase, settings: JobSettings): Promise<BuiltOutputs> {
  const t0 = performance.now();
  const masks = { lesionMask: loaded.lesionMask, ...(loaded.lungMask ? { lungMask: loaded.lungMask } : {}) };
  const prep = preprocessSlice(loaded.ct, masks, { size: settings.sliceSize, lowPercentile: settings.lowPercentile, highPercentile: settings.highPercentile });
  const lesionVoxels = countNonzero(prep.lesionMask!.data);
  const warnings = [...loaded.warnings];
  const slices2d: Slice2dRecord[] = [];
  if (lesionVoxels > 0) {
    const size = settings.sliceSize;
    slices2d.push(await writeSlice2d(settings.out, caseId, size, size, toGreyBytes(prep.image.data), toMaskBytes(prep.lesionMask!.data), prep.lungMask ? toMaskBytes(prep.lungMask.data) : undefined, 0));
  } else {
    warnings.push('no lesion after harmonisation (e.g. only pleural effusion): not in the 2D database');
  }
  const outputs = await digestOutputs(settings.out, { slices2d });
  const buildMs = performance.now() - t0;
  return {
    original: geometryOf(loaded.ct),
    isHu: loaded.isHu,
    huReason: loaded.huReason,
    lungSides: false,
    lesionVoxels,
    lungVoxels: prep.lungMask ? countNonzero(prep.lungMask.data) : null,
    crop: { sourceGeometry: geometryOf(prep.squareBox.sourceGeometry), offset: [...prep.squareBox.offset] as Vec3, outputDims: [...prep.squareBox.outputDims] as Vec3 },
    resizeScale: prep.scale,
    normalization: { lowValue: prep.lowValue, highValue: prep.highValue, padValue: prep.lowValue },
    slices2d,
    outputs,
    warnings,
    buildMs,
    timingsMs: { total: buildMs },
  };
}
