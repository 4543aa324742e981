/**
 * Output locations checked before the work starts, outputs written all or none, and
 * file-system errors told in one line.
 *
 * A command that runs inference for minutes and then fails to write is the worst kind of
 * failure, so every command checks its outputs first: the folder exists (or can be made),
 * is a folder, and can be written to; a file output is not a folder and is not overwritten
 * without --overwrite. The check writes and removes a probe file, because permissions bits do
 * not tell a read-only mount or a full quota.
 */
import { constants } from 'node:fs';
import { access, mkdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { tempPathFor } from './atomic-write.js';
import { CovsegError } from './errors.js';

/** What each errno means to a user, in the words of a message that names the path. */
const CAUSES: Record<string, string> = {
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENAMETOOLONG: 'the name is too long',
  ENOENT: 'no such file or folder',
  EEXIST: 'it exists already',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** A Node system error (fs, net) has a `code` and often a `path`. */
function systemError(err: unknown): (Error & { code: string; path?: string; syscall?: string }) | undefined {
  if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string') return err as Error & { code: string; path?: string };
  return undefined;
}

/**
 * The one-line CovsegError for a file-system error, naming `path` (or the error's own path)
 * and the cause; undefined when `err` is not a system error we can explain.
 */
export function describeIoError(err: unknown, path?: string): CovsegError | undefined {
  if (err instanceof CovsegError) return err;
  const e = systemError(err);
  if (!e || !(e.code in CAUSES)) return undefined;
  const file = path ?? e.path;
  const cause = `${CAUSES[e.code]} (${e.code}${e.syscall ? `, ${e.syscall}` : ''})`;
  return new CovsegError(cause, { ...(file ? { file } : {}), cause: err });
}

/** Runs `fn`, turning file-system errors into one-line CovsegErrors that name `path`. */
export async function explainIoErrors<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw describeIoError(err, path) ?? err;
  }
}

/**
 * Proves `dir` writable by making and removing a probe in it: by default a file; with
 * `like`, the temporary file or folder an atomic write of `like` makes (so that a name too
 * long once the temporary suffix is added fails here, not after the work).
 */
async function probeWritable(dir: string, like?: { path: string; folder: boolean }): Promise<void> {
  const probe = tempPathFor(like ? resolve(like.path) : resolve(dir, '.covseg-write-check'));
  try {
    await (like?.folder ? mkdir(probe) : writeFile(probe, ''));
  } catch (err) {
    throw describeIoError(err, like?.path ?? dir) ?? err;
  } finally {
    await rm(probe, { force: true, recursive: true }).catch(() => undefined);
  }
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if (systemError(err)?.code === 'ENOENT') return undefined;
    throw describeIoError(err, path) ?? err;
  }
}

export interface OutputFileOptions {
  /** Overwrite an existing file. */
  force?: boolean;
  /** The flag that allows overwriting, for the message (default '--overwrite', covseg's word for it). */
  forceHint?: string;
  /** Accepted endings, e.g. ['.png']; checked case-insensitively. */
  extensions?: readonly string[];
  /** The flag or argument this path came from, for messages (e.g. '--figure'). */
  what?: string;
  /** The command's inputs: the output must not be one of them (even when overwriting, or through a link). Defaults to none. */
  inputs?: readonly string[];
}

/** `path` with links resolved; for a path that does not exist yet, its folder's real path and its name. */
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const dir = dirname(resolve(path));
    if (dir === resolve(path)) return dir;
    return resolve(await realPathOf(dir), basename(path));
  }
}

/**
 * Checks, before any work, that `path` can be written as a file: right extension, not a
 * folder, not existing unless forced, its folder a folder and writable (made if missing).
 */
