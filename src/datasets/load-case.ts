/**
 * Reading one case's files (image, lesion mask, optional lung mask), checking that the
 * masks lie on the image's grid, and harmonising the labels. Shared by every adapter.
 */
import { basename } from 'node:path';
import { readVolume } from '../io/index.js';
import { checkHu, getSlice } from '../volume/index.js';
import { createVolume, type LabelMap, type Volume, type VolumeGeometry } from '../volume/volume.js';
import { CovsegError } from '../util/errors.js';
import { isFile } from './files.js';
import { harmoniseLesion, harmoniseLung, type LesionLabels, type LungLabels } from './harmonise.js';
import type { CaseRef, LoadedCase } from './types.js';

/** How a source stores its labels. */
export interface CaseEncoding {
  /** The lesion mask's encoding. */
  lesionLabels: LesionLabels;
  /** The lung mask's encoding. Defaults to 'labels'. */
  lungEncoding?: LungLabels;
  /**
   * Values of the lung file that are not lung (Zenodo's combined lung-and-infection mask
   * uses 3 for infection); they are set to 0 before the lung is harmonised. Defaults to none.
   */
  lungFileNonLungValues?: number[];
  /**
   * Whether the CT is known not to be in Hounsfield units whatever its values say
   * (8-bit pictures). Defaults to false: decided by `checkHu`.
   */
  knownNotHu?: string;
}

/**
 * Reads a file the adapter expects, turning "does not exist" into a message that says
 * which part of the case is missing (the reader's own message covers unreadable files).
 */
export async function readCaseFile(path: string, role: string): Promise<Volume> {
  if (!(await isFile(path))) {
    throw new CovsegError(`missing ${role}: the dataset layout needs this file next to the case's other files; restore it or leave the case out`, { file: path });
  }
  return readVolume(path);
}

/**
 * Half a voxel of origin offset and 1% of spacing are what rounding in headers written by
 * different tools produces; beyond that the mask is on another grid and would be
 * silently misaligned, so the case fails.
 */
export function compareGrids(image: VolumeGeometry, mask: VolumeGeometry, maskFile: string, imageFile: string): string[] {
  const name = basename(maskFile);
  const where = `${name} vs ${basename(imageFile)}`;
  if (image.dims.some((d, i) => d !== mask.dims[i])) {
    throw new CovsegError(`mask grid [${mask.dims.join('×')}] differs from its image's [${image.dims.join('×')}] (${basename(imageFile)}); the mask belongs to another scan or was cropped — pair it with the right image`, { file: maskFile });
  }
  const warnings: string[] = [];
  for (let a = 0; a < 3; a++) {
    const rel = Math.abs(mask.spacingMm[a]! - image.spacingMm[a]!) / image.spacingMm[a]!;
    if (rel > 0.01) {
      throw new CovsegError(`mask spacing [${mask.spacingMm.map((s) => s.toFixed(3)).join(', ')}] mm differs from its image's [${image.spacingMm.map((s) => s.toFixed(3)).join(', ')}] mm; fix the header or resample the mask onto the image`, { file: maskFile });
    }
  }
  const minSpacing = Math.min(...image.spacingMm);
  const shift = Math.hypot(mask.origin[0] - image.origin[0], mask.origin[1] - image.origin[1], mask.origin[2] - image.origin[2]);
  if (shift > minSpacing / 2) {
    throw new CovsegError(`mask origin is ${shift.toFixed(2)} mm away from its image's (more than half a voxel); fix the header or resample the mask onto the image`, { file: maskFile });
  }
  const dirDiff = Math.max(...mask.direction.map((v, k) => Math.abs(v - image.direction[k]!)));
  if (dirDiff > 1e-3) {
    throw new CovsegError(`mask orientation differs from its image's (direction cosines differ by ${dirDiff.toFixed(3)}); fix the header or resample the mask onto the image`, { file: maskFile });
  }
  if (shift > 1e-3 || image.spacingMm.some((s, a) => Math.abs(s - mask.spacingMm[a]!) > 1e-5)) {
    warnings.push(`${where}: header geometry differs by less than half a voxel (origin ${shift.toFixed(3)} mm); the mask was used on the image's grid`);
  }
  return warnings;
}

/** Reads and harmonises a case whose files are whole volumes (or single pictures). */
export async function loadCaseFiles(ref: CaseRef, encoding: CaseEncoding, read: (path: string, role: string) => Promise<Volume> = readCaseFile): Promise<LoadedCase> {
  const warnings: string[] = [];
  const pick = (v: Volume): Volume => (ref.sliceIndex === undefined ? v : getSlice(v, ref.sliceIndex));
  const imageFull = await read(ref.files.image, 'CT image');
  if (ref.sliceIndex !== undefined && (ref.sliceIndex < 0 || ref.sliceIndex >= imageFull.dims[2])) {
    throw new CovsegError(`slice ${ref.sliceIndex} does not exist (the file has ${imageFull.dims[2]} slices)`, { file: ref.files.image });
  }
  const lesionFull = await read(ref.files.lesion, 'lesion mask');
  warnings.push(...compareGrids(imageFull, lesionFull, ref.files.lesion, ref.files.image));
  const ct = pick(imageFull);
  const lesionMask = harmoniseLesion(pick(lesionFull), { labels: encoding.lesionLabels });
  let lungLabels: Volume | undefined;
  if (ref.files.lung !== undefined) {
    const lungFull = await read(ref.files.lung, 'lung mask');
    warnings.push(...compareGrids(imageFull, lungFull, ref.files.lung, ref.files.image));
    lungLabels = pick(lungFull);
    const drop = encoding.lungFileNonLungValues ?? [];
    if (drop.length > 0) {
      const data = new Uint8Array(lungLabels.data.length);
      for (let i = 0; i < data.length; i++) {
        const v = Math.round(lungLabels.data[i]!);
        data[i] = drop.includes(v) || v < 0 ? 0 : Math.min(v, 255);
      }
      lungLabels = createVolume(data, lungLabels.dims, lungLabels);
    }
  }
  const lung = harmoniseLung(lesionMask, lungLabels ? { lungLabels, encoding: encoding.lungEncoding ?? 'labels' } : {});
  let loaded: LoadedCase;
  if (encoding.knownNotHu !== undefined) {
    loaded = { ref, ct, lesionMask, isHu: false, huReason: encoding.knownNotHu, warnings };
  } else {
    const hu = checkHu(ct);
    loaded = { ref, ct, lesionMask, isHu: hu.isHu, huReason: hu.reason, ctStats: hu.stats, warnings };
  }
  if (lung) {
    loaded.lungMask = lung.lungMask;
    if (lung.lungSides) loaded.lungSides = lung.lungSides;
  }
  return loaded;
}

/** A label map's voxels as a fresh LabelMap (helper for adapters that combine files). */
export function asLabelMap(vol: Volume): LabelMap {
  const out = new Uint8Array(vol.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(vol.data[i]!)));
  return createVolume(out, vol.dims, vol);
}
