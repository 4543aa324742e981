/**
 * What a batch runs: one case per scan, from a LIST file (one path per line) or a FOLDER
 * (its scan files and DICOM series subfolders). Each case gets its own output folder under
 * --out, named after the input: readable, file-system safe, and the same on every rerun, so
 * a rerun finds what the last run finished.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { detectFormat } from '../io/format.js';
import { CovsegError } from '../util/errors.js';

export interface BatchCase {
  /** The scan: a file or a DICOM series folder, absolute. */
  input: string;
  /** The case's output folder name under --out (unique in the batch, safe on every file system). */
  name: string;
}

export interface BatchInputs {
  cases: BatchCase[];
  /** What was left out and why (a FOLDER's non-image files, a LIST's repeated lines). */
  notes: string[];
}

/** Names the summary files take in --out; a case never gets one of them. */
const RESERVED = new Set(['summary.csv', 'summary.json']);

/** `text` reduced to letters, digits, '.', '_' and '-', no leading dot, at most `max` characters: a name safe on every file system. */
function fileSafe(text: string, max = 80): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, max);
}

/** The input's name without its image extension, reduced to letters, digits, '.', '_' and '-'. */
export function caseBaseName(input: string): string {
  return fileSafe(basename(input).replace(/\.(nii\.gz|nii|nrrd|seg\.nrrd|mha|mhd|dcm|png|jpe?g)$/i, '')) || 'scan';
}

/**
 * The folder name of a DICOMweb study: PatientID_StudyDate_HASH, HASH the first 12 hex
 * digits of the StudyInstanceUID's sha256. It depends on the study alone (not on the other
 * studies of the query, nor their order), so a rerun with another query finds the same
 * folder; the hash keeps two studies of one patient on one day apart, and the PatientID and
 * date keep it readable (a missing one is left out).
 */
export function studyCaseName(study: { studyInstanceUid: string; patientId?: string; studyDate?: string }): string {
  // Trailing '_' dropped: they would double the separator.
  const parts = [fileSafe(study.patientId ?? '', 40), fileSafe(study.studyDate ?? '', 8)].map((p) => p.replace(/_+$/, '')).filter((p) => p !== '');
  return [...parts, createHash('sha256').update(study.studyInstanceUid).digest('hex').slice(0, 12)].join('_');
}

/**
 * Unique names for `inputs`: the base name, and where two inputs share one (a/ct.nii.gz and
 * b/ct.nii.gz), each of them gets a short hash of its path, so a name depends only on the
 * set of inputs, not on their order.
 */
export function caseNames(inputs: readonly string[]): string[] {
  const bases = inputs.map(caseBaseName);
  const count = new Map<string, number>();
  for (const b of bases) count.set(b.toLowerCase(), (count.get(b.toLowerCase()) ?? 0) + 1);
  return bases.map((b, i) => (count.get(b.toLowerCase())! > 1 || RESERVED.has(b.toLowerCase()) ? `${b}-${createHash('sha256').update(inputs[i]!).digest('hex').slice(0, 8)}` : b));
}

/** The cases of a LIST file: one path per line (relative to the list's folder), blank lines and '#' comments ignored. */
async function listCases(listFile: string): Promise<{ paths: string[]; notes: string[] }> {
  const text = await readFile(listFile, 'utf8');
  if (text.includes('\0')) throw new CovsegError('not a list of scans (binary data); give a text file with one scan path per line, or a folder', { file: listFile });
  const paths = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => (isAbsolute(l) ? l : resolve(dirname(listFile), l)));
  return { paths, notes: [] };
}

/** The cases of a FOLDER: every subfolder (a DICOM series) and every file covseg reads as an image. */
export async function folderCases(dir: string): Promise<{ paths: string[]; notes: string[] }> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
  const paths: string[] = [];
  const skipped: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) paths.push(p);
    else if (e.isFile()) {
      try {
        await detectFormat(p);
        paths.push(p);
      } catch (err) {
        if (!(err instanceof CovsegError)) throw err;
        skipped.push(e.name);
      }
    }
  }
  const notes = skipped.length ? [`${skipped.length} file(s) in ${dir} are not images and were left out: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}`] : [];
  return { paths, notes };
}

/**
 * The cases of `input`, a LIST file or a FOLDER. A list's entries are not checked here:
 * a missing or unreadable scan is that case's error, and the batch goes on.
 */
export async function batchInputs(input: string): Promise<BatchInputs> {
  const path = resolve(input);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new CovsegError(`cannot open --input: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`, { file: path, cause: err });
  }
  const found = info.isDirectory() ? await folderCases(path) : await listCases(path);
  const seen = new Set<string>();
  const unique: string[] = [];
  let repeated = 0;
  for (const p of found.paths) {
    if (seen.has(p)) repeated++;
    else {
      seen.add(p);
      unique.push(p);
    }
  }
  if (unique.length === 0) throw new CovsegError(info.isDirectory() ? 'the folder holds no scan (no image file, no DICOM series subfolder)' : 'the list names no scan (one path per line)', { file: path });
  const names = caseNames(unique);
  return {
    cases: unique.map((p, i) => ({ input: p, name: names[i]! })),
    notes: [...found.notes, ...(repeated ? [`${repeated} repeated line(s) of the list were run once`] : [])],
  };
}
