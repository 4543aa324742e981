/**
 * build-db, stage 1 of 3 — plan: the request checked, the sources scanned in canonical
 * order, case ids given, the folder checked and locked, stale records removed, and for each
 * case whether its record still holds (kept) or the case is to be built. Nothing is built
 * here; the plan (BuildPlan) is what build-cases.ts works from.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';
import { checkOutputDir, explainIoErrors } from '../util/output-target.js';
import type { ProgressCallback } from '../util/progress.js';
import type { Vec3 } from '../volume/volume.js';
import { ADAPTERS, SOURCE_NAMES, overlapWarnings, sourceName, type CaseRef, type SourceName, type SourceScan } from '../datasets/index.js';
import { HIGH_PERCENTILE, LOW_PERCENTILE, SLICE_SIZE, TARGET_DIMS, TARGET_SPACING_MM } from '../preprocess/index.js';
import { FileHasher, digestFile, hashJson } from './checksum.js';
import { lockDatabase, removeTemporaries } from './lock.js';
import type { LungSegmenter } from './lung-segmenter.js';
import { caseOutputs, checkCaseRecord, type CaseRecord } from './manifest.js';
import { DIR_2D_IMAGES, DIR_2D_LESIONS, DIR_2D_LUNGS, DIR_3D, DIR_CASES, DIR_FIGURES, figurePath, type JobSettings } from './process-case.js';
import type { OverlapPolicy } from './splits.js';

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

/** One case of the build: its id, where it comes from, and the hash of the options that shape it. */
export interface PlannedCase {
  caseId: string;
  ref: CaseRef;
  optionsHash: string;
  /** Published without a lung mask, and a lung segmenter is given. */
  needsModel: boolean;
}

/** What the plan hands on: every case of the build, and which of them to build. */
export interface BuildPlan {
  startedAt: number;
  out: string;
  settings: JobSettings;
  seed: number;
  overlap: OverlapPolicy;
  segmenter: LungSegmenter | undefined;
  /** The sources' scans, in canonical order. */
  scans: SourceScan[];
  /** Every case, in source then original-id order; `byId` the same by case id. */
  cases: PlannedCase[];
  byId: Map<string, PlannedCase>;
  figureCases: Set<string>;
  /** Input sha256 of every case (all of them and by file). */
  inputSha: Map<string, { combined: string; files: Record<string, string> }>;
  /** The records the folder holds for this build's case ids (stale ones are removed). */
  previous: Map<string, CaseRecord>;
  /** Records kept as they are: same inputs and options, files matching their checksums. */
  kept: Map<string, CaseRecord>;
  toBuild: PlannedCase[];
  /** The build's warnings; the later stages add theirs. `warn` also tells options.onWarning. */
  warnings: string[];
  warn: (message: string) => void;
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

/** The sources in canonical order, whatever order they were given in; unknown or repeated ones are errors. */
function checkSources(sources: readonly SourceSpec[]): SourceSpec[] {
  const seen = new Set<string>();
  for (const s of sources) {
    sourceName(s.name);
    if (seen.has(s.name)) throw new CovsegError(`source '${s.name}' given twice; give each source once`);
    seen.add(s.name);
  }
  if (sources.length === 0) throw new CovsegError(`no sources; give at least one of ${SOURCE_NAMES.join(', ')}`);
  return [...sources].sort((a, b) => SOURCE_NAMES.indexOf(a.name) - SOURCE_NAMES.indexOf(b.name));
}

/** Case ids: volumes and 2D-only slices numbered separately, in source then original-id order. */
function numberCases(scans: readonly SourceScan[], settings: JobSettings, segmenter: LungSegmenter | undefined): PlannedCase[] {
  const cases: PlannedCase[] = [];
  let volumes = 0;
  let slices = 0;
  for (const scan of scans) {
    for (const ref of scan.cases) {
      const caseId = caseIdFor(ref.kind, ref.kind === 'volume' ? volumes++ : slices++);
      const needsModel = ref.files.lung === undefined && segmenter !== undefined;
      const shaping = ref.kind === 'volume'
        ? { v: PIPELINE_VERSION, kind: ref.kind, spacingMm: settings.spacingMm, dims: settings.dims, low: settings.lowPercentile, high: settings.highPercentile }
        : { v: PIPELINE_VERSION, kind: ref.kind, size: settings.sliceSize, low: settings.lowPercentile, high: settings.highPercentile };
      cases.push({ caseId, ref, needsModel, optionsHash: hashJson({ ...shaping, lungModel: needsModel ? segmenter!.name : null }) });
    }
  }
  return cases;
}

function checkFigureCases(ids: readonly string[], cases: readonly PlannedCase[], byId: ReadonlyMap<string, PlannedCase>): Set<string> {
  const figureCases = new Set(ids);
  const volumes = cases.filter((c) => c.ref.kind === 'volume').length;
  for (const id of figureCases) {
    if (byId.get(id)?.ref.kind !== 'volume') {
      throw new CovsegError(`--figure-case ${id}: no such 3D case in this build (3D cases: ${volumes === 0 ? 'none' : `Case-0000 … ${caseIdFor('volume', volumes - 1)}`}); Figure 2 shows 3D preprocessing`);
    }
  }
  return figureCases;
}

/**
 * The database folder checked before the hashing and the cases (a file there, or a
 * read-only or full disk, is one line now rather than a stack trace or a failure per case
 * later), locked, cleared of an interrupted build's temporaries, its subfolders made.
 */
async function prepareFolder(out: string, lock: { release?: () => Promise<void> }, warn: (message: string) => void): Promise<void> {
  await checkOutputDir(out, '--out');
  lock.release = await lockDatabase(out);
  const leftovers = await removeTemporaries(out);
  if (leftovers.length > 0) {
    warn(`removed ${leftovers.length} temporary file${leftovers.length === 1 ? '' : 's'} left by an interrupted build (${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', …' : ''})`);
  }
  for (const dir of [DIR_3D, DIR_2D_IMAGES, DIR_2D_LESIONS, DIR_2D_LUNGS, DIR_CASES, DIR_FIGURES]) {
    await explainIoErrors(join(out, dir), () => mkdir(join(out, dir), { recursive: true }));
  }
}

/** Deletes a case's output files, except those in `keep`. */
export async function removeOutputs(out: string, record: CaseRecord, keep: ReadonlySet<string> = new Set()): Promise<void> {
  for (const f of caseOutputs(record)) if (!keep.has(f)) await rm(join(out, f), { force: true });
}

/** The previous build's records, by case id; those of case ids no longer in the build are removed with their files. */
async function previousRecords(out: string, byId: ReadonlyMap<string, PlannedCase>): Promise<Map<string, CaseRecord>> {
  const dir = join(out, DIR_CASES);
  const records = new Map<string, CaseRecord>();
  const names = await readdir(dir).then((all) => all.filter((n) => n.endsWith('.json')), () => []);
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
  for (const [id, record] of records) {
    if (byId.has(id)) continue;
    await removeOutputs(out, record);
    if (record.files3d) await rm(join(out, DIR_3D, id), { recursive: true, force: true });
    await rm(join(dir, `${id}.json`), { force: true });
    records.delete(id);
  }
  return records;
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

type Decided = Pick<BuildPlan, 'inputSha' | 'kept' | 'toBuild'>;

/** Which cases keep their record and which are built: see the file comment of build-db.ts. */
async function decideWork(out: string, cases: readonly PlannedCase[], previous: ReadonlyMap<string, CaseRecord>, figureCases: ReadonlySet<string>, warn: (message: string) => void): Promise<Decided> {
  const hasher = new FileHasher();
  const decided: Decided = { inputSha: new Map(), kept: new Map(), toBuild: [] };
  let unverifiable = 0;
  for (const e of cases) {
    const sha = await hasher.caseInputs(e.ref);
    decided.inputSha.set(e.caseId, sha);
    const old = previous.get(e.caseId);
    const sameInputs = old !== undefined && old.inputSha256 === sha.combined && old.optionsHash === e.optionsHash &&
      old.source === e.ref.source && old.originalId === e.ref.originalId && old.patientGroup === e.ref.patientGroup;
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
        const recordFile = join(out, DIR_CASES, `${e.caseId}.json`);
        await explainIoErrors(recordFile, () => writeFileAtomic(recordFile, JSON.stringify(old, null, 1)));
      }
      decided.kept.set(e.caseId, old);
    } else {
      decided.toBuild.push(e);
    }
  }
  if (unverifiable > 0) warn(`${unverifiable} case${unverifiable === 1 ? '' : 's'} rebuilt: ${unverifiable === 1 ? 'its record (from an older build) holds' : 'their records (from an older build) hold'} no output checksums to check the files against`);
  return decided;
}

