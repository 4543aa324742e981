/**
 * Can this lung mask carry a severity grade? Two questions, checked on every run:
 *
 * - coverage: are both lungs in view from apex to base? A lung that reaches the first or
 *   last slice, or the edge of the field of view, is cut off there (`partial`); a single
 *   image (PNG/JPEG, one DICOM slice) shows part of the lungs by definition; no lung
 *   voxel at all is `none`.
 * - plausibility: both sides present, the total volume within the adult range (below it
 *   only when the lungs are wholly in view), the lungs inside the body.
 *
 * `assessable` says the mask can be trusted for what is in view (percentages "of the lung
 * in view"); a severity grade needs `assessable` and `complete` coverage as well.
 */
import { Type } from '@sinclair/typebox';
import { literals, type Static } from '../util/schema.js';
import { voxelVolumeMl, type LabelMap, type Volume } from '../volume/volume.js';
import { readLps } from './anatomy.js';
import { bodyMaskR231 } from './r231-preprocess.js';

export const LUNG_COVERAGES = ['complete', 'partial', 'none'] as const;
export type LungCoverage = (typeof LUNG_COVERAGES)[number];

/** The quality block of report.json. */
export const LungQualitySchema = Type.Object({
  /** The lung mask is plausible: its numbers mean something for the lung in view. */
  assessable: Type.Boolean(),
  lungCoverage: literals(LUNG_COVERAGES),
  /** Why coverage is not complete or the mask not assessable, in words. */
  warnings: Type.Array(Type.String()),
});
export type LungQuality = Static<typeof LungQualitySchema>;

/**
 * The adult range of total lung volume on CT, mL. Below: a small adult's residual volume
 * (the least air the lungs ever hold, about 1.2–1.5 L); above: the largest total lung
 * capacities, hyperinflation included (TLC upper limits of normal reach about 9 L in
 * tall men). Sources: Stocks & Quanjer, Reference values for residual volume, functional
 * residual capacity and total lung capacity, Eur Respir J 1995;8:492–506; Hall et al.,
 * GLI 2021 reference equations for static lung volumes, Eur Respir J 2021;57:2000289.
 * A child's scan falls below it.
 */
export const ADULT_LUNG_VOLUME_ML: readonly [number, number] = [1500, 9000];
/** A side with less than this share of the other side's voxels is taken as missing. */
export const MIN_SIDE_SHARE = 0.1;
/** More than this share of lung voxels outside the body is implausible. */
export const MAX_OUTSIDE_BODY_SHARE = 0.02;
/** Values at or below this are outside the reconstructed field of view (scanners pad with −2048 or −3024). */
const OUTSIDE_FOV_HU = -1500;
/** The body check looks at this many slices at most (spread over the lungs). */
const BODY_CHECK_SLICES = 24;

export interface LungQualityOptions {
  /** The input is an image file (PNG/JPEG): no voxel size, no Hounsfield units, not checked against the body. Defaults to false. */
  imageFile?: boolean;
  /** The CT is in Hounsfield units. Defaults to true; a volume in other units (forced through) is not assessable. */
  isHu?: boolean;
  /** The voxel size is known (the volume range is checked only then). Defaults to true for volumes, false for image files. */
  spacingKnown?: boolean;
}

