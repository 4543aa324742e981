import { stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The path of `name` (e.g. `manifest.json`) in database `db`, which is the folder or the
 * file itself: a folder, or a path not ending in `.json`, is taken as the folder, so a
 * missing database is named by its missing `DB/manifest.json`.
 */
export async function databaseFile(db: string, name: string): Promise<string> {
  try {
    if ((await stat(db)).isDirectory()) return join(db, name);
  } catch {
    // Not there: the read reports it with the fix.
  }
  return db.endsWith('.json') ? db : join(db, name);
}
