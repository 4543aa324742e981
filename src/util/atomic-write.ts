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
