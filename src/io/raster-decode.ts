/**
 * PNG/JPEG decoding to a grey (or label) slice: no file or Node access, so the web
 * page's browser mode reads image files with the very code `covseg segment` uses.
 * raster.ts re-exports these names beside the PNG writer.
 */
import { decode as decodePngBytes } from 'fast-png';
import jpeg from 'jpeg-js';
import { CovsegError } from '../util/errors.js';
import { createVolume } from '../volume/volume.js';
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

/** Decodes a PNG. Indexed (palette) PNGs keep their indices, since label masks are stored that way. */
export function decodePng(bytes: Uint8Array, file = 'PNG'): RasterImage {
  if (!isPng(bytes)) throw new CovsegError('not a PNG file (bad signature)', { file });
  let png;
  try {
    png = decodePngBytes(bytes);
  } catch (err) {
    throw new CovsegError(`cannot decode PNG: ${(err as Error).message}`, { file, cause: err });
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

/** Decodes a baseline or progressive JPEG to grey (if single channel) or RGB. */
export function decodeJpeg(bytes: Uint8Array, file = 'JPEG'): RasterImage {
  if (!isJpeg(bytes)) throw new CovsegError('not a JPEG file (bad signature)', { file });
  try {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    const rgb = new Uint8Array(img.width * img.height * 3);
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      rgb[i] = img.data[j]!;
      rgb[i + 1] = img.data[j + 1]!;
      rgb[i + 2] = img.data[j + 2]!;
    }
    return { width: img.width, height: img.height, channels: 3, data: rgb };
  } catch (err) {
    throw new CovsegError(`cannot decode JPEG: ${(err as Error).message}`, { file, cause: err });
  }
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

/**
 * The bytes of a PNG or JPEG file as a one-slice volume with identity geometry (1 mm
 * pixels: an image file carries no geometry) and what the reader noticed; `path` names
 * the file in errors and in the result.
 */
export function decodeRasterSlice(bytes: Uint8Array, path: string, format: 'png' | 'jpeg'): ReadImageResult {
  const img = format === 'png' ? decodePng(bytes, path) : decodeJpeg(bytes, path);
  const warnings = ['pixel size unknown (PNG/JPEG carry no geometry): spacing 1×1×1 mm assumed'];
  if (img.channels >= 3 && !channelsEqual(img)) warnings.push(`colour image (${img.channels} channels) converted to grey (Rec. 601 luma)`);
  if (img.channels === 2 || img.channels === 4) warnings.push('alpha channel dropped');
  // Rows top → bottom map to increasing y: anterior at the top for an axial CT slice, as in LPS.
  const data = rasterToGrey(img);
  const volume = createVolume(data, [img.width, img.height, 1]);
  const meta: ImageMeta = { format, path, pixelType: voxelTypeOf(volume.data), files: [path], rescaled: false, spacingKnown: false, warnings };
  if (img.palette) meta.palette = true;
  return { volume, meta };
}
