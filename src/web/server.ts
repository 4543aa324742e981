/**
 * `covseg serve`: the local web service. Fastify serves the page (NiiVue, self-hosted
 * from node_modules) and a JSON API: upload a CT, follow its job, download its outputs.
 * Uploads stream to disk under a byte limit, are identified by content, and become jobs
 * in a bounded queue of worker processes, so the HTTP server stays responsive while models run.
 *
 * `startServer` only composes: one Fastify plugin per concern, the app-wide ones first
 * (their hooks and handlers must exist before the routes they cover are registered).
 * - plugins/errors.ts: every error as the API's JSON body (http-error.ts), the 404 for unknown URLs;
 * - plugins/security.ts: nosniff, the Origin and Host checks;
 * - plugins/static-files.ts: the page, NiiVue, onnxruntime-web's wasm, the browser worker;
 * - routes/config.ts: `GET /api/config`, `GET /api/models/:task` (the browser mode's models);
 * - routes/health.ts: `GET /api/health`: liveness and queue figures;
 * - routes/samples.ts: `GET /api/samples`, `POST /api/samples/jobs` (JSON `{ name, force? }`);
 * - routes/upload.ts: `POST /api/jobs[?force=1]`: multipart/form-data, one file field `file` → 202 job;
 * - routes/jobs.ts: `GET /api/jobs/:id` (status, progress, report, output links),
 *   `GET /api/jobs/:id/files/:name`, `DELETE /api/jobs/:id`;
 * - routes/dicomweb.ts: `GET /api/dicomweb/studies`, `POST /api/dicomweb/jobs`, `POST /api/jobs/:id/dicomweb`.
 * - routes/compare.ts: `GET /api/compare?jobs=A,B[&force=1]`: finished jobs side by side (follow-up).
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { CovsegError } from '../util/errors.js';
import { DiskBudget } from './disk-budget.js';
import { JobQueue, type SegmentJobOptions, type WebJobQueue } from './job-queue.js';
import { JobStore } from './job-store.js';
import { EXAMPLES_DIR } from './assets.js';
import { errors } from './plugins/errors.js';
import { security } from './plugins/security.js';
import { staticFiles } from './plugins/static-files.js';
import { compareRoutes } from './routes/compare.js';
import { configRoutes } from './routes/config.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { sampleRoutes } from './routes/samples.js';
import { dicomwebRoutes, type ServeDicomWeb } from './routes/dicomweb.js';
import { multipartLimits, uploadRoutes } from './routes/upload.js';

export { BROWSER_LESION_MODEL_PATH, BROWSER_LUNG_MODEL_PATH, BROWSER_WORKER_FILE } from './assets.js';
export type { WebConfig, BrowserModeConfig } from './routes/config.js';
export type { JobJson, JobFileJson } from './routes/jobs.js';
export type { CompareJson } from './routes/compare.js';
export { displayName } from './routes/upload.js';
export type { ServeDicomWeb } from './routes/dicomweb.js';

export interface ServeOptions {
  /** TCP port; 0 picks a free one. Defaults to 8080. */
  port?: number;
  /** Address to listen on. Defaults to '127.0.0.1' (this computer only); '0.0.0.0' opens it to the network. */
  host?: string;
  /** Folder for job folders. Defaults to a new folder under the OS temp folder, removed on close. */
  workDir?: string;
  /** Largest upload accepted, in bytes; larger ones get 413. Defaults to 1 GiB. */
  maxUploadBytes?: number;
  /** Most entries an uploaded zip may hold. Defaults to 10,000. */
  maxZipEntries?: number;
  /** Most bytes an uploaded zip may inflate to (one job). Defaults to 2 GiB. */
  maxUnzippedBytes?: number;
  /** Most bytes all live jobs may hold on disk together (uploads, unzipped inputs, outputs); beyond it uploads get 413. Defaults to 8 GiB. */
  diskBudgetBytes?: number;
  /** Longest an upload may take, in ms; a slower one gets 408 and its queue place is freed. Defaults to 10 minutes. */
  uploadTimeoutMs?: number;
  /** Least bytes per second an upload must receive over every `uploadGraceMs` window (0: no rate check). Defaults to 10,000 (10 kB/s). */
  minUploadBytesPerS?: number;
  /** The window the upload rate is measured over, in ms, the first being the upload's grace. Defaults to 10 s. */
  uploadGraceMs?: number;
  /** Worker processes running jobs: 1 or 2. Defaults to 1 (ONNX Runtime uses both cores within a job). */
  workers?: number;
  /** Jobs that may wait for a worker before uploads get 429. Defaults to 4. */
  maxQueued?: number;
  /** Longest a job may run, in ms. Defaults to 30 minutes. */
  jobTimeoutMs?: number;
  /** How long a finished job's files are kept, in ms. Defaults to 1 hour. */
  jobTtlMs?: number;
  /** Folder of the sample cases. Defaults to the project's examples/. */
  examplesDir?: string;
  /** Model choices applied to every job (`force` is set per job by the client). Defaults to the pipeline's defaults. */
  segment?: Omit<SegmentJobOptions, 'force'>;
  /** Log every request (pino, JSON lines on stdout). Defaults to false. */
  logRequests?: boolean;
  /** A DICOMweb server (PACS) whose studies the page lists and runs, and where results can be sent. Defaults to none. */
  dicomweb?: ServeDicomWeb;
  /**
   * Run jobs on the BullMQ queue in the Redis at this URL (redis://HOST:PORT), the one `covseg
   * batch --redis` fills, by `covseg worker`s that see `workDir` at the same path, instead of
   * by `workers` processes here (redis-job-queue.ts). Defaults to none.
   */
  redis?: string;
  /** With `redis`: how often the jobs' states are read from Redis, in ms. Defaults to 500. */
  redisPollMs?: number;
}

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  host: string;
  workDir: string;
  app: FastifyInstance;
  queue: WebJobQueue;
  store: JobStore;
  /** Stops listening, stops the workers and removes every job's files. */
  close(): Promise<void>;
}

