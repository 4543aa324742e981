/**
 * Pairing two renderings of the same CT slices: COVID-SemiSeg's 1,600 unlabelled
 * `Pseudo-label/Imgs/Data-K_<case>_<n>.jpg` (Inf-Net's rendering: 8-bit lung window,
 * cropped to the lungs, turned) are slices of the 20 Zenodo 3757476 volumes that
 * zenodo-slices publishes as 256² CLAHE PNGs with expert lesion and lung masks. The
 * file names give the case but not the slice (`<n>` counts Inf-Net's own selection), so
 * each JPEG is found among its case's PNGs by registration: for each of the 8 flips/turns
 * the crop box in the PNG is the PNG's lung bounding box, which must have the JPEG's
 * aspect and a scale near 2 (the JPEGs were cut from the 512² originals), refined by a
 * small search; the slice is the one whose detail inside the lungs (high-passed, so the
 * two intensity mappings do not matter) correlates best. The masks are then carried over
 * with {@link placeOnRendering}. Pure functions over plain 2D rasters, then one async
 * driver that reads the folders.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJpeg, decodePng, rasterToGrey } from '../io/raster.js';
import { CovsegError } from '../util/errors.js';
import { listFiles, naturalCompare, readCsv } from './files.js';
import { coronacasesGroup } from './patient-groups.js';
import { zenodoSliceGroup } from './zenodo-slices.js';
import type { RenderingPlacement } from './types.js';

export type { RenderingPlacement };

/** A grey 2D raster, rows top to bottom. */
export interface Grey2d {
  width: number;
  height: number;
  data: Float32Array;
}

/** `img` turned by `orientation` (see {@link RenderingPlacement}). */
export function orientGrey(img: Grey2d, orientation: number): Grey2d {
  const transpose = (orientation & 1) !== 0;
  const width = transpose ? img.height : img.width;
  const height = transpose ? img.width : img.height;
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const ox = orientation & 2 ? width - 1 - x : x;
      const oy = orientation & 4 ? height - 1 - y : y;
      data[y * width + x] = transpose ? img.data[ox * img.width + oy]! : img.data[oy * img.width + ox]!;
    }
  }
  return { width, height, data };
}

/** Bilinear sample of `img` at (x, y) pixel centres, clamped at the edges. */
function sampleAt(img: Grey2d, x: number, y: number): number {
  const xc = Math.min(img.width - 1, Math.max(0, x));
  const yc = Math.min(img.height - 1, Math.max(0, y));
  const x0 = Math.floor(xc), y0 = Math.floor(yc);
  const x1 = Math.min(img.width - 1, x0 + 1), y1 = Math.min(img.height - 1, y0 + 1);
  const fx = xc - x0, fy = yc - y0;
  const d = img.data, w = img.width;
  return (d[y0 * w + x0]! * (1 - fx) + d[y0 * w + x1]! * fx) * (1 - fy) + (d[y1 * w + x0]! * (1 - fx) + d[y1 * w + x1]! * fx) * fy;
}

/** The `box` of `img` resampled to `n`×`n` (bilinear). */
export function sampleBox(img: Grey2d, box: readonly [number, number, number, number], n: number): Float32Array {
  const [x0, y0, bw, bh] = box;
  const out = new Float32Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out[j * n + i] = sampleAt(img, x0 + ((i + 0.5) * bw) / n - 0.5, y0 + ((j + 0.5) * bh) / n - 0.5);
  return out;
}

/**
 * A reference-grid mask carried onto the rendering's grid (`width`×`height`, as stored,
 * not turned): each rendering pixel takes the reference at its place (bilinear, then
 * ≥ 0.5 of `on`), so a 0/255 or 0/1 mask comes back 0/1.
 */
export function placeOnRendering(mask: Grey2d, on: number, placement: RenderingPlacement, width: number, height: number): Uint8Array {
  const { orientation } = placement;
  const [x0, y0, bw, bh] = placement.box;
  const transpose = (orientation & 1) !== 0;
  const ow = transpose ? height : width, oh = transpose ? width : height;
  const out = new Uint8Array(width * height);
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      // (u, v) in the stored rendering → (x, y) in the turned one → reference pixel.
      let x = transpose ? v : u, y = transpose ? u : v;
      if (orientation & 2) x = ow - 1 - x;
      if (orientation & 4) y = oh - 1 - y;
      const value = sampleAt(mask, x0 + ((x + 0.5) * bw) / ow - 0.5, y0 + ((y + 0.5) * bh) / oh - 0.5);
      out[v * width + u] = value >= on / 2 ? 1 : 0;
    }
  }
  return out;
}

