/**
 * Every lung model is trained on Hounsfield units; on anything else (8-bit windowed
 * exports, [0, 1] images) it returns an empty or meaningless mask without a word,
 * lungmask's most reported failure. So the input is checked before any model runs.
 */
import { checkHu, type HuCheck } from '../volume/hu.js';
import { CovsegError } from '../util/errors.js';
import type { Volume } from '../volume/volume.js';

export interface RequireHuOptions {
  /**
   * - `'error'`: throw, naming what the values look like.
   * - `'warn'`: call `onWarning` and go on.
   * - `'off'`: no check (the caller has made it).
   * Defaults to 'error'.
   */
  huCheck?: 'error' | 'warn' | 'off';
  /** Receives the warning. Defaults to writing it to stderr. */
  onWarning?: (message: string) => void;
  /** The CT's file, named in the error. Defaults to none. */
  file?: string;
  /** The caller's check of this very CT (saves going through the voxels again). Defaults to checking here. */
  hu?: HuCheck;
}

/** Refuses (or warns about) a CT whose values are not Hounsfield units; `what` is the model, in words. Returns the check, undefined when off. */
export function requireHu(ct: Volume, what: string, options: RequireHuOptions = {}): HuCheck | undefined {
  const mode = options.huCheck ?? 'error';
  if (mode === 'off') return undefined;
  const hu = options.hu ?? checkHu(ct);
  if (!hu.isHu) {
    const message = `${what} needs a CT in Hounsfield units: ${hu.reason}. Pass the original DICOM or a NIfTI with its rescale slope/intercept applied`;
    if (mode === 'error') throw new CovsegError(message, options.file ? { file: options.file } : {});
    (options.onWarning ?? ((m: string) => void process.stderr.write(`warning: ${m}\n`)))(message);
  }
  return hu;
}
