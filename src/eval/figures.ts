/**
 * Evaluation figures, as the method's Figures 5 and 6: the CT slice with prediction
 * versus reference (TP, FP, FN in the colour-blind-safe colours of figures/colors.ts)
 * for the best, median and worst case of a split, each on the case's slice with the
 * most reference voxels; Dice mean ± std per split; Dice per case.
 */
import { join } from 'node:path';
import { barPlot, comparisonOverlay, ctSliceToRgb, grid, panel, saveFigure, type BarSeries, type RgbImage } from '../figures/index.js';
import { resizeSlice } from '../volume/index.js';
import { CovsegError } from '../util/errors.js';
import { writeFilesAtomic, type PendingFile } from '../util/output-target.js';
import type { CaseResult, Evaluation } from './evaluation.js';
import { formatValue } from './table.js';

/** One slice kept for figures: the CT and the masks, all of shape [height, width]. */
export interface FigureSlice {
  caseId: string;
  /** The slice's id (file name or `<case>_zNNN`). */
  sliceId: string;
  width: number;
  height: number;
  /** The slice as the model saw it: 8-bit pictures (database PNGs, JPEGs) or normalised [0, 1] floats (3D database). */
  image: Uint8Array | Float32Array;
  prediction: Uint8Array;
  reference: Uint8Array;
  /** Reference voxels on this slice (the slice is the case's one with the most). */
  referenceVoxels: number;
  predictedVoxels: number;
}

/** Slices smaller than this are magnified by a whole factor to reach it, so small lesions stay visible. */
const MIN_FIGURE_SIDE = 480;

export interface ComparisonPanelOptions {
  /** Text scale of titles and key. Defaults to 1 below 400 px, else 2. */
  scale?: number;
}

/**
 * The CT slice with TP/FP/FN painted and a colour key, under two title lines (e.g.
 * "best: Dice 0.81" and the case id). Small slices are magnified (CT bilinear, masks
 * nearest) before painting.
 */
export function comparisonPanel(slice: FigureSlice, titles: readonly [string, string], options: ComparisonPanelOptions = {}): RgbImage {
  const { width: w, height: h } = slice;
  const k = Math.max(1, Math.ceil(MIN_FIGURE_SIDE / Math.max(w, h)));
  const grow = (mask: Uint8Array): Uint8Array => (k === 1 ? mask : (resizeSlice(mask, w, h, w * k, h * k, { interpolation: 'nearest' }) as Uint8Array));
  let image = slice.image;
  if (k > 1) {
    const magnified = resizeSlice(slice.image, w, h, w * k, h * k, { interpolation: 'bilinear' }) as Float32Array;
    // Bilinear blends of 8-bit values stay in 0…255: rounding keeps the picture 8-bit (window [0, 255]).
    image = slice.image instanceof Uint8Array ? Uint8Array.from(magnified, (v) => Math.round(v)) : magnified;
  }
  const window = image instanceof Uint8Array ? undefined : isUnitRange(image) ? ([0, 1] as const) : ('auto' as const);
  const ct = ctSliceToRgb(image, w * k, h * k, window ? { window } : {});
  const scale = options.scale ?? (w * k < 400 ? 1 : 2);
  const overlay = comparisonOverlay(ct, grow(slice.prediction), grow(slice.reference), { scale });
  return panel(panel(overlay, titles[1], { scale }), titles[0], { scale });
}

function isUnitRange(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!(a[i]! >= 0 && a[i]! <= 1)) return false;
  return true;
}

/**
 * Best, median and worst case by Dice (ties broken by case id), each distinct case once:
 * a split with one case gives one entry, with two gives best and worst.
 */
export function bestMedianWorst(cases: readonly CaseResult[]): { label: 'best' | 'median' | 'worst'; case: CaseResult }[] {
  const sorted = [...cases].sort((a, b) => b.dice - a.dice || a.id.localeCompare(b.id));
  if (sorted.length === 0) return [];
  const picks: { label: 'best' | 'median' | 'worst'; case: CaseResult }[] = [{ label: 'best', case: sorted[0]! }];
  if (sorted.length >= 3) picks.push({ label: 'median', case: sorted[Math.floor((sorted.length - 1) / 2)]! });
  if (sorted.length >= 2) picks.push({ label: 'worst', case: sorted[sorted.length - 1]! });
  return picks;
}

/** Figure 5/6: best, median and worst case of `cases` side by side. */
export function bestMedianWorstFigure(cases: readonly CaseResult[], slices: ReadonlyMap<string, FigureSlice>): RgbImage {
  const panels = bestMedianWorst(cases).map(({ label, case: c }) => {
    const slice = slices.get(c.id);
    if (!slice) throw new CovsegError(`no figure slice kept for case ${c.id}; evaluate with figure slices kept`);
    const lungs = Number.isFinite(c.dice_in_lungs) ? ` (in lungs ${formatValue(c.dice_in_lungs, 2)})` : '';
    return comparisonPanel(slice, [`${label}: Dice ${formatValue(c.dice, 2)}${lungs}`, slice.sliceId === c.id ? c.id : `${c.id} · ${slice.sliceId}`]);
  });
  if (panels.length === 0) throw new CovsegError('bestMedianWorstFigure: no cases; evaluate at least one case');
  return grid(panels, { columns: panels.length, gap: 6 });
}