/** Bounding box [x0, y0, width, height] of pixels ≥ half of `on`, or undefined when none. */
export function maskBox(mask: Grey2d, on: number): [number, number, number, number] | undefined {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]! >= on / 2) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** `a` minus its (2r+1)² box mean (an integral image): the vessels and edges, whatever the intensity mapping. */
function highPass(a: Float32Array, n: number, r = 2): Float32Array {
  const m = n + 1;
  const sat = new Float64Array(m * m);
  for (let y = 0; y < n; y++) {
    let row = 0;
    for (let x = 0; x < n; x++) {
      row += a[y * n + x]!;
      sat[(y + 1) * m + x + 1] = sat[y * m + x + 1]! + row;
    }
  }
  const out = new Float32Array(a.length);
  for (let y = 0; y < n; y++) {
    const ya = Math.max(0, y - r), yb = Math.min(n, y + r + 1);
    for (let x = 0; x < n; x++) {
      const xa = Math.max(0, x - r), xb = Math.min(n, x + r + 1);
      const s = sat[yb * m + xb]! - sat[ya * m + xb]! - sat[yb * m + xa]! + sat[ya * m + xa]!;
      out[y * n + x] = a[y * n + x]! - s / ((yb - ya) * (xb - xa));
    }
  }
  return out;
}

/** Pearson correlation of `a` and `b` over the pixels where `mask` ≥ 0.5. */
function maskedCorrelation(a: Float32Array, b: Float32Array, mask: Float32Array): number {
  let n = 0, sa = 0, sb = 0;
  for (let i = 0; i < a.length; i++) if (mask[i]! >= 0.5) (n++, (sa += a[i]!), (sb += b[i]!));
  if (n < 2) return 0;
  const ma = sa / n, mb = sb / n;
  let c = 0, va = 0, vb = 0;
  for (let i = 0; i < a.length; i++) {
    if (mask[i]! < 0.5) continue;
    const da = a[i]! - ma, db = b[i]! - mb;
    c += da * db;
    va += da * da;
    vb += db * db;
  }
  return va > 0 && vb > 0 ? c / Math.sqrt(va * vb) : 0;
}

/**
 * Bounding box of the pixels darker than `threshold` (the lungs of a lung-window picture),
 * over the rows and columns holding at least 2 % of them, so stray dark pixels (air at a
 * corner, noise) do not stretch it. Undefined when nothing is dark.
 */
function darkBox(img: Grey2d, threshold: number): Box | undefined {
  const cols = new Float64Array(img.width), rows = new Float64Array(img.height);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (img.data[y * img.width + x]! < threshold) (cols[x]!++, rows[y]!++);
    }
  }
  const span = (counts: Float64Array, across: number): [number, number] | undefined => {
    const min = 0.02 * across;
    let a = 0, b = counts.length - 1;
    while (a < counts.length && counts[a]! < min) a++;
    while (b >= 0 && counts[b]! < min) b--;
    return a <= b ? [a, b - a + 1] : undefined;
  };
  const sx = span(cols, img.height), sy = span(rows, img.width);
  return sx && sy ? [sx[0], sy[0], sx[1], sy[1]] : undefined;
}

/** Otsu's threshold of 8-bit values. */
function otsu(data: Float32Array): number {
  const hist = new Float64Array(256);
  for (const v of data) hist[Math.max(0, Math.min(255, Math.round(v)))]!++;
  let total = 0, sum = 0;
  for (let i = 0; i < 256; i++) (total += hist[i]!), (sum += i * hist[i]!);
  let wB = 0, sB = 0, best = 0, threshold = 128;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]!;
    if (wB === 0 || wB === total) continue;
    sB += t * hist[t]!;
    const mB = sB / wB, mF = (sum - sB) / (total - wB);
    const between = wB * (total - wB) * (mB - mF) ** 2;
    if (between > best) (best = between), (threshold = t + 0.5);
  }
  return threshold;
}

/** A reference slice: its CT (any intensity mapping) and its lung mask (0/255). */
export interface ReferenceSlice {
  id: string;
  ct: Grey2d;
  lung: Grey2d;
}

export interface RenderingMatch {
  /** The reference slice's id. */
  reference: string;
  placement: RenderingPlacement;
  /** Correlation of the high-passed images inside the reference's lungs (0–1 is typical; pairs ≥ ~0.5). */
  correlation: number;
  /** Dice of the rendering's dark (Otsu) pixels with the carried-over lung mask. */
  lungDice: number;
}

