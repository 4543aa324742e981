/**
 * `POST /api/jobs[?force=1]`: an upload becomes a job. The file streams to disk under the
 * upload limit and the disk budget, holds a queue place from its first byte (a stalled
 * upload is answered 408 and dropped, upload-watch.ts), and is identified by its content
 * (ingest.ts) before it is queued; a refused upload leaves nothing behind.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Multipart, MultipartFile } from '@fastify/multipart';
import { formatBytes, type DiskBudget } from '../disk-budget.js';
import { HttpError } from '../http-error.js';
import { prepareInput } from '../ingest.js';
import type { Job } from '../job-store.js';
import { watchUpload, type UploadLimits } from '../upload-watch.js';
import { errorBody } from '../plugins/errors.js';
import { jobJson, launchJob, type Jobs } from './jobs.js';

export interface UploadRouteOptions extends Jobs {
  maxUploadBytes: number;
  zipLimits: { maxEntries: number; maxUncompressedBytes: number };
  disk: DiskBudget;
  uploadLimits: UploadLimits;
}

/** Multipart framing around the file (boundaries, part headers): allowed above maxUploadBytes before a 413. */
const MULTIPART_SLACK = 64 * 1024;

const ONE_FILE = "send one file (field 'file') per upload and nothing else in the form; zip a DICOM series into one .zip";

/** @fastify/multipart's limits: the form must be exactly one part, the file, and no larger than the upload limit. */
export function multipartLimits(maxUploadBytes: number) {
  return { fileSize: maxUploadBytes, files: 1, fields: 0, parts: 1, headerPairs: 50 };
}

/** The uploaded file's name for display: last path part, printable characters, at most 120. */
export function displayName(filename: string | undefined): string {
  const last = (filename ?? '').split(/[\\/]/).pop() ?? '';
  const clean = last.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 120);
  return clean || 'upload';
}

/** `force=1` (or true, or bare) and `force=0` (or false, or absent) in a query; anything else is a 400. */
export function forceFlag(query: unknown): boolean {
  const value = (query as Record<string, unknown> | undefined)?.['force'];
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true' || value === '') return true;
  throw new HttpError(400, 'bad-request', `force=${String(value).slice(0, 20)}: use force=1 or force=0`);
}

function tooLarge(maxUploadBytes: number): HttpError {
  return new HttpError(413, 'too-large', `the upload is larger than the server's limit of ${formatBytes(maxUploadBytes)}; restart covseg serve with a larger --max-upload-mb, or upload a smaller (cropped or zipped) scan`);
}

/** A multipart read failure as a 4xx: over the size limit, or malformed framing. */
function multipartError(err: unknown, maxUploadBytes: number): Error {
  if (err instanceof HttpError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge(maxUploadBytes);
  if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') return new HttpError(400, 'bad-request', ONE_FILE);
  return new HttpError(400, 'bad-request', `the multipart upload is malformed (${(err as Error).message}); send the scan as multipart/form-data with one file field named 'file'`, { cause: err });
}

/** Refuses, before the body is read, what cannot be an upload or cannot fit. */
function checkRequest(request: FastifyRequest, { maxUploadBytes, disk }: UploadRouteOptions): void {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxUploadBytes + MULTIPART_SLACK) throw tooLarge(maxUploadBytes);
  // Refused before the body is read when it cannot fit; the count as it streams is what holds the budget.
  if (Number.isFinite(declared) && declared > disk.freeBytes + MULTIPART_SLACK) throw disk.refusal(`the upload (${formatBytes(declared)}) is larger than`);
  if (!request.isMultipart()) {
    throw new HttpError(415, 'unsupported-type', `send the scan as multipart/form-data with one file field named 'file' (got Content-Type '${String(request.headers['content-type'] ?? 'none').slice(0, 80)}')`);
  }
}

/** The form's one part, the file; the multipart limits (fields 0, parts 1) refuse anything more. */
async function firstFile(parts: AsyncIterator<Multipart>, maxUploadBytes: number): Promise<MultipartFile> {
  let first;
  try {
    first = await parts.next();
  } catch (err) {
    throw multipartError(err, maxUploadBytes);
  }
  const part = first.done ? undefined : first.value;
  if (!part || part.type !== 'file') throw new HttpError(400, 'bad-request', "the form has no file; send the scan in a file field named 'file'");
  return part;
}

/** Streams the file into the job's folder, every chunk counted in the disk budget before it is written. */
async function saveFile(part: MultipartFile, parts: AsyncIterator<Multipart>, job: Job, maxUploadBytes: number): Promise<string> {
  const uploadPath = join(job.dir, 'upload');
  try {
    await pipeline(part.file, job.disk.meter('the upload is larger than'), createWriteStream(uploadPath));
    if (part.file.truncated) throw tooLarge(maxUploadBytes);
    if (!(await parts.next()).done) throw new HttpError(400, 'bad-request', ONE_FILE);
  } catch (err) {
    throw multipartError(err, maxUploadBytes);
  }
  return uploadPath;
}

export const uploadRoutes: FastifyPluginAsync<UploadRouteOptions> = async (app, options) => {
  const { queue, store, maxUploadBytes } = options;
  app.post('/api/jobs', async (request, reply) => {
    const force = forceFlag(request.query);
    checkRequest(request, options);
    const reservation = queue.reserve();
    // The place is held from here: an upload that stalls is answered 408 and its connection closed, which ends the reading below.
    const watch = watchUpload(request.raw.socket, options.uploadLimits, (err) => {
      // Once answered, the request is destroyed too: the reading below sees it close (the socket alone would not tell it).
      reply.raw.once('finish', () => { request.raw.destroy(); request.raw.socket?.destroy(); });
      void reply.code(err.statusCode).header('connection', 'close').send(errorBody(err, request));
    });
    let job: Job | undefined;
    try {
      const parts = request.parts()[Symbol.asyncIterator]();
      const part = await firstFile(parts, maxUploadBytes);
      job = await store.create(displayName(part.filename));
      const uploadPath = await saveFile(part, parts, job, maxUploadBytes);
      watch.stop();
      // Dropped at the last moment, with the 408 sent: the job must not go ahead.
      if (watch.error) throw watch.error;
      const prepared = await prepareInput(uploadPath, job.dir, { ...options.zipLimits, displayName: job.inputName, disk: job.disk });
      launchJob(options, job, prepared.input, reservation, force);
      return reply.code(202).send(jobJson(options, job));
    } catch (err) {
      watch.stop();
      reservation.release();
      if (job) await store.remove(job.id);
      // Dropped for stalling: the 408 is answered already.
      if (watch.error) return reply;
      throw err;
    }
  });
};
