/**
 * The clinical figures of one segmented scan: how much of each lung is ground glass and
 * how much consolidation, the lung's own density bands, where the disease lies (thirds,
 * ventral/dorsal halves, periphery/centre), and the zone and lobe scores. Pure: CT, lung
 * labels, lesion mask (and optional lobe labels) in, figures out.
 *
 * One pass over each lung's bounding box sorts every lung voxel into a cell of
 * third × half × depth × density band × lesion; every figure is a sum over those cells, so
 * the figures agree with each other exactly (the bands add up to the lung, the regions to
 * the lung, ground glass and consolidation to the lesion).
 */
import { CovsegError } from '../util/errors.js';
import { distanceTransform } from '../volume/distance.js';
import { voxelVolumeMl, type LabelMap, type Vec3, type Volume } from '../volume/volume.js';
import { BAND_NAMES, LCTA_BANDS, bandRanges, checkBands, type BandName, type HuBands } from './bands.js';
import { LOBES, MAX_LOBE_LABEL, type LobeKey } from './lobes.js';
import { panScore, quarterScore, SCORE_LABELS } from './scores.js';
import { REGION_NAMES, type Amount, type ClinicalFigures, type LobeFigures, type LobeScore, type LungClinical, type RegionFigures, type RegionName, type Unavailable, type ZoneScore } from './schema.js';

export { REGION_NAMES, type Amount, type ClinicalFigures, type LobeFigures, type LobeScore, type LungClinical, type RegionFigures, type RegionName, type Unavailable, type ZoneScore };

/** Coarsest voxel edge (mm) the depth (distance to the lung surface) is computed on: within 5 % of the limit for thirds of a lung's depth (~50–70 mm), and 10–20× less work on thin-slice CT. */
export const DEFAULT_DISTANCE_GRID_MM = 3;

export interface ClinicalInput {
  /** The CT, on the grid of `lungs`; in HU when `isHu`. */
  ct: Volume;
  /** 1 = right lung, 2 = left lung. */
  lungs: LabelMap;
  /** Nonzero = lesion; counted only inside the lungs. */
  lesions: LabelMap;
  /** Whether `ct` is in Hounsfield units: the density split needs it. */
  isHu: boolean;
  /** Why the input is not in HU, for the "unavailable" note. Defaults to a generic reason. */
  huReason?: string;
  /** Whether the voxel size is known (false for PNG/JPEG slices): volumes are null then. Defaults to true. */
  spacingKnown?: boolean;
  /** lungmask LTRCLobes labels on the same grid (1 LUL, 2 LLL, 3 RUL, 4 RML, 5 RLL): the lobe scores need them. */
  lobes?: LabelMap;
  /** Why there are no lobe labels, for the lobe scores' note (e.g. the lobe model needs HU). Defaults to saying how to get them. */
  lobesUnavailableReason?: string;
  /** Whether the scan can be scored at all (lung coverage, image quality). Defaults to true. */
  assessable?: boolean;
  /** Why it is not assessable, for the scores' note. */
  notAssessableReason?: string;
  /** HU band limits. Defaults to Lung CT Analyzer's. */
  bands?: HuBands;
  /** Coarsest voxel edge (mm) for the depth computation; 0 = the scan's own grid. Defaults to {@link DEFAULT_DISTANCE_GRID_MM}. */
  distanceGridMm?: number;
}


// Cell layout of the histogram: ((((third·2 + half)·2 + depth)·5 + band)·2 + lesion).
const BANDS = 5;
const CELLS = 3 * 2 * 2 * BANDS * 2;
const cell = (third: number, half: number, depth: number, band: number, lesion: number) => (((third * 2 + half) * 2 + depth) * BANDS + band) * 2 + lesion;

interface LungScan {
  voxels: number;
  lo: Vec3;
  hi: Vec3;
  /** World z (LPS superior) and y (posterior) of the lung's voxel centres. */
  zMin: number;
  zMax: number;
  yMin: number;
  yMax: number;
  /** Per row (j + ny·k): the first lung voxel's x and one past the last, [0, 0) where the row has none of this lung. */
  rowFrom: Int32Array;
  rowTo: Int32Array;
}

