/**
 * PNG/JPEG decoding to a grey (or label) slice: no file or Node access, so the web
 * page's browser mode reads image files with the very code `covseg segment` uses.
 * raster.ts re-exports these names beside the PNG writer.
 */
import { decode as decodePngBytes } from 'fast-png';
import jpeg from 'jpeg-js';
import { CovsegError } from '../util/errors.js';
import { createVolume } from '../volume/volume.js';
import { checkVoxelCount, DEFAULT_MAX_VOXELS } from './limits.js';
import type { ImageMeta, ReadImageResult } from './types.js';
import { voxelTypeOf } from './voxel-type.js';

/** A decoded raster: rows top to bottom, pixels left to right, channels interleaved. */
export interface RasterImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. A palette image has 1 channel holding palette indices. */
  channels: 1 | 2 | 3 | 4;
  /** 8-bit (Uint8Array) or 16-bit (Uint16Array) samples. */
  data: Uint8Array | Uint16Array;
  /** RGB(A) palette of an indexed PNG; `data` then holds indices (label values). */
  palette?: number[][];
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Width and height of a raster, read from its header before any pixel is decoded. */
export interface RasterSize {
  width: number;
  height: number;
}

const corrupt = (format: 'PNG' | 'JPEG', file: string, detail: string, cause?: unknown) =>
  new CovsegError(`corrupt ${format} (${detail}); re-export or re-download the file`, { file, cause });

/** The decoder's message (Error, string, or a cause under a bare "Error while decompressing"). */
function decoderMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? ` ${err.cause.message}` : '';
  return (msg + cause).trim() || 'the decoder failed';
}

/** fast-png's words for data that ends before the rows IHDR announces, in the user's. */
function pngDecoderMessage(err: unknown, size: RasterSize): string {
  const msg = decoderMessage(err);
  if (/^Unsupported filter: undefined|outside the bounds/.test(msg)) {
    return `the pixel data ends before the ${size.width} × ${size.height} pixels the header announces: truncated, or a forged header`;
  }
  return msg;
}

/**
 * A PNG's size from its IHDR chunk (which must come first, bytes 8–32), so that a header
 * claiming 60000² is known for what it is before the decoder allocates for it.
 */
