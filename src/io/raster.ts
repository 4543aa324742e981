/**
 * 2D raster images (PNG, JPEG): PNG encoding here, decoding in raster-decode.ts (re-exported below).
 * The one PNG writer of the project: figures, database slices and masks all use it.
 */
import { crc32, deflateSync } from 'node:zlib';
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
  // Rows with filter byte 0 (none), deflated by node's zlib at level 4: on segment's 1.6 MB
  // lesion-types sheet (noisy CT) 0.015 s and 271 kB, where fast-png's encoder (fflate in
  // JavaScript, level 3) took ~0.2 s before the JIT had compiled it for 307 kB; zlib's
  // level 6 saves 7 % more for 5× the time. fast-png still decodes.
  const { width, height, channels, data } = img;
  const rowBytes = width * channels;
  const raw = new Uint8Array((rowBytes + 1) * height);
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = PNG_COLOUR_TYPE[channels];
  const chunks = [pngChunk('IHDR', header), pngChunk('IDAT', deflateSync(raw, { level: 4 })), pngChunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(PNG_SIGNATURE.length + chunks.reduce((a, c) => a + c.length, 0));
  out.set(PNG_SIGNATURE);
  let at = PNG_SIGNATURE.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const PNG_SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);
/** PNG colour type by channel count: grey, RGB, RGBA. */
const PNG_COLOUR_TYPE: Record<PngImage['channels'], number> = { 1: 0, 3: 2, 4: 6 };

/** One PNG chunk: length, type, data, CRC-32 of type and data. */
function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  for (let k = 0; k < 4; k++) chunk[4 + k] = type.charCodeAt(k);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

/** Encodes and writes a PNG atomically. */
export async function writePng(path: string, img: PngImage): Promise<void> {
  await writeFileAtomic(path, encodePng(img));
}
