/** Writing figures: PNG through the project's one PNG writer, atomically. */
import { extname } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { writePng, encodePng, type PngImage } from '../io/raster.js';
import type { RgbImage } from './canvas.js';

/** The figure as an RGB image for io/raster's `encodePng`. */
export function toPngImage(img: RgbImage): PngImage {
  if (img.data.length !== img.width * img.height * 3) {
    throw new CovsegError(`figure has ${img.data.length} bytes but ${img.width}×${img.height} RGB needs ${img.width * img.height * 3}; build images with createImage`);
  }
  return { width: img.width, height: img.height, channels: 3, data: img.data };
}

/** PNG bytes of the figure (for HTTP responses and reports that embed images). */
export function figureToPng(img: RgbImage): Uint8Array {
  return encodePng(toPngImage(img));
}

/**
 * Writes `img` to `path` as an RGB PNG (folders are created; readers never see a
 * half-written file). `path` must end in '.png'.
 */
export async function saveFigure(path: string, img: RgbImage): Promise<void> {
  if (extname(path).toLowerCase() !== '.png') {
    throw new CovsegError(`figures are written as PNG; name the file '*.png' (got '${extname(path) || 'no extension'}')`, { file: path });
  }
  await writePng(path, toPngImage(img));
}
