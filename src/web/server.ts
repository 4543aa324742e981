/**
 * `covseg serve`: the local web service. Fastify serves the page (NiiVue, self-hosted
 * from node_modules) and a JSON API: upload a CT, follow its job, download its outputs.
 * Uploads stream to disk under a byte limit, are identified by content, and become jobs
 * in a bounded queue of worker processes, so the HTTP server stays responsive while models run.
 *
 * API (every error is JSON: {@link ApiErrorBody}):
 * - `GET  /api/health`: liveness and queue figures;
 * - `POST /api/jobs[?force=1]`: multipart/form-data, one file field `file` → 202 job;
 * - `GET  /api/samples`, `POST /api/samples/jobs` (JSON `{ name, force? }`): the bundled examples;
 * - `GET  /api/jobs/:id`: status, stage progress, report and output links;
 * - `GET  /api/jobs/:id/files/:name`: one output file; `DELETE /api/jobs/:id`.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { Type, type Static } from '@sinclair/typebox';
import fastifyStatic from '@fastify/static';
import { CovsegError } from '../util/errors.js';
import { LEFT_LUNG, LESION, RIGHT_LUNG, type Rgb } from '../figures/colors.js';
import { HttpError, type ApiErrorBody, type ApiErrorCode } from './http-error.js';
import { prepareInput } from './ingest.js';
import { DiskBudget, formatBytes } from './disk-budget.js';
import { watchUpload, type UploadLimits } from './upload-watch.js';
import { JobQueue, QueueFullError, type Reservation, type SegmentJobOptions } from './job-queue.js';
import { JobStore, jobProgress, type Job, type OutputKind } from './job-store.js';
import { findSample, listSamples } from './samples.js';
import type { SegmentReport, SegmentStage } from '../segment/index.js';
import { SERVICE_MAX_VOXELS } from '../io/limits.js';

/** `POST /api/samples/jobs`: which bundled example to segment. One schema: the body's type, and Fastify's check of it. */
const SampleJobBody = Type.Object({ name: Type.String({ maxLength: 300 }), force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

/** Project root: this file runs as dist/src/web/server.js. */
const PROJECT_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/**
 * The models the page's browser mode downloads: the files lungs/default-model.ts and
 * segment/segment-case.ts name (DEFAULT_LUNG_MODEL_PATH, DEFAULT_LESION_MODEL_PATH; a
 * test checks they agree). Not imported from there: those modules load onnxruntime-node,
 * which the HTTP server's process has no use for.
 */
export const BROWSER_LUNG_MODEL_PATH = join(PROJECT_ROOT, 'models/lung-2d.onnx');
export const BROWSER_LESION_MODEL_PATH = join(PROJECT_ROOT, 'models/lesion-2d.onnx');
/** The browser mode's worker, bundled by esbuild (`npm run build`) from src/web/browser/worker.ts. */
const BROWSER_BUNDLE_DIR = join(PROJECT_ROOT, 'dist/web');
export const BROWSER_WORKER_FILE = 'browser-worker.js';
/** onnxruntime-web's single WebAssembly build and its loader, self-hosted (no CDN). */
const ORT_WASM_FILES = ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.mjs'];

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
}

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  host: string;
  workDir: string;
  app: FastifyInstance;
  queue: JobQueue;
  store: JobStore;
  /** Stops listening, stops the workers and removes every job's files. */
  close(): Promise<void>;
}

/** The JSON of `GET /api/config`: what the page needs to know about this service. */
export interface WebConfig {
  /** Overlay colours, the ones every covseg figure uses (src/figures/colors.ts). */
  colors: { rightLung: Rgb; leftLung: Rgb; lesion: Rgb };
  maxUploadBytes: number;
  /** Where the scan is processed, in words for the page's mode badge. */
  modeText: string;
  /** The page's second mode, the models run in the browser: where its worker and models are, or why it is unavailable. */
  browserMode: BrowserModeConfig;
}

/** What the page's browser mode loads; every URL is on this service (nothing from a CDN). */
export interface BrowserModeConfig {
  /** False when the worker bundle or a model file is missing; `reason` then says what to do. */
  available: boolean;
  reason?: string;
  /** The bundled worker that runs the pipeline (src/web/browser/worker.ts). */
  workerUrl: string;
  /** Folder URL of onnxruntime-web's .wasm/.mjs files. */
  wasmUrl: string;
  /** The default lung model and the lesion model this service segments with; `name` is the file name the report shows. */
  models: { lung: { url: string; name: string }; lesion: { url: string; name: string } };
}

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