export interface MatchOptions {
  /** Scale of rendering pixels per reference pixel to accept (both axes). Defaults to [1.6, 3.2]. */
  scale?: [number, number];
  /** Largest difference of the two axes' scales, relative to the larger. Defaults to 0.06. */
  maxAnisotropy?: number;
  /** Side of the comparison grid. Defaults to 64. */
  grid?: number;
}

type Box = [number, number, number, number];
type Sampled = { hp: Float32Array; lung: Float32Array };

/** Scores one placement: high-pass correlation inside the reference lungs. */
function scorePlacement(turnedHp: Float32Array, refHp: (box: Box) => Sampled, box: Box): number {
  const { hp, lung } = refHp(box);
  return maskedCorrelation(turnedHp, hp, lung);
}

const lungBoxes = new WeakMap<ReferenceSlice, Box | undefined>();
function lungBoxOf(ref: ReferenceSlice): Box | undefined {
  if (!lungBoxes.has(ref)) lungBoxes.set(ref, maskBox(ref.lung, 255));
  return lungBoxes.get(ref);
}

/** A reference sampled at its lung box, once per reference and grid (every rendering of a case is compared with it). */
const lungBoxSamples = new WeakMap<ReferenceSlice, { n: number; sampled: Sampled }>();
function lungBoxCache(ref: ReferenceSlice, box: Box, n: number, sample: (box: Box) => Sampled): Sampled {
  const hit = lungBoxSamples.get(ref);
  if (hit && hit.n === n) return hit.sampled;
  const sampled = sample(box);
  lungBoxSamples.set(ref, { n, sampled });
  return sampled;
}

/**
 * The reference slice and placement that fit `rendering` best (undefined when no
 * reference has a lung box of the right shape). Every candidate orientation and slice is
 * scored at its lung box; the best few (3) are refined by moving each box edge by up to
 * 1.5 reference pixels.
 */
export function matchRendering(rendering: Grey2d, references: readonly ReferenceSlice[], options: MatchOptions = {}): RenderingMatch | undefined {
  const [minScale, maxScale] = options.scale ?? [1.6, 3.2];
  const maxAniso = options.maxAnisotropy ?? 0.06;
  const n = options.grid ?? 64;
  const threshold = otsu(rendering.data);
  const turned = [0, 1, 2, 3, 4, 5, 6, 7].map((o) => {
    const t = orientGrey(rendering, o);
    return { o, t, hp: highPass(sampleBox(t, [0, 0, t.width, t.height], n), n), dark: darkBox(t, threshold) };
  });
  const refHpOf = (ref: ReferenceSlice) => (box: Box) => ({ hp: highPass(sampleBox(ref.ct, box, n), n), lung: sampleBox(ref.lung, box, n).map((v) => v / 255) });
  // While refining, the lungs stay where the first box put them (a sub-pixel move does not change which pixels count).
  const refCtOf = (ref: ReferenceSlice, lung: Float32Array) => (box: Box) => ({ hp: highPass(sampleBox(ref.ct, box, n), n), lung });
  const fits = (sx: number, sy: number) => sx >= minScale && sx <= maxScale && sy >= minScale && sy <= maxScale && Math.abs(sx - sy) <= maxAniso * Math.max(sx, sy);
  const candidates: { ref: ReferenceSlice; o: number; box: Box; score: number; lung: Float32Array }[] = [];
  for (const ref of references) {
    const box = lungBoxOf(ref);
    if (!box) continue;
    let atBox: Sampled | undefined;
    for (const { o, t, hp, dark } of turned) {
      // Hypothesis 1: the rendering is the reference's lung box.
      if (fits(t.width / box[2], t.height / box[3])) {
        atBox ??= lungBoxCache(ref, box, n, refHpOf(ref));
        candidates.push({ ref, o, box, score: maskedCorrelation(hp, atBox.hp, atBox.lung), lung: atBox.lung });
      }
      // Hypothesis 2: the rendering's dark (lung) pixels span the reference's lung box, with margins around them.
      if (!dark) continue;
      const sx = dark[2] / box[2], sy = dark[3] / box[3];
      if (!fits(sx, sy)) continue;
      const b: Box = [box[0] - dark[0] / sx, box[1] - dark[1] / sy, t.width / sx, t.height / sy];
      const at = refHpOf(ref)(b);
      candidates.push({ ref, o, box: b, score: maskedCorrelation(hp, at.hp, at.lung), lung: at.lung });
    }
  }
  if (candidates.length === 0) return undefined;
  candidates.sort((a, b) => b.score - a.score);
  let best: (typeof candidates)[number] | undefined;
  for (const c of candidates.slice(0, 3)) {
    const hp = turned[c.o]!.hp;
    const f = refCtOf(c.ref, c.lung);
    let box = c.box, score = c.score;
    // Coordinate descent on the four edges, half a reference pixel at a time.
    for (let pass = 0; pass < 2; pass++) {
      let moved = false;
      for (let edge = 0; edge < 4; edge++) {
        for (const step of [-0.5, 0.5]) {
          for (let k = 1; k <= 3; k++) {
            const b: [number, number, number, number] = [...box];
            if (edge === 0) (b[0] += step), (b[2] -= step);
            else if (edge === 1) (b[1] += step), (b[3] -= step);
            else if (edge === 2) b[2] += step;
            else b[3] += step;
            if (Math.abs(b[0] - c.box[0]) > 1.5 || Math.abs(b[1] - c.box[1]) > 1.5 || Math.abs(b[0] + b[2] - c.box[0] - c.box[2]) > 1.5 || Math.abs(b[1] + b[3] - c.box[1] - c.box[3]) > 1.5) break;
            const s = scorePlacement(hp, f, b);
            if (s <= score) break;
            (box = b), (score = s), (moved = true);
          }
        }
      }
      if (!moved) break;
    }
    if (!best || score > best.score) best = { ...c, box, score };
  }
  const placement: RenderingPlacement = { orientation: best!.o, box: best!.box };
  const lung = placeOnRendering(best!.ref.lung, 255, placement, rendering.width, rendering.height);
  let inter = 0, sum = 0;
  for (let i = 0; i < lung.length; i++) {
    const dark = rendering.data[i]! < threshold ? 1 : 0;
    inter += dark & lung[i]!;
    sum += dark + lung[i]!;
  }
  return { reference: best!.ref.id, placement, correlation: best!.score, lungDice: sum > 0 ? (2 * inter) / sum : 0 };
}