export async function checkOutputFile(path: string, options: OutputFileOptions = {}): Promise<void> {
  const label = options.what ? `${options.what} ` : '';
  const existing = await statOrUndefined(path);
  if (existing?.isDirectory()) throw new CovsegError(`${label}is a folder; give a file name`, { file: path });
  const endings = options.extensions;
  if (endings && !endings.some((x) => path.toLowerCase().endsWith(x))) {
    const list = endings.length > 1 ? `${endings.slice(0, -1).join(', ')} or ${endings.at(-1)}` : endings[0];
    throw new CovsegError(`${label}must end with ${list}`, { file: path });
  }
  const real = options.inputs?.length ? await realPathOf(path) : '';
  for (const input of options.inputs ?? []) {
    if ((await realPathOf(input)) === real) throw new CovsegError(`${label}is the input ${input}; write to another file`, { file: path });
  }
  if (existing && !options.force) throw new CovsegError(`${label}exists; pass ${options.forceHint ?? '--overwrite'} to overwrite it`, { file: path });
  await checkOutputDir(dirname(resolve(path)));
  await probeWritable(dirname(resolve(path)), { path, folder: false });
}

/** Checks that `dir` is (or can be made) a writable folder; makes it. */
export async function checkOutputDir(dir: string, what?: string): Promise<void> {
  const existing = await statOrUndefined(dir);
  if (existing && !existing.isDirectory()) throw new CovsegError(`${what ? `${what} ` : ''}is a file, not a folder`, { file: dir });
  if (!existing) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw describeIoError(err, dir) ?? err;
    }
  }
  await access(dir, constants.W_OK).catch((err) => { throw describeIoError(err, dir) ?? err; });
  await probeWritable(dir);
}

/**
 * Checks, before any work, that the folder `dir` can be written as a whole the way
 * `covseg segment` does it: assembled beside it under a temporary name, then renamed into
 * place. So `dir` is a folder if it exists, and its parent is (or can be made) a writable
 * folder in which that temporary folder can be made. Leaves `dir` itself as it was.
 */
export async function checkOutputFolder(dir: string, what?: string): Promise<void> {
  const existing = await statOrUndefined(dir);
  if (existing && !existing.isDirectory()) throw new CovsegError(`${what ? `${what} ` : ''}is a file, not a folder`, { file: dir });
  const parent = dirname(resolve(dir));
  await checkOutputDir(parent);
  await probeWritable(parent, { path: dir, folder: true });
}

/** One file of a command's output: `write(tmpPath)` writes it (to the path given). */
export interface PendingFile {
  path: string;
  write: (tmpPath: string) => Promise<unknown>;
}

/**
 * Writes the files of one output all or none: each is written under its own name into a
 * temporary folder beside its target (so a writer that picks the format by extension, or
 * writes atomically itself, sees the same name), and only when every write has succeeded
 * are they renamed into place (files they replace are moved aside first and put back if a
 * rename fails). On any failure no target has changed and no temporary is left; a
 * file-system error is one line naming the target it was for.
 */
export async function writeFilesAtomic(files: readonly PendingFile[]): Promise<void> {
  const stages = new Map<string, string>();
  const staged: { path: string; tmp: string; old?: string; placed?: boolean }[] = [];
  try {
    for (const f of files) {
      const dir = dirname(f.path);
      const entry = { path: f.path, tmp: '' };
      staged.push(entry);
      await explainIoErrors(f.path, async () => {
        let stage = stages.get(dir);
        if (!stage) {
          await mkdir(dir, { recursive: true });
          stage = tempPathFor(join(dir, '.covseg-staging'));
          await mkdir(stage);
          stages.set(dir, stage);
        }
        entry.tmp = join(stage, basename(f.path));
        await f.write(entry.tmp);
      });
    }
    for (const s of staged) {
      await explainIoErrors(s.path, async () => {
        const old = tempPathFor(s.path);
        try {
          await rename(s.path, old);
          s.old = old;
        } catch (err) {
          if (systemError(err)?.code !== 'ENOENT') throw err;
        }
        await rename(s.tmp, s.path);
        s.placed = true;
      });
    }
  } catch (err) {
    for (const s of staged) {
      if (s.placed) await rm(s.path, { force: true, recursive: true });
      if (s.old) await rename(s.old, s.path).catch(() => undefined);
    }
    throw err;
  } finally {
    for (const stage of stages.values()) await rm(stage, { force: true, recursive: true });
  }
  for (const s of staged) if (s.old) await rm(s.old, { force: true, recursive: true });
}
