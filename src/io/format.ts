/**
 * Image format detection by content. The extension is only a hint: files downloaded from
 * archives are often misnamed (.nii holding gzip, .dcm-less DICOM, .img), and the wrong
 * reader gives a confusing error.
 */
import { open, stat } from 'node:fs/promises';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { CovsegError } from '../util/errors.js';
import { isDicom } from './dicom-header.js';
import { isJpeg, isPng } from './raster.js';
import type { ImageFormat } from './types.js';

export type { ImageFormat };

export const SUPPORTED_FORMATS_TEXT =
  'NIfTI (.nii, .nii.gz), NRRD (.nrrd, .seg.nrrd), MetaImage (.mha, .mhd), DICOM (a file or a folder of one series), PNG, JPEG';

export interface DetectedFormat {
  format: ImageFormat;
  /** The path is a folder (a DICOM series). */
  directory: boolean;
  /** The file is gzip-compressed as a whole (.nii.gz). */
  gzip: boolean;
}

/** Bytes read to sniff a format: enough for the NIfTI-1 header (348) and the DICOM preamble (132). */
const SNIFF_BYTES = 4096;

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return Buffer.from(bytes.subarray(start, start + length)).toString('latin1');
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** NIfTI-1 ('n+1'/'ni1' at 344) or NIfTI-2 ('n+2'/'ni2' at 4), either byte order. */
function isNifti(bytes: Uint8Array): boolean {
  if (bytes.length >= 348) {
    const magic = ascii(bytes, 344, 3);
    if (magic === 'n+1' || magic === 'ni1') return true;
  }
  if (bytes.length >= 8) {
    const magic = ascii(bytes, 4, 3);
    if (magic === 'n+2' || magic === 'ni2') return true;
  }
  return false;
}

/** Format of in-memory leading bytes of a (decompressed) file, or undefined. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (isNifti(bytes)) return 'nifti';
  if (ascii(bytes, 0, 7) === 'NRRD000') return 'nrrd';
  // MetaImage headers are `Key = value` lines; ITK always writes ObjectType first, others may not.
  const head = ascii(bytes, 0, Math.min(bytes.length, 1024));
  if (/^(ObjectType|NDims|DimSize|ElementType)\s*=/m.test(head) && /\bNDims\s*=/.test(head)) return 'mha';
  if (isDicom(bytes)) return 'dicom';
  if (isPng(bytes)) return 'png';
  if (isJpeg(bytes)) return 'jpeg';
  return undefined;
}

/**
 * Detects the format of `path` from its content: gzip then the NIfTI magic, 'NRRD000',
 * MetaImage keys, 'DICM' at byte 128, PNG/JPEG signatures. A folder is a DICOM series.
 * Throws CovsegError naming the file and the supported formats when nothing matches.
 */
export async function detectFormat(path: string): Promise<DetectedFormat> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new CovsegError(`cannot open: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`, { file: path, cause: err });
  }
  if (info.isDirectory()) return { format: 'dicom', directory: true, gzip: false };
  const fh = await open(path, 'r');
  let head: Uint8Array;
  try {
    const buf = Buffer.alloc(Math.min(SNIFF_BYTES, info.size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.length === 0) throw new CovsegError('the file is empty', { file: path });
  if (isGzip(head)) {
    let inner: Uint8Array;
    try {
      // SYNC_FLUSH: inflate what the first 4 KB hold instead of failing on the cut-off stream.
      inner = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (err) {
      throw new CovsegError(`gzip data is corrupt (${(err as Error).message}); re-download the file`, { file: path, cause: err });
    }
    const format = sniffFormat(inner);
    if (!format && inner.length < 348 && head.length === info.size) {
      throw new CovsegError(`the gzip stream is truncated or corrupt (it inflates to only ${inner.length} bytes); re-download the file`, { file: path });
    }
    if (format === 'nifti') return { format, directory: false, gzip: true };
    if (format) throw new CovsegError(`a gzip-compressed ${format.toUpperCase()} file: decompress it first (gunzip), covseg reads gzip only inside the format (.nii.gz, NRRD 'encoding: gzip')`, { file: path });
    throw new CovsegError(`a gzip file that holds no supported image; covseg reads ${SUPPORTED_FORMATS_TEXT}`, { file: path });
  }
  const format = sniffFormat(head);
  if (!format) throw new CovsegError(`unsupported or unrecognised image format; covseg reads ${SUPPORTED_FORMATS_TEXT}`, { file: path });
  return { format, directory: false, gzip: false };
}

/** The extension itk-wasm needs to pick its reader for a detected format. */
export function itkExtension(detected: DetectedFormat): string {
  switch (detected.format) {
    case 'nifti': return detected.gzip ? '.nii.gz' : '.nii';
    case 'nrrd': return '.nrrd';
    case 'mha': return '.mha';
    case 'dicom': return '.dcm';
    case 'png': return '.png';
    case 'jpeg': return '.jpg';
  }
}
