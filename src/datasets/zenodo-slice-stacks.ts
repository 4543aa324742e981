/**
 * `zenodo-slice-stacks`: the zenodo-slices PNGs of each coronacases group stacked back into
 * volumes. A coronacases group is consecutive axial slices of one Zenodo 3757476 scan (the
 * middle 60 % of the volume, only slices with infection kept), so in file order it is a
 * volume with occasional gaps where infection-free slices were left out. The gaps are found
 * from neighbour similarity (see `findGaps` and src/datasets/README.md for the measured
 * distributions), the group is cut there, and every run at least MIN_RUN_MM long becomes one
 * volume case with the spacing of STACK_SPACING_MM. Shorter runs, and the Radiopaedia groups
 * (their slice spacing cannot be recovered), stay in the 2D database only, where the
 * zenodo-slices source already puts every slice: this source writes no 2D slices.
 * Its volumes share the zenodo-slices groups' patientGroup, so a patient's slices and its
 * volumes always sit in the same split.
 */
import { basename, dirname, join } from 'node:path';
import { createVolume, type LabelMap, type Vec3, type Volume } from '../volume/volume.js';
import { CovsegError } from '../util/errors.js';
import { isDirectory, isFile, naturalCompare, readCsv, requireRoot } from './files.js';
import { readCaseFile } from './load-case.js';
import { zenodoSliceGroup, zenodoSlices } from './zenodo-slices.js';
import type { CaseFiles, CaseRef, DatasetAdapter, LoadedCase, SourceScan } from './types.js';

const LAYOUT = 'the zenodo-slices folder: ct/NNNN.png, lungs/NNNN.png, covid/NNNN.png and slices.csv (the groups)';

/**
 * Voxel size [x, y, z] in mm given to the stacked volumes. Neither the export nor its
 * publisher states it; inferred: the coronacases scans are 512×512 CTs whose in-plane
 * spacing is not published either, ~0.7 mm for a ~360 mm adult chest field of view (the
 * body spans ~220 of the export's 256 columns: ~310 mm at 1.4 mm), exported at 256² (×2);
 * slice spacing 1.0 mm: the slices of a group are consecutive slices of the scan, and
 * coronacases_001's 301 slices (the one count a public notebook prints) then cover the
 * ~300 mm of a chest scan.
 */
export const STACK_SPACING_MM: Vec3 = [1.4, 1.4, 1.0];

/**
 * Shortest run stacked, in mm: the 3D U-Net halves z four times, so its coarsest level sees
 * 16 slices of the method's 4.5 mm grid (72 mm); a thinner volume is all padding there.
 */
export const MIN_RUN_MM = 72;

/**
 * A gap lies between two neighbours whose image change and lung-mask change are both more
 * than GAP_RATIO times their group's median (the measured margin: every accepted jump ≥ 9.4×
 * on both, every rejected pair < 3.7× on one of them; src/datasets/README.md).
 */
export const GAP_RATIO = 6;

/** Side of the blocks averaged before images are compared: smooths Radiopaedia's noise. */
const BLOCK = 8;
/** Smallest median change a ratio is taken against, so a run of identical slices has no gap. */
const MEDIAN_FLOOR = 1e-4;

/** How two neighbouring slices differ. */
export interface NeighbourChange {
  /**
   * 1 − Pearson correlation of the two images' 8×8-block means: insensitive to the
   * per-slice min-max scaling and CLAHE of the export, which shift contrast between
   * neighbours that show the same anatomy.
   */
  image: number;
  /** 1 − Dice of the two lung masks (0 when neither has lung): anatomy only, no contrast. */
  lung: number;
}

function blockMeans(slice: Volume, block: number): Float64Array {
  const [nx, ny] = slice.dims;
  const bx = Math.ceil(nx / block);
  const by = Math.ceil(ny / block);
  const sums = new Float64Array(bx * by);
  const counts = new Float64Array(bx * by);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const k = Math.floor(y / block) * bx + Math.floor(x / block);
      sums[k]! += slice.data[y * nx + x]!;
      counts[k]!++;
    }
  }
  for (let k = 0; k < sums.length; k++) sums[k]! /= counts[k]!;
  return sums;
}

function correlation(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let sa = 0, sb = 0;
  for (let i = 0; i < n; i++) {
    sa += a[i]!;
    sb += b[i]!;
  }
  const ma = sa / n, mb = sb / n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    ab += da * db;
    aa += da * da;
    bb += db * db;
  }
  // Two flat images are alike; a flat one next to a structured one is not.
  if (aa === 0 || bb === 0) return aa === bb ? 1 : 0;
  return ab / Math.sqrt(aa * bb);
}

function dice(a: LabelMap, b: LabelMap): number {
  let both = 0, sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i]! > 0, y = b.data[i]! > 0;
    if (x && y) both++;
    sum += Number(x) + Number(y);
  }
  return sum === 0 ? 1 : (2 * both) / sum;
}

