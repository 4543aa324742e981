/**
 * One build at a time per database folder, and what a killed build left behind.
 *
 * `DB/.build-lock` holds the PID of the build writing the folder. A second build-db on the
 * same folder is refused while that process lives; a lock whose process is gone (SIGKILL,
 * power loss) is taken over. Holding the lock, a build removes the temporary files
 * (`*.tmp-PID-*`, from the atomic writers) of writers that died before their rename: those
 * whose PID is not alive, or is this process's own (it has written nothing yet, so a file
 * with its PID is a dead process's whose PID was reused, as happens in containers).
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tempWriterPid } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';
import { describeIoError } from '../util/output-target.js';

export const LOCK_FILE = '.build-lock';

/** Builds of this process, by folder: they share one PID, so the lock file cannot tell them apart. */
const heldHere = new Set<string>();

/** Whether process `pid` exists (EPERM: it does, but belongs to someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock of database folder `out` (which exists); resolves to its release.
 * Throws CovsegError naming the folder when another live build holds it.
 */
export async function lockDatabase(out: string): Promise<() => Promise<void>> {
  const file = join(out, LOCK_FILE);
  const busy = (pid: number | string) =>
    new CovsegError(`another build-db (PID ${pid}) is writing this database; wait for it to finish, or remove ${file} if no build is running`, { file: out });
  if (heldHere.has(out)) throw busy(process.pid);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw describeIoError(err, file) ?? err;
    }
    const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    // Our own PID in the file can only be a previous process's (a PID reused, as in containers).
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw busy(pid);
    // Stale: its build is gone. Two builds taking it over at once race on the 'wx' above; one loses and sees the other's PID.
    if (attempt > 0) throw busy(Number.isInteger(pid) ? pid : 'unknown');
    await rm(file, { force: true });
  }
  heldHere.add(out);
  return async () => {
    heldHere.delete(out);
    await rm(file, { force: true });
  };
}

/**
 * Removes the temporary files under `out` left by dead writers (call it holding the lock,
 * before writing anything); returns their paths relative to `out`.
 */
export async function removeTemporaries(out: string): Promise<string[]> {
  const names = (await readdir(out, { recursive: true })) as string[];
  const stale = names
    .filter((n) => {
      const pid = tempWriterPid(basename(n));
      return pid !== undefined && (pid === process.pid || !alive(pid));
    })
    .sort();
  for (const n of stale) await rm(join(out, n), { recursive: true, force: true });
  return stale;
}
