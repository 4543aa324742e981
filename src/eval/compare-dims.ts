/**
 * The method's 2D-versus-3D comparison, case by case: a 3D model's evaluation on the 3D
 * database's volumes beside a 2D model's on the same cases' 2D slices. Each model is scored
 * on its own database grid (3D: 0.9×0.9×4.5 mm volume; 2D: the 320² slices), as the method
 * scored its two networks; what is compared is the case, not the voxel.
 *
 * Which 2D slices a volume's are: for a stacked volume (zenodo-slice-stacks), the 2D-only
 * cases built from its slice files; for any other volume, every 2D slice of its patient group.
 */
import { basename } from 'node:path';
import type { Manifest } from '../database/index.js';
import { CovsegError } from '../util/errors.js';
import { metricStats } from '../metrics/index.js';
import type { Evaluation, SliceResult } from './evaluation.js';
import { formatValue } from './table.js';

/** One model's scores on one case. */
export interface DimsScores {
  /** Slices scored per slice: 2D, the case's slices; 3D, the volume's axial slices with reference voxels. */
  slices: number;
  /** Dice of the case's counts pooled (the whole volume, or all its 2D slices). */
  dice: number;
  /** Mean and sample std of the per-slice Dice over `slices`. */
  sliceDiceMean: number;
  sliceDiceStd: number;
}

export interface DimsCaseRow {
  /** The 3D case id. */
  id: string;
  patientGroup: string | null;
  split: string;
  d2: DimsScores;
  d3: DimsScores;
}

export interface DimsSplitRow {
  split: string;
  cases: number;
  /** Mean and std over cases of each model's case Dice and per-slice Dice mean. */
  d2: { diceMean: number; diceStd: number; sliceDiceMean: number; sliceDiceStd: number };
  d3: { diceMean: number; diceStd: number; sliceDiceMean: number; sliceDiceStd: number };
}

export interface DimsComparison {
  model2d: string;
  model3d: string;
  rows: DimsCaseRow[];
  splits: DimsSplitRow[];
  /** 3D cases without any 2D slice in the 2D evaluation (left out of the rows). */
  unmatched: string[];
}

/**
 * The method's reported Dice (its Table 2, per slice for 2D, per volume for 3D), shown
 * beside ours; its 2D split put slices of one patient in train and test.
 */
export const METHOD_REPORTED: Record<string, { d2: number; d3: number }> = {
  train: { d2: 0.68, d3: 0.42 },
  validation: { d2: 0.52, d3: 0.43 },
  test: { d2: 0.60, d3: 0.64 },
};

/**
 * For each volume of `manifest`, the ids of the 2D slices that are the same slices of the
 * patient (stacked volumes), or undefined (every 2D slice of its patient group then is).
 */
export function volumeSliceIds(manifest: Pick<Manifest, 'cases'>): Map<string, Set<string> | undefined> {
  const byGroup = new Map<string, Manifest['cases']>();
  for (const r of manifest.cases) {
    if (r.kind !== 'slice') continue;
    let list = byGroup.get(r.patientGroup);
    if (!list) byGroup.set(r.patientGroup, (list = []));
    list.push(r);
  }
  const out = new Map<string, Set<string> | undefined>();
  for (const r of manifest.cases) {
    if (r.kind !== 'volume') continue;
    if (!r.stack) {
      out.set(r.caseId, undefined);
      continue;
    }
    const files = new Set(r.stack);
    // A 2D-only slice's one 2D file is named by its case id (Slice-NNNNN.png).
    out.set(r.caseId, new Set((byGroup.get(r.patientGroup) ?? []).filter((s) => files.has(basename(s.inputFiles.image))).map((s) => s.caseId)));
  }
  return out;
}

function scoresOf(slices: readonly SliceResult[], pooledDice: number): DimsScores {
  const stats = metricStats(slices.map((s) => s.dice));
  return { slices: slices.length, dice: pooledDice, sliceDiceMean: stats.mean, sliceDiceStd: stats.std };
}

