/**
 * What `covseg info` reports about an image: format, grid, geometry, intensities, the HU
 * verdict and, for DICOM, which series was read. A plain JSON-able object, so the CLI and
 * the web API print the same thing.
 */
import { checkHu, huStats, orientationCode, type HuCheck, type Mat3, type Vec3, type Volume } from '../volume/index.js';
import { nonFiniteText, readImage, type ImageMeta, type NonFiniteCounts, type ReadVolumeOptions } from './read.js';

export interface ImageInfo {
  path: string;
  format: ImageMeta['format'];
  /** Grid size [nx, ny, nz]. */
  dims: Vec3;
  spacingMm: Vec3;
  /** The file states the voxel size; false: `spacingMm` holds 1 mm where it does not (see ImageMeta.spacingKnown). */
  spacingKnown: boolean;
  /** LPS mm of voxel (0, 0, 0). */
  origin: Vec3;
  /** Row-major 3×3, column j = LPS direction of index axis j. */
  direction: Mat3;
  /** Where the index axes point, e.g. 'LPS' (x → left, y → posterior, z → superior) or 'RAS'. */
  orientation: string;
  /** Largest angle (degrees) between an index axis and the patient axis it is named after; 0 for a straight grid. */
  obliqueDeg: number;
  pixelType: string;
  rescaled: boolean;
  palette?: boolean;
  /** NaN and ±Infinity voxels (other commands refuse a file that has any). */
  nonFinite: NonFiniteCounts;
  /** Over the finite voxels. */
  hu: HuCheck;
  /** DICOM only: the series read and what else the folder held. */
  dicom?: {
    seriesInstanceUid?: string;
    seriesDescription?: string;
    modality?: string;
    /** Slice files read. */
    files: number;
    skippedSeries: NonNullable<ImageMeta['skippedSeries']>;
    skippedFiles: number;
  };
  warnings: string[];
}

/** World axis (0 x, 1 y, 2 z) named by each orientation letter. */
const WORLD_AXIS: Record<string, number> = { L: 0, R: 0, P: 1, A: 1, S: 2, I: 2 };

/**
 * The orientation code of a direction matrix (volume's `orientationCode`: where each
 * index axis points, 'LPS' for identity) and the largest angle, in degrees, between an
 * index axis and the patient axis its letter names: 0 for a straight grid.
 */
export function orientationOf(direction: Mat3): { code: string; obliqueDeg: number } {
  const code = orientationCode(direction);
  let worst = 0;
  for (let j = 0; j < 3; j++) {
    const col = [direction[j]!, direction[3 + j]!, direction[6 + j]!];
    const cos = Math.min(1, Math.abs(col[WORLD_AXIS[code[j]!]!]!) / (Math.hypot(col[0]!, col[1]!, col[2]!) || 1));
    worst = Math.max(worst, (Math.acos(cos) * 180) / Math.PI);
  }
  return { code, obliqueDeg: Math.round(worst * 1000) / 1000 };
}

/** The HU check over the finite voxels only, so that a file with NaN can still be described. */
function finiteHu(volume: Volume, nonFinite: NonFiniteCounts): HuCheck {
  if (nonFinite.nan + nonFinite.infinite === 0) return checkHu(volume);
  const finite = new Uint8Array(volume.data.length);
  for (let i = 0; i < finite.length; i++) finite[i] = Number.isFinite(volume.data[i]!) ? 1 : 0;
  if (nonFinite.nan + nonFinite.infinite === finite.length) {
    return { isHu: false, reason: 'no voxel holds a finite value', stats: { min: NaN, max: NaN, p1: NaN, p99: NaN } };
  }
  const hu = checkHu(volume, { stats: huStats(volume, finite) });
  return { ...hu, reason: `${hu.reason} (over the finite voxels: ${nonFiniteText(nonFinite)})` };
}

/**
 * Reads `path` and summarises it (see ImageInfo). NaN and ±Infinity voxels are counted,
 * not refused (`finite: 'count'`): describing such a file is what tells the user why the
 * other commands refuse it.
 */
export async function imageInfo(path: string, options: ReadVolumeOptions = {}): Promise<ImageInfo> {
  const { volume, meta } = await readImage(path, { ...options, finite: 'count' });
  const nonFinite = meta.nonFinite ?? { nan: 0, infinite: 0 };
  const { code, obliqueDeg } = orientationOf(volume.direction);
  const info: ImageInfo = {
    path,
    format: meta.format,
    dims: volume.dims,
    spacingMm: volume.spacingMm,
    spacingKnown: meta.spacingKnown,
    origin: volume.origin,
    direction: volume.direction,
    orientation: code,
    obliqueDeg,
    pixelType: meta.pixelType,
    rescaled: meta.rescaled,
    nonFinite,
    hu: finiteHu(volume, nonFinite),
    warnings: meta.warnings,
  };
  if (meta.palette) info.palette = true;
  if (meta.format === 'dicom') {
    info.dicom = { files: meta.files.length, skippedSeries: meta.skippedSeries ?? [], skippedFiles: meta.skippedFiles ?? 0 };
    if (meta.seriesInstanceUid !== undefined) info.dicom.seriesInstanceUid = meta.seriesInstanceUid;
    if (meta.seriesDescription !== undefined) info.dicom.seriesDescription = meta.seriesDescription;
    if (meta.modality !== undefined) info.dicom.modality = meta.modality;
  }
  return info;
}