// ---------------------------------------------------------------------------------------
// The two published folders.

export const PAIRS_FILE = 'rendering-pairs.json';
export const PAIRS_FORMAT = 'covseg-rendering-pairs';

/** One paired rendering, as written to {@link PAIRS_FILE}. */
export interface RenderingPair extends RenderingMatch {
  /** The rendering's file name (in `renderingsDir`). */
  image: string;
  /** The Zenodo case its name carries (`coronacases_org_001`, `radiopaedia_org_…`). */
  zenodoCase: string;
  /** The zenodo-slices patient group of the reference slice. */
  group: string;
}

export interface RenderingPairsFile {
  format: typeof PAIRS_FORMAT;
  version: 1;
  renderingsDir: string;
  zenodoSlicesRoot: string;
  /** Thresholds a match had to pass. */
  minCorrelation: number;
  minLungDice: number;
  pairs: RenderingPair[];
  /** Renderings without a pair, with their best match when there was one. */
  unpaired: { image: string; zenodoCase: string; best?: RenderingMatch & { group: string } }[];
}

const RENDERING = /^Data-\d+_(.+)_(\d+)\.jpe?g$/i;

/** `Data-1_coronacases_org_001_12.jpg` → { zenodoCase: 'coronacases_org_001', index: 12 }, or undefined. */
export function parseRenderingName(name: string): { zenodoCase: string; index: number } | undefined {
  const m = name.match(RENDERING);
  return m ? { zenodoCase: m[1]!, index: Number(m[2]) } : undefined;
}

/** Radiopaedia's case number in a Zenodo name (`radiopaedia_org_covid-19-pneumonia-10_85902_3-dcm` → '10'). */
export function radiopaediaCaseNumber(zenodoCase: string): string | undefined {
  return zenodoCase.match(/^radiopaedia_org_covid-19-pneumonia-(\d+)_/)?.[1];
}

async function readGrey(path: string): Promise<Grey2d> {
  const bytes = new Uint8Array(await readFile(path));
  const img = /\.png$/i.test(path) ? decodePng(bytes, path) : decodeJpeg(bytes, path);
  return { width: img.width, height: img.height, data: Float32Array.from(rasterToGrey(img)) };
}

