/**
 * The evaluation in words: a markdown report with the method's Table 2 layout (one row
 * per case, then mean ± std, median [min, max], pooled and per-slice rows per split), and
 * the few lines `covseg evaluate` prints.
 */
import type { CaseResult, Evaluation, SplitSummary } from './evaluation.js';

export interface MarkdownOptions {
  /** Decimals of Dice, sensitivity and precision ("0.42 ± 0.23" has 2). Defaults to 2. */
  decimals?: number;
  /** Title line. Defaults to "Evaluation of <model file>". */
  title?: string;
}

/** A value with `decimals` decimals; undefined values (NaN) as '–'. */
export function formatValue(value: number, decimals: number): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : '–';
}

/** "mean ± std" as the method writes it, or '–' when no case defines the metric. */
export function formatMeanStd(summary: SplitSummary, metric: 'dice' | 'dice_in_lungs' | 'sensitivity' | 'specificity' | 'precision' | 'slice_dice', decimals: number): string {
  const mean = summary[`${metric}_mean`];
  return Number.isFinite(mean) ? `${mean.toFixed(decimals)} ± ${summary[`${metric}_std`].toFixed(decimals)}` : '–';
}

function medianRange(summary: SplitSummary, metric: 'dice' | 'dice_in_lungs' | 'sensitivity' | 'precision', decimals: number): string {
  const median = summary[`${metric}_median`];
  if (!Number.isFinite(median)) return '–';
  return `${median.toFixed(decimals)} [${summary[`${metric}_min`].toFixed(decimals)}, ${summary[`${metric}_max`].toFixed(decimals)}]`;
}

/** Reference size: mL when the voxel size is known, else pixels. */
function referenceSize(c: CaseResult): string {
  return Number.isFinite(c.reference_ml) ? `${c.reference_ml.toFixed(1)} mL` : `${c.reference_voxels} px`;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** The Table 2 block: header, one row per case, summary rows per split (and over all splits when there are several). */
export function casesTable(evaluation: Evaluation, options: MarkdownOptions = {}): string {
  const d = options.decimals ?? 2;
  // A lung model's reference is the lung mask: a Dice "inside the lungs" would be meaningless.
  const inLungs = evaluation.task === 'lesion';
  const target = evaluation.task === 'lung' ? 'lung' : 'lesion';
  const pick = (cells: string[]): string[] => (inLungs ? cells : cells.filter((_, i) => i !== 6));
  const header = pick(['case', 'source', 'patient group', 'split', 'slices', 'Dice', 'Dice in lungs', 'sensitivity', 'precision', `${target} (mL or px)`]);
  const rows: string[][] = evaluation.cases.map((c) => pick([
    c.id, c.source ?? '–', c.patientGroup ?? '–', c.split, String(c.slices),
    formatValue(c.dice, d), formatValue(c.dice_in_lungs, d), formatValue(c.sensitivity, d), formatValue(c.precision, d), referenceSize(c),
  ]));
  const groups: [string, SplitSummary][] = Object.entries(evaluation.splits);
  if (groups.length > 1) groups.push(['all', evaluation.summary]);
  for (const [name, s] of groups) {
    const blank = ['', '', ''];
    rows.push(pick([`**${name}: mean ± std** (n = ${s.n})`, ...blank, String(s.slices), formatMeanStd(s, 'dice', d), formatMeanStd(s, 'dice_in_lungs', d), formatMeanStd(s, 'sensitivity', d), formatMeanStd(s, 'precision', d), '']));
    rows.push(pick([`**${name}: median [min, max]**`, ...blank, '', medianRange(s, 'dice', d), medianRange(s, 'dice_in_lungs', d), medianRange(s, 'sensitivity', d), medianRange(s, 'precision', d), '']));
    rows.push(pick([`**${name}: pooled**`, ...blank, '', formatValue(s.pooled_dice, d), formatValue(s.pooled_dice_in_lungs, d), '', '', '']));
    rows.push(pick([`**${name}: per slice** (n = ${s.slice_dice_n})`, ...blank, '', formatMeanStd(s, 'slice_dice', d), '', '', '', '']));
  }
  const line = (r: string[]): string => `| ${r.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map((_, i) => (i >= 4 ? '---:' : '---')).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The whole markdown report: what was evaluated, the table, the empty-case counts and definitions. */
export function evaluationMarkdown(evaluation: Evaluation, options: MarkdownOptions = {}): string {
  const { spec, file } = evaluation.model;
  const data = evaluation.data;
  const source = data.kind === 'database'
    ? `database \`${data.db}\`, split ${data.split}, sources ${data.sources ? data.sources.join(', ') : 'all'}`
    : `images \`${data.images}\`, masks \`${data.masks}\`${data.lungs ? `, lungs \`${data.lungs}\`` : ''}`;
  const empties = Object.entries(evaluation.splits).map(([name, s]) => `${name}: ${s.emptyReference} of ${s.n} cases with an empty reference, ${s.emptyBoth} of them with an empty prediction too (Dice 1)`);
  return [
    `# ${options.title ?? `Evaluation of ${file}`}`,
    '',
    `- model: \`${file}\` (${spec.dims}D ${spec.task} model, input ${spec.inputSize}, transform ${spec.inputTransform}), threshold ${evaluation.threshold}`,
    `- data: ${source}`,
    `- date: ${evaluation.date}`,
    '',
    casesTable(evaluation, options),
    '',
    ...empties.map((e) => `- ${e}`),
    ...evaluation.definitions.map((e) => `- ${e}`),
    ...evaluation.warnings.map((w) => `- warning: ${w}`),
    '',
  ].join('\n');
}

/** One line per split for the terminal: "test: Dice 0.42 ± 0.23 (median 0.40, pooled 0.47, n = 7 cases, 189 slices)…". */
export function summaryLines(evaluation: Evaluation, options: { decimals?: number } = {}): string[] {
  const d = options.decimals ?? 2;
  const entries: [string, SplitSummary][] = Object.entries(evaluation.splits);
  if (entries.length > 1) entries.push(['all', evaluation.summary]);
  return entries.map(([name, s]) => {
    const parts = [`Dice ${formatMeanStd(s, 'dice', d)} (median ${formatValue(s.dice_median, d)}, pooled ${formatValue(s.pooled_dice, d)})`];
    if (s.dice_in_lungs_n > 0) parts.push(`in lungs ${formatMeanStd(s, 'dice_in_lungs', d)}`);
    parts.push(`per-slice mean ${formatMeanStd(s, 'slice_dice', d)}`);
    parts.push(`sensitivity ${formatMeanStd(s, 'sensitivity', d)}`, `precision ${formatMeanStd(s, 'precision', d)}`);
    const empty = s.emptyReference ? `, ${s.emptyReference} empty reference (${s.emptyBoth} both empty)` : '';
    return `${name}: ${parts.join(', ')} — n = ${s.n} cases, ${s.slices} slices${empty}`;
  });
}
