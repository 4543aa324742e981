/** Folder listing helpers shared by the adapters. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { CovsegError } from '../util/errors.js';

/**
 * Compares names so that embedded numbers sort by value ("study_2" < "study_10",
 * "9.nii.gz" < "10.nii.gz"): case numbering must not depend on zero padding.
 */
export function naturalCompare(a: string, b: string): number {
  const ta = a.match(/\d+|\D+/g) ?? [];
  const tb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The names of the plain files in `dir` that match `pattern`, in natural order.
 * Hidden files (".DS_Store", "._x" from macOS archives) are never cases.
 */
export async function listFiles(dir: string, pattern: RegExp): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && pattern.test(e.name))
    .map((e) => e.name)
    .sort(naturalCompare);
}

/** Throws a CovsegError describing the expected layout when `root` is not a folder. */
export async function requireRoot(root: string, source: string, layout: string): Promise<void> {
  if (!(await isDirectory(root))) {
    throw new CovsegError(`not a folder; --source ${source}=PATH must point at the dataset's top folder (${layout})`, { file: root });
  }
}

/**
 * A small CSV file (the adapters' index files have no quoted commas): its rows as
 * objects keyed by the header's column names. Throws a CovsegError naming the file and
 * the missing column when one of `required` is absent.
 */
export async function readCsv(path: string, required: readonly string[]): Promise<Record<string, string>[]> {
  const lines = (await readFile(path, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  const columns = (lines.shift() ?? '').split(',').map((h) => h.trim());
  const missing = required.find((c) => !columns.includes(c));
  if (missing) throw new CovsegError(`missing column '${missing}' (columns: ${columns.join(', ') || 'none'}); expected ${required.join(',')}`, { file: path });
  return lines.map((line) => {
    const cells = line.split(',').map((c) => c.trim());
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
  });
}
