/**
 * Pictures of the clinical figures: one picture of where the disease is (the six zones,
 * halves and periphery of both lungs, coloured by % affected), and axial slices with the
 * lesion in two colours, ground glass and consolidation, at chosen levels of the lungs.
 * Slices are shown in radiological convention (patient's right on the image's left,
 * anterior up), which is the LPS-reoriented array as stored.
 */
import {
  CONSOLIDATION, GROUND_GLASS, LESION, LUNG_LABEL_COLORS, LUNG_WINDOW_HU, TEXT, WHITE,
  createImage, ctSliceToRgb, drawText, fillRect, legendStrip, measureText, overlayLabels, panel, resizeImage, scaleNearest, strokeRect,
  type LegendItem, type Rgb, type RgbImage,
} from '../figures/index.js';
import { cropToBox } from '../volume/crop-pad.js';
import { reorientToLps } from '../volume/reorient.js';
import { createVolume, type LabelMap, type Vec3, type Volume } from '../volume/volume.js';
import { LCTA_BANDS } from './bands.js';
import { CLASS_CONSOLIDATION, CLASS_GROUND_GLASS, lesionTypeMap } from './lesion-types.js';
import type { ClinicalFigures, LungClinical, RegionName } from './measure.js';

/**
 * CT, lungs and lesions, with where the axial (LPS z) slices lie in their arrays: slices are
 * cut out and reoriented one at a time, so drawing three levels of a 512 × 512 × 300 scan
 * does not copy the scan.
 */
export interface SliceSource {
  ct: Volume;
  lungs: LabelMap;
  lesions: LabelMap;
  isHu: boolean;
  /** Lesion voxels from this HU up are consolidation (HU input only). */
  consolidationFrom: number;
  /** The array axis that runs along LPS z, and whether it runs downwards. */
  zAxis: number;
  zFlipped: boolean;
  /** Number of axial slices. */
  nz: number;
  /** Per axial slice (LPS z index): 1 where it holds lung. */
  lungSlices: Uint8Array;
  /** Width and height (mm) of an axial slice as drawn (LPS x and y). */
  sliceMm: [number, number];
}

/** One axial slice (LPS z) of a {@link SliceSource}, reoriented to LPS: dims [nx, ny, 1]. */
export interface LevelSlice {
  ct: Volume;
  lungs: LabelMap;
  /** 0, CLASS_GROUND_GLASS or CLASS_CONSOLIDATION (lesion inside the lungs only). */
  classes: LabelMap;
}

/** Wraps `ct` with its lungs and lesions for {@link drawLevel} and {@link lungLevels}. */
export function sliceSource(ct: Volume, lungs: LabelMap, lesions: LabelMap, isHu: boolean, consolidationFrom = LCTA_BANDS.infiltratedBelow): SliceSource {
  // Which array axis becomes LPS z: reorientToLps's own choice, asked of a 2 × 2 × 2 grid with the same direction.
  const { transform } = reorientToLps(createVolume(new Uint8Array(8), [2, 2, 2], { direction: ct.direction }));
  const [ax, ay, zAxis] = transform.axes;
  const nz = ct.dims[zAxis]!;
  const sliceMm: [number, number] = [ct.dims[ax]! * ct.spacingMm[ax]!, ct.dims[ay]! * ct.spacingMm[ay]!];
  return { ct, lungs, lesions, isHu, consolidationFrom, zAxis, zFlipped: transform.flips[2], nz, lungSlices: slicesWithLung(lungs, zAxis, transform.flips[2]), sliceMm };
}