export function pngSize(bytes: Uint8Array, file = 'PNG'): RasterSize {
  if (!isPng(bytes)) throw new CovsegError('not a PNG file (bad signature)', { file });
  if (bytes.length < 33) throw corrupt('PNG', file, `the file ends after ${bytes.length} bytes, inside the header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!);
  if (type !== 'IHDR') throw corrupt('PNG', file, `the first chunk is '${type}', not IHDR`);
  const width = v.getUint32(16);
  const height = v.getUint32(20);
  // The PNG standard's range: 1 to 2³¹ − 1 each way.
  if (width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw corrupt('PNG', file, `IHDR says ${width} × ${height} pixels`);
  }
  return { width, height };
}

/**
 * Decodes a PNG. Indexed (palette) PNGs keep their indices, since label masks are stored
 * that way. More than `maxVoxels` pixels are refused from the header, before decoding.
 */
export function decodePng(bytes: Uint8Array, file = 'PNG', maxVoxels = DEFAULT_MAX_VOXELS): RasterImage {
  const size = pngSize(bytes, file);
  checkVoxelCount([size.width, size.height, 1], file, maxVoxels);
  let png;
  try {
    png = decodePngBytes(bytes);
  } catch (err) {
    throw corrupt('PNG', file, pngDecoderMessage(err, size), err);
  }
  const channels = png.channels as 1 | 2 | 3 | 4;
  if (png.depth !== 8 && png.depth !== 16 && !png.palette) {
    // 1/2/4-bit grey: fast-png returns packed bits; expand to one byte per pixel.
    return { width: png.width, height: png.height, channels, data: unpackBits(png.data as Uint8Array, png.width, png.height, png.depth, channels) };
  }
  if (png.palette) {
    const idx = png.depth === 8 ? (png.data as Uint8Array) : unpackBits(png.data as Uint8Array, png.width, png.height, png.depth, 1, false);
    return { width: png.width, height: png.height, channels: 1, data: idx, palette: png.palette as number[][] };
  }
  const data = png.data instanceof Uint16Array ? png.data : new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
  return { width: png.width, height: png.height, channels, data };
}

function unpackBits(packed: Uint8Array, width: number, height: number, depth: number, channels: number, scale = true): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const max = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * channels; i++) {
      const bit = i * depth;
      const byte = packed[y * rowBytes + (bit >> 3)]!;
      const v = (byte >> (8 - depth - (bit & 7))) & max;
      out[y * width * channels + i] = scale ? Math.round((v * 255) / max) : v;
    }
  }
  return out;
}

/** Start-of-frame markers (SOF0–SOF15 but DHT C4, JPG C8, DAC CC): they carry the frame size. */
const JPEG_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** A JPEG's size from its frame header (SOFn), walking the marker segments that come before it. */
export function jpegSize(bytes: Uint8Array, file = 'JPEG'): RasterSize {
  if (!isJpeg(bytes)) throw new CovsegError('not a JPEG file (bad signature)', { file });
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) throw corrupt('JPEG', file, `no marker at byte ${pos} before the frame header`);
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // scan data or end of image before any frame header
    const length = v.getUint16(pos + 2);
    if (JPEG_SOF.has(marker)) {
      if (pos + 9 > bytes.length) break;
      const height = v.getUint16(pos + 5);
      const width = v.getUint16(pos + 7);
      // Height 0 (set later by a DNL marker) is legal JPEG but not decodable here.
      if (width < 1 || height < 1) throw corrupt('JPEG', file, `the frame header says ${width} × ${height} pixels`);
      return { width, height };
    }
    if (length < 2) throw corrupt('JPEG', file, `a marker segment of length ${length} at byte ${pos}`);
    pos += 2 + length;
  }
  throw corrupt('JPEG', file, 'no frame header (SOF) before the image data');
}

/** Decodes a baseline or progressive JPEG to RGB; more than `maxVoxels` pixels are refused from the header, before decoding. */
export function decodeJpeg(bytes: Uint8Array, file = 'JPEG', maxVoxels = DEFAULT_MAX_VOXELS): RasterImage {
  const size = jpegSize(bytes, file);
  checkVoxelCount([size.width, size.height, 1], file, maxVoxels);
  let img;
  try {
    // jpeg-js's own limits, raised to ours (its defaults, 100 MP and 512 MB, would refuse a raised --max-voxels).
    const mp = Math.ceil(maxVoxels / 1e6);
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: mp, maxMemoryUsageInMB: Math.max(1024, 16 * mp) });
  } catch (err) {
    throw corrupt('JPEG', file, decoderMessage(err), err);
  }
  if (img.width !== size.width || img.height !== size.height) {
    throw corrupt('JPEG', file, `decoded ${img.width} × ${img.height} pixels, the frame header says ${size.width} × ${size.height}`);
  }
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = img.data[j]!;
    rgb[i + 1] = img.data[j + 1]!;
    rgb[i + 2] = img.data[j + 2]!;
  }
  return { width: img.width, height: img.height, channels: 3, data: rgb };
}

/**
 * One grey value per pixel: grey as is, RGB by Rec. 601 luma (exact for grey stored as
 * RGB, the usual case for CT exported to JPEG), alpha dropped, palette indices kept.
 */
export function rasterToGrey(img: RasterImage): Uint8Array | Uint16Array {
  const n = img.width * img.height;
  if (img.channels === 1) return img.data;
  const out = img.data instanceof Uint16Array ? new Uint16Array(n) : new Uint8Array(n);
  const c = img.channels;
  for (let i = 0; i < n; i++) {
    if (c <= 2) out[i] = img.data[i * c]!;
    else out[i] = Math.round(0.299 * img.data[i * c]! + 0.587 * img.data[i * c + 1]! + 0.114 * img.data[i * c + 2]!);
  }
  return out;
}

/** Whether the channels of an interleaved raster are all equal (grey stored as RGB). */
function channelsEqual(img: RasterImage): boolean {
  const c = img.channels;
  if (c === 1) return true;
  const colour = c === 2 ? 1 : 3;
  const d = img.data;
  for (let i = 0; i < d.length; i += c) {
    for (let k = 1; k < colour; k++) if (d[i + k] !== d[i]) return false;
  }
  return true;
}

/** How the reader's warning about a colour picture begins. */
const COLOUR_WARNING = 'colour image';

/** Whether the reader found a colour picture (channels that differ), which it converted to grey. */
export function isColourPicture(meta: Pick<ImageMeta, 'warnings'>): boolean {
  return meta.warnings.some((w) => w.startsWith(COLOUR_WARNING));
}

/**
 * The bytes of a PNG or JPEG file as a one-slice volume with identity geometry (1 mm
 * pixels: an image file carries no geometry) and what the reader noticed; `path` names
 * the file in errors and in the result; more than `maxVoxels` pixels are refused before decoding.
 */
export function decodeRasterSlice(bytes: Uint8Array, path: string, format: 'png' | 'jpeg', maxVoxels = DEFAULT_MAX_VOXELS): ReadImageResult {
  const img = format === 'png' ? decodePng(bytes, path, maxVoxels) : decodeJpeg(bytes, path, maxVoxels);
  const warnings = ['pixel size unknown (PNG/JPEG carry no geometry): spacing 1×1×1 mm assumed'];
  if (img.channels >= 3 && !channelsEqual(img)) warnings.push(`${COLOUR_WARNING} (${img.channels} channels) converted to grey (Rec. 601 luma)`);
  if (img.channels === 2 || img.channels === 4) warnings.push('alpha channel dropped');
  // Rows top → bottom map to increasing y: anterior at the top for an axial CT slice, as in LPS.
  const data = rasterToGrey(img);
  const volume = createVolume(data, [img.width, img.height, 1]);
  const meta: ImageMeta = { format, path, pixelType: voxelTypeOf(volume.data), files: [path], rescaled: false, spacingKnown: false, warnings };
  if (img.palette) meta.palette = true;
  return { volume, meta };
}
