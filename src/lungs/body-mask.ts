/**
 * Lungs lie inside the body: predictions outside it (air around the patient, the
 * table, the corners outside a circular field of view) are removed with lungmask's own
 * per-slice body mask. Input not in Hounsfield units (8-bit slice exports) is first
 * mapped linearly so that its 1st/99th percentiles sit at lungmask's clip range.
 */
import { createVolume, type LabelMap, type Volume } from '../volume/volume.js';
import { asLps, checkHu, fromLps, percentiles } from '../volume/index.js';
import { bodyMaskR231, R231_HU_MAX, R231_HU_MIN } from './r231-preprocess.js';

export interface RestrictToBodyOptions {
  /** Whether `ct` is in Hounsfield units, when the caller has checked. Defaults to `checkHu(ct).isHu`. */
  isHu?: boolean;
}

/** `mask` with every voxel outside the body (per axial slice of `ct`) set to 0. */
export function restrictToBody(mask: LabelMap, ct: Volume, options: RestrictToBodyOptions = {}): LabelMap {
  const { volume: lps, transform } = asLps(ct);
  const m = asLps(mask).volume;
  const [nx, ny, nz] = lps.dims;
  const plane = nx * ny;
  const isHu = options.isHu ?? checkHu(ct).isHu;
  const [lo, hi] = isHu ? [R231_HU_MIN, R231_HU_MAX] : (percentiles(lps.data, [1, 99]) as [number, number]);
  const scale = hi > lo ? (R231_HU_MAX - R231_HU_MIN) / (hi - lo) : 0;
  const out = new Uint8Array(m.data.length);
  const slice = new Float32Array(plane);
  for (let z = 0; z < nz; z++) {
    let any = false;
    for (let i = 0; i < plane; i++) if (m.data[z * plane + i]) any = true;
    if (!any) continue;
    for (let i = 0; i < plane; i++) {
      const v = lps.data[z * plane + i]!;
      slice[i] = Math.min(R231_HU_MAX, Math.max(R231_HU_MIN, R231_HU_MIN + (v - lo) * scale));
    }
    const body = bodyMaskR231(slice, nx, ny);
    for (let i = 0; i < plane; i++) if (body[i]) out[z * plane + i] = m.data[z * plane + i]!;
  }
  return fromLps(createVolume(out, lps.dims, lps), transform) as LabelMap;
}
