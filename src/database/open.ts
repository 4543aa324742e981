/**
 * Opening a database for reading: its manifest, then its splits, and the one query that
 * training and evaluation both ask of it (`cases({ split, sources, task })`). Sequential
 * on purpose: a folder that is not a database must always be named by its missing
 * manifest, never by whichever of two parallel reads happened to fail first.
 */
import { dirname, extname, basename, join } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { sourceName, type SourceName } from '../datasets/index.js';
import { databaseFile } from './db-file.js';
import { loadManifest, MANIFEST_FILE, type CaseRecord, type Manifest } from './manifest.js';
import { loadSplits, SPLIT_NAMES, type SplitName, type Splits } from './splits.js';
import { makeFoldSplits, parseFold } from './folds.js';

/** Which mask a model learns or is scored against: the lesions (the method) or the lungs. */
export type DatabaseTask = 'lesion' | 'lung';

export interface CaseQuery {
  /** One subset of splits.json, or 'all' of them. Defaults to 'all'. */
  split?: SplitName | 'all';
  /** Only cases of these sources; an unknown name is an error. Defaults to every source. */
  sources?: readonly string[];
  /** Which mask is the reference. Defaults to 'lesion'. */
  task?: DatabaseTask;
}

/** One image with its masks for the task; absolute paths. */
export interface TaskFiles {
  image: string;
  /** The task's reference: the lesion mask, or the lung mask for 'lung' (absent when the case has none). */
  reference?: string;
  /** The lung mask, when the case has one (a lesion model's loss mask and in-lung Dice). */
  lungMask?: string;
  /** The lesion mask, whatever the task (a lung model's training draws lesion-filled slices more often). */
  lesionMask: string;
}

export interface SliceTaskFiles extends TaskFiles {
  /** The slice's file name without extension (`Case-0003_z041`, `Slice-00012`). */
  name: string;
  /** Axial index in the case's 3D volume (0 for 2D-only cases). */
  z: number;
}

/** One case a query returns: its record, its subset, and its files for the task. */
export interface DatabaseCase {
  record: CaseRecord;
  split: SplitName;
  /** The 3D volumes; absent for 2D-only cases. */
  volume?: TaskFiles;
  /** The 2D slices (those containing lesion). */
  slices: SliceTaskFiles[];
}

export interface OpenDatabase {
  /** The database folder. */
  root: string;
  manifest: Manifest;
  splits: Splits;
  /** The cases of `query`, in the manifest's case-id order. */
  cases(query?: CaseQuery): DatabaseCase[];
}

function taskFiles(root: string, files: { image: string; lesion: string; lung?: string | undefined }, task: DatabaseTask): TaskFiles {
  const reference = task === 'lung' ? files.lung : files.lesion;
  const out: TaskFiles = { image: join(root, files.image), lesionMask: join(root, files.lesion) };
  if (reference !== undefined) out.reference = join(root, reference);
  if (files.lung !== undefined) out.lungMask = join(root, files.lung);
  return out;
}

export interface OpenDatabaseOptions {
  /**
   * A validation fold (`out=NAME`, `kK/I`; src/database/folds.ts) to read instead of
   * splits.json: its train/validation/test subsets answer `cases({ split })`.
   */
  fold?: string;
}

/** Reads `db`'s manifest, then its splits (`db`: the database folder, or its manifest.json). */
export async function openDatabase(db: string, options: OpenDatabaseOptions = {}): Promise<OpenDatabase> {
  const manifestFile = await databaseFile(db, MANIFEST_FILE);
  const manifest = await loadManifest(manifestFile);
  const root = dirname(manifestFile);
  const splits = options.fold === undefined
    ? await loadSplits(root)
    : makeFoldSplits(manifest.cases.map((c) => ({ caseId: c.caseId, source: c.source, patientGroup: c.patientGroup })), parseFold(options.fold));
  return {
    root,
    manifest,
    splits,
    cases(query: CaseQuery = {}): DatabaseCase[] {
      const task = query.task ?? 'lesion';
      const wanted = new Set<SplitName>(!query.split || query.split === 'all' ? SPLIT_NAMES : [query.split]);
      const sources = query.sources && new Set<SourceName>(query.sources.map((s) => sourceName(s, (problem) => new CovsegError(problem, { file: db }))));
      const found: DatabaseCase[] = [];
      for (const record of manifest.cases) {
        const split = splits.caseSplit[record.caseId];
        if (split === undefined || !wanted.has(split) || (sources && !sources.has(record.source))) continue;
        const slices = record.slices2d.map((s) => ({ ...taskFiles(root, s, task), name: basename(s.image, extname(s.image)), z: s.z }));
        found.push({ record, split, slices, ...(record.files3d ? { volume: taskFiles(root, record.files3d, task) } : {}) });
      }
      return found;
    },
  };
}
