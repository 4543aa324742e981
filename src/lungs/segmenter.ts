/**
 * An opened lung model as its callers use it (`covseg lungs`, build-db, the segment
 * pipeline, the browser), and the settings of one run. Free of Node, like the segment
 * core that takes one: the registry (models.ts) opens them from files, the browser from
 * downloaded bytes.
 */
import type { HuCheck } from '../volume/hu.js';
import type { AnatomyRemoved } from './anatomy.js';
import { createVolume, type LabelMap, type Volume } from '../volume/volume.js';

/** Settings of one `segment` call; the ones given when the model was opened apply where a call leaves one out. */
export interface LungRunOptions {
  /** The CT's file, named in errors. Defaults to none. */
  file?: string;
  /** Slices per network call. Defaults to the model's own (8 for covseg's, 20 for lungmask's). */
  batchSize?: number;
  /**
   * What to do when the CT does not look like Hounsfield units:
   * - `'error'`: throw, naming what the values look like.
   * - `'warn'`: call `onWarning` and go on.
   * - `'off'`: no check (the caller has made it).
   * Defaults to 'error'.
   */
  huCheck?: 'error' | 'warn' | 'off';
  /** The caller's HU check of this very CT, so that the voxels are not gone through again. Defaults to none (checked here). */
  hu?: HuCheck;
  /**
   * What to do when no lung voxel is found:
   * - `'error'`: throw with the likely causes.
   * - `'warn'`: call `onWarning` and return the empty label map.
   * Defaults to 'error'.
   */
  emptyResult?: 'error' | 'warn';
  /**
   * Image files (one slice, no geometry) only, for models that read them the best way round
   * ({@link LungSegmenter.chooseTurns}): 'search' tries the four quarter turns first,
   * 'as-stored' segments the slice as it is (the caller has turned it). Defaults to 'search'.
   */
  orientation?: 'search' | 'as-stored';
  /** Receives warnings. Defaults to writing them to stderr. */
  onWarning?: (message: string) => void;
  /** Called after each batch with (slices done, slices total). Defaults to none. */
  onProgress?: (done: number, total: number) => void;
  /** Told what the anatomy's rules removed from the model's mask and kept (covseg's own model, on scans with geometry in HU), for the quality block. Defaults to none. */
  onAnatomy?: (removed: AnatomyRemoved) => void;
}

/** An opened lung model. `segment` gives labels on the CT's own grid. */
export interface LungSegmenter {
  /** `<model>:<weights file name>` (covseg's own: `default:<file>@<sha256 prefix>`), recorded with the masks it makes and in reports. */
  name: string;
  /** Label names by value (index 0 = background). */
  classes: readonly string[];
  segment(ct: Volume, run?: LungRunOptions): Promise<LabelMap>;
  /**
   * For a slice read from an image file (no geometry): the counter-clockwise quarter turns
   * (0–3) under which this model finds the lungs best. Absent: the model reads slices as stored.
   */
  chooseTurns?(slice: Volume): Promise<number>;
  release(): Promise<void>;
}

/** The report's and the masks' name of covseg's own lung model: the file's name and the start of its sha256 (another version, another name). */
export function covsegLungModelName(fileName: string, sha256Hex?: string): string {
  return sha256Hex ? `default:${fileName}@${sha256Hex.slice(0, 12)}` : `default:${fileName}`;
}

/**
 * `labels` as right/left lungs (1 = right, 2 = left) by the model's class names: a class
 * named 'right …' counts as the right lung, 'left …' as the left (so lobes fold into their
 * lung). Labels already in that form are returned as they are.
 */
export function lungSidesOf(labels: LabelMap, classes: readonly string[]): LabelMap {
  const side = classes.map((name) => (name.startsWith('right') ? 1 : name.startsWith('left') ? 2 : 0));
  if (side.length === 3 && side[1] === 1 && side[2] === 2) return labels;
  const out = new Uint8Array(labels.data.length);
  for (let i = 0; i < out.length; i++) out[i] = side[labels.data[i]!] ?? 0;
  return createVolume(out, labels.dims, labels);
}