const CONTENT_TYPES: Record<string, string> = {
  '.gz': 'application/gzip', '.nrrd': 'application/octet-stream', '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8', '.png': 'image/png', '.dcm': 'application/dicom',
};

/** Report HTML and other outputs are shown from this origin; they may load images and styles, never scripts. */
const OUTPUT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

/** Multipart framing around the file (boundaries, part headers): allowed above maxUploadBytes before a 413. */
const MULTIPART_SLACK = 64 * 1024;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** The uploaded file's name for display: last path part, printable characters, at most 120. */
export function displayName(filename: string | undefined): string {
  const last = (filename ?? '').split(/[\\/]/).pop() ?? '';
  const clean = last.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 120);
  return clean || 'upload';
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

function forceFlag(query: unknown): boolean {
  const value = (query as Record<string, unknown> | undefined)?.['force'];
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true' || value === '') return true;
  throw new HttpError(400, 'bad-request', `force=${String(value).slice(0, 20)}: use force=1 or force=0`);
}

/** onnxruntime-web's dist/ folder (Node resolves the package to its Node build there). */
function ortWebDist(): string {
  return dirname(fileURLToPath(import.meta.resolve('onnxruntime-web')));
}

function niivueDist(): string {
  // The package exports only an ESM 'import' entry (build/niivue/index.js); its browser bundle sits beside it in dist/.
  const entry = fileURLToPath(import.meta.resolve('@niivue/niivue'));
  const dist = resolve(dirname(entry), '../../dist');
  if (!existsSync(join(dist, 'index.js'))) {
    throw new CovsegError(`NiiVue's browser bundle is missing (looked for ${join(dist, 'index.js')}); reinstall with 'npm ci'`);
  }
  return dist;
}

