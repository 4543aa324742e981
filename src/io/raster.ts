/**
 * 2D raster images (PNG, JPEG): PNG encoding here, decoding in raster-decode.ts (re-exported below).
 * The one PNG writer of the project: figures, database slices and masks all use it.
 */
import { encode as encodePngBytes } from 'fast-png';
import { writeFileAtomic } from '../util/atomic-write.js';

// Decoding lives in raster-decode.ts (free of Node, for the browser); its names stay importable from here.
export { isPng, isJpeg, decodePng, decodeJpeg, rasterToGrey, decodeRasterSlice, type RasterImage } from './raster-decode.js';

/** An image to encode: 8-bit grey (1), RGB (3) or RGBA (4), rows top to bottom. */
export interface PngImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

export function encodePng(img: PngImage): Uint8Array {
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new Error(`encodePng: ${img.data.length} bytes for ${img.width}×${img.height}×${img.channels}`);
  }
  return encodePngBytes({ width: img.width, height: img.height, data: img.data, channels: img.channels, depth: 8 });
}

/** Encodes and writes a PNG atomically. */
export async function writePng(path: string, img: PngImage): Promise<void> {
  await writeFileAtomic(path, encodePng(img));
}
