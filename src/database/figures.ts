/**
 * The database's pictures: the method's Figure 2 for chosen cases (original axial slice
 * beside the preprocessed one at the same anatomical level) and overview mosaics (one
 * tile per case: its middle lesion slice with lung and lesion drawn over it).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePng } from '../io/raster.js';
import { readVolume } from '../io/index.js';
import {
  IMAGE_BACKGROUND,
  IMAGE_TEXT,
  LEFT_LUNG,
  LESION,
  LUNG_WINDOW_HU,
  blit,
  createImage,
  ctSliceToRgb,
  drawText,
  measureText,
  mosaic,
  overlayMask,
  panel,
  saveFigure,
  sideBySide,
  type RgbImage,
} from '../figures/index.js';
import { resizeSlice } from '../volume/index.js';
import { indexToWorld, worldToIndex, type LabelMap, type Volume } from '../volume/volume.js';
import { toGreyBytes, toLps, type PreprocessedCase } from '../preprocess/index.js';
import type { CaseRecord } from './manifest.js';

const fmt = (v: readonly number[], digits = 2) => v.map((x) => Number(x.toFixed(digits))).join('×');

/** The axial slice z of a volume, shape [ny, nx]. */
function axial<T extends Volume['data']>(data: T, nx: number, ny: number, z: number): T {
  return data.subarray(z * nx * ny, (z + 1) * nx * ny) as T;
}

/** The preprocessed slice with the most lesion (the middle slice when there is none). */
export function figureSlice(prep: PreprocessedCase): number {
  const [nx, ny, nz] = prep.image.dims;
  if (!prep.lesionMask) return Math.floor(nz / 2);
  let best = Math.floor(nz / 2);
  let bestCount = 0;
  for (let z = 0; z < nz; z++) {
    const s = axial(prep.lesionMask.data, nx, ny, z);
    let c = 0;
    for (let i = 0; i < s.length; i++) c += s[i]! !== 0 ? 1 : 0;
    if (c > bestCount) [best, bestCount] = [z, c];
  }
  return best;
}

/**
 * The method's Figure 2 for one case: the original axial slice (lung window when in HU,
 * else the normalisation window) beside the preprocessed slice at the same world z, both
 * drawn at the preprocessed pixel size (0.9 mm) so the crop and the resampling show, with
 * the lesion outlined on both as a check that masks stayed aligned.
 */
export function preprocessingFigure(caseId: string, ct: Volume, lesionMask: LabelMap, prep: PreprocessedCase, isHu: boolean): RgbImage {
  const z = figureSlice(prep);
  const [px, py] = prep.image.dims;
  const centre = indexToWorld(prep.image, [(px - 1) / 2, (py - 1) / 2, z]);
  const original = toLps(ct);
  const originalLesion = toLps(lesionMask);
  const [nx, ny, nz] = original.dims;
  const zo = Math.min(nz - 1, Math.max(0, Math.round(worldToIndex(original, centre)[2])));
  const scaleX = original.spacingMm[0] / prep.image.spacingMm[0];
  const scaleY = original.spacingMm[1] / prep.image.spacingMm[1];
  const w = Math.max(1, Math.round(nx * scaleX));
  const h = Math.max(1, Math.round(ny * scaleY));
  const origSlice = resizeSlice(axial(original.data, nx, ny, zo), nx, ny, w, h, { interpolation: 'bilinear' }) as Float32Array;
  const origLesion = resizeSlice(axial(originalLesion.data as Uint8Array, nx, ny, zo), nx, ny, w, h, { interpolation: 'nearest' }) as Uint8Array;
  const window: readonly [number, number] = isHu ? LUNG_WINDOW_HU : [prep.stats.lowValue, Math.max(prep.stats.highValue, prep.stats.lowValue + 1)];
  const left = overlayMask(ctSliceToRgb(origSlice, w, h, { window }), origLesion, LESION, { alpha: 0, outline: true });
  let right = ctSliceToRgb(axial(prep.image.data, px, py, z), px, py, { window: [0, 1] });
  if (prep.lesionMask) right = overlayMask(right, axial(prep.lesionMask.data, px, py, z), LESION, { alpha: 0, outline: true });
  const pair = sideBySide(left, right, {
    titles: [
      `original ${fmt(original.dims, 0)}, ${fmt(original.spacingMm)} mm, z=${zo}`,
      `preprocessed ${fmt(prep.image.dims, 0)}, ${fmt(prep.image.spacingMm)} mm, z=${z}`,
    ],
    scale: 1,
    background: IMAGE_BACKGROUND,
  });
  return panel(pair, `${caseId}: resampling, crop/pad and [0,1] normalisation (lesion outlined, ${isHu ? 'lung window' : 'p1-p99 window'})`, { scale: 1 });
}

export interface OverviewOptions {
  /** Side of each tile in pixels. Defaults to 128. */
  tileSize?: number;
  /** Tiles per page (one PNG per page). Defaults to 100. */
  tilesPerPage?: number;
}

/** A tile's pictures: 8-bit grey image and 0/nonzero masks, one grid. */
interface TilePlanes {
  w: number;
  h: number;
  image: Uint8Array;
  lesion: Uint8Array;
  lung?: Uint8Array;
}

/**
 * A volume without 2D slices (its source's slices are in the 2D database already, e.g.
 * zenodo-slice-stacks): its 3D files' axial slice with the most lesion, or undefined
 * when it has none.
 */