/**
 * Stage 1: the plan. Throws CovsegError for problems with the whole request (unknown
 * source, a source folder without its layout, an unknown --figure-case); takes the folder's
 * lock once the folder is checked, and leaves its release in `lock`.
 */
export async function planBuild(request: BuildRequest, options: BuildDatabaseOptions, lock: { release?: () => Promise<void> }): Promise<BuildPlan> {
  const startedAt = Date.now();
  const out = resolve(request.out);
  const settings: JobSettings = {
    out,
    spacingMm: options.spacingMm ?? TARGET_SPACING_MM,
    dims: options.dims ?? TARGET_DIMS,
    lowPercentile: options.lowPercentile ?? LOW_PERCENTILE,
    highPercentile: options.highPercentile ?? HIGH_PERCENTILE,
    sliceSize: options.sliceSize ?? SLICE_SIZE,
  };
  const specs = checkSources(request.sources);
  const warnings = overlapWarnings(specs.map((s) => s.name));
  if (specs.some((s) => s.name === 'zenodo-slice-stacks') && !specs.some((s) => s.name === 'zenodo-slices')) {
    warnings.push('zenodo-slice-stacks without zenodo-slices: the 2D database gets none of these slices, and the split of the coronacases groups differs from a database built with zenodo-slices; give both sources to one build');
  }
  const warn = (message: string) => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  const scans: SourceScan[] = [];
  for (const spec of specs) scans.push(await ADAPTERS[spec.name].scan(resolve(spec.root)));
  const cases = numberCases(scans, settings, options.lungSegmenter);
  const byId = new Map(cases.map((e) => [e.caseId, e]));
  const figureCases = checkFigureCases(options.figureCases ?? [], cases, byId);
  await prepareFolder(out, lock, warn);
  const previous = await previousRecords(out, byId);
  const decided = await decideWork(out, cases, previous, figureCases, warn);
  return {
    startedAt, out, settings, seed: options.seed ?? 42, overlap: options.overlap ?? 'warn', segmenter: options.lungSegmenter,
    scans, cases, byId, figureCases, previous, ...decided, warnings, warn,
  };
}
