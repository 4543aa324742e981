/**
 * `covseg pseudo-label`: a teacher lesion model's masks for the user's own unlabelled slices
 * (PNG/JPEG) and CT volumes, written as build-db's `pseudo-labels` source (its layout:
 * src/datasets/pseudo-labels.ts), so a student can train on them beside the expert-labelled
 * sources (self-training, as Semi-Inf-Net did). Each input goes through `covseg segment`'s
 * own pipeline (src/segment/pipeline.ts: input checks, lungs, lesions inside them), so a
 * pseudo-label is what segment would have said.
 *
 * Order of the work: inputs listed and left out by --exclude, patient groups from
 * --group-by, the existing manifest read (a damaged one is an error), every input to label
 * read and checked (a bad file is a one-line error before any model loads), then the models
 * and the items one by one, each file written atomically, the manifest every
 * MANIFEST_EVERY items and at the end. A rerun keeps every item the manifest lists with the
 * same input and teacher sha256 whose files are there: it runs no model for them.
 */
import { copyFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { detectFormat, readImage, writeVolume } from '../io/index.js';
import { fromLps } from '../volume/index.js';
import type { LabelMap, Volume } from '../volume/volume.js';
import { checkInput, isImageFile, modelLoader, segmentCt, type SegmentedCt, type SegmentModels } from '../segment/index.js';
import { countNonzero, PSEUDO_LABEL_DIRS, PSEUDO_LABELS_FILE, PSEUDO_LABELS_FORMAT, readPseudoLabels, zenodoGroupInName, type PseudoLabelItem, type PseudoLabelsFile } from '../datasets/index.js';
import { withAtomicPath, writeFileAtomic } from '../util/atomic-write.js';
import { sha256File } from '../util/file-digest.js';
import { CovsegError } from '../util/errors.js';
import { checkOutputDir } from '../util/output-target.js';
import type { ProgressCallback } from '../util/progress.js';
import { caseNames, folderCases } from './inputs.js';

/** Lesion probabilities in this band count as undecided (the manifest's uncertainShare). */
export const UNCERTAIN_BAND = [0.3, 0.7] as const;
/** The manifest is rewritten after this many newly labelled items (and at the end): an interrupted run loses at most these. */
const MANIFEST_EVERY = 20;

export interface PseudoLabelOptions {
  /** The teacher: a 2D or 3D lesion ONNX model from `covseg train`. */
  lesionModel: string;
  /** Lung model of the registry (src/lungs/models.ts). Defaults to 'default'. */
  lungModel?: string;
  /** The lung model's weights, where it needs them. */
  lungWeights?: string;
  /** Items whose confidence is below this are listed as skipped. Defaults to 0 (none). */
  minConfidence?: number;
  /**
   * A regular expression on the input's file name: its capture groups joined by ':' (or the
   * whole match) are the patientGroup; or 'zenodo' (ZENODO_GROUPS): the group of the Zenodo
   * 3757476 scan the name carries, as the zenodo source has it. Defaults to none: each input its own group.
   */
  groupBy?: string;
  /** Regular expressions on the input's file name: matching inputs are left out. Defaults to none. */
  exclude?: readonly string[];
  /** Start afresh: the folder's pseudo-labels (manifest and item folders) are replaced. Defaults to false (resume). */
  overwrite?: boolean;
  /** ONNX Runtime threads. Defaults to 2. */
  threads?: number;
  /** Told (done, total, stage, the item just done): stage 'check' for the inputs read before the models, 'label' for the items. */
  onProgress?: ProgressCallback;
}

export interface PseudoLabelResult {
  /** The manifest written. */
  file: string;
  manifest: PseudoLabelsFile;
  /** Items the teacher ran on in this run, and those kept from an earlier one. */
  labelled: number;
  kept: number;
  /** What the input folders held that is not an input. */
  notes: string[];
}

interface Input {
  path: string;
  id: string;
  kind: PseudoLabelItem['kind'];
  patientGroup: string;
}

/** A regular expression from a flag, or a one-line error naming the flag. */
function pattern(text: string, flagName: string): RegExp {
  try {
    return new RegExp(text);
  } catch (err) {
    throw new CovsegError(`${flagName} '${text}' is not a regular expression: ${(err as Error).message}`);
  }
}

/** The files of every --input (a folder: its image files and DICOM series subfolders), absolute, each once; `notes` says what a folder held besides. */
async function listInputs(inputs: readonly string[]): Promise<{ paths: string[]; notes: string[] }> {
  const paths: string[] = [];
  const notes: string[] = [];
  for (const input of inputs) {
    const path = resolve(input);
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      throw new CovsegError(`cannot open --input: ${err.code === 'ENOENT' ? 'no such file or folder' : err.message}`, { file: path, cause: err });
    });
    // A folder of DICOM files is one series (one volume); any other folder is a folder of inputs.
    if (info.isDirectory() && !(await isDicomSeries(path))) {
      const found = await folderCases(path);
      paths.push(...found.paths);
      notes.push(...found.notes);
    } else paths.push(path);
  }
  return { paths: [...new Set(paths)], notes };
}

