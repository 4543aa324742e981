/**
 * Reading CT volumes and masks: NIfTI, NRRD, MetaImage (itk-wasm), DICOM series (header
 * parsing here, pixel decoding by itk-wasm), PNG/JPEG slices (src/io/raster.ts).
 */
import { copyFile, link, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { constants as zlibConstants, gunzipSync, type ZlibOptions } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readImageNode } from '@itk-wasm/image-io';
import { readImageDicomFileSeriesNode } from '@itk-wasm/dicom';
import type { Image } from 'itk-wasm';
import { CovsegError } from '../util/errors.js';
import { createVolume, type Volume, type VoxelArray } from '../volume/volume.js';
import { readDicomHeader } from './dicom-header.js';
import { planDicomSeries, scanDicomFolder } from './dicom-series.js';
import { detectFormat, itkExtension, type DetectedFormat } from './format.js';
import { itkImageToVolume } from './itk.js';
import { decodeNifti, niftiExtent } from './nifti.js';
import { checkVoxelCount } from './limits.js';
import { integralAsInt16, ownBuffer, voxelTypeOf } from './voxel-type.js';
import { decodeRasterSlice } from './raster-decode.js';
import type { ImageFormat, ImageMeta, NonFiniteCounts, ReadImageResult } from './types.js';

export type { ImageMeta, NonFiniteCounts, ReadImageResult } from './types.js';

export interface ReadVolumeOptions {
  /** DICOM folder: read this series instead of the one with the most voxels. Defaults to undefined (the largest series). */
  seriesInstanceUid?: string;
  /**
   * Most voxels to decode, checked from the header before any pixel data is read (NIfTI
   * dims, NRRD sizes, MetaImage DimSize, DICOM columns × rows × slices of the series,
   * PNG/JPEG width × height); larger images are refused naming their dimensions.
   * Defaults to DEFAULT_MAX_VOXELS (src/io/limits.ts: what `covseg segment` runs in 2 GiB).
   */
  maxVoxels?: number;
  /**
   * NaN and ±Infinity voxels: 'error' refuses the file with their counts (no step of the
   * pipeline means anything on them); 'count' reads it and reports them in
   * `meta.nonFinite` (`covseg info` describes such a file). Defaults to 'error'.
   */
  finite?: 'error' | 'count';
}

/** NaN and ±Infinity voxels of `data`; integer arrays hold none. */
export function countNonFinite(data: VoxelArray): NonFiniteCounts {
  const counts = { nan: 0, infinite: 0 };
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return counts;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v − v is 0 for every finite value, NaN for NaN and ±Infinity.
    if (v - v !== 0) {
      if (v !== v) counts.nan++;
      else counts.infinite++;
    }
  }
  return counts;
}

/** "12 voxels are NaN and 3 are infinite", for messages. */
export function nonFiniteText({ nan, infinite }: NonFiniteCounts): string {
  const are = (n: number) => (n === 1 ? 'is' : 'are');
  const voxels = (n: number) => `${n} ${n === 1 ? 'voxel' : 'voxels'}`;
  if (nan && infinite) return `${voxels(nan)} ${are(nan)} NaN and ${infinite} ${are(infinite)} infinite`;
  return nan ? `${voxels(nan)} ${are(nan)} NaN` : `${voxels(infinite)} ${are(infinite)} infinite`;
}


/** Extensions itk-wasm maps to the reader of each format it reads here. */
function hasExtension(path: string, detected: DetectedFormat): boolean {
  const lower = path.toLowerCase();
  switch (detected.format) {
    case 'nifti': return detected.gzip ? lower.endsWith('.nii.gz') : lower.endsWith('.nii') || lower.endsWith('.hdr');
    case 'nrrd': return lower.endsWith('.nrrd') || lower.endsWith('.nhdr');
    case 'mha': return lower.endsWith('.mha') || lower.endsWith('.mhd');
    default: return true;
  }
}

