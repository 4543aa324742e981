/**
 * What `covseg info` reports about an image: format, grid, geometry, intensities, the HU
 * verdict and, for DICOM, which series was read. A plain JSON-able object, so the CLI and
 * the web API print the same thing.
 */
import type { Mat3, Vec3 } from '../volume/volume.js';
import { checkHu, type HuCheck } from './hu.js';
import { readImage, type ImageMeta, type ReadVolumeOptions } from './read.js';

export interface ImageInfo {
  path: string;
  format: ImageMeta['format'];
  /** Grid size [nx, ny, nz]. */
  dims: Vec3;
  spacingMm: Vec3;
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

/** Letters for the positive and negative LPS directions of world axes x, y, z. */
const TOWARD = [['L', 'R'], ['P', 'A'], ['S', 'I']] as const;

/**
 * Axis codes of a direction matrix: for each index axis, the patient direction it points to
 * most (nibabel's aff2axcodes convention), and the largest deviation from that direction.
 */
export function orientationOf(direction: Mat3): { code: string; obliqueDeg: number } {
  let code = '';
  let worst = 0;
  for (let j = 0; j < 3; j++) {
    const col = [direction[j]!, direction[3 + j]!, direction[6 + j]!];
    const norm = Math.hypot(col[0]!, col[1]!, col[2]!) || 1;
    let best = 0;
    for (let w = 1; w < 3; w++) if (Math.abs(col[w]!) > Math.abs(col[best]!)) best = w;
    code += TOWARD[best]![col[best]! >= 0 ? 0 : 1];
    const cos = Math.min(1, Math.abs(col[best]!) / norm);
    worst = Math.max(worst, (Math.acos(cos) * 180) / Math.PI);
  }
  return { code, obliqueDeg: Math.round(worst * 1000) / 1000 };
}

/** Reads `path` and summarises it (see ImageInfo). */
export async function imageInfo(path: string, options: ReadVolumeOptions = {}): Promise<ImageInfo> {
  const { volume, meta } = await readImage(path, options);
  const { code, obliqueDeg } = orientationOf(volume.direction);
  const info: ImageInfo = {
    path,
    format: meta.format,
    dims: volume.dims,
    spacingMm: volume.spacingMm,
    origin: volume.origin,
    direction: volume.direction,
    orientation: code,
    obliqueDeg,
    pixelType: meta.pixelType,
    rescaled: meta.rescaled,
    hu: checkHu(volume),
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