/** The quality block of a lung mask (1 = right, 2 = left, on `ct`'s grid). */
export function lungQuality(ct: Volume, lungs: LabelMap, options: LungQualityOptions = {}): LungQuality {
  const imageFile = options.imageFile ?? false;
  const l = readLps(lungs).volume;
  const [nx, ny, nz] = l.dims;
  const plane = nx * ny;
  const { side, perSlice } = lungCounts(l);
  const total = side[1]! + side[2]!;
  if (total === 0) return { assessable: false, lungCoverage: 'none', warnings: ['no lungs in view: no severity grade can be given'] };

  const warnings: string[] = [];
  let partial = false;
  let implausible = false;
  // Coverage.
  if (imageFile || nz === 1) {
    partial = true;
    warnings.push('a single slice shows part of the lungs only: percentages are of the lung in this slice, and no severity grade is given');
  } else {
    // LPS: z grows towards the head, so slice 0 is the lowest.
    if (perSlice[nz - 1]) {
      partial = true;
      warnings.push('the lungs reach the top slice: the apices are cut off');
    }
    if (perSlice[0]) {
      partial = true;
      warnings.push('the lungs reach the bottom slice: the bases are cut off');
    }
  }
  const c = imageFile ? undefined : readLps(ct).volume;
  if (c && touchesFieldOfView(c, l, perSlice)) {
    partial = true;
    warnings.push('the lungs reach the edge of the field of view: part of them is cut off');
  }
  // Plausibility.
  for (const [s, name, other] of [[1, 'right', 'left'], [2, 'left', 'right']] as const) {
    if (side[s]! < MIN_SIDE_SHARE * side[3 - s]!) {
      implausible = true;
      warnings.push(`the ${name} lung is missing or far smaller than the ${other} (${side[s]} against ${side[3 - s]} voxels): pneumonectomy, collapse, or a failed lung mask`);
    }
  }
  if (c) {
    const ml = total * voxelVolumeMl(l);
    const [lo, hi] = ADULT_LUNG_VOLUME_ML;
    if (!(options.spacingKnown ?? true)) {
      // No voxel size: no volume to check.
    } else if (ml > hi) {
      implausible = true;
      warnings.push(`the lungs measure ${(ml / 1000).toFixed(2)} L, above the adult range (${lo / 1000}–${hi / 1000} L): the lung mask holds more than lung`);
    } else if (ml < lo && !partial) {
      implausible = true;
      warnings.push(`the lungs measure ${(ml / 1000).toFixed(2)} L, below the adult range (${lo / 1000}–${hi / 1000} L): a child, or a lung mask that missed lung`);
    }
    if (options.isHu ?? true) {
      const outside = outsideBodyShare(c, l, perSlice);
      if (outside > MAX_OUTSIDE_BODY_SHARE) {
        implausible = true;
        warnings.push(`${(100 * outside).toFixed(1)} % of the lung mask lies outside the body`);
      }
    } else {
      implausible = true;
      warnings.push('the values are not Hounsfield units, so the lung mask could not be checked against the anatomy');
    }
  }
  return { assessable: !implausible, lungCoverage: partial ? 'partial' : 'complete', warnings };
}

/** Right (index 1) and left (2) lung voxels, and lung voxels per slice. */
function lungCounts(l: LabelMap): { side: number[]; perSlice: Int32Array } {
  const [nx, ny, nz] = l.dims;
  const plane = nx * ny;
  const d = l.data;
  let right = 0, left = 0;
  const perSlice = new Int32Array(nz);
  for (let z = 0; z < nz; z++) {
    let n = 0;
    for (let i = z * plane, e = i + plane; i < e; i++) {
      const v = d[i]!;
      if (v === 1) right++;
      else if (v === 2) left++;
      else continue;
      n++;
    }
    perSlice[z] = n;
  }
  return { side: [0, right, left], perSlice };
}

/** Whether a lung voxel lies on the grid's in-plane border or next to a voxel outside the reconstructed field of view. */
function touchesFieldOfView(ct: Volume, l: LabelMap, perSlice: Int32Array): boolean {
  const [nx, ny, nz] = l.dims;
  const d = l.data, c = ct.data;
  for (let z = 0; z < nz; z++) {
    if (!perSlice[z]) continue;
    for (let y = 0, i = z * nx * ny; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (!d[i]) continue;
        if (x === 0 || y === 0 || x === nx - 1 || y === ny - 1) return true;
        if (c[i - 1]! <= OUTSIDE_FOV_HU || c[i + 1]! <= OUTSIDE_FOV_HU || c[i - nx]! <= OUTSIDE_FOV_HU || c[i + nx]! <= OUTSIDE_FOV_HU) return true;
      }
    }
  }
  return false;
}

/** Share of lung voxels outside lungmask's body mask, on up to {@link BODY_CHECK_SLICES} slices spread over the lungs. */
function outsideBodyShare(ct: Volume, l: LabelMap, perSlice: Int32Array): number {
  const [nx, ny, nz] = l.dims;
  const plane = nx * ny;
  const withLung: number[] = [];
  for (let z = 0; z < nz; z++) if (perSlice[z]) withLung.push(z);
  const step = Math.max(1, Math.ceil(withLung.length / BODY_CHECK_SLICES));
  let lung = 0, outside = 0;
  for (let k = 0; k < withLung.length; k += step) {
    const o = withLung[k]! * plane;
    const body = bodyMaskR231(ct.data.subarray(o, o + plane), nx, ny);
    lung += perSlice[withLung[k]!]!;
    for (let i = 0; i < plane; i++) if (l.data[o + i] && !body[i]) outside++;
  }
  return lung ? outside / lung : 0;
}
