/**
 * Output locations checked before the work starts, and file-system errors told in one line.
 *
 * A command that runs inference for minutes and then fails to write is the worst kind of
 * failure, so every command checks its outputs first: the folder exists (or can be made),
 * is a folder, and can be written to; a file output is not a folder and is not overwritten
 * without --force. The check writes and removes a probe file, because permissions bits do
 * not tell a read-only mount or a full quota.
 */
import { constants } from 'node:fs';
import { access, mkdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
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

/** Proves `dir` writable by writing and removing a probe file in it. */
async function probeWritable(dir: string): Promise<void> {
  const probe = tempPathFor(resolve(dir, '.covseg-write-check'));
  try {
    await writeFile(probe, '');
  } catch (err) {
    throw describeIoError(err, dir) ?? err;
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
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
  /** The flag that allows overwriting, for the message (default '--force'). */
  forceHint?: string;
  /** Accepted endings, e.g. ['.png']; checked case-insensitively. */
  extensions?: readonly string[];
  /** The flag or argument this path came from, for messages (e.g. '--figure'). */
  what?: string;
  /** The command's inputs: the output must not be one of them (even with --force, or through a link). Defaults to none. */
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
  if (options.extensions && !options.extensions.some((x) => path.toLowerCase().endsWith(x))) {
    throw new CovsegError(`${label}must end with ${options.extensions.join(' or ')}`, { file: path });
  }
  const existing = await statOrUndefined(path);
  if (existing?.isDirectory()) throw new CovsegError(`${label}is a folder; give a file name`, { file: path });
  const real = options.inputs?.length ? await realPathOf(path) : '';
  for (const input of options.inputs ?? []) {
    if ((await realPathOf(input)) === real) throw new CovsegError(`${label}is the input ${input}; write to another file`, { file: path });
  }
  if (existing && !options.force) throw new CovsegError(`${label}exists; pass ${options.forceHint ?? '--force'} to overwrite it`, { file: path });
  await checkOutputDir(dirname(resolve(path)));
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
