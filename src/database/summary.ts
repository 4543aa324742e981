/** The build summary: printed at the end of build-db and written to `DB/build-summary.json`. */
import type { SourceName } from '../datasets/index.js';
import type { SplitName } from './splits.js';

export const SUMMARY_FILE = 'build-summary.json';

export interface CaseFailure {
  caseId: string;
  originalId: string;
  /** The error, naming the file and the fix. */
  error: string;
}

export interface SourceSummary {
  source: SourceName;
  root: string;
  /** Cases the adapter found. */
  found: number;
  /** Built in this run. */
  built: number;
  /** Unchanged since the last build (same inputs, same options): kept as they were. */
  skipped: number;
  failed: number;
  /** 2D slices of this source's cases in the database (built and skipped). */
  slices2d: number;
  failures: CaseFailure[];
  /** What the adapter noticed (e.g. studies without masks). */
  notes: string[];
}

export interface BuildSummary {
  out: string;
  startedAt: string;
  seconds: number;
  workers: number;
  sources: SourceSummary[];
  totals: { found: number; built: number; skipped: number; failed: number; volumes3d: number; slices2d: number };
  /** Cases in the database by lung mask origin. */
  lungMasks: { dataset: number; model: number; missing: number };
  splits: Record<SplitName, { units: number; cases: number }>;
  figures: string[];
  warnings: string[];
}

/** The summary as text for a terminal: one row per source, then failures and warnings. */
export function formatSummary(s: BuildSummary): string {
  const rows = [['source', 'found', 'built', 'skipped', 'failed', '2D slices']];
  for (const src of s.sources) rows.push([src.source, src.found, src.built, src.skipped, src.failed, src.slices2d].map(String));
  const t = s.totals;
  rows.push(['total', t.found, t.built, t.skipped, t.failed, t.slices2d].map(String));
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = [`build-db: ${s.out} in ${s.seconds.toFixed(1)} s (${s.workers} worker${s.workers === 1 ? '' : 's'})`];
  for (const r of rows) lines.push('  ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  lines.push(`  3D cases ${t.volumes3d}; lung masks: ${s.lungMasks.dataset} from datasets, ${s.lungMasks.model} from a model, ${s.lungMasks.missing} missing`);
  lines.push(`  splits: ${(['train', 'validation', 'test'] as const).map((k) => `${k} ${s.splits[k].cases} cases / ${s.splits[k].units} patient groups`).join(', ')}`);
  for (const src of s.sources) for (const n of src.notes) lines.push(`  note ${src.source}: ${n}`);
  for (const src of s.sources) for (const f of src.failures) lines.push(`  FAILED ${f.caseId} (${src.source} ${f.originalId}): ${f.error}`);
  for (const w of s.warnings) lines.push(`  WARNING ${w}`);
  for (const f of s.figures) lines.push(`  figure ${f}`);
  return lines.join('\n');
}