function pooledDice(slices: readonly SliceResult[]): number {
  let tp = 0, fp = 0, fn = 0;
  for (const s of slices) {
    tp += s.confusion.tp;
    fp += s.confusion.fp;
    fn += s.confusion.fn;
  }
  return tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Pairs each 3D case of `eval3d` with its 2D slices in `eval2d` (`sliceIds`, from
 * volumeSliceIds; a volume not in it takes its patient group's slices).
 */
export function compareDims(eval3d: Evaluation, eval2d: Evaluation, sliceIds: ReadonlyMap<string, Set<string> | undefined> = new Map()): DimsComparison {
  if (eval3d.model.spec.dims !== 3 || eval2d.model.spec.dims !== 2) {
    throw new CovsegError(`compareDims: needs a 3D and a 2D evaluation, got ${eval3d.model.spec.dims}D and ${eval2d.model.spec.dims}D`);
  }
  const rows: DimsCaseRow[] = [];
  const unmatched: string[] = [];
  for (const c of eval3d.cases) {
    const ids = sliceIds.get(c.id);
    // 2D slice results are keyed by their slice name (the 2D-only case id) and pooled by patient group.
    const own2d = eval2d.slices.filter((s) => s.caseId === c.patientGroup && (ids === undefined || ids.has(s.id)));
    if (own2d.length === 0) {
      unmatched.push(c.id);
      continue;
    }
    const own3d = eval3d.slices.filter((s) => s.caseId === c.id && s.reference_voxels > 0);
    rows.push({ id: c.id, patientGroup: c.patientGroup, split: c.split, d2: scoresOf(own2d, pooledDice(own2d)), d3: scoresOf(own3d, c.dice) });
  }
  const splits: DimsSplitRow[] = [];
  for (const split of [...new Set(rows.map((r) => r.split))]) {
    const own = rows.filter((r) => r.split === split);
    const sum = (pick: (r: DimsCaseRow) => DimsScores) => {
      const dice = metricStats(own.map((r) => pick(r).dice));
      const slice = metricStats(own.map((r) => pick(r).sliceDiceMean));
      return { diceMean: dice.mean, diceStd: dice.std, sliceDiceMean: slice.mean, sliceDiceStd: slice.std };
    };
    splits.push({ split, cases: own.length, d2: sum((r) => r.d2), d3: sum((r) => r.d3) });
  }
  return { model2d: eval2d.model.file, model3d: eval3d.model.file, rows, splits, unmatched };
}

const pm = (mean: number, std: number) => (Number.isFinite(mean) ? `${mean.toFixed(2)} ± ${Number.isFinite(std) ? std.toFixed(2) : '–'}` : '–');

/** The comparison as markdown: one row per case, then mean ± std over cases per split, with the method's figures. */
export function dimsComparisonMarkdown(cmp: DimsComparison): string {
  const lines = [
    `# 2D vs 3D, case by case`,
    '',
    `- 2D model: \`${cmp.model2d}\` on the case's 2D slices; 3D model: \`${cmp.model3d}\` on the case's volume`,
    '- Dice: the case\'s counts pooled (whole volume / all its slices); per slice: mean ± std over the case\'s slices with lesion (3D: its axial slices at 4.5 mm)',
    '',
    '| case | patient group | split | 2D slices | 2D Dice | 2D per slice | 3D slices | 3D Dice | 3D per slice |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
    ...cmp.rows.map((r) => `| ${r.id} | ${r.patientGroup ?? '–'} | ${r.split} | ${r.d2.slices} | ${formatValue(r.d2.dice, 2)} | ${pm(r.d2.sliceDiceMean, r.d2.sliceDiceStd)} | ${r.d3.slices} | ${formatValue(r.d3.dice, 2)} | ${pm(r.d3.sliceDiceMean, r.d3.sliceDiceStd)} |`),
    '',
    '| split | cases | 2D Dice | 2D per slice | 3D Dice | 3D per slice | method 2D (per slice) | method 3D |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...cmp.splits.map((s) => {
      const m = METHOD_REPORTED[s.split];
      return `| ${s.split} | ${s.cases} | ${pm(s.d2.diceMean, s.d2.diceStd)} | ${pm(s.d2.sliceDiceMean, s.d2.sliceDiceStd)} | ${pm(s.d3.diceMean, s.d3.diceStd)} | ${pm(s.d3.sliceDiceMean, s.d3.sliceDiceStd)} | ${m ? m.d2.toFixed(2) : '–'} | ${m ? m.d3.toFixed(2) : '–'} |`;
    }),
    '',
    '- mean ± std over cases (sample std); the method\'s figures are its own data and split (79 cases, slices of one patient in train and test for 2D)',
    ...(cmp.unmatched.length ? [`- 3D cases without 2D slices in the 2D evaluation, left out: ${cmp.unmatched.join(', ')}`] : []),
    '',
  ];
  return lines.join('\n');
}