/**
 * The method's Figure 5: one case per split (its median by Dice), each on its slice with
 * the most reference voxels, prediction versus reference. `cases` of several splits.
 */
export function onePerSplitFigure(cases: readonly CaseResult[], slices: ReadonlyMap<string, FigureSlice>): RgbImage {
  const splits = [...new Set(cases.map((c) => c.split))];
  const panels = splits.map((split) => {
    const sorted = cases.filter((c) => c.split === split).sort((a, b) => b.dice - a.dice || a.id.localeCompare(b.id));
    const c = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const slice = slices.get(c.id);
    if (!slice) throw new CovsegError(`no figure slice kept for case ${c.id}; evaluate with figure slices kept`);
    return comparisonPanel(slice, [`${split} (median of ${sorted.length}): Dice ${formatValue(c.dice, 2)}`, `${c.patientGroup ?? c.id} · ${slice.sliceId}`]);
  });
  if (panels.length === 0) throw new CovsegError('onePerSplitFigure: no cases; evaluate at least one case');
  return grid(panels, { columns: panels.length, gap: 6 });
}

/** Bar plot of Dice mean ± std per split (and over all splits when there are several). */
export function dicePerSplitFigure(evaluation: Evaluation): RgbImage {
  const entries = Object.entries(evaluation.splits);
  if (entries.length > 1) entries.push(['all', evaluation.summary]);
  const categories = entries.map(([name, s]) => `${name} (n=${s.n})`);
  const series: BarSeries[] = [{ name: 'Dice per case', values: entries.map(([, s]) => s.dice_mean), errors: entries.map(([, s]) => s.dice_std) }];
  if (entries.some(([, s]) => s.dice_in_lungs_n > 0)) {
    series.push({ name: 'Dice in lungs', values: entries.map(([, s]) => s.dice_in_lungs_mean), errors: entries.map(([, s]) => s.dice_in_lungs_std) });
  }
  series.push({ name: 'Dice per slice', values: entries.map(([, s]) => s.slice_dice_mean), errors: entries.map(([, s]) => s.slice_dice_std) });
  return barPlot({
    categories,
    series,
    title: `${evaluation.task} Dice, mean ± std (${shortName(evaluation.model.file)})`,
    yLabel: 'Dice',
    width: Math.max(640, 220 * categories.length),
  });
}

/** Bars of each case's Dice, best first; case labels drop a shared 'source:' prefix to fit. */
export function dicePerCaseFigure(cases: readonly CaseResult[], title: string): RgbImage {
  if (cases.length === 0) throw new CovsegError('dicePerCaseFigure: no cases; evaluate at least one case');
  const sorted = [...cases].sort((a, b) => b.dice - a.dice || a.id.localeCompare(b.id));
  const short = sorted.map((c) => c.id.slice(c.id.indexOf(':') + 1));
  const labels = new Set(short).size === short.length ? short : sorted.map((c) => c.id);
  return barPlot({
    categories: labels,
    series: [{ name: 'Dice', values: sorted.map((c) => c.dice) }],
    title,
    yLabel: 'Dice',
    yRange: [0, 1.1],
    valueLabels: sorted.length <= 16,
    width: Math.min(1800, Math.max(640, 120 + 32 * sorted.length)),
  });
}

function shortName(file: string): string {
  const parts = file.split('/');
  return parts.slice(-2).join('/');
}

/**
 * The figures' files in `dir`, drawn, to be written: `dice-per-split.png`, per split
 * `<split>-best-median-worst.png` and `<split>-dice-per-case.png`, and for a 3D model
 * `one-case-per-split.png` (Figure 5).
 */
export function evaluationFigureFiles(evaluation: Evaluation, slices: ReadonlyMap<string, FigureSlice>, dir: string): PendingFile[] {
  const figures: [string, RgbImage][] = [['dice-per-split.png', dicePerSplitFigure(evaluation)]];
  if (evaluation.model.spec.dims === 3) figures.push(['one-case-per-split.png', onePerSplitFigure(evaluation.cases, slices)]);
  for (const [split, s] of Object.entries(evaluation.splits)) {
    const cases = evaluation.cases.filter((c) => c.split === split);
    figures.push([`${split}-best-median-worst.png`, bestMedianWorstFigure(cases, slices)]);
    figures.push([`${split}-dice-per-case.png`, dicePerCaseFigure(cases, `Dice per case, ${split}: ${formatValue(s.dice_mean, 2)} ± ${formatValue(s.dice_std, 2)} (n = ${s.n})`)]);
  }
  return figures.map(([name, img]) => ({ path: join(dir, name), write: (tmp: string) => saveFigure(tmp, img) }));
}

/** Writes the figures into `dir` (see evaluationFigureFiles), all or none. Returns the paths. */
export async function writeEvaluationFigures(evaluation: Evaluation, slices: ReadonlyMap<string, FigureSlice>, dir: string): Promise<string[]> {
  const files = evaluationFigureFiles(evaluation, slices, dir);
  await writeFilesAtomic(files);
  return files.map((f) => f.path);
}
