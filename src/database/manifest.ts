/**
 * `DB/manifest.json`: what is in a database and how it was made. One record per built
 * case (3D volumes and 2D-only slices), in case-id order, plus build metadata. Per-case
 * records are also kept in `DB/cases/<caseId>.json` as they finish, so an interrupted build
 * resumes; the manifest is assembled from them and written last.
 */
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Mat3, Vec3 } from '../volume/volume.js';
import { SOURCE_NAMES, type CaseFiles, type CaseKind, type SourceName } from '../datasets/index.js';
import { KeyReader, readJsonFile } from './json-keys.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'covseg-database';
export const MANIFEST_VERSION = 1;

/**
 * Where a case's lung mask came from:
 * - `dataset`: published with the dataset (harmonised: lung ∪ lesion);
 * - `model:<name>`: computed by a lung segmenter (e.g. `model:r231:unet_r231.pth`);
 * - `missing`: none; the case has no lung files.
 */
export type LungMaskSource = 'dataset' | 'missing' | `model:${string}`;

/** A grid: size, voxel size, LPS origin, row-major direction (columns = index axes). */
export interface GeometryRecord {
  dims: Vec3;
  spacingMm: Vec3;
  origin: Vec3;
  direction: Mat3;
}

/** One 2D database slice; paths relative to the database folder. */
export interface Slice2dRecord {
  /** 8-bit grey, normalised × 255. */
  image: string;
  /** 0/255: 255 = lesion. */
  lesion: string;
  /** 0/255: 255 = lung ∪ lesion; absent when the case has no lung mask. */
  lung?: string;
  /** The slice's z index in the 3D database volume (0 for 2D-only cases). */
  z: number;
}

export interface CaseRecord {
  /** `Case-NNNN` (3D cases) or `Slice-NNNNN` (2D-only cases). */
  caseId: string;
  kind: CaseKind;
  source: SourceName;
  originalId: string;
  patientGroup: string;
  /** The input files (absolute paths as given at build time). */
  inputFiles: CaseFiles;
  /** z index of the slice in a multi-slice input file (MedSeg 100). */
  sliceIndex?: number;
  /** sha256 over the input files' bytes (and the slice index); a change rebuilds the case. */
  inputSha256: string;
  /** sha256 of each input file, by role (image, lesion, lung). */
  inputFileSha256: Record<string, string>;
  /** Hash of the build options that shape this case's outputs; a change rebuilds the case. */
  optionsHash: string;
  /** The CT's grid as read. */
  original: GeometryRecord;
  isHu: boolean;
  huReason: string;
  lungMaskSource: LungMaskSource;
  /** Whether `lung-sides.nrrd` (1 right, 2 left) was written. */
  lungSides: boolean;
  /** Lesion voxels (pixels for 2D-only cases) in the database's grid. */
  lesionVoxels: number;
  /** Lung voxels in the database's grid; null without a lung mask. */
  lungVoxels: number | null;
  /**
   * The crop/pad box: the output's voxel (0,0,0) sits at `offset` in `sourceGeometry`
   * (the resampled LPS grid for volumes, the LPS slice for 2D-only cases). With it,
   * predictions are pasted back onto the original grid.
   */
  crop: { sourceGeometry: GeometryRecord; offset: Vec3; outputDims: Vec3 };
  /** 2D-only cases: output pixels per pixel of the padded square (320 / square side). */
  resizeScale?: number;
  /** CT values mapped to 0 and 1, and the value padding used. */
  normalization: { lowValue: number; highValue: number; padValue: number };
  /** 3D files relative to the database folder (volumes only). */
  files3d?: { image: string; lesion: string; lung?: string; lungSides?: string };
  /** The case's 2D slices (only slices containing lesion). */
  slices2d: Slice2dRecord[];
  /**
   * Size and sha256 of every output file (caseOutputs), by path relative to the database
   * folder: a rebuild checks them and rebuilds the case when one does not match. Absent in
   * records of older builds, whose cases are therefore rebuilt once.
   */
  outputs?: Record<string, { bytes: number; sha256: string }>;
  warnings: string[];
  builtAt: string;
  buildMs: number;
}

export interface ManifestSource {
  name: SourceName;
  root: string;
  notes: string[];
  /** Cases the adapter found. */
  found: number;
}

