/**
 * Opening a database for reading: its manifest, then its splits. Sequential on purpose:
 * a folder that is not a database must always be named by its missing manifest, never by
 * whichever of two parallel reads happened to fail first.
 */
import { loadManifest, type Manifest } from './manifest.js';
import { loadSplits, type Splits } from './splits.js';

export interface OpenDatabase {
  manifest: Manifest;
  splits: Splits;
}

export async function openDatabase(db: string): Promise<OpenDatabase> {
  const manifest = await loadManifest(db);
  const splits = await loadSplits(db);
  return { manifest, splits };
}