async function isDicomSeries(dir: string): Promise<boolean> {
  const first = (await readdir(dir, { withFileTypes: true })).find((e) => e.isFile() && !e.name.startsWith('.'));
  return first !== undefined && (await detectFormat(join(dir, first.name)).then((f) => f.format === 'dicom', () => false));
}

/** --group-by's preset: the patient groups of the Zenodo 3757476 scans the names carry (zenodoGroupInName). */
export const ZENODO_GROUPS = 'zenodo';

/**
 * `name`'s patient group under `groupBy` (captures joined by ':', or the whole match; the
 * ZENODO_GROUPS preset: the Zenodo scan's group); a name it does not match is an error.
 */
function groupOf(name: string, groupBy: RegExp | typeof ZENODO_GROUPS | undefined, id: string, file: string): string {
  if (!groupBy) return `pseudo-labels:${id}`;
  if (groupBy === ZENODO_GROUPS) {
    const group = zenodoGroupInName(name);
    if (!group) throw new CovsegError("--group-by zenodo: the file's name carries no Zenodo 3757476 scan name (coronacases_org_NNN, radiopaedia_org_covid-19-pneumonia-N_…-dcm), so its patient is unknown; give a --group-by REGEX or --exclude the file", { file });
    return group;
  }
  const m = groupBy.exec(name);
  if (!m) throw new CovsegError(`--group-by '${groupBy.source}' does not match this file's name, so its patient is unknown; fix the pattern or --exclude the file`, { file });
  const captures = m.slice(1).filter((c): c is string => c !== undefined && c !== '');
  return captures.length > 0 ? captures.join(':') : m[0];
}

/** The previous run's manifest, or undefined when there is none (or --overwrite, which removes nothing yet); a folder with other things in it is refused. */
async function previousManifest(out: string, overwrite: boolean): Promise<PseudoLabelsFile | undefined> {
  if (overwrite) return undefined;
  const has = await stat(join(out, PSEUDO_LABELS_FILE)).then((s) => s.isFile(), () => false);
  if (has) return readPseudoLabels(out);
  const entries = await readdir(out).catch(() => []);
  if (entries.length > 0) throw new CovsegError(`the folder is not empty and holds no ${PSEUDO_LABELS_FILE}; choose another --out or pass --overwrite`, { file: out });
  return undefined;
}

/**
 * What an earlier run left that this one does not keep, removed once the inputs passed their
 * checks: with --overwrite every pseudo-label of the folder, else the files of items this run
 * does not list, so the folder holds what the manifest says.
 */
async function removeStale(out: string, overwrite: boolean, previous: PseudoLabelsFile | undefined, listed: readonly Input[]): Promise<void> {
  if (overwrite) {
    for (const dir of Object.values(PSEUDO_LABEL_DIRS)) await rm(join(out, dir), { recursive: true, force: true });
    await rm(join(out, PSEUDO_LABELS_FILE), { force: true });
    return;
  }
  for (const old of previous?.items ?? []) {
    if (!listed.some((i) => i.id === old.id) && old.files) for (const f of Object.values(old.files)) await rm(join(out, f), { force: true });
  }
}

/** Whether every file of `item` is in `out`. */
async function filesThere(out: string, item: PseudoLabelItem): Promise<boolean> {
  if (!item.files) return true;
  for (const f of Object.values(item.files)) if (!(await stat(join(out, f)).then((s) => s.isFile(), () => false))) return false;
  return true;
}