export interface PairRenderingsOptions extends MatchOptions {
  /** Smallest correlation of a pair. Defaults to 0.45. */
  minCorrelation?: number;
  /** Smallest lung Dice of a pair. Defaults to 0.85. */
  minLungDice?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Pairs every rendering in `renderingsDir` with a zenodo-slices slice (see the file
 * comment). A coronacases rendering is searched among its own group's slices, a
 * Radiopaedia one among all Radiopaedia slices (zenodo-slices does not say which group is
 * which scan). Two renderings never share a reference slice: the better correlation keeps it.
 */
export async function pairRenderings(renderingsDir: string, zenodoSlicesRoot: string, options: PairRenderingsOptions = {}): Promise<RenderingPairsFile> {
  const minCorrelation = options.minCorrelation ?? 0.45;
  const minLungDice = options.minLungDice ?? 0.85;
  const rows = await readCsv(join(zenodoSlicesRoot, 'slices.csv'), ['file', 'patient_group', 'source']);
  const names = (await listFiles(renderingsDir, /\.jpe?g$/i)).sort(naturalCompare);
  const parsed = names.map((image) => ({ image, parsed: parseRenderingName(image) }));
  const bad = parsed.find((p) => !p.parsed);
  if (bad) throw new CovsegError(`file name not of the form Data-K_<zenodo case>_<n>.jpg`, { file: join(renderingsDir, bad.image) });
  const refs = new Map<string, ReferenceSlice & { group: string; source: string }>();
  const refsOf = async (zenodoCase: string) => {
    const corona = zenodoCase.match(/^coronacases_org_(\d+)$/);
    const wanted = rows.filter((r) => (corona ? r['patient_group'] === `coronacases_${corona[1]}` : r['source'] === 'radiopaedia'));
    const out: (ReferenceSlice & { group: string })[] = [];
    for (const r of wanted) {
      const file = r['file']!;
      let ref = refs.get(file);
      if (!ref) {
        const stem = file.replace(/\.png$/i, '');
        ref = { id: stem, group: r['patient_group']!, source: r['source']!, ct: await readGrey(join(zenodoSlicesRoot, 'ct', file)), lung: await readGrey(join(zenodoSlicesRoot, 'lungs', file)) };
        refs.set(file, ref);
      }
      out.push(ref);
    }
    return out;
  };
  const found: { image: string; zenodoCase: string; match?: RenderingMatch & { group: string } }[] = [];
  let done = 0;
  for (const { image, parsed: p } of parsed) {
    const candidates = await refsOf(p!.zenodoCase);
    const match = matchRendering(await readGrey(join(renderingsDir, image)), candidates, options);
    const group = match ? candidates.find((c) => c.id === match.reference)!.group : undefined;
    found.push({ image, zenodoCase: p!.zenodoCase, ...(match && group ? { match: { ...match, group } } : {}) });
    options.onProgress?.(++done, parsed.length);
  }
  // One reference slice, one rendering.
  const owner = new Map<string, (typeof found)[number]>();
  for (const f of found) {
    if (!f.match || f.match.correlation < minCorrelation || f.match.lungDice < minLungDice) continue;
    const prev = owner.get(f.match.reference);
    if (!prev || prev.match!.correlation < f.match.correlation) owner.set(f.match.reference, f);
  }
  const kept = new Set(owner.values());
  const pairs: RenderingPair[] = [];
  const unpaired: RenderingPairsFile['unpaired'] = [];
  for (const f of found) {
    if (kept.has(f)) pairs.push({ image: f.image, zenodoCase: f.zenodoCase, ...f.match! });
    else unpaired.push({ image: f.image, zenodoCase: f.zenodoCase, ...(f.match ? { best: f.match } : {}) });
  }
  return { format: PAIRS_FORMAT, version: 1, renderingsDir, zenodoSlicesRoot, minCorrelation, minLungDice, pairs, unpaired };
}

/**
 * The patientGroup of a paired rendering: its reference slice's zenodo-slices group, so a
 * patient's two renderings always share a split (coronacases also by name, checked here).
 */
export function pairPatientGroup(pair: Pick<RenderingPair, 'group' | 'zenodoCase'>): string {
  const corona = pair.zenodoCase.match(/^coronacases_org_(\d+)$/);
  const group = zenodoSliceGroup(pair.group);
  if (corona && group !== coronacasesGroup(Number(corona[1]))) {
    throw new CovsegError(`rendering of ${pair.zenodoCase} paired with a slice of ${pair.group}`);
  }
  return group;
}
