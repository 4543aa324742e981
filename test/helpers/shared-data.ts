/** Where the real public data lives (../shared/data relative to the project root). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** Project root (tests run from dist/test/...). */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
export const SHARED_DATA = process.env['COVSEG_SHARED_DATA'] ?? resolve(PROJECT_ROOT, '../shared/data');

/** `skip` value for tests that need a folder of ../shared/data: false when present, else the reason. */
export function needsShared(relative: string): false | string {
  return existsSync(resolve(SHARED_DATA, relative)) ? false : `needs ${resolve(SHARED_DATA, relative)}`;
}

export function sharedPath(relative: string): string {
  return resolve(SHARED_DATA, relative);
}
