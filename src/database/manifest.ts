/**
 * `DB/manifest.json`: what is in a database and how it was made. One record per built
 * case (3D volumes and 2D-only slices), in case-id order, plus build metadata. Per-case
 * records are also kept in `DB/cases/<caseId>.json` as they finish, so an interrupted build
 * resumes; the manifest is assembled from them and written last.
 */
import { Type } from '@sinclair/typebox';
import { checkJson, type Static } from '../util/schema.js';
import { loadJsonFile } from '../util/json-file.js';
import { SOURCE_NAMES } from '../datasets/index.js';
import { databaseFile } from './db-file.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'covseg-database';
export const MANIFEST_VERSION = 1;

const N = Type.Number();
const Vec3Schema = Type.Tuple([N, N, N]);
const Mat3Schema = Type.Tuple([N, N, N, N, N, N, N, N, N]);
export const SourceNameSchema = Type.Union(SOURCE_NAMES.map((name) => Type.Literal(name)));

/**
 * Where a case's lung mask came from:
 * - `dataset`: published with the dataset (harmonised: lung ∪ lesion);
 * - `model:<name>`: computed by a lung segmenter (e.g. `model:r231:unet_r231.pth`);
 * - `missing`: none; the case has no lung files.
 */
const LungMaskSourceSchema = Type.Union([Type.Literal('dataset'), Type.Literal('missing'), Type.TemplateLiteral('model:${string}')], { expected: 'dataset, missing or model:<name>' });
export type LungMaskSource = Static<typeof LungMaskSourceSchema>;

/** A grid: size, voxel size, LPS origin, row-major direction (columns = index axes). */
const GeometrySchema = Type.Object({ dims: Vec3Schema, spacingMm: Vec3Schema, origin: Vec3Schema, direction: Mat3Schema });
export type GeometryRecord = Static<typeof GeometrySchema>;

/** One 2D database slice; paths relative to the database folder. */
const Slice2dSchema = Type.Object({
  /** 8-bit grey, normalised × 255. */
  image: Type.String(),
  /** 0/255: 255 = lesion. */
  lesion: Type.String(),
  /** 0/255: 255 = lung ∪ lesion; absent when the case has no lung mask. */
  lung: Type.Optional(Type.String()),
  /** The slice's z index in the 3D database volume (0 for 2D-only cases). */
  z: Type.Number(),
});
export type Slice2dRecord = Static<typeof Slice2dSchema>;

/** One built case, in the manifest and in `DB/cases/<caseId>.json`. */
export const CaseRecordSchema = Type.Object({
  /** `Case-NNNN` (3D cases) or `Slice-NNNNN` (2D-only cases). */
  caseId: Type.String(),
  kind: Type.Union([Type.Literal('volume'), Type.Literal('slice')]),
  source: SourceNameSchema,
  originalId: Type.String(),
  patientGroup: Type.String(),
  /** The input files (absolute paths as given at build time). */
  inputFiles: Type.Object({ image: Type.String(), lesion: Type.String(), lung: Type.Optional(Type.String()) }),
  /** z index of the slice in a multi-slice input file (MedSeg 100). */
  sliceIndex: Type.Optional(Type.Number()),
  /** A volume stacked from one file per slice (zenodo-slice-stacks): its slices' file names, in z order, next to `inputFiles`. */
  stack: Type.Optional(Type.Array(Type.String())),
  /** sha256 over the input files' bytes (and the slice index); a change rebuilds the case. */
  inputSha256: Type.String(),
  /** sha256 of each input file, by role (image, lesion, lung). */
  inputFileSha256: Type.Record(Type.String(), Type.String()),
  /** Hash of the build options that shape this case's outputs; a change rebuilds the case. */
  optionsHash: Type.String(),
  /** The CT's grid as read. */
  original: GeometrySchema,
  isHu: Type.Boolean(),
  huReason: Type.String(),
  lungMaskSource: LungMaskSourceSchema,
  /** Whether `lung-sides.nrrd` (1 right, 2 left) was written. */
  lungSides: Type.Boolean(),
  /** Lesion voxels (pixels for 2D-only cases) in the database's grid. */
  lesionVoxels: Type.Number(),
  /** Lung voxels in the database's grid; null without a lung mask (absent in older records). */
  lungVoxels: Type.Union([Type.Number(), Type.Null()], { default: null }),
  /**
   * The crop/pad box: the output's voxel (0,0,0) sits at `offset` in `sourceGeometry`
   * (the resampled LPS grid for volumes, the LPS slice for 2D-only cases). With it,
   * predictions are pasted back onto the original grid.
   */
  crop: Type.Object({ sourceGeometry: GeometrySchema, offset: Vec3Schema, outputDims: Vec3Schema }),
  /** 2D-only cases: output pixels per pixel of the padded square (320 / square side). */
  resizeScale: Type.Optional(Type.Number()),
  /** CT values mapped to 0 and 1, and the value padding used. */
  normalization: Type.Object({ lowValue: Type.Number(), highValue: Type.Number(), padValue: Type.Number() }),
  /** 3D files relative to the database folder (volumes only). */
  files3d: Type.Optional(Type.Object({ image: Type.String(), lesion: Type.String(), lung: Type.Optional(Type.String()), lungSides: Type.Optional(Type.String()) })),
  /** The case's 2D slices (only slices containing lesion). */
  slices2d: Type.Array(Slice2dSchema),
  /**
   * Size and sha256 of every output file (caseOutputs), by path relative to the database
   * folder: a rebuild checks them and rebuilds the case when one does not match. Absent in
   * records of older builds, whose cases are therefore rebuilt once.
   */
  outputs: Type.Optional(Type.Record(Type.String(), Type.Object({ bytes: Type.Number(), sha256: Type.String() }))),
  warnings: Type.Array(Type.String()),
  builtAt: Type.String(),
  buildMs: Type.Number(),
});
export type CaseRecord = Static<typeof CaseRecordSchema>;

