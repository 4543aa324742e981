/**
 * A job's life on the API: its JSON, its launch on the queue (shared with the upload and
 * sample routes that create jobs), and `GET`/`DELETE /api/jobs/:id` and its output files.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { HttpError } from '../http-error.js';
import type { Reservation, SegmentJobOptions, WebJobQueue } from '../job-queue.js';
import { jobProgress, type Job, type JobStore, type OutputKind } from '../job-store.js';
import type { SegmentReport, SegmentStage } from '../../segment/index.js';
import { SERVICE_MAX_VOXELS } from '../../io/limits.js';

/** One output in a job's JSON. */
export interface JobFileJson {
  name: string;
  kind: OutputKind;
  bytes: number;
  url: string;
}

/** The JSON of `GET /api/jobs/:id` (and of the 202 that creates a job). */
export interface JobJson {
  id: string;
  status: Job['status'];
  inputName: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** When the job's files are removed (set once it finished). */
  expiresAt?: string;
  /** 1-based place in the waiting line; 0 once running. */
  queuePosition: number;
  stage?: SegmentStage;
  stageDone: number;
  stageTotal: number;
  /** Whole-job fraction done, 0–1. */
  progress: number;
  error?: string;
  report?: SegmentReport;
  files: JobFileJson[];
  url: string;
}

/** What every route that creates, shows or removes jobs works on. */
export interface Jobs {
  queue: WebJobQueue;
  store: JobStore;
  /** Model choices applied to every job (`force` is set per job by the client). */
  segment?: Omit<SegmentJobOptions, 'force'>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.gz': 'application/gzip', '.nrrd': 'application/octet-stream', '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8', '.png': 'image/png', '.dcm': 'application/dicom',
};

/** Report HTML and other outputs are shown from this origin; they may load images and styles, never scripts. */
const OUTPUT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

export function jobJson({ queue, store }: Jobs, job: Job): JobJson {
  return {
    id: job.id,
    status: job.status,
    inputName: job.inputName,
    createdAt: iso(job.createdAt)!,
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    expiresAt: iso(store.expiresAt(job)),
    queuePosition: queue.position(job.id),
    stage: job.stage,
    stageDone: job.stageDone,
    stageTotal: job.stageTotal,
    progress: jobProgress(job),
    error: job.error,
    report: job.report,
    files: job.outputs.map((o) => ({ name: o.name, kind: o.kind, bytes: o.bytes, url: `/api/jobs/${job.id}/files/${encodeURIComponent(o.name)}` })),
    url: `/api/jobs/${job.id}`,
  };
}

/** Queues `job` on `input`; its record follows the worker's progress. */
export function launchJob({ queue, store, segment }: Jobs, job: Job, input: string, reservation: Reservation, force: boolean): void {
  // The report names the file the user uploaded, not the server's copy of it.
  const task = { id: job.id, input, outDir: join(job.dir, 'out'), options: { maxVoxels: SERVICE_MAX_VOXELS, ...segment, force, inputName: job.inputName } };
  queue.run(reservation, task, {
    onStart: () => { job.status = 'running'; job.startedAt = Date.now(); },
    onProgress: (stage, done, total) => { job.stage = stage; job.stageDone = done; job.stageTotal = total; },
  }).then(
    (result) => store.complete(job, result),
    (err: Error) => store.fail(job, err.message),
  ).catch((err: Error) => store.fail(job, `the outputs could not be listed: ${err.message}`));
}

export const jobRoutes: FastifyPluginAsync<Jobs> = async (app, jobs) => {
  const { queue, store } = jobs;
  app.get<{ Params: { id: string } }>('/api/jobs/:id', async (request) => jobJson(jobs, store.get(request.params.id)));

  app.delete<{ Params: { id: string } }>('/api/jobs/:id', async (request, reply) => {
    const job = store.get(request.params.id);
    queue.cancel(job.id);
    await store.remove(job.id);
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string; name: string } }>('/api/jobs/:id/files/:name', async (request, reply) => {
    const job = store.get(request.params.id);
    if (job.status !== 'done') {
      throw new HttpError(409, 'not-ready', `job ${job.id} is ${job.status}${job.error ? ` (${job.error})` : ''}; its files exist once it is done`);
    }
    // Names are matched exactly against the job's own outputs: '..', '/' or encoded tricks never reach the file system.
    const output = job.outputs.find((o) => o.name === request.params.name);
    if (!output) {
      throw new HttpError(404, 'not-found', `job ${job.id} has no file '${request.params.name.slice(0, 64)}'; its files are: ${job.outputs.map((o) => o.name).join(', ')}`);
    }
    const ext = output.name.slice(output.name.lastIndexOf('.'));
    reply.header('content-type', CONTENT_TYPES[ext] ?? 'application/octet-stream');
    reply.header('content-length', String(output.bytes));
    reply.header('content-security-policy', OUTPUT_CSP);
    reply.header('cache-control', 'no-store');
    return reply.send(createReadStream(output.path));
  });
};
