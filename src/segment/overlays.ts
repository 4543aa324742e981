/**
 * Pictures of a segmentation: axial slices with the right lung (red) and left lung
 * (green) outlined and lesions filled, as the method's Figure 1: for HU input in the two
 * colours of the report's clinical pictures, ground glass yellow and consolidation purple
 * (src/clinical `lesionTypeMap`, the one classifier), else in one colour (orange). Slices
 * are shown in radiological convention (patient's right on the image's left, anterior
 * up), which is the LPS-reoriented array as stored.
 */
import { createVolume, type LabelMap, type Volume } from '../volume/volume.js';
import { asLps } from '../volume/index.js';
import { ctSliceToRgb, overlayLabels, panel, grid, scaleNearest, resizeImage, stack, LUNG_LABEL_COLORS, LUNG_WINDOW_HU, type RgbImage } from '../figures/index.js';
import { lesionTypeColors, lesionTypeMap, levelKey } from '../clinical/index.js';

/** Opacity of the lesion fill over the CT. */
export const LESION_ALPHA = 0.55;

export interface OverlayOptions {
  /** How many slices, at most. Defaults to 3. */
  count?: number;
  /**
   * HU input: lesion voxels from this HU up are consolidation, below it ground glass, each
   * in its colour (the report's `clinical.density.consolidationFrom`). Defaults to none: the
   * lesion in one colour, as for images without HU.
   */
  consolidationFrom?: number;
}

export interface OverlaySlice {
  /** z index in the LPS-reoriented volume. */
  z: number;
  image: RgbImage;
  /** Why this slice was chosen. */
  caption: string;
}

/**
 * Picks up to `count` representative axial slices: the one with the most lesion, then
 * slices spread evenly over the lungs' extent, and draws each. Without `lesions` (a lung
 * segmentation alone) the lungs are filled instead of outlined, as in the method's Figure 1.
 */
export function overlaySlices(ct: Volume, lungs: LabelMap, lesions: LabelMap | undefined, isHu: boolean, options: OverlayOptions = {}): OverlaySlice[] {
  const count = options.count ?? 3;
  const types = isHu && options.consolidationFrom !== undefined;
  const colors = lesionTypeColors(types);
  // Volumes already in LPS order (the segment pipeline's) are read in place.
  const c = asLps(ct).volume;
  const l = asLps(lungs).volume as LabelMap;
  const s = asLps(lesions ?? createVolume(new Uint8Array(lungs.data.length), lungs.dims, lungs)).volume as LabelMap;
  const [nx, ny, nz] = c.dims;
  const plane = nx * ny;
  const lungArea = new Int32Array(nz);
  const lesionArea = new Int32Array(nz);
  for (let i = 0; i < l.data.length; i++) {
    const z = Math.floor(i / plane);
    if (l.data[i]) lungArea[z]!++;
    if (s.data[i] && l.data[i]) lesionArea[z]!++;
  }
  const withLung = [...lungArea.keys()].filter((z) => lungArea[z]! > 0);
  const chosen: { z: number; caption: string }[] = [];
  // The most lesion inside the lungs, on a slice through the lungs (lesion voxels outside them, e.g. in the stomach, never count).
  const maxLesion = withLung.reduce((best, z) => (best < 0 || lesionArea[z]! > lesionArea[best]! ? z : best), -1);
  if (maxLesion >= 0 && lesionArea[maxLesion]! > 0) chosen.push({ z: maxLesion, caption: 'most lesion' });
  for (let k = 1; chosen.length < Math.min(count, withLung.length) && k <= count; k++) {
    const z = withLung[Math.floor((k * withLung.length) / (count + 1))]!;
    if (!chosen.some((ch) => ch.z === z)) chosen.push({ z, caption: 'lung level' });
  }
  if (chosen.length === 0) chosen.push({ z: Math.floor(nz / 2), caption: 'middle slice, no lungs in view' });
  chosen.sort((a, b) => b.z - a.z);
  // Square pixels on screen: stretch rows when the in-plane spacing is anisotropic.
  const aspect = c.spacingMm[1] / c.spacingMm[0];
  return chosen.map(({ z, caption }) => {
    const slice = c.data.subarray(z * plane, (z + 1) * plane) as Float32Array | Int16Array | Uint8Array;
    let img = ctSliceToRgb(slice, nx, ny, { window: isHu ? LUNG_WINDOW_HU : 'auto' });
    overlayLabels(img, l.data.subarray(z * plane, (z + 1) * plane), LUNG_LABEL_COLORS, { alpha: lesions ? 0 : 0.35, outline: true });
    if (lesions) {
      // The lesion inside the lungs by type (one class without HU), on this slice.
      const cut = <T extends Volume>(v: T) => createVolume(v.data.subarray(z * plane, (z + 1) * plane), [nx, ny, 1], v) as T;
      const classes = lesionTypeMap(cut(c), cut(l), cut(s), types, options.consolidationFrom);
      overlayLabels(img, classes.data, colors, { alpha: LESION_ALPHA });
    }
    if (Math.abs(aspect - 1) > 0.01) img = resizeImage(img, nx, Math.round(ny * aspect), { interpolation: 'nearest' });
    if (img.width < 384) img = scaleNearest(img, Math.ceil(384 / img.width));
    const pct = lungArea[z]! > 0 ? ((100 * lesionArea[z]!) / lungArea[z]!).toFixed(1) : '0.0';
    const title = lungArea[z] === 0 ? `slice ${z + 1}/${nz}: no lungs in view` : lesions ? `slice ${z + 1}/${nz} (${caption}): ${pct}% of lung area affected` : `slice ${z + 1}/${nz}: right lung red, left green`;
    return { z, caption, image: panel(img, title) };
  });
}

/**
 * All overlays side by side in one picture; with `key`, the colour key below them (the
 * clinical pictures' own, `levelKey`): the lesion's two types for HU input (`key.types`), one
 * lesion colour otherwise, and the lesion types said to need HU.
 */
export function overlaySheet(slices: OverlaySlice[], key?: { types: boolean }): RgbImage {
  const sheet = grid(slices.map((s) => s.image), { columns: slices.length, gap: 6 });
  return key ? stack([sheet, levelKey(key.types, sheet.width)], { gap: 0 }) : sheet;
}