/** Confidence and undecided share of `probability` over the lung pixels (`lungs` ≠ 0), one grid. */
export function teacherConfidence(probability: Volume<Float32Array> | undefined, lungs: LabelMap): { confidence: number; uncertainShare: number; lungPixels: number } {
  let n = 0;
  let sum = 0;
  let undecided = 0;
  for (let i = 0; i < lungs.data.length; i++) {
    if (!lungs.data[i]) continue;
    const p = probability?.data[i] ?? 0;
    n++;
    sum += Math.abs(p - 0.5) * 2;
    if (p >= UNCERTAIN_BAND[0] && p <= UNCERTAIN_BAND[1]) undecided++;
  }
  return { confidence: n ? sum / n : 0, uncertainShare: n ? undecided / n : 0, lungPixels: n };
}


/** Writes the item's three files (atomically, each) and returns their names relative to `out`. */
async function writeItem(out: string, input: Input, segmented: SegmentedCt, ct: Volume): Promise<NonNullable<PseudoLabelItem['files']>> {
  const slice = input.kind === 'slice';
  const maskExt = slice ? '.png' : '.nii.gz';
  // A slice is copied as it is (its bytes are what was read); a volume (any format, a DICOM series) is stored as NIfTI.
  const files = {
    image: join(PSEUDO_LABEL_DIRS.image, input.id + (slice ? extname(input.path).toLowerCase() : '.nii.gz')),
    lung: join(PSEUDO_LABEL_DIRS.lung, input.id + maskExt),
    lesion: join(PSEUDO_LABEL_DIRS.lesion, input.id + maskExt),
  };
  if (slice) await withAtomicPath(join(out, files.image), (tmp) => copyFile(input.path, tmp));
  else await withAtomicPath(join(out, files.image), (tmp) => writeVolume(tmp, ct), '.nii.gz');
  const masks = { lung: fromLps(segmented.lps.lungs, segmented.transform), lesion: fromLps(segmented.lps.lesions, segmented.transform) };
  for (const k of ['lung', 'lesion'] as const) await withAtomicPath(join(out, files[k]), (tmp) => writeVolume(tmp, masks[k]), maskExt);
  return files;
}

/** The item's skip reason under `minConfidence` (a failure's reason stays). */
function judged(item: PseudoLabelItem, minConfidence: number): PseudoLabelItem {
  const { skipped, ...rest } = item;
  if (!item.files) return item;
  return item.confidence < minConfidence ? { ...rest, skipped: `confidence ${item.confidence.toFixed(3)} is below --min-confidence ${minConfidence}` } : rest;
}

/** The inputs of `inputs` that --exclude leaves, each with its id, kind and patient group; the excluded paths; what the folders held besides. */
async function inputsToLabel(inputs: readonly string[], options: PseudoLabelOptions): Promise<{ listed: Input[]; excluded: string[]; notes: string[] }> {
  const excludes = (options.exclude ?? []).map((e) => pattern(e, '--exclude'));
  const groupBy = options.groupBy === undefined || options.groupBy === ZENODO_GROUPS ? options.groupBy : pattern(options.groupBy, '--group-by');
  const { paths: all, notes } = await listInputs(inputs);
  const excluded = all.filter((p) => excludes.some((e) => e.test(basename(p))));
  const paths = all.filter((p) => !excluded.includes(p));
  if (paths.length === 0) throw new CovsegError(`no input left to label (${all.length} found, ${excluded.length} left out by --exclude)`, { file: resolve(inputs[0] ?? '.') });
  const ids = caseNames(paths);
  const listed: Input[] = [];
  for (const [i, path] of paths.entries()) {
    const kind = isImageFile(await detectFormat(path)) ? 'slice' : 'volume';
    listed.push({ path, id: ids[i]!, kind, patientGroup: groupOf(basename(path), groupBy, ids[i]!, path) });
  }
  return { listed, excluded, notes };
}

