/**
 * `pseudo-labels`: a folder written by `covseg pseudo-label` — the user's own unlabelled
 * slices (or volumes) with the lesion masks a teacher model gave them and the lung masks
 * of covseg's lung model, for self-training (teacher → pseudo-labels → student, as
 * Semi-Inf-Net did with COVID-SemiSeg's unlabelled slices). Layout, every path relative to
 * the folder:
 *   pseudo-labels.json      the manifest (PseudoLabelsSchema): per item its files, the
 *                           teacher's sha256, its confidence, patientGroup, or why it is skipped
 *   images/ID.png|.jpg      the input as read (a copy of the slice file; a volume as NIfTI)
 *   lungs/ID.png|.nii.gz    lung labels, 1 = right, 2 = left
 *   lesions/ID.png|.nii.gz  the teacher's lesions, 0/1, inside the lungs
 * Items the manifest lists as skipped (below --min-confidence, or that failed) are not cases.
 * The source is train-only: its labels are the teacher's, so they must never score a model
 * (src/database/splits.ts keeps them out of validation and test).
 */
import { Type } from '@sinclair/typebox';
import { join } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { loadJsonFile } from '../util/json-file.js';
import { literals, type Static } from '../util/schema.js';
import { isFile, naturalCompare, requireRoot } from './files.js';
import { loadCaseFiles } from './load-case.js';
import type { CaseRef, DatasetAdapter, SourceScan } from './types.js';

export const PSEUDO_LABELS_FILE = 'pseudo-labels.json';
export const PSEUDO_LABELS_FORMAT = 'covseg-pseudo-labels';
/** The folders of an item's files, under the pseudo-labels folder. */
export const PSEUDO_LABEL_DIRS = { image: 'images', lung: 'lungs', lesion: 'lesions' } as const;

const Fraction = Type.Number({ minimum: 0, maximum: 1 });

export const PseudoLabelItemSchema = Type.Object({
  /** The item's name: the input's base name (file-system safe, unique in the folder); its files are named after it. */
  id: Type.String({ minLength: 1 }),
  /** The input, absolute, as it was read. */
  input: Type.String(),
  kind: literals(['slice', 'volume'] as const),
  /** Who the image comes from (--group-by on the input's file name; the id when not given). */
  patientGroup: Type.String({ minLength: 1 }),
  /** sha256 of the teacher (lesion model file) that labelled it: a rerun with the same teacher keeps the item. */
  teacherSha256: Type.String({ pattern: '^[0-9a-f]{64}$', expected: '64 hex digits (sha256)' }),
  /** Mean over the lung pixels of |p − 0.5| · 2 (p the teacher's lesion probability): 1 = every pixel certain, 0 = every pixel at 0.5. */
  confidence: Fraction,
  /** Share of the lung pixels with p in [0.3, 0.7]: where the teacher could not decide. */
  uncertainShare: Fraction,
  lungPixels: Type.Integer({ minimum: 0 }),
  lesionPixels: Type.Integer({ minimum: 0 }),
  /** The item's files, relative to the folder (written for skipped items too, to look at; absent when it failed). */
  files: Type.Optional(Type.Object({ image: Type.String(), lung: Type.String(), lesion: Type.String() })),
  /** Why the item is not a case (below --min-confidence, or the error that stopped it); absent for a case. */
  skipped: Type.Optional(Type.String()),
});
export type PseudoLabelItem = Static<typeof PseudoLabelItemSchema>;

const PseudoLabelsFormatSchema = Type.Object({ format: Type.Literal(PSEUDO_LABELS_FORMAT) });

export const PseudoLabelsSchema = Type.Object({
  format: PseudoLabelsFormatSchema.properties.format,
  version: Type.Literal(1),
  /** The teacher: its file's base name and sha256. */
  teacher: Type.Object({ model: Type.String(), sha256: Type.String({ pattern: '^[0-9a-f]{64}$', expected: '64 hex digits (sha256)' }) }),
  /** The lung model's name (src/lungs/models.ts). */
  lungModel: Type.String(),
  minConfidence: Fraction,
  /** --group-by's pattern, or null (each input its own group). */
  groupBy: Type.Union([Type.String(), Type.Null()]),
  /** --exclude's patterns, and the inputs they left out (base names). */
  exclude: Type.Array(Type.String()),
  excluded: Type.Array(Type.String()),
  items: Type.Array(PseudoLabelItemSchema),
});
export type PseudoLabelsFile = Static<typeof PseudoLabelsSchema>;

const LAYOUT = `a folder with ${PSEUDO_LABELS_FILE}, written by covseg pseudo-label`;

/** `root`'s manifest, checked; a missing, damaged or other file is a one-line error naming it. */
export async function readPseudoLabels(root: string): Promise<PseudoLabelsFile> {
  const file = join(root, PSEUDO_LABELS_FILE);
  if (!(await isFile(file))) throw new CovsegError(`no ${PSEUDO_LABELS_FILE}; make it with covseg pseudo-label --out ${root}`, { file: root });
  return loadJsonFile(PseudoLabelsSchema, file, 'pseudo-labels manifest', `make it again with covseg pseudo-label --overwrite`, PseudoLabelsFormatSchema);
}

export async function scanPseudoLabels(root: string): Promise<SourceScan> {
  await requireRoot(root, 'pseudo-labels', LAYOUT);
  const manifest = await readPseudoLabels(root);
  const cases: CaseRef[] = [];
  for (const item of manifest.items) {
    if (item.skipped !== undefined || !item.files) continue;
    cases.push({
      source: 'pseudo-labels',
      originalId: item.id,
      kind: item.kind,
      patientGroup: item.patientGroup,
      files: { image: join(root, item.files.image), lesion: join(root, item.files.lesion), lung: join(root, item.files.lung) },
    });
  }
  cases.sort((a, b) => naturalCompare(a.originalId, b.originalId));
  const skipped = manifest.items.length - cases.length;
  const groups = new Set(cases.map((c) => c.patientGroup)).size;
  const notes = [
    `${cases.length} pseudo-labelled ${cases.length === 1 ? 'item' : 'items'} of ${groups} patient ${groups === 1 ? 'group' : 'groups'} (teacher ${manifest.teacher.model}, sha256 ${manifest.teacher.sha256.slice(0, 12)}…); train split only: their labels are the teacher's`,
  ];
  if (skipped > 0) notes.push(`${skipped} ${skipped === 1 ? 'item' : 'items'} skipped by pseudo-label (confidence below ${manifest.minConfidence}, or failed)`);
  if (manifest.excluded.length > 0) notes.push(`${manifest.excluded.length} input(s) left out by --exclude ${manifest.exclude.join(' ')}`);
  return { source: 'pseudo-labels', root, cases, notes };
}

export const pseudoLabels: DatasetAdapter = {
  source: 'pseudo-labels',
  kind: 'slice',
  layout: LAYOUT,
  scan: scanPseudoLabels,
  trainOnly: "its lesion masks are a teacher model's predictions, not an expert's: they may train a model, never score one",
  // Written by covseg: lesions 0/1, lungs 1/2; whether the values are HU, checkHu says (as segment's check did).
  load: (ref) => loadCaseFiles(ref, { lesionLabels: 'nonzero', lungEncoding: 'labels' }),
};