/** The change between two neighbouring slices (each nz = 1, same grid). */
export function neighbourChange(a: { ct: Volume; lung: LabelMap }, b: { ct: Volume; lung: LabelMap }): NeighbourChange {
  if (a.ct.dims.some((d, i) => d !== b.ct.dims[i])) throw new CovsegError(`neighbourChange: slices of ${a.ct.dims.join('×')} and ${b.ct.dims.join('×')}; a run's slices share one grid`);
  return { image: 1 - correlation(blockMeans(a.ct, BLOCK), blockMeans(b.ct, BLOCK)), lung: 1 - dice(a.lung, b.lung) };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
}

/**
 * The gaps of a run of slices, from the changes between neighbours (`changes[i]`: slice i
 * to i+1): the indices i with a gap between slice i and i+1, ascending. Relative to the
 * group's own medians, because a thin-slice HU scan and a noisy windowed one differ by
 * ten times in how much neighbours change.
 */
export function findGaps(changes: readonly NeighbourChange[], ratio = GAP_RATIO): number[] {
  const image = Math.max(median(changes.map((c) => c.image)), MEDIAN_FLOOR);
  const lung = Math.max(median(changes.map((c) => c.lung)), MEDIAN_FLOOR);
  const gaps: number[] = [];
  changes.forEach((c, i) => {
    if (c.image > ratio * image && c.lung > ratio * lung) gaps.push(i);
  });
  return gaps;
}

/** The runs [first, last] (slice indices, inclusive) of `n` slices cut at `gaps` (findGaps' indices). */
export function cutRuns(n: number, gaps: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  for (const g of [...gaps].sort((a, b) => a - b)) {
    if (g < start || g >= n - 1) continue;
    runs.push([start, g]);
    start = g + 1;
  }
  if (n > 0) runs.push([start, n - 1]);
  return runs;
}

/** Whether a run of `slices` slices spaced `spacingZ` mm is long enough to stack (MIN_RUN_MM). */
export function isStackable(slices: number, spacingZ = STACK_SPACING_MM[2], minRunMm = MIN_RUN_MM): boolean {
  return slices * spacingZ >= minRunMm;
}

/**
 * Slices (each nz = 1, one grid) stacked in order into one volume of `spacingMm`: slice k
 * at z = k, origin 0, identity direction (the export's rows run anterior→posterior and its
 * columns patient right→left, as the LPS axes; the groups' file order runs from the
 * abdomen up).
 */
export function stackSlices<T extends Volume>(slices: readonly T[], spacingMm: Vec3 = STACK_SPACING_MM): T {
  const first = slices[0];
  if (!first) throw new CovsegError('stackSlices: no slices');
  const [nx, ny] = first.dims;
  const n = nx * ny;
  const data = new (first.data.constructor as new (length: number) => T['data'])(n * slices.length);
  slices.forEach((s, z) => {
    if (s.dims[0] !== nx || s.dims[1] !== ny || s.dims[2] !== 1) throw new CovsegError(`stackSlices: slice ${z} is ${s.dims.join('×')}, the first ${nx}×${ny}×1; a run's slices share one grid`);
    data.set(s.data, z * n);
  });
  return createVolume(data, [nx, ny, slices.length], { spacingMm, origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }) as T;
}

/** The files of each slice of a stacked case, in z order. */
export function stackFiles(ref: CaseRef): CaseFiles[] {
  if (!ref.stack) return [ref.files];
  const dirs = { image: dirname(ref.files.image), lesion: dirname(ref.files.lesion), lung: ref.files.lung && dirname(ref.files.lung) };
  return ref.stack.map((name) => ({ image: join(dirs.image, name), lesion: join(dirs.lesion, name), ...(dirs.lung ? { lung: join(dirs.lung, name) } : {}) }));
}

/** One group's slices in file order, the changes between neighbours, its gaps and its runs. */
export interface GroupRuns {
  group: string;
  files: string[];
  changes: NeighbourChange[];
  gaps: number[];
  runs: [number, number][];
}

/** Reads a group's slices (ct and lung, as zenodo-slices loads them) and finds its runs. */
export async function groupRuns(root: string, group: string, files: readonly string[], ratio = GAP_RATIO): Promise<GroupRuns> {
  const ordered = [...files].sort(naturalCompare);
  const changes: NeighbourChange[] = [];
  let previous: { ct: Volume; lung: LabelMap } | undefined;
  for (const name of ordered) {
    const ct = await readCaseFile(join(root, 'ct', name), 'CT image');
    const lungFile = await readCaseFile(join(root, 'lungs', name), 'lung mask');
    const lungData = new Uint8Array(lungFile.data.length);
    // The masks are 0/255 grey pictures: ≥ 128 is lung (as harmonise.ts reads them).
    for (let i = 0; i < lungData.length; i++) lungData[i] = lungFile.data[i]! >= 128 ? 1 : 0;
    const current = { ct, lung: createVolume(lungData, lungFile.dims, lungFile) };
    if (previous) changes.push(neighbourChange(previous, current));
    previous = current;
  }
  const gaps = findGaps(changes, ratio);
  return { group, files: ordered, changes, gaps, runs: cutRuns(ordered.length, gaps) };
}