/** One input through segment's pipeline with the opened models, its files written: its manifest item (a refusal is an item too, skipped with the reason). */
async function labelOne(out: string, input: Input, models: SegmentModels, teacherSha: string): Promise<PseudoLabelItem> {
  const base = { id: input.id, input: input.path, kind: input.kind, patientGroup: input.patientGroup, teacherSha256: teacherSha };
  try {
    const { volume: ct, meta } = await readImage(input.path);
    const segmented = await segmentCt(ct, meta, async () => models, { inputName: input.path });
    const files = await writeItem(out, input, segmented, ct);
    const figures = teacherConfidence(segmented.lesionProbability, segmented.lps.lungs);
    return { ...base, ...figures, lesionPixels: countNonzero(segmented.lps.lesions.data), files };
  } catch (err) {
    // One item the pipeline refuses (no lungs in view, a volume not in HU) is listed, not the end of the run.
    if (!(err instanceof CovsegError)) throw err;
    return { ...base, confidence: 0, uncertainShare: 0, lungPixels: 0, lesionPixels: 0, skipped: err.message };
  }
}

/** See the file comment. `inputs`: slice files, volume files, DICOM series folders, or folders of them. */
export async function pseudoLabel(inputs: readonly string[], outDir: string, options: PseudoLabelOptions): Promise<PseudoLabelResult> {
  const out = resolve(outDir);
  const minConfidence = options.minConfidence ?? 0;
  const progress = options.onProgress ?? (() => {});
  await checkOutputDir(out, '--out');
  const teacherFile = resolve(options.lesionModel);
  const teacherSha = await sha256File(teacherFile).catch((err: NodeJS.ErrnoException) => {
    throw new CovsegError(`cannot read the teacher model: ${err.code ?? err.message}`, { file: teacherFile, cause: err });
  });

  const { listed, excluded, notes } = await inputsToLabel(inputs, options);

  const previous = await previousManifest(out, options.overwrite ?? false);
  const before = new Map((previous?.items ?? []).map((it) => [it.id, it]));
  const items = new Map<string, PseudoLabelItem>();
  const toLabel: Input[] = [];
  for (const input of listed) {
    const old = before.get(input.id);
    if (old && old.input === input.path && old.teacherSha256 === teacherSha && (await filesThere(out, old))) items.set(input.id, { ...old, patientGroup: input.patientGroup });
    else toLabel.push(input);
  }
  // Every input to label read and checked as segment checks it, before any model loads.
  progress(0, toLabel.length, 'check');
  for (const [i, input] of toLabel.entries()) {
    if (input.kind === 'slice') {
      const { volume, meta } = await readImage(input.path);
      checkInput(volume, meta);
    }
    progress(i + 1, toLabel.length, 'check', input.id);
  }
  await removeStale(out, options.overwrite ?? false, previous, listed);

  const manifestOf = (): PseudoLabelsFile => ({
    format: PSEUDO_LABELS_FORMAT,
    version: 1,
    teacher: { model: basename(teacherFile), sha256: teacherSha },
    lungModel: options.lungModel ?? 'default',
    minConfidence,
    groupBy: options.groupBy ?? null,
    exclude: [...(options.exclude ?? [])],
    excluded: excluded.map((p) => basename(p)),
    items: listed.filter((i) => items.has(i.id)).map((i) => judged(items.get(i.id)!, minConfidence)),
  });
  const file = join(out, PSEUDO_LABELS_FILE);
  let written = previous ? JSON.stringify(previous, null, 1) + '\n' : '';
  const writeManifest = async () => {
    const text = JSON.stringify(manifestOf(), null, 1) + '\n';
    // Unchanged, untouched: a rerun with nothing to do writes nothing.
    if (text !== written) await writeFileAtomic(file, text);
    written = text;
  };

  if (toLabel.length > 0) {
    const models = modelLoader({ lungModel: options.lungModel, lungWeights: options.lungWeights, lesionModel: teacherFile, threads: options.threads });
    try {
      const opened = await models.load();
      progress(0, toLabel.length, 'label');
      for (const [i, input] of toLabel.entries()) {
        items.set(input.id, await labelOne(out, input, opened, teacherSha));
        progress(i + 1, toLabel.length, 'label', input.id);
        if ((i + 1) % MANIFEST_EVERY === 0) await writeManifest();
      }
    } finally {
      await models.release();
    }
  }
  await writeManifest();
  return { file, manifest: manifestOf(), labelled: toLabel.length, kept: listed.length - toLabel.length, notes };
}