/** Per LPS z: whether the slice holds lung. One pass over the scan, four voxels at a time where the rows allow. */
function slicesWithLung(lungs: LabelMap, zAxis: number, flipped: boolean): Uint8Array {
  const [nx, ny, nz] = lungs.dims;
  const has = new Uint8Array(lungs.dims[zAxis]!);
  const data = lungs.data;
  const words = nx % 4 === 0 && data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2) : undefined;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k);
      if (zAxis === 0) {
        for (let x = 0; x < nx; x++) if (data[row + x] !== 0) has[x] = 1;
        continue;
      }
      const at = zAxis === 1 ? j : k;
      if (has[at]) continue;
      if (words) {
        for (let w = row >>> 2, end = (row + nx) >>> 2; w < end; w++) {
          if (words[w] !== 0) {
            has[at] = 1;
            break;
          }
        }
      } else {
        for (let x = 0; x < nx; x++) {
          if (data[row + x] !== 0) {
            has[at] = 1;
            break;
          }
        }
      }
    }
  }
  return flipped ? has.reverse() : has;
}

/** Axial slice `z` (LPS z index, 0 = lowest) of `src`, reoriented to LPS. */
export function levelSlice(src: SliceSource, z: number): LevelSlice {
  const k = src.zFlipped ? src.nz - 1 - z : z;
  const lo = [0, 0, 0] as Vec3;
  const hi = [...src.ct.dims] as Vec3;
  lo[src.zAxis] = k;
  hi[src.zAxis] = k + 1;
  const cut = <T extends Volume>(v: T) => reorientToLps(cropToBox(v, lo, hi).volume).volume as T;
  const ct = cut(src.ct);
  const lungs = cut(src.lungs);
  const lesions = cut(src.lesions);
  return { ct, lungs, classes: lesionTypeMap(ct, lungs, lesions, src.isHu, src.consolidationFrom) };
}

/**
 * Axial levels (LPS z index) at `fractions` of the lungs' cranio-caudal extent, 0 the top
 * lung slice, 1 the bottom one: the same fraction is the same anatomical level in two
 * scans of one patient, whatever their slice spacing or field of view. Without lungs, the
 * grid's own extent.
 */
export function lungLevels(src: SliceSource, fractions: readonly number[]): number[] {
  const levels = [...src.lungSlices.keys()].filter((k) => src.lungSlices[k]);
  const bottom = levels.length ? levels[0]! : 0;
  const top = levels.length ? levels[levels.length - 1]! : src.nz - 1;
  // LPS z runs inferior → superior, so the top is the highest z.
  return fractions.map((f) => Math.round(top - Math.min(1, Math.max(0, f)) * (top - bottom)));
}

export interface DrawLevelOptions {
  /** Title over the slice. Defaults to 'slice z/n'. */
  title?: string;
  /** Upscale small slices to at least this width (px). Defaults to 384. Ignored with `mmPerPixel`. */
  minWidth?: number;
  /** Draw at this physical scale (nearest-neighbour), so that slices of different scans compare. Defaults to square pixels at the slice's own x spacing. */
  mmPerPixel?: number;
}

/** Axial slice `z` (LPS z index) of `src`: lungs outlined (right red, left green), ground glass and consolidation filled in their colours; `slice` when already cut out. */
export function drawLevel(src: SliceSource, z: number, options: DrawLevelOptions = {}, slice: LevelSlice = levelSlice(src, z)): RgbImage {
  const { ct, lungs, classes } = slice;
  const [nx, ny] = ct.dims;
  const raw = ct.data;
  const pixels = raw instanceof Float32Array || raw instanceof Float64Array || raw instanceof Int16Array || raw instanceof Uint8Array ? raw : Float32Array.from(raw);
  let img = ctSliceToRgb(pixels, nx, ny, { window: src.isHu ? LUNG_WINDOW_HU : 'auto' });
  overlayLabels(img, lungs.data, LUNG_LABEL_COLORS, { alpha: 0, outline: true });
  overlayLabels(img, classes.data, lesionTypeColors(src.isHu), { alpha: 0.6 });
  if (options.mmPerPixel) {
    const mm = options.mmPerPixel;
    img = resizeImage(img, Math.max(1, Math.round((nx * ct.spacingMm[0]) / mm)), Math.max(1, Math.round((ny * ct.spacingMm[1]) / mm)), { interpolation: 'nearest' });
  } else {
    // Square pixels on screen: stretch rows when the in-plane spacing is anisotropic.
    const aspect = ct.spacingMm[1] / ct.spacingMm[0];
    if (Math.abs(aspect - 1) > 0.01) img = resizeImage(img, nx, Math.round(ny * aspect), { interpolation: 'nearest' });
    const minWidth = options.minWidth ?? 384;
    if (img.width < minWidth) img = scaleNearest(img, Math.ceil(minWidth / img.width));
  }
  return panel(img, options.title ?? `slice ${z + 1}/${src.nz}`);
}

