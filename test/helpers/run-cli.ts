/** Runs the built CLI (dist/src/cli/main.js) as a user would, quietly, and returns what it said. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from './shared-data.js';

export const CLI_MAIN = resolve(PROJECT_ROOT, 'dist/src/cli/main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `covseg ...args`, with COVSEG_QUIET=1 (no progress bars) and `env` added. */
export function runCovseg(args: readonly string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI_MAIN, ...args], { encoding: 'utf8', env: { ...process.env, COVSEG_QUIET: '1', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A running `covseg` process: `lines` collects its stderr lines, `exit` resolves with its exit code. */
export interface CovsegProcess {
  child: ChildProcess;
  lines: string[];
  exit: Promise<number | null>;
}

/** Starts `covseg ...args` (COVSEG_QUIET=1, `env` added) without waiting for it. */
export function spawnCovseg(args: readonly string[], env: Record<string, string> = {}): CovsegProcess {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { ...process.env, COVSEG_QUIET: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let rest = '';
  child.stderr!.on('data', (d) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  child.stdout!.resume();
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, exit };
}

/** Polls `check` until it returns a value (not a sleep as synchronisation: the condition itself is awaited). */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 300_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * NODE_OPTIONS that refuse BullMQ and ioredis in the process and in every process it starts
 * (a resolve hook written into `dir`): what runs without --redis must never load the queue.
 */
export async function noQueueNodeOptions(dir: string): Promise<string> {
  const hook = join(dir, 'no-queue.mjs');
  await writeFile(hook, `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  "export async function resolve(s, c, next) { if (s === 'bullmq' || s === 'ioredis') throw new Error('covseg loaded the queue (' + s + ') without --redis'); return next(s, c); }"));
`);
  return `--import ${pathToFileURL(hook).href}`;
}
