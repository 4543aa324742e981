/**
 * `build-db`: the 3D and 2D training databases from any subset of the public sources.
 *
 *   DB/3d/Case-NNNN/{image,lesion,lung,lung-sides}.nrrd   3D cases, 0.9×0.9×4.5 mm, 320×320×80
 *   DB/2d/{images,lesions,lungs}/<caseId>[_zNNN].png     every slice with lesion, 320×320
 *   DB/cases/<caseId>.json                               per-case records, written as cases finish
 *   DB/manifest.json, DB/splits.json, DB/build-summary.json, DB/figures/*.png
 *
 * Idempotent and resumable: a case whose inputs (sha256) and options are unchanged and
 * whose files all match the sizes and sha256 in its record is skipped; files are written
 * under temp names and renamed; the manifest is written last, so a killed build loses at
 * most the cases in flight (and the next build removes their temporaries, see lock.ts).
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';
import { checkOutputDir, explainIoErrors } from '../util/output-target.js';
import type { ProgressCallback } from '../util/progress.js';
import type { Vec3 } from '../volume/volume.js';
import {
  ADAPTERS,
  SOURCE_NAMES,
  harmoniseLung,
  lungSidesByPosition,
  loadCase,
  overlapWarnings,
  sourceName,
  type CaseRef,
  type LoadedCase,
  type SourceName,
  type SourceScan,
} from '../datasets/index.js';
import { HIGH_PERCENTILE, LOW_PERCENTILE, SLICE_SIZE, TARGET_DIMS, TARGET_SPACING_MM } from '../preprocess/index.js';
import { FileHasher, digestFile, hashJson } from './checksum.js';
import { overviewPages } from './figures.js';
import { CasePool, boundWorkers, defaultWorkers } from './pool.js';
import { lockDatabase, removeTemporaries } from './lock.js';
import type { CaseJob, JobOutcome } from './jobs.js';
import type { LungSegmenter } from './lung-segmenter.js';
import { ENCODING_NOTES, MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, caseOutputs, checkCaseRecord, type CaseRecord, type LungMaskSource, type Manifest } from './manifest.js';
import { DIR_2D_IMAGES, DIR_2D_LESIONS, DIR_2D_LUNGS, DIR_3D, DIR_CASES, DIR_FIGURES, figurePath, type JobSettings } from './process-case.js';
import { SPLITS_FILE, makeSplits, type OverlapPolicy } from './splits.js';
import { SUMMARY_FILE, type BuildSummary, type CaseFailure, type SourceSummary } from './summary.js';

/**
 * Version of the per-case processing. Part of every case's options hash: bump it when
 * preprocessing or file encodings change, so existing databases rebuild their cases.
 */
export const PIPELINE_VERSION = 1;

/** One source to read: its name and the folder it was unpacked into. */
export interface SourceSpec {
  name: SourceName;
  root: string;
}

export interface BuildRequest {
  sources: readonly SourceSpec[];
  /** The database folder (created if needed). */
  out: string;
}

export interface BuildDatabaseOptions {
  /** 3D voxel size [x, y, z] in mm. Defaults to [0.9, 0.9, 4.5]. */
  spacingMm?: Vec3;
  /** 3D grid [nx, ny, nz]. Defaults to [320, 320, 80]. */
  dims?: Vec3;
  /** Normalisation percentiles. Default to 1 and 99. */
  lowPercentile?: number;
  highPercentile?: number;
  /** Side of the 2D-only slices. Defaults to 320. */
  sliceSize?: number;
  /** Split seed. Defaults to 42. */
  seed?: number;
  /** Unmatched cross-source overlaps in the split (see OverlapPolicy). Defaults to 'warn'. */
  overlap?: OverlapPolicy;
  /** Segments lungs of 3D cases published without a lung mask. Defaults to none: their lung mask is recorded as missing. */
  lungSegmenter?: LungSegmenter;
  /** Case ids (Case-NNNN) to draw the method's Figure 2 for. Defaults to none. */
  figureCases?: readonly string[];
  /** Write the overview mosaics. Defaults to true. */
  overview?: boolean;
  /**
   * Worker threads; 0 runs everything in this thread. Defaults to min(2, available cores);
   * lowered to the cores (os.availableParallelism()) and to the jobs to run, with a warning.
   */
  workers?: number;
  /** 2D-only cases per worker message. Defaults to 50. */
  sliceBatch?: number;
  /** Told (cases done, cases to build, undefined, the case id) as each case to build finishes. Defaults to none. */
  onProgress?: ProgressCallback;
  /** Told each warning as it arises (they are also in the summary). Defaults to none. */
  onWarning?: (message: string) => void;
}