export interface ManifestOptions {
  spacingMm: Vec3;
  dims: Vec3;
  lowPercentile: number;
  highPercentile: number;
  sliceSize: number;
  /** Lung segmenter used for cases without a dataset lung mask; null if none. */
  lungModel: string | null;
  seed: number;
  overlap: 'warn' | 'merge';
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  covsegVersion: string;
  builtAt: string;
  options: ManifestOptions;
  /** How files encode their values, in words (for people opening the folder). */
  encoding: Record<string, string>;
  sources: ManifestSource[];
  warnings: string[];
  cases: CaseRecord[];
}

/** The words written into every manifest: how to read the files. */
export const ENCODING_NOTES: Record<string, string> = {
  caseIds: 'Case-NNNN: 3D cases numbered in source order (mosmed, medseg9, zenodo) then natural order of original id; Slice-NNNNN: 2D-only cases (medseg100, zenodo-slices, semiseg) numbered the same way, separately, so adding a volume source does not renumber slices',
  '3d/<caseId>/image.nrrd': 'float32 CT normalised to [0, 1] from the CT\'s 1st/99th percentiles, 0.9×0.9×4.5 mm, 320×320×80, LPS-oriented',
  '3d/<caseId>/lesion.nrrd': 'uint8, 1 = lesion (ground-glass opacity ∪ consolidation; pleural effusion is not lesion)',
  '3d/<caseId>/lung.nrrd': 'uint8, 1 = lung ∪ lesion; absent when the case has no lung mask (lungMaskSource "missing")',
  '3d/<caseId>/lung-sides.nrrd': 'uint8, 1 = right lung, 2 = left lung (lungmask convention, decided from position); only when the lung mask distinguishes them',
  '2d/images/<caseId>_zNNN.png': '8-bit grey, round(normalised × 255); axial slice z of the 3D case; rows top→bottom = anterior→posterior, columns left→right = patient right→left',
  '2d/images/<Slice-id>.png': '2D-only case: normalised from the slice\'s own 1st/99th percentiles, padded to a square (centred), resized to 320×320 (bilinear; masks nearest)',
  '2d/lesions/*.png': '8-bit 0/255, 255 = lesion',
  '2d/lungs/*.png': '8-bit 0/255, 255 = lung ∪ lesion (binary; right/left only in 3D lung-sides.nrrd); absent when the case has no lung mask',
};

const FIX = "rebuild the database with 'covseg build-db'";

function geometry(r: KeyReader): GeometryRecord {
  return {
    dims: r.numbers('dims', 3) as Vec3,
    spacingMm: r.numbers('spacingMm', 3) as Vec3,
    origin: r.numbers('origin', 3) as Vec3,
    direction: r.numbers('direction', 9) as Mat3,
  };
}

