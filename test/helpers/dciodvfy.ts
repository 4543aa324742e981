/**
 * dciodvfy (David Clunie's dicom3tools, Debian package `dicom3tools`): checks a DICOM file
 * against its IOD (modules, attribute types, value representations, SR content rules).
 * Tests that validate a file skip, with {@link DCIODVFY_MISSING} as the reason, where the
 * tool is not installed; scripts/setup.sh installs it in CI.
 */
import { spawnSync } from 'node:child_process';

const probe = spawnSync('dciodvfy', ['-version'], { encoding: 'utf8' });
/** Why dciodvfy tests cannot run here, or false when the tool is on the PATH. */
export const DCIODVFY_MISSING: string | false = probe.error ? 'dciodvfy is not installed (apt-get install dicom3tools)' : false;

export interface DciodvfyResult {
  /** Lines starting 'Error - ', without that prefix. */
  errors: string[];
  /** Lines starting 'Warning - ', without that prefix. */
  warnings: string[];
  /** Everything it printed (stdout and stderr), for messages. */
  output: string;
}

/** Runs `dciodvfy file` and sorts its messages into errors and warnings. */
export function dciodvfy(file: string): DciodvfyResult {
  const run = spawnSync('dciodvfy', [file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  const output = `${run.stdout}${run.stderr}`;
  const errors: string[] = [];
  const warnings: string[] = [];
  // A message may follow the IOD name on the same line ('Segmentation' then 'Error - …'), so split on the markers.
  for (const m of output.matchAll(/(Error|Warning) - (.*)/g)) (m[1] === 'Error' ? errors : warnings).push(m[2]!.trim());
  return { errors, warnings, output };
}
