/**
 * build-db, stage 2 of 3 — build: the plan's cases to build, preprocessed and written by
 * a pool of worker threads (a lung segmenter, when given, runs in this thread: its model is
 * loaded once here), each case's record written as it finishes; then the overview pages.
 * Hands BuiltCases to build-publish.ts.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';
import { explainIoErrors } from '../util/output-target.js';
import { harmoniseLung, loadCase, lungSidesByPosition, type CaseRef, type LoadedCase } from '../datasets/index.js';
import { removeOutputs, type BuildDatabaseOptions, type BuildPlan, type PlannedCase } from './build-plan.js';
import { overviewPages } from './figures.js';
import type { CaseJob, JobOutcome } from './jobs.js';
import type { LungSegmenter } from './lung-segmenter.js';
import { caseOutputs, type CaseRecord, type LungMaskSource } from './manifest.js';
import { CasePool, boundWorkers, defaultWorkers } from './pool.js';
import { DIR_CASES, figurePath, type BuiltOutputs } from './process-case.js';
import type { CaseFailure } from './summary.js';

/** What the build hands on. */
export interface BuiltCases {
  /** Every case's record in the database now (kept or built), by case id. */
  current: Map<string, CaseRecord>;
  /** Cases built in this run. */
  builtIds: Set<string>;
  failures: Map<string, CaseFailure>;
  /** The records of `current` in case-id order: 3D cases, then 2D-only cases. */
  records: CaseRecord[];
  /** Figure 2 pages, then the overview pages drawn. */
  figures: string[];
  workers: number;
}

/** Runs `tasks` with at most `limit` in flight. */
async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  });
  await Promise.all(lanes);
}

function caseRecord(plan: BuildPlan, entry: PlannedCase, built: BuiltOutputs, lungMaskSource: LungMaskSource): CaseRecord {
  const sha = plan.inputSha.get(entry.caseId)!;
  return {
    caseId: entry.caseId,
    kind: entry.ref.kind,
    source: entry.ref.source,
    originalId: entry.ref.originalId,
    patientGroup: entry.ref.patientGroup,
    inputFiles: entry.ref.files,
    ...(entry.ref.sliceIndex !== undefined ? { sliceIndex: entry.ref.sliceIndex } : {}),
    ...(entry.ref.stack !== undefined ? { stack: entry.ref.stack } : {}),
    inputSha256: sha.combined,
    inputFileSha256: sha.files,
    optionsHash: entry.optionsHash,
    original: built.original,
    isHu: built.isHu,
    huReason: built.huReason,
    lungMaskSource,
    lungSides: built.lungSides,
    lesionVoxels: built.lesionVoxels,
    lungVoxels: built.lungVoxels,
    crop: built.crop,
    ...(built.resizeScale !== undefined ? { resizeScale: built.resizeScale } : {}),
    normalization: built.normalization,
    ...(built.files3d ? { files3d: built.files3d } : {}),
    slices2d: built.slices2d,
    outputs: built.outputs,
    warnings: built.warnings,
    builtAt: new Date().toISOString(),
    buildMs: Math.round(built.buildMs),
  };
}

/**
 * What becomes of a case's outcome: a failure removes the case's old files and record; a
 * built case gets its record (written before it counts: without its record the case is not
 * in the database, and is built again next time).
 */
function outcomeRecorder(plan: BuildPlan, built: Pick<BuiltCases, 'current' | 'builtIds' | 'failures'>, progress: (caseId: string) => void) {
  const recordsDir = join(plan.out, DIR_CASES);
  return async (entry: PlannedCase, outcome: JobOutcome, lungMaskSource: LungMaskSource | undefined): Promise<void> => {
    const old = plan.previous.get(entry.caseId);
    if (!outcome.ok) {
      built.failures.set(entry.caseId, { caseId: entry.caseId, originalId: entry.ref.originalId, error: outcome.error });
      if (old) {
        await removeOutputs(plan.out, old);
        await rm(join(recordsDir, `${entry.caseId}.json`), { force: true });
      }
    } else if ('built' in outcome) {
      const record = caseRecord(plan, entry, outcome.built, lungMaskSource ?? (outcome.hasLungMask ? 'dataset' : 'missing'));
      if (old) await removeOutputs(plan.out, old, new Set(caseOutputs(record)));
      const recordFile = join(recordsDir, `${entry.caseId}.json`);
      try {
        await explainIoErrors(recordFile, () => writeFileAtomic(recordFile, JSON.stringify(record, null, 1)));
        built.current.set(entry.caseId, record);
        built.builtIds.add(entry.caseId);
      } catch (err) {
        built.failures.set(entry.caseId, { caseId: entry.caseId, originalId: entry.ref.originalId, error: (err as Error).message });
      }
    }
    progress(entry.caseId);
  };
}

/** Loads a case published without lung mask and adds the segmenter's. */
async function loadWithModelLungs(entry: PlannedCase, segmenter: LungSegmenter): Promise<LoadedCase> {
  const loaded = await loadCase(entry.ref);
  const labels = await segmenter.segment(loaded.ct);
  if (labels.dims.some((d, i) => d !== loaded.ct.dims[i])) {
    throw new CovsegError(`lung segmenter '${segmenter.name}' returned a ${labels.dims.join('×')} mask for a ${loaded.ct.dims.join('×')} CT; it must answer on the CT's grid`, { file: entry.ref.files.image });
  }
  const lung = harmoniseLung(loaded.lesionMask, { lungLabels: labels })!;
  loaded.lungMask = lung.lungMask;
  const sides = lungSidesByPosition(labels);
  if (sides) loaded.lungSides = sides;
  return loaded;
}