/** Starts the service and resolves once it listens. */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const maxUploadBytes = options.maxUploadBytes ?? 1024 ** 3;
  const examplesDir = options.examplesDir ?? join(PROJECT_ROOT, 'examples');
  const ownWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'covseg-serve-')));
  await mkdir(workDir, { recursive: true });
  const zipLimits = { maxEntries: options.maxZipEntries ?? 10_000, maxUncompressedBytes: options.maxUnzippedBytes ?? 2 * 1024 ** 3 };
  const disk = new DiskBudget(options.diskBudgetBytes ?? 8 * 1024 ** 3);
  const uploadLimits: UploadLimits = {
    timeoutMs: options.uploadTimeoutMs ?? 10 * 60_000,
    minBytesPerS: options.minUploadBytesPerS ?? 10_000,
    graceMs: options.uploadGraceMs ?? 10_000,
  };
  const queue = new JobQueue({ workers: options.workers, maxQueued: options.maxQueued, jobTimeoutMs: options.jobTimeoutMs });
  const store = new JobStore(workDir, { ttlMs: options.jobTtlMs, disk });
  // removeAdditional off: a request with unknown fields is refused (400), not silently trimmed.
  // maxParamLength as long as a URL may be (Node's 16 KiB header limit): the routes answer a malformed
  // id or name with their 404, where the router's cap of 100 gave a 414 or fell through to the page files.
  const app = Fastify({
    logger: options.logRequests ?? false, bodyLimit: 1024 * 1024, routerOptions: { maxParamLength: 16 * 1024 },
    ajv: { customOptions: { removeAdditional: false } },
  });
  const startedAt = Date.now();

  await app.register(multipart, {
    limits: { fileSize: maxUploadBytes, files: 1, fields: 0, parts: 1, headerPairs: 50 },
  });
  await app.register(fastifyStatic, {
    root: niivueDist(),
    prefix: '/vendor/niivue/',
    allowedPath: (path) => path === '/index.js' || path === '/index.js.map',
    maxAge: '1h',
  });
  await app.register(fastifyStatic, {
    root: ortWebDist(),
    prefix: '/vendor/ort/',
    decorateReply: false,
    allowedPath: (path) => ORT_WASM_FILES.includes(path.slice(1)),
    maxAge: '1h',
  });
  await app.register(fastifyStatic, {
    root: BROWSER_BUNDLE_DIR,
    prefix: '/browser/',
    decorateReply: false,
    allowedPath: (path) => path === `/${BROWSER_WORKER_FILE}` || path === `/${BROWSER_WORKER_FILE}.map`,
  });
  // index.html and style.css live in src/web/page, the compiled page scripts in dist/src/web/page.
  await app.register(fastifyStatic, {
    root: [join(PROJECT_ROOT, 'src/web/page'), join(PROJECT_ROOT, 'dist/src/web/page')],
    prefix: '/',
    decorateReply: false,
    allowedPath: (path) => /^\/[a-z0-9-]+\.(html|css|js|js\.map)$/.test(path) || path === '/',
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    // Any web page may POST a form to 127.0.0.1; browsers say where it came from, so foreign pages are refused.
    const origin = request.headers.origin;
    if (origin !== undefined && request.method !== 'GET' && request.method !== 'HEAD' && originHost(origin) !== request.headers.host) {
      throw new HttpError(403, 'forbidden', `cross-site request from '${origin.slice(0, 80)}' refused; use the covseg page itself (${request.headers.host ?? 'this service'})`);
    }
    // Bound to loopback, the only legitimate Host names are loopback ones; anything else is a DNS-rebinding page.
    if (LOOPBACK_HOSTS.has(host)) {
      const hostname = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!LOOPBACK_HOSTS.has(hostname)) {
        throw new HttpError(403, 'forbidden', `Host '${hostname.slice(0, 64)}' is not this computer; open the page at http://127.0.0.1 (the service only listens locally)`);
      }
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const body = errorBody(err, request);
    if (body.statusCode >= 500) request.log.error(err);
    if (body.statusCode >= 500 && !options.logRequests) console.error(`covseg serve: ${request.method} ${request.url}:`, err);
    if (err instanceof QueueFullError) reply.header('retry-after', String(err.retryAfterS));
    // A refused large body would otherwise be read to its end before the next request on this connection.
    if (body.statusCode === 413) reply.header('connection', 'close');
    void reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(noRoute(request));
  });

  const jobJson = (job: Job): JobJson => ({
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
  });

  /** Queues `job` on `input`; its record follows the worker's progress. */
  const launch = (job: Job, input: string, reservation: Reservation, force: boolean) => {
    // The report names the file the user uploaded, not the server's copy of it.
    const task = { id: job.id, input, outDir: join(job.dir, 'out'), options: { maxVoxels: SERVICE_MAX_VOXELS, ...options.segment, force, inputName: job.inputName } };
    queue.run(reservation, task, {
      onStart: () => { job.status = 'running'; job.startedAt = Date.now(); },
      onProgress: (stage, done, total) => { job.stage = stage; job.stageDone = done; job.stageTotal = total; },
    }).then(
      (result) => store.complete(job, result),
      (err: Error) => store.fail(job, err.message),
    ).catch((err: Error) => store.fail(job, `the outputs could not be listed: ${err.message}`));
  };

  const config: Omit<WebConfig, 'browserMode'> = {
    colors: { rightLung: RIGHT_LUNG, leftLung: LEFT_LUNG, lesion: LESION },
    maxUploadBytes,
    modeText: LOOPBACK_HOSTS.has(host)
      ? 'Mode: local service (scans are processed by covseg on this computer and do not leave it)'
      : `Mode: network service (scans are uploaded to the covseg service at ${host})`,
  };
  const browserModels = { lung: BROWSER_LUNG_MODEL_PATH, lesion: options.segment?.lesionModel ?? BROWSER_LESION_MODEL_PATH };
  app.get('/api/config', async (): Promise<WebConfig> => ({ ...config, browserMode: browserModeConfig(browserModels) }));

  // The browser mode downloads the models; a scan never travels the other way.
  app.get<{ Params: { task: string } }>('/api/models/:task', async (request, reply) => {
    const task = request.params.task;
    if (task !== 'lung' && task !== 'lesion') throw new HttpError(404, 'not-found', `no model '${task.slice(0, 32)}'; the models are /api/models/lung and /api/models/lesion`);
    const path = browserModels[task];
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new HttpError(404, 'not-found', `the ${task} model file ${basename(path)} is missing on this service; see models/README.md`);
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-length', String(info.size));
    // Revalidated on every use: a retrained model replaces the file under the same name.
    reply.header('cache-control', 'no-cache');
    reply.header('last-modified', new Date(info.mtimeMs).toUTCString());
    return reply.send(createReadStream(path));
  });

  app.get('/api/health', async () => ({
    ok: true, uptimeS: Math.round((Date.now() - startedAt) / 1000), queue: queue.stats(), jobs: store.list().length,
    disk: { usedBytes: disk.usedBytes, budgetBytes: disk.limitBytes },
  }));

  app.get('/api/samples', async () => {
    const samples = await listSamples(examplesDir);
    return { samples: samples.map(({ name, format, bytes }) => ({ name, format, bytes })), default: samples[0]?.name ?? null };
  });

  app.post<{ Body: Static<typeof SampleJobBody> }>('/api/samples/jobs', { schema: { body: SampleJobBody } }, async (request, reply) => {
    const force = request.body.force ?? false;
    const sample = await findSample(examplesDir, request.body.name);
    const reservation = queue.reserve();
    let job: Job;
    try {
      job = await store.create(sample.name);
    } catch (err) {
      reservation.release();
      throw err;
    }
    launch(job, sample.path, reservation, force);
    return reply.code(202).send(jobJson(job));
  });

  app.post('/api/jobs', async (request: FastifyRequest, reply: FastifyReply) => {
    const force = forceFlag(request.query);
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxUploadBytes + MULTIPART_SLACK) throw tooLarge(maxUploadBytes);
    // Refused before the body is read when it cannot fit; the count as it streams is what holds the budget.
    if (Number.isFinite(declared) && declared > disk.freeBytes + MULTIPART_SLACK) throw disk.refusal(`the upload (${formatBytes(declared)}) is larger than`);
    if (!request.isMultipart()) {
      throw new HttpError(415, 'unsupported-type', `send the scan as multipart/form-data with one file field named 'file' (got Content-Type '${String(request.headers['content-type'] ?? 'none').slice(0, 80)}')`);
    }
    const reservation = queue.reserve();
    // The place is held from here: an upload that stalls is answered 408 and its connection closed, which ends the reading below.
    const watch = watchUpload(request.raw.socket, uploadLimits, (err) => {
      // Once answered, the request is destroyed too: the reading below sees it close (the socket alone would not tell it).
      reply.raw.once('finish', () => { request.raw.destroy(); request.raw.socket?.destroy(); });
      void reply.code(err.statusCode).header('connection', 'close').send(errorBody(err, request));
    });
    let job: Job | undefined;
    try {
      // The form must be exactly one part, the file: the multipart limits (fields 0, parts 1) refuse anything more.
      const parts = request.parts()[Symbol.asyncIterator]();
      let first;
      try {
        first = await parts.next();
      } catch (err) {
        throw multipartError(err, maxUploadBytes);
      }
      const part = first.done ? undefined : first.value;
      if (!part || part.type !== 'file') throw new HttpError(400, 'bad-request', "the form has no file; send the scan in a file field named 'file'");
      job = await store.create(displayName(part.filename));
      const uploadPath = join(job.dir, 'upload');
      try {
        // Every chunk is counted in the disk budget before it is written.
        await pipeline(part.file, job.disk.meter('the upload is larger than'), createWriteStream(uploadPath));
        if (part.file.truncated) throw tooLarge(maxUploadBytes);
        if (!(await parts.next()).done) throw new HttpError(400, 'bad-request', ONE_FILE);
      } catch (err) {
        throw multipartError(err, maxUploadBytes);
      }
      watch.stop();
      // Dropped at the last moment, with the 408 sent: the job must not go ahead.
      if (watch.error) throw watch.error;
      const prepared = await prepareInput(uploadPath, job.dir, { ...zipLimits, displayName: job.inputName, disk: job.disk });
      launch(job, prepared.input, reservation, force);
      return reply.code(202).send(jobJson(job));
    } catch (err) {
      watch.stop();
      reservation.release();
      if (job) await store.remove(job.id);
      // Dropped for stalling: the 408 is answered already.
      if (watch.error) return reply;
      throw err;
    }
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id', async (request) => jobJson(store.get(request.params.id)));

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

  const cleanUp = async () => {
    await app.close();
    await queue.close();
    await store.close();
    if (ownWorkDir) await rm(workDir, { recursive: true, force: true });
  };
  try {
    await app.listen({ port: options.port ?? 8080, host });
  } catch (err) {
    await cleanUp();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CovsegError(`port ${options.port ?? 8080} on ${host} is in use (EADDRINUSE; another covseg serve?); choose another --port, or --port 0 for a free one`, { cause: err });
    if (code === 'EACCES') throw new CovsegError(`not allowed to listen on port ${options.port ?? 8080} (EACCES; ports below 1024 need privileges); choose a --port above 1024`, { cause: err });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CovsegError(`${host} is not an address of this computer (${code}); use --host 127.0.0.1, or 0.0.0.0 for every interface`, { cause: err });
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port ?? 8080;
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

/** The browser mode's settings, available only when its worker bundle and both model files exist. */
function browserModeConfig(models: { lung: string; lesion: string }): BrowserModeConfig {
  const missing = [
    existsSync(join(BROWSER_BUNDLE_DIR, BROWSER_WORKER_FILE)) ? '' : `the worker bundle dist/web/${BROWSER_WORKER_FILE} (run 'npm run build')`,
    existsSync(models.lung) ? '' : `the lung model ${basename(models.lung)}`,
    existsSync(models.lesion) ? '' : `the lesion model ${basename(models.lesion)}`,
  ].filter(Boolean);
  return {
    available: missing.length === 0,
    ...(missing.length ? { reason: `in-browser segmentation needs ${missing.join(' and ')}` } : {}),
    workerUrl: `/browser/${BROWSER_WORKER_FILE}`,
    wasmUrl: '/vendor/ort/',
    models: { lung: { url: '/api/models/lung', name: basename(models.lung) }, lesion: { url: '/api/models/lesion', name: basename(models.lesion) } },
  };
}

const ONE_FILE = "send one file (field 'file') per upload and nothing else in the form; zip a DICOM series into one .zip";

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

const STATUS_CODES: Record<number, ApiErrorCode> = { 400: 'bad-request', 403: 'forbidden', 404: 'not-found', 408: 'timeout', 409: 'not-ready', 413: 'too-large', 415: 'unsupported-type', 429: 'queue-full' };

/** Whether the URL's path has a '..' segment, plain or percent-encoded. */
function climbsOut(url: string): boolean {
  const path = url.split('?')[0]!;
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Malformed escapes: the raw path is all there is to look at.
  }
  return [path, decoded].some((p) => /(^|[/\\])\.\.([/\\]|$)/.test(p));
}

function noRoute(request: FastifyRequest): ApiErrorBody {
  return { statusCode: 404, code: 'not-found', message: `no route ${request.method} ${request.url.slice(0, 200)}; the API is under /api (see /api/health)` };
}

/** The JSON body for any error thrown in a route. */
function errorBody(err: Error & { statusCode?: number; code?: string }, request: FastifyRequest): ApiErrorBody {
  if (err instanceof HttpError) return { statusCode: err.statusCode, code: err.code, message: err.message };
  if (err instanceof QueueFullError) return { statusCode: 429, code: 'queue-full', message: err.message };
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { statusCode: 415, code: 'unsupported-type', message: "this Content-Type is not accepted here: upload scans to /api/jobs as multipart/form-data (field 'file'), and send JSON to /api/samples/jobs" };
  }
  // @fastify/static's 403s: a page path that climbs out of its folder, or one whose spelling it cannot
  // check (over-long, an alias), which is simply no page of this service.
  if (err.statusCode === 403) {
    if (!climbsOut(request.url)) return noRoute(request);
    return { statusCode: 403, code: 'forbidden', message: "the path climbs out of its folder with '..'; request files by their plain names" };
  }
  // Fastify's own 4xx (bad JSON, unsupported media type, bad URL encoding) keep their status and message.
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return { statusCode: err.statusCode, code: STATUS_CODES[err.statusCode] ?? 'bad-request', message: err.message };
  }
  return { statusCode: 500, code: 'internal', message: 'internal error in covseg serve (details are in its log); please report it' };
}