async function volumeTilePlanes(db: string, files3d: NonNullable<CaseRecord['files3d']>): Promise<{ planes: TilePlanes; z: number } | undefined> {
  const lesion = await readVolume(join(db, files3d.lesion));
  const [w, h, nz] = lesion.dims;
  const n = w * h;
  let best = -1;
  let most = 0;
  for (let z = 0; z < nz; z++) {
    let count = 0;
    for (let i = z * n; i < (z + 1) * n; i++) if (lesion.data[i]! > 0) count++;
    if (count > most) [best, most] = [z, count];
  }
  if (best < 0) return undefined;
  const cut = (v: Volume) => v.data.subarray(best * n, (best + 1) * n);
  const image = await readVolume(join(db, files3d.image));
  const planes: TilePlanes = { w, h, image: toGreyBytes(cut(image) as Float32Array), lesion: Uint8Array.from(cut(lesion)) };
  if (files3d.lung) planes.lung = Uint8Array.from(cut(await readVolume(join(db, files3d.lung))));
  return { planes, z: best };
}

/** One tile: the case's middle 2D slice (a 3D-only volume: its slice with most lesion), lung and lesion drawn over it, or a note that it has none. */
async function overviewTile(db: string, record: Pick<CaseRecord, 'slices2d' | 'files3d'>, size: number): Promise<{ tile: RgbImage; z?: number }> {
  const slice = record.slices2d[Math.floor((record.slices2d.length - 1) / 2)];
  const read = async (rel: string) => {
    const png = decodePng(await readFile(join(db, rel)), join(db, rel));
    return { data: png.data as Uint8Array, w: png.width, h: png.height };
  };
  let planes: TilePlanes | undefined;
  let z: number | undefined;
  if (slice) {
    const img = await read(slice.image);
    planes = { w: img.w, h: img.h, image: img.data, lesion: (await read(slice.lesion)).data };
    if (slice.lung) planes.lung = (await read(slice.lung)).data;
    z = slice.z;
  } else if (record.files3d) {
    const found = await volumeTilePlanes(db, record.files3d);
    planes = found?.planes;
    z = found?.z;
  }
  if (!planes) {
    const tile = createImage(size, size, IMAGE_BACKGROUND);
    drawText(tile, 4, Math.floor(size / 2), 'no lesion in crop', { color: IMAGE_TEXT });
    return { tile };
  }
  const { w, h } = planes;
  const grey = resizeSlice(planes.image, w, h, size, size, { interpolation: 'bilinear' }) as Float32Array;
  let tile = ctSliceToRgb(grey, size, size, { window: [0, 255] });
  if (planes.lung) tile = overlayMask(tile, resizeSlice(planes.lung, w, h, size, size, { interpolation: 'nearest' }) as Uint8Array, LEFT_LUNG, { alpha: 0.25 });
  return { tile: overlayMask(tile, resizeSlice(planes.lesion, w, h, size, size, { interpolation: 'nearest' }) as Uint8Array, LESION, { alpha: 0.5 }), ...(z !== undefined ? { z } : {}) };
}

/** One page of an overview mosaic: what a worker needs to draw it. */
export interface OverviewPage {
  /** Database folder. */
  db: string;
  /** Mosaic name, e.g. '3d' or '2d-semiseg'. */
  name: string;
  /** 1-based page number and page count. */
  page: number;
  pages: number;
  /** The page's cases (only the fields tiles need). */
  records: Pick<CaseRecord, 'caseId' | 'kind' | 'slices2d' | 'files3d'>[];
  tileSize: number;
}

/** Splits `records` into overview pages (see OverviewOptions). */
export function overviewPages(db: string, name: string, records: readonly CaseRecord[], options: OverviewOptions = {}): OverviewPage[] {
  const perPage = options.tilesPerPage ?? 100;
  const pages = Math.ceil(records.length / perPage);
  return Array.from({ length: pages }, (_, p) => ({
    db,
    name,
    page: p + 1,
    pages,
    records: records.slice(p * perPage, (p + 1) * perPage).map((r) => ({ caseId: r.caseId, kind: r.kind, slices2d: r.slices2d, ...(r.files3d ? { files3d: r.files3d } : {}) })),
    tileSize: options.tileSize ?? 128,
  }));
}

/** Path of an overview page PNG. */
export function overviewPath(db: string, name: string, page: number): string {
  return join(db, 'figures', `overview-${name}-${String(page).padStart(2, '0')}.png`);
}

/**
 * Draws and writes one overview page, `figures/overview-<name>-NN.png`, from the 2D files
 * already in the database (so skipped cases of a resumed build appear too). Returns its path.
 */
export async function writeOverviewPage(page: OverviewPage): Promise<string> {
  const tiles = [];
  for (const r of page.records) {
    const { tile, z } = await overviewTile(page.db, r, page.tileSize);
    tiles.push({ image: tile, label: `${r.caseId}${z !== undefined && r.kind === 'volume' ? ` z${z}` : ''}` });
  }
  const first = page.records[0]!.caseId;
  const last = page.records[page.records.length - 1]!.caseId;
  const title = `${page.name}: ${first} … ${last} (page ${page.page}/${page.pages}); green = lung, orange = lesion`;
  const path = overviewPath(page.db, page.name, page.page);
  let body = mosaic(tiles, { columns: 10 });
  const titleWidth = measureText(title).width + 16;
  if (body.width < titleWidth) {
    // A page of a few tiles is narrower than its title: widen it rather than cut the title.
    const wide = createImage(titleWidth, body.height, IMAGE_BACKGROUND);
    blit(wide, body, 0, 0);
    body = wide;
  }
  await saveFigure(path, panel(body, title, { scale: 1, background: IMAGE_BACKGROUND, color: IMAGE_TEXT }));
  return path;
}