/** Computes every clinical figure of one scan. */
export function clinicalFigures(input: ClinicalInput): ClinicalFigures {
  const { ct, lungs, lesions, lobes } = input;
  const n = lungs.data.length;
  const gridError = (what: string, v: Volume) => new CovsegError(`clinical figures: the ${what} has grid [${v.dims.join(', ')}] but the lungs have [${lungs.dims.join(', ')}]; pass label maps on the CT's grid`);
  if (ct.data.length !== n) throw gridError('CT', ct);
  if (lesions.data.length !== n) throw gridError('lesion mask', lesions);
  if (lobes && lobes.data.length !== n) throw gridError('lobe map', lobes);
  const bands = input.bands ?? LCTA_BANDS;
  checkBands(bands);
  const gridMm = input.distanceGridMm ?? DEFAULT_DISTANCE_GRID_MM;
  if (!(gridMm >= 0)) throw new CovsegError(`clinical figures: distanceGridMm must be ≥ 0 mm, got ${gridMm}`);
  const spacingKnown = input.spacingKnown ?? true;
  const isHu = input.isHu;

  const [nx, ny, nz] = lungs.dims;
  const s = lungs.spacingMm;
  const d = lungs.direction;
  const o = lungs.origin;
  // World z and y are sums of one term per index axis: tables instead of a matrix product per voxel.
  const table = (len: number, f: (k: number) => number) => Float64Array.from({ length: len }, (_, k) => f(k));
  const zx = table(nx, (i) => d[6] * i * s[0]), zy = table(ny, (j) => d[7] * j * s[1]), zz = table(nz, (k) => o[2] + d[8] * k * s[2]);
  const yx = table(nx, (i) => d[3] * i * s[0]), yy = table(ny, (j) => d[4] * j * s[1]), yz = table(nz, (k) => o[1] + d[5] * k * s[2]);
  // Half the world-z (y) extent of one voxel: a lung's extent runs from its top voxel's top face to its bottom voxel's bottom face.
  const halfZ = 0.5 * (Math.abs(d[6]) * s[0] + Math.abs(d[7]) * s[1] + Math.abs(d[8]) * s[2]);
  const halfY = 0.5 * (Math.abs(d[3]) * s[0] + Math.abs(d[4]) * s[1] + Math.abs(d[5]) * s[2]);

  const scans = scanLungs(lungs, zx, zy, zz, yx, yy, yz);
  const hist = [new Uint32Array(CELLS), new Uint32Array(CELLS)];
  const lobeHist = new Uint32Array((MAX_LOBE_LABEL + 1) * BANDS * 2);
  const maxDepth: (number | null)[] = [null, null];
  const notes: string[] = [];
  let blockMm: Vec3 = [...s] as Vec3;
  const ctData = ct.data;
  const lesionData = lesions.data;
  const lobeData = lobes?.data;
  const { emphysemaBelow: b0, aeratedBelow: b1, infiltratedBelow: b2, collapsedBelow: b3 } = bands;

  for (const side of [1, 2] as const) {
    const sc = scans[side - 1]!;
    if (sc.voxels === 0) continue;
    const depth = peripheralCells(lungs, side, sc, gridMm);
    maxDepth[side - 1] = depth.maxMm;
    blockMm = depth.blockMm;
    const h = hist[side - 1]!;
    const zTop = sc.zMax + halfZ;
    const zExtent = sc.zMax - sc.zMin + 2 * halfZ;
    const yFront = sc.yMin - halfY;
    const yExtent = sc.yMax - sc.yMin + 2 * halfY;
    countLung({
      side, box: sc, lungs: lungs.data, ct: isHu ? ctData : undefined, lesions: lesionData, lobes: lobeData, nx, ny,
      zx, zy, zz, yx, yy, yz, zTop, zExtent, yFront, yExtent, depth, bands: [b0, b1, b2, b3], hist: h, lobeHist,
    });
  }

  const ml = voxelVolumeMl(lungs);
  const vol = (v: number) => (spacingKnown ? +(v * ml).toFixed(2) : null);
  const pct = (a: number, b: number) => (b > 0 ? +((100 * a) / b).toFixed(2) : 0);
  const exactPct = (a: number, b: number) => (b > 0 ? (100 * a) / b : 0);

  const thirdsOk = [0, 1].map((k) => scans[k]!.voxels > 0 && scans[k]!.zMax > scans[k]!.zMin);
  if (nz === 1 && lungs.dims[0] > 1) notes.push('a single axial slice has no upper, middle and lower thirds');
  for (const [k, name] of [[0, 'right'], [1, 'left']] as const) {
    if (scans[k]!.voxels === 0) notes.push(`no ${name} lung: its regions are not reported`);
    else if (!thirdsOk[k] && nz > 1) notes.push(`the ${name} lung lies in one axial plane: no thirds`);
  }
  const summarise = (hs: Uint32Array[], thirds: boolean, present: boolean, depthMm: number | null): LungClinical => {
    const sum = (pred: (t: number, h: number, c: number, b: number, l: number) => boolean) => {
      let total = 0;
      for (const hh of hs) {
        for (let t = 0; t < 3; t++) for (let hf = 0; hf < 2; hf++) for (let c = 0; c < 2; c++) for (let b = 0; b < BANDS; b++) for (let l = 0; l < 2; l++) {
          if (pred(t, hf, c, b, l)) total += hh[cell(t, hf, c, b, l)]!;
        }
      }
      return total;
    };
    const lungVoxels = sum(() => true);
    const amount = (v: number, of = lungVoxels): Amount => ({ voxels: v, volumeMl: vol(v), percentOfLung: pct(v, of) });
    const lesionVoxels = sum((_t, _h, _c, _b, l) => l === 1);
    const consolidation = sum((_t, _h, _c, b, l) => l === 1 && b >= 3);
    const region = (pred: (t: number, h: number, c: number) => boolean): RegionFigures => {
      const lv = sum((t, h, c) => pred(t, h, c));
      const sv = sum((t, h, c, _b, l) => l === 1 && pred(t, h, c));
      const cv = sum((t, h, c, b, l) => l === 1 && b >= 3 && pred(t, h, c));
      return { lungVoxels: lv, lungMl: vol(lv), lesionVoxels: sv, lesionMl: vol(sv), percentAffected: pct(sv, lv), consolidationVoxels: isHu ? cv : null };
    };
    const regions = {} as Record<RegionName, RegionFigures | null>;
    (['upper', 'middle', 'lower'] as const).forEach((name, t) => (regions[name] = present && thirds ? region((tt) => tt === t) : null));
    (['ventral', 'dorsal'] as const).forEach((name, hf) => (regions[name] = present ? region((_t, h) => h === hf) : null));
    (['peripheral', 'central'] as const).forEach((name, c) => (regions[name] = present ? region((_t, _h, cc) => cc === c) : null));
    const bandAmounts = Object.fromEntries(BAND_NAMES.map((name, b) => [name, amount(sum((_t, _h, _c, bb) => bb === b))])) as Record<BandName, Amount>;
    return {
      lung: { voxels: lungVoxels, volumeMl: vol(lungVoxels) },
      lesion: amount(lesionVoxels),
      groundGlass: isHu ? amount(lesionVoxels - consolidation) : null,
      consolidation: isHu ? amount(consolidation) : null,
      consolidationPercentOfLesion: isHu ? pct(consolidation, lesionVoxels) : null,
      bands: isHu ? bandAmounts : null,
      composition: isHu
        ? {
            affected: amount(lesionVoxels),
            functional: amount(sum((_t, _h, _c, b, l) => l === 0 && b === 1)),
            emphysemaRange: amount(sum((_t, _h, _c, b, l) => l === 0 && b === 0)),
            other: amount(sum((_t, _h, _c, b, l) => l === 0 && b >= 2)),
          }
        : null,
      regions,
      maxDepthMm: depthMm === null ? null : +depthMm.toFixed(2),
    };
  };
  const right = summarise([hist[0]!], thirdsOk[0]!, scans[0]!.voxels > 0, maxDepth[0]!);
  const left = summarise([hist[1]!], thirdsOk[1]!, scans[1]!.voxels > 0, maxDepth[1]!);
  const anyLung = scans[0]!.voxels + scans[1]!.voxels > 0;
  const total = summarise(hist, anyLung && [0, 1].every((k) => scans[k]!.voxels === 0 || thirdsOk[k]), anyLung, null);

  // Lobes.
  let lobeFigures: LobeFigures[] | null = null;
  if (lobes) {
    lobeFigures = LOBES.map((lobe) => {
      let lv = 0, sv = 0, cv = 0;
      for (let b = 0; b < BANDS; b++) {
        const none = lobeHist[(lobe.label * BANDS + b) * 2]!;
        const les = lobeHist[(lobe.label * BANDS + b) * 2 + 1]!;
        lv += none + les;
        sv += les;
        if (b >= 3) cv += les;
      }
      return { lobe: lobe.key, name: lobe.name, label: lobe.label, voxels: lv, volumeMl: vol(lv), lesionVoxels: sv, lesionMl: vol(sv), percentAffected: pct(sv, lv), consolidationVoxels: isHu ? cv : null };
    });
  }

  // Scores.
  const assessable = input.assessable ?? true;
  const notAssessable: Unavailable = { available: false, reason: `not scored: ${input.notAssessableReason ?? 'the scan is not assessable'}` };
  let zone: ZoneScore | Unavailable;
  if (!assessable) zone = notAssessable;
  else if (!(thirdsOk[0] && thirdsOk[1])) zone = { available: false, reason: `needs the thirds of both lungs: ${notes.join('; ') || 'not available'}` };
  else {
    const zones: ZoneScore['zones'] = [];
    for (const [k, lung] of [[0, 'right'], [1, 'left']] as const) {
      (['upper', 'middle', 'lower'] as const).forEach((z, t) => {
        const h = hist[k]!;
        let lv = 0, sv = 0;
        for (let hf = 0; hf < 2; hf++) for (let c = 0; c < 2; c++) for (let b = 0; b < BANDS; b++) {
          lv += h[cell(t, hf, c, b, 0)]! + h[cell(t, hf, c, b, 1)]!;
          sv += h[cell(t, hf, c, b, 1)]!;
        }
        zones.push({ lung, zone: z, percentAffected: pct(sv, lv), score: quarterScore(exactPct(sv, lv)) });
      });
    }
    zone = { available: true, label: SCORE_LABELS.zone, total: zones.reduce((a, z) => a + z.score, 0), max: 24, zones };
  }
  const lobeScore = (label: string, max: number, score: (p: number) => number): LobeScore | Unavailable => {
    if (!assessable) return notAssessable;
    if (!lobeFigures) return { available: false, reason: input.lobesUnavailableReason ?? "needs lobe labels (lungmask's LTRCLobes weights: --lobe-weights FILE of covseg segment or covseg serve)" };
    const missing = lobeFigures.filter((l) => l.voxels === 0).map((l) => l.name);
    if (missing.length) return { available: false, reason: `not every lobe is in the lobe map (missing: ${missing.join(', ')})` };
    const rows = lobeFigures.map((l) => ({ lobe: l.lobe, name: l.name, percentAffected: l.percentAffected, score: score(exactPct(l.lesionVoxels, l.voxels)) }));
    return { available: true, label, total: rows.reduce((a, r) => a + r.score, 0), max, lobes: rows };
  };

  return {
    format: 'covseg-clinical',
    version: 1,
    density: isHu
      ? { available: true, bands: { ...bands }, ranges: bandRanges(bands), consolidationFrom: bands.infiltratedBelow }
      : { available: false, reason: `ground glass and consolidation are told apart by density, which needs Hounsfield units: ${input.huReason ?? 'the input is not in HU'}` },
    regionRules: {
      thirds: "upper, middle and lower third of each lung's own cranio-caudal extent (patient coordinates)",
      halves: "ventral and dorsal half of each lung's own antero-posterior extent (patient coordinates)",
      depth: `peripheral: at most a third of the lung's greatest depth from its surface (3D Euclidean distance, on blocks of ${blockMm.map((v) => +v.toFixed(2)).join(' × ')} mm, each taking its middle voxel); central: deeper`,
      notes,
    },
    right,
    left,
    total,
    lobes: lobeFigures,
    scores: { assessable, zone, lobarTss: lobeScore(SCORE_LABELS.lobarTss, 20, quarterScore), pan: lobeScore(SCORE_LABELS.pan, 25, panScore) },
  };
}

