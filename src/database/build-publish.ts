/**
 * build-db, stage 3 of 3 — publish: the splits, then the manifest (last of the database's
 * own files: a folder with a manifest is a finished build), then the summary, each written
 * atomically. What train and evaluate read is written here and nowhere else.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { explainIoErrors } from '../util/output-target.js';
import type { BuildPlan } from './build-plan.js';
import type { BuiltCases } from './build-cases.js';
import { ENCODING_NOTES, MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, type CaseRecord, type Manifest } from './manifest.js';
import { SPLITS_FILE, makeSplits, type Splits } from './splits.js';
import { SUMMARY_FILE, type BuildSummary, type CaseFailure, type SourceSummary } from './summary.js';

async function covsegVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

async function writeJson(out: string, name: string, value: unknown): Promise<void> {
  await explainIoErrors(join(out, name), () => writeFileAtomic(join(out, name), JSON.stringify(value, null, 1)));
}

function manifestOf(plan: BuildPlan, records: CaseRecord[], version: string): Manifest {
  const { settings } = plan;
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    covsegVersion: version,
    builtAt: new Date().toISOString(),
    options: {
      spacingMm: settings.spacingMm,
      dims: settings.dims,
      lowPercentile: settings.lowPercentile,
      highPercentile: settings.highPercentile,
      sliceSize: settings.sliceSize,
      lungModel: plan.segmenter?.name ?? null,
      seed: plan.seed,
      overlap: plan.overlap,
    },
    encoding: ENCODING_NOTES,
    sources: plan.scans.map((s) => ({ name: s.source, root: s.root, notes: s.notes, found: s.cases.length })),
    // The same array: warnings added below still reach the manifest and the summary.
    warnings: plan.warnings,
    cases: records,
  };
}

function summaryOf(plan: BuildPlan, built: BuiltCases, splits: Splits): BuildSummary {
  const { records, current, builtIds, failures } = built;
  const sources: SourceSummary[] = plan.scans.map((scan) => {
    const ids = plan.cases.filter((e) => e.ref.source === scan.source).map((e) => e.caseId);
    const recs = ids.map((id) => current.get(id)).filter((r): r is CaseRecord => r !== undefined);
    return {
      source: scan.source,
      root: scan.root,
      found: ids.length,
      built: ids.filter((id) => builtIds.has(id)).length,
      skipped: recs.filter((r) => !builtIds.has(r.caseId)).length,
      failed: ids.filter((id) => failures.has(id)).length,
      slices2d: recs.reduce((n, r) => n + r.slices2d.length, 0),
      failures: ids.map((id) => failures.get(id)).filter((f): f is CaseFailure => f !== undefined),
      notes: scan.notes,
    };
  });
  const sum = (k: 'found' | 'built' | 'skipped' | 'failed' | 'slices2d') => sources.reduce((n, s) => n + s[k], 0);
  return {
    out: plan.out,
    startedAt: new Date(plan.startedAt).toISOString(),
    seconds: (Date.now() - plan.startedAt) / 1000,
    workers: built.workers,
    sources,
    totals: { found: sum('found'), built: sum('built'), skipped: sum('skipped'), failed: sum('failed'), volumes3d: records.filter((r) => r.kind === 'volume').length, slices2d: sum('slices2d') },
    lungMasks: {
      dataset: records.filter((r) => r.lungMaskSource === 'dataset').length,
      model: records.filter((r) => r.lungMaskSource.startsWith('model:')).length,
      missing: records.filter((r) => r.lungMaskSource === 'missing').length,
    },
    splits: {
      train: { units: splits.units.train.length, cases: splits.cases.train.length },
      validation: { units: splits.units.validation.length, cases: splits.cases.validation.length },
      test: { units: splits.units.test.length, cases: splits.cases.test.length },
    },
    figures: built.figures,
    warnings: plan.warnings,
  };
}

/** Stage 3: writes splits.json, manifest.json and build-summary.json; returns the summary. */
export async function publishDatabase(plan: BuildPlan, built: BuiltCases): Promise<BuildSummary> {
  const { records } = built;
  const manifest = manifestOf(plan, records, await covsegVersion());
  const splits = makeSplits(records.map((r) => ({ caseId: r.caseId, source: r.source, patientGroup: r.patientGroup })), { seed: plan.seed, overlap: plan.overlap });
  await writeJson(plan.out, SPLITS_FILE, splits);
  const leftOut = Object.entries(splits.leftOut ?? {});
  if (leftOut.length > 0) {
    const [id, why] = leftOut[0]!;
    plan.warn(`${leftOut.length} train-only case${leftOut.length === 1 ? ' is' : 's are'} in no split, e.g. ${id}: ${why}; leave those patients out of pseudo-label with --exclude`);
  }
  const missingLung = records.filter((r) => r.lungMaskSource === 'missing' && r.kind === 'volume').length;
  if (missingLung > 0) {
    plan.warnings.push(`${missingLung} 3D case${missingLung === 1 ? ' has' : 's have'} no lung mask (lungMaskSource "missing", no lung files): pass a lung model (--lung-model) to segment them`);
  }
  await writeJson(plan.out, MANIFEST_FILE, manifest);
  const summary = summaryOf(plan, built, splits);
  await writeJson(plan.out, SUMMARY_FILE, summary);
  return summary;
}