/**
 * itk-wasm picks its reader by extension, so a misnamed file is read through a link named
 * right (a hard link, or a copy across file systems: itk's virtual file system cannot
 * follow a symlink out of the folder it mounts).
 */
async function readWithItk(path: string, detected: DetectedFormat): Promise<Image> {
  const abs = resolve(path);
  let tmp: string | undefined;
  let target = abs;
  if (!hasExtension(abs, detected)) {
    tmp = await mkdtemp(join(tmpdir(), 'covseg-read-'));
    target = join(tmp, `image${itkExtension(detected)}`);
    await link(abs, target).catch(() => copyFile(abs, target));
  }
  try {
    return await readImageNode(target);
  } catch (err) {
    throw new CovsegError(`cannot read ${detected.format.toUpperCase()} image (${itkMessage(err)}); the file may be truncated or corrupt — re-download or re-export it`, { file: path, cause: err });
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

/** itk-wasm throws strings, Errors without messages, or numbers (wasm exceptions). */
function itkMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg && msg !== 'undefined' ? msg.split('\n')[0]!.trim() : 'itk-wasm reader failed';
}

function niftiRescaled(image: Image): boolean {
  const meta = image.metadata as unknown as Map<string, unknown>;
  const slope = Number(meta.get('scl_slope') ?? 1);
  const inter = Number(meta.get('scl_inter') ?? 0);
  // scl_slope 0 means "no scaling" in the NIfTI standard.
  return slope !== 0 && (slope !== 1 || inter !== 0);
}

/** NIfTI-2's header size: enough of the file to know any NIfTI image's size. */
const NIFTI_HEADER_MAX = 540;
/** Room for bytes after the voxels (padding, a stray extension) before a gzip stream counts as a bomb. */
const NIFTI_TRAILING_BYTES = 16 * 1024 ** 2;

/** The first bytes of a gzip stream, at least the NIfTI header when the file holds one. */
function inflateStart(file: Uint8Array, path: string): Uint8Array {
  for (const n of [4096, 65536, file.length]) {
    // SYNC_FLUSH: inflate what the prefix holds instead of failing on the cut-off stream.
    const head = gunzipChecked(file.subarray(0, n), path, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    if (head.length >= NIFTI_HEADER_MAX || n >= file.length) return head;
  }
  throw new Error('unreachable');
}

/** gunzipSync, its errors told as a corrupt file; `tooLarge` is the message when `options.maxOutputLength` is passed. */
function gunzipChecked(bytes: Uint8Array, path: string, options: ZlibOptions, tooLarge = ''): Uint8Array {
  try {
    return gunzipSync(bytes, options);
  } catch (err) {
    if (tooLarge && (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new CovsegError(tooLarge, { file: path, cause: err });
    throw new CovsegError(`the gzip stream is truncated or corrupt (${(err as Error).message}); re-download the file`, { file: path, cause: err });
  }
}

/**
 * Single-file NIfTI ('n+1', 'n+2') is decoded here; header/image pairs go to itk-wasm.
 * The header is read first and its size checked against `maxVoxels` before the voxels are
 * inflated: a .nii.gz of a few MB can inflate to gigabytes.
 */
async function readNifti(path: string, detected: DetectedFormat, options: ReadVolumeOptions): Promise<ReadImageResult> {
  const file: Uint8Array = await readFile(path);
  const head = detected.gzip ? inflateStart(file, path) : file;
  const extent = niftiExtent(head, path);
  checkVoxelCount(extent.dims, path, options.maxVoxels);
  const magic = Buffer.from(head.subarray(344, 347)).toString('latin1');
  const magic2 = Buffer.from(head.subarray(4, 7)).toString('latin1');
  if (magic !== 'n+1' && magic2 !== 'n+2') return readItkFormat(path, detected, options);
  let bytes = file;
  if (detected.gzip) {
    const most = extent.bytes + NIFTI_TRAILING_BYTES;
    const tooLarge = `the gzip stream inflates to more than the ${most} bytes its header's ${extent.dims.join(' × ')} voxels need; the file is corrupt`;
    bytes = gunzipChecked(file, path, { maxOutputLength: most }, tooLarge);
  }
  const { volume, rescaled, spacingKnown, warnings } = decodeNifti(bytes, path);
  return {
    volume,
    meta: { format: 'nifti', path, pixelType: voxelTypeOf(volume.data), files: [path], rescaled, spacingKnown, warnings },
  };
}

/** Bytes of a NRRD or MetaImage text header read to find its sizes; headers are a few hundred bytes. */
const TEXT_HEADER_BYTES = 64 * 1024;

/**
 * The sizes a NRRD (`sizes:`) or MetaImage (`DimSize =`) header announces, read before
 * itk-wasm decodes anything; undefined when the header does not say (itk-wasm then
 * refuses the file itself).
 */
async function textHeaderDims(path: string, format: 'nrrd' | 'mha'): Promise<number[] | undefined> {
  const fh = await open(path, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(TEXT_HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    text = buf.subarray(0, bytesRead).toString('latin1');
  } finally {
    await fh.close();
  }
  // The header ends at the first blank line (NRRD) or the ElementDataFile line (MetaImage).
  const header = format === 'nrrd' ? text.split(/\r?\n\r?\n/)[0]! : text.split(/^ElementDataFile\b/m)[0]!;
  const line = format === 'nrrd' ? /^sizes:[ \t]*([^\r\n]*)/m.exec(header) : /^DimSize[ \t]*=[ \t]*([^\r\n]*)/m.exec(header);
  if (!line) return undefined;
  const dims = line[1]!.trim().split(/\s+/).map(Number);
  return dims.length > 0 && dims.every((d) => Number.isInteger(d) && d > 0) ? dims : undefined;
}

async function readItkFormat(path: string, detected: DetectedFormat, options: ReadVolumeOptions): Promise<ReadImageResult> {
  if (detected.format === 'nrrd' || detected.format === 'mha') {
    const dims = await textHeaderDims(path, detected.format);
    if (dims) checkVoxelCount(dims, path, options.maxVoxels);
  }
  const image = await readWithItk(path, detected);
  const { volume, spacingKnown, warnings } = itkImageToVolume(image, path);
  return {
    volume,
    meta: {
      format: detected.format,
      path,
      pixelType: voxelTypeOf(volume.data),
      files: [path],
      rescaled: detected.format === 'nifti' && niftiRescaled(image),
      spacingKnown,
      warnings,
    },
  };
}

async function readRaster(path: string, format: 'png' | 'jpeg', options: ReadVolumeOptions): Promise<ReadImageResult> {
  return decodeRasterSlice(await readFile(path), path, format, options.maxVoxels);
}

async function readDicom(path: string, directory: boolean, options: ReadVolumeOptions): Promise<ReadImageResult> {
  const scan = directory ? await scanDicomFolder(path) : { headers: [await readDicomHeader(path)], skippedFiles: 0, brokenFiles: [] };
  if (!directory && !(scan.headers[0]!.hasPixelData && scan.headers[0]!.rows && scan.headers[0]!.columns)) {
    throw new CovsegError('the DICOM file holds no image (no pixel data or no Rows/Columns): a report or structure set? Point covseg at the CT images', { file: path });
  }
  const plan = planDicomSeries(path, scan.headers, options);
  // Columns × rows × slices of the chosen series, from the headers: itk-wasm decodes all of it at once.
  checkVoxelCount(plan.dims, path, options.maxVoxels);
  if (scan.brokenFiles.length > 0) {
    const first = scan.brokenFiles[0]!;
    plan.warnings.push(`${scan.brokenFiles.length} DICOM file(s) could not be read and were left out (${first.message}${scan.brokenFiles.length > 1 ? ', …' : ''})`);
  }
  let image: Image;
  try {
    // itk-wasm mounts each file's folder in its virtual file system; relative paths fail there.
    ({ outputImage: image } = await readImageDicomFileSeriesNode({ inputImages: plan.files.map((f) => resolve(f)), singleSortedSeries: true }));
  } catch (err) {
    throw new CovsegError(`cannot decode the DICOM pixel data (${itkMessage(err)}); the files may be truncated or use an unsupported compression`, { file: path, cause: err });
  }
  if (!image.data) throw new CovsegError('the DICOM reader returned no pixel data', { file: path });
  const n = plan.dims[0] * plan.dims[1] * plan.dims[2];
  if (image.data.length !== n || image.imageType.components !== 1) {
    throw new CovsegError(
      `decoded ${image.data.length} samples (${image.imageType.components} per pixel) for ${plan.dims.join('×')} voxels; colour or mixed-size series are not supported`,
      { file: path },
    );
  }
  // HU are integers for CT; keep them as int16 whatever type the decoder chose for the rescaled values.
  let data = image.data as unknown as VoxelArray;
  const asInt16 = data instanceof Int16Array ? undefined : integralAsInt16(data);
  if (asInt16) data = asInt16;
  else if (data instanceof Float64Array) data = Float32Array.from(data);
  const volume = createVolume(data, plan.dims, plan);
  const meta: ImageMeta = {
    format: 'dicom',
    path,
    pixelType: voxelTypeOf(volume.data),
    files: plan.files,
    rescaled: plan.rescaled,
    spacingKnown: plan.spacingKnown,
    warnings: plan.warnings,
  };
  if (plan.modality !== undefined) meta.modality = plan.modality;
  if (plan.seriesInstanceUid !== '') meta.seriesInstanceUid = plan.seriesInstanceUid;
  if (plan.seriesDescription !== undefined) meta.seriesDescription = plan.seriesDescription;
  if (plan.patientId !== undefined) meta.patientId = plan.patientId;
  if (plan.studyDate !== undefined) meta.studyDate = plan.studyDate;
  if (directory) {
    meta.skippedSeries = plan.skippedSeries;
    meta.skippedFiles = scan.skippedFiles;
  }
  return { volume, meta };
}

/**
 * Reads an image and tells what was read. The format is detected from the content
 * (see `detectFormat`); a folder is read as a DICOM series.
 *
 * Geometry follows the Volume convention (LPS world, direction columns = index axes).
 * CT keeps its stored type (int16 stays Int16Array); rescaled values stay int16 when they
 * are integers, else become Float32Array. 2D inputs give dims [w, h, 1].
 */
export async function readImage(path: string, options: ReadVolumeOptions = {}): Promise<ReadImageResult> {
  const detected = await detectFormat(path);
  const result = await readDetected(path, detected, options);
  result.volume.data = ownBuffer(result.volume.data);
  // One check here for every command: NaN reached the percentiles as "the data holds NaN (voxel 193970)", with no file named.
  const nonFinite = countNonFinite(result.volume.data);
  if (nonFinite.nan + nonFinite.infinite > 0) {
    if ((options.finite ?? 'error') === 'error') throw new CovsegError(`${nonFiniteText(nonFinite)}; covseg needs finite values`, { file: path });
    result.meta.nonFinite = nonFinite;
  }
  return result;
}

function readDetected(path: string, detected: DetectedFormat, options: ReadVolumeOptions): Promise<ReadImageResult> {
  switch (detected.format) {
    case 'dicom':
      return readDicom(path, detected.directory, options);
    case 'png':
    case 'jpeg':
      return readRaster(path, detected.format, options);
    case 'nifti':
      return readNifti(path, detected, options);
    default:
      return readItkFormat(path, detected, options);
  }
}

/** Reads an image's voxels and geometry; see `readImage` for what is accepted. */
export async function readVolume(path: string, options: ReadVolumeOptions = {}): Promise<Volume> {
  return (await readImage(path, options)).volume;
}
