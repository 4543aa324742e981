import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

/** A temp path next to `path` (same filesystem, so rename is atomic). */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The PID in a name made by tempPathFor (a writer's suffix may follow), or undefined for any other name. */
export function tempWriterPid(name: string): number | undefined {
  const m = /\.tmp-(\d+)-[0-9a-f]{8}(?:\.|$)/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Writes `data` to `path` so that readers never see a half-written file:
 * write to a temp name in the same folder, then rename over the target.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Runs `write(tmpPath)` (for writers that want a path, e.g. itk-wasm) and renames the
 * result onto `path` only if it succeeded. `suffix` keeps the extension a writer may
 * use to pick the format.
 */
export async function withAtomicPath<T>(path: string, write: (tmpPath: string) => Promise<T>, suffix = ''): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path) + suffix;
  try {
    const result = await write(tmp);
    await rename(tmp, path);
    return result;
  } catch (err) {
    await rm(tmp, { force: true, recursive: true });
    throw err;
  }
}

/** Renames `dir` to a temp name beside it and returns that name, or undefined when `dir` is not there. */
async function moveAside(dir: string): Promise<string | undefined> {
  const old = tempPathFor(dir);
  try {
    await rename(dir, old);
    return old;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Moves `dir` out of the way (renamed, then removed), if it is there. */
export async function removeAside(dir: string): Promise<void> {
  const old = await moveAside(dir);
  if (old) await rm(old, { recursive: true, force: true });
}

/**
 * Puts the finished folder `tmp` in place as `dir`, replacing what was there: the old
 * folder is renamed aside first and removed only after, so `dir` is either the old or the
 * new folder whole, never a mix.
 */
export async function replaceFolder(tmp: string, dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const old = await moveAside(dir);
  await rename(tmp, dir);
  if (old) await rm(old, { recursive: true, force: true });
}