/** The options with their defaults filled in, and the queue, store and disk budget every route shares. */
async function setUp(options: ServeOptions) {
  const ownWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'covseg-serve-')));
  await mkdir(workDir, { recursive: true });
  const disk = new DiskBudget(options.diskBudgetBytes ?? 8 * 1024 ** 3);
  let queue: WebJobQueue;
  try {
    queue = options.redis
      // BullMQ and ioredis load only for a Redis queue.
      ? await (await import('./redis-job-queue.js')).RedisJobQueue.open(options.redis, { maxQueued: options.maxQueued, jobTimeoutMs: options.jobTimeoutMs, pollMs: options.redisPollMs })
      : new JobQueue({ workers: options.workers, maxQueued: options.maxQueued, jobTimeoutMs: options.jobTimeoutMs });
  } catch (err) {
    if (ownWorkDir) await rm(workDir, { recursive: true, force: true });
    throw err;
  }
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8080,
    maxUploadBytes: options.maxUploadBytes ?? 1024 ** 3,
    examplesDir: options.examplesDir ?? EXAMPLES_DIR,
    workDir,
    ownWorkDir,
    zipLimits: { maxEntries: options.maxZipEntries ?? 10_000, maxUncompressedBytes: options.maxUnzippedBytes ?? 2 * 1024 ** 3 },
    uploadLimits: {
      timeoutMs: options.uploadTimeoutMs ?? 10 * 60_000,
      minBytesPerS: options.minUploadBytesPerS ?? 10_000,
      graceMs: options.uploadGraceMs ?? 10_000,
    },
    disk,
    queue,
    store: new JobStore(workDir, { ttlMs: options.jobTtlMs, disk }),
    segment: options.segment,
  };
}

/** Starts the service and resolves once it listens. */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const service = await setUp(options);
  const { host, workDir, queue, store } = service;
  // removeAdditional off: a request with unknown fields is refused (400), not silently trimmed.
  // maxParamLength as long as a URL may be (Node's 16 KiB header limit): the routes answer a malformed
  // id or name with their 404, where the router's cap of 100 gave a 414 or fell through to the page files.
  const app = Fastify({
    logger: options.logRequests ?? false, bodyLimit: 1024 * 1024, routerOptions: { maxParamLength: 16 * 1024 },
    ajv: { customOptions: { removeAdditional: false } },
  });
  await app.register(errors, { logRequests: options.logRequests ?? false });
  await app.register(security, { host });
  await app.register(multipart, { limits: multipartLimits(service.maxUploadBytes) });
  await app.register(staticFiles);
  await app.register(configRoutes, { host, maxUploadBytes: service.maxUploadBytes, lesionModel: options.segment?.lesionModel });
  await app.register(healthRoutes, service);
  await app.register(sampleRoutes, service);
  await app.register(uploadRoutes, service);
  await app.register(jobRoutes, service);
  await app.register(dicomwebRoutes, { ...service, ...(options.dicomweb ? { dicomweb: options.dicomweb } : {}) });
  await app.register(compareRoutes, service);

  const cleanUp = async () => {
    await app.close();
    await queue.close();
    await store.close();
    if (service.ownWorkDir) await rm(workDir, { recursive: true, force: true });
  };
  try {
    await app.listen({ port: service.port, host });
  } catch (err) {
    await cleanUp();
    throw listenError(err, service.port, host);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : service.port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closed = false;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    workDir,
    app,
    queue,
    store,
    async close() {
      if (closed) return;
      closed = true;
      await cleanUp();
    },
  };
}

/** A failure to listen, in the words of the flags that fix it. */
function listenError(err: unknown, port: number, host: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new CovsegError(`port ${port} on ${host} is in use (EADDRINUSE; another covseg serve?); choose another --port, or --port 0 for a free one`, { cause: err });
  if (code === 'EACCES') return new CovsegError(`not allowed to listen on port ${port} (EACCES; ports below 1024 need privileges); choose a --port above 1024`, { cause: err });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new CovsegError(`${host} is not an address of this computer (${code}); use --host 127.0.0.1, or 0.0.0.0 for every interface`, { cause: err });
  return err;
}
