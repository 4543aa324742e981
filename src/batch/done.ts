/**
 * The done marker of a case: `batch.json` in the case's folder, listing the sha256 of every
 * output file. It is written into the folder before the folder is renamed into place, so a
 * case folder under --out is either absent or complete; a rerun trusts a folder only when
 * the marker is there, was made for the same job (input and options), and every file still
 * has its hash: a deleted or changed output makes the case run again.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { sha256File } from '../util/file-digest.js';

export const DONE_MARKER = 'batch.json';

export interface DoneMarker {
  format: 'covseg-batch-case';
  version: 1;
  /** The job's key (jobKey): the input and the options that shape the outputs. */
  key: string;
  input: string;
  /** Who finished it: host name and process id. */
  worker: string;
  finishedAt: string;
  /** Wall-clock time of the case's run, milliseconds. */
  timeMs: number;
  /** Path relative to the case folder → sha256 (hex) of the file. */
  files: Record<string, string>;
}

/** Every file under `dir` (recursively), relative to it, sorted; the marker itself left out. */
async function outputFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).filter((f) => f !== DONE_MARKER).sort();
}

/** Hashes the files of `dir` and writes its marker (atomically, last). */
export async function writeDoneMarker(dir: string, m: Omit<DoneMarker, 'format' | 'version' | 'files'>): Promise<DoneMarker> {
  const files: Record<string, string> = {};
  for (const f of await outputFiles(dir)) files[f] = await sha256File(join(dir, f));
  const marker: DoneMarker = { format: 'covseg-batch-case', version: 1, ...m, files };
  await writeFileAtomic(join(dir, DONE_MARKER), JSON.stringify(marker, null, 2) + '\n');
  return marker;
}

/**
 * The marker of `dir` when the case there is done and intact for job `key`; undefined when
 * there is no folder, no marker, a marker of other options, or a file is missing or changed.
 */
export async function verifiedDone(dir: string, key: string): Promise<DoneMarker | undefined> {
  let marker: DoneMarker;
  try {
    marker = JSON.parse(await readFile(join(dir, DONE_MARKER), 'utf8')) as DoneMarker;
  } catch {
    return undefined;
  }
  if (marker.format !== 'covseg-batch-case' || marker.key !== key || typeof marker.files !== 'object' || marker.files === null) return undefined;
  for (const [f, hash] of Object.entries(marker.files)) {
    try {
      if ((await sha256File(join(dir, f))) !== hash) return undefined;
    } catch {
      return undefined;
    }
  }
  return marker;
}
