/**
 * What an evaluation reads: the cases, their slices (or volumes) and reference files,
 * from a covseg database split or from a folder of slices with same-named masks. Plans
 * are lists of files; nothing is decoded here, so every naming error shows before the
 * model runs.
 */
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { openDatabase, SPLIT_NAMES, type DatabaseCase, type SplitName } from '../database/index.js';
import { naturalCompare } from '../datasets/index.js';
import type { ModelSpec } from '../infer/model-spec.js';
import type { CaseInfo, EvaluationData } from './evaluation.js';

/** Splits `covseg evaluate --split` accepts: one subset of DB/splits.json, or 'all' of them. */
export const EVAL_SPLITS = [...SPLIT_NAMES, 'all'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

/** One 2D slice: its image and masks (PNG/JPEG paths). */
export interface SliceFiles {
  /** The slice's id: its image file name without extension. */
  id: string;
  /** Axial index in its case's volume (0 for single slices). */
  z: number;
  image: string;
  /** The reference: lesion mask for a lesion model, lung mask for a lung model. */
  reference: string;
  /** Lung mask, for the in-lung Dice of a lesion model. */
  lungMask?: string;
}

export interface SliceCasePlan {
  info: CaseInfo;
  slices: SliceFiles[];
}

/** One 3D case: its database volumes (NRRD paths). */
export interface VolumeCasePlan {
  info: CaseInfo;
  image: string;
  reference: string;
  lungMask?: string;
}

export type EvaluationPlan =
  | { dims: 2; data: EvaluationData; cases: SliceCasePlan[]; warnings: string[] }
  | { dims: 3; data: EvaluationData; cases: VolumeCasePlan[]; warnings: string[] };

export interface PlanDatabaseOptions {
  /** Which subset of DB/splits.json: 'train', 'validation', 'test', or 'all'. Defaults to 'test'. */
  split?: string;
  /** Only cases of these sources (manifest `source`). Defaults to all. */
  sources?: readonly string[];
  /** A validation fold to read instead of DB/splits.json (`out=NAME`, `kK/I`, see src/database/folds.ts). Defaults to none. */
  fold?: string;
}

/**
 * The cases of a database split for `spec`'s model: a 2D model is evaluated on the 2D
 * slices (case = patient group), a 3D model on the 3D volumes (case = volume). A lung
 * model's reference is the lung mask, so cases without one are left out (with a warning);
 * a lesion model's reference is the lesion mask, with the in-lung Dice where a lung mask exists.
 */
export async function planDatabaseEvaluation(db: string, spec: Pick<ModelSpec, 'dims' | 'task'>, options: PlanDatabaseOptions = {}): Promise<EvaluationPlan> {
  const split = options.split ?? 'test';
  if (!(EVAL_SPLITS as readonly string[]).includes(split)) {
    throw new CovsegError(`unknown split '${split}'; use one of ${EVAL_SPLITS.join(', ')}`, { file: db });
  }
  const database = await openDatabase(db, { fold: options.fold });
  const records = database.cases({ split: split as SplitName | 'all', sources: options.sources, task: spec.task });
  const data: EvaluationData = { kind: 'database', db, split, sources: options.sources ? [...options.sources] : null };
  const where = `the ${split === 'all' ? 'database' : `'${split}' split`}${options.sources ? ` (sources ${options.sources.join(', ')})` : ''}`;
  const warnings: string[] = [];
  const noLung = new Map<string, number>();
  const countNoLung = (source: string, n: number) => noLung.set(source, (noLung.get(source) ?? 0) + n);
  const finish = <T>(cases: T[], what: string): T[] => {
    for (const [source, n] of noLung) warnings.push(`${n} ${what} of ${source} left out: no lung mask, which is a lung model's reference`);
    if (cases.length === 0) {
      throw new CovsegError(`${where} has no ${what} to evaluate${warnings.length ? ` (${warnings.join('; ')})` : ''}; choose another --split or --sources${spec.dims === 3 ? ', or build a 3D database' : ''}`, { file: db });
    }
    return cases;
  };

  if (spec.dims === 3) {
    const voxelMl = database.manifest.options.spacingMm.reduce((a, b) => a * b, 1) / 1000;
    const cases: VolumeCasePlan[] = [];
    for (const { record: c, split: caseSplit, volume } of records) {
      if (!volume) continue;
      if (!volume.reference) {
        countNoLung(c.source, 1);
        continue;
      }
      const plan: VolumeCasePlan = {
        info: { id: c.caseId, source: c.source, patientGroup: c.patientGroup, split: caseSplit, voxelMl },
        image: volume.image,
        reference: volume.reference,
      };
      if (spec.task === 'lesion' && volume.lungMask) plan.lungMask = volume.lungMask;
      cases.push(plan);
    }
    return { dims: 3, data, cases: finish(cases, '3D volumes'), warnings };
  }

  // Slice sets: one case per patient group, in the manifest's case-id order.
  const groups = new Map<string, { cases: DatabaseCase[]; slices: SliceFiles[] }>();
  for (const c of records) {
    let g = groups.get(c.record.patientGroup);
    if (!g) groups.set(c.record.patientGroup, (g = { cases: [], slices: [] }));
    g.cases.push(c);
    for (const s of c.slices) {
      if (!s.reference) {
        countNoLung(c.record.source, 1);
        continue;
      }
      const slice: SliceFiles = { id: s.name, z: s.z, image: s.image, reference: s.reference };
      if (spec.task === 'lesion' && s.lungMask) slice.lungMask = s.lungMask;
      g.slices.push(slice);
    }
  }
  const cases: SliceCasePlan[] = [];
  for (const [patientGroup, g] of groups) {
    if (g.slices.length === 0) continue;
    const sources = [...new Set(g.cases.map((c) => c.record.source))];
    cases.push({ info: { id: patientGroup, source: sources.join('+'), patientGroup, split: g.cases[0]!.split, voxelMl: null }, slices: g.slices });
  }
  return { dims: 2, data, cases: finish(cases, '2D slices'), warnings };
}

/** A folder of slices with same-named masks (`--images`, `--masks`, `--lungs`). */
export interface SliceFolders {
  /** Slices (PNG/JPEG). */
  images: string;
  /** Reference masks named like the images, extension aside (`Imgs/12.jpg` ↔ `GT/12.png`); nonzero = positive. */
  masks: string;
  /** Lung masks named like the images, for a lesion model's in-lung Dice. Defaults to none. */
  lungs?: string;
}

const RASTER = /\.(png|jpe?g)$/i;

/** Raster files of `dir` by name without extension; two files of one name are an error. */
async function rastersByStem(dir: string, what: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.') && RASTER.test(e.name)).map((e) => e.name);
  } catch (err) {
    throw new CovsegError(`cannot list the ${what} folder: ${(err as Error).message}; pass a folder of PNG/JPEG files`, { file: dir, cause: err });
  }
  const byStem = new Map<string, string>();
  for (const name of names.sort(naturalCompare)) {
    const stem = name.slice(0, -extname(name).length);
    const other = byStem.get(stem);
    if (other) throw new CovsegError(`${basename(other)} and ${name} have the same name; keep one file per slice`, { file: dir });
    byStem.set(stem, join(dir, name));
  }
  return byStem;
}