/** The colours of {@link lesionTypeMap}'s classes, for `overlayLabels`: ground glass and consolidation for HU input, one lesion colour without. */
export function lesionTypeColors(isHu: boolean): Record<number, Rgb> {
  return isHu ? { [CLASS_GROUND_GLASS]: GROUND_GLASS, [CLASS_CONSOLIDATION]: CONSOLIDATION } : { [CLASS_GROUND_GLASS]: LESION };
}

/** The colour key of {@link drawLevel}'s slices. */
export function levelKey(isHu: boolean, width?: number): RgbImage {
  const items: LegendItem[] = [
    { label: 'right lung', color: LUNG_LABEL_COLORS[1]! },
    { label: 'left lung', color: LUNG_LABEL_COLORS[2]! },
    ...(isHu
      ? [
          { label: `ground glass (lesion below ${LCTA_BANDS.infiltratedBelow} HU)`, color: GROUND_GLASS },
          { label: `consolidation (lesion from ${LCTA_BANDS.infiltratedBelow} HU)`, color: CONSOLIDATION },
        ]
      : [{ label: 'lesion (no HU: ground glass and consolidation not told apart)', color: LESION }]),
    { label: "radiological view: patient's right on the left", color: WHITE },
  ];
  // Narrow pictures get the small font, so that each item fits a row.
  return legendStrip(items, { width, scale: width !== undefined && width < 700 ? 1 : 2 });
}

// ---------------------------------------------------------------- distribution picture

/** White → lesion orange → dark red as the share affected goes 0 → 50 → 100 %. */
export function affectedColor(percent: number): Rgb {
  const t = Math.min(1, Math.max(0, percent / 100));
  const mix = (a: Rgb, b: Rgb, u: number): Rgb => [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * u)) as unknown as Rgb;
  return t <= 0.5 ? mix(WHITE, LESION, t / 0.5) : mix(LESION, [140, 20, 0], (t - 0.5) / 0.5);
}

const S = 2; // text scale
const LINE = 10 * S;

/**
 * One picture of where the disease is: per lung (right lung on the left, as on the
 * slices) its thirds as three stacked cells coloured by % affected with the zone score,
 * then ventral/dorsal and peripheral/central cells, then the lesion's ground glass and
 * consolidation as a bar; a colour scale at the bottom.
 */
