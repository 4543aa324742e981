/**
 * sha256 of case inputs, so an unchanged case is recognised and skipped on a rebuild, and
 * of its outputs, so a damaged one (truncated, overwritten) is recognised and rebuilt.
 */
import { createHash } from 'node:crypto';
import { stackFiles, type CaseRef } from '../datasets/index.js';
import { digestFile } from '../util/file-digest.js';

export { digestFile, type FileDigest } from '../util/file-digest.js';

/** Hashes files once per build: MedSeg 100's 100 cases share three files. */
export class FileHasher {
  private readonly cache = new Map<string, Promise<string>>();

  /** sha256 (hex) of a file's bytes; "missing" for a file that cannot be read (the case then fails on load). */
  file(path: string): Promise<string> {
    let p = this.cache.get(path);
    if (!p) {
      p = digestFile(path).then((d) => d.sha256, (err: NodeJS.ErrnoException) => `unreadable:${err.code ?? err.message}`);
      this.cache.set(path, p);
    }
    return p;
  }

  /** Each input file's sha256 by role, and one hash over them, the slice index and a stack's other slices (the case's identity). */
  async caseInputs(ref: CaseRef): Promise<{ combined: string; files: Record<string, string> }> {
    const h = createHash('sha256');
    const files: Record<string, string> = {};
    for (const role of ['image', 'lesion', 'lung'] as const) {
      const path = ref.files[role];
      if (path !== undefined) files[role] = await this.file(path);
      h.update(`${role}:${files[role] ?? 'none'}\n`);
    }
    h.update(`slice:${ref.sliceIndex ?? 'all'}\n`);
    // A stacked volume is every one of its slices' files, in order (the first are `files`).
    if (ref.stack) {
      for (const slice of stackFiles(ref).slice(1)) {
        for (const role of ['image', 'lesion', 'lung'] as const) if (slice[role] !== undefined) h.update(`${role}:${await this.file(slice[role])}\n`);
      }
    }
    if (ref.placement) h.update(`placement:${JSON.stringify(ref.placement)}\n`);
    return { combined: h.digest('hex'), files };
  }
}

/** sha256 (hex) of a JSON-able value, for option hashes. */
export function hashJson(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