interface CountArgs {
  side: number;
  /** The lung's bounding box (hi exclusive) and each row's stretch of it. */
  box: Pick<LungScan, 'lo' | 'hi' | 'rowFrom' | 'rowTo'>;
  lungs: Uint8Array;
  /** The CT in HU; undefined without HU (every voxel in band 0, as the figures then use no band). */
  ct: ArrayLike<number> | undefined;
  lesions: Uint8Array;
  lobes: Uint8Array | undefined;
  nx: number;
  ny: number;
  /** World z and y per index (see clinicalFigures). */
  zx: Float64Array; zy: Float64Array; zz: Float64Array; yx: Float64Array; yy: Float64Array; yz: Float64Array;
  zTop: number; zExtent: number; yFront: number; yExtent: number;
  depth: ReturnType<typeof peripheralCells>;
  /** emphysemaBelow, aeratedBelow, infiltratedBelow, collapsedBelow. */
  bands: [number, number, number, number];
  hist: Uint32Array;
  lobeHist: Uint32Array;
}

/**
 * Sorts every voxel of lung `side` into its cell of `hist` (and of `lobeHist`, with lobes).
 * The one hot loop of the figures, a row at a time in a small function of its own: the JIT
 * optimises a function called for every row sooner than a loop inside one long call, which
 * matters on segment's first (and only) call.
 */