interface Entry {
  caseId: string;
  ref: CaseRef;
  optionsHash: string;
  needsModel: boolean;
}

function caseIdFor(kind: CaseRef['kind'], index: number): string {
  return kind === 'volume' ? `Case-${String(index).padStart(4, '0')}` : `Slice-${String(index).padStart(5, '0')}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a case's outputs do not match its record (missing, another size, other bytes), or
 * undefined when every one does: sizes first, which catch a truncation without reading.
 */
async function outputDamage(out: string, record: CaseRecord & { outputs: NonNullable<CaseRecord['outputs']> }): Promise<string | undefined> {
  const files = caseOutputs(record);
  for (const f of files) {
    const want = record.outputs[f];
    if (!want) return `${f} has no checksum in the case record`;
    const size = await stat(join(out, f)).then((st) => (st.isFile() ? st.size : undefined), () => undefined);
    if (size === undefined) return `${f} is missing`;
    if (size !== want.bytes) return `${f} has ${size} bytes, the case record says ${want.bytes}`;
  }
  for (const f of files) {
    const got = await digestFile(join(out, f)).then((d) => d.sha256, () => undefined);
    if (got !== record.outputs[f]!.sha256) return `${f} differs from its sha256 in the case record`;
  }
  return undefined;
}

async function removeOutputs(out: string, record: CaseRecord, keep: ReadonlySet<string> = new Set()): Promise<void> {
  for (const f of caseOutputs(record)) if (!keep.has(f)) await rm(join(out, f), { force: true });
}

async function readRecords(dir: string): Promise<Map<string, CaseRecord>> {
  const records = new Map<string, CaseRecord>();
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return records;
  }
  for (const name of names) {
    const file = join(dir, name);
    try {
      const record = checkCaseRecord(JSON.parse(await readFile(file, 'utf8')) as unknown, file, 'the case is rebuilt');
      records.set(record.caseId, record);
    } catch {
      // A record from an older format or a torn write: the case is simply rebuilt.
      await rm(file, { force: true });
    }
  }
  return records;
}

/** Runs `tasks` with at most `limit` in flight. */
async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  });
  await Promise.all(lanes);
}

async function covsegVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/**
 * Builds (or updates) the database in `request.out` from `request.sources`; returns the
 * summary it also prints nowhere (the CLI prints it) and writes to `build-summary.json`.
 * Throws CovsegError only for problems with the whole request (unknown source, a source
 * folder without its layout, an unknown --figure-case); a broken case is reported in the
 * summary and the other cases are still built.
 */
export async function buildDatabase(request: BuildRequest, options: BuildDatabaseOptions = {}): Promise<BuildSummary> {
  const lock: { release?: () => Promise<void> } = {};
  try {
    return await build(request, options, lock);
  } finally {
    await lock.release?.();
  }
}

/** buildDatabase's work; it takes the folder's lock once the folder is checked, and leaves its release in `lock`. */
async function build(request: BuildRequest, options: BuildDatabaseOptions, lock: { release?: () => Promise<void> }): Promise<BuildSummary> {
  const started = Date.now();
  const out = resolve(request.out);
  const settings: JobSettings = {
    out,
    spacingMm: options.spacingMm ?? TARGET_SPACING_MM,
    dims: options.dims ?? TARGET_DIMS,
    lowPercentile: options.lowPercentile ?? LOW_PERCENTILE,
    highPercentile: options.highPercentile ?? HIGH_PERCENTILE,
    sliceSize: options.sliceSize ?? SLICE_SIZE,
  };
  const seed = options.seed ?? 42;
  const overlap = options.overlap ?? 'warn';
  const segmenter = options.lungSegmenter;
  const requestedWorkers = options.workers ?? defaultWorkers();

  // 1. Scan sources in the canonical order, whatever order they were given in.
  const seen = new Set<string>();
  for (const s of request.sources) {
    sourceName(s.name);
    if (seen.has(s.name)) throw new CovsegError(`source '${s.name}' given twice; give each source once`);
    seen.add(s.name);
  }
  if (request.sources.length === 0) throw new CovsegError(`no sources; give at least one of ${SOURCE_NAMES.join(', ')}`);
  const specs = [...request.sources].sort((a, b) => SOURCE_NAMES.indexOf(a.name) - SOURCE_NAMES.indexOf(b.name));
  const sourceNames = specs.map((s) => s.name);
  const warnings = overlapWarnings(sourceNames);
  const warn = (message: string) => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  const scans: SourceScan[] = [];
  for (const spec of specs) scans.push(await ADAPTERS[spec.name].scan(resolve(spec.root)));

  // 2. Case ids: volumes and 2D-only slices numbered separately, in source then original-id order.
  const entries: Entry[] = [];
  let volumes = 0;
  let slices = 0;
  for (const scan of scans) {
    for (const ref of scan.cases) {
      const caseId = caseIdFor(ref.kind, ref.kind === 'volume' ? volumes++ : slices++);
      const needsModel = ref.files.lung === undefined && segmenter !== undefined;
      const shaping = ref.kind === 'volume'
        ? { v: PIPELINE_VERSION, kind: ref.kind, spacingMm: settings.spacingMm, dims: settings.dims, low: settings.lowPercentile, high: settings.highPercentile }
        : { v: PIPELINE_VERSION, kind: ref.kind, size: settings.sliceSize, low: settings.lowPercentile, high: settings.highPercentile };
      entries.push({ caseId, ref, needsModel, optionsHash: hashJson({ ...shaping, lungModel: needsModel ? segmenter!.name : null }) });
    }
  }
  const byId = new Map(entries.map((e) => [e.caseId, e]));
  const figureCases = new Set(options.figureCases ?? []);
  for (const id of figureCases) {
    if (byId.get(id)?.ref.kind !== 'volume') {
      throw new CovsegError(`--figure-case ${id}: no such 3D case in this build (3D cases: ${volumes === 0 ? 'none' : `Case-0000 … ${caseIdFor('volume', volumes - 1)}`}); Figure 2 shows 3D preprocessing`);
    }
  }

  // The database folder before the hashing and the cases: a file there, or a read-only or
  // full disk, is one line now rather than a stack trace (or a failure per case) later.
  await checkOutputDir(out, '--out');
  lock.release = await lockDatabase(out);
  const leftovers = await removeTemporaries(out);
  if (leftovers.length > 0) {
    warn(`removed ${leftovers.length} temporary file${leftovers.length === 1 ? '' : 's'} left by an interrupted build (${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', …' : ''})`);
  }
  for (const dir of [DIR_3D, DIR_2D_IMAGES, DIR_2D_LESIONS, DIR_2D_LUNGS, DIR_CASES, DIR_FIGURES]) {
    await explainIoErrors(join(out, dir), () => mkdir(join(out, dir), { recursive: true }));
  }

  // 3. Previous records: stale ones (case ids no longer in the build) are removed with their files.
  const recordsDir = join(out, DIR_CASES);
  const previous = await readRecords(recordsDir);
  for (const [id, record] of previous) {
    if (!byId.has(id)) {
      await removeOutputs(out, record);
      if (record.files3d) await rm(join(out, DIR_3D, id), { recursive: true, force: true });
      await rm(join(recordsDir, `${id}.json`), { force: true });
      previous.delete(id);
    }
  }

  // 4. Decide what to build.
  const hasher = new FileHasher();
  const inputSha = new Map<string, { combined: string; files: Record<string, string> }>();
  const current = new Map<string, CaseRecord>();
  const toBuild: Entry[] = [];
  let unverifiable = 0;
  for (const e of entries) {
    const sha = await hasher.caseInputs(e.ref);
    inputSha.set(e.caseId, sha);
    const old = previous.get(e.caseId);
    const sameInputs =
      old !== undefined &&
      old.inputSha256 === sha.combined &&
      old.optionsHash === e.optionsHash &&
      old.source === e.ref.source &&
      old.originalId === e.ref.originalId &&
      old.patientGroup === e.ref.patientGroup;
    // The outputs are trusted only as far as they match the record: a truncated or
    // overwritten file is found here and its case rebuilt, never shipped in the manifest.
    let intact = false;
    if (sameInputs && !old.outputs) unverifiable++;
    else if (sameInputs) {
      const damage = await outputDamage(out, { ...old, outputs: old.outputs! });
      if (damage) warn(`${e.caseId}: ${damage}; the case is rebuilt`);
      intact = damage === undefined;
    }
    if (intact && old && (!figureCases.has(e.caseId) || (await exists(join(out, figurePath(e.caseId)))))) {
      if (JSON.stringify(old.inputFiles) !== JSON.stringify(e.ref.files)) {
        // Same bytes in another folder: nothing to rebuild, but the record says where the inputs are now.
        old.inputFiles = e.ref.files;
        const recordFile = join(recordsDir, `${e.caseId}.json`);
        await explainIoErrors(recordFile, () => writeFileAtomic(recordFile, JSON.stringify(old, null, 1)));
      }
      current.set(e.caseId, old);
    } else {
      toBuild.push(e);
    }
  }

  if (unverifiable > 0) warn(`${unverifiable} case${unverifiable === 1 ? '' : 's'} rebuilt: ${unverifiable === 1 ? 'its record (from an older build) holds' : 'their records (from an older build) hold'} no output checksums to check the files against`);

  // 5. Build.
  const failures = new Map<string, CaseFailure>();
  const builtIds = new Set<string>();
  let done = 0;
  const progress = (caseId?: string) => options.onProgress?.(done, toBuild.length, undefined, caseId);
  progress();
  const finish = async (entry: Entry, outcome: JobOutcome, lungMaskSource: LungMaskSource | undefined) => {
    const old = previous.get(entry.caseId);
    if (!outcome.ok) {
      failures.set(entry.caseId, { caseId: entry.caseId, originalId: entry.ref.originalId, error: outcome.error });
      if (old) {
        await removeOutputs(out, old);
        await rm(join(recordsDir, `${entry.caseId}.json`), { force: true });
      }
    } else if ('built' in outcome) {
      const { built } = outcome;
      const record: CaseRecord = {
        caseId: entry.caseId,
        kind: entry.ref.kind,
        source: entry.ref.source,
        originalId: entry.ref.originalId,
        patientGroup: entry.ref.patientGroup,
        inputFiles: entry.ref.files,
        ...(entry.ref.sliceIndex !== undefined ? { sliceIndex: entry.ref.sliceIndex } : {}),
        inputSha256: inputSha.get(entry.caseId)!.combined,
        inputFileSha256: inputSha.get(entry.caseId)!.files,
        optionsHash: entry.optionsHash,
        original: built.original,
        isHu: built.isHu,
        huReason: built.huReason,
        lungMaskSource: lungMaskSource ?? (outcome.hasLungMask ? 'dataset' : 'missing'),
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
      if (old) await removeOutputs(out, old, new Set(caseOutputs(record)));
      const recordFile = join(recordsDir, `${entry.caseId}.json`);
      try {
        await explainIoErrors(recordFile, () => writeFileAtomic(recordFile, JSON.stringify(record, null, 1)));
        current.set(entry.caseId, record);
        builtIds.add(entry.caseId);
      } catch (err) {
        // Without its record the case is not in the database (and is built again next time).
        failures.set(entry.caseId, { caseId: entry.caseId, originalId: entry.ref.originalId, error: (err as Error).message });
      }
    }
    done++;
    progress(entry.caseId);
  };

  /** Loads a case published without lung mask and adds the segmenter's (on the main thread: the model is loaded once there). */
  const loadWithModelLungs = async (entry: Entry): Promise<LoadedCase> => {
    const loaded = await loadCase(entry.ref);
    const labels = await segmenter!.segment(loaded.ct);
    if (labels.dims.some((d, i) => d !== loaded.ct.dims[i])) {
      throw new CovsegError(`lung segmenter '${segmenter!.name}' returned a ${labels.dims.join('×')} mask for a ${loaded.ct.dims.join('×')} CT; it must answer on the CT's grid`, { file: entry.ref.files.image });
    }
    const lung = harmoniseLung(loaded.lesionMask, { lungLabels: labels })!;
    loaded.lungMask = lung.lungMask;
    const sides = lungSidesByPosition(labels);
    if (sides) loaded.lungSides = sides;
    return loaded;
  };

  const volumeTasks = toBuild.filter((e) => e.ref.kind === 'volume').map((entry) => async () => {
    let job: CaseJob = { type: 'volume', caseId: entry.caseId, ref: entry.ref, settings, figure: figureCases.has(entry.caseId) };
    let lungMaskSource: LungMaskSource | undefined;
    if (entry.needsModel) {
      try {
        job = { ...job, preloaded: await loadWithModelLungs(entry) };
        lungMaskSource = `model:${segmenter!.name}`;
      } catch (err) {
        await finish(entry, { caseId: entry.caseId, ok: false, error: (err as Error).message }, undefined);
        return;
      }
    }
    const [outcome] = await pool.run(job).catch((err: Error) => [{ caseId: entry.caseId, ok: false as const, error: `worker failed: ${err.message}` }]);
    await finish(entry, outcome!, lungMaskSource);
  });
  const sliceEntries = toBuild.filter((e) => e.ref.kind === 'slice');
  const batch = options.sliceBatch ?? 50;
  const sliceTasks: (() => Promise<void>)[] = [];
  for (let i = 0; i < sliceEntries.length; i += batch) {
    const chunk = sliceEntries.slice(i, i + batch);
    sliceTasks.push(async () => {
      const items: { caseId: string; ref: CaseRef; preloaded?: LoadedCase }[] = [];
      for (const e of chunk) {
        if (!e.needsModel) {
          items.push({ caseId: e.caseId, ref: e.ref });
          continue;
        }
        try {
          items.push({ caseId: e.caseId, ref: e.ref, preloaded: await loadWithModelLungs(e) });
        } catch (err) {
          await finish(e, { caseId: e.caseId, ok: false, error: (err as Error).message }, undefined);
        }
      }
      const job: CaseJob = { type: 'slices', items, settings };
      const outcomes = await pool.run(job).catch((err: Error) => items.map((e) => ({ caseId: e.caseId, ok: false as const, error: `worker failed: ${err.message}` })));
      for (const o of outcomes) {
        const entry = byId.get(o.caseId)!;
        await finish(entry, o, entry.needsModel ? `model:${segmenter!.name}` : undefined);
      }
    });
  }
  const records: CaseRecord[] = [];
  const figures: string[] = [];
  const bound = boundWorkers(requestedWorkers, volumeTasks.length + sliceTasks.length);
  const workers = bound.workers;
  // Only a count the caller chose is worth a word; the default is lowered silently.
  if (bound.warning && options.workers !== undefined) warn(bound.warning);
  const pool = new CasePool(workers);
  try {
    // One more task in flight than workers: the next case is read (or segmented) while the workers are busy.
    await runLimited([...volumeTasks, ...sliceTasks], Math.max(1, workers) + 1);
    // Case-id order: 3D cases, then 2D-only cases (ids are zero-padded, so text order is number order).
    records.push(...entries.map((e) => current.get(e.caseId)).filter((r): r is CaseRecord => r !== undefined).sort((a, b) => (a.kind === b.kind ? (a.caseId < b.caseId ? -1 : 1) : a.kind === 'volume' ? -1 : 1)));
    figures.push(...[...figureCases].filter((id) => current.has(id)).map((id) => join(out, figurePath(id))));
    if (options.overview ?? true) {
      // Pages are drawn by the workers too: decoding the 2D files and deflating the pages is most of the cost.
      const pages = [
        ...overviewPages(out, '3d', records.filter((r) => r.kind === 'volume')),
        ...sourceNames.flatMap((source) => overviewPages(out, `2d-${source}`, records.filter((r) => r.kind === 'slice' && r.source === source))),
      ];
      const drawn: string[] = [];
      await runLimited(pages.map((page) => async () => {
        for (const o of await pool.run({ type: 'overview', page })) {
          if (o.ok) drawn.push(o.caseId);
          else warnings.push(`overview page ${o.caseId} not drawn: ${o.error}`);
        }
      }), Math.max(1, workers));
      figures.push(...drawn.sort());
    }
  } finally {
    await pool.close();
  }

  // 6. Manifest (last), splits, summary.
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    covsegVersion: await covsegVersion(),
    builtAt: new Date().toISOString(),
    options: {
      spacingMm: settings.spacingMm,
      dims: settings.dims,
      lowPercentile: settings.lowPercentile,
      highPercentile: settings.highPercentile,
      sliceSize: settings.sliceSize,
      lungModel: segmenter?.name ?? null,
      seed,
      overlap,
    },
    encoding: ENCODING_NOTES,
    sources: scans.map((s) => ({ name: s.source, root: s.root, notes: s.notes, found: s.cases.length })),
    warnings,
    cases: records,
  };
  const splits = makeSplits(records.map((r) => ({ caseId: r.caseId, source: r.source, patientGroup: r.patientGroup })), { seed, overlap });
  await explainIoErrors(join(out, SPLITS_FILE), () => writeFileAtomic(join(out, SPLITS_FILE), JSON.stringify(splits, null, 1)));

  const missingLung = records.filter((r) => r.lungMaskSource === 'missing' && r.kind === 'volume').length;
  if (missingLung > 0) {
    warnings.push(`${missingLung} 3D case${missingLung === 1 ? ' has' : 's have'} no lung mask (lungMaskSource "missing", no lung files): pass a lung model (--lung-model) to segment them`);
  }
  await explainIoErrors(join(out, MANIFEST_FILE), () => writeFileAtomic(join(out, MANIFEST_FILE), JSON.stringify(manifest, null, 1)));

  const sources: SourceSummary[] = scans.map((scan) => {
    const ids = entries.filter((e) => e.ref.source === scan.source).map((e) => e.caseId);
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
  const summary: BuildSummary = {
    out,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    workers,
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
    figures,
    warnings,
  };
  await explainIoErrors(join(out, SUMMARY_FILE), () => writeFileAtomic(join(out, SUMMARY_FILE), JSON.stringify(summary, null, 1)));
  return summary;
}