/** slices.csv's groups: group → its files, in the order the csv lists them. */
export async function readGroups(root: string): Promise<Map<string, string[]>> {
  const csv = join(root, 'slices.csv');
  if (!(await isFile(csv))) throw new CovsegError(`no slices.csv: the stacks need its patient groups (file,patient_group); the folder is expected as ${LAYOUT}`, { file: root });
  const groups = new Map<string, string[]>();
  for (const row of await readCsv(csv, ['file', 'patient_group'])) {
    const file = row['file'], group = row['patient_group'];
    if (!file || !group) continue;
    let list = groups.get(group);
    if (!list) groups.set(group, (list = []));
    list.push(file);
  }
  return groups;
}

const stem = (name: string) => basename(name).replace(/\.png$/i, '');

export async function scanZenodoSliceStacks(root: string): Promise<SourceScan> {
  await requireRoot(root, 'zenodo-slice-stacks', LAYOUT);
  for (const dir of ['ct', 'lungs', 'covid']) {
    if (!(await isDirectory(join(root, dir)))) throw new CovsegError(`no ${dir}/ folder; the slice set is expected as ${LAYOUT} (gaps are found from the lung masks, so lungs/ is needed)`, { file: root });
  }
  const groups = await readGroups(root);
  const cases: CaseRef[] = [];
  const notes: string[] = [];
  let shortRuns = 0;
  let stacked = 0;
  const radiopaedia = [...groups.keys()].filter((g) => !/^coronacases_\d+$/.test(g)).length;
  for (const [group, files] of [...groups].sort(([a], [b]) => naturalCompare(a, b))) {
    if (!/^coronacases_\d+$/.test(group)) continue;
    const found = await groupRuns(root, group, files);
    const kept = found.runs.filter(([a, b]) => isStackable(b - a + 1));
    shortRuns += found.runs.length - kept.length;
    notes.push(`${group}: ${found.files.length} slices, ${found.gaps.length} gap${found.gaps.length === 1 ? '' : 's'}${found.gaps.length ? ` (before ${found.gaps.map((g) => found.files[g + 1]).join(', ')})` : ''}, runs of ${found.runs.map(([a, b]) => b - a + 1).join(' + ')} slices, ${kept.length} stacked`);
    for (const [a, b] of kept) {
      const names = found.files.slice(a, b + 1);
      const files: CaseFiles = { image: join(root, 'ct', names[0]!), lesion: join(root, 'covid', names[0]!), lung: join(root, 'lungs', names[0]!) };
      cases.push({ source: 'zenodo-slice-stacks', originalId: `${group}_${stem(names[0]!)}-${stem(names.at(-1)!)}`, kind: 'volume', patientGroup: zenodoSliceGroup(group), files, stack: names });
      stacked += names.length;
    }
  }
  cases.sort((a, b) => naturalCompare(a.originalId, b.originalId));
  notes.push(`${cases.length} volumes of ${stacked} slices (spacing ${STACK_SPACING_MM.join('×')} mm, inferred); ${shortRuns} run${shortRuns === 1 ? '' : 's'} shorter than ${MIN_RUN_MM} mm and ${radiopaedia} Radiopaedia group${radiopaedia === 1 ? '' : 's'} (slice spacing unknown) left to the 2D database`);
  return { source: 'zenodo-slice-stacks', root, cases, notes };
}

/** Reads a stacked case: each slice as zenodo-slices reads it, then the slices stacked. */
async function loadZenodoSliceStack(ref: CaseRef): Promise<LoadedCase> {
  const { stack: _names, ...plain } = ref;
  const slices: LoadedCase[] = [];
  for (const files of stackFiles(ref)) slices.push(await zenodoSlices.load({ ...plain, source: 'zenodo-slices', kind: 'slice', files }));
  const first = slices[0];
  if (!first) throw new CovsegError('the stack lists no slices; rebuild the database', { file: ref.files.image });
  const lungs = slices.map((s) => s.lungMask);
  if (lungs.some((l) => l === undefined)) throw new CovsegError('a slice of the stack has no lung mask; the stacks need lungs/ for every slice', { file: ref.files.lung ?? ref.files.image });
  return {
    ref,
    ct: stackSlices(slices.map((s) => s.ct)),
    lesionMask: stackSlices(slices.map((s) => s.lesionMask)),
    lungMask: stackSlices(lungs as LabelMap[]),
    isHu: false,
    huReason: first.huReason,
    warnings: slices.flatMap((s) => s.warnings),
  };
}

export const zenodoSliceStacks: DatasetAdapter = {
  source: 'zenodo-slice-stacks',
  kind: 'volume',
  layout: LAYOUT,
  scan: scanZenodoSliceStacks,
  load: loadZenodoSliceStack,
  no2dSlices: 'its slices are the zenodo-slices source\'s own (build both into one database: the 2D database gets them from zenodo-slices)',
};