function countLung(a: CountArgs): void {
  const { box, ny, zy, zz, yy, yz, zTop, zExtent, yFront, yExtent, depth } = a;
  const [, fy, fz] = depth.factor;
  const [cx, cy] = depth.dims;
  const row: RowCounter = {
    ...a, coarseX: blockIndex(a.nx, depth.lo[0], depth.factor[0]),
    // Axial grids (the x axis has no z or y world component, the usual case): third and half are fixed along a row.
    rowConstant: a.zx.every((v) => v === 0) && a.yx.every((v) => v === 0),
  };
  const [, y0, z0] = box.lo;
  const [, y1, z1] = box.hi;
  const { rowFrom, rowTo } = box;
  for (let k = z0; k < z1; k++) {
    const ck = Math.floor((k - depth.lo[2]) / fz);
    for (let j = y0; j < y1; j++) {
      // Only the row's stretch from its first voxel of this lung to its last (none: an empty stretch).
      const x0 = rowFrom[j + ny * k]!;
      const x1 = rowTo[j + ny * k]!;
      if (x0 === x1) continue;
      const rowZ = zy[j]! + zz[k]!;
      const rowY = yy[j]! + yz[k]!;
      const coarseRow = cx * (Math.floor((j - depth.lo[1]) / fy) + cy * ck);
      // (third·2 + half)·2 of the cell index, fixed along the row on axial grids.
      const rowBase = (thirdOf(3 * (zTop - rowZ), zExtent) * 2 + (2 * (rowY - yFront) < yExtent ? 0 : 1)) * 2;
      countRow(row, a.nx * (j + ny * k), x0, x1, rowZ, rowY, coarseRow, rowBase);
    }
  }
}