type Finish = ReturnType<typeof outcomeRecorder>;

/** One task per 3D case, one per `batch` 2D-only cases. */
function caseTasks(plan: BuildPlan, pool: CasePool, finish: Finish, batch: number): (() => Promise<void>)[] {
  const modelSource: LungMaskSource | undefined = plan.segmenter && `model:${plan.segmenter.name}`;
  const failed = (e: PlannedCase, err: unknown) => finish(e, { caseId: e.caseId, ok: false, error: (err as Error).message }, undefined);
  const volumeTasks = plan.toBuild.filter((e) => e.ref.kind === 'volume').map((entry) => async () => {
    let job: CaseJob = { type: 'volume', caseId: entry.caseId, ref: entry.ref, settings: plan.settings, figure: plan.figureCases.has(entry.caseId) };
    if (entry.needsModel) {
      try {
        job = { ...job, preloaded: await loadWithModelLungs(entry, plan.segmenter!) };
      } catch (err) {
        return failed(entry, err);
      }
    }
    const [outcome] = await pool.run(job).catch((err: Error) => [{ caseId: entry.caseId, ok: false as const, error: `worker failed: ${err.message}` }]);
    await finish(entry, outcome!, entry.needsModel ? modelSource : undefined);
  });
  const sliceEntries = plan.toBuild.filter((e) => e.ref.kind === 'slice');
  const sliceTasks: (() => Promise<void>)[] = [];
  for (let i = 0; i < sliceEntries.length; i += batch) {
    const chunk = sliceEntries.slice(i, i + batch);
    sliceTasks.push(async () => {
      const items: { caseId: string; ref: CaseRef; preloaded?: LoadedCase }[] = [];
      for (const e of chunk) {
        if (!e.needsModel) items.push({ caseId: e.caseId, ref: e.ref });
        else await loadWithModelLungs(e, plan.segmenter!).then((preloaded) => items.push({ caseId: e.caseId, ref: e.ref, preloaded }), (err: unknown) => failed(e, err));
      }
      const outcomes = await pool.run({ type: 'slices', items, settings: plan.settings }).catch((err: Error) => items.map((e) => ({ caseId: e.caseId, ok: false as const, error: `worker failed: ${err.message}` })));
      for (const o of outcomes) {
        const entry = plan.byId.get(o.caseId)!;
        await finish(entry, o, entry.needsModel ? modelSource : undefined);
      }
    });
  }
  return [...volumeTasks, ...sliceTasks];
}

/** The overview mosaics, drawn by the workers too: decoding the 2D files and deflating the pages is most of the cost. */
async function drawOverviews(plan: BuildPlan, pool: CasePool, records: readonly CaseRecord[]): Promise<string[]> {
  const pages = [
    ...overviewPages(plan.out, '3d', records.filter((r) => r.kind === 'volume')),
    ...plan.scans.flatMap(({ source }) => overviewPages(plan.out, `2d-${source}`, records.filter((r) => r.kind === 'slice' && r.source === source))),
  ];
  const drawn: string[] = [];
  await runLimited(pages.map((page) => async () => {
    for (const o of await pool.run({ type: 'overview', page })) {
      if (o.ok) drawn.push(o.caseId);
      else plan.warnings.push(`overview page ${o.caseId} not drawn: ${o.error}`);
    }
  }), Math.max(1, pool.size));
  return drawn.sort();
}

/** Stage 2: builds the plan's cases, then draws the overview pages. */
export async function buildCases(plan: BuildPlan, options: BuildDatabaseOptions): Promise<BuiltCases> {
  const built: BuiltCases = { current: new Map(plan.kept), builtIds: new Set(), failures: new Map(), records: [], figures: [], workers: 0 };
  let done = 0;
  const total = plan.toBuild.length;
  options.onProgress?.(0, total);
  const progress = (caseId: string) => options.onProgress?.(++done, total, undefined, caseId);
  const batch = options.sliceBatch ?? 50;
  const slices = plan.toBuild.filter((e) => e.ref.kind === 'slice').length;
  const bound = boundWorkers(options.workers ?? defaultWorkers(), plan.toBuild.length - slices + Math.ceil(slices / batch));
  built.workers = bound.workers;
  // Only a count the caller chose is worth a word; the default is lowered silently.
  if (bound.warning && options.workers !== undefined) plan.warn(bound.warning);
  const pool = new CasePool(bound.workers);
  try {
    // One more task in flight than workers: the next case is read (or segmented) while the workers are busy.
    await runLimited(caseTasks(plan, pool, outcomeRecorder(plan, built, progress), batch), Math.max(1, bound.workers) + 1);
    // Case-id order: 3D cases, then 2D-only cases (ids are zero-padded, so text order is number order).
    built.records = plan.cases.map((e) => built.current.get(e.caseId)).filter((r): r is CaseRecord => r !== undefined).sort((a, b) => (a.kind === b.kind ? (a.caseId < b.caseId ? -1 : 1) : a.kind === 'volume' ? -1 : 1));
    built.figures = [...plan.figureCases].filter((id) => built.current.has(id)).map((id) => join(plan.out, figurePath(id)));
    if (options.overview ?? true) built.figures.push(...(await drawOverviews(plan, pool, built.records)));
  } finally {
    await pool.close();
  }
  return built;
}
