/** Runs the built CLI (dist/src/cli/main.js) as a user would, quietly, and returns what it said. */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
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