const ManifestSourceSchema = Type.Object({
  name: SourceNameSchema,
  root: Type.String(),
  notes: Type.Array(Type.String()),
  /** Cases the adapter found. */
  found: Type.Number(),
});
export type ManifestSource = Static<typeof ManifestSourceSchema>;

const ManifestOptionsSchema = Type.Object({
  spacingMm: Vec3Schema,
  dims: Vec3Schema,
  lowPercentile: Type.Number(),
  highPercentile: Type.Number(),
  sliceSize: Type.Number(),
  /** Lung segmenter used for cases without a dataset lung mask; null if none (absent in older manifests). */
  lungModel: Type.Union([Type.String(), Type.Null()], { default: null }),
  seed: Type.Number(),
  overlap: Type.Union([Type.Literal('warn'), Type.Literal('merge')]),
});
export type ManifestOptions = Static<typeof ManifestOptionsSchema>;

/** What says a file is a manifest, checked before the rest. */
const ManifestFormatSchema = Type.Object({ format: Type.Literal(MANIFEST_FORMAT, { expected: `'${MANIFEST_FORMAT}' (this is not a covseg database manifest)` }) });

export const ManifestSchema = Type.Object({
  format: ManifestFormatSchema.properties.format,
  version: Type.Number(),
  covsegVersion: Type.String(),
  builtAt: Type.String(),
  options: ManifestOptionsSchema,
  /** How files encode their values, in words (for people opening the folder). */
  encoding: Type.Record(Type.String(), Type.String()),
  sources: Type.Array(ManifestSourceSchema),
  warnings: Type.Array(Type.String()),
  cases: Type.Array(CaseRecordSchema),
});
export type Manifest = Static<typeof ManifestSchema>;

/** The words written into every manifest: how to read the files. */
export const ENCODING_NOTES: Record<string, string> = {
  caseIds: 'Case-NNNN: 3D cases numbered in source order (mosmed, medseg9, zenodo, zenodo-slice-stacks) then natural order of original id; Slice-NNNNN: 2D-only cases (medseg100, zenodo-slices, semiseg) numbered the same way, separately, so adding a volume source does not renumber slices',
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

/** One case record (from the manifest or from `DB/cases/<caseId>.json`) checked against its schema; errors end with `fix`. */
export function checkCaseRecord(value: unknown, file: string, fix = FIX): CaseRecord {
  return checkJson(CaseRecordSchema, value, file, fix);
}

/** Every output file of a case (3D files, then each 2D slice's), relative to the database folder. */
export function caseOutputs(record: Pick<CaseRecord, 'files3d' | 'slices2d'>): string[] {
  const files: string[] = [];
  if (record.files3d) files.push(...(Object.values(record.files3d) as string[]));
  for (const s of record.slices2d) files.push(s.image, s.lesion, ...(s.lung ? [s.lung] : []));
  return files;
}

/**
 * Reads `DB/manifest.json` (`db` is the database folder or the file itself). Errors name
 * the file and the missing or mistyped key.
 */
export async function loadManifest(db: string): Promise<Manifest> {
  const file = await databaseFile(db, MANIFEST_FILE);
  return loadJsonFile(ManifestSchema, file, 'database manifest', FIX, ManifestFormatSchema);
}