interface RowCounter extends CountArgs {
  /** Per x, its block along the coarse grid's x. */
  coarseX: Int32Array;
  rowConstant: boolean;
}

/** The voxels x0 ≤ i < x1 of the row starting at `row`, into their cells (countLung's inner loop). */
function countRow(r: RowCounter, row: number, x0: number, x1: number, rowZ: number, rowY: number, coarseRow: number, rowBase: number): void {
  const { side, lungs, ct, lesions, lobes, zx, yx, zTop, zExtent, yFront, yExtent, hist, lobeHist, coarseX, rowConstant } = r;
  const peripheral = r.depth.peripheral;
  const [b0, b1, b2, b3] = r.bands;
  for (let i = x0; i < x1; i++) {
    const idx = row + i;
    if (lungs[idx] !== side) continue;
    const base = rowConstant ? rowBase : (thirdOf(3 * (zTop - (rowZ + zx[i]!)), zExtent) * 2 + (2 * (rowY + yx[i]! - yFront) < yExtent ? 0 : 1)) * 2;
    const central = peripheral[coarseRow + coarseX[i]!] ? 0 : 1;
    let band = 0;
    if (ct) {
      const v = ct[idx]!;
      band = v < b0 ? 0 : v < b1 ? 1 : v < b2 ? 2 : v < b3 ? 3 : 4;
    }
    const les = lesions[idx] !== 0 ? 1 : 0;
    // cell(third, half, central, band, lesion), written out.
    hist[((base + central) * BANDS + band) * 2 + les]++;
    if (lobes) {
      const lobe = lobes[idx]!;
      if (lobe >= 1 && lobe <= MAX_LOBE_LABEL) lobeHist[(lobe * BANDS + band) * 2 + les]++;
    }
  }
}

