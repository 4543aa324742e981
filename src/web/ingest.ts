/**
 * Turns an uploaded file into a pipeline input. The content decides what it is (magic
 * bytes, via io's detectFormat, plus the zip signature), never the file name: a text
 * file named scan.nii.gz is refused here, with a 415, before a worker sees it.
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { detectFormat, isDicom, type ImageFormat } from '../io/index.js';
import { itkExtension } from '../io/format.js';
import { CovsegError } from '../util/errors.js';
import { HttpError } from './http-error.js';
import { namedAsUploaded } from './user-message.js';
import { formatBytes, type DiskAccount } from './disk-budget.js';
import { extractZip, isZip, UnsafeZipError, type ExtractZipOptions } from './zip.js';

export interface PrepareInputOptions extends Omit<ExtractZipOptions, 'beforeWrite'> {
  /** Name the user gave the file, used in messages instead of the server's path. Defaults to 'the upload'. */
  displayName?: string;
  /** The job's disk account, charged with the upload already: a zip's contents are charged before they are written, the zip refunded once removed. */
  disk?: DiskAccount;
}

export interface PreparedInput {
  /** What to give segmentCase: a file, or a folder holding a DICOM series. */
  input: string;
  format: ImageFormat;
  /** The upload was a zip. */
  fromZip: boolean;
}

async function head(path: string, length: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Prepares the upload at `uploadPath` (inside `jobDir`) as a pipeline input in `jobDir`:
 * a zip is extracted safely into `input/` (one image file in it is used as is, otherwise
 * the folder must hold DICOM files); any other file is renamed `input.<ext>` after its
 * sniffed format. Throws HttpError 400/413/415 with a message for the user.
 */
export async function prepareInput(uploadPath: string, jobDir: string, options: PrepareInputOptions = {}): Promise<PreparedInput> {
  const displayName = options.displayName ?? 'the upload';
  const first = await head(uploadPath, 4);
  if (first.length === 0) throw new HttpError(400, 'bad-request', `${displayName}: the file is empty; choose the CT file again`);
  if (isZip(first)) return prepareZip(uploadPath, jobDir, displayName, options);
  let detected;
  try {
    detected = await detectFormat(uploadPath);
  } catch (err) {
    if (err instanceof CovsegError) throw new HttpError(415, 'unsupported-type', `${namedAsUploaded(err.message, uploadPath, displayName)}, or a .zip of a DICOM series`, { cause: err });
    throw err;
  }
  const input = join(jobDir, `input${itkExtension(detected)}`);
  await rename(uploadPath, input);
  return { input, format: detected.format, fromZip: false };
}

async function prepareZip(zipPath: string, jobDir: string, displayName: string, options: PrepareInputOptions): Promise<PreparedInput> {
  const folder = join(jobDir, 'input');
  const { disk } = options;
  const beforeWrite = (declared: number) => disk?.charge(declared, `${displayName}: the entries inflate to ${formatBytes(declared)}, more than`);
  let files: string[];
  try {
    ({ files } = await extractZip(zipPath, folder, { ...options, beforeWrite }));
  } catch (err) {
    if (!(err instanceof UnsafeZipError)) throw err;
    const message = namedAsUploaded(err.message, zipPath, displayName);
    if (err.reason === 'too-large' || err.reason === 'too-many-entries') throw new HttpError(413, 'too-large', message, { cause: err });
    throw new HttpError(400, 'unsafe-archive', message, { cause: err });
  } finally {
    const zipBytes = (await stat(zipPath)).size;
    await rm(zipPath, { force: true });
    disk?.refund(zipBytes);
  }
  if (files.length === 1) {
    const only = join(folder, files[0]!);
    const detected = await detectFormat(only).catch(() => undefined);
    if (detected && detected.format !== 'dicom') return { input: only, format: detected.format, fromZip: true };
  }
  for (const file of files) {
    if (isDicom(await head(join(folder, file), 132))) return { input: folder, format: 'dicom', fromZip: true };
  }
  throw new HttpError(415, 'unsupported-type', `${displayName}: the zip holds ${files.length} file(s) but no DICOM slice ('DICM' at byte 128) and no single NIfTI/NRRD/MHA/PNG/JPEG image; zip the folder of one DICOM series`);
}