function listSome(names: readonly string[]): string {
  const shown = names.slice(0, 12).join(', ');
  return names.length > 12 ? `${shown}, … (${names.length - 12} more)` : shown;
}

/**
 * Each image of `folders.images` is its own case, matched by name (extension aside) with
 * its mask, and lung mask when `folders.lungs` is given. Any file without its partner is
 * an error that lists them all.
 */
export async function planFolderEvaluation(folders: SliceFolders, spec: Pick<ModelSpec, 'dims' | 'task'>): Promise<EvaluationPlan> {
  if (spec.dims !== 2) throw new CovsegError(`a folder of slices needs a 2D model, this one is ${spec.dims}D; evaluate 3D models on a database (--db)`, { file: folders.images });
  if (spec.task === 'lung' && folders.lungs) {
    throw new CovsegError('--lungs is for a lesion model\'s in-lung Dice; a lung model\'s reference is given with --masks', { file: folders.lungs });
  }
  const images = await rastersByStem(folders.images, 'images');
  if (images.size === 0) throw new CovsegError('no PNG or JPEG slices here; pass the folder that holds the slices (e.g. COVID-SemiSeg Imgs/)', { file: folders.images });
  const masks = await rastersByStem(folders.masks, 'masks');
  const lungs = folders.lungs ? await rastersByStem(folders.lungs, 'lungs') : undefined;
  const problems: string[] = [];
  const unmatched = (a: Map<string, string>, b: Map<string, string>) => [...a].filter(([stem]) => !b.has(stem)).map(([, path]) => basename(path));
  const noMask = unmatched(images, masks);
  const noImage = unmatched(masks, images);
  if (noMask.length) problems.push(`${noMask.length} image(s) without a mask in ${folders.masks}: ${listSome(noMask)}`);
  if (noImage.length) problems.push(`${noImage.length} mask(s) without an image in ${folders.images}: ${listSome(noImage)}`);
  if (lungs) {
    const noLung = unmatched(images, lungs);
    if (noLung.length) problems.push(`${noLung.length} image(s) without a lung mask in ${folders.lungs}: ${listSome(noLung)}`);
  }
  if (problems.length) {
    throw new CovsegError(`images and masks do not match by name: ${problems.join('; ')}. Name each mask like its image (the extension may differ: Imgs/12.jpg ↔ GT/12.png)`, { file: folders.masks });
  }
  const cases: SliceCasePlan[] = [...images].map(([stem, image]) => {
    const slice: SliceFiles = { id: stem, z: 0, image, reference: masks.get(stem)! };
    const lung = lungs?.get(stem);
    if (lung) slice.lungMask = lung;
    return { info: { id: stem, source: null, patientGroup: null, split: 'images', voxelMl: null }, slices: [slice] };
  });
  return { dims: 2, data: { kind: 'folder', images: folders.images, masks: folders.masks, lungs: folders.lungs ?? null }, cases, warnings: [] };
}