/** Parses one case record (from the manifest or from `DB/cases/<caseId>.json`). */
export function parseCaseRecord(r: KeyReader): CaseRecord {
  const files = r.object('inputFiles');
  const inputFiles: CaseFiles = { image: files.string('image'), lesion: files.string('lesion') };
  const lung = files.optionalString('lung');
  if (lung !== undefined) inputFiles.lung = lung;
  const crop = r.object('crop');
  const norm = r.object('normalization');
  const lungMaskSource = r.string('lungMaskSource');
  if (lungMaskSource !== 'dataset' && lungMaskSource !== 'missing' && !lungMaskSource.startsWith('model:')) {
    r.invalid('lungMaskSource', `is '${lungMaskSource}', not dataset, missing or model:<name>`);
  }
  const record: CaseRecord = {
    caseId: r.string('caseId'),
    kind: r.choice('kind', ['volume', 'slice'] as const),
    source: r.choice('source', SOURCE_NAMES),
    originalId: r.string('originalId'),
    patientGroup: r.string('patientGroup'),
    inputFiles,
    inputSha256: r.string('inputSha256'),
    inputFileSha256: Object.fromEntries(r.object('inputFileSha256').keys().map((k) => [k, r.object('inputFileSha256').string(k)])),
    optionsHash: r.string('optionsHash'),
    original: geometry(r.object('original')),
    isHu: r.boolean('isHu'),
    huReason: r.string('huReason'),
    lungMaskSource: lungMaskSource as LungMaskSource,
    lungSides: r.boolean('lungSides'),
    lesionVoxels: r.number('lesionVoxels'),
    lungVoxels: r.optionalNumber('lungVoxels') ?? null,
    crop: { sourceGeometry: geometry(crop.object('sourceGeometry')), offset: crop.numbers('offset', 3) as Vec3, outputDims: crop.numbers('outputDims', 3) as Vec3 },
    normalization: { lowValue: norm.number('lowValue'), highValue: norm.number('highValue'), padValue: norm.number('padValue') },
    slices2d: r.objects('slices2d').map((s) => {
      const slice: Slice2dRecord = { image: s.string('image'), lesion: s.string('lesion'), z: s.number('z') };
      const l = s.optionalString('lung');
      if (l !== undefined) slice.lung = l;
      return slice;
    }),
    warnings: r.strings('warnings'),
    builtAt: r.string('builtAt'),
    buildMs: r.number('buildMs'),
  };
  const sliceIndex = r.optionalNumber('sliceIndex');
  if (sliceIndex !== undefined) record.sliceIndex = sliceIndex;
  const resizeScale = r.optionalNumber('resizeScale');
  if (resizeScale !== undefined) record.resizeScale = resizeScale;
  const outputs = r.optionalObject('outputs');
  if (outputs) {
    record.outputs = Object.fromEntries(outputs.keys().map((k) => {
      const o = outputs.object(k);
      return [k, { bytes: o.number('bytes'), sha256: o.string('sha256') }];
    }));
  }
  const f3 = r.optionalObject('files3d');
  if (f3) {
    record.files3d = { image: f3.string('image'), lesion: f3.string('lesion') };
    const l = f3.optionalString('lung');
    const s = f3.optionalString('lungSides');
    if (l !== undefined) record.files3d.lung = l;
    if (s !== undefined) record.files3d.lungSides = s;
  }
  return record;
}

/** Every output file of a case (3D files, then each 2D slice's), relative to the database folder. */
export function caseOutputs(record: Pick<CaseRecord, 'files3d' | 'slices2d'>): string[] {
  const files: string[] = [];
  if (record.files3d) files.push(...(Object.values(record.files3d) as string[]));
  for (const s of record.slices2d) files.push(s.image, s.lesion, ...(s.lung ? [s.lung] : []));
  return files;
}

async function resolveDbFile(db: string, file: string): Promise<string> {
  try {
    if ((await stat(db)).isDirectory()) return join(db, file);
  } catch {
    // Not there: the read below reports it with the fix.
  }
  return db.endsWith('.json') ? db : join(db, file);
}

/**
 * Reads `DB/manifest.json` (`db` is the database folder or the file itself). Errors name
 * the file and the missing or mistyped key.
 */
export async function loadManifest(db: string): Promise<Manifest> {
  const file = await resolveDbFile(db, MANIFEST_FILE);
  const r = KeyReader.root(file, await readJsonFile(file, 'database manifest', FIX), FIX);
  const format = r.string('format');
  if (format !== MANIFEST_FORMAT) r.invalid('format', `is '${format}', not '${MANIFEST_FORMAT}': this is not a covseg database manifest`);
  const o = r.object('options');
  const options: ManifestOptions = {
    spacingMm: o.numbers('spacingMm', 3) as Vec3,
    dims: o.numbers('dims', 3) as Vec3,
    lowPercentile: o.number('lowPercentile'),
    highPercentile: o.number('highPercentile'),
    sliceSize: o.number('sliceSize'),
    lungModel: o.optionalString('lungModel') ?? null,
    seed: o.number('seed'),
    overlap: o.choice('overlap', ['warn', 'merge'] as const),
  };
  const enc = r.object('encoding');
  const encoding: Record<string, string> = {};
  for (const k of enc.keys()) encoding[k] = enc.string(k);
  return {
    format: MANIFEST_FORMAT,
    version: r.number('version'),
    covsegVersion: r.string('covsegVersion'),
    builtAt: r.string('builtAt'),
    options,
    encoding,
    sources: r.objects('sources').map((s) => ({ name: s.choice('name', SOURCE_NAMES), root: s.string('root'), notes: s.strings('notes'), found: s.number('found') })),
    warnings: r.strings('warnings'),
    cases: r.objects('cases').map(parseCaseRecord),
  };
}