export function distributionPicture(f: ClinicalFigures): RgbImage {
  const colW = 300;
  const labelW = 96;
  const pad = 16;
  const cellH = 64;
  const smallH = 52;
  const width = labelW + 2 * colW + 3 * pad;
  const height = pad + 2 * LINE + 12 + 3 * cellH + 8 + 2 * (smallH + 8) + 36 + LINE + 8 + 28 + LINE + 6 + LINE + pad;
  const img = createImage(width, height, WHITE);
  let y = pad;
  drawText(img, pad, y, 'Where the disease is: % of each part of the lung affected', { scale: S, color: TEXT });
  y += LINE + 8;
  const x0 = [labelW + pad, labelW + 2 * pad + colW];
  const lungsInOrder: ['right' | 'left', LungClinical][] = [['right', f.right], ['left', f.left]];
  const zoneScore = (lung: 'right' | 'left', zone: string) => (f.scores.zone.available ? f.scores.zone.zones.find((z) => z.lung === lung && z.zone === zone)?.score : undefined);
  lungsInOrder.forEach(([name, lung], c) => {
    drawText(img, x0[c]!, y, `${name} lung ${lung.lesion.percentOfLung.toFixed(1)}%`, { scale: S, color: TEXT });
  });
  y += LINE + 4;
  (['upper', 'middle', 'lower'] as const).forEach((zone) => {
    drawText(img, pad, y + cellH / 2 - 7, zone, { scale: S, color: TEXT });
    lungsInOrder.forEach(([name, lung], c) => {
      const score = zoneScore(name, zone);
      regionCell(img, x0[c]!, y, colW, cellH, lung, zone, score === undefined ? '' : `zone score ${score}`);
    });
    y += cellH;
  });
  y += 8;
  for (const [a, b, label] of [['ventral', 'dorsal', 'halves'], ['peripheral', 'central', 'depth']] as const) {
    drawText(img, pad, y + smallH / 2 - 7, label, { scale: S, color: TEXT });
    lungsInOrder.forEach(([, lung], c) => {
      regionCell(img, x0[c]!, y, colW / 2, smallH, lung, a, a);
      regionCell(img, x0[c]! + colW / 2, y, colW / 2, smallH, lung, b, b);
    });
    y += smallH + 8;
  }
  // Ground glass and consolidation: a bar as long as the lesion share, split by class.
  drawText(img, pad, y + 4, 'lesion', { scale: S, color: TEXT });
  lungsInOrder.forEach(([, lung], c) => {
    const x = x0[c]!;
    if (!lung.groundGlass || !lung.consolidation) {
      drawText(img, x, y + 4, 'split needs HU', { scale: S, color: TEXT });
      return;
    }
    const scale = colW / 100;
    const g = lung.groundGlass.percentOfLung;
    const k = lung.consolidation.percentOfLung;
    strokeRect(img, x, y, colW, 22, TEXT);
    fillRect(img, x + 1, y + 1, Math.round(g * scale), 20, GROUND_GLASS);
    fillRect(img, x + 1 + Math.round(g * scale), y + 1, Math.round(k * scale), 20, CONSOLIDATION);
    drawText(img, x, y + 28, `GGO ${g.toFixed(1)}% cons. ${k.toFixed(1)}%`, { scale: S, color: TEXT });
  });
  y += 28 + LINE + 8;
  // Colour scale.
  drawText(img, pad, y + 2, 'scale %', { scale: S, color: TEXT });
  const rampW = 2 * colW + pad;
  for (let i = 0; i < rampW; i++) fillRect(img, x0[0]! + i, y, 1, 18, affectedColor((100 * i) / (rampW - 1)));
  strokeRect(img, x0[0]!, y, rampW, 18, TEXT);
  for (const p of [0, 25, 50, 75, 100]) {
    const label = `${p}`;
    const tx = x0[0]! + Math.round((p / 100) * (rampW - 1)) - measureText(label, { scale: S }).width / 2;
    drawText(img, Math.min(Math.max(tx, x0[0]!), x0[0]! + rampW - measureText(label, { scale: S }).width), y + 22, label, { scale: S, color: TEXT });
  }
  y += 22 + LINE + 6;
  const total = f.scores.zone.available ? `zone score ${f.scores.zone.total}/24` : 'zone score: not available';
  drawText(img, pad, y, `${total} · both lungs ${f.total.lesion.percentOfLung.toFixed(1)}% affected`, { scale: S, color: TEXT });
  return img;
}

function regionCell(img: RgbImage, x: number, y: number, w: number, h: number, lung: LungClinical, region: RegionName, caption: string): void {
  const r = lung.regions[region];
  const fill = r ? affectedColor(r.percentAffected) : [235, 235, 235] as Rgb;
  fillRect(img, x, y, w, h, fill);
  strokeRect(img, x, y, w, h, TEXT);
  const dark = r !== null && r.percentAffected > 65;
  const color: Rgb = dark ? WHITE : TEXT;
  const value = r ? `${r.percentAffected.toFixed(1)}%` : 'n/a';
  drawText(img, x + 8, y + 8, value, { scale: S, color });
  if (caption) drawText(img, x + 8, y + 8 + LINE + 2, caption, { scale: S, color });
}