/** Per lung (1, 2): voxel count, bounding box (hi exclusive) and world extents of the voxel centres. */
function scanLungs(lungs: LabelMap, zx: Float64Array, zy: Float64Array, zz: Float64Array, yx: Float64Array, yy: Float64Array, yz: Float64Array): LungScan[] {
  const [nx, ny, nz] = lungs.dims;
  const data = lungs.data;
  const scans: LungScan[] = [1, 2].map(() => ({ voxels: 0, lo: [nx, ny, nz], hi: [0, 0, 0], zMin: Infinity, zMax: -Infinity, yMin: Infinity, yMax: -Infinity, rowFrom: new Int32Array(ny * nz), rowTo: new Int32Array(ny * nz) }));
  // Per row, the first and last x and the count of each side (index 1, 2): typed, so the pass allocates nothing.
  const first = new Int32Array(3);
  const last = new Int32Array(3);
  const count = new Int32Array(3);
  // Rows can be skipped eight voxels at a time (two 32-bit words): most of a CT is not lung.
  const words = nx % 8 === 0 && data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2) : undefined;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      scanRow(data, words, nx * (j + ny * k), nx, first, last, count);
      for (let side = 1; side <= 2; side++) {
        if (count[side] === 0) continue;
        const sc = scans[side - 1]!;
        sc.voxels += count[side]!;
        sc.rowFrom[j + ny * k] = first[side]!;
        sc.rowTo[j + ny * k] = last[side]! + 1;
        if (first[side]! < sc.lo[0]) sc.lo[0] = first[side]!;
        if (j < sc.lo[1]) sc.lo[1] = j;
        if (k < sc.lo[2]) sc.lo[2] = k;
        if (last[side]! + 1 > sc.hi[0]) sc.hi[0] = last[side]! + 1;
        if (j + 1 > sc.hi[1]) sc.hi[1] = j + 1;
        if (k + 1 > sc.hi[2]) sc.hi[2] = k + 1;
        // World z and y are linear in x along a row, so their extremes over the row's lung voxels lie at its first and last one.
        for (let e = 0; e < 2; e++) {
          const i = e === 0 ? first[side]! : last[side]!;
          const z = zx[i]! + zy[j]! + zz[k]!;
          const y = yx[i]! + yy[j]! + yz[k]!;
          if (z < sc.zMin) sc.zMin = z;
          if (z > sc.zMax) sc.zMax = z;
          if (y < sc.yMin) sc.yMin = y;
          if (y > sc.yMax) sc.yMax = y;
        }
      }
    }
  }
  return scans;
}

/**
 * One row of the lung map (starting at `row`, `nx` long) into `count` (voxels of each side, index
 * 1 and 2), `first` and `last` (their x); a function of its own for the JIT (see countLung).
 */
function scanRow(data: Uint8Array, words: Uint32Array | undefined, row: number, nx: number, first: Int32Array, last: Int32Array, count: Int32Array): void {
  count[1] = count[2] = 0;
  if (!words) {
    for (let i = 0; i < nx; i++) seeVoxel(data[row + i]!, i, first, last, count);
    return;
  }
  for (let w = row >>> 2, end = (row + nx) >>> 2; w < end; w += 2) {
    const a: number = words[w]!;
    if ((a | words[w + 1]!) === 0) continue;
    const i = 4 * w - row;
    // Eight voxels of one lung (most of a lung's rows): counted at once.
    const side = a === 0x01010101 ? 1 : a === 0x02020202 ? 2 : 0;
    if (side !== 0 && words[w + 1] === a) {
      if (count[side] === 0) first[side] = i;
      last[side] = i + 7;
      count[side]! += 8;
      continue;
    }
    for (let x = i; x < i + 8; x++) seeVoxel(data[row + x]!, x, first, last, count);
  }
}

