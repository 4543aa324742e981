/**
 * Writing volumes and masks: NRRD and NIfTI by hand (gzip level 1 on all cores; label maps
 * run-length deflated), MetaImage
 * through itk-wasm, PNG for 2D slices through the project's one PNG writer. Always atomic.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants } from 'node:zlib';
import { writeImageNode } from '@itk-wasm/image-io';
import { withAtomicPath } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';
import type { Volume } from '../volume/volume.js';
import { gzipParallel } from './gzip.js';
import { volumeToItkImage } from './itk.js';
import { encodeNiftiHeader } from './nifti.js';
import { nrrdHeader, type NrrdEncoding } from './nrrd-header.js';
import { writePng } from './raster.js';

export interface WriteVolumeOptions {
  /** NRRD data encoding ('gzip' or 'raw', see NrrdEncoding). NIfTI follows the extension (.nii raw, .nii.gz gzip); MHA is always compressed. Defaults to 'gzip'. */
  compression?: NrrdEncoding;
  /** gzip level, 1 (fastest) to 9 (smallest), for .nrrd and .nii.gz. Defaults to 1. */
  gzipLevel?: number;
  /** PNG of a non-Uint8 slice: the value range [lo, hi] mapped linearly to 0..255 (clipped), e.g. [-1000, 400] HU. Defaults to undefined (required for non-Uint8 data). */
  window?: [number, number];
  /** .seg.nrrd: segment names by label value, written as 3D Slicer segment fields. Defaults to 'label <value>'. */
  labelNames?: Record<number, string>;
  /**
   * The volume is a label map (a mask, lobes, lesion types): gzip with zlib's run-length
   * strategy (Z_RLE), made for long runs of one value. On segment's masks of a 512×512×300
   * CT it is 1.1–1.8× faster than the default strategy at level 1 and the files 2.4–3.4×
   * smaller; on a CT's noisy voxels it would compress little. Defaults to false (.seg.nrrd: always).
   */
  labels?: boolean;
}

/**
 * The output formats, chosen by extension:
 * - `nrrd`: .nrrd, .seg.nrrd (label map, must be Uint8);
 * - `nifti`: .nii (raw), .nii.gz (gzip);
 * - `mha`: .mha;
 * - `png`: .png (2D only).
 */
type OutputFormat = 'nrrd' | 'seg-nrrd' | 'nifti' | 'nifti-gz' | 'mha' | 'png';

/** The endings `writeVolume` writes, for checking an output name before the work. */
export const VOLUME_OUTPUT_EXTENSIONS = ['.nrrd', '.seg.nrrd', '.nii', '.nii.gz', '.mha', '.png'] as const;

function outputFormat(path: string): OutputFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.seg.nrrd')) return 'seg-nrrd';
  if (lower.endsWith('.nrrd')) return 'nrrd';
  if (lower.endsWith('.nii.gz')) return 'nifti-gz';
  if (lower.endsWith('.nii')) return 'nifti';
  if (lower.endsWith('.mha')) return 'mha';
  if (lower.endsWith('.png')) return 'png';
  throw new CovsegError(`cannot tell the output format from the extension; use ${VOLUME_OUTPUT_EXTENSIONS.join(', ')}`, { file: path });
}

function voxelBytes(vol: Volume): Uint8Array {
  return new Uint8Array(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength);
}

/**
 * Writes `plain` as is, then `body` (gzipped when `gzip`), to a temp file renamed onto `path`.
 * NRRD keeps its header plain and compresses only the voxels; .nii.gz compresses everything.
 */
async function writeParts(path: string, plain: Uint8Array, body: Uint8Array[], gzip: boolean, level: number, labels = false): Promise<void> {
  const pieces = gzip ? await gzipParallel(body, level, labels ? zlibConstants.Z_RLE : zlibConstants.Z_DEFAULT_STRATEGY) : body;
  await withAtomicPath(path, (tmp) => pipeline(Readable.from([plain, ...pieces].filter((p) => p.length > 0)), createWriteStream(tmp)));
}

function segmentFields(vol: Volume, names: Record<number, string>): [string, string][] {
  const present = new Uint8Array(256);
  const data = vol.data as Uint8Array;
  for (let i = 0; i < data.length; i++) present[data[i]!] = 1;
  const fields: [string, string][] = [];
  let k = 0;
  for (let label = 1; label < 256; label++) {
    if (!present[label]) continue;
    fields.push(
      [`Segment${k}_ID`, `Segment_${label}`],
      [`Segment${k}_Name`, names[label] ?? `label ${label}`],
      [`Segment${k}_LabelValue`, String(label)],
      [`Segment${k}_Layer`, '0'],
    );
    k++;
  }
  return fields;
}

function toPngBytes(path: string, vol: Volume, window: [number, number] | undefined): Uint8Array {
  if (vol.data instanceof Uint8Array) return vol.data;
  if (!window) {
    throw new CovsegError(
      `${vol.data.constructor.name} voxels cannot be stored in an 8-bit PNG as they are; pass options.window [lo, hi] (e.g. [-1000, 400] for lung CT) to scale them`,
      { file: path },
    );
  }
  const [lo, hi] = window;
  if (!(hi > lo)) throw new CovsegError(`window [${lo}, ${hi}] is empty; hi must be greater than lo`, { file: path });
  const scale = 255 / (hi - lo);
  const src = vol.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = (src[i]! - lo) * scale;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

/**
 * Writes `vol` to `path`, the format chosen by the extension (see OutputFormat).
 * The file appears complete or not at all (temp name, then rename).
 */
export async function writeVolume(path: string, vol: Volume, options: WriteVolumeOptions = {}): Promise<void> {
  const format = outputFormat(path);
  const level = options.gzipLevel ?? 1;
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new CovsegError(`gzipLevel ${level} is not an integer from 1 to 9`, { file: path });
  }
  switch (format) {
    case 'seg-nrrd':
    case 'nrrd': {
      let keyValues: [string, string][] = [];
      if (format === 'seg-nrrd') {
        if (!(vol.data instanceof Uint8Array)) {
          throw new CovsegError(`a .seg.nrrd holds a label map, but the volume is ${vol.data.constructor.name}; pass a Uint8Array label volume`, { file: path });
        }
        keyValues = segmentFields(vol, options.labelNames ?? {});
      }
      const encoding = options.compression ?? 'gzip';
      const header = new TextEncoder().encode(nrrdHeader(vol, { encoding, keyValues }));
      return writeParts(path, header, [voxelBytes(vol)], encoding === 'gzip', level, format === 'seg-nrrd' || options.labels);
    }
    case 'nifti':
    case 'nifti-gz':
      return writeParts(path, new Uint8Array(0), [encodeNiftiHeader(vol, path), voxelBytes(vol)], format === 'nifti-gz', level, options.labels);
    case 'mha':
      // itk picks its writer from the extension, so the temp name keeps '.mha'.
      await withAtomicPath(path, (tmp) => writeImageNode(volumeToItkImage(vol), tmp, { useCompression: true }), '.mha');
      return;
    case 'png': {
      if (vol.dims[2] !== 1) {
        throw new CovsegError(`a PNG holds one 2D slice, but the volume has ${vol.dims[2]} slices (dims ${vol.dims.join('×')}); write .nii.gz or .nrrd, or take one slice first`, { file: path });
      }
      return writePng(path, { width: vol.dims[0], height: vol.dims[1], channels: 1, data: toPngBytes(path, vol, options.window) });
    }
  }
}
