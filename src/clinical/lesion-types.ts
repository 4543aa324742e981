/**
 * The lesion by type, the one classifier of ground glass and consolidation: the figures
 * count it (measure.ts, by the same −400 HU limit), the pictures draw it, segment writes it
 * as lesion-types.nii.gz and the web page colours it, in the service and in browser mode
 * (this file reaches no Node built-in, so the browser worker bundles it).
 */
import { createVolume, type LabelMap, type Volume } from '../volume/volume.js';
import { LCTA_BANDS } from './bands.js';

/** The lesion classes: 1 ground glass (or lesion, without HU), 2 consolidation. */
export const CLASS_GROUND_GLASS = 1;
export const CLASS_CONSOLIDATION = 2;

/**
 * The lesion by type on the masks' grid: 0 none, CLASS_GROUND_GLASS where the CT is below
 * `consolidationFrom` HU, CLASS_CONSOLIDATION from it (lesion inside the lungs only; without
 * HU every lesion voxel is CLASS_GROUND_GLASS, "lesion"). The split the figures count.
 */
export function lesionTypeMap(ct: Volume, lungs: LabelMap, lesions: LabelMap, isHu: boolean, consolidationFrom: number = LCTA_BANDS.infiltratedBelow): LabelMap {
  const n = lungs.data.length;
  const classes = new Uint8Array(n);
  const les = lesions.data;
  const lung = lungs.data;
  const hu = ct.data;
  const at = (i: number) => {
    if (les[i] && lung[i]) classes[i] = isHu && hu[i]! >= consolidationFrom ? CLASS_CONSOLIDATION : CLASS_GROUND_GLASS;
  };
  // Most of a scan is not lesion: skip its empty stretches eight voxels at a time, as two
  // 32-bit words (a float64 word would be faster to read, but −0 would hide a byte of 128).
  const words = les.byteOffset % 4 === 0 ? new Uint32Array(les.buffer, les.byteOffset, (n >>> 3) * 2) : new Uint32Array(0);
  for (let w = 0; w < words.length; w += 2) {
    if ((words[w]! | words[w + 1]!) === 0) continue;
    for (let i = 4 * w, e = i + 8; i < e; i++) at(i);
  }
  for (let i = 4 * words.length; i < n; i++) at(i);
  return createVolume(classes, lungs.dims, lungs);
}