/** Voxel value `v` at x = `i` of a row, for scanRow. */
function seeVoxel(v: number, i: number, first: Int32Array, last: Int32Array, count: Int32Array): void {
  if (v !== 1 && v !== 2) return;
  if (count[v] === 0) first[v] = i;
  last[v] = i;
  count[v]!++;
}

/**
 * Which voxels of lung `side` are peripheral: distance to the lung's surface at most a
 * third of its greatest depth. The distance is computed on blocks of whole voxels no larger
 * than `gridMm` (a block is lung when its middle voxel is), and every voxel takes its
 * block's answer; blocks outside the coarse lung (its thin edges) are peripheral.
 */
function peripheralCells(lungs: LabelMap, side: number, sc: LungScan, gridMm: number): { peripheral: Uint8Array; lo: Vec3; factor: Vec3; dims: Vec3; blockMm: Vec3; maxMm: number } {
  const [nx, ny] = lungs.dims;
  const s = lungs.spacingMm;
  const factor = [0, 1, 2].map((a) => Math.max(1, Math.floor(gridMm / s[a]! + 1e-9))) as Vec3;
  // The lung's box and one block of the scan around it, so that the lung's surface has background beyond it.
  const lo = [0, 1, 2].map((a) => Math.max(0, sc.lo[a]! - factor[a]!)) as Vec3;
  const hi = [0, 1, 2].map((a) => Math.min(lungs.dims[a]!, sc.hi[a]! + factor[a]!)) as Vec3;
  const box = [0, 1, 2].map((a) => hi[a]! - lo[a]!) as Vec3;
  const dims = [0, 1, 2].map((a) => Math.ceil(box[a]! / factor[a]!)) as Vec3;
  const blockMm = [0, 1, 2].map((a) => factor[a]! * s[a]!) as Vec3;
  const [cx, cy, cz] = dims;
  // Each block takes the label of its middle voxel (nearest-neighbour subsampling; blocks of one voxel are the voxel).
  const coarse = new Uint8Array(cx * cy * cz);
  const mid = factor.map((f, a) => (c: number) => lo[a]! + Math.min(c * f + (f >> 1), box[a]! - 1));
  const data = lungs.data;
  for (let k = 0, c = 0; k < cz; k++) for (let j = 0; j < cy; j++) {
    const row = nx * (mid[1]!(j) + ny * mid[2]!(k));
    for (let i = 0; i < cx; i++, c++) coarse[c] = data[row + mid[0]!(i)] === side ? 1 : 0;
  }
  const dist = distanceTransform(coarse, dims, blockMm);
  const peripheral = new Uint8Array(coarse.length).fill(1);
  if (dist.empty) return { peripheral, lo, factor, dims, blockMm, maxMm: 0 };
  const limit = dist.maxMm / 3;
  const [bx, by] = dist.dims;
  for (let k = dist.lo[2]; k < dist.hi[2]; k++) for (let j = dist.lo[1]; j < dist.hi[1]; j++) for (let i = dist.lo[0]; i < dist.hi[0]; i++) {
    const v = dist.distanceMm[i - dist.lo[0] + bx * (j - dist.lo[1] + by * (k - dist.lo[2]))]!;
    if (v > limit) peripheral[i + cx * (j + cy * k)] = 0;
  }
  return { peripheral, lo, factor, dims, blockMm, maxMm: dist.maxMm };
}

/** For each x of a grid `n` wide, its block along a box starting at `lo` with blocks of `f` voxels. */
function blockIndex(n: number, lo: number, f: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = lo; i < n; i++) out[i] = Math.floor((i - lo) / f);
  return out;
}

/** 0 upper, 1 middle, 2 lower, from three times the distance below the lung's top. */
function thirdOf(threeFromTop: number, extent: number): number {
  return threeFromTop < extent ? 0 : threeFromTop < 2 * extent ? 1 : 2;
}
